package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/blob"
	"github.com/witness-media/witness/internal/store"
)

// Recording files of a service record, streamed from the blob store.
//
// A <video> element cannot send the bearer header, so the console first
// asks for a link (POST …/files/{name}/link, audited as record.play or
// record.download) and gives the player that URL: it is signed for one
// user, record, file and purpose and expires after FileLinkTTL. Every
// request on it re-checks that user as a sign-in would (frozen account,
// tenant whitelist, scope, an agent only its own calls). API clients may
// instead GET the file with their bearer token; each such request is
// audited (record.download) with the range asked for.

// FileLinkTTL is how long a signed recording link works.
const FileLinkTTL = time.Hour

type fileLinkReq struct {
	// Purpose is play (inline, for the player) or download (attachment).
	Purpose string `json:"purpose"`
}

// recordingLink finds the recording file name (the last element of its
// blob key) among the links of record id visible to c.
func (s *Server) recordingLink(ctx context.Context, c *caller, id, name string) (store.Record, store.RecordingLink, error) {
	rec, err := s.visibleRecord(ctx, c, id)
	if err != nil {
		return rec, store.RecordingLink{}, err
	}
	for _, l := range rec.Recordings {
		if path.Base(l.Key) == name {
			return rec, l, nil
		}
	}
	return rec, store.RecordingLink{}, fmt.Errorf("record %s has no recording file %q: %w", id, name, store.ErrNotFound)
}

func (s *Server) fileSig(uid, rec, name, purpose string, exp int64) string {
	m := hmac.New(sha256.New, s.linkKey)
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%d", uid, rec, name, purpose, exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// recordFileLink issues a signed link to one recording file (audited).
func (s *Server) recordFileLink(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req fileLinkReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Purpose != "play" && req.Purpose != "download" {
		return fmt.Errorf("%w: purpose %q: want play or download", errBadRequest, req.Purpose)
	}
	id, name := r.PathValue("id"), r.PathValue("name")
	rec, link, err := s.recordingLink(r.Context(), c, id, name)
	if err != nil {
		return err
	}
	exp := s.opts.Now().Add(FileLinkTTL).Unix()
	s.audit(r.Context(), c, rec.TenantID, "record."+req.Purpose, rec.ID, nil,
		map[string]any{"file": link.Key, "sha256": link.SHA256, "size": link.Size, "link_expires": time.Unix(exp, 0).UTC()}, nil)
	q := url.Values{"u": {c.user.ID}, "p": {req.Purpose}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {s.fileSig(c.user.ID, rec.ID, name, req.Purpose, exp)}}
	writeJSON(w, 200, map[string]any{
		"url":        "/api/v1/records/" + url.PathEscape(rec.ID) + "/files/" + url.PathEscape(name) + "?" + q.Encode(),
		"expires_at": time.Unix(exp, 0).UTC(),
		"key":        link.Key, "size": link.Size, "sha256": link.SHA256,
	})
	return nil
}

// linkCaller checks a signed link and returns its user as a caller.
func (s *Server) linkCaller(r *http.Request) (*caller, string, error) {
	q := r.URL.Query()
	uid, purpose := q.Get("u"), q.Get("p")
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	want := s.fileSig(uid, r.PathValue("id"), r.PathValue("name"), purpose, exp)
	if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(want)) {
		return nil, "", fmt.Errorf("%w: bad recording link", errUnauthorized)
	}
	if s.opts.Now().Unix() > exp {
		return nil, "", fmt.Errorf("%w: recording link expired", errUnauthorized)
	}
	u, err := s.db.User(r.Context(), store.System(), uid)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", errUnauthorized
		}
		return nil, "", err
	}
	c, err := s.callerOf(r.Context(), u)
	return c, purpose, err
}

