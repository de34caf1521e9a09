// Package rtcmount puts the live-call server (package signaling) and the
// manual-marker API (package markers) inside `witness serve`:
//
//   - the signaling server is mounted under /rtc/ on the platform's one
//     listener (pages /rtc/agent.html and /rtc/customer.html, WebSocket
//     /rtc/ws, room API /rtc/api/...), configured from the signaling
//     section;
//   - POST /rtc/calls/{ticket}/tokens gives the agent who answered a
//     queued customer the room id and join tokens for both sides;
//   - every finished recording file is handed to the JetStream jobs
//     (composite: finalise → verified upload + QC; other files: verified
//     upload), linked to the service record whose id is the room id;
//   - /api/v1/markers/ serves markers.Handler behind the API's sign-in,
//     scoped to the caller's service records.
package rtcmount

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/jobs"
	"github.com/witness-media/witness/internal/platform"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/markers"
	"github.com/witness-media/witness/signaling"
)

// Prefix is where the signaling server is mounted; MarkersPrefix is the
// marker API's.
const (
	Prefix        = "/rtc/"
	MarkersPrefix = "/api/v1/markers/"
)

// TokenTTL is how long tokens issued for an answered call are valid.
const TokenTTL = 4 * time.Hour

var once sync.Once

// Register adds the mounts to the platform (idempotent; cmd/witness calls
// it from init, tests call it before platform.Start).
func Register() {
	once.Do(func() {
		platform.RegisterMount(platform.Mount{Name: "signaling", Prefix: Prefix, Role: platform.RoleSignaling, Build: buildSignaling})
		platform.RegisterMount(platform.Mount{Name: "markers", Prefix: MarkersPrefix, Role: platform.RoleControl, Build: buildMarkers})
	})
}

func buildSignaling(_ context.Context, p *platform.Platform) (http.Handler, func(context.Context) error, func(), error) {
	sc, err := signaling.ConfigFrom(p.Cfg, p.Log)
	if err != nil {
		return nil, nil, nil, err
	}
	sc.BasePath = strings.TrimSuffix(Prefix, "/")
	sub := &submitter{q: p.Queue, db: p.DB, log: p.Log.With("component", "recording-jobs"), spool: sc.Recording.Dir}
	sc.Recording.OnFinalized = sub.hook
	// Hand-offs a previous run could not complete (bus down, crash) go
	// first; nothing is live yet, so a .part file here is a crash's.
	sub.resume()
	srv, err := signaling.NewServer(sc)
	if err != nil {
		return nil, nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(Prefix, http.StripPrefix(sc.BasePath, srv))
	mux.HandleFunc("POST "+Prefix+"calls/{ticket}/tokens", func(w http.ResponseWriter, r *http.Request) { callTokens(w, r, p, srv) })
	return mux, srv.Run, func() { _ = srv.Close() }, nil
}

// CallTokens is the answer of POST /rtc/calls/{ticket}/tokens.
type CallTokens struct {
	Room          string `json:"room"`
	AgentToken    string `json:"agent_token"`
	CustomerToken string `json:"customer_token"`
	AgentURL      string `json:"agent_url"`
	CustomerURL   string `json:"customer_url"`
	WSURL         string `json:"ws_url"`
	Expires       int64  `json:"expires"`
}

// callTokens issues join tokens for a connected call to the agent who has
// it: the room is the ticket (so the recording lands on the service
// record), the tenant is the ticket's.
func callTokens(w http.ResponseWriter, r *http.Request, p *platform.Platform, srv *signaling.Server) {
	if p.API == nil || p.Engine == nil {
		http.Error(w, "call tokens need the control role in this process", http.StatusServiceUnavailable)
		return
	}
	c, err := p.API.Authenticate(r, auth.PermAgentSelf)
	if err != nil {
		p.API.Fail(w, r, err)
		return
	}
	id := r.PathValue("ticket")
	t, ok := p.Engine.Ticket(id)
	if !ok || t.TenantID != c.User.TenantID {
		p.API.Fail(w, r, fmt.Errorf("ticket %s: %w", id, console.ErrNotFound))
		return
	}
	if t.AgentID != c.User.ID || t.State != console.TicketConnected {
		p.API.Fail(w, r, fmt.Errorf("ticket %s is %s, not your connected call: %w", id, t.State, console.ErrState))
		return
	}
	exp := time.Now().Add(TokenTTL).Unix()
	cust := t.CustomerID
	if cust == "" {
		cust = "customer-" + t.ID
	}
	out := CallTokens{Room: t.ID, Expires: exp}
	if out.AgentToken, err = srv.Token(signaling.Claims{Room: t.ID, Identity: c.User.ID, Role: signaling.RoleAgent, Tenant: t.TenantID,
		Name: c.User.DisplayName, Expires: exp}); err == nil {
		out.CustomerToken, err = srv.Token(signaling.Claims{Room: t.ID, Identity: cust, Role: signaling.RoleCustomer, Tenant: t.TenantID, Expires: exp})
	}
	if err != nil {
		p.API.Fail(w, r, err)
		return
	}
	base := p.Cfg.Signaling.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	base = strings.TrimSuffix(base, "/") + strings.TrimSuffix(Prefix, "/")
	out.AgentURL = base + "/agent.html#token=" + out.AgentToken
	out.CustomerURL = base + "/customer.html#token=" + out.CustomerToken
	out.WSURL = "ws" + strings.TrimPrefix(base, "http") + "/ws"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// submitter hands finished recording files to the job queue. A file is
// journalled (<file>.pending.json) before the hand-off and the journal is
// removed only once JetStream has the job, so a dead bus or a crash in
// between leaves the journal for the next start: no recording is dropped.
type submitter struct {
	q     *jobs.Queue
	db    *store.DB
	log   *slog.Logger
	spool string
}

const pendingSuffix = ".pending.json"

// hook is signaling's OnFinalized (its own goroutine, once per file).
func (s *submitter) hook(f signaling.RecordingFile) {
	jp := f.Path + pendingSuffix
	b, _ := json.Marshal(f)
	if err := os.WriteFile(jp, b, 0o640); err != nil {
		s.log.Error("recording journal not written; submitting anyway", "path", f.Path, "err", err)
	}
	s.submit(f, jp, 5)
}

// submit queues the jobs, retrying with backoff; on failure the journal
// stays for the next start.
func (s *submitter) submit(f signaling.RecordingFile, journal string, attempts int) {
	delay := time.Second
	for i := 1; ; i++ {
		err := s.submitOnce(f)
		if err == nil {
			if rerr := os.Remove(journal); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				s.log.Warn("recording journal not removed (resubmission next start is harmless)", "path", journal, "err", rerr)
			}
			return
		}
		if i >= attempts {
			s.log.Error("recording not handed to the job queue; kept in the spool, retried at next start", "path", f.Path, "journal", journal, "err", err)
			return
		}
		s.log.Warn("recording hand-off failed, retrying", "path", f.Path, "err", err, "in", delay)
		time.Sleep(delay)
		delay *= 2
	}
}

func (s *submitter) submitOnce(f signaling.RecordingFile) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tenant := f.Tenant
	if tenant == "" {
		tenant = "unassigned"
	}
	// The job id is derived from the file and its checksum: resubmitting
	// after a crash is deduplicated by JetStream or answered from the
	// stored result.
	h := sha256.Sum256([]byte(f.Path + "\n" + f.SHA256))
	id := "rec-" + hex.EncodeToString(h[:12])
	key := tenant + "/" + safeKey(f.Room) + "/" + filepath.Base(strings.TrimSuffix(f.Path, ".part"))
	j := jobs.Job{ID: id, TenantID: tenant, RecordID: f.Room, Path: f.Path, Key: key, SHA256: f.SHA256}
	switch f.Kind {
	case "composite":
		j.Kind = jobs.KindFinalize // → upload + QC
	default:
		// Per-participant files, screenshots and markers are kept, not
		// judged: one QC verdict per record, the composite's.
		j.ID, j.Kind = id+".upload", jobs.KindUpload
	}
	_, err := s.q.Submit(ctx, j)
	return err
}

