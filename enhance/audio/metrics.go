package audio

import "math"

// SISDR is the scale-invariant signal-to-distortion ratio of est against
// ref in dB (Le Roux et al. 2019), over the common length, both made zero
// mean. Higher is better; it ignores overall gain, not delay, so align first.
func SISDR(est, ref []float64) float64 {
	n := min(len(est), len(ref))
	if n == 0 {
		return math.Inf(-1)
	}
	var me, mr float64
	for i := 0; i < n; i++ {
		me += est[i]
		mr += ref[i]
	}
	me /= float64(n)
	mr /= float64(n)
	var dot, rr float64
	for i := 0; i < n; i++ {
		dot += (est[i] - me) * (ref[i] - mr)
		rr += (ref[i] - mr) * (ref[i] - mr)
	}
	if rr == 0 {
		return math.Inf(-1)
	}
	a := dot / rr
	var st, en float64
	for i := 0; i < n; i++ {
		t := a * (ref[i] - mr)
		e := (est[i] - me) - t
		st += t * t
		en += e * e
	}
	if en == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(st/en)
}

// Lag returns the delay d in [-maxLag, maxLag] that maximises the
// correlation of est[i+d] with ref[i] (est lags ref by d samples).
func Lag(est, ref []float64, maxLag int) int {
	best, bestD := math.Inf(-1), 0
	for d := -maxLag; d <= maxLag; d++ {
		var s float64
		for i := range ref {
			j := i + d
			if j >= 0 && j < len(est) {
				s += est[j] * ref[i]
			}
		}
		if s > best {
			best, bestD = s, d
		}
	}
	return bestD
}

// Shift returns est advanced by d samples (zero-padded), the inverse of Lag.
func Shift(est []float64, d int) []float64 {
	out := make([]float64, len(est))
	for i := range out {
		if j := i + d; j >= 0 && j < len(est) {
			out[i] = est[j]
		}
	}
	return out
}
