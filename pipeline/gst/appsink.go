package gst

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/witness-media/witness/pipeline"
)

// Sink reads frames from a named appsink. It implements pipeline.Source: its
// Run goroutine pulls samples (no Go callbacks on GStreamer streaming
// threads) and emits them. Put a caps filter before the appsink, e.g.
// "videoconvert ! video/x-raw,format=RGBA ! appsink name=v".
type Sink struct {
	p      *Pipeline
	name   string
	sink   *app.Sink
	frames atomic.Uint64
}

// Sink returns a reader for the appsink called name.
func (p *Pipeline) Sink(name string) (*Sink, error) {
	e, err := p.element(name)
	if err != nil {
		return nil, err
	}
	if f := e.GetFactory(); f == nil || f.GetName() != "appsink" {
		return nil, fmt.Errorf("%w: %q is not an appsink", ErrNoElement, name)
	}
	return &Sink{p: p, name: name, sink: app.SinkFromElement(e)}, nil
}

// Frames counts frames read so far.
func (s *Sink) Frames() uint64 { return s.frames.Load() }

// Run pulls samples until EOS (returns nil), a pipeline error, or ctx ends.
func (s *Sink) Run(ctx context.Context, emit pipeline.Emit) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		sample := s.sink.TryPullSample(clockTime(50 * time.Millisecond))
		if sample == nil {
			if s.sink.IsEOS() {
				return nil
			}
			if err := s.p.Err(); err != nil {
				return err
			}
			if s.p.State() == StateFinished {
				return ErrClosed
			}
			continue
		}
		pkt, err := convertSample(sample)
		if err != nil {
			return fmt.Errorf("appsink %s: %w", s.name, err)
		}
		s.frames.Add(1)
		emit(pkt)
	}
}

// convertSample copies a GStreamer sample into a Go frame.
func convertSample(sample *gst.Sample) (pipeline.Packet, error) {
	caps := sample.GetCaps()
	buf := sample.GetBuffer()
	if caps == nil || buf == nil || caps.GetSize() == 0 {
		return pipeline.Packet{}, fmt.Errorf("%w: sample without caps or buffer", pipeline.ErrInvalidFrame)
	}
	st := caps.GetStructureAt(0)
	pts := time.Duration(0)
	if ts := buf.PresentationTimestamp(); ts != gst.ClockTimeNone {
		pts = time.Duration(ts)
	}
	data := buf.Bytes()
	switch st.Name() {
	case "video/x-raw":
		v, err := videoFrame(caps, st, data)
		if err != nil {
			return pipeline.Packet{}, err
		}
		v.PTS = pts
		if d := buf.Duration(); d != gst.ClockTimeNone {
			v.Duration = time.Duration(d)
		}
		return pipeline.Packet{Video: v}, nil
	case "audio/x-raw":
		a, err := audioFrame(st, data)
		if err != nil {
			return pipeline.Packet{}, err
		}
		a.PTS = pts
		return pipeline.Packet{Audio: a}, nil
	}
	return pipeline.Packet{}, fmt.Errorf("%w: caps %s", pipeline.ErrUnsupported, caps.String())
}

func videoFrame(caps *gst.Caps, st *gst.Structure, data []byte) (*pipeline.VideoFrame, error) {
	fv, _ := st.GetValue("format")
	format, _ := fv.(string)
	pf := pipeline.PixelFormat(format)
	switch pf {
	case pipeline.PixelRGBA, pipeline.PixelRGB, pipeline.PixelGray, pipeline.PixelI420:
	default:
		return nil, fmt.Errorf("%w: appsink video format %q (add a caps filter: RGBA, RGB, GRAY8 or I420)", pipeline.ErrUnsupported, format)
	}
	l, err := layoutFromCaps(caps)
	if err != nil {
		return nil, err
	}
	if len(data) < l.size {
		return nil, fmt.Errorf("%w: buffer %d bytes, caps need %d", pipeline.ErrInvalidFrame, len(data), l.size)
	}
	f := &pipeline.VideoFrame{Format: pf, Width: l.width, Height: l.height}
	// Repack planes back to back: GStreamer may leave gaps between planes.
	out := make([]byte, 0, l.size)
	for i := 0; i < l.planes && i < 3; i++ {
		n := l.stride[i] * planeRows(pf, l.height, i)
		out = append(out, data[l.offset[i]:l.offset[i]+n]...)
		f.Stride[i] = l.stride[i]
	}
	f.Data = out
	return f, f.Validate()
}

func audioFrame(st *gst.Structure, data []byte) (*pipeline.AudioFrame, error) {
	fv, _ := st.GetValue("format")
	format, _ := fv.(string)
	rate, _ := st.GetValue("rate")
	ch, _ := st.GetValue("channels")
	lay, _ := st.GetValue("layout")
	a := &pipeline.AudioFrame{SampleRate: toInt(rate), Channels: toInt(ch)}
	if l, _ := lay.(string); l != "" && l != "interleaved" {
		return nil, fmt.Errorf("%w: audio layout %q (use audioconvert)", pipeline.ErrUnsupported, l)
	}
	switch format {
	case "S16LE":
		a.Format = pipeline.SampleS16
		a.S16 = make([]int16, len(data)/2)
		for i := range a.S16 {
			a.S16[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
	case "F32LE":
		a.Format = pipeline.SampleF32
		a.F32 = make([]float32, len(data)/4)
		for i := range a.F32 {
			a.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	default:
		return nil, fmt.Errorf("%w: appsink audio format %q (add a caps filter: S16LE or F32LE)", pipeline.ErrUnsupported, format)
	}
	return a, a.Validate()
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int32:
		return int(n)
	case int64:
		return int(n)
	case uint:
		return int(n)
	case uint32:
		return int(n)
	}
	return 0
}
