package mixer

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// pauseRGB is the pause card's colour (pauseColor) as RGB.
var pauseRGB = [3]int{0x10, 0x20, 0x40}

// isPauseCard says whether f shows the pause card: its colour away from
// the centre, light text pixels on the centre row.
func isPauseCard(f frame) bool {
	if !near(f.at(f.w/10, f.h/5), pauseRGB, 30) || !near(f.at(f.w*9/10, f.h*4/5), pauseRGB, 30) {
		return false
	}
	light := 0
	for x := 0; x < f.w; x++ {
		if p := f.at(x, f.h/2); p[0] > 150 && p[1] > 150 && p[2] > 150 {
			light++
		}
	}
	return light >= 3
}

func rms(s []float32) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / math.Max(float64(len(s)), 1))
}

type pauseData struct {
	Start    int64 `json:"start_ns"`
	Duration int64 `json:"duration_ns"`
	End      int64 `json:"end_ns"`
}

func checkMarker(t *testing.T, ev pipeline.Event, at, dur, tol time.Duration) {
	t.Helper()
	var d pauseData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatal(err)
	}
	if ev.Kind != KindPaused || ev.Validate() != nil {
		t.Fatalf("marker %+v", ev)
	}
	if diff := ev.MediaTime - at; diff < -tol || diff > tol || time.Duration(d.Start) != ev.MediaTime {
		t.Errorf("pause starts at %v (data %v), want %v", ev.MediaTime, time.Duration(d.Start), at)
	}
	if diff := time.Duration(d.Duration) - dur; diff < -tol || diff > tol || d.End != d.Start+d.Duration {
		t.Errorf("pause lasts %v (end %v), want %v", time.Duration(d.Duration), time.Duration(d.End), dur)
	}
}

