package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/store"
)

type deskResult struct {
	scriptRun
	Ticket      string                                `json:"ticket"`
	Snapshot    string                                `json:"snapshot"`
	FileSHA     string                                `json:"fileSHA"`
	DeskVideo   struct{ Width, Height int }           `json:"deskVideo"`
	ScreenVideo struct{ Width, Height int }           `json:"screenVideo"`
	SnapSize    struct{ Width, Height int }           `json:"snapSize"`
	DeskNet     struct{ RTT, Loss, Up, Down float64 } `json:"deskNet"`
}

// TestBrowserDesk drives headless Chromium through e2e/desk.mjs against a
// real `witness serve` (the platform helper of TestBrowser): an agent and
// a phone customer (fake camera and microphone) in a call exercise
// layouts and rotation, chat both ways, a PDF to the customer, hold,
// a snapshot, recording segments, network figures, screen share, camera
// switch and audio-only; a supervisor's monitor follows the agent live
// and forces a state; after hang-up the wrap-up and the rating reach the
// record. Any browser console error or unlabeled control fails it. The
// Go side then checks the record, the snapshot PNG and the files the
// room stored (same sha256 as sent).
func TestBrowserDesk(t *testing.T) {
	needBrowser(t)
	p := start(t)
	first := p.FirstAdminPassword()
	if first == "" {
		t.Fatal("no first admin password")
	}
	shots := shotDir(t)
	dl := t.TempDir()
	var res deskResult
	runScript(t, "desk.mjs", p.URL(), 5*time.Minute, []string{"ADMIN_PASSWORD=" + first, "NEW_PASSWORD=Witness-desk-2026", "SHOT_DIR=" + shots, "DL_DIR=" + dl}, &res)

	// The record as the server has it (the script checked it over the
	// API as the agent; here straight from the store).
	r, err := p.DB.Record(context.Background(), store.System(), res.Ticket)
	if err != nil {
		t.Fatalf("record %s: %v", res.Ticket, err)
	}
	if r.Status != "ended" || r.Rating != 5 || r.Summary == "" || len(r.CustomerTags) != 1 || len(r.SummaryOptions) != 1 || len(r.Chat) < 2 {
		t.Errorf("record %+v", r)
	}

	// The snapshot: a PNG of the customer's video at the size it had then
	// (WebRTC adapts it; the page's thumbnail of the same image says
	// which), 16:9 like the fake camera.
	f, err := os.Open(res.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	c, err := png.DecodeConfig(f)
	f.Close()
	if err != nil || c.Width != res.SnapSize.Width || c.Height != res.SnapSize.Height || c.Width*9 != c.Height*16 {
		t.Errorf("snapshot %s: %dx%d %v, want %dx%d and 16:9", res.Snapshot, c.Width, c.Height, err, res.SnapSize.Width, res.SnapSize.Height)
	}
	snapSum := fileSHA(t, res.Snapshot)

	// The room stored both files: the PDF sent to the customer and the
	// snapshot (a private file of the agent's), with the bytes sent.
	stored, _ := filepath.Glob(filepath.Join(p.Cfg.SignalingDir(), res.Ticket, "files", "FI_*"))
	var pdf, snap bool
	for _, s := range stored {
		switch sum := fileSHA(t, s); {
		case strings.HasSuffix(s, ".pdf") && sum == res.FileSHA:
			pdf = true
		case strings.HasSuffix(s, ".png") && sum == snapSum:
			snap = true
		}
	}
	if !pdf || !snap {
		t.Errorf("room files %v: pdf %v, snapshot %v", stored, pdf, snap)
	}
	if res.DeskNet.Up <= 0 || res.DeskNet.Down <= 0 {
		t.Errorf("network figures %+v", res.DeskNet)
	}

	checkShots(t, res.Screenshots, 12, shots)
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
