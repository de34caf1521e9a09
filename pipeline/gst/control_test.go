package gst

import (
	"testing"
	"time"
)

// TestScheduleStepAtMediaTime switches a pad property at an exact media time
// in a pipeline running as fast as it can (no clock): frame-accurate.
func TestScheduleStepAtMediaTime(t *testing.T) {
	p, err := NewFromLaunch(t.Name(), twoPads(false, 25), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Schedule("mix", "sink_1", "xpos", Step, []Keyframe{{500 * time.Millisecond, 80}, {0, 0}}); err != nil {
		t.Fatal(err)
	}
	got := runCollect(t, p, 0, nil)
	if len(got) != 25 {
		t.Fatalf("%d frames", len(got))
	}
	for i, f := range got {
		left := f.PTS < 500*time.Millisecond
		if left != isBlue(f, 20, 60) || left == isBlue(f, 140, 60) {
			t.Fatalf("frame %d at %v: blue box on the wrong side", i, f.PTS)
		}
	}
}
