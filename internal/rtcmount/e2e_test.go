package rtcmount

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/witness-media/witness/internal/config"
	"github.com/witness-media/witness/internal/jobs"
	"github.com/witness-media/witness/internal/platform"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

// env is a whole `witness serve` started in-process: random ports, a temp
// data dir, SQLite, embedded NATS, recordings on local disk.
type env struct {
	t    *testing.T
	p    *platform.Platform
	base string
	dir  string
	stop func() // stops the platform (idempotent; also at cleanup)
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "warn"
	cfg.Control.Listen = "127.0.0.1:0"
	cfg.Control.NATSListen = "127.0.0.1:0"
	cfg.Control.JobAckWait = 20 * time.Second
	cfg.Signaling.Loopback = true
	cfg.Signaling.IPs = "127.0.0.1"
	// Small composite so the test is quick on a loaded machine.
	rc := &cfg.Signaling.Recording
	rc.Width, rc.Height, rc.FPS, rc.Bitrate = 320, 180, 10, 300
	rc.PerParticipant, rc.ScreenshotInterval = false, 0
	return cfg
}

func start(t *testing.T, cfg config.Config) *env {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	Register()
	RedriveInterval = 300 * time.Millisecond
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	p, err := platform.Start(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("platform run: %v", err)
				}
			case <-time.After(90 * time.Second):
				t.Error("platform did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return &env{t: t, p: p, base: p.URL(), dir: cfg.DataDir, stop: stop}
}

// rtc is the platform's mounted signaling server.
func (e *env) rtc() *signaling.Server {
	v, ok := servers.Load(e.p)
	if !ok {
		e.t.Fatal("no signaling server mounted")
	}
	return v.(*signaling.Server)
}

func (e *env) call(method, path, tok string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func (e *env) must(code, want int, what string) {
	e.t.Helper()
	if code != want {
		e.t.Fatalf("%s: status %d, want %d", what, code, want)
	}
}

// login signs in and replaces a generated password.
func (e *env) login(user, pw string) string {
	e.t.Helper()
	var res struct{ Token string }
	e.must(e.call("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": pw}, &res), 200, "login "+user)
	e.must(e.call("POST", "/api/v1/me/password", res.Token, map[string]string{"old": pw, "new": "new-pass-for-" + user + "-2026"}, nil), 204, "password "+user)
	return res.Token
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// genMedia makes a moving VP8 test pattern and an Opus tone (ffmpeg).
func genMedia(t *testing.T, dir, name string, freq int) (ivf, ogg string) {
	t.Helper()
	ivf, ogg = filepath.Join(dir, name+".ivf"), filepath.Join(dir, name+".ogg")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "4", "-c:v", "libvpx", "-b:v", "200k", "-g", "15", "-deadline", "realtime", "-auto-alt-ref", "0", ivf},
		{"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000", freq), "-t", "4", "-c:a", "libopus", "-b:a", "32k", "-page_duration", "20000", ogg},
	} {
		if b, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, b)
		}
	}
	return ivf, ogg
}

// participant is a pion client publishing generated media and counting
// what it receives.
type participant struct {
	c        *client.Client
	received atomic.Int64
	cancel   context.CancelFunc
}

