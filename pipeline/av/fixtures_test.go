package av

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Test media is generated with the ffmpeg CLI on first use and shared by
// the tests of one run (generation dominates the run time).
var (
	fixtureDir  string
	fixtureMu   sync.Mutex
	fixtureDone = map[string]error{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "witness-av-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The A/V fixtures: a red 320x240 picture at 25 fps with a 440 Hz tone.
const (
	fixW, fixH = 320, 240
	fixFPS     = 25
	fixSeconds = 2
	fixRate    = 48000
	fixTone    = 440.0
)

var redTone = []string{
	"-f", "lavfi", "-i", fmt.Sprintf("color=c=red:s=%dx%d:r=%d", fixW, fixH, fixFPS),
	"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=%d", fixTone, fixRate),
	"-t", fmt.Sprint(fixSeconds),
}

// quadrants: red picture whose bottom-right quarter is blue, so tests can
// tell rows from columns and catch stride mistakes.
func quadrants(extraFilter string) []string {
	return []string{
		"-f", "lavfi", "-i", fmt.Sprintf("color=c=red:s=%dx%d:r=%d", fixW, fixH, fixFPS),
		"-f", "lavfi", "-i", fmt.Sprintf("color=c=blue:s=%dx%d:r=%d", fixW/2, fixH/2, fixFPS),
		"-filter_complex", fmt.Sprintf("[0][1]overlay=x=%d:y=%d:shortest=1%s", fixW/2, fixH/2, extraFilter),
		"-t", "1",
	}
}

// stereo: left channel 440 Hz, right 1000 Hz, to catch interleaving bugs.
var stereo = []string{
	"-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*440*t)|0.5*sin(2*PI*1000*t):s=48000:d=1",
}

var x264 = []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}

// x264B uses B-frames, so decode order differs from presentation order.
var x264B = []string{"-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-pix_fmt", "yuv420p"}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// recipes are ffmpeg arguments (before the output name) per fixture.
var recipes = map[string][]string{
	"av.mp4":   concat(redTone, x264B, []string{"-c:a", "aac", "-movflags", "+faststart"}),
	"av.mkv":   concat(redTone, x264B, []string{"-c:a", "aac"}),
	"av.webm":  concat(redTone, []string{"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k", "-c:a", "libopus"}),
	"av.ts":    concat(redTone, x264, []string{"-c:a", "aac"}),
	"quad.mp4": concat(quadrants(""), x264),
	// BT.709 full range, as phones record: colour conversion must honour it.
	"quad709full.mp4": concat(quadrants(",scale=out_color_matrix=bt709:out_range=pc"),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_range", "pc"}),
	"stereo.mp4":     concat(stereo, []string{"-c:a", "aac", "-b:a", "192k"}),
	"stereo_u8.wav":  concat(stereo, []string{"-c:a", "pcm_u8"}),
	"stereo_s16.wav": concat(stereo, []string{"-c:a", "pcm_s16le"}),
	"stereo_s32.wav": concat(stereo, []string{"-c:a", "pcm_s32le"}),
	"stereo_f64.wav": concat(stereo, []string{"-c:a", "pcm_f64le"}),
	"bench.mp4": {"-f", "lavfi", "-i", "testsrc2=s=640x360:r=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"},
}

// needFFmpeg skips the test when the ffmpeg CLI (used to make test media) is
// missing; the package itself only needs the FFmpeg libraries.
func needFFmpeg(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		tb.Skip("ffmpeg CLI not installed; it generates the test media")
	}
}

// fixture returns the path of a generated file.
func fixture(tb testing.TB, name string) string {
	tb.Helper()
	needFFmpeg(tb)
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	path := filepath.Join(fixtureDir, name)
	err, done := fixtureDone[name]
	if !done {
		args, ok := recipes[name]
		if !ok {
			tb.Fatalf("no recipe for fixture %s", name)
		}
		err = ffmpeg(append(args, path)...)
		fixtureDone[name] = err
	}
	if err != nil {
		tb.Fatalf("making %s: %v", name, err)
	}
	return path
}

func ffmpeg(args ...string) error {
	cmd := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y", "-threads", "1"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ffmpeg %v: %v: %s", args, err, stderr.String())
	}
	return nil
}

// truncated writes the first frac of src's bytes to a new file in dir.
func truncated(tb testing.TB, src string, frac float64) string {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tb.TempDir(), "trunc-"+filepath.Base(src))
	if err := os.WriteFile(out, b[:int(float64(len(b))*frac)], 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}

// decodeAll decodes path and returns the items and final stats.
func decodeAll(tb testing.TB, path string, opts Options) ([]*Item, *Stats) {
	tb.Helper()
	d, err := Open(path, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	defer d.Close()
	var items []*Item
	for {
		it, err := d.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				tb.Fatalf("Next: %v", err)
			}
			break
		}
		items = append(items, it)
	}
	return items, d.Stats()
}

// toneFrequency measures the dominant frequency of x (sampled at rate) from
// its zero crossings, skipping the first 100 ms (codec priming).
func toneFrequency(x []float32, rate int) float64 {
	skip := rate / 10
	if len(x) <= skip*2 {
		return 0
	}
	x = x[skip:]
	first, last, n := -1, -1, 0
	for i := 1; i < len(x); i++ {
		if (x[i-1] < 0) != (x[i] < 0) {
			if first < 0 {
				first = i
			}
			last = i
			n++
		}
	}
	if n < 2 {
		return 0
	}
	// n-1 half periods between the first and last crossing.
	return float64(n-1) / 2 / (float64(last-first) / float64(rate))
}

// goertzel returns the power of frequency f in x relative to x's energy
// (1 for a pure tone at f, near 0 for other tones).
func goertzel(x []float32, rate int, f float64) float64 {
	w := 2 * math.Pi * f / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, v := range x {
		s := float64(v) + c*s1 - s2
		s2, s1 = s1, s
		energy += float64(v) * float64(v)
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	if energy == 0 {
		return 0
	}
	return p / (energy * float64(len(x)) / 2)
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
