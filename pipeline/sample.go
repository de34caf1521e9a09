package pipeline

import (
	"context"
	"fmt"
	"time"
)

func init() {
	Register("sample", func(p Params) (Stage, error) {
		var sp struct {
			FPS float64 `yaml:"fps"` // video frames per second to keep
		}
		if err := p.Decode(&sp); err != nil {
			return nil, err
		}
		return NewSampler(sp.FPS)
	})
}

// Sampler thins video to at most fps frames per second of media time (audio
// and events pass through). Analyzers run on 5–10 fps, not the full rate.
type Sampler struct {
	every time.Duration
	next  time.Duration
	began bool
}

// NewSampler returns a sampler keeping fps frames per second.
func NewSampler(fps float64) (*Sampler, error) {
	if fps <= 0 || fps > 120 {
		return nil, fmt.Errorf("%w: sample fps %v (want 0 < fps <= 120)", ErrUnsupported, fps)
	}
	return &Sampler{every: time.Duration(float64(time.Second) / fps)}, nil
}

// Process implements Stage.
func (s *Sampler) Process(_ context.Context, in Packet, emit Emit) error {
	if in.Video == nil {
		emit(in)
		return nil
	}
	if !s.began || in.Video.PTS >= s.next {
		s.began = true
		// Advance on a fixed grid so the kept rate does not drift with jitter.
		for s.next <= in.Video.PTS {
			s.next += s.every
		}
		emit(in)
	}
	return nil
}
