package liveness

import (
	"math"
	"math/cmplx"

	"gocv.io/x/gocv"
	"gonum.org/v1/gonum/dsp/fourier"
)

// shapeResidual is the landmark shape change between a and b that a
// similarity transform (shift, scale, rotation: what moving or zooming a
// photograph does) cannot explain, as RMS in units of the normalised shape.
// A real face changes shape (expressions, speech, head turns); a
// photograph or a screen held to the camera does not.
func shapeResidual(a, b []gocv.Point2f) float64 {
	na, nb := normalise(a), normalise(b)
	var s1, s2 float64
	for i := range na {
		s1 += na[i][0]*nb[i][1] - na[i][1]*nb[i][0]
		s2 += na[i][0]*nb[i][0] + na[i][1]*nb[i][1]
	}
	th := math.Atan2(s1, s2)
	c, s := math.Cos(th), math.Sin(th)
	var r float64
	for i := range na {
		x := c*na[i][0] - s*na[i][1]
		y := s*na[i][0] + c*na[i][1]
		r += (x-nb[i][0])*(x-nb[i][0]) + (y-nb[i][1])*(y-nb[i][1])
	}
	return math.Sqrt(r / float64(len(na)))
}

func normalise(p []gocv.Point2f) [][2]float64 {
	var cx, cy float64
	for _, q := range p {
		cx += float64(q.X)
		cy += float64(q.Y)
	}
	cx /= float64(len(p))
	cy /= float64(len(p))
	out := make([][2]float64, len(p))
	var ss float64
	for i, q := range p {
		out[i] = [2]float64{float64(q.X) - cx, float64(q.Y) - cy}
		ss += out[i][0]*out[i][0] + out[i][1]*out[i][1]
	}
	n := math.Sqrt(ss / float64(len(p)))
	if n == 0 {
		n = 1
	}
	for i := range out {
		out[i][0] /= n
		out[i][1] /= n
	}
	return out
}

// pulseSNR estimates how much of the skin colour signal's power sits at one
// heart rate (0.75-2.4 Hz, 45-144 bpm): the power at the strongest bin and
// its neighbours over the rest of the 0.5-2.45 Hz band, in dB. Input: the
// mean green/red chromaticity of the skin per sample at rate fs. A pulse
// gives a clear peak; a photograph gives none (its colour only changes with
// the light and with where the crop falls). Returns the SNR and the rate.
func pulseSNR(x []float64, fs float64) (snr, bpm float64) {
	n := len(x)
	if n < 16 {
		return math.Inf(-1), 0
	}
	// Detrend: subtract a moving average of ~1.5 s to drop slow drifts
	// (light, pans over a textured crop).
	w := max(3, int(1.5*fs))
	y := make([]float64, n)
	for i := range x {
		lo, hi := max(0, i-w/2), min(n, i+w/2+1)
		var m float64
		for _, v := range x[lo:hi] {
			m += v
		}
		y[i] = x[i] - m/float64(hi-lo)
	}
	// Hann window, zero-padded to 256 for a finer grid.
	size := 256
	for size < n {
		size *= 2
	}
	buf := make([]float64, size)
	for i := range y {
		buf[i] = y[i] * (0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)))
	}
	spec := fourier.NewFFT(size).Coefficients(nil, buf)
	hz := func(k int) float64 { return float64(k) * fs / float64(size) }
	best, bestK := 0.0, -1
	var total float64
	for k := range spec {
		f := hz(k)
		if f < 0.5 || f > math.Min(2.45, fs/2) {
			continue
		}
		p := cmplx.Abs(spec[k]) * cmplx.Abs(spec[k])
		total += p
		if f >= 0.75 && f <= 2.4 && p > best {
			best, bestK = p, k
		}
	}
	if bestK < 0 || total == 0 {
		return math.Inf(-1), 0
	}
	// The peak is the Hann window's main lobe: +-2 bins of the unpadded
	// length.
	lobe := int(math.Ceil(2 * float64(size) / float64(n)))
	var peak float64
	for k := bestK - lobe; k <= bestK+lobe; k++ {
		if k >= 0 && k < len(spec) && hz(k) >= 0.5 && hz(k) <= math.Min(2.45, fs/2) {
			peak += cmplx.Abs(spec[k]) * cmplx.Abs(spec[k])
		}
	}
	rest := total - peak
	if rest <= 0 {
		rest = 1e-12
	}
	return 10 * math.Log10(peak/rest), hz(bestK) * 60
}
