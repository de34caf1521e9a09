package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/blob"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/internal/testkit/miniotest"
)

// withRecording puts a random file into the blob store st (a local one
// when nil) as a recording of record recA (agent-A's call, QC warn) and
// returns its bytes.
func withRecording(t *testing.T, e *env, st blob.Store) []byte {
	t.Helper()
	ctx := context.Background()
	want := make([]byte, 300_001)
	rand.Read(want)
	src := filepath.Join(t.TempDir(), "recA_001.mp4")
	must(t, os.WriteFile(src, want, 0o600))
	if st == nil {
		st = blob.Local{Root: t.TempDir()}
	}
	info, err := (&blob.Uploader{Store: st}).Upload(ctx, "tenA/recA/recA_001.mp4", src)
	must(t, err)
	must(t, e.db.AddRecordRecording(ctx, store.System(), "recA", store.RecordingLink{Key: info.Key, SHA256: info.SHA256, Size: info.Size}))
	must(t, e.db.SetRecordQC(ctx, store.System(), "recA", "warn"))
	// The live analysis sidecar (markers format) and the mixer's own
	// markers (event format), linked like the recorder's other files.
	for name, body := range map[string]string{
		"recA_001.mp4.markers.json": `[{"id":"m1","recording":"recA_001.mp4","at_ns":3000000000,"end_ns":7000000000,"kind":"face.missing","severity":"warning","source":"auto","label":"face.missing"}]`,
		"recA_001.markers.json":     `[{"kind":"recording.paused","severity":"info","source":"manual","media_time_ns":1500000000}]`,
	} {
		p := filepath.Join(t.TempDir(), name)
		must(t, os.WriteFile(p, []byte(body), 0o600))
		info, err := (&blob.Uploader{Store: st}).Upload(ctx, "tenA/recA/"+name, p)
		must(t, err)
		must(t, e.db.AddRecordRecording(ctx, store.System(), "recA", store.RecordingLink{Key: info.Key, SHA256: info.SHA256, Size: info.Size}))
	}
	e.srv.opts.Blobs = st
	e.user("agent2-A", "tenA", auth.RoleAgent)
	return want
}

// get fetches a path (a signed link or a bearer request) with an
// optional Range header.
func (e *env) get(tok, path, rng string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.hs.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) link(user, purpose string) (int, string) {
	e.t.Helper()
	code, body := e.as(user, "POST", "/api/v1/records/recA/files/recA_001.mp4/link", map[string]string{"purpose": purpose})
	var out struct{ URL string }
	_ = json.Unmarshal(body, &out)
	return code, out.URL
}

// TestRecordingFiles: a signed link for the record's own agent plays the
// file with Range requests (206 with the right bytes), downloads it whole
// with the record's sha256; another agent of the tenant and every user of
// another tenant get 404; a tampered, expired or frozen user's link and an
// anonymous request are refused; links and bearer downloads are in the
// audit chain, which still verifies.
func TestRecordingFiles(t *testing.T) {
	t.Run("disk", func(t *testing.T) { testRecordingFiles(t, nil) })
	t.Run("range-reads-only-the-range", func(t *testing.T) {
		e := newEnv(t)
		withRecording(t, e, nil)
		cs := &countingStore{Store: e.srv.opts.Blobs}
		e.srv.opts.Blobs = cs
		_, play := e.link("agent-A", "play")
		if resp, b := e.get("", play, "bytes=150000-150999"); resp.StatusCode != 206 || len(b) != 1000 {
			t.Fatalf("range: %d %d bytes", resp.StatusCode, len(b))
		}
		if n := cs.read.Load(); n != 1000 {
			t.Errorf("a 1000-byte range read %d bytes from the store, want 1000 (streamed, not loaded whole)", n)
		}
	})
	t.Run("s3", func(t *testing.T) {
		s3, err := blob.NewS3(blob.S3Options{Endpoint: miniotest.Start(t), Bucket: "recordings", AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey, Timeout: 10 * time.Second})
		must(t, err)
		// MinIO may answer "not initialized yet" just after it said ready.
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			err := s3.EnsureBucket(context.Background())
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
		testRecordingFiles(t, s3)
	})
}

