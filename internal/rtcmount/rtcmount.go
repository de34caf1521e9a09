// Package rtcmount puts the live-call server (package signaling) and the
// manual-marker API (package markers) inside `witness serve`:
//
//   - the signaling server is mounted under /rtc/ on the platform's one
//     listener (pages /rtc/agent.html and /rtc/customer.html, WebSocket
//     /rtc/ws, room API /rtc/api/...), configured from the signaling
//     section;
//   - POST /rtc/calls/{ticket}/tokens gives the agent who answered a
//     queued customer the room id and join tokens for both sides, and
//     GET /rtc/tickets/{ticket}/join the customer its own (control role;
//     signed by the local signaling server or the shared secret);
//   - every finished recording file is handed to the JetStream jobs
//     (composite: finalise → verified upload + QC; other files: verified
//     upload), linked to the service record whose id is the room id;
//   - /api/v1/markers/ serves markers.Handler behind the API's sign-in,
//     scoped to the caller's service records.
package rtcmount

import (
	"context"
	"crypto/rand"
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

	"github.com/nats-io/nats.go"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/blob"
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
		platform.RegisterMount(platform.Mount{Name: "live-alerts", Prefix: AlertsPrefix, Role: platform.RoleControl, Build: buildAlerts})
		// Call tokens belong to the control plane (tickets, agents): they
		// are signed by the signaling server in this process, or with the
		// shared signaling.secret when signaling runs elsewhere.
		platform.RegisterMount(platform.Mount{Name: "call-tokens", Prefix: Prefix + "calls/", Role: platform.RoleControl, Build: buildCalls})
		platform.RegisterMount(platform.Mount{Name: "customer-join", Prefix: Prefix + "tickets/", Role: platform.RoleControl, Build: buildCalls})
	})
}

func buildSignaling(_ context.Context, p *platform.Platform) (http.Handler, func(context.Context) error, func(), error) {
	sc, err := signaling.ConfigFrom(p.Cfg, p.Log)
	if err != nil {
		return nil, nil, nil, err
	}
	sc.BasePath = strings.TrimSuffix(Prefix, "/")
	// Live analyzer events also go on the platform's bus
	// (witness.events.<tenant>.<room>) for other services and plugins.
	if p.Bus != nil {
		sc.Analysis.NATS = p.Bus.NC
	}
	sub := &submitter{q: p.Queue, db: p.DB, blob: p.Blob, log: p.Log.With("component", "recording-jobs"), spool: sc.Recording.Dir}
	sc.Recording.OnFinalized = sub.hook
	// Layout, watermark and analyzers from the call's business template.
	sc.RoomSettings = roomSettings(p.DB)
	// Hand-offs a previous run could not complete (bus down, crash) go
	// first; nothing is live yet, so a .part file here is a crash's.
	sub.resume()
	srv, err := signaling.NewServer(sc)
	if err != nil {
		return nil, nil, nil, err
	}
	servers.Store(p, srv)
	mux := http.NewServeMux()
	mux.Handle(Prefix, http.StripPrefix(sc.BasePath, srv))
	// The room of a call ends with the call (agent or supervisor ends it
	// in the console), so its recording is finalised at once. Console
	// events come over NATS, so this works with split roles too.
	endSub, err := p.Bus.NC.Subscribe("witness.console.*."+string(console.EvEnded), func(m *nats.Msg) {
		var ev console.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Ticket == nil {
			return
		}
		go func() {
			if srv.CloseRoom(ev.Ticket.ID, "call ended") {
				p.Log.Info("call ended; room closed", "room", ev.Ticket.ID)
			}
		}()
	})
	if err != nil {
		_ = srv.Close()
		return nil, nil, nil, fmt.Errorf("rtc: subscribe to call events: %w", err)
	}
	run := func(ctx context.Context) error {
		done := make(chan struct{})
		go func() { defer close(done); _ = sub.run(ctx) }()
		err := srv.Run(ctx)
		<-done
		return err
	}
	return mux, run, func() { _ = endSub.Unsubscribe(); servers.Delete(p); _ = srv.Close() }, nil
}

// errNoSigner: neither a signaling server in this process nor a shared
// secret to sign its tokens with.
var errNoSigner = errors.New("no signaling server in this process and no signaling.secret to sign join tokens with")

// signer signs join tokens for the platform p.
type signer func(signaling.Claims) (string, error)

func signerFor(p *platform.Platform) signer {
	return func(c signaling.Claims) (string, error) {
		if v, ok := servers.Load(p); ok {
			return v.(*signaling.Server).Token(c)
		}
		if p.Cfg.Signaling.Secret != "" {
			return signaling.Sign([]byte(p.Cfg.Signaling.Secret), c)
		}
		return "", errNoSigner
	}
}

