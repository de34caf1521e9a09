package audio

import (
	"fmt"
	"math"

	"github.com/witness-media/witness/models"
)

// ONNX modes.
const (
	// ModeWaveform: the model maps a block of samples to a block of
	// enhanced samples (DTLN's second stage, many time-domain models);
	// blocks overlap by Block-Hop and are overlap-added.
	ModeWaveform = "waveform"
	// ModeMask: the model maps a magnitude spectrum (Block/2+1 bins of a
	// sqrt-Hann STFT with Hop = Block/2) to a gain mask of the same shape.
	ModeMask = "mask"
)

// ONNXState is one recurrent state tensor: the model's output Out is fed
// back as its input In on the next call (zeros at the start of a stream).
type ONNXState struct {
	In    string  `yaml:"in"`
	Out   string  `yaml:"out"`
	Shape []int64 `yaml:"shape"`
}

// ONNXOptions declare an operator-supplied streaming denoise model. No
// suitable model ships in the registries Witness pulls from, so none is
// bundled; this is the slot for one (for example DTLN or GTCRN exported
// with explicit state inputs and outputs).
type ONNXOptions struct {
	Model  string      `yaml:"model"`  // path to the .onnx file
	Rate   int         `yaml:"rate"`   // sample rate the model expects; the stream must match
	Mode   string      `yaml:"mode"`   // waveform | mask
	Block  int         `yaml:"block"`  // samples per model call
	Hop    int         `yaml:"hop"`    // new samples per call
	Input  string      `yaml:"input"`  // name of the audio (or magnitude) input
	Output string      `yaml:"output"` // name of the audio (or mask) output
	States []ONNXState `yaml:"states"`
}

// Validate checks the declaration (not the file: that happens on load).
func (o *ONNXOptions) Validate() error {
	if o.Model == "" || o.Input == "" || o.Output == "" {
		return fmt.Errorf("%w: onnx needs model, input and output", ErrParams)
	}
	if o.Rate <= 0 || o.Block <= 0 || o.Hop <= 0 || o.Hop > o.Block {
		return fmt.Errorf("%w: onnx rate %d block %d hop %d", ErrParams, o.Rate, o.Block, o.Hop)
	}
	switch o.Mode {
	case ModeWaveform:
	case ModeMask:
		if o.Hop*2 != o.Block {
			return fmt.Errorf("%w: onnx mask mode needs hop = block/2", ErrParams)
		}
	default:
		return fmt.Errorf("%w: onnx mode %q (waveform, mask)", ErrParams, o.Mode)
	}
	for _, s := range o.States {
		if s.In == "" || s.Out == "" || len(s.Shape) == 0 {
			return fmt.Errorf("%w: onnx state needs in, out and shape", ErrParams)
		}
	}
	return nil
}

// onnxChannel is one stream channel's model state.
type onnxChannel struct {
	o      ONNXOptions
	sess   *models.Session
	inIdx  map[string]int
	outIdx map[string]int
	states map[string][]float32 // by input name
	win    []float32            // last Block input samples
	ola    []float64            // overlap-add buffer (waveform mode)
	st     *stft                // mask mode
	calls  int
	err    error
}