func joinAndPublish(t *testing.T, wsURL, token, name, ivf, ogg string) *participant {
	t.Helper()
	p := &participant{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Join(ctx, client.Options{URL: wsURL, Token: token, OnTrack: func(tr *webrtc.TrackRemote, _ signaling.TrackInfo) {
		go func() {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				p.received.Add(1)
			}
		}()
	}})
	if err != nil {
		t.Fatalf("%s join: %v", name, err)
	}
	p.c = c
	vt, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam-"+name, "st-"+name)
	at, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic-"+name, "st-"+name)
	if _, err := c.Publish(ctx, client.Track{Track: vt, Source: signaling.SourceCamera}, client.Track{Track: at, Source: signaling.SourceMicrophone}); err != nil {
		t.Fatalf("%s publish: %v", name, err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	p.cancel = pcancel
	go loopIVF(pctx, vt, ivf)
	go loopOgg(pctx, at, ogg)
	return p
}

func (p *participant) leave() { p.cancel(); p.c.Close() }

func loopIVF(ctx context.Context, tr *webrtc.TrackLocalStaticSample, path string) {
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		r, _, err := ivfreader.NewWith(f)
		for err == nil && ctx.Err() == nil {
			var b []byte
			if b, _, err = r.ParseNextFrame(); err == nil {
				select {
				case <-tick.C:
				case <-ctx.Done():
				}
				_ = tr.WriteSample(media.Sample{Data: b, Duration: time.Second / 15})
			}
		}
		f.Close()
	}
}

func loopOgg(ctx context.Context, tr *webrtc.TrackLocalStaticSample, path string) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		r, _, err := oggreader.NewWith(f)
		for err == nil && ctx.Err() == nil {
			var page []byte
			if page, _, err = r.ParseNextPage(); err == nil {
				if bytes.HasPrefix(page, []byte("OpusTags")) || bytes.HasPrefix(page, []byte("OpusHead")) {
					continue
				}
				select {
				case <-tick.C:
				case <-ctx.Done():
				}
				_ = tr.WriteSample(media.Sample{Data: page, Duration: 20 * time.Millisecond})
			}
		}
		f.Close()
	}
}

func needFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
}

