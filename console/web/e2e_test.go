package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	web "github.com/witness-media/witness/console/web"
	"github.com/witness-media/witness/internal/config"
	"github.com/witness-media/witness/internal/platform"
	"github.com/witness-media/witness/internal/rtcmount"
)

// TestHandler: files by name, the SPA fallback for client routes, a 404
// for a missing asset, and the API keeping its own paths.
func TestHandler(t *testing.T) {
	p := start(t)
	get := func(path string) (int, string, string) {
		t.Helper()
		r, err := http.Get(p.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, r.Header.Get("Content-Type"), string(b)
	}
	if !web.Built() {
		code, _, body := get("/")
		if code != 503 || !strings.Contains(body, "deploy/setup.sh") {
			t.Fatalf("placeholder: %d %q", code, body)
		}
		t.Skip("console/web/dist not built (run deploy/setup.sh): only the placeholder was checked")
	}
	for _, path := range []string{"/", "/dashboard", "/records/R123", "/h5?tenant=province"} {
		code, ct, body := get(path)
		if code != 200 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, `<div id="root">`) {
			t.Errorf("%s: %d %s %.80q", path, code, ct, body)
		}
	}
	if code, _, _ := get("/assets/nope.js"); code != 404 {
		t.Errorf("missing asset: %d, want 404", code)
	}
	if code, _, body := get("/api/v1/nope"); code != 404 || strings.Contains(body, `<div id="root">`) {
		t.Errorf("unknown API path: %d %.80q, want the API's 404, not the page", code, body)
	}
	if code, ct, _ := get("/openapi.json"); code != 200 || !strings.HasPrefix(ct, "application/json") {
		t.Errorf("openapi.json: %d %s", code, ct)
	}
	if code, _, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("healthz: %d %s", code, body)
	}
}

func start(t *testing.T) *platform.Platform {
	t.Helper()
	web.Register()
	rtcmount.Register() // the desk's calls: /rtc/ and the call tokens
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "warn"
	cfg.Control.Listen = "127.0.0.1:0"
	cfg.Control.NATSListen = "127.0.0.1:0"
	cfg.Signaling.Loopback = true
	cfg.Signaling.IPs = "127.0.0.1"
	rc := &cfg.Signaling.Recording
	rc.Width, rc.Height, rc.FPS, rc.Bitrate = 320, 180, 10, 300
	rc.PerParticipant, rc.ScreenshotInterval = false, 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	p, err := platform.Start(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("platform run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("platform did not stop")
		}
	})
	return p
}

type e2eResult struct {
	OK             bool                        `json:"ok"`
	Steps          []string                    `json:"steps"`
	Errors         []string                    `json:"errors"`
	Screenshots    []string                    `json:"screenshots"`
	Ticket         string                      `json:"ticket"`
	QueueBarPixels int                         `json:"queueBarPixels"`
	DeskVideo      struct{ Width, Height int } `json:"deskVideo"`
	CustomerVideo  struct{ Width, Height int } `json:"customerVideo"`
}

// TestBrowser drives headless Chromium through e2e/run.mjs against a real
// `witness serve`: keyboard sign-in of the first admin with the forced
// password change, the dashboard's charts, a customer joining from a
// phone-sized page and seeing position 1, the dashboard counting and
// charting them, the other pages, the English switch, leaving; no console
// errors; screenshots at 1366x768 and 390x844 in $WITNESS_SCREENSHOTS
// (default a temp dir, kept and logged).
func TestBrowser(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium (deploy/setup.sh installs it)")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Skip("console/web/node_modules absent: run deploy/setup.sh (npm ci)")
	}
	if !web.Built() {
		t.Skip("console/web/dist not built: run deploy/setup.sh (npm run build), then re-run")
	}
	p := start(t)
	first := p.FirstAdminPassword()
	if first == "" {
		t.Fatal("no first admin password")
	}
	shots := os.Getenv("WITNESS_SCREENSHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "witness-web-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(shots, 0o750); err != nil {
		t.Fatal(err)
	}
	const newPW = "Witness-e2e-2026"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "e2e/run.mjs", p.URL())
	cmd.Env = append(os.Environ(), "ADMIN_PASSWORD="+first, "NEW_PASSWORD="+newPW, "SHOT_DIR="+shots)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	t.Logf("browser steps:\n%s", stderr.String())
	var res e2eResult
	line := strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("run.mjs output %q: %v (exit %v)", stdout.String(), err, runErr)
	}
	for _, e := range res.Errors {
		t.Errorf("browser: %s", e)
	}
	if runErr != nil || !res.OK {
		t.Fatalf("run.mjs failed: %v", runErr)
	}

	// The server's side of what the browser did.
	login := func(pw string) (int, map[string]any) {
		b, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
		r, err := http.Post(p.URL()+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		return r.StatusCode, m
	}
	code, m := login(newPW)
	if code != 200 || m["must_change_password"] != false {
		t.Fatalf("new password: %d %v", code, m)
	}
	if code, _ := login(first); code == 200 {
		t.Error("the first password still works after the change")
	}
	if _, ok := p.Engine.Ticket(res.Ticket); ok {
		t.Errorf("ticket %s still live after the agent hung up", res.Ticket)
	}
	req, _ := http.NewRequest("GET", p.URL()+"/api/v1/records/"+res.Ticket, nil)
	req.Header.Set("Authorization", "Bearer "+m["token"].(string))
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Status, AgentID string }
	_ = json.NewDecoder(r.Body).Decode(&rec)
	r.Body.Close()
	if r.StatusCode != 200 || rec.Status != "ended" {
		t.Errorf("record %s: %d %+v, want status ended", res.Ticket, r.StatusCode, rec)
	}
	if res.DeskVideo.Width <= 0 || res.CustomerVideo.Width <= 0 {
		t.Errorf("desk video %+v, customer video %+v", res.DeskVideo, res.CustomerVideo)
	}
	if res.QueueBarPixels <= 0 {
		t.Errorf("queue bar pixels %d", res.QueueBarPixels)
	}

	// Screenshots: real PNGs at the requested widths.
	want := map[string]int{"desktop": 1366, "phone": 390}
	if len(res.Screenshots) < 10 {
		t.Errorf("%d screenshots, want ≥ 10", len(res.Screenshots))
	}
	for _, f := range res.Screenshots {
		fh, err := os.Open(f)
		if err != nil {
			t.Error(err)
			continue
		}
		c, err := png.DecodeConfig(fh)
		fh.Close()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		kind := strings.TrimSuffix(filepath.Base(f), ".png")
		kind = kind[strings.LastIndexByte(kind, '-')+1:]
		if c.Width != want[kind] {
			t.Errorf("%s: width %d, want %d", f, c.Width, want[kind])
		}
	}
	t.Logf("%d screenshots in %s", len(res.Screenshots), shots)
}
