// Package audiotest builds denoising test material at test time: real
// speech from Debian's pocketsphinx-testdata and generated office noises
// (keyboard clicks, footsteps, fan hum, babble of other speakers) mixed at
// a chosen SNR. Nothing is stored in git.
package audiotest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// Rate is the rate of the speech recordings.
const Rate = 16000

// Speech recordings (pocketsphinx-testdata, 16 kHz mono). Targets are read
// sentences; babble is built from the others so the target voice never
// appears in its own noise.
var (
	dir     = "/usr/share/pocketsphinx/test/data/"
	Targets = []string{
		dir + "librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
		dir + "librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
	}
	babble = []string{
		dir + "librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
		dir + "librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
		dir + "librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
		dir + "cards/001.wav", dir + "cards/002.wav", dir + "cards/003.wav",
	}
)

// ErrNoSpeech means pocketsphinx-testdata is not installed.
var ErrNoSpeech = errors.New("audiotest: speech recordings missing (apt-get install pocketsphinx-testdata)")

// ReadSpeech reads a speech recording high-passed at 100 Hz, as telephony
// and WebRTC's own front end do: the recordings carry sub-audio rumble that
// would otherwise dominate any comparison with a voice-band output.
func ReadSpeech(path string) ([]float64, error) {
	x, err := ReadWAV(path)
	if err != nil {
		return nil, err
	}
	return HighPass(x, 100, Rate), nil
}

// HighPass is a second-order Butterworth high-pass run forwards and
// backwards (zero phase, so references stay aligned).
func HighPass(x []float64, fc float64, rate int) []float64 {
	w := math.Tan(math.Pi * fc / float64(rate))
	k := 1 / (1 + math.Sqrt2*w + w*w)
	b0, b1, b2 := k, -2*k, k
	a1, a2 := 2*(w*w-1)*k, (1-math.Sqrt2*w+w*w)*k
	run := func(in []float64) []float64 {
		out := make([]float64, len(in))
		var x1, x2, y1, y2 float64
		for i, v := range in {
			y := b0*v + b1*x1 + b2*x2 - a1*y1 - a2*y2
			x2, x1, y2, y1 = x1, v, y1, y
			out[i] = y
		}
		return out
	}
	y := run(x)
	for i, j := 0, len(y)-1; i < j; i, j = i+1, j-1 {
		y[i], y[j] = y[j], y[i]
	}
	y = run(y)
	for i, j := 0, len(y)-1; i < j; i, j = i+1, j-1 {
		y[i], y[j] = y[j], y[i]
	}
	return y
}

// ReadWAV reads a 16-bit PCM mono WAV as floats in [-1, 1].
func ReadWAV(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSpeech, err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("audiotest: %s is not a WAV file", path)
	}
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		p += 8
		if id == "data" {
			n = min(n, len(b)-p)
			out := make([]float64, n/2)
			for i := range out {
				out[i] = float64(int16(binary.LittleEndian.Uint16(b[p+2*i:]))) / 32768
			}
			return out, nil
		}
		p += n + n%2
	}
	return nil, fmt.Errorf("audiotest: %s has no data chunk", path)
}

// Noise kinds.
const (
	Keyboard  = "keyboard"
	Footsteps = "footsteps"
	Fan       = "fan"
	Babble    = "babble"
	Office    = "office" // all four at once, equal power: the seed's noisy service office
)

// Kinds lists the noise kinds in report order.
var Kinds = []string{Keyboard, Footsteps, Fan, Babble, Office}

