package audio

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// stft is a streaming short-time Fourier transform with 50% overlap and
// square-root Hann windows on both sides (perfect reconstruction). Each call
// to push consumes hop samples and returns hop output samples; the output
// lags the input by hop samples (10 ms at the chosen sizes).
type stft struct {
	n, hop int
	fft    *fourier.FFT
	win    []float64
	in     []float64 // last n input samples
	ola    []float64 // overlap-add tail
	buf    []float64
	spec   []complex128
}

func newSTFT(n int) *stft {
	s := &stft{n: n, hop: n / 2, fft: fourier.NewFFT(n), win: make([]float64, n),
		in: make([]float64, n), ola: make([]float64, n), buf: make([]float64, n),
		spec: make([]complex128, n/2+1)}
	for i := range s.win {
		// Periodic Hann, square-rooted: analysis x synthesis sums to 1 at 50% overlap.
		s.win[i] = math.Sqrt(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
	}
	return s
}

// push takes hop new samples, calls fn on the spectrum of the current
// window, and writes hop finished output samples into out.
func (s *stft) push(x []float64, out []float64, fn func(spec []complex128)) {
	copy(s.in, s.in[s.hop:])
	copy(s.in[s.n-s.hop:], x)
	for i := range s.buf {
		s.buf[i] = s.in[i] * s.win[i]
	}
	s.fft.Coefficients(s.spec, s.buf)
	fn(s.spec)
	s.fft.Sequence(s.buf, s.spec)
	scale := 1 / float64(s.n)
	for i := range s.buf {
		s.ola[i] += s.buf[i] * s.win[i] * scale
	}
	copy(out, s.ola[:s.hop])
	copy(s.ola, s.ola[s.hop:])
	clear(s.ola[s.n-s.hop:])
}