// TestLiveCallRecordedUploadedAndChecked is the whole platform end to end:
// a customer queues, an agent answers and gets join tokens from the API,
// two pion clients publish generated media in the room, leave, and the
// room's recording is finalised, uploaded to the blob store with its
// sha256 verified, quality-checked, and linked with its verdict to the
// service record the API serves.
func TestLiveCallRecordedUploadedAndChecked(t *testing.T) {
	needFFmpeg(t)
	e := start(t, testConfig(t))
	ivfA, oggA := genMedia(t, t.TempDir(), "agent", 440)
	ivfC, oggC := genMedia(t, t.TempDir(), "customer", 880)

	// The pages and their script are served under the mount.
	for _, p := range []string{"/rtc/agent.html", "/rtc/customer.html", "/rtc/witness.js"} {
		e.must(e.call("GET", p, "", nil, nil), 200, p)
	}

	admin, agent, ticket, ct := e.answeredCall(true)
	a := joinAndPublish(t, ct.WSURL, ct.AgentToken, "agent", ivfA, oggA)
	c := joinAndPublish(t, ct.WSURL, ct.CustomerToken, "customer", ivfC, oggC)
	// A few seconds of media both ways (RTP packets counted, not time).
	waitFor(t, 60*time.Second, "media both ways", func() bool { return a.received.Load() > 300 && c.received.Load() > 300 })
	// The agent ends the call in the console: the room closes with it
	// (participants still connected), which finalises the recording.
	if _, ok := e.rtc().Room(ticket); !ok {
		t.Fatal("no room for the call")
	}
	e.must(e.call("POST", "/api/v1/agent/end", agent, map[string]string{"ticket_id": ticket}, nil), 200, "end call")
	waitFor(t, 30*time.Second, "the call's room to close", func() bool { _, ok := e.rtc().Room(ticket); return !ok })
	a.leave()
	c.leave()

	// The record gets the uploaded recording and the QC verdict.
	var rec store.Record
	waitFor(t, 120*time.Second, "the recording link and QC verdict on the service record", func() bool {
		rec = store.Record{}
		e.call("GET", "/api/v1/records/"+ticket, admin, nil, &rec)
		return len(rec.Recordings) > 0 && rec.QCVerdict != ""
	})
	// The composite is the one video; its marker sidecar travels with it.
	var videos, sidecars []store.RecordingLink
	for _, l := range rec.Recordings {
		switch {
		case strings.HasSuffix(l.Key, ".mp4"):
			videos = append(videos, l)
		case strings.HasSuffix(l.Key, ".markers.json"):
			sidecars = append(sidecars, l)
		}
	}
	if len(videos) != 1 || len(videos)+len(sidecars) != len(rec.Recordings) {
		t.Fatalf("recordings on the record: %+v", rec.Recordings)
	}
	link := videos[0]
	if !strings.HasPrefix(link.Key, "province/"+ticket+"/") || !strings.HasSuffix(link.Key, ".mp4") || link.Size < 10_000 {
		t.Fatalf("recording link %+v", link)
	}
	switch rec.QCVerdict {
	case "pass", "warn", "fail":
	default:
		t.Fatalf("QC verdict %q", rec.QCVerdict)
	}
	// The blob store holds exactly the spooled file (sha256 recomputed
	// from the stored bytes).
	st, err := e.p.Blob.Stat(context.Background(), link.Key)
	if err != nil || st.SHA256 != link.SHA256 || st.Size != link.Size {
		t.Fatalf("blob stat %+v %v, link %+v", st, err, link)
	}
	h := sha256.New()
	if err := e.p.Blob.Get(context.Background(), link.Key, h); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != link.SHA256 {
		t.Fatalf("blob content sha256 %s, link %s", got, link.SHA256)
	}
	// The spool keeps its copy (the evidence is never only in one place
	// unless configured), with the same checksum and no journal left.
	spooled := filepath.Join(e.dir, "rooms", ticket, filepath.Base(link.Key))
	if sum, err := fileSHA(spooled); err != nil || sum != link.SHA256 {
		t.Fatalf("spooled %s: %s %v", spooled, sum, err)
	}
	waitFor(t, 30*time.Second, "the hand-off journal to end once the upload verified", func() bool {
		_, err := os.Stat(spooled + pendingSuffix)
		return errors.Is(err, os.ErrNotExist)
	})
	// The QC job's stored result carries the same verdict and checksum.
	var jl struct {
		Jobs []store.JobResult `json:"jobs"`
	}
	e.must(e.call("GET", "/api/v1/jobs?subject="+ticket, admin, nil, &jl), 200, "jobs")
	var qcRes *jobs.QCResult
	for _, j := range jl.Jobs {
		if j.Kind == jobs.KindQC && j.Status == "done" {
			var r jobs.QCResult
			if err := json.Unmarshal(j.Result, &r); err != nil {
				t.Fatal(err)
			}
			qcRes = &r
		}
	}
	if qcRes == nil || qcRes.Verdict != rec.QCVerdict || qcRes.SHA256 != link.SHA256 {
		t.Fatalf("QC job result %+v (record verdict %s, link %s); jobs %+v", qcRes, rec.QCVerdict, link.SHA256, jl.Jobs)
	}

	t.Logf("recording %s: %d bytes, sha256 %s; QC %s (%s)", link.Key, link.Size, link.SHA256, qcRes.Verdict, qcRes.Summary)

	// Markers on the record, behind the API's sign-in and scope.
	mk := "/api/v1/markers/recordings/" + ticket + "/markers"
	e.must(e.call("POST", mk, "", map[string]any{"at_ms": 1500, "label": "ID shown"}, nil), 401, "marker without sign-in")
	e.must(e.call("POST", mk, agent, map[string]any{"at_ms": 1500, "label": "ID shown", "author": "agent7"}, nil), 201, "marker")
	var ms []map[string]any
	e.must(e.call("GET", mk, admin, nil, &ms), 200, "markers")
	if len(ms) != 1 || ms[0]["label"] != "ID shown" {
		t.Fatalf("markers %v", ms)
	}
	e.must(e.call("GET", "/api/v1/markers/recordings/no-such-record/markers", admin, nil, nil), 404, "markers of an unknown record")
}

