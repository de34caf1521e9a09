package signaling_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
	"github.com/witness-media/witness/signaling"
)

// hooks collects the finalised-file callbacks.
type hooks struct {
	mu    sync.Mutex
	files []signaling.RecordingFile
}

func (h *hooks) add(f signaling.RecordingFile) {
	h.mu.Lock()
	h.files = append(h.files, f)
	h.mu.Unlock()
}

func (h *hooks) kind(k string) []signaling.RecordingFile {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []signaling.RecordingFile
	for _, f := range h.files {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func recordingServer(t *testing.T, h *hooks, mod func(*signaling.Config)) (*testServer, string) {
	dir := t.TempDir()
	ts := newServer(t, func(c *signaling.Config) {
		c.Recording = signaling.RecordingConfig{Dir: dir, Auto: true, Layout: "side-by-side", Width: 640, Height: 360, FPS: 15,
			PerParticipant: os.Getenv("NOPP") == "", ScreenshotInterval: time.Second, OnFinalized: h.add}
		if mod != nil {
			mod(c)
		}
	})
	return ts, dir
}

// slotColours decodes a composite and returns, per decoded frame in the
// second half of the file, the mean colour of the centre of the left and
// right halves.
type frameSample struct {
	pts         time.Duration
	left, right [3]float64
}

func compositeFrames(t *testing.T, path string) []frameSample {
	t.Helper()
	var out []frameSample
	_, err := av.Decode(context.Background(), path, av.Options{Video: true, VideoFormat: pipeline.PixelRGBA, Width: 64, Height: 36}, func(it *av.Item) error {
		f := it.Video
		if f == nil {
			return nil
		}
		mean := func(x0 int) [3]float64 {
			var s [3]float64
			n := 0
			for y := 10; y < 26; y++ {
				for x := x0 + 8; x < x0+24; x++ {
					o := y*f.Stride[0] + 4*x
					for c := range 3 {
						s[c] += float64(f.Data[o+c])
					}
					n++
				}
			}
			return [3]float64{s[0] / float64(n), s[1] / float64(n), s[2] / float64(n)}
		}
		out = append(out, frameSample{f.PTS, mean(0), mean(32)})
		return nil
	})
	if err != nil {
		t.Fatalf("decode composite: %v", err)
	}
	return out
}

func TestRecording(t *testing.T) {
	h := &hooks{}
	ts, dir := recordingServer(t, h, nil)
	a := join(t, ts, "rec1", "agent1", "agent", nil, nil)
	c := join(t, ts, "rec1", "cust1", "customer", nil, nil)
	a.publish(t, palette[0], true, true) // red, 300 Hz, VP8
	c.publish(t, palette[2], true, true) // blue, 700 Hz, H.264
	checkMedia(t, a, c.ID(), palette[2], true, false)
	time.Sleep(4 * time.Second)
	// Camera off for a while: the recording shows the placeholder there.
	if _, err := c.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "video", Muted: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if _, err := c.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "video", Muted: false}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if _, err := a.Request(ctx(t), signaling.TRecord, signaling.RecordReq{Action: "stop"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the composite, both participants and the markers to be finalised", func() bool {
		return len(h.kind("composite")) == 1 && len(h.kind("participant")) == 2 && len(h.kind("markers")) == 1
	})
	comp := h.kind("composite")[0]
	if want := filepath.Join(dir, "rec1", "rec1_001.mp4"); comp.Path != want {
		t.Fatalf("composite at %s, want %s", comp.Path, want)
	}
	b, err := os.ReadFile(comp.Path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != comp.SHA256 || int64(len(b)) != comp.Size {
		t.Fatal("hook sha256/size do not match the file")
	}
	if os.Getenv("KEEP") != "" {
		_ = exec.Command("cp", "-r", dir, filepath.Join("/tmp/keep", filepath.Base(filepath.Dir(dir)))).Run()
	}
	frames := compositeFrames(t, comp.Path)
	both, placeholder := 0, 0
	for _, f := range frames {
		if colourClose(f.left, palette[0].RGB) && colourClose(f.right, palette[2].RGB) {
			both++
		}
		if colourClose(f.left, palette[0].RGB) && near(f.right, [3]uint8{0x30, 0x30, 0x30}, 12) {
			placeholder++
		}
	}
	t.Logf("composite %s: %d frames, %d with agent red | customer blue, %d with the camera-off placeholder", comp.Path, len(frames), both, placeholder)
	if both < 45 { // 3 s at 15 fps
		t.Errorf("only %d frames show both parties", both)
	}
	if placeholder < 15 {
		t.Errorf("camera off: only %d frames show the placeholder", placeholder)
	}
	// Both voices are in the mix, for most of its length.
	voicesIn(t, comp.Path, 300, 700)
	if got := len(h.kind("participant")); got < 2 {
		t.Errorf("%d per-participant files, want agent and customer", got)
	}
	// Each participant's own file has its voice only.
	for _, p := range h.kind("participant") {
		switch name := filepath.Base(p.Path); {
		case strings.HasPrefix(name, "agent1_"):
			voicesIn(t, p.Path, 300)
		case strings.HasPrefix(name, "cust1_"):
			voicesIn(t, p.Path, 700)
		default:
			t.Errorf("per-participant file of nobody: %s", p.Path)
		}
	}
	if got := len(h.kind("screenshot")); got < 3 {
		t.Errorf("%d screenshots, want one a second", got)
	}
	mk := h.kind("markers")
	if len(mk) != 1 {
		t.Fatalf("markers files: %d", len(mk))
	}
	mb, _ := os.ReadFile(mk[0].Path)
	if !strings.Contains(string(mb), "participant.muted") {
		t.Errorf("markers lack the camera-off: %s", mb)
	}
	// Segments: a new start makes a second file.
	if _, err := a.Request(ctx(t), signaling.TRecord, signaling.RecordReq{Action: "start"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	a.Close()
	c.Close()
	waitFor(t, 60*time.Second, "segment 2", func() bool { return len(h.kind("composite")) == 2 })
	if p := h.kind("composite")[1].Path; !strings.HasSuffix(p, "rec1_002.mp4") {
		t.Errorf("second segment at %s", p)
	}
	waitFor(t, 10*time.Second, "the session record", func() bool {
		_, err := os.Stat(filepath.Join(dir, "rec1", "session.json"))
		return err == nil
	})
	var rec struct {
		Events []signaling.RoomEvent `json:"events"`
	}
	sb, _ := os.ReadFile(filepath.Join(dir, "rec1", "session.json"))
	if err := json.Unmarshal(sb, &rec); err != nil || len(rec.Events) < 5 {
		t.Fatalf("session record: %v, %d events", err, len(rec.Events))
	}
}

// tonesIn decodes a file's audio and reports, per palette tone and per
// 100 ms window, whether that tone is present (amplitude ≥ 0.01 and
// within 13 dB of the window's strongest palette tone), and the sample
// count.
//
// Per window, not one Goertzel over the whole file: that sums the tone's
// phasors coherently, and a voice the mixer re-syncs by a few
// milliseconds (normal on a loaded machine) changes phase, so the parts
// can cancel. A voice recorded at -21 dB for the whole call was read as
// absent that way (a flaky "missing voice" in CI; the file was fine).
// Palette tones are multiples of 100 Hz: whole cycles in each window, so
// they do not leak into each other.
func tonesIn(t *testing.T, path string) (map[float64][]bool, int) {
	t.Helper()
	var samples []float64
	rate := 48000
	_, err := av.Decode(context.Background(), path, av.Options{Audio: true}, func(it *av.Item) error {
		if a := it.Audio; a != nil {
			rate = a.SampleRate
			for i := 0; i < len(a.F32); i += a.Channels {
				samples = append(samples, float64(a.F32[i]))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	win := rate / 10
	out := map[float64][]bool{}
	for i := 0; i+win <= len(samples); i += win {
		amp := map[float64]float64{}
		top := 0.0
		for _, s := range palette {
			a := 2 * math.Sqrt(max(goertzel(samples[i:i+win], rate, s.Freq), 0)) / float64(win)
			amp[s.Freq] = a
			top = max(top, a)
		}
		for f, a := range amp {
			out[f] = append(out[f], a >= 0.01 && a >= top/math.Sqrt(20))
		}
	}
	return out, len(samples)
}

// voicesIn fails t unless each of want, from the window where it first
// appears to the end, is present in at least 80 % of the windows and for
// 2 s or more (a participant may join after the recording starts; a voice
// that drops out is what this catches), and no other palette tone is in
// more than 5 % of all windows.
func voicesIn(t *testing.T, path string, want ...float64) {
	t.Helper()
	tones, n := tonesIn(t, path)
	if n < 48000 {
		t.Errorf("%s: %d audio samples", path, n)
		return
	}
	var got []string
	for _, s := range palette {
		w := tones[s.Freq]
		first := slices.Index(w, true)
		on := 0
		for _, x := range w {
			if x {
				on++
			}
		}
		if !slices.Contains(want, s.Freq) {
			if float64(on) > 0.05*float64(len(w)) {
				t.Errorf("%s: %.0f Hz (nobody's voice) in %d of %d windows", path, s.Freq, on, len(w))
			}
			continue
		}
		got = append(got, fmt.Sprintf("%.0f Hz from %.1f s in %d of %d windows", s.Freq, float64(max(first, 0))/10, on, len(w)-max(first, 0)))
		if first < 0 || on < 20 || float64(on) < 0.8*float64(len(w)-first) {
			t.Errorf("%s: %.0f Hz present in %d windows of 100 ms from window %d of %d; want it throughout from its start", path, s.Freq, on, first, len(w))
		}
	}
	t.Logf("%s: voices %s", path, strings.Join(got, "; "))
}
