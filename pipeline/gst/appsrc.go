package gst

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/witness-media/witness/pipeline"
)

// Src writes Go frames into a named appsrc. It implements pipeline.Stage and
// pipeline.Flusher: as a graph stage it pushes every frame it receives and
// ends the stream when its input ends. Declare the appsrc with
// "appsrc name=v format=time" so buffers are timestamped in time units; caps
// are set from the first frame.
type Src struct {
	p       *Pipeline
	name    string
	src     *app.Source
	capsSet bool
	fps     int
	layout  videoLayout
	ended   bool
}

// Src returns a writer for the appsrc called name. fps sets the video
// framerate in the caps (0 derives it from the first frame's Duration).
func (p *Pipeline) Src(name string, fps int) (*Src, error) {
	e, err := p.element(name)
	if err != nil {
		return nil, err
	}
	if f := e.GetFactory(); f == nil || f.GetName() != "appsrc" {
		return nil, fmt.Errorf("%w: %q is not an appsrc", ErrNoElement, name)
	}
	return &Src{p: p, name: name, src: app.SrcFromElement(e), fps: fps}, nil
}

// PushVideo sends one frame, repacking rows if its stride differs from the
// layout GStreamer expects for the caps.
func (s *Src) PushVideo(f *pipeline.VideoFrame) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if !s.capsSet {
		fps := s.fps
		if fps <= 0 && f.Duration > 0 {
			fps = int(math.Round(float64(time.Second) / float64(f.Duration)))
		}
		if fps <= 0 {
			fps = 25
		}
		l, err := layoutFor(f.Format, f.Width, f.Height)
		if err != nil {
			return err
		}
		s.layout = l
		s.src.SetCaps(gst.NewCapsFromString(fmt.Sprintf("video/x-raw,format=%s,width=%d,height=%d,framerate=%d/1", f.Format, f.Width, f.Height, fps)))
		s.capsSet = true
	}
	if f.Width != s.layout.width || f.Height != s.layout.height {
		return fmt.Errorf("%w: frame %dx%d after caps %dx%d", pipeline.ErrInvalidFrame, f.Width, f.Height, s.layout.width, s.layout.height)
	}
	data := make([]byte, s.layout.size)
	for i := 0; i < s.layout.planes && i < 3; i++ {
		src := f.Plane(i)
		rows := planeRows(f.Format, f.Height, i)
		row := min(f.Stride[i], s.layout.stride[i])
		for y := 0; y < rows; y++ {
			copy(data[s.layout.offset[i]+y*s.layout.stride[i]:][:row], src[y*f.Stride[i]:][:row])
		}
	}
	return s.push(data, f.PTS, f.Duration)
}

// PushAudio sends one block of interleaved PCM.
func (s *Src) PushAudio(a *pipeline.AudioFrame) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if !s.capsSet {
		s.src.SetCaps(gst.NewCapsFromString(fmt.Sprintf("audio/x-raw,format=%s,layout=interleaved,rate=%d,channels=%d", a.Format, a.SampleRate, a.Channels)))
		s.capsSet = true
	}
	var data []byte
	switch a.Format {
	case pipeline.SampleS16:
		data = make([]byte, 2*len(a.S16))
		for i, v := range a.S16 {
			binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
		}
	case pipeline.SampleF32:
		data = make([]byte, 4*len(a.F32))
		for i, v := range a.F32 {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
	}
	return s.push(data, a.PTS, a.Duration())
}

func (s *Src) push(data []byte, pts, dur time.Duration) error {
	if s.ended {
		return fmt.Errorf("%w: appsrc %s already ended", ErrFlow, s.name)
	}
	buf := gst.NewBufferFromBytes(data)
	buf.SetPresentationTimestamp(gst.ClockTime(pts.Nanoseconds()))
	if dur > 0 {
		buf.SetDuration(gst.ClockTime(dur.Nanoseconds()))
	}
	if ret := s.src.PushBuffer(buf); ret != gst.FlowOK {
		if err := s.p.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: appsrc %s: %s", ErrFlow, s.name, ret)
	}
	return nil
}

// EndStream signals EOS on this source; the pipeline reaches EOS when all its
// sources have ended.
func (s *Src) EndStream() error {
	if s.ended {
		return nil
	}
	s.ended = true
	if ret := s.src.EndStream(); ret != gst.FlowOK {
		return fmt.Errorf("%w: appsrc %s end: %s", ErrFlow, s.name, ret)
	}
	return nil
}

// Process implements pipeline.Stage: video and audio are pushed, other
// packets ignored.
func (s *Src) Process(_ context.Context, in pipeline.Packet, _ pipeline.Emit) error {
	switch {
	case in.Video != nil:
		return s.PushVideo(in.Video)
	case in.Audio != nil:
		return s.PushAudio(in.Audio)
	}
	return nil
}

// Flush implements pipeline.Flusher: the graph input ended, so end the stream.
func (s *Src) Flush(context.Context, pipeline.Emit) error { return s.EndStream() }