// recordFile streams one recording file with HTTP Range support, from the
// blob store (disk or S3) without reading it whole.
func (s *Server) recordFile(w http.ResponseWriter, r *http.Request, _ *caller) error {
	ctx := r.Context()
	var (
		c       *caller
		purpose = "download"
		signed  = r.URL.Query().Has("sig")
		err     error
	)
	if signed {
		c, purpose, err = s.linkCaller(r)
	} else if c, err = s.authenticate(r); err == nil && c.user.MustChange {
		err = fmt.Errorf("%w: change your password first (POST /api/v1/me/password)", errForbidden)
	}
	if err != nil {
		return err
	}
	if !c.can(auth.PermRecordRead) {
		return fmt.Errorf("%w: role %s lacks %s", errForbidden, c.user.Role, auth.PermRecordRead)
	}
	rec, link, err := s.recordingLink(ctx, c, r.PathValue("id"), r.PathValue("name"))
	if err != nil {
		return err
	}
	if !signed {
		s.audit(ctx, c, rec.TenantID, "record.download", rec.ID, nil, map[string]any{"file": link.Key, "range": r.Header.Get("Range")}, nil)
	}
	if s.opts.Blobs == nil {
		return fmt.Errorf("%w: no recording store in this process", errUnavailable)
	}
	rd, info, err := s.opts.Blobs.Open(ctx, link.Key)
	if errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("recording file %s is linked but not in the store: %w", path.Base(link.Key), store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%w: recording store: %v", errUnavailable, err)
	}
	defer rd.Close()
	// What is served must be what the record links (the evidence).
	if info.Size != link.Size || (info.SHA256 != "" && info.SHA256 != link.SHA256) {
		s.log.Error("stored recording differs from its record link", "record", rec.ID, "key", link.Key, "size", info.Size, "want_size", link.Size, "sha256", info.SHA256, "want_sha256", link.SHA256)
		return fmt.Errorf("%w: the stored recording does not match the record's checksum", store.ErrConflict)
	}
	name := path.Base(link.Key)
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("ETag", `"`+link.SHA256+`"`)
	h.Set("X-Content-SHA256", link.SHA256)
	h.Set("Cache-Control", "private, no-cache")
	disp := "inline"
	if purpose == "download" {
		disp = "attachment"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	http.ServeContent(w, r, name, time.Time{}, rd)
	return nil
}

// qcReport is a record's QC verdict and the stored reports of its QC jobs.
type qcReport struct {
	RecordID string        `json:"record_id"`
	Verdict  string        `json:"verdict"`
	Reports  []qcJobReport `json:"reports"`
}

type qcJobReport struct {
	JobID     string          `json:"job_id"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	Result    json.RawMessage `json:"result"` // jobs.QCResult: verdict, sha256, summary, findings, report
}

// recordQC returns the QC reports of a record visible to the caller (an
// agent its own calls), so the detail page needs no job.read permission.
func (s *Server) recordQC(w http.ResponseWriter, r *http.Request, c *caller) error {
	rec, err := s.visibleRecord(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	js, err := s.db.JobResults(r.Context(), c.scope, rec.ID)
	if err != nil {
		return err
	}
	out := qcReport{RecordID: rec.ID, Verdict: rec.QCVerdict, Reports: []qcJobReport{}}
	for _, j := range js {
		if j.Kind == "qc" {
			out.Reports = append(out.Reports, qcJobReport{JobID: j.JobID, Status: j.Status, CreatedAt: j.CreatedAt, Result: j.Result})
		}
	}
	writeJSON(w, 200, out)
	return nil
}

// isFileStream reports whether a response is a recording stream (no slow
// response alerts: a long download is not a slow API).
func isFileStream(h http.Header) bool {
	return h.Get("Accept-Ranges") == "bytes" || strings.HasPrefix(h.Get("Content-Disposition"), "attachment")
}

// timelineEvent is one analyzer or recorder event on a recording file's
// timeline, from the record's .markers.json files.
type timelineEvent struct {
	File     string `json:"file"` // the recording file (name) it belongs to
	At       int64  `json:"at_ns"`
	End      int64  `json:"end_ns,omitempty"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Source   string `json:"source"` // auto, plugin, manual
	// Origin is analysis (the live analyzers' sidecar FILE.markers.json)
	// or recorder (the mixer's OUT.markers.json: pauses, gaps, mutes).
	Origin string          `json:"origin"`
	Label  string          `json:"label,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// maxMarkersFile bounds what is read of one markers file.
const maxMarkersFile = 8 << 20

// recordEvents lists the analyzers' and the recorder's events of a record
// visible to the caller: every linked FILE.markers.json (the live
// analysis sidecar of FILE, markers format) and OUT.markers.json (the
// mixer's pauses and mutes of OUT.mp4, event format), read from the blob
// store. Manual marks are the marker API's (/api/v1/markers/...).
func (s *Server) recordEvents(w http.ResponseWriter, r *http.Request, c *caller) error {
	rec, err := s.visibleRecord(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, l := range rec.Recordings {
		names[path.Base(l.Key)] = true
	}
	out := []timelineEvent{}
	for _, l := range rec.Recordings {
		name := path.Base(l.Key)
		base, ok := strings.CutSuffix(name, ".markers.json")
		if !ok {
			continue
		}
		if s.opts.Blobs == nil {
			return fmt.Errorf("%w: no recording store in this process", errUnavailable)
		}
		file, origin := base, "analysis"
		if path.Ext(base) == "" {
			origin = "recorder"
			if names[base+".mp4"] {
				file = base + ".mp4"
			}
		}
		evs, err := s.readMarkers(r.Context(), l.Key, file, origin)
		if err != nil {
			return err
		}
		out = append(out, evs...)
	}
	writeJSON(w, 200, map[string]any{"events": out})
	return nil
}

func (s *Server) readMarkers(ctx context.Context, key, file, origin string) ([]timelineEvent, error) {
	rd, _, err := s.opts.Blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("markers file %s is linked but not in the store: %w", path.Base(key), store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: recording store: %v", errUnavailable, err)
	}
	defer rd.Close()
	// Both shapes in one: markers.Marker (at_ns, end_ns, label) and
	// pipeline.Event (media_time_ns).
	var raw []struct {
		At        *int64          `json:"at_ns"`
		End       int64           `json:"end_ns"`
		MediaTime int64           `json:"media_time_ns"`
		Kind      string          `json:"kind"`
		Severity  string          `json:"severity"`
		Source    string          `json:"source"`
		Label     string          `json:"label"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(rd, maxMarkersFile)).Decode(&raw); err != nil {
		return nil, fmt.Errorf("markers file %s: %w", path.Base(key), err)
	}
	out := make([]timelineEvent, 0, len(raw))
	for _, m := range raw {
		ev := timelineEvent{File: file, At: m.MediaTime, End: m.End, Kind: m.Kind, Severity: m.Severity, Source: m.Source, Origin: origin, Label: m.Label, Data: m.Data}
		if m.At != nil {
			ev.At = *m.At
		}
		out = append(out, ev)
	}
	return out, nil
}
