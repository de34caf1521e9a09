package gst

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// collect runs a pipeline with one appsink called "out" to EOS and returns the frames.
func collect(t *testing.T, desc string) []pipeline.Packet {
	t.Helper()
	ctx := testCtx(t)
	p, err := NewFromLaunch(t.Name(), desc, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sink, err := p.Sink("out")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var got []pipeline.Packet
	if err := sink.Run(ctx, func(pk pipeline.Packet) { got = append(got, pk) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestVideoSinkDeliversGeneratedColours(t *testing.T) {
	for _, tc := range []struct {
		format string
		w, h   int
	}{
		{"RGBA", 64, 48},
		{"RGB", 33, 17}, // odd width: GStreamer pads rows to 4 bytes
		{"I420", 35, 21},
		{"GRAY8", 31, 9},
	} {
		t.Run(tc.format, func(t *testing.T) {
			desc := "videotestsrc pattern=red num-buffers=10 ! video/x-raw,width=" + strconv.Itoa(tc.w) + ",height=" + strconv.Itoa(tc.h) +
				",framerate=25/1 ! videoconvert ! video/x-raw,format=" + tc.format + " ! appsink name=out sync=false"
			got := collect(t, desc)
			if len(got) != 10 {
				t.Fatalf("got %d frames, want 10", len(got))
			}
			for i, pk := range got {
				f := pk.Video
				if f == nil || f.Width != tc.w || f.Height != tc.h || string(f.Format) != tc.format {
					t.Fatalf("frame %d: %+v", i, f)
				}
				if want := time.Duration(i) * 40 * time.Millisecond; f.PTS != want || f.Duration != 40*time.Millisecond {
					t.Fatalf("frame %d pts %v dur %v, want %v", i, f.PTS, f.Duration, want)
				}
				r, g, b := f.RGBAt(tc.w-1, tc.h-1) // last pixel catches stride mistakes
				if tc.format == "GRAY8" {
					// BT.601 luma of pure red is 0.299*255 ≈ 76 (limited range 81).
					if r < 70 || r > 90 {
						t.Fatalf("gray of red = %d", r)
					}
					continue
				}
				if r < 240 || g > 15 || b > 15 {
					t.Fatalf("frame %d pixel = %d,%d,%d, want red", i, r, g, b)
				}
			}
		})
	}
}

// frequency estimates the dominant frequency from zero crossings.
func frequency(samples []float32, rate int) float64 {
	crossings := 0
	for i := 1; i < len(samples); i++ {
		if (samples[i-1] < 0) != (samples[i] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(len(samples)) / float64(rate))
}

func TestAudioSinkDeliversGeneratedTone(t *testing.T) {
	for _, format := range []string{"S16LE", "F32LE"} {
		t.Run(format, func(t *testing.T) {
			got := collect(t, "audiotestsrc freq=1000 volume=0.5 samplesperbuffer=480 num-buffers=100 ! audio/x-raw,format="+format+",rate=48000,channels=2 ! appsink name=out sync=false")
			if len(got) != 100 {
				t.Fatalf("got %d buffers", len(got))
			}
			var all []float32
			for i, pk := range got {
				a := pk.Audio
				if a.SampleRate != 48000 || a.Channels != 2 || a.Samples() != 480 {
					t.Fatalf("buffer %d: rate %d ch %d n %d", i, a.SampleRate, a.Channels, a.Samples())
				}
				if want := time.Duration(i) * 10 * time.Millisecond; a.PTS != want {
					t.Fatalf("buffer %d pts %v want %v", i, a.PTS, want)
				}
				all = append(all, a.Float(1)...)
			}
			if f := frequency(all, 48000); math.Abs(f-1000) > 5 {
				t.Fatalf("measured %.1f Hz, want 1000", f)
			}
			var peak float32
			for _, v := range all {
				peak = max(peak, v)
			}
			if peak < 0.45 || peak > 0.55 {
				t.Fatalf("peak %.3f, want 0.5", peak)
			}
		})
	}
}

// TestAppSrcEncodeDecodeRoundTrip pushes Go frames through x264/mp4mux into a
// file and decodes it again: the colour and frame count must survive.
func TestAppSrcEncodeDecodeRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	out := filepath.Join(t.TempDir(), "rt.mp4")
	enc, err := NewFromLaunch("enc", "appsrc name=v format=time ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast key-int-max=25 ! h264parse ! mp4mux ! filesink location="+out, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	src, err := enc.Src("v", 25)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const w, h = 50, 30 // RGB rows of 150 bytes need repacking to GStreamer's 152
	for i := 0; i < 50; i++ {
		f := &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: w, Height: h, Stride: [3]int{w * 3}, Data: make([]byte, w*h*3),
			PTS: time.Duration(i) * 40 * time.Millisecond, Duration: 40 * time.Millisecond}
		for p := 0; p < w*h; p++ {
			f.Data[3*p+1] = 200 // green
		}
		if err := src.PushVideo(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.EndStream(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := enc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	got := collect(t, "filesrc location="+out+" ! decodebin ! videoconvert ! video/x-raw,format=RGBA ! appsink name=out sync=false")
	if len(got) != 50 {
		t.Fatalf("decoded %d frames, want 50", len(got))
	}
	r, g, b := got[25].Video.RGBAt(w/2, h/2)
	if r > 20 || g < 185 || g > 215 || b > 20 {
		t.Fatalf("decoded pixel %d,%d,%d, want ~(0,200,0)", r, g, b)
	}
	if last := got[49].Video.PTS; last != 49*40*time.Millisecond {
		t.Fatalf("last pts %v", last)
	}
}

func TestGraphBridgesGStreamerThroughGoStages(t *testing.T) {
	ctx := testCtx(t)
	in, err := NewFromLaunch("in", "videotestsrc pattern=blue num-buffers=30 ! video/x-raw,width=32,height=32,framerate=25/1 ! videoconvert ! video/x-raw,format=RGBA ! appsink name=out sync=false", Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	outp, err := NewFromLaunch("out", "appsrc name=v format=time ! videoconvert ! video/x-raw,format=RGBA ! appsink name=out sync=false", Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer outp.Close()
	sink, _ := in.Sink("out")
	src, _ := outp.Src("v", 25)
	final, _ := outp.Sink("out")

	// A Go stage in the middle inverts the picture: blue becomes yellow.
	invert := pipeline.StageFunc(func(ctx context.Context, p pipeline.Packet, emit pipeline.Emit) error {
		for i := range p.Video.Data {
			if i%4 != 3 {
				p.Video.Data[i] = 255 - p.Video.Data[i]
			}
		}
		emit(p)
		return nil
	})
	g := pipeline.NewGraph("bridge", nil)
	must(t, g.AddSource("camera", sink))
	must(t, g.AddStage("invert", invert, pipeline.InputOptions{Block: true}))
	must(t, g.AddStage("encoder", src, pipeline.InputOptions{Block: true}))
	must(t, g.Connect("camera", "invert"))
	must(t, g.Connect("invert", "encoder"))
	must(t, in.Start(ctx))
	must(t, outp.Start(ctx))
	var got []pipeline.Packet
	done := make(chan error, 1)
	go func() { done <- final.Run(ctx, func(p pipeline.Packet) { got = append(got, p) }) }()
	must(t, g.Run(ctx))
	must(t, <-done)
	must(t, outp.Wait(ctx))
	if len(got) != 30 {
		t.Fatalf("got %d frames through the graph, want 30", len(got))
	}
	r, gg, b := got[10].Video.RGBAt(5, 5)
	if r < 240 || gg < 240 || b > 15 {
		t.Fatalf("pixel %d,%d,%d, want yellow", r, gg, b)
	}
}

func TestBinsAddAndLink(t *testing.T) {
	ctx := testCtx(t)
	p, err := New("bins", Options{}, nil)
	must(t, err)
	defer p.Close()
	src, err := NewBin("src", "videotestsrc num-buffers=5 ! videoconvert")
	must(t, err)
	sink, err := NewBin("sink", "fakesink")
	must(t, err)
	must(t, p.Add(src))
	must(t, p.Add(sink))
	must(t, p.Link(src, sink))
	must(t, p.Start(ctx))
	must(t, p.Wait(ctx))
	must(t, p.Stop(ctx))
	if _, err := NewBin("bad", "videotestsrc ! nosuchelement"); !errors.Is(err, ErrParse) {
		t.Fatalf("bad bin: %v", err)
	}
}

func TestErrorsAreClear(t *testing.T) {
	ctx := testCtx(t)
	if _, err := NewFromLaunch("x", "videotestsrc ! nosuchelement ! fakesink", Options{}, nil); !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), "nosuchelement") {
		t.Fatalf("parse: %v", err)
	}
	p, err := NewFromLaunch("x", "filesrc location=/nonexistent/witness.mp4 ! decodebin ! fakesink", Options{}, nil)
	must(t, err)
	defer p.Close()
	err = p.Start(ctx)
	var be *BusError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "/nonexistent/witness.mp4") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("missing file should give one-line bus error naming it, got %v", err)
	}
	if _, err := p.Sink("nope"); !errors.Is(err, ErrNoElement) {
		t.Fatalf("no element: %v", err)
	}
	if err := Require("videotestsrc", "nosuchplugin"); !errors.Is(err, ErrMissingPlugin) || !strings.Contains(err.Error(), "nosuchplugin") || strings.Contains(err.Error(), "videotestsrc") {
		t.Fatalf("require: %v", err)
	}
}

func TestUnsolicitedEOSBeforeStop(t *testing.T) {
	ctx := testCtx(t)
	p, err := NewFromLaunch("eos", "videotestsrc num-buffers=3 ! fakesink", Options{EOSTimeout: 200 * time.Millisecond}, nil)
	must(t, err)
	must(t, p.Start(ctx))
	must(t, p.Wait(ctx))
	if p.State() != StateEOS {
		t.Fatalf("state %s", p.State())
	}
	// EOS already arrived: Stop must not arm the watchdog and report a freeze.
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("stop after natural EOS: %v", err)
	}
	if p.State() != StateFinished {
		t.Fatalf("state %s", p.State())
	}
	if err := p.Start(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("restart: %v", err)
	}
}

func TestGracefulStopOfLiveSource(t *testing.T) {
	ctx := testCtx(t)
	out := filepath.Join(t.TempDir(), "live.mp4")
	p, err := NewFromLaunch("live", "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=25/1 ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast tune=zerolatency ! h264parse ! mp4mux ! filesink location="+out, Options{}, nil)
	must(t, err)
	must(t, p.Start(ctx))
	time.Sleep(400 * time.Millisecond)
	must(t, p.Stop(ctx))
	// A finalised MP4 has its moov atom, which only EOS writes.
	b, err := os.ReadFile(out)
	must(t, err)
	if !strings.Contains(string(b), "moov") {
		t.Fatalf("mp4 not finalised (%d bytes, no moov)", len(b))
	}
}

func TestEOSWatchdogFires(t *testing.T) {
	ctx := testCtx(t)
	// identity sleeps 300 ms per buffer, so EOS cannot reach the sink within 30 ms.
	p, err := NewFromLaunch("frozen", "videotestsrc is-live=true ! identity sleep-time=300000 ! fakesink", Options{EOSTimeout: 30 * time.Millisecond, StateTimeout: 2 * time.Second}, nil)
	must(t, err)
	must(t, p.Start(ctx))
	time.Sleep(100 * time.Millisecond) // let a buffer enter identity's sleep
	start := time.Now()
	err = p.Stop(ctx)
	if !errors.Is(err, ErrEOSTimeout) {
		t.Fatalf("want ErrEOSTimeout, got %v", err)
	}
	if p.State() != StateFinished {
		t.Fatalf("hard stop after watchdog: state %s", p.State())
	}
	// The hard stop itself is bounded by StateTimeout: a frozen element may
	// hold GStreamer's state lock, and then NULL can only be abandoned.
	if time.Since(start) > 4*time.Second {
		t.Fatalf("stop took %v", time.Since(start))
	}
}

func rssKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/statm")
	must(t, err)
	f := strings.Fields(string(b))
	pages, _ := strconv.Atoi(f[1])
	return pages * os.Getpagesize() / 1024
}

// TestNoLeakOver200Pipelines creates, runs and tears down 200 pipelines with
// appsink bridges and asserts goroutines and RSS stay flat.
func TestNoLeakOver200Pipelines(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("leak test needs a plain (non-race, non-short) run")
	}
	ctx := testCtx(t)
	run := func() {
		p, err := NewFromLaunch("leak", "videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! videoconvert ! video/x-raw,format=RGBA ! appsink name=out sync=false", Options{}, nil)
		must(t, err)
		s, err := p.Sink("out")
		must(t, err)
		must(t, p.Start(ctx))
		n := 0
		must(t, s.Run(ctx, func(pipeline.Packet) { n++ }))
		must(t, p.Stop(ctx))
		if n != 3 {
			t.Fatalf("frames %d", n)
		}
	}
	settle := func() {
		for i := 0; i < 3; i++ {
			runtime.GC()
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := 0; i < 20; i++ { // warm up GStreamer's plugin and thread pools
		run()
	}
	settle()
	g0, r0 := runtime.NumGoroutine(), rssKB(t)
	for i := 0; i < 200; i++ {
		run()
	}
	settle()
	g1, r1 := runtime.NumGoroutine(), rssKB(t)
	t.Logf("goroutines %d -> %d, RSS %d -> %d KiB", g0, g1, r0, r1)
	if g1 > g0+2 {
		t.Fatalf("goroutines grew from %d to %d", g0, g1)
	}
	if r1-r0 > 30*1024 {
		t.Fatalf("RSS grew by %d KiB over 200 pipelines", r1-r0)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
