package voiceprint

import (
	"fmt"

	"github.com/witness-media/witness/models"
)

// VAD is Silero VAD v5 at 16 kHz: 512-sample windows (32 ms) with 64
// samples of context and a recurrent state.
type VAD struct {
	s       *models.Session
	state   []float32
	context []float32
	pending []float32
}

const vadWin = 512

// NewVAD opens the manifest's Silero VAD.
func NewVAD() (*VAD, error) {
	s, err := models.Open("silero-vad")
	if err != nil {
		return nil, err
	}
	return &VAD{s: s, state: make([]float32, 2*128), context: make([]float32, 64)}, nil
}

// Push feeds 16 kHz mono samples and calls fn for every complete window
// with its samples and speech probability.
func (v *VAD) Push(x []float32, fn func(win []float32, p float32)) error {
	v.pending = append(v.pending, x...)
	for len(v.pending) >= vadWin {
		win := v.pending[:vadWin]
		in := make([]float32, 0, 64+vadWin)
		in = append(in, v.context...)
		in = append(in, win...)
		out, err := v.s.Run([]models.Tensor{
			models.Float32Tensor(in, 1, int64(len(in))),
			models.Float32Tensor(v.state, 2, 1, 128),
			models.Int64Tensor([]int64{Rate}),
		})
		if err != nil {
			return fmt.Errorf("silero vad: %w", err)
		}
		copy(v.state, out[1].Float32)
		copy(v.context, win[vadWin-64:])
		fn(append([]float32(nil), win...), out[0].Float32[0])
		v.pending = v.pending[vadWin:]
	}
	return nil
}

// Speech returns the samples of x that the VAD marks as speech (windows
// with probability >= threshold), in order.
func Speech(x []float32, threshold float32) ([]float32, error) {
	v, err := NewVAD()
	if err != nil {
		return nil, err
	}
	var out []float32
	err = v.Push(x, func(win []float32, p float32) {
		if p >= threshold {
			out = append(out, win...)
		}
	})
	return out, err
}
