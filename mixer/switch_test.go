package mixer

import (
	"math"
	"path/filepath"
	"testing"
	"time"
)

// checkContinuous asserts one playable file: ffmpeg decodes it without a
// complaint and the video PTS advance by one frame (40 ms at 25 fps) with
// no gap or step back.
func checkContinuous(t *testing.T, path string, minFrames int) []float64 {
	t.Helper()
	stderr, pts := decodeAll(t, path)
	if stderr != "" {
		t.Errorf("ffmpeg -v error complained:\n%s", stderr)
	}
	if len(pts) < minFrames {
		t.Fatalf("%d frames, want at least %d", len(pts), minFrames)
	}
	for i := 1; i < len(pts); i++ {
		if d := pts[i] - pts[i-1]; math.Abs(d-0.04) > 0.002 {
			t.Fatalf("PTS jump %.3f -> %.3f at frame %d", pts[i-1], pts[i], i)
		}
	}
	return pts
}

// sideThenPip checks a frame in the side-by-side layout (agent red left,
// customer blue right) or in the pip layout (customer blue full frame,
// agent red in the bottom-right window).
func sideThenPip(t *testing.T, path string, at time.Duration, pip bool) {
	t.Helper()
	f := frameAt(t, path, at)
	red, blue := rgb["red"], rgb["blue"]
	type probe struct {
		x, y int
		want [3]int
	}
	probes := []probe{{80, 90, red}, {240, 90, blue}}
	if pip {
		// pip on 320x180: agent 80x44 at (236,132) (margin 0.03*180 ≈ 6).
		probes = []probe{{80, 90, blue}, {160, 40, blue}, {276, 154, red}}
	}
	for _, p := range probes {
		if got := f.at(p.x, p.y); !near(got, p.want, 48) {
			t.Errorf("at %v (pip=%v): pixel (%d,%d) = %v, want %v", at, pip, p.x, p.y, got, p.want)
		}
	}
}

// TestScheduledLayoutSwitch switches side-by-side → pip at exactly 1 s in
// an offline mix: one file, continuous timestamps, each layout on the
// right side of the switch.
func TestScheduledLayoutSwitch(t *testing.T) {
	side, _ := Builtin("side-by-side")
	pip, _ := Builtin("pip")
	side.Labels, pip.Labels = false, false
	out := filepath.Join(t.TempDir(), "switch.mp4")
	mixFiles(t, side, 320, 180, out, func(c *Config) {
		c.Switches = []Switch{{At: time.Second, Layout: pip}}
	})
	checkContinuous(t, out, 50)
	sideThenPip(t, out, 920*time.Millisecond, false)
	sideThenPip(t, out, 1000*time.Millisecond, true)
	sideThenPip(t, out, 1800*time.Millisecond, true)
}

// TestLiveLayoutSwitch records live test sources and switches the layout
// from this (owner) goroutine while recording.
func TestLiveLayoutSwitch(t *testing.T) {
	ctx := testCtx(t)
	side, _ := Builtin("side-by-side")
	pip, _ := Builtin("pip")
	side.Labels, pip.Labels = false, false
	out := filepath.Join(t.TempDir(), "live.mp4")
	m, err := New(Config{
		Layout: side, Alternates: []*Layout{pip},
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
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if err := m.SwitchLayout(pip); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	pts := checkContinuous(t, out, 40)
	last := time.Duration(pts[len(pts)-1] * float64(time.Second))
	sideThenPip(t, out, 500*time.Millisecond, false)
	sideThenPip(t, out, last-300*time.Millisecond, true)
	if err := m.SwitchLayout(&Layout{Name: "x", Slots: []Slot{{Role: "nobody"}}}); err == nil {
		t.Fatal("switch to an unknown role accepted")
	}
}