// answeredCall signs the admin in, configures a queue, creates an agent
// who signs in, queues a customer, answers and gets the call's tokens
// (checks=true also checks the token route's refusals).
func (e *env) answeredCall(checks bool) (admin, agent, ticket string, ct CallTokens) {
	t := e.t
	t.Helper()
	admin = e.login("admin", e.p.FirstAdminPassword())
	e.must(e.call("PUT", "/api/v1/tenants/province/queues", admin, map[string]any{"queues": []map[string]any{{"name": "q"}}, "routes": []map[string]any{{"queue": "q"}}}, nil), 200, "queues")
	var nu struct {
		InitialPassword string `json:"initial_password"`
	}
	e.must(e.call("POST", "/api/v1/users", admin, map[string]any{"tenant_id": "province", "username": "agent7", "display_name": "Agent Seven", "role": "agent"}, &nu), 201, "create agent")
	agent = e.login("agent7", nu.InitialPassword)
	e.must(e.call("POST", "/api/v1/agent/sign-in", agent, map[string]any{"queues": []string{"q"}}, nil), 200, "agent sign-in")
	e.must(e.call("PUT", "/api/v1/agent/state", agent, map[string]any{"state": "idle"}, nil), 200, "agent idle")
	var joined struct {
		Ticket struct{ ID string }
		Token  string
	}
	e.must(e.call("POST", "/api/v1/queue/join", "", map[string]any{"tenant_id": "province", "customer_id": "cust1", "channel": "h5", "business": "open"}, &joined), 201, "customer joins")
	ticket = joined.Ticket.ID
	custJoin := "/rtc/tickets/" + ticket + "/join?token="

	// Tokens only for the agent's own connected call.
	if checks {
		e.must(e.call("POST", "/rtc/calls/"+ticket+"/tokens", agent, nil, nil), 409, "tokens before answering")
		e.must(e.call("POST", "/rtc/calls/"+ticket+"/tokens", "", nil, nil), 401, "tokens without sign-in")
		e.must(e.call("GET", custJoin+joined.Token, "", nil, nil), 409, "customer token before the call is connected")
	}
	waitFor(t, 20*time.Second, "the customer to ring at the agent", func() bool {
		return e.call("POST", "/api/v1/agent/answer", agent, map[string]string{"ticket_id": ticket}, nil) == 200
	})
	e.must(e.call("POST", "/rtc/calls/"+ticket+"/tokens", agent, nil, &ct), 200, "call tokens")
	if ct.Room != ticket || ct.AgentToken == "" || ct.CustomerToken == "" || !strings.Contains(ct.CustomerURL, "/rtc/customer.html#token=") {
		t.Fatalf("call tokens: %+v", ct)
	}
	if checks {
		e.must(e.call("POST", "/rtc/calls/"+ticket+"/tokens", admin, nil, nil), 403, "tokens for a non-agent")
		e.must(e.call("GET", custJoin+"wrong", "", nil, nil), 404, "customer token with a wrong ticket token")
		// The customer can also fetch its own join token with the ticket
		// token; it joins the same room.
		var cj CustomerJoin
		e.must(e.call("GET", custJoin+joined.Token, "", nil, &cj), 200, "customer token")
		if cj.Room != ticket || cj.Token == "" || !strings.HasSuffix(cj.URL, "/rtc/customer.html#token="+cj.Token) {
			t.Fatalf("customer join %+v", cj)
		}
		ct.CustomerToken = cj.Token // the customer's pion client joins with this one
	}
	return admin, agent, ticket, ct
}

func fileSHA(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestCallTokensSplitRoles: a control-plane process without the signaling
// role signs call tokens with the shared signaling.secret, which the
// signaling processes verify; without a secret it cannot, and says so.
func TestCallTokensSplitRoles(t *testing.T) {
	cfg := testConfig(t)
	cfg.Control.Roles = "control,media"
	cfg.Signaling.Secret = "shared-secret-0123456789"
	e := start(t, cfg)
	e.must(e.call("GET", "/rtc/agent.html", "", nil, nil), 404, "pages without the signaling role")
	_, _, ticket, ct := e.answeredCall(false)
	for _, tok := range []string{ct.AgentToken, ct.CustomerToken} {
		c, err := signaling.Verify([]byte(cfg.Signaling.Secret), tok, time.Now())
		if err != nil || c.Room != ticket || c.Tenant != "province" {
			t.Fatalf("token %v %+v", err, c)
		}
	}
	if _, err := signerFor(&platform.Platform{})(signaling.Claims{Room: "r", Identity: "i", Role: signaling.RoleAgent}); !errors.Is(err, errNoSigner) {
		t.Fatalf("signing without server or secret: %v", err)
	}
}
