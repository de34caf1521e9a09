package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/witness-media/witness/enhance"
	"github.com/witness-media/witness/pipeline"
)

// proc is one step of an audio chain.
type proc interface {
	process(a *pipeline.AudioFrame) ([]*pipeline.AudioFrame, error)
	flush() ([]*pipeline.AudioFrame, error)
	close() error
}

// Stage runs a chain of audio steps on every audio frame; video and events
// pass through untouched. One Stage per stream: the steps keep per-stream
// state (noise floors, filter pipelines).
//
// A stage fails open: if a step fails mid-stream (the format changes, a
// filter pipeline errors, a model call fails), the error is logged, shown
// in the report, the unprocessed input from the last emitted sample on is
// emitted (the steps keep output aligned with input, so nothing is lost
// or repeated) and the rest of the stream passes through untouched. An
// enhancement must never take a call or a recording down.
type Stage struct {
	name     string
	settings map[string]any
	active   bool
	steps    []proc
	log      *slog.Logger

	raw    []*pipeline.AudioFrame // input not yet fully covered by output
	rawAt  int64                  // sample index where raw[0] starts
	inN    int64                  // samples per channel received
	outN   int64                  // samples per channel emitted
	failed error
}

// Err is the error that switched the stage to pass-through, if any.
func (s *Stage) Err() error { return s.failed }

// Process implements pipeline.Stage.
func (s *Stage) Process(_ context.Context, in pipeline.Packet, emit pipeline.Emit) error {
	if in.Audio == nil || !s.active || s.failed != nil {
		emit(in)
		return nil
	}
	if len(s.raw) > 0 && !sameFormat(s.raw[0], in.Audio) {
		s.fail(fmt.Errorf("%w: %s %d Hz %d ch after %s %d Hz %d ch", ErrFormat, in.Audio.Format, in.Audio.SampleRate,
			in.Audio.Channels, s.raw[0].Format, s.raw[0].SampleRate, s.raw[0].Channels), emit)
		emit(in)
		return nil
	}
	s.raw = append(s.raw, in.Audio)
	s.inN += int64(in.Audio.Samples())
	frames := []*pipeline.AudioFrame{in.Audio}
	for _, st := range s.steps {
		var next []*pipeline.AudioFrame
		for _, f := range frames {
			out, err := st.process(f)
			if err != nil {
				s.fail(err, emit)
				return nil
			}
			next = append(next, out...)
		}
		frames = next
	}
	s.emit(frames, emit)
	return nil
}

func sameFormat(a, b *pipeline.AudioFrame) bool {
	return a.Format == b.Format && a.SampleRate == b.SampleRate && a.Channels == b.Channels
}

// emit hands on processed frames and forgets raw input they cover.
func (s *Stage) emit(frames []*pipeline.AudioFrame, emit pipeline.Emit) {
	for _, f := range frames {
		s.outN += int64(f.Samples())
		emit(pipeline.Packet{Audio: f})
	}
	for len(s.raw) > 0 && s.rawAt+int64(s.raw[0].Samples()) <= s.outN {
		s.rawAt += int64(s.raw[0].Samples())
		s.raw = s.raw[1:]
	}
}

// fail switches to pass-through and emits the raw input the steps still
// held, from the first sample not yet emitted.
func (s *Stage) fail(err error, emit pipeline.Emit) {
	s.failed = fmt.Errorf("%s: %w", s.name, err)
	s.settings["error"] = s.failed.Error()
	log := s.log
	if log == nil {
		log = slog.Default()
	}
	log.Error("enhancement failed; passing audio through unprocessed", "stage", s.name, "err", err)
	for _, f := range s.raw {
		n := int64(f.Samples())
		skip := max(s.outN-s.rawAt, 0)
		s.rawAt += n
		if skip >= n {
			continue
		}
		c := int64(f.Channels)
		g := &pipeline.AudioFrame{Format: f.Format, SampleRate: f.SampleRate, Channels: f.Channels,
			PTS: f.PTS + time.Duration(skip)*time.Second/time.Duration(f.SampleRate)}
		if f.Format == pipeline.SampleS16 {
			g.S16 = f.S16[skip*c:]
		} else {
			g.F32 = f.F32[skip*c:]
		}
		s.outN += n - skip
		emit(pipeline.Packet{Audio: g})
	}
	s.raw = nil
	for _, st := range s.steps {
		if cerr := st.close(); cerr != nil {
			log.Warn("enhancement step close", "stage", s.name, "err", cerr)
		}
	}
	s.steps = nil
}

