package gst

import (
	"errors"
	"fmt"
	"sync"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
)

// RTPSrc writes raw RTP packets into a named live appsrc declared with
// "is-live=true format=time do-timestamp=true caps=application/x-rtp,...":
// the appsrc stamps each packet with its arrival running time, which is
// what rtpjitterbuffer expects. Safe for concurrent use.
type RTPSrc struct {
	p       *Pipeline
	name    string
	src     *app.Source
	mu      sync.Mutex
	ended   bool
	playing bool
}

// ErrNotPlaying: the appsrc is not PLAYING yet, so it could not stamp the
// packet with a running time (a packet pushed then comes out without a
// timestamp and fails the muxer); the packet was dropped.
var ErrNotPlaying = errors.New("gst: appsrc not playing yet; packet dropped")

// RTPSrc returns the writer for the appsrc called name.
func (p *Pipeline) RTPSrc(name string) (*RTPSrc, error) {
	e, err := p.element(name)
	if err != nil {
		return nil, err
	}
	if f := e.GetFactory(); f == nil || f.GetName() != "appsrc" {
		return nil, fmt.Errorf("%w: %q is not an appsrc", ErrNoElement, name)
	}
	return &RTPSrc{p: p, name: name, src: app.SrcFromElement(e)}, nil
}

// Push sends one packet (copied). After EndStream it is an error.
func (s *RTPSrc) Push(pkt []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return fmt.Errorf("%w: appsrc %s already ended", ErrFlow, s.name)
	}
	if !s.playing {
		if s.src.GetCurrentState() != gst.StatePlaying {
			return ErrNotPlaying
		}
		s.playing = true
	}
	if ret := s.src.PushBuffer(gst.NewBufferFromBytes(pkt)); ret != gst.FlowOK {
		if err := s.p.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: appsrc %s: %s", ErrFlow, s.name, ret)
	}
	return nil
}

// EndStream ends this source.
func (s *RTPSrc) EndStream() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return nil
	}
	s.ended = true
	if ret := s.src.EndStream(); ret != gst.FlowOK {
		return fmt.Errorf("%w: appsrc %s end: %s", ErrFlow, s.name, ret)
	}
	return nil
}
