package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/witness-media/witness/analyzers/testclip"
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
	// Live analysis (face, light, occlusion at 5 fps) watches the customer:
	// the default profile, stated here because the browser test needs it.
	cfg.Analyzers.Profile = ""
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
	scriptRun
	Ticket         string                      `json:"ticket"`
	QueueBarPixels int                         `json:"queueBarPixels"`
	DeskVideo      struct{ Width, Height int } `json:"deskVideo"`
	CustomerVideo  struct{ Width, Height int } `json:"customerVideo"`
	Alert          string                      `json:"alert"`
	Verdict        string                      `json:"verdict"`
	Player         struct {
		ReadyState int     `json:"readyState"`
		Duration   float64 `json:"duration"`
		Width      int     `json:"width"`
	} `json:"player"`
	Dashboard struct {
		AgentBar int `json:"agentBar"`
		BizBar   int `json:"bizBar"`
	} `json:"dashboard"`
	AutoItems int      `json:"autoItems"`
	AutoKinds []string `json:"autoKinds"`
	Seek      struct {
		Want float64 `json:"want"`
		Got  float64 `json:"got"`
	} `json:"seek"`
	Download struct {
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"download"`
	ReviewMark struct {
		Label string  `json:"label"`
		At    float64 `json:"at"`
	} `json:"reviewMark"`
	Report struct {
		File  string `json:"file"`
		Name  string `json:"name"`
		Query string `json:"query"`
	} `json:"report"`
}

// Scenario of the customer's fake camera (looped by Chromium): the face
// is in the frame, leaves at 3 s, is back at 7 s, every 10 s.
const (
	clipLen   = 10 * time.Second
	awayFrom  = 3 * time.Second
	awayUntil = 7 * time.Second
)

// fakeCamera renders the customer's camera (320x240, 10 fps: a real face
// photograph, testclip's astronaut, that leaves the frame) to a y4m file
// and a 440 Hz tone to a wav file, for Chromium's fake capture devices.
func fakeCamera(t *testing.T) (y4m, wav string) {
	t.Helper()
	ph, err := testclip.LoadPhotos()
	if err != nil {
		t.Skip(err.Error())
	}
	defer ph.Close()
	c := &testclip.Clip{W: 320, H: 240, FPS: 10, Duration: clipLen}
	c.Script = func(at time.Duration) ([]testclip.Layer, float64) {
		if at >= awayFrom && at < awayUntil {
			return nil, 1
		}
		return []testclip.Layer{{Pic: &ph.Astronaut, Box: image.Rect(110, 45, 210, 175)}}, 1
	}
	defer c.Close()
	dir := t.TempDir()
	y4m, wav = filepath.Join(dir, "customer.y4m"), filepath.Join(dir, "customer.wav")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", c.W, c.H), "-r", strconv.Itoa(c.FPS), "-i", "-",
		"-pix_fmt", "yuv420p", y4m)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < c.Frames(); i++ {
		if _, err := in.Write(c.Frame(i).Data); err != nil {
			break
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffmpeg y4m: %v %s", err, stderr.String())
	}
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(int(clipLen.Seconds())), "-ac", "1", wav).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg wav: %v %s", err, b)
	}
	return y4m, wav
}

// TestBrowser drives headless Chromium through e2e/run.mjs against a real
// `witness serve`: keyboard sign-in of the first admin with the forced
// password change, the dashboard's charts, a customer joining from a
// phone-sized page and seeing position 1, the dashboard counting and
// charting them, the English switch; an agent answers, both sides play
// video, the customer's camera (a generated clip of a real face that
// leaves the frame) raises the live "face.missing" alert on the desk; the
// agent hangs up; the recording appears in the records list with its QC
// verdict (and the QC-verdict filter finds it); its detail page plays the
// composite recording, shows the analyzer markers on the timeline, seeks
// on a click, downloads the file (size and sha256 equal to the record's),
// and the agent adds a manual marker at the player's position; no console
// errors; screenshots at 1366x768 and 390x844 in $WITNESS_SCREENSHOTS
// (default a temp dir, kept and logged).
func TestBrowser(t *testing.T) {
	needBrowser(t)
	y4m, wav := fakeCamera(t)
	p := start(t)
	first := p.FirstAdminPassword()
	if first == "" {
		t.Fatal("no first admin password")
	}
	shots := shotDir(t)
	const newPW = "Witness-e2e-2026"
	var res e2eResult
	runScript(t, "run.mjs", p.URL(), 8*time.Minute, []string{"ADMIN_PASSWORD=" + first, "NEW_PASSWORD=" + newPW, "SHOT_DIR=" + shots,
		"FAKE_Y4M=" + y4m, "FAKE_WAV=" + wav, "DOWNLOAD_DIR=" + t.TempDir()}, &res)

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
	tok := m["token"].(string)
	get := func(path string, v any) { t.Helper(); getJSON(t, p.URL(), tok, path, v) }
	var rec struct {
		Status, AgentID string
		QCVerdict       string `json:"qc_verdict"`
		Recordings      []struct {
			Key, SHA256 string
			Size        int64
		}
	}
	get("/api/v1/records/"+res.Ticket, &rec)
	if rec.Status != "ended" || rec.QCVerdict == "" || rec.QCVerdict != res.Verdict {
		t.Errorf("record %s: %+v, want status ended and the verdict the page showed (%q)", res.Ticket, rec, res.Verdict)
	}
	// The downloaded file is the record's composite, byte for byte.
	found := false
	for _, l := range rec.Recordings {
		if filepath.Base(l.Key) == res.Download.Name {
			found = true
			if l.Size != res.Download.Size || l.SHA256 != res.Download.SHA256 {
				t.Errorf("download %s: %d bytes sha256 %s, record links %d bytes sha256 %s", res.Download.Name, res.Download.Size, res.Download.SHA256, l.Size, l.SHA256)
			}
		}
	}
	if !found || !strings.HasSuffix(res.Download.Name, ".mp4") {
		t.Errorf("downloaded %q is not a recording of the record %+v", res.Download.Name, rec.Recordings)
	}
	if res.Alert != "face.missing" {
		t.Errorf("desk alert %q, want face.missing", res.Alert)
	}
	if res.Player.ReadyState < 2 || res.Player.Duration <= 0 || res.Player.Width <= 0 {
		t.Errorf("player %+v", res.Player)
	}
	if res.AutoItems < 1 {
		t.Errorf("%d analyzer markers on the timeline", res.AutoItems)
	}
	// The clip shows one person; a second one would be a false alarm
	// (face.multiple fired at every call start before second_face_score).
	for _, k := range res.AutoKinds {
		if strings.Contains(k, "face.multiple") {
			t.Errorf("timeline has %q: the clip never shows two people", k)
		}
	}
	if d := res.Seek.Got - res.Seek.Want; d < -0.5 || d > 0.5 {
		t.Errorf("seek to %.2f s landed at %.2f s", res.Seek.Want, res.Seek.Got)
	}
	// Playback and download are in the audit chain, as the admin.
	var au struct {
		Entries []struct{ Actor, Action, Target, Result string }
	}
	get("/api/v1/audit?limit=1000", &au)
	seen := map[string]bool{}
	for _, e := range au.Entries {
		if e.Target == res.Ticket && e.Result == "ok" {
			seen[e.Action] = true
		}
	}
	if !seen["record.play"] || !seen["record.download"] {
		t.Errorf("audit of %s: %v, want record.play and record.download", res.Ticket, seen)
	}
	// The agent's review mark is in the marker store at the player's time.
	var marks []struct {
		Label  string
		AtNS   int64 `json:"at_ns"`
		Source string
	}
	get("/api/v1/markers/recordings/"+res.Ticket+"/markers", &marks)
	ok := false
	for _, mk := range marks {
		if mk.Label == res.ReviewMark.Label && mk.Source == "manual" && absF(float64(mk.AtNS)/1e9-res.ReviewMark.At) < 0.05 {
			ok = true
		}
	}
	if !ok {
		t.Errorf("review mark %+v not in the marker store: %+v", res.ReviewMark, marks)
	}
	// The agent KPI workbook the admin exported holds the JSON report
	// cell for cell, and counts the call for Agent One.
	if !strings.HasSuffix(res.Report.Name, ".xlsx") {
		t.Errorf("report download named %q", res.Report.Name)
	}
	var rep struct {
		Columns []struct{ Key, ZH string }
		Rows    []map[string]any
	}
	get("/api/v1/reports/agents?"+res.Report.Query, &rep)
	xf, err := excelize.OpenFile(res.Report.File)
	if err != nil {
		t.Fatalf("report workbook: %v", err)
	}
	xrows, err := xf.GetRows(xf.GetSheetList()[0])
	xf.Close()
	if err != nil || len(xrows) != len(rep.Rows)+1 {
		t.Fatalf("workbook: %d rows (%v) for %d JSON rows", len(xrows), err, len(rep.Rows))
	}
	counted := false
	for r, row := range rep.Rows {
		agentRow := false
		for i, c := range rep.Columns {
			want, got := jsonCell(row[c.Key]), sheetCell(xrows, r+1, i)
			// Signed-in time and the rates built on it grow while the agent
			// is still signed in, between the export and this read.
			live := c.Key == "logged_s" || strings.HasSuffix(c.Key, "_rate") || strings.HasPrefix(c.Key, "state_")
			if got != want && !live {
				t.Errorf("workbook row %d %s: %q, JSON %q", r+1, c.Key, got, want)
			}
			if want == "Agent One" || want == "agent1" {
				agentRow = true
			}
		}
		if agentRow && fmt.Sprint(row["calls"]) == "1" {
			counted = true
		}
	}
	if !counted {
		t.Errorf("the agent KPI report does not count Agent One's call: %v", rep.Rows)
	}
	if res.DeskVideo.Width <= 0 || res.CustomerVideo.Width <= 0 {
		t.Errorf("desk video %+v, customer video %+v", res.DeskVideo, res.CustomerVideo)
	}
	if res.Dashboard.AgentBar <= 0 || res.Dashboard.BizBar <= 0 {
		t.Errorf("dashboard after the call: %+v, want a bar for the agent and for the business", res.Dashboard)
	}
	if res.QueueBarPixels <= 0 {
		t.Errorf("queue bar pixels %d", res.QueueBarPixels)
	}

	checkShots(t, res.Screenshots, 20, shots)
}

func absF(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