// Flush implements pipeline.Flusher: every step releases what it holds, in
// order, so the end of a recording is never cut.
func (s *Stage) Flush(_ context.Context, emit pipeline.Emit) error {
	if s.failed != nil || !s.active {
		return nil
	}
	var carry []*pipeline.AudioFrame
	for _, st := range s.steps {
		var next []*pipeline.AudioFrame
		for _, f := range carry {
			out, err := st.process(f)
			if err != nil {
				s.fail(err, emit)
				return nil
			}
			next = append(next, out...)
		}
		out, err := st.flush()
		if err != nil {
			s.fail(err, emit)
			return nil
		}
		carry = append(next, out...)
	}
	s.emit(carry, emit)
	return nil
}

// Close implements pipeline.Closer.
func (s *Stage) Close() error {
	var errs []error
	for _, st := range s.steps {
		errs = append(errs, st.close())
	}
	return errors.Join(errs...)
}

// Enhancement implements enhance.Enhancer.
func (s *Stage) Enhancement() enhance.Applied {
	return enhance.Applied{Stage: s.name, Active: s.active, Settings: s.settings}
}

// Run processes a whole clip offline through the stage and returns the
// output frames (tests, batch jobs). If the stage failed open, the frames
// are still complete (partly unprocessed) and the error is returned too.
func Run(s pipeline.Stage, frames []*pipeline.AudioFrame) ([]*pipeline.AudioFrame, error) {
	var out []*pipeline.AudioFrame
	emit := func(p pipeline.Packet) {
		if p.Audio != nil {
			out = append(out, p.Audio)
		}
	}
	ctx := context.Background()
	for _, f := range frames {
		if err := s.Process(ctx, pipeline.Packet{Audio: f}, emit); err != nil {
			return out, err
		}
	}
	if fl, ok := s.(pipeline.Flusher); ok {
		if err := fl.Flush(ctx, emit); err != nil {
			return out, err
		}
	}
	if c, ok := s.(pipeline.Closer); ok {
		if err := c.Close(); err != nil {
			return out, err
		}
	}
	// A stage that failed open passed the rest through; offline callers
	// still want to know.
	if f, ok := s.(interface{ Err() error }); ok && f.Err() != nil {
		return out, f.Err()
	}
	return out, nil
}

// goStep adapts a blockProcessor to proc.
type goStep struct{ b *blockProcessor }

func (g goStep) process(a *pipeline.AudioFrame) ([]*pipeline.AudioFrame, error) {
	f, err := g.b.process(a)
	if f == nil {
		return nil, err
	}
	return []*pipeline.AudioFrame{f}, err
}

func (g goStep) flush() ([]*pipeline.AudioFrame, error) {
	if f := g.b.flush(); f != nil {
		return []*pipeline.AudioFrame{f}, nil
	}
	return nil, nil
}

func (g goStep) close() error {
	if g.b.release != nil {
		return g.b.release()
	}
	return nil
}

// gstStep adapts a gstFilter to proc.
type gstStep struct{ g *gstFilter }

func (g gstStep) process(a *pipeline.AudioFrame) ([]*pipeline.AudioFrame, error) {
	return g.g.process(a)
}
func (g gstStep) flush() ([]*pipeline.AudioFrame, error) { return g.g.flush() }
func (g gstStep) close() error                           { return g.g.close() }

// spectralStep builds the Go STFT suppressor.
func spectralStep(o SpectralOptions) goStep {
	o.defaults()
	return goStep{&blockProcessor{newChan: func(rate int) (blockFunc, int, int) {
		c := newSpectralChannel(rate, o)
		lat := c.st.hop
		if o.Transient {
			lat += lookahead * c.st.hop
		}
		return func(in, out []float64) { c.st.push(in, out, c.process) }, c.st.hop, lat
	}}}
}
