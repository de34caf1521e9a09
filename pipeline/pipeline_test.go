package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueueDropsOldestAndCounts(t *testing.T) {
	q := NewQueue[int](3, false)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := q.Push(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if q.Dropped() != 7 || q.Pushed() != 10 || q.Len() != 3 {
		t.Fatalf("dropped=%d pushed=%d len=%d", q.Dropped(), q.Pushed(), q.Len())
	}
	q.Close()
	var got []int
	for {
		v, err := q.Pop(ctx)
		if errors.Is(err, ErrClosed) {
			break
		}
		got = append(got, v)
	}
	if len(got) != 3 || got[0] != 7 || got[2] != 9 {
		t.Fatalf("kept %v, want the newest [7 8 9]", got)
	}
	if _, err := q.Push(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after close: %v", err)
	}
}

func TestQueueBlockingAppliesBackPressure(t *testing.T) {
	q := NewQueue[int](1, true)
	ctx := context.Background()
	if _, err := q.Push(ctx, 1); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := q.Push(short, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("full blocking queue: got %v, want deadline", err)
	}
	done := make(chan error)
	go func() { _, err := q.Push(ctx, 3); done <- err }()
	if v, _ := q.Pop(ctx); v != 1 {
		t.Fatalf("pop %d", v)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, _ := q.Pop(ctx); v != 3 || q.Dropped() != 0 {
		t.Fatalf("pop %d dropped %d", v, q.Dropped())
	}
}

func TestQueueConcurrent(t *testing.T) {
	q := NewQueue[int](4, true)
	ctx := context.Background()
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				if _, err := q.Push(ctx, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	sum := 0
	got := make(chan int)
	go func() {
		s := 0
		for {
			v, err := q.Pop(ctx)
			if err != nil {
				got <- s
				return
			}
			s += v
		}
	}()
	wg.Wait()
	q.Close()
	sum = <-got
	if sum != 4000 {
		t.Fatalf("blocking queue lost items: %d of 4000", sum)
	}
}

// counter counts frames and records the PTS it saw.
type counter struct {
	mu  sync.Mutex
	pts []time.Duration
	dur time.Duration
}

func (c *counter) Process(ctx context.Context, in Packet, emit Emit) error {
	if c.dur > 0 {
		time.Sleep(c.dur)
	}
	c.mu.Lock()
	c.pts = append(c.pts, in.Video.PTS)
	c.mu.Unlock()
	emit(in)
	return nil
}

func frames(n int) Source {
	return SourceFunc(func(ctx context.Context, emit Emit) error {
		for i := 0; i < n; i++ {
			emit(Packet{Video: &VideoFrame{Format: PixelGray, Width: 2, Height: 2, Stride: [3]int{2}, Data: make([]byte, 4), PTS: time.Duration(i) * 40 * time.Millisecond}})
		}
		return nil
	})
}

func TestGraphLosslessAndDroppingBranches(t *testing.T) {
	g := NewGraph("t", nil)
	rec := &counter{}
	slow := &counter{dur: 2 * time.Millisecond}
	must(t, g.AddSource("src", frames(200)))
	must(t, g.AddStage("record", rec, InputOptions{Size: 2, Block: true}))
	must(t, g.AddStage("analyze", slow, InputOptions{Size: 2}))
	must(t, g.Connect("src", "record"))
	must(t, g.Connect("src", "analyze"))
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.pts) != 200 {
		t.Fatalf("recording branch got %d of 200 frames", len(rec.pts))
	}
	for i := 1; i < len(rec.pts); i++ {
		if rec.pts[i] <= rec.pts[i-1] {
			t.Fatalf("order broken at %d", i)
		}
	}
	var st NodeStats
	for _, s := range g.Stats() {
		if s.Name == "analyze" {
			st = s
		}
	}
	if st.Dropped == 0 || int(st.Dropped)+len(slow.pts) != 200 {
		t.Fatalf("analysis branch: dropped %d + seen %d != 200", st.Dropped, len(slow.pts))
	}
}

type flushing struct{ flushed atomic.Bool }

func (f *flushing) Process(ctx context.Context, in Packet, emit Emit) error { return nil }
func (f *flushing) Flush(ctx context.Context, emit Emit) error {
	f.flushed.Store(true)
	emit(Packet{Event: &Event{Kind: "end", Source: OriginAuto}})
	return nil
}

func TestGraphFlushAndChain(t *testing.T) {
	g := NewGraph("t", nil)
	f := &flushing{}
	var events atomic.Int32
	must(t, g.AddSource("src", frames(5)))
	must(t, g.AddStage("a", f, InputOptions{}))
	must(t, g.AddStage("sink", StageFunc(func(ctx context.Context, in Packet, emit Emit) error {
		if in.Event != nil && in.Event.Kind == "end" {
			events.Add(1)
		}
		return nil
	}), InputOptions{Block: true}))
	must(t, g.Connect("src", "a"))
	must(t, g.Connect("a", "sink"))
	must(t, g.Run(context.Background()))
	if !f.flushed.Load() || events.Load() != 1 {
		t.Fatalf("flushed=%v events=%d", f.flushed.Load(), events.Load())
	}
}

func TestGraphStageErrorAndPanicStopTheGraph(t *testing.T) {
	boom := errors.New("boom")
	for name, st := range map[string]Stage{
		"error": StageFunc(func(context.Context, Packet, Emit) error { return boom }),
		"panic": StageFunc(func(context.Context, Packet, Emit) error { panic("plugin bug") }),
	} {
		t.Run(name, func(t *testing.T) {
			g := NewGraph("t", nil)
			endless := SourceFunc(func(ctx context.Context, emit Emit) error {
				for ctx.Err() == nil {
					emit(Packet{Event: &Event{Kind: "x"}})
				}
				return nil
			})
			must(t, g.AddSource("src", endless))
			must(t, g.AddStage("bad", st, InputOptions{}))
			must(t, g.Connect("src", "bad"))
			err := g.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), "bad:") {
				t.Fatalf("got %v", err)
			}
			if name == "error" && !errors.Is(err, boom) {
				t.Fatalf("not wrapped: %v", err)
			}
			if name == "panic" && !strings.Contains(err.Error(), "plugin bug") {
				t.Fatalf("panic not reported: %v", err)
			}
		})
	}
}