// TestScheduledPause pauses an offline mix from 0.8 s for 0.6 s: one file
// that decodes cleanly with continuous 40 ms timestamps, the pause card and
// silence inside the interval, the sources and their tones around it, and
// the marker returned and written next to the output.
func TestScheduledPause(t *testing.T) {
	side, _ := Builtin("side-by-side")
	side.Labels = false
	out := filepath.Join(t.TempDir(), "paused.mp4")
	at, dur := 800*time.Millisecond, 600*time.Millisecond
	m := mixFiles(t, side, 320, 180, out, func(c *Config) {
		c.Pauses = []Pause{{At: at, Duration: dur}}
	})
	pts := checkContinuous(t, out, 48)
	if pts[0] != 0 || pts[len(pts)-1] < 1.9 {
		t.Errorf("timeline %.3f..%.3f s, want 0..2 s", pts[0], pts[len(pts)-1])
	}
	for _, tc := range []struct {
		at    time.Duration
		pause bool
	}{{400 * time.Millisecond, false}, {900 * time.Millisecond, true}, {1300 * time.Millisecond, true}, {1700 * time.Millisecond, false}} {
		f := frameAt(t, out, tc.at)
		if got := isPauseCard(f); got != tc.pause {
			t.Errorf("at %v: pause card shown %v, want %v (pixel %v)", tc.at, got, tc.pause, f.at(f.w/10, f.h/5))
		}
		if !tc.pause && (!near(f.at(80, 90), rgb["red"], 48) || !near(f.at(240, 90), rgb["blue"], 48)) {
			t.Errorf("at %v: sources not shown around the pause", tc.at)
		}
	}
	// Audio: silent inside (away from the edges: AAC frames are 21 ms),
	// both tones before and after.
	if r := rms(audio(t, out, at+100*time.Millisecond, dur-200*time.Millisecond)); r > 0.002 {
		t.Errorf("audio RMS %.4f during the pause, want silence", r)
	}
	for _, span := range [][2]time.Duration{{200 * time.Millisecond, 500 * time.Millisecond}, {1500 * time.Millisecond, 400 * time.Millisecond}} {
		s := audio(t, out, span[0], span[1])
		if a, c := goertzel(s, 48000, 440), goertzel(s, 48000, 660); a < 0.1 || c < 0.1 {
			t.Errorf("audio at %v: tones %.3f / %.3f, want both", span[0], a, c)
		}
	}
	mk := m.Markers()
	if len(mk) != 1 {
		t.Fatalf("%d markers", len(mk))
	}
	checkMarker(t, mk[0], at, dur, 0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(out), "paused.markers.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file []pipeline.Event
	if err := json.Unmarshal(data, &file); err != nil || len(file) != 1 {
		t.Fatalf("markers file: %v %s", err, data)
	}
	checkMarker(t, file[0], at, dur, 0)
}

// TestLivePause pauses and resumes a live mix from the owner goroutine.
func TestLivePause(t *testing.T) {
	ctx := testCtx(t)
	side, _ := Builtin("side-by-side")
	side.Labels = false
	out := filepath.Join(t.TempDir(), "live-pause.mp4")
	m, err := New(Config{
		Layout: side,
		Inputs: []Input{
			{Role: "agent", Test: &TestSource{Pattern: "red", Freq: 440, Live: true}},
			{Role: "customer", Test: &TestSource{Pattern: "blue", Freq: 660, Live: true}},
		},
		Output: Output{Path: out, Width: 320, Height: 180, FPS: 25, Preset: "ultrafast", LowLatency: true},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Resume(); !errors.Is(err, ErrState) {
		t.Fatalf("resume before pause: %v", err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1000 * time.Millisecond)
	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := m.Pause(); !errors.Is(err, ErrState) {
		t.Fatalf("second pause: %v", err)
	}
	time.Sleep(1200 * time.Millisecond)
	ev, err := m.Resume()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1000 * time.Millisecond)
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Live timing: the position query and the sleeps agree within a few
	// frames, under load within a few hundred ms.
	checkMarker(t, ev, time.Second, 1200*time.Millisecond, 300*time.Millisecond)
	checkContinuous(t, out, 70)
	var d pauseData
	_ = json.Unmarshal(ev.Data, &d)
	start, end := time.Duration(d.Start), time.Duration(d.End)
	if f := frameAt(t, out, (start+end)/2); !isPauseCard(f) {
		t.Errorf("no pause card in the middle of the pause (%v)", (start+end)/2)
	}
	if f := frameAt(t, out, start-300*time.Millisecond); isPauseCard(f) || !near(f.at(80, 90), rgb["red"], 48) {
		t.Errorf("pause card or no source before the pause")
	}
	if f := frameAt(t, out, end+400*time.Millisecond); isPauseCard(f) || !near(f.at(240, 90), rgb["blue"], 48) {
		t.Errorf("pause card or no source after the pause")
	}
	if r := rms(audio(t, out, start+200*time.Millisecond, end-start-400*time.Millisecond)); r > 0.002 {
		t.Errorf("audio RMS %.4f during the pause, want silence", r)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "live-pause.markers.json")); err != nil {
		t.Error(err)
	}
}

func TestBadPauses(t *testing.T) {
	side, _ := Builtin("side-by-side")
	for _, ps := range [][]Pause{
		{{At: time.Second, Duration: 0}},
		{{At: -time.Second, Duration: time.Second}},
		{{At: 1500 * time.Millisecond, Duration: time.Second}}, // past the 2 s output
		{{At: 200 * time.Millisecond, Duration: 500 * time.Millisecond}, {At: 600 * time.Millisecond, Duration: 100 * time.Millisecond}},
	} {
		cfg := Config{Layout: side, Pauses: ps, Output: Output{Path: filepath.Join(t.TempDir(), "x.mp4")}}
		for _, r := range side.Roles() {
			cfg.Inputs = append(cfg.Inputs, Input{Role: r, Path: clip(t, r)})
		}
		if _, err := New(cfg, nil); !errors.Is(err, ErrOutput) {
			t.Errorf("pauses %v: %v, want ErrOutput", ps, err)
		}
	}
}
