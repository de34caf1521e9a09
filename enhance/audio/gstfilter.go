package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
)

// gstFilter runs a GStreamer audio filter chain inline: frames go into an
// appsrc, the chain processes them on GStreamer's streaming thread, and the
// owner (the stage's goroutine) pulls what came out of the appsink. One
// pipeline per stream, built on the first frame (caps come from it).
type gstFilter struct {
	name    string
	filter  string   // gst-launch fragment between the converters
	rates   []int    // rates the filter accepts
	require []string // elements to check before building
	// hold is how much audio (per channel) the filter may keep back before
	// process waits for output: its internal block plus resampler history.
	hold time.Duration
	// delay is the filter's own algorithmic delay in samples at each
	// supported rate (measured; WebRTC's suppressor: 6 ms plus its band
	// splitter's at 32 and 48 kHz); output is advanced by it so it lines
	// up with the input sample for sample.
	delay map[int]int64

	p       *gst.Pipeline
	src     *gst.Src
	sink    *gst.Sink
	format  pipeline.SampleFormat
	rate    int
	ch      int
	pushed  int64 // samples per channel pushed (real input only)
	pulled  int64 // samples per channel pulled from the appsink
	emitted int64 // samples per channel handed on
	pts0    time.Duration
	started bool
	ended   bool
}

func (g *gstFilter) start(a *pipeline.AudioFrame) error {
	if err := gst.Require(g.require...); err != nil {
		return err
	}
	// Filters run at the stream's own rate: converting rates inside would
	// shift the output against the input by the resamplers' latency, and
	// evidence must stay in sync. The caller resamples upstream.
	if !slices.Contains(g.rates, a.SampleRate) {
		return fmt.Errorf("%w: %s needs a sample rate in %v, stream is %d Hz (resample upstream)", ErrFormat, g.name, g.rates, a.SampleRate)
	}
	inner := a.SampleRate
	desc := fmt.Sprintf("appsrc name=in format=time ! audioconvert ! audioresample ! "+
		"audio/x-raw,format=S16LE,layout=interleaved,rate=%d,channels=%d ! %s ! "+
		"audioconvert ! audioresample ! audio/x-raw,format=%s,layout=interleaved,rate=%d,channels=%d ! "+
		"appsink name=out sync=false", inner, a.Channels, g.filter, a.Format, a.SampleRate, a.Channels)
	p, err := gst.NewFromLaunch(g.name, desc, gst.Options{}, slog.Default())
	if err != nil {
		return err
	}
	src, err := p.Src("in", 0)
	if err != nil {
		p.Close()
		return err
	}
	sink, err := p.Sink("out")
	if err != nil {
		p.Close()
		return err
	}
	if err := p.Start(context.Background()); err != nil {
		p.Close()
		return err
	}
	g.p, g.src, g.sink = p, src, sink
	g.format, g.rate, g.ch, g.started, g.pts0 = a.Format, a.SampleRate, a.Channels, true, a.PTS
	return nil
}

// process pushes a frame and returns the frames the filter has finished.
func (g *gstFilter) process(a *pipeline.AudioFrame) ([]*pipeline.AudioFrame, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if !g.started {
		if err := g.start(a); err != nil {
			return nil, err
		}
	} else if a.Format != g.format || a.SampleRate != g.rate || a.Channels != g.ch {
		return nil, fmt.Errorf("%w: %s %d Hz %d ch after %s %d Hz %d ch", ErrFormat, a.Format, a.SampleRate, a.Channels, g.format, g.rate, g.ch)
	}
	if err := g.src.PushAudio(a); err != nil {
		return nil, err
	}
	g.pushed += int64(a.Samples())
	holdN := int64(g.hold * time.Duration(g.rate) / time.Second)
	var out []*pipeline.AudioFrame
	// Drain what is ready, then wait (bounded) while more than the filter's
	// own block is outstanding, so live latency stays at one block.
	deadline := time.Now().Add(2 * time.Second)
	for {
		wait := time.Duration(0)
		if g.pushed-g.pulled > holdN && time.Now().Before(deadline) {
			wait = 20 * time.Millisecond
		}
		pkt, ok, err := g.sink.Pull(wait)
		if err != nil {
			return out, err
		}
		if !ok {
			if wait == 0 {
				return out, nil
			}
			continue
		}
		if f := g.take(pkt.Audio); f != nil {
			out = append(out, f)
		}
	}
}

func (g *gstFilter) delayN() int64 {
	return g.delay[g.rate]
}

// take drops the filter's delay from the start of the output and the
// padding from its end, and restamps PTS from sample counts so the output
// timeline is the input's.
func (g *gstFilter) take(a *pipeline.AudioFrame) *pipeline.AudioFrame {
	if a == nil {
		return nil
	}
	n := int64(a.Samples())
	from := g.pulled
	g.pulled += n
	lo := max(g.delayN()-from, 0)          // leading samples to drop
	hi := min(n, g.pushed+g.delayN()-from) // samples up to the end of real input
	if lo >= hi {
		return nil
	}
	f := &pipeline.AudioFrame{Format: a.Format, SampleRate: a.SampleRate, Channels: a.Channels,
		PTS: g.pts0 + time.Duration(g.emitted)*time.Second/time.Duration(g.rate)}
	c := int64(a.Channels)
	if a.Format == pipeline.SampleS16 {
		f.S16 = a.S16[lo*c : hi*c]
	} else {
		f.F32 = a.F32[lo*c : hi*c]
	}
	g.emitted += hi - lo
	return f
}

// flush ends the stream and returns the rest.
func (g *gstFilter) flush() ([]*pipeline.AudioFrame, error) {
	if !g.started || g.ended {
		return nil, nil
	}
	g.ended = true
	if d := g.delayN() + int64(g.rate/100); d > 0 {
		// Silence pushes the delayed tail of the real input out, plus one
		// 10 ms block because block-based filters keep a partial block.
		pad := &pipeline.AudioFrame{Format: g.format, SampleRate: g.rate, Channels: g.ch,
			PTS: g.pts0 + time.Duration(g.pushed)*time.Second/time.Duration(g.rate)}
		if g.format == pipeline.SampleS16 {
			pad.S16 = make([]int16, d*int64(g.ch))
		} else {
			pad.F32 = make([]float32, d*int64(g.ch))
		}
		if err := g.src.PushAudio(pad); err != nil {
			return nil, err
		}
	}
	if err := g.src.EndStream(); err != nil {
		return nil, err
	}
	var out []*pipeline.AudioFrame
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		pkt, ok, err := g.sink.Pull(100 * time.Millisecond)
		if errors.Is(err, gst.ErrEOS) {
			return out, g.p.Stop(context.Background())
		}
		if err != nil {
			return out, err
		}
		if ok {
			if f := g.take(pkt.Audio); f != nil {
				out = append(out, f)
			}
		}
	}
	return out, fmt.Errorf("%w: %s did not drain", gst.ErrEOSTimeout, g.name)
}

func (g *gstFilter) close() error {
	if g.p == nil {
		return nil
	}
	return g.p.Close()
}
