package audio

import (
	"context"
	"errors"
	"fmt"

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
type Stage struct {
	name     string
	settings map[string]any
	active   bool
	steps    []proc
}

// Process implements pipeline.Stage.
func (s *Stage) Process(_ context.Context, in pipeline.Packet, emit pipeline.Emit) error {
	if in.Audio == nil || !s.active {
		emit(in)
		return nil
	}
	frames := []*pipeline.AudioFrame{in.Audio}
	for _, st := range s.steps {
		var next []*pipeline.AudioFrame
		for _, f := range frames {
			out, err := st.process(f)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			next = append(next, out...)
		}
		frames = next
	}
	for _, f := range frames {
		emit(pipeline.Packet{Audio: f})
	}
	return nil
}

// Flush implements pipeline.Flusher: every step releases what it holds, in
// order, so the end of a recording is never cut.
func (s *Stage) Flush(_ context.Context, emit pipeline.Emit) error {
	var carry []*pipeline.AudioFrame
	for _, st := range s.steps {
		var next []*pipeline.AudioFrame
		for _, f := range carry {
			out, err := st.process(f)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			next = append(next, out...)
		}
		out, err := st.flush()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		carry = append(next, out...)
	}
	for _, f := range carry {
		emit(pipeline.Packet{Audio: f})
	}
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
// output frames (tests, batch jobs).
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
