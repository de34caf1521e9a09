package audio

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/witness-media/witness/enhance/audio/audiotest"
	"github.com/witness-media/witness/models"
)

// A minimal protobuf writer, enough to build small ONNX graphs at test time
// (no model file is stored in git).
type pb []byte

func (b pb) varint(field int, v uint64) pb {
	b = binary.AppendUvarint(b, uint64(field<<3))
	return binary.AppendUvarint(b, v)
}

func (b pb) bytes(field int, v []byte) pb {
	b = binary.AppendUvarint(b, uint64(field<<3|2))
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func (b pb) str(field int, s string) pb { return b.bytes(field, []byte(s)) }

func valueInfo(name string, dims ...int64) pb {
	var shape pb
	for _, d := range dims {
		shape = shape.bytes(1, pb(nil).varint(1, uint64(d)))
	}
	tensor := pb(nil).varint(1, 1).bytes(2, shape) // elem_type FLOAT
	return pb(nil).str(1, name).bytes(2, pb(nil).bytes(1, tensor))
}

func scalar(name string, v float32) pb {
	var data pb
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	return pb(nil).varint(1, 1).varint(2, 1).bytes(4, data).str(8, name)
}

func node(op string, out string, in ...string) pb {
	n := pb(nil)
	for _, i := range in {
		n = n.str(1, i)
	}
	return n.str(2, out).str(4, op)
}

// writeModel writes an ONNX model (opset 13) and returns its path.
func writeModel(t *testing.T, nodes, inits, inputs, outputs []pb) string {
	g := pb(nil)
	for _, n := range nodes {
		g = g.bytes(1, n)
	}
	g = g.str(2, "test")
	for _, x := range inits {
		g = g.bytes(5, x)
	}
	for _, x := range inputs {
		g = g.bytes(11, x)
	}
	for _, x := range outputs {
		g = g.bytes(12, x)
	}
	m := pb(nil).varint(1, 7).str(2, "witness-test").bytes(7, g).bytes(8, pb(nil).str(1, "").varint(2, 13))
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(p, m, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func onnxAvailable(t *testing.T) {
	if err := models.InitRuntime(""); err != nil {
		t.Skip(err)
	}
}

// TestONNXWaveformState: a streaming model with a recurrent state. The
// model outputs audio x (state+1) and state+1, so block k comes out scaled
// by k only if the state is fed back call after call.
func TestONNXWaveformState(t *testing.T) {
	onnxAvailable(t)
	const block = 160
	path := writeModel(t,
		[]pb{node("Add", "state_out", "state_in", "one"), node("Mul", "enhanced", "audio", "state_out")},
		[]pb{scalar("one", 1)},
		[]pb{valueInfo("audio", 1, block), valueInfo("state_in", 1, 1)},
		[]pb{valueInfo("enhanced", 1, block), valueInfo("state_out", 1, 1)})
	st, err := NewDenoise(DenoiseOptions{Engine: EngineONNX, Transient: ptr(false), ONNX: &ONNXOptions{
		Model: path, Rate: 16000, Mode: ModeWaveform, Block: block, Hop: block, Input: "audio", Output: "enhanced",
		States: []ONNXState{{In: "state_in", Out: "state_out", Shape: []int64{1, 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 5*block)
	for i := range x {
		x[i] = 0.01 * math.Sin(float64(i)/7)
	}
	out, err := Run(st, audiotest.Frames(x, 16000, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	y := audiotest.Join(out)
	if len(y) != len(x) {
		t.Fatalf("%d samples in, %d out", len(x), len(y))
	}
	for k := 0; k < 5; k++ {
		i := k*block + 40
		if got := y[i] / x[i]; math.Abs(got-float64(k+1)) > 0.02*float64(k+1) {
			t.Errorf("block %d: gain %.3f, want %d", k, got, k+1)
		}
	}
}

// TestONNXMask: a mask model (constant 0.5 here) halves the signal through
// the STFT, output aligned with input.
func TestONNXMask(t *testing.T) {
	onnxAvailable(t)
	const block = 320
	bins := int64(block/2 + 1)
	path := writeModel(t,
		[]pb{node("Mul", "z", "mag", "zero"), node("Add", "mask", "z", "half")},
		[]pb{scalar("zero", 0), scalar("half", 0.5)},
		[]pb{valueInfo("mag", 1, 1, bins)},
		[]pb{valueInfo("mask", 1, 1, bins)})
	st, err := NewDenoise(DenoiseOptions{Engine: EngineONNX, Transient: ptr(false), ONNX: &ONNXOptions{
		Model: path, Rate: 16000, Mode: ModeMask, Block: block, Hop: block / 2, Input: "mag", Output: "mask"}})
	if err != nil {
		t.Fatal(err)
	}
	s := speech(t, 0)[:16000]
	out, err := Run(st, audiotest.Frames(s, 16000, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	y := audiotest.Join(out)
	half := make([]float64, len(s))
	for i := range s {
		half[i] = s[i] / 2
	}
	if lag := Lag(y, s, 400); lag != 0 {
		t.Errorf("lag %d", lag)
	}
	var e, p float64
	for i := block; i < len(s)-block; i++ {
		e += (y[i] - half[i]) * (y[i] - half[i])
		p += half[i] * half[i]
	}
	if snr := 10 * math.Log10(p/e); snr < 35 {
		t.Errorf("mask 0.5: output vs half input %.1f dB", snr)
	}
	// A stream at another rate is refused, not silently misprocessed.
	st2, _ := NewDenoise(DenoiseOptions{Engine: EngineONNX, Transient: ptr(false), ONNX: &ONNXOptions{
		Model: path, Rate: 16000, Mode: ModeMask, Block: block, Hop: block / 2, Input: "mag", Output: "mask"}})
	if _, err := Run(st2, audiotest.Frames(s, 48000, 10*time.Millisecond)); !errors.Is(err, ErrFormat) {
		t.Errorf("48 kHz into a 16 kHz model: %v", err)
	}
	// Declared names must exist in the model.
	if _, err := NewDenoise(DenoiseOptions{Engine: EngineONNX, ONNX: &ONNXOptions{
		Model: path, Rate: 16000, Mode: ModeMask, Block: block, Hop: block / 2, Input: "magnitude", Output: "mask"}}); !errors.Is(err, ErrParams) {
		t.Errorf("wrong input name: %v", err)
	}
}
