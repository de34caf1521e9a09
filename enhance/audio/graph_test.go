package audio

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/enhance/audio/audiotest"
	"github.com/witness-media/witness/pipeline"
)

// TestDenoiseInGraph runs the stage live-style inside a pipeline.Graph
// (its own goroutine, blocking evidence edges): every sample comes out, in
// order, aligned with the input, and the end of the stream is flushed.
func TestDenoiseInGraph(t *testing.T) {
	s := speech(t, 0)[:audiotest.Rate*2]
	noise, _ := audiotest.Noise(audiotest.Keyboard, len(s), 9)
	mix, _ := audiotest.Mix(s, noise, 5)
	frames := audiotest.Frames(mix, audiotest.Rate, 10*time.Millisecond)
	for _, engine := range []string{EngineSpectral, EngineWebRTC} {
		st, err := pipeline.NewStage("denoise", pipeline.Params{"engine": engine})
		if err != nil {
			t.Fatal(err)
		}
		g := pipeline.NewGraph("denoise-"+engine, nil)
		src := pipeline.SourceFunc(func(ctx context.Context, emit pipeline.Emit) error {
			for _, f := range frames {
				emit(pipeline.Packet{Audio: f})
			}
			return nil
		})
		var mu sync.Mutex
		var out []*pipeline.AudioFrame
		sink := pipeline.StageFunc(func(_ context.Context, in pipeline.Packet, _ pipeline.Emit) error {
			mu.Lock()
			defer mu.Unlock()
			out = append(out, in.Audio)
			return nil
		})
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(g.AddSource("mic", src))
		must(g.AddStage("denoise", st, pipeline.InputOptions{Block: true}))
		must(g.AddStage("sink", sink, pipeline.InputOptions{Block: true}))
		must(g.Connect("mic", "denoise"))
		must(g.Connect("denoise", "sink"))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		must(g.Run(ctx))
		cancel()
		mu.Lock()
		y := audiotest.Join(out)
		checkPTS(t, out)
		mu.Unlock()
		if len(y) != len(mix) {
			t.Errorf("%s: %d samples in, %d out", engine, len(mix), len(y))
		}
		if lag := Lag(y, s, 320); lag != 0 {
			t.Errorf("%s: lag %d", engine, lag)
		}
	}
}

// TestDenoiseLiveLatency: fed 10 ms frames one at a time, every engine
// hands audio on with at most its documented latency outstanding (counted
// in samples, not wall time, so it holds on a loaded machine).
func TestDenoiseLiveLatency(t *testing.T) {
	s := speech(t, 0)[:audiotest.Rate]
	frames := audiotest.Frames(s, audiotest.Rate, 10*time.Millisecond)
	for _, c := range []struct {
		name  string
		o     DenoiseOptions
		maxMs int
	}{
		{"spectral", DenoiseOptions{Engine: EngineSpectral, Transient: ptr(false)}, 10},
		{"spectral+transient", DenoiseOptions{Engine: EngineSpectral}, 30},
		{"webrtc", DenoiseOptions{Engine: EngineWebRTC, Transient: ptr(false)}, 30 + 6},
	} {
		st, err := NewDenoise(c.o)
		if err != nil {
			t.Fatal(err)
		}
		out := 0
		emit := func(p pipeline.Packet) { out += p.Audio.Samples() }
		worst := 0
		for i, f := range frames {
			if err := st.Process(context.Background(), pipeline.Packet{Audio: f}, emit); err != nil {
				t.Fatal(err)
			}
			worst = max(worst, (i+1)*160-out)
		}
		st.Close()
		if ms := worst / 16; ms > c.maxMs {
			t.Errorf("%s: up to %d ms held back, want <= %d", c.name, ms, c.maxMs)
		} else {
			t.Logf("%s: at most %d ms held back", c.name, ms)
		}
	}
}