func TestGraphCloseCancels(t *testing.T) {
	g := NewGraph("t", nil)
	must(t, g.AddSource("src", SourceFunc(func(ctx context.Context, emit Emit) error {
		<-ctx.Done()
		return ctx.Err()
	})))
	must(t, g.AddStage("s", StageFunc(func(context.Context, Packet, Emit) error { return nil }), InputOptions{}))
	must(t, g.Connect("src", "s"))
	res := make(chan error)
	go func() { res <- g.Run(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	must(t, g.Close())
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("close should end cleanly, got %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("graph did not stop on Close")
	}
	if err := g.Run(context.Background()); !errors.Is(err, ErrGraphRunning) {
		t.Fatalf("second run: %v", err)
	}
}

func TestGraphValidation(t *testing.T) {
	nop := StageFunc(func(context.Context, Packet, Emit) error { return nil })
	g := NewGraph("t", nil)
	must(t, g.AddStage("a", nop, InputOptions{}))
	must(t, g.AddStage("b", nop, InputOptions{}))
	must(t, g.Connect("a", "b"))
	must(t, g.Connect("b", "a"))
	if err := g.Run(context.Background()); !errors.Is(err, ErrBadGraph) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
	g = NewGraph("t", nil)
	must(t, g.AddStage("orphan", nop, InputOptions{}))
	if err := g.Run(context.Background()); !errors.Is(err, ErrBadGraph) {
		t.Fatalf("orphan: %v", err)
	}
	g = NewGraph("t", nil)
	must(t, g.AddSource("s", frames(1)))
	if err := g.Connect("s", "nope"); !errors.Is(err, ErrBadGraph) {
		t.Fatalf("unknown: %v", err)
	}
	if err := g.AddSource("s", frames(1)); !errors.Is(err, ErrBadGraph) {
		t.Fatalf("dup: %v", err)
	}
}

type gainParams struct {
	Gain float64 `yaml:"gain"`
}

func TestRegistry(t *testing.T) {
	Register("test-gain", func(p Params) (Stage, error) {
		var gp gainParams
		if err := p.Decode(&gp); err != nil {
			return nil, err
		}
		return StageFunc(func(ctx context.Context, in Packet, emit Emit) error {
			for i := range in.Audio.F32 {
				in.Audio.F32[i] *= float32(gp.Gain)
			}
			emit(in)
			return nil
		}), nil
	})
	s, err := NewStage("test-gain", Params{"gain": 2.0})
	must(t, err)
	var out *AudioFrame
	must(t, s.Process(context.Background(), Packet{Audio: &AudioFrame{Format: SampleF32, SampleRate: 8000, Channels: 1, F32: []float32{0.25}}}, func(p Packet) { out = p.Audio }))
	if out.F32[0] != 0.5 {
		t.Fatalf("gain not applied: %v", out.F32)
	}
	if _, err := NewStage("test-gain", Params{"gian": 2.0}); err == nil || !strings.Contains(err.Error(), "gian") {
		t.Fatalf("unknown param key must be named: %v", err)
	}
	if _, err := NewStage("nope", nil); !errors.Is(err, ErrUnknownStage) || !strings.Contains(err.Error(), "test-gain") {
		t.Fatalf("unknown stage: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate Register must panic")
		}
	}()
	Register("test-gain", nil)
}

func TestFrames(t *testing.T) {
	// 2x2 I420 with Y=81,U=90,V=240 is pure red in BT.601 limited range.
	f := &VideoFrame{Format: PixelI420, Width: 2, Height: 2, Stride: [3]int{2, 1, 1}, Data: []byte{81, 81, 81, 81, 90, 240}}
	must(t, f.Validate())
	r, g, b := f.RGBAt(1, 1)
	if r < 250 || g > 5 || b > 5 {
		t.Fatalf("I420 red decoded as %d,%d,%d", r, g, b)
	}
	if l := f.Luma(1); l != 81 {
		t.Fatalf("luma %v", l)
	}
	bad := &VideoFrame{Format: PixelRGBA, Width: 4, Height: 4, Stride: [3]int{16}, Data: make([]byte, 10)}
	if err := bad.Validate(); !errors.Is(err, ErrInvalidFrame) {
		t.Fatalf("short data: %v", err)
	}
	a := &AudioFrame{Format: SampleS16, SampleRate: 48000, Channels: 2, S16: make([]int16, 960)}
	must(t, a.Validate())
	if a.Samples() != 480 || a.Duration() != 10*time.Millisecond {
		t.Fatalf("samples %d dur %v", a.Samples(), a.Duration())
	}
	a.S16[2] = -16384
	if v := a.Float(0)[1]; v != -0.5 {
		t.Fatalf("float %v", v)
	}
}

func TestEventJSON(t *testing.T) {
	e := Event{Kind: "light.dark", Severity: SeverityWarning, Source: OriginAuto, MediaTime: 1500 * time.Millisecond, Room: "r1", Data: json.RawMessage(`{"luma":12.5}`)}
	must(t, e.Validate())
	b, err := json.Marshal(e)
	must(t, err)
	if !strings.Contains(string(b), `"severity":"warning"`) || !strings.Contains(string(b), `"source":"auto"`) {
		t.Fatalf("json %s", b)
	}
	var back Event
	must(t, json.Unmarshal(b, &back))
	if back.Severity != SeverityWarning || back.MediaTime != e.MediaTime {
		t.Fatalf("round trip %+v", back)
	}
	if err := (&Event{Kind: "x", Source: "robot"}).Validate(); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("bad source: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkQueuePushPop(b *testing.B) {
	q := NewQueue[Packet](64, false)
	ctx := context.Background()
	p := Packet{Event: &Event{Kind: "x"}}
	for i := 0; i < b.N; i++ {
		_, _ = q.Push(ctx, p)
		_, _ = q.Pop(ctx)
	}
}

func TestSamplerKeepsRequestedRate(t *testing.T) {
	s, err := NewStage("sample", Params{"fps": 5})
	must(t, err)
	kept := 0
	for i := 0; i < 100; i++ { // 4 s at 25 fps
		p := Packet{Video: &VideoFrame{PTS: time.Duration(i) * 40 * time.Millisecond}}
		must(t, s.Process(context.Background(), p, func(Packet) { kept++ }))
	}
	if kept != 20 {
		t.Fatalf("kept %d frames of 4 s, want 20 at 5 fps", kept)
	}
	if _, err := NewStage("sample", Params{"fps": 0}); err == nil {
		t.Fatal("fps 0 accepted")
	}
}