func buildCalls(_ context.Context, p *platform.Platform) (http.Handler, func(context.Context) error, func(), error) {
	sign := signerFor(p)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+Prefix+"calls/{ticket}/tokens", func(w http.ResponseWriter, r *http.Request) { callTokens(w, r, p, sign) })
	mux.HandleFunc("GET "+Prefix+"tickets/{ticket}/join", func(w http.ResponseWriter, r *http.Request) { customerJoin(w, r, p, sign) })
	return mux, nil, nil, nil
}

// fail answers an error of the token routes.
func fail(w http.ResponseWriter, r *http.Request, p *platform.Platform, err error) {
	if errors.Is(err, errNoSigner) {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	p.API.Fail(w, r, err)
}

// servers maps a platform to its mounted signaling server.
var servers sync.Map

// TestCall signs tokens for a test room outside the call flow (`witness
// serve --test-call`): page links for an agent and a customer of tenant
// ("" = the province-level root tenant), valid for ttl. The room has no service record; its recording is still
// uploaded and checked.
func TestCall(p *platform.Platform, tenant string, ttl time.Duration) (agentURL, customerURL string, err error) {
	v, ok := servers.Load(p)
	if !ok {
		return "", "", fmt.Errorf("%w: no signaling server in this process (role signaling)", signaling.ErrConfig)
	}
	srv := v.(*signaling.Server)
	if tenant == "" {
		ts, err := p.DB.Tenants(context.Background(), store.System())
		if err != nil {
			return "", "", err
		}
		for _, t := range ts {
			if t.Level == store.LevelProvince && tenant == "" {
				tenant = t.ID
			}
		}
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	room, exp := "test-"+hex.EncodeToString(b), time.Now().Add(ttl).Unix()
	at, err := srv.Token(signaling.Claims{Room: room, Identity: "test-agent", Role: signaling.RoleAgent, Tenant: tenant, Expires: exp})
	if err != nil {
		return "", "", err
	}
	ct, err := srv.Token(signaling.Claims{Room: room, Identity: "test-customer", Role: signaling.RoleCustomer, Tenant: tenant, Expires: exp})
	if err != nil {
		return "", "", err
	}
	base := strings.TrimSuffix(p.Cfg.Signaling.PublicURL, "/")
	if base == "" {
		base = p.URL()
	}
	base += strings.TrimSuffix(Prefix, "/")
	return base + "/agent.html#token=" + at, base + "/customer.html#token=" + ct, nil
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
func callTokens(w http.ResponseWriter, r *http.Request, p *platform.Platform, sign signer) {
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
	out := CallTokens{Room: t.ID, Expires: exp}
	if out.AgentToken, err = sign(signaling.Claims{Room: t.ID, Identity: c.User.ID, Role: signaling.RoleAgent, Tenant: t.TenantID,
		Name: c.User.DisplayName, Expires: exp}); err == nil {
		out.CustomerToken, err = sign(customerClaims(t, exp))
	}
	if err != nil {
		fail(w, r, p, err)
		return
	}
	base := pageBase(p, r)
	out.AgentURL = base + "/agent.html#token=" + out.AgentToken
	out.CustomerURL = base + "/customer.html#token=" + out.CustomerToken
	out.WSURL = "ws" + strings.TrimPrefix(base, "http") + "/ws"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func customerClaims(t console.Ticket, exp int64) signaling.Claims {
	cust := t.CustomerID
	if cust == "" {
		cust = "customer-" + t.ID
	}
	return signaling.Claims{Room: t.ID, Identity: cust, Role: signaling.RoleCustomer, Tenant: t.TenantID, Expires: exp}
}

// pageBase is the public base URL of the mounted pages.
func pageBase(p *platform.Platform, r *http.Request) string {
	base := p.Cfg.Signaling.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + strings.TrimSuffix(Prefix, "/")
}

// CustomerJoin is the answer of GET /rtc/tickets/{ticket}/join.
type CustomerJoin struct {
	Room    string `json:"room"`
	Token   string `json:"token"`
	URL     string `json:"url"`
	WSURL   string `json:"ws_url"`
	Expires int64  `json:"expires"`
}

// customerJoin gives the customer, with the ticket token the queue entry
// returned, its own join token once an agent has answered (409 before;
// 404 for a wrong token or unknown ticket, as the queue routes answer).
func customerJoin(w http.ResponseWriter, r *http.Request, p *platform.Platform, sign signer) {
	id := r.PathValue("ticket")
	if err := p.API.CheckTicketToken(r, id); err != nil {
		p.API.Fail(w, r, err)
		return
	}
	t, ok := p.Engine.Ticket(id)
	if !ok {
		p.API.Fail(w, r, fmt.Errorf("ticket %s: %w", id, console.ErrNotFound))
		return
	}
	if t.State != console.TicketConnected {
		p.API.Fail(w, r, fmt.Errorf("ticket %s is %s; the call is not connected yet: %w", id, t.State, console.ErrState))
		return
	}
	exp := time.Now().Add(TokenTTL).Unix()
	tok, err := sign(customerClaims(t, exp))
	if err != nil {
		fail(w, r, p, err)
		return
	}
	base := pageBase(p, r)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(CustomerJoin{Room: t.ID, Token: tok, URL: base + "/customer.html#token=" + tok,
		WSURL: "ws" + strings.TrimPrefix(base, "http") + "/ws", Expires: exp})
}

// Redrive timing (variables so tests can shorten them): the spool's
// journals are checked every RedriveInterval; an upload that failed for
// good (dead-lettered) is queued again RedriveAfter later.
var (
	RedriveInterval = 30 * time.Second
	RedriveAfter    = 2 * time.Minute
	// RedriveLost: an upload job with no result this long after it was
	// queued is taken as lost (uploads heartbeat while they run).
	RedriveLost = time.Hour
)

// submitter hands finished recording files to the job queue and makes
// sure they reach the blob store. Each file gets a journal
// (<file>.pending.json) before the hand-off; the journal is removed only
// when the blob store holds the file with its sha256. A dead bus, a dead
// object store (jobs dead-lettered after their attempts) or a crash in
// between leaves the journal, and the redrive loop hands the file off
// again: no recording is dropped, the spooled file is never deleted.
type submitter struct {
	q     *jobs.Queue
	db    *store.DB
	blob  blob.Store
	log   *slog.Logger
	spool string
}

const pendingSuffix = ".pending.json"

// journal is what a pending file records.
type journal struct {
	signaling.RecordingFile
	Key       string    `json:"key"`
	JobID     string    `json:"job_id"`
	Submitted time.Time `json:"submitted,omitzero"` // last hand-off to the job queue
	Redrives  int       `json:"redrives,omitempty"`
}

func newJournal(f signaling.RecordingFile) journal {
	if f.Tenant == "" {
		f.Tenant = "unassigned"
	}
	// The job id is derived from the file and its checksum: handing the
	// same file off twice is deduplicated by JetStream or answered from
	// the stored result.
	h := sha256.Sum256([]byte(f.Path + "\n" + f.SHA256))
	return journal{RecordingFile: f, JobID: "rec-" + hex.EncodeToString(h[:12]),
		Key: f.Tenant + "/" + safeKey(f.Room) + "/" + filepath.Base(strings.TrimSuffix(f.Path, ".part"))}
}

func (s *submitter) write(path string, j journal) error {
	b, _ := json.MarshalIndent(j, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// hook is signaling's OnFinalized (the recorder's goroutine, once per
// file): journal, then one hand-off attempt; the redrive loop does the rest.
func (s *submitter) hook(f signaling.RecordingFile) {
	j := newJournal(f)
	jp := f.Path + pendingSuffix
	if err := s.write(jp, j); err != nil {
		s.log.Error("recording journal not written; handing off without it", "path", f.Path, "err", err)
	}
	if err := s.handOff(&j); err != nil {
		s.log.Warn("recording hand-off failed; kept in the spool and retried", "path", f.Path, "err", err)
		return
	}
	if err := s.write(jp, j); err != nil {
		s.log.Warn("recording journal not updated (a second hand-off is harmless)", "path", jp, "err", err)
	}
}

// handOff queues the file's jobs: a composite is finalised (then uploaded
// and quality-checked); per-participant files, screenshots and markers are
// uploaded (one QC verdict per record: the composite's). A redrive after
// the first hand-off queues the upload alone under a new job id.
func (s *submitter) handOff(j *journal) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	job := jobs.Job{ID: j.JobID, TenantID: j.Tenant, RecordID: j.Room, Path: j.Path, Key: j.Key, SHA256: j.SHA256}
	switch {
	case !j.Submitted.IsZero():
		job.ID, job.Kind, job.Path = fmt.Sprintf("%s.upload.r%d", j.JobID, j.Redrives+1), jobs.KindUpload, strings.TrimSuffix(j.Path, ".part")
	case j.Kind == "composite":
		job.Kind = jobs.KindFinalize
	default:
		job.ID, job.Kind = j.JobID+".upload", jobs.KindUpload
	}
	if _, err := s.q.Submit(ctx, job); err != nil {
		return err
	}
	if !j.Submitted.IsZero() {
		j.Redrives++
	}
	j.Submitted = time.Now()
	return nil
}

// run checks the journals now (what a previous run left) and every
// RedriveInterval until ctx ends.
func (s *submitter) run(ctx context.Context) error {
	if s.spool == "" {
		return nil
	}
	t := time.NewTicker(RedriveInterval)
	defer t.Stop()
	for {
		s.redrive(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// redrive walks the spool's journals: a verified upload ends the journal;
// a file never handed off is handed off; an upload not verified
// RedriveAfter after its hand-off is queued again.
func (s *submitter) redrive(ctx context.Context) {
	var paths []string
	_ = filepath.WalkDir(s.spool, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, pendingSuffix) {
			paths = append(paths, p)
		}
		return nil
	})
	ensured := false
	for _, jp := range paths {
		if ctx.Err() != nil {
			return
		}
		var j journal
		b, err := os.ReadFile(jp)
		if err != nil || json.Unmarshal(b, &j) != nil || j.Path == "" {
			s.log.Error("unreadable recording journal left in place", "path", jp, "err", err)
			continue
		}
		if j.Submitted.IsZero() {
			if err := s.handOff(&j); err != nil {
				s.log.Warn("recording hand-off failed; retried later", "path", j.Path, "err", err)
				continue
			}
			_ = s.write(jp, j)
			continue
		}
		final := strings.TrimSuffix(j.Path, ".part")
		want := j.SHA256
		if want == "" { // a crash's .part: its sum is the finalised file's
			if want, _, err = blob.FileSHA256(final); err != nil {
				continue // not finalised yet
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		info, err := s.blob.Stat(sctx, j.Key)
		cancel()
		if err == nil && info.SHA256 == want {
			if err := os.Remove(jp); err == nil {
				s.log.Info("recording verified in the blob store", "path", final, "key", j.Key, "sha256", want)
			}
			continue
		}
		if !s.due(ctx, j) {
			continue
		}
		if _, err := os.Stat(final); err != nil {
			s.log.Error("spooled recording missing; journal kept for an operator", "path", final, "journal", jp, "err", err)
			continue
		}
		if eb, ok := s.blob.(interface{ EnsureBucket(context.Context) error }); ok && !ensured {
			ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := eb.EnsureBucket(ectx); err != nil {
				s.log.Warn("object store still unavailable; uploads stay spooled", "store", s.blob.String(), "err", err)
			}
			cancel()
			ensured = true
		}
		if err := s.handOff(&j); err != nil {
			s.log.Warn("recording upload not requeued; retried later", "path", final, "err", err)
			continue
		}
		s.log.Warn("recording upload not verified yet; requeued", "path", final, "key", j.Key, "redrive", j.Redrives)
		_ = s.write(jp, j)
	}
}

// due says whether a handed-off file's upload should be queued again: its
// last upload job was dead-lettered (the store was down through all its
// attempts) at least RedriveAfter ago, or finished without the store
// holding the file, or has no result long after it was queued.
func (s *submitter) due(ctx context.Context, j journal) bool {
	r, err := s.db.JobResultByID(ctx, j.lastUpload())
	switch {
	case err == nil && r.Status == "dead":
		return time.Since(r.CreatedAt) >= RedriveAfter
	case err == nil:
		return time.Since(r.CreatedAt) >= RedriveAfter
	case errors.Is(err, store.ErrNotFound):
		return time.Since(j.Submitted) >= RedriveLost
	}
	return false
}

// lastUpload is the id of the upload job the last hand-off queued.
func (j journal) lastUpload() string {
	if j.Redrives > 0 {
		return fmt.Sprintf("%s.upload.r%d", j.JobID, j.Redrives)
	}
	return j.JobID + ".upload"
}

// resume journals composite .part files a crash left behind (before the
// server starts, so none of them is live): the finalise job renames and
// queues them; the tenant comes from the service record.
func (s *submitter) resume() {
	if s.spool == "" {
		return
	}
	rooms, err := os.ReadDir(s.spool)
	if err != nil {
		return
	}
	for _, rd := range rooms {
		if !rd.IsDir() {
			continue
		}
		parts, _ := filepath.Glob(filepath.Join(s.spool, rd.Name(), "*.mp4.part"))
		for _, p := range parts {
			if _, err := os.Stat(p + pendingSuffix); err == nil {
				continue
			}
			f := signaling.RecordingFile{Room: rd.Name(), Kind: "composite", Path: p}
			if r, err := s.db.Record(context.Background(), store.System(), rd.Name()); err == nil {
				f.Tenant = r.TenantID
			}
			if err := s.write(p+pendingSuffix, newJournal(f)); err != nil {
				s.log.Error("unfinished recording could not be journalled", "path", p, "err", err)
				continue
			}
			s.log.Warn("unfinished recording from a previous run queued for finalisation", "path", p)
		}
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
// in the caller's tenant scope, and for an agent one of its own calls (a
// miss is 404, as everywhere in the API).
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
		// The record routes' rule: in scope, and an agent's own calls only.
		if _, err := p.API.VisibleRecord(r.Context(), c, rec); err != nil {
			p.API.Fail(w, r, err)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return h, nil, nil, nil
}