func testRecordingFiles(t *testing.T, st blob.Store) {
	e := newEnv(t)
	want := withRecording(t, e, st)
	sum := sha256.Sum256(want)
	wantSum := hex.EncodeToString(sum[:])

	code, play := e.link("agent-A", "play")
	if code != 200 || !strings.HasPrefix(play, "/api/v1/records/recA/files/recA_001.mp4?") {
		t.Fatalf("agent's own link: %d %q", code, play)
	}
	// Range requests, as a <video> element seeking: no bearer header.
	for _, c := range []struct {
		rng        string
		start, end int
	}{{"bytes=1000-1999", 1000, 2000}, {"bytes=-100", len(want) - 100, len(want)}, {"bytes=299000-", 299000, len(want)}} {
		resp, b := e.get("", play, c.rng)
		if resp.StatusCode != 206 || !bytes.Equal(b, want[c.start:c.end]) {
			t.Fatalf("%s: %d, %d bytes, want 206 and bytes %d-%d", c.rng, resp.StatusCode, len(b), c.start, c.end)
		}
		if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", c.start, c.end-1, len(want)) {
			t.Errorf("%s: Content-Range %q", c.rng, cr)
		}
	}
	resp, b := e.get("", play, "")
	if resp.StatusCode != 200 || !bytes.Equal(b, want) || resp.Header.Get("Accept-Ranges") != "bytes" ||
		resp.Header.Get("Content-Type") != "video/mp4" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") ||
		resp.Header.Get("X-Content-SHA256") != wantSum {
		t.Fatalf("whole file: %d %d bytes %v", resp.StatusCode, len(b), resp.Header)
	}
	// A download link: attachment, same bytes and sha256.
	_, dl := e.link("agent-A", "download")
	resp, b = e.get("", dl, "")
	got := sha256.Sum256(b)
	if resp.StatusCode != 200 || hex.EncodeToString(got[:]) != wantSum || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename=recA_001.mp4`) {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}

	// Forbidden: another agent of A (not its call), users of B, anonymous.
	for _, u := range []string{"agent2-A", "agent-B", "tenant_admin-B", "supervisor-B", "auditor-B"} {
		if code, l := e.link(u, "play"); code != 404 || l != "" {
			t.Errorf("link as %s: %d %q, want 404", u, code, l)
		}
		if resp, _ := e.get(e.tokens[u], "/api/v1/records/recA/files/recA_001.mp4", ""); resp.StatusCode != 404 {
			t.Errorf("bearer GET as %s: %d, want 404", u, resp.StatusCode)
		}
	}
	if code, _ := e.link("ops-A", "play"); code != 403 {
		t.Errorf("link as ops (no record.read): %d, want 403", code)
	}
	if resp, _ := e.get("", "/api/v1/records/recA/files/recA_001.mp4", ""); resp.StatusCode != 401 {
		t.Errorf("anonymous: %d, want 401", resp.StatusCode)
	}
	if code, _ := e.as("agent-A", "POST", "/api/v1/records/recA/files/recA_002.mp4/link", `{"purpose":"play"}`); code != 404 {
		t.Errorf("link to a file the record does not have: %d", code)
	}
	if code, _ := e.as("agent-A", "POST", "/api/v1/records/recA/files/recA_001.mp4/link", `{"purpose":"steal"}`); code != 400 {
		t.Errorf("bad purpose: %d", code)
	}
	// Tampered links: another user, another purpose, another record.
	u, _ := url.Parse(play)
	for k, v := range map[string]string{"u": "tenant_admin-B", "p": "download", "exp": fmt.Sprint(time.Now().Add(48 * time.Hour).Unix())} {
		q := u.Query()
		q.Set(k, v)
		if resp, _ := e.get("", u.Path+"?"+q.Encode(), ""); resp.StatusCode != 401 {
			t.Errorf("link with %s changed: %d, want 401", k, resp.StatusCode)
		}
	}
	if resp, _ := e.get("", "/api/v1/records/recB/files/recA_001.mp4?"+u.RawQuery, ""); resp.StatusCode != 401 {
		t.Errorf("link moved to another record: %d, want 401", resp.StatusCode)
	}

	// The bearer route: an admin of A downloads a range; audited.
	resp, b = e.get(e.tokens["tenant_admin-A"], "/api/v1/records/recA/files/recA_001.mp4", "bytes=0-99")
	if resp.StatusCode != 206 || !bytes.Equal(b, want[:100]) {
		t.Fatalf("bearer range: %d %d bytes", resp.StatusCode, len(b))
	}

	// The audit chain has the links and the bearer download, and verifies.
	code, body := e.as("tenant_admin-A", "GET", "/api/v1/audit?limit=1000", nil)
	var au struct{ Entries []store.AuditEntry }
	must(t, json.Unmarshal(body, &au))
	seen := map[string]int{}
	for _, en := range au.Entries {
		if en.Target == "recA" {
			seen[en.Actor+" "+en.Action]++
			if en.Action == "record.download" && en.Actor == "tenant_admin-A" && !strings.Contains(string(en.After), `"range":"bytes=0-99"`) {
				t.Errorf("bearer download audit without its range: %s", en.After)
			}
		}
	}
	if code != 200 || seen["agent-A record.play"] != 1 || seen["agent-A record.download"] != 1 || seen["tenant_admin-A record.download"] != 1 {
		t.Errorf("audit: %d %v", code, seen)
	}
	if _, err := e.db.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain: %v", err)
	}

	// Expired link, then a frozen user's link.
	e.srv.opts.Now = func() time.Time { return time.Now().Add(FileLinkTTL + time.Minute) }
	if resp, b := e.get("", play, ""); resp.StatusCode != 401 || !strings.Contains(string(b), "expired") {
		t.Errorf("expired link: %d %s", resp.StatusCode, b)
	}
	e.srv.opts.Now = time.Now
	if code, _ := e.as("tenant_admin-A", "POST", "/api/v1/users/agent-A/freeze", nil); code != 204 {
		t.Fatalf("freeze: %d", code)
	}
	if resp, _ := e.get("", play, ""); resp.StatusCode != 401 {
		t.Errorf("frozen user's link: %d, want 401", resp.StatusCode)
	}

	// A linked file the store lost is a clear 404, not an empty 200.
	must(t, e.db.AddRecordRecording(context.Background(), store.System(), "recA", store.RecordingLink{Key: "tenA/recA/lost.mp4", SHA256: "00", Size: 5}))
	if resp, b := e.get(e.tokens["tenant_admin-A"], "/api/v1/records/recA/files/lost.mp4", ""); resp.StatusCode != 404 || !strings.Contains(string(b), "not in the store") {
		t.Errorf("lost file: %d %s", resp.StatusCode, b)
	}
}

// TestRecordQCEventsAndFilters: the record's QC reports and its analyzer
// and recorder events for whoever may see the record (its agent too,
// without job.read), nobody else; the records list filters by QC verdict
// and by a tenant with its branches.
func TestRecordQCEventsAndFilters(t *testing.T) {
	e := newEnv(t)
	withRecording(t, e, nil)
	ctx := context.Background()
	must(t, e.db.CreateTenant(ctx, store.System(), store.Tenant{ID: "brA", ParentID: "tenA", Name: "branch-a", Level: store.LevelBranch, Whitelisted: true}))
	must(t, e.db.PutRecord(ctx, store.System(), store.Record{ID: "recBr", TenantID: "brA", Status: "ended", QCVerdict: "pass"}))

	for _, u := range []string{"agent-A", "tenant_admin-A", "auditor-A", "padmin"} {
		code, body := e.as(u, "GET", "/api/v1/records/recA/qc", nil)
		var q qcReport
		_ = json.Unmarshal(body, &q)
		if code != 200 || q.Verdict != "warn" || len(q.Reports) != 1 || q.Reports[0].JobID != "jobA" || !strings.Contains(string(q.Reports[0].Result), "MARKA") {
			t.Errorf("qc as %s: %d %s", u, code, body)
		}
	}
	for _, u := range []string{"agent2-A", "agent-B", "tenant_admin-B"} {
		if code, _ := e.as(u, "GET", "/api/v1/records/recA/qc", nil); code != 404 {
			t.Errorf("qc as %s: %d, want 404", u, code)
		}
		if code, _ := e.as(u, "GET", "/api/v1/records/recA/events", nil); code != 404 {
			t.Errorf("events as %s: %d, want 404", u, code)
		}
	}
	code, body := e.as("agent-A", "GET", "/api/v1/records/recA/events", nil)
	var evs struct{ Events []timelineEvent }
	must(t, json.Unmarshal(body, &evs))
	got := map[string]timelineEvent{}
	for _, ev := range evs.Events {
		got[ev.Kind] = ev
	}
	if fm, p := got["face.missing"], got["recording.paused"]; code != 200 || len(evs.Events) != 2 ||
		fm.File != "recA_001.mp4" || fm.At != 3e9 || fm.End != 7e9 || fm.Source != "auto" || fm.Severity != "warning" || fm.Origin != "analysis" || p.Origin != "recorder" ||
		p.File != "recA_001.mp4" || p.At != 1.5e9 || p.Source != "manual" {
		t.Errorf("events: %d %s", code, body)
	}

	ids := func(user, q string) string {
		t.Helper()
		code, body := e.as(user, "GET", "/api/v1/records?"+q, nil)
		var out struct{ Records []store.Record }
		_ = json.Unmarshal(body, &out)
		var s []string
		for _, r := range out.Records {
			s = append(s, r.ID)
		}
		return fmt.Sprint(code, s)
	}
	for _, c := range []struct{ user, q, want string }{
		{"padmin", "qc=warn", "200 [recA]"},
		{"padmin", "qc=pass", "200 [recBr]"},
		{"padmin", "qc=none", "200 [recB]"},
		{"padmin", "within=tenA&qc=", "200 [recA recBr]"},
		{"padmin", "within=tenA&tenant=brA", "200 [recBr]"},
		{"padmin", "within=brA", "200 [recBr]"},
		{"padmin", "within=P&qc=none", "200 [recB]"},
		{"tenant_admin-A", "within=tenB", "200 []"},
		{"tenant_admin-A", "within=nope", "200 []"},
		{"tenant_admin-B", "within=tenA", "200 []"},
		{"agent-A", "within=tenA", "200 [recA]"},
		{"padmin", "qc=great", "400 []"},
	} {
		if got := ids(c.user, c.q); got != c.want && !(strings.HasPrefix(c.want, "200 [rec") && sameSet(got, c.want)) {
			t.Errorf("%s: records?%s = %s, want %s", c.user, c.q, got, c.want)
		}
	}
}

func sameSet(a, b string) bool {
	f := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, x := range strings.Fields(strings.Trim(strings.TrimPrefix(s, "200 "), "[]")) {
			m[x] = true
		}
		return m
	}
	ma, mb := f(a), f(b)
	if len(ma) != len(mb) || !strings.HasPrefix(a, "200 ") {
		return false
	}
	for k := range ma {
		if !mb[k] {
			return false
		}
	}
	return true
}

// countingStore counts the bytes read from the objects it opens.
type countingStore struct {
	blob.Store
	read atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, blob.Info, error) {
	r, info, err := c.Store.Open(ctx, key)
	if err != nil {
		return nil, info, err
	}
	return &countingReader{r, &c.read}, info, nil
}

type countingReader struct {
	io.ReadSeekCloser
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadSeekCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