// resume resubmits what a previous run journalled but did not hand off,
// and finalises composite .part files a crash left behind.
func (s *submitter) resume() {
	if s.spool == "" {
		return
	}
	rooms, err := os.ReadDir(s.spool)
	if err != nil {
		return
	}
	var todo []signaling.RecordingFile
	var journals []string
	for _, rd := range rooms {
		if !rd.IsDir() {
			continue
		}
		dir := filepath.Join(s.spool, rd.Name())
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			switch {
			case strings.HasSuffix(path, pendingSuffix):
				var f signaling.RecordingFile
				b, err := os.ReadFile(path)
				if err != nil || json.Unmarshal(b, &f) != nil || f.Path == "" {
					s.log.Error("unreadable recording journal left in place", "path", path, "err", err)
					return nil
				}
				todo, journals = append(todo, f), append(journals, path)
			case strings.HasSuffix(path, ".mp4.part") && filepath.Dir(path) == dir:
				// The composite of a room that never ended cleanly: the
				// finalise job renames it; the tenant comes from the record.
				f := signaling.RecordingFile{Room: rd.Name(), Kind: "composite", Path: path}
				if r, err := s.db.Record(context.Background(), store.System(), rd.Name()); err == nil {
					f.Tenant = r.TenantID
				}
				s.log.Warn("unfinished recording from a previous run queued for finalisation", "path", path)
				todo, journals = append(todo, f), append(journals, "")
			}
			return nil
		})
	}
	for i, f := range todo {
		go s.submit(f, journals[i], 5)
	}
}

func safeKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, strings.ReplaceAll(s, "..", "_"))
}

// buildMarkers serves markers.Handler under /api/v1/markers/ behind the
// API's sign-in: the recording id is a service record id, which must be
// in the caller's tenant scope (a miss is 404, as everywhere in the API).
func buildMarkers(_ context.Context, p *platform.Platform) (http.Handler, func(context.Context) error, func(), error) {
	dir := filepath.Join(p.Cfg.DataDir, "markers")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, nil, err
	}
	inner := http.StripPrefix(strings.TrimSuffix(MarkersPrefix, "/"), markers.Handler(&markers.FileStore{Dir: dir}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		perm := auth.PermRecordRead
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			perm = auth.PermRecordWrite
		}
		c, err := p.API.Authenticate(r, perm)
		if err != nil {
			p.API.Fail(w, r, err)
			return
		}
		// /api/v1/markers/recordings/{rec}/...
		rest := strings.TrimPrefix(r.URL.Path, MarkersPrefix+"recordings/")
		rec, _, _ := strings.Cut(rest, "/")
		if rec == "" || rest == r.URL.Path {
			http.NotFound(w, r)
			return
		}
		if _, err := p.DB.Record(r.Context(), c.Scope, rec); err != nil {
			p.API.Fail(w, r, err)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return h, nil, nil, nil
}
