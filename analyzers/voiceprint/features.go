package voiceprint

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Rate is the sample rate every feature works at.
const Rate = 16000

// Feature framing: 25 ms windows every 10 ms, the usual speech front end.
const (
	frameLen = 400
	frameHop = 160
	nfft     = 512
)

// Mono16k mixes interleaved samples to mono and resamples to 16 kHz by
// linear interpolation after a box low-pass (enough for MFCC statistics and
// VAD; not a mastering-grade resampler).
func Mono16k(x []float32, rate, channels int) []float32 {
	n := len(x) / channels
	mono := make([]float32, n)
	for i := 0; i < n; i++ {
		var s float32
		for c := 0; c < channels; c++ {
			s += x[i*channels+c]
		}
		mono[i] = s / float32(channels)
	}
	if rate == Rate {
		return mono
	}
	ratio := float64(rate) / Rate
	if ratio > 1 {
		k := int(math.Round(ratio))
		if k > 1 {
			sm := make([]float32, n)
			var acc float32
			for i := 0; i < n; i++ {
				acc += mono[i]
				if i >= k {
					acc -= mono[i-k]
				}
				sm[i] = acc / float32(min(i+1, k))
			}
			mono = sm
		}
	}
	m := int(float64(n) / ratio)
	out := make([]float32, m)
	for i := range out {
		p := float64(i) * ratio
		j := int(p)
		fr := float32(p - float64(j))
		if j+1 < n {
			out[i] = mono[j]*(1-fr) + mono[j+1]*fr
		} else if j < n {
			out[i] = mono[j]
		}
	}
	return out
}

// frontEnd computes log mel filterbank energies (nMel per frame) of 16 kHz
// mono audio: pre-emphasis 0.97, Hamming window, 512-point FFT, mel filters
// from 20 Hz to 7.6 kHz. Rows are frames.
type frontEnd struct {
	nMel   int
	fft    *fourier.FFT
	window []float64
	bank   [][]float64 // nMel x (nfft/2+1)
}

func newFrontEnd(nMel int) *frontEnd {
	fe := &frontEnd{nMel: nMel, fft: fourier.NewFFT(nfft), window: make([]float64, frameLen)}
	for i := range fe.window {
		fe.window[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(frameLen-1))
	}
	mel := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
	inv := func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	lo, hi := mel(20), mel(7600)
	pts := make([]float64, nMel+2)
	for i := range pts {
		pts[i] = inv(lo+(hi-lo)*float64(i)/float64(nMel+1)) * nfft / Rate
	}
	fe.bank = make([][]float64, nMel)
	for m := 0; m < nMel; m++ {
		row := make([]float64, nfft/2+1)
		for k := range row {
			x := float64(k)
			switch {
			case x >= pts[m] && x <= pts[m+1] && pts[m+1] > pts[m]:
				row[k] = (x - pts[m]) / (pts[m+1] - pts[m])
			case x > pts[m+1] && x <= pts[m+2] && pts[m+2] > pts[m+1]:
				row[k] = (pts[m+2] - x) / (pts[m+2] - pts[m+1])
			}
		}
		fe.bank[m] = row
	}
	return fe
}

func (fe *frontEnd) logMel(x []float32) [][]float64 {
	if len(x) < frameLen {
		return nil
	}
	var out [][]float64
	buf := make([]float64, nfft)
	var coef []complex128
	for start := 0; start+frameLen <= len(x); start += frameHop {
		for i := range buf {
			buf[i] = 0
		}
		prev := float64(0)
		if start > 0 {
			prev = float64(x[start-1])
		}
		for i := 0; i < frameLen; i++ {
			v := float64(x[start+i])
			buf[i] = (v - 0.97*prev) * fe.window[i]
			prev = v
		}
		coef = fe.fft.Coefficients(coef, buf)
		row := make([]float64, fe.nMel)
		for m, f := range fe.bank {
			var e float64
			for k, w := range f {
				if w != 0 {
					a := cmplx.Abs(coef[k])
					e += w * a * a
				}
			}
			row[m] = math.Log(e + 1e-10)
		}
		out = append(out, row)
	}
	return out
}

// mfcc turns log mel rows into cepstra c1..cN (c0, the loudness, is
// dropped: it says more about the microphone distance than the speaker).
func mfcc(logmel [][]float64, n int) [][]float64 {
	if len(logmel) == 0 {
		return nil
	}
	m := len(logmel[0])
	out := make([][]float64, len(logmel))
	for t, row := range logmel {
		c := make([]float64, n)
		for k := 1; k <= n; k++ {
			var s float64
			for j, v := range row {
				s += v * math.Cos(math.Pi*float64(k)*(float64(j)+0.5)/float64(m))
			}
			c[k-1] = s
		}
		out[t] = c
	}
	return out
}
