package mixer

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test media is generated once per test binary with the ffmpeg CLI: a
// solid colour per role and a distinct tone per role, so every output pixel
// and every spectral peak can be traced back to its source.
var (
	mediaOnce sync.Once
	mediaDir  string
	mediaErr  error
)

// clipSpec describes one generated clip.
type clipSpec struct {
	color    string
	w, h     int
	fps      int
	freq     int // 0: no audio
	secs     float64
	tsOffset float64 // container start time (edit list)
}

// colours of the generated sources, as RGB.
var rgb = map[string][3]int{"red": {255, 0, 0}, "blue": {0, 0, 255}, "lime": {0, 255, 0}, "yellow": {255, 255, 0}, "white": {255, 255, 255}}

var clips = map[string]clipSpec{
	"agent":    {color: "red", w: 320, h: 240, fps: 25, freq: 440, secs: 2},
	"customer": {color: "blue", w: 640, h: 360, fps: 15, freq: 660, secs: 2},
	"screen":   {color: "lime", w: 400, h: 300, fps: 10, freq: 880, secs: 2},
	"guest":    {color: "yellow", w: 320, h: 180, fps: 30, freq: 1100, secs: 2},
	"short":    {color: "blue", w: 320, h: 180, fps: 25, freq: 660, secs: 1},
	"late":     {color: "blue", w: 320, h: 180, fps: 25, freq: 660, secs: 1, tsOffset: 1},
	"mute":     {color: "white", w: 320, h: 240, fps: 25, secs: 2},
}

func ffmpeg(args ...string) error {
	cmd := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func makeMedia() {
	mediaDir, mediaErr = os.MkdirTemp("", "mixer-test-")
	if mediaErr != nil {
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, c := range clips {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(mediaDir, name+".mp4")
			args := []string{"-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:s=%dx%d:r=%d:d=%g", c.color, c.w, c.h, c.fps, c.secs)}
			if c.freq > 0 {
				args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000:d=%g", c.freq, c.secs))
			}
			args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
			if c.freq > 0 {
				args = append(args, "-c:a", "aac", "-b:a", "128k")
			}
			if c.tsOffset > 0 {
				args = append(args, "-output_ts_offset", fmt.Sprint(c.tsOffset))
			}
			if err := ffmpeg(append(args, out)...); err != nil {
				mu.Lock()
				mediaErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// clip returns the path of a generated clip (skips without ffmpeg).
func clip(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed; it generates the test media")
	}
	mediaOnce.Do(makeMedia)
	if mediaErr != nil {
		t.Fatal(mediaErr)
	}
	return filepath.Join(mediaDir, name+".mp4")
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childRecord())
	}
	code := m.Run()
	if mediaDir != "" {
		os.RemoveAll(mediaDir)
	}
	os.Exit(code)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// frame is one decoded RGB picture.
type frame struct {
	w, h int
	pix  []byte
}

func (f frame) at(x, y int) [3]int {
	i := 3 * (y*f.w + x)
	return [3]int{int(f.pix[i]), int(f.pix[i+1]), int(f.pix[i+2])}
}

// near says whether a pixel is within tol of a colour on every channel
// (H.264 and YUV conversion move pure colours by a few steps).
func near(p, c [3]int, tol int) bool {
	for i := range 3 {
		if abs(p[i]-c[i]) > tol {
			return false
		}
	}
	return true
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// frameAt decodes the frame shown at time at.
func frameAt(t *testing.T, path string, at time.Duration) frame {
	t.Helper()
	w, h := videoSize(t, path)
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ss", fmt.Sprintf("%.3f", at.Seconds()), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil || len(out) != w*h*3 {
		t.Fatalf("decode %s at %v: %v (%d bytes) %s", path, at, err, len(out), errb.String())
	}
	return frame{w, h, out}
}

func ffprobe(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", append([]string{"-v", "error"}, append(args, path)...)...).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

func videoSize(t *testing.T, path string) (int, int) {
	t.Helper()
	s := ffprobe(t, path, "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0")
	var w, h int
	if _, err := fmt.Sscanf(s, "%d,%d", &w, &h); err != nil {
		t.Fatalf("size of %s: %q", path, s)
	}
	return w, h
}

// decodeAll decodes a file with ffmpeg -v error and returns the stderr and
// the PTS of every video frame (seconds).
func decodeAll(t *testing.T, path string) (string, []float64) {
	t.Helper()
	var errb bytes.Buffer
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &errb
	_ = cmd.Run()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe frames of %s: %v", path, err)
	}
	var pts []float64
	for _, l := range strings.Fields(string(out)) {
		if v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64); err == nil {
			pts = append(pts, v)
		}
	}
	return errb.String(), pts
}

// audio decodes the left channel of the first audio track as float32 at
// 48 kHz from start for dur (no downmix, so levels are as recorded).
func audio(t *testing.T, path string, start, dur time.Duration) []float32 {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ss", fmt.Sprintf("%.3f", start.Seconds()), "-t", fmt.Sprintf("%.3f", dur.Seconds()),
		"-map", "0:a:0", "-af", "pan=mono|c0=c0", "-ar", "48000", "-f", "f32le", "-")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("decode audio of %s: %v", path, err)
	}
	s := make([]float32, len(out)/4)
	for i := range s {
		s[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return s
}

// goertzel returns the amplitude of freq in samples (a full-scale sine of
// amplitude A gives about A).
func goertzel(s []float32, rate, freq float64) float64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	k := math.Round(float64(n) * freq / rate)
	w := 2 * math.Pi * k / float64(n)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for i, v := range s {
		// Hann window: other tones' leakage stays far below the checks.
		win := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		s0 := float64(v)*win + c*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / (float64(n) * 0.5)
}
