package signaling_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
		_ = exec.Command("cp", "-r", dir, "/tmp/keep").Run()
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
	// Both voices are in the mix.
	if f, n := toneFreqs(t, comp.Path); n < 48000 || !(f[300] && f[700]) {
		t.Errorf("composite audio: tones %v over %d samples, want 300 and 700 Hz", f, n)
	}
	if got := len(h.kind("participant")); got < 2 {
		t.Errorf("%d per-participant files, want agent and customer", got)
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

// toneFreqs reports which of the palette's tones are present in a file
// (Goertzel power well above the others').
func toneFreqs(t *testing.T, path string) (map[float64]bool, int) {
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
	out := map[float64]bool{}
	power := map[float64]float64{}
	maxP := 0.0
	for _, s := range palette {
		p := goertzel(samples, rate, s.Freq)
		power[s.Freq] = p
		maxP = max(maxP, p)
	}
	for f, p := range power {
		out[f] = p > maxP/20
	}
	return out, len(samples)
}
