package gst

import (
	"errors"
	"fmt"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// ErrEOS is returned by Sink.Pull once the appsink has delivered its last
// sample.
var ErrEOS = errors.New("end of stream")

// Pull reads one sample synchronously, waiting at most timeout (0 polls).
// ok is false when nothing arrived in time. It is for stages that run a
// small GStreamer filter inline (push a frame into an appsrc, pull what came
// out) from their own goroutine; do not mix it with Run on the same Sink.
func (s *Sink) Pull(timeout time.Duration) (pkt pipeline.Packet, ok bool, err error) {
	sample := s.sink.TryPullSample(clockTime(timeout))
	if sample == nil {
		if s.sink.IsEOS() {
			return pkt, false, ErrEOS
		}
		if err := s.p.Err(); err != nil {
			return pkt, false, err
		}
		if s.p.State() == StateFinished {
			return pkt, false, ErrClosed
		}
		return pkt, false, nil
	}
	pkt, err = convertSample(sample)
	if err != nil {
		return pkt, false, fmt.Errorf("appsink %s: %w", s.name, err)
	}
	s.frames.Add(1)
	return pkt, true, nil
}
