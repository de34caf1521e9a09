package audio

import (
	"math"
	"testing"
	"time"

	"github.com/witness-media/witness/enhance/audio/audiotest"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
)

func tone(freq float64, n, rate int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 0.3 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
	}
	return x
}

// level is the RMS of x around freq (Goertzel), for the middle half.
func level(x []float64, freq float64, rate int) float64 {
	a, b := len(x)/4, 3*len(x)/4
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x[a:b] {
		s1, s2 = v+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return math.Sqrt(p) / float64(b-a)
}

func runVoice(t *testing.T, o VoiceOptions, x []float64, rate int) []float64 {
	t.Helper()
	if err := gst.Require("pitch", "freeverb", "equalizer-10bands"); err != nil {
		t.Skip(err)
	}
	st, err := NewVoice(o)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(st, audiotest.Frames(x, rate, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	y := audiotest.Join(out)
	if len(y) != len(x) {
		t.Fatalf("%+v: %d samples in, %d out", o, len(x), len(y))
	}
	return y
}

func TestVoicePitch(t *testing.T) {
	const rate = 48000
	y := runVoice(t, VoiceOptions{Pitch: 12}, tone(300, rate, rate), rate)
	if a, b := level(y, 600, rate), level(y, 300, rate); a < 4*b {
		t.Errorf("pitch +12: 600 Hz level %.4f, 300 Hz %.4f", a, b)
	}
}

func TestVoiceEQPhone(t *testing.T) {
	const rate = 48000
	x := make([]float64, rate)
	for _, f := range []float64{60, 1000, 10000} {
		for i, v := range tone(f, rate, rate) {
			x[i] += v / 3
		}
	}
	y := runVoice(t, VoiceOptions{EQ: "phone"}, x, rate)
	mid := level(y, 1000, rate) / level(x, 1000, rate)
	for _, f := range []float64{60, 10000} {
		if g := level(y, f, rate) / level(x, f, rate); g > mid/4 {
			t.Errorf("phone EQ: %v Hz kept %.2f of its level, 1 kHz %.2f", f, g, mid)
		}
	}
}

func TestVoiceReverb(t *testing.T) {
	const rate = 48000
	// A 100 ms burst then silence: the reverb leaves a tail.
	x := make([]float64, rate)
	copy(x, tone(500, rate/10, rate))
	y := runVoice(t, VoiceOptions{Reverb: 0.6, Room: 0.8}, x, rate)
	var tail float64
	for _, v := range y[rate/4 : rate/2] {
		tail += v * v
	}
	if tail < 1e-3 {
		t.Errorf("no reverb tail (energy %.2g)", tail)
	}
}

func TestVoiceOffAndBadParams(t *testing.T) {
	st, err := pipeline.NewStage("voice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.(*Stage).Enhancement().Active {
		t.Error("voice with no params is active")
	}
	for _, p := range []pipeline.Params{{"eq": "loud"}, {"pitch": 20.0}, {"reverb": 2.0}, {"echo": 1}} {
		if _, err := pipeline.NewStage("voice", p); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
}
