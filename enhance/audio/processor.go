// Package audio holds Witness's audio enhancement stages: noise suppression
// (WebRTC's suppressor through GStreamer, a Go STFT suppressor for steady
// noise and keyboard clicks, and a slot for an operator-supplied streaming
// ONNX model) and voice effects. Every stage keeps its state per stream (one
// stage instance per participant's audio), works on 10 ms frames live and on
// whole files offline, and keeps output PTS aligned with the input's content.
package audio

import (
	"errors"
	"fmt"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// Sentinel errors.
var (
	ErrParams = errors.New("audio enhancement: invalid params")
	ErrFormat = errors.New("audio enhancement: format changed mid-stream")
)

// blockFunc processes hop samples of one channel in place-style: it reads in
// and writes out (both len hop). It owns the channel's state.
type blockFunc func(in, out []float64)

// blockProcessor turns per-channel block functions with a fixed latency
// into a frame processor: it buffers input to whole blocks, deinterleaves,
// runs each channel and reinterleaves, dropping the first latency samples
// and padding the end on Flush so output lines up with input sample for
// sample (evidence recordings keep lip sync).
type blockProcessor struct {
	newChan func(rate int) (blockFunc, int, int) // fn, hop, latency in samples
	format  pipeline.SampleFormat
	rate    int
	ch      int
	hop     int
	latency int
	fns     []blockFunc
	pending []float64 // interleaved input not yet a whole block
	toSkip  int       // output samples still to drop (latency)
	inN     int64     // samples per channel received
	outN    int64     // samples per channel emitted
	pts0    time.Duration
	started bool
	inBuf   []float64
	outBuf  []float64
	// check reports an error a channel hit (model failures); release frees
	// shared resources. Both optional.
	check   func() error
	release func() error
}

func (b *blockProcessor) start(a *pipeline.AudioFrame) {
	b.format, b.rate, b.ch, b.pts0, b.started = a.Format, a.SampleRate, a.Channels, a.PTS, true
	b.fns = make([]blockFunc, b.ch)
	for c := range b.fns {
		b.fns[c], b.hop, b.latency = b.newChan(b.rate)
	}
	b.toSkip = b.latency
	b.inBuf = make([]float64, b.hop)
	b.outBuf = make([]float64, b.hop)
}

// process consumes a frame and returns the finished output (possibly none).
func (b *blockProcessor) process(a *pipeline.AudioFrame) (*pipeline.AudioFrame, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if !b.started {
		b.start(a)
	} else if a.Format != b.format || a.SampleRate != b.rate || a.Channels != b.ch {
		return nil, fmt.Errorf("%w: %s %d Hz %d ch after %s %d Hz %d ch", ErrFormat, a.Format, a.SampleRate, a.Channels, b.format, b.rate, b.ch)
	}
	n := a.Samples()
	for i := 0; i < n*b.ch; i++ {
		if a.Format == pipeline.SampleS16 {
			b.pending = append(b.pending, float64(a.S16[i])/32768)
		} else {
			b.pending = append(b.pending, float64(a.F32[i]))
		}
	}
	b.inN += int64(n)
	f := b.run(false)
	if b.check != nil {
		if err := b.check(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// flush pushes silence through to release the latency tail.
func (b *blockProcessor) flush() *pipeline.AudioFrame {
	if !b.started {
		return nil
	}
	return b.run(true)
}

func (b *blockProcessor) run(final bool) *pipeline.AudioFrame {
	var out []float64
	blk := b.hop * b.ch
	for len(b.pending) >= blk || (final && b.outN+int64(len(out)/b.ch) < b.inN) {
		if len(b.pending) < blk {
			b.pending = append(b.pending, make([]float64, blk-len(b.pending))...)
		}
		res := make([]float64, blk)
		for c := 0; c < b.ch; c++ {
			for i := 0; i < b.hop; i++ {
				b.inBuf[i] = b.pending[i*b.ch+c]
			}
			b.fns[c](b.inBuf, b.outBuf)
			for i := 0; i < b.hop; i++ {
				res[i*b.ch+c] = b.outBuf[i]
			}
		}
		b.pending = b.pending[blk:]
		skip := min(b.toSkip, b.hop)
		b.toSkip -= skip
		out = append(out, res[skip*b.ch:]...)
	}
	if len(b.pending) == 0 {
		b.pending = nil // let the backing array go
	}
	if final {
		// Trim padding so exactly as many samples leave as came in.
		if over := b.outN + int64(len(out)/b.ch) - b.inN; over > 0 {
			out = out[:len(out)-int(over)*b.ch]
		}
	}
	if len(out) == 0 {
		return nil
	}
	f := &pipeline.AudioFrame{Format: b.format, SampleRate: b.rate, Channels: b.ch,
		PTS: b.pts0 + time.Duration(b.outN)*time.Second/time.Duration(b.rate)}
	if b.format == pipeline.SampleS16 {
		f.S16 = make([]int16, len(out))
		for i, v := range out {
			f.S16[i] = toS16(v)
		}
	} else {
		f.F32 = make([]float32, len(out))
		for i, v := range out {
			f.F32[i] = float32(v)
		}
	}
	b.outN += int64(len(out) / b.ch)
	return f
}

func toS16(v float64) int16 {
	v *= 32768
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	if v < 0 {
		return int16(v - 0.5)
	}
	return int16(v + 0.5)
}
