package analyzers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/witness-media/witness/pipeline"
)

// Spec configures one analyzer in a business profile.
type Spec struct {
	Name   string          `yaml:"name"`
	FPS    float64         `yaml:"fps"`   // frames per second it sees; default 5 (0 < fps <= 30)
	Queue  int             `yaml:"queue"` // items buffered before the oldest is dropped; default 4, 64 for analyzers that want audio
	Params pipeline.Params `yaml:"params"`
}

// Profile is a business's analyzer set (which analyzers, their thresholds,
// sampling rates and debounce), decoded strictly from YAML:
//
//	analyzers:
//	  - name: face
//	    fps: 5
//	    params: {min_duration: 1s, roi: [0.5, 0, 0.5, 1]}
//	  - name: light
//	    params: {use_face: true}
type Profile struct {
	Analyzers []Spec `yaml:"analyzers"`
}

// ErrProfile wraps problems in a profile.
var ErrProfile = errors.New("analyzer profile")

// ParseProfile decodes a profile; unknown keys and unknown analyzers are errors.
func ParseProfile(b []byte) (*Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProfile, err)
	}
	return &p, p.Validate()
}

// Validate checks names and rates (params are checked by the factories).
func (p *Profile) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i := range p.Analyzers {
		s := &p.Analyzers[i]
		if _, err := registry.Lookup(s.Name); err != nil {
			errs = append(errs, fmt.Errorf("%w: analyzers[%d]: %v", ErrProfile, i, err))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%w: analyzer %q listed twice", ErrProfile, s.Name))
		}
		seen[s.Name] = true
		if s.FPS < 0 || s.FPS > 30 || s.Queue < 0 {
			errs = append(errs, fmt.Errorf("%w: analyzer %q: fps %v (want 0..30), queue %d", ErrProfile, s.Name, s.FPS, s.Queue))
		}
	}
	return errors.Join(errs...)
}

// Host runs a session's analyzers live. Video and Audio never block: each
// analyzer has its own sampler, a bounded dropping queue and one goroutine
// (the owner of its state), so a slow model sheds frames instead of
// delaying media. Events go to the sink from one dispatcher goroutine, in
// the order they were emitted per analyzer; the sink is never called under
// a lock.
type Host struct {
	s       Session
	sink    func(pipeline.Event)
	log     *slog.Logger
	workers []*worker
	events  chan pipeline.Event
	now     func() time.Time
}

type worker struct {
	name  string
	a     Analyzer
	q     *pipeline.Queue[pipeline.Packet]
	step  time.Duration
	mu    sync.Mutex // guards next (Video may be called from several goroutines)
	next  time.Duration
	begun bool
	errs  int
}

// HostStats counts one analyzer's traffic.
type HostStats struct {
	Name    string
	Queued  uint64 // frames accepted by its queue
	Dropped uint64 // frames its queue discarded (the analyzer was behind)
	Errors  int
}

// NewHost builds the profile's analyzers for a session. sink receives every
// event with Room, Participant, Source and WallTime filled in.
func NewHost(s Session, p *Profile, sink func(pipeline.Event), log *slog.Logger) (*Host, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h := &Host{s: s, sink: sink, log: log, events: make(chan pipeline.Event, 64), now: time.Now}
	for _, sp := range p.Analyzers {
		a, err := New(sp.Name, s, sp.Params)
		if err != nil {
			h.closeAnalyzers()
			return nil, err
		}
		fps, qs := sp.FPS, sp.Queue
		if fps == 0 {
			fps = 5
		}
		if qs == 0 {
			qs = 4
			if w, ok := a.(interface{ WantsAudio() bool }); ok && w.WantsAudio() {
				qs = 64 // audio arrives in 10-20 ms frames: about a second of it
			}
		}
		h.workers = append(h.workers, &worker{name: sp.Name, a: a, q: pipeline.NewQueue[pipeline.Packet](qs, false),
			step: time.Duration(float64(time.Second) / fps)})
	}
	return h, nil
}

// Video offers a frame to every analyzer whose sampling grid it falls on.
// The frame is shared and must not be modified afterwards.
func (h *Host) Video(f *pipeline.VideoFrame) {
	for _, w := range h.workers {
		if w.take(f.PTS) {
			_, _ = w.q.Push(context.Background(), pipeline.Packet{Video: f})
		}
	}
}

// Audio offers audio to every analyzer (audio is not thinned).
func (h *Host) Audio(a *pipeline.AudioFrame) {
	for _, w := range h.workers {
		_, _ = w.q.Push(context.Background(), pipeline.Packet{Audio: a})
	}
}

// take reports whether a frame at t falls on the worker's sampling grid.
func (w *worker) take(t time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.begun || t >= w.next {
		if !w.begun || t-w.next > w.step {
			w.next = t // first frame or a gap: restart the grid here
		}
		w.begun = true
		w.next += w.step
		return true
	}
	return false
}

// Run runs the analyzers until ctx ends or CloseInput is called, then
// closes them. An analyzer's error is logged and counted, not fatal: one
// bad frame must not stop the watch.
func (h *Host) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, w := range h.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.runWorker(ctx, w)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(h.events)
		close(done)
	}()
	for e := range h.events {
		h.sink(e)
	}
	<-done
	h.closeAnalyzers()
	return ctx.Err()
}

// CloseInput ends the input: queued frames are analysed, then Run returns.
func (h *Host) CloseInput() {
	for _, w := range h.workers {
		w.q.Close()
	}
}

func (h *Host) runWorker(ctx context.Context, w *worker) {
	emit := func(e pipeline.Event) {
		if e.Source == "" {
			e.Source = pipeline.OriginAuto
		}
		if e.Room == "" {
			e.Room = h.s.Room
		}
		if e.Participant == "" {
			e.Participant = h.s.Participant
		}
		if e.WallTime.IsZero() {
			e.WallTime = h.now()
		}
		// Blocking on purpose: events are markers (evidence); a slow sink
		// delays this analyzer only, never the media.
		select {
		case h.events <- e:
		case <-ctx.Done():
		}
	}
	for {
		p, err := w.q.Pop(ctx)
		if err != nil {
			return
		}
		switch {
		case p.Video != nil:
			err = w.a.Video(p.Video, emit)
		case p.Audio != nil:
			err = w.a.Audio(p.Audio, emit)
		}
		if err != nil {
			w.mu.Lock()
			w.errs++
			n := w.errs
			w.mu.Unlock()
			if n <= 3 || n%100 == 0 {
				h.log.Warn("analyzer error", "analyzer", w.name, "room", h.s.Room, "count", n, "err", err)
			}
		}
	}
}

// Stats returns per-analyzer counters.
func (h *Host) Stats() []HostStats {
	out := make([]HostStats, 0, len(h.workers))
	for _, w := range h.workers {
		w.mu.Lock()
		n := w.errs
		w.mu.Unlock()
		out = append(out, HostStats{Name: w.name, Queued: w.q.Pushed(), Dropped: w.q.Dropped(), Errors: n})
	}
	return out
}

func (h *Host) closeAnalyzers() {
	for _, w := range h.workers {
		if err := w.a.Close(); err != nil {
			h.log.Warn("closing analyzer", "analyzer", w.name, "err", err)
		}
	}
}

// Fanout returns a sink that hands each event to every sink in order (for
// example markers.Recorder, then a NATS publisher's Sink).
func Fanout(sinks ...func(pipeline.Event)) func(pipeline.Event) {
	return func(e pipeline.Event) {
		for _, s := range sinks {
			s(e)
		}
	}
}