func newONNXStep(o ONNXOptions) (goStep, error) {
	sess, err := models.OpenONNX(o.Model)
	if err != nil {
		return goStep{}, err
	}
	ins, outs := map[string]int{}, map[string]int{}
	for i, x := range sess.Inputs() {
		ins[x.Name] = i
	}
	for i, x := range sess.Outputs() {
		outs[x.Name] = i
	}
	need := []string{o.Input}
	for _, s := range o.States {
		need = append(need, s.In)
	}
	for _, n := range need {
		if _, ok := ins[n]; !ok {
			sess.Close()
			return goStep{}, fmt.Errorf("%w: model %s has no input %q", ErrParams, o.Model, n)
		}
	}
	if len(need) != len(ins) {
		sess.Close()
		return goStep{}, fmt.Errorf("%w: model %s has %d inputs, %d declared", ErrParams, o.Model, len(ins), len(need))
	}
	for _, n := range append([]string{o.Output}, stateOuts(o)...) {
		if _, ok := outs[n]; !ok {
			sess.Close()
			return goStep{}, fmt.Errorf("%w: model %s has no output %q", ErrParams, o.Model, n)
		}
	}
	var chans []*onnxChannel
	step := goStep{&blockProcessor{newChan: func(rate int) (blockFunc, int, int) {
		c := &onnxChannel{o: o, sess: sess, inIdx: ins, outIdx: outs, states: map[string][]float32{},
			win: make([]float32, o.Block), ola: make([]float64, o.Block)}
		for _, s := range o.States {
			n := int64(1)
			for _, d := range s.Shape {
				n *= d
			}
			c.states[s.In] = make([]float32, n)
		}
		if o.Mode == ModeMask {
			c.st = newSTFT(o.Block)
		}
		chans = append(chans, c)
		if rate != o.Rate {
			c.err = fmt.Errorf("%w: stream is %d Hz, model %s expects %d Hz", ErrFormat, rate, o.Model, o.Rate)
		}
		return c.block, o.Hop, o.Block - o.Hop
	}}}
	step.b.check = func() error {
		for _, c := range chans {
			if c.err != nil {
				return c.err
			}
		}
		return nil
	}
	step.b.release = func() error { return sess.Close() }
	return step, nil
}

func stateOuts(o ONNXOptions) []string {
	var s []string
	for _, x := range o.States {
		s = append(s, x.Out)
	}
	return s
}

// run calls the model once with data as the audio input and feeds the
// states back; it returns the main output.
func (c *onnxChannel) run(data []float32, shape []int64) []float32 {
	if c.err != nil {
		return nil
	}
	in := make([]models.Tensor, len(c.inIdx))
	in[c.inIdx[c.o.Input]] = models.Float32Tensor(data, shape...)
	for _, s := range c.o.States {
		in[c.inIdx[s.In]] = models.Float32Tensor(c.states[s.In], s.Shape...)
	}
	out, err := c.sess.Run(in)
	if err != nil {
		c.err = err
		return nil
	}
	c.calls++
	for _, s := range c.o.States {
		c.states[s.In] = out[c.outIdx[s.Out]].Float32
	}
	return out[c.outIdx[c.o.Output]].Float32
}

func (c *onnxChannel) block(in, out []float64) {
	copy(c.win, c.win[c.o.Hop:])
	for i, v := range in {
		c.win[c.o.Block-c.o.Hop+i] = float32(v)
	}
	if c.o.Mode == ModeMask {
		c.st.push(in, out, func(spec []complex128) {
			mag := make([]float32, len(spec))
			for k, v := range spec {
				mag[k] = float32(cmplxAbs(v))
			}
			m := c.run(mag, []int64{1, 1, int64(len(mag))})
			if len(m) != len(spec) {
				if c.err == nil {
					c.err = fmt.Errorf("%w: mask has %d values for %d bins", ErrParams, len(m), len(spec))
				}
				return
			}
			for k := range spec {
				spec[k] *= complex(math.Max(0, float64(m[k])), 0)
			}
		})
		return
	}
	y := c.run(append([]float32(nil), c.win...), []int64{1, int64(c.o.Block)})
	if len(y) != c.o.Block {
		if c.err == nil {
			c.err = fmt.Errorf("%w: model output has %d samples, block is %d", ErrParams, len(y), c.o.Block)
		}
		clear(out)
		return
	}
	for i, v := range y {
		c.ola[i] += float64(v)
	}
	copy(out, c.ola[:c.o.Hop])
	copy(c.ola, c.ola[c.o.Hop:])
	clear(c.ola[c.o.Block-c.o.Hop:])
}