// Noise generates n samples of the given kind (seeded: reproducible).
func Noise(kind string, n int, seed uint64) ([]float64, error) {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]float64, n)
	switch kind {
	case Keyboard:
		// Typing: key presses at 5-9 per second with a release click 60-110 ms
		// later; each click is a 2-5 ms decaying burst through two
		// resonances (2-6 kHz plastic), with a short low thud on press.
		for t := int(0.05 * Rate); t < n; t += int((0.11 + 0.1*r.Float64()) * Rate) {
			amp := 0.5 + 0.5*r.Float64()
			click(out, t, amp, r)
			click(out, t+int((0.06+0.05*r.Float64())*Rate), amp*0.6, r)
			if r.IntN(12) == 0 { // a pause between words
				t += int(0.3 * Rate)
			}
		}
	case Footsteps:
		// Heel strikes every ~0.55 s: a decaying 60-110 Hz thump plus a
		// brief low-passed scuff.
		for t := int(0.1 * Rate); t < n; t += int((0.5 + 0.1*r.Float64()) * Rate) {
			f := 60 + 50*r.Float64()
			amp := 0.6 + 0.4*r.Float64()
			var lp float64
			for i := 0; i < int(0.15*Rate) && t+i < n; i++ {
				tt := float64(i) / Rate
				lp += 0.1 * (r.NormFloat64() - lp)
				out[t+i] += amp * (math.Sin(2*math.Pi*f*tt)*math.Exp(-tt/0.03) + 0.5*lp*math.Exp(-tt/0.01))
			}
		}
	case Fan:
		// Mains hum (50 Hz and harmonics) and a broadband fan rush
		// (low-passed noise) with a slow blade-rate wobble.
		var lp float64
		for i := range out {
			tt := float64(i) / Rate
			lp += 0.15 * (r.NormFloat64() - lp)
			wob := 1 + 0.1*math.Sin(2*math.Pi*3*tt)
			out[i] = 0.3*math.Sin(2*math.Pi*50*tt) + 0.15*math.Sin(2*math.Pi*100*tt+1) +
				0.08*math.Sin(2*math.Pi*150*tt+2) + wob*lp
		}
	case Babble:
		// Four other speakers talking at once, each looped from a random
		// start.
		for k := 0; k < 4; k++ {
			s, err := ReadSpeech(babble[(int(seed)+k)%len(babble)])
			if err != nil {
				return nil, err
			}
			off := r.IntN(len(s))
			g := 0.7 + 0.6*r.Float64()
			for i := range out {
				out[i] += g * s[(off+i)%len(s)]
			}
		}
	case Office:
		for i, k := range []string{Keyboard, Footsteps, Fan, Babble} {
			x, err := Noise(k, n, seed*10+uint64(i))
			if err != nil {
				return nil, err
			}
			g := 1 / math.Sqrt(power(x)+1e-12)
			for j := range out {
				out[j] += g * x[j]
			}
		}
	default:
		return nil, fmt.Errorf("audiotest: unknown noise %q", kind)
	}
	return out, nil
}

// click adds one key click at sample t.
func click(out []float64, t int, amp float64, r *rand.Rand) {
	f1, f2 := 2000+2000*r.Float64(), 4000+2000*r.Float64()
	tau := 0.002 + 0.003*r.Float64()
	var y1, y2, z1, z2 float64
	res := func(x, f float64, a1, a2 *float64) float64 {
		// Two-pole resonator, bandwidth ~ 400 Hz.
		rr := math.Exp(-math.Pi * 400 / Rate)
		c := 2 * rr * math.Cos(2*math.Pi*f/Rate)
		y := x + c**a1 - rr*rr**a2
		*a2, *a1 = *a1, y
		return y
	}
	for i := 0; i < int(0.02*Rate) && t+i < len(out); i++ {
		tt := float64(i) / Rate
		x := r.NormFloat64() * math.Exp(-tt/tau)
		v := 0.15*res(x, f1, &y1, &y2) + 0.1*res(x, f2, &z1, &z2)
		if i < int(0.004*Rate) {
			v += 0.3 * math.Sin(2*math.Pi*180*tt) * math.Exp(-tt/0.002)
		}
		out[t+i] += amp * v
	}
}

// Mix returns speech + noise scaled so that the speech-to-noise power ratio
// is snrDB, and the scaled noise.
func Mix(speech, noise []float64, snrDB float64) (mix, scaled []float64) {
	ps, pn := power(speech), power(noise[:len(speech)])
	g := math.Sqrt(ps / (pn * math.Pow(10, snrDB/10)))
	mix = make([]float64, len(speech))
	scaled = make([]float64, len(speech))
	for i := range speech {
		scaled[i] = g * noise[i]
		mix[i] = speech[i] + scaled[i]
	}
	return mix, scaled
}

func power(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s / float64(len(x))
}

// Frames cuts a signal into S16 frames of d (10 ms for live audio).
func Frames(x []float64, rate int, d time.Duration) []*pipeline.AudioFrame {
	n := int(d * time.Duration(rate) / time.Second)
	var out []*pipeline.AudioFrame
	for s := 0; s < len(x); s += n {
		e := min(s+n, len(x))
		f := &pipeline.AudioFrame{Format: pipeline.SampleS16, SampleRate: rate, Channels: 1,
			PTS: time.Duration(s) * time.Second / time.Duration(rate), S16: make([]int16, e-s)}
		for i := s; i < e; i++ {
			v := math.Round(x[i] * 32768)
			f.S16[i-s] = int16(max(-32768, min(32767, v)))
		}
		out = append(out, f)
	}
	return out
}

// Join concatenates mono frames back into a signal.
func Join(fs []*pipeline.AudioFrame) []float64 {
	var out []float64
	for _, f := range fs {
		for _, v := range f.Float(0) {
			out = append(out, float64(v))
		}
	}
	return out
}
