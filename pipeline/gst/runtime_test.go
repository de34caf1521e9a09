package gst

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// twoPads is a 160x120 canvas: red full frame on sink_0, a blue 80x120 box at
// the left on sink_1. Where blue sits tells which properties took effect.
func twoPads(live bool, frames int) string {
	l := "false"
	if live {
		l = "true"
	}
	return "compositor name=mix background=black sink_0::zorder=1 sink_1::zorder=2 sink_1::width=80 sink_1::height=120 ! " +
		"video/x-raw,width=160,height=120,framerate=25/1 ! videoconvert ! video/x-raw,format=RGB ! appsink name=out sync=false " +
		"videotestsrc is-live=" + l + " pattern=red num-buffers=" + strconv.Itoa(frames) + " ! video/x-raw,width=160,height=120,framerate=25/1 ! mix.sink_0 " +
		"videotestsrc is-live=" + l + " pattern=blue num-buffers=" + strconv.Itoa(frames) + " ! video/x-raw,width=80,height=120,framerate=25/1 ! mix.sink_1 "
}

func isBlue(f *pipeline.VideoFrame, x, y int) bool {
	r, g, b := f.RGBAt(x, y)
	return b > 200 && r < 40 && g < 40
}

func isRed(f *pipeline.VideoFrame, x, y int) bool {
	r, g, b := f.RGBAt(x, y)
	return r > 200 && b < 40 && g < 40
}

// runCollect starts p, pulls every frame from appsink "out" until EOS or
// until stopAfter elapses (then Stop), calling during(elapsed) from this
// goroutine (the owner) every 20 ms.
func runCollect(t *testing.T, p *Pipeline, stopAfter time.Duration, during func(time.Duration)) []*pipeline.VideoFrame {
	t.Helper()
	ctx := testCtx(t)
	sink, err := p.Sink("out")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*pipeline.VideoFrame
	done := make(chan error, 1)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		done <- sink.Run(ctx, func(pk pipeline.Packet) {
			mu.Lock()
			got = append(got, pk.Video)
			mu.Unlock()
		})
	}()
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			break loop
		case <-tick.C:
			el := time.Since(start)
			if stopAfter > 0 && el > stopAfter {
				if err := p.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
					t.Fatal(err)
				}
				break loop
			}
			if during != nil {
				during(el)
			}
		}
	}
	_ = p.Stop(ctx)
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestSetPadPropertiesBeforeStart(t *testing.T) {
	p, err := NewFromLaunch(t.Name(), twoPads(false, 5), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetPadProperties("mix", "sink_1", Prop{"xpos", 80}, Prop{"alpha", 1.0}); err != nil {
		t.Fatal(err)
	}
	got := runCollect(t, p, 0, nil)
	if len(got) != 5 {
		t.Fatalf("%d frames", len(got))
	}
	for i, f := range got {
		if !isRed(f, 20, 60) || !isBlue(f, 140, 60) {
			t.Fatalf("frame %d: blue box did not move to the right", i)
		}
	}
}

func TestSetPropertiesErrors(t *testing.T) {
	p, err := NewFromLaunch(t.Name(), twoPads(false, 1), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tc := range []struct {
		err  error
		call func() error
	}{
		{ErrProperty, func() error { return p.SetPadProperties("mix", "sink_1", Prop{"nosuch", 1}) }},
		{ErrProperty, func() error { return p.SetPadProperties("mix", "sink_1", Prop{"xpos", "left"}) }},
		{ErrProperty, func() error { return p.SetProperties("mix", Prop{"name", 3}, Prop{"latency", "x"}) }},
		{ErrNoElement, func() error { return p.SetPadProperties("mix", "sink_9", Prop{"xpos", 1}) }},
		{ErrNoElement, func() error { return p.SetProperties("nosuch", Prop{"xpos", 1}) }},
		{ErrProperty, func() error { return p.Schedule("mix", "sink_1", "nosuch", Step, []Keyframe{{0, 1}}) }},
		{ErrProperty, func() error { return p.Schedule("mix", "", "latency", Step, []Keyframe{{0, 1}}) }}, // not controllable
		{ErrProperty, func() error { return p.Schedule("mix", "sink_1", "xpos", Step, nil) }},
	} {
		if err := tc.call(); !errors.Is(err, tc.err) {
			t.Errorf("got %v, want %v", err, tc.err)
		}
	}
	// Enum by nick works as in gst-launch.
	if err := p.SetPadProperties("mix", "sink_1", Prop{"sizing-policy", "keep-aspect-ratio"}); err != nil {
		t.Fatal(err)
	}
}

// TestSetPadPropertiesWhileRunning moves the blue box from the owner
// goroutine while a live pipeline runs; frames before show it left, frames
// after show it right, and the position query advances.
func TestSetPadPropertiesWhileRunning(t *testing.T) {
	p, err := NewFromLaunch(t.Name(), twoPads(true, -1), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	moved := false
	var pos time.Duration
	// Stop 2 s after the switch, not sooner: on a loaded machine the live
	// pipeline may still be delivering frames composed before the change.
	got := runCollect(t, p, 2500*time.Millisecond, func(el time.Duration) {
		if !moved && el > 500*time.Millisecond {
			if err := p.SetPadProperties("mix", "sink_1", Prop{"xpos", 80}); err != nil {
				t.Error(err)
			}
			moved = true
			pos, _ = p.Position("mix")
		}
	})
	if len(got) < 15 {
		t.Fatalf("%d frames", len(got))
	}
	if !isBlue(got[2], 20, 60) || !isRed(got[2], 140, 60) {
		t.Fatal("early frame: blue box not at the left")
	}
	// Only the blue box is checked at the end: at EOS the red source may
	// end a frame before the blue one, leaving the left side black.
	last := got[len(got)-1]
	if isBlue(last, 20, 60) || !isBlue(last, 140, 60) {
		var sides []byte
		for _, f := range got {
			sides = append(sides, map[bool]byte{true: 'L', false: 'R'}[isBlue(f, 20, 60)])
		}
		t.Fatalf("last frame: blue box not moved to the right (%d frames, sides %s, pts %v..%v)", len(got), sides, got[0].PTS, last.PTS)
	}
	if pos < 200*time.Millisecond || pos > 2*time.Second {
		t.Fatalf("position at the switch %v, want about 0.5s", pos)
	}
}
