package voiceprint

import (
	"math"
)

// The classical baseline: a voice is summarised by the mean and standard
// deviation of 19 MFCCs (c1..c19, 40 mel bands) over its speech frames,
// each frame's cepstrum first normalised by the utterance mean (CMN)
// for the deviations only. Two voiceprints are compared by the cosine of
// their vectors after standardising each dimension with background
// statistics, and the cosine is mapped to a calibrated probability of
// "same speaker" by a logistic function fitted on a training split (see
// docs/analyzers.md for the data, the split and the measured EER).
const (
	nMel  = 40
	nCeps = 19
	// Dim is the length of a baseline voiceprint.
	Dim = 2 * nCeps
)

// MinSpeech is the least speech a voiceprint is made from.
const MinSpeech = Rate * 3 / 2 // 1.5 s

// Voiceprint is a baseline speaker vector.
type Voiceprint []float64

// Extract makes a voiceprint of 16 kHz mono speech (already VAD-selected).
func Extract(speech []float32) Voiceprint {
	fe := newFrontEnd(nMel)
	c := mfcc(fe.logMel(speech), nCeps)
	if len(c) < 10 {
		return nil
	}
	v := make(Voiceprint, Dim)
	for _, row := range c {
		for k := 0; k < nCeps; k++ {
			v[k] += row[k]
		}
	}
	for k := 0; k < nCeps; k++ {
		v[k] /= float64(len(c))
	}
	for _, row := range c {
		for k := 0; k < nCeps; k++ {
			d := row[k] - v[k]
			v[nCeps+k] += d * d
		}
	}
	for k := 0; k < nCeps; k++ {
		v[nCeps+k] = math.Sqrt(v[nCeps+k] / float64(len(c)))
	}
	return v
}

// Model holds the background statistics and the calibration.
type Model struct {
	Mean, Std []float64 // per dimension, from the training voices
	A, B      float64   // P(same) = 1 / (1 + exp(-(A*cos + B)))
}

// Cosine compares two voiceprints after standardisation.
func (m *Model) Cosine(a, b Voiceprint) float64 {
	var d, na, nb float64
	for i := range a {
		x := (a[i] - m.Mean[i]) / m.Std[i]
		y := (b[i] - m.Mean[i]) / m.Std[i]
		d += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return d / math.Sqrt(na*nb)
}

// Score is the calibrated probability that a and b are the same speaker.
func (m *Model) Score(a, b Voiceprint) float64 {
	return 1 / (1 + math.Exp(-(m.A*m.Cosine(a, b) + m.B)))
}

// Fit estimates background statistics from training voiceprints and the
// logistic calibration from their trials (pairs of different utterances;
// same labels = same speaker).
func Fit(vps []Voiceprint, speakers []string) *Model {
	m := &Model{Mean: make([]float64, Dim), Std: make([]float64, Dim)}
	for _, v := range vps {
		for i := range v {
			m.Mean[i] += v[i] / float64(len(vps))
		}
	}
	for _, v := range vps {
		for i := range v {
			m.Std[i] += (v[i] - m.Mean[i]) * (v[i] - m.Mean[i]) / float64(len(vps))
		}
	}
	for i := range m.Std {
		m.Std[i] = math.Sqrt(m.Std[i]) + 1e-9
	}
	var xs []float64
	var ys []float64
	for i := range vps {
		for j := i + 1; j < len(vps); j++ {
			xs = append(xs, m.Cosine(vps[i], vps[j]))
			if speakers[i] == speakers[j] {
				ys = append(ys, 1)
			} else {
				ys = append(ys, 0)
			}
		}
	}
	m.A, m.B = logistic(xs, ys)
	return m
}

// logistic fits P(y=1|x) = sigmoid(a*x+b) by Newton's method, with target
// and non-target trials weighted equally (so P=0.5 sits near the EER point
// whatever their proportion).
func logistic(xs, ys []float64) (a, b float64) {
	var npos, nneg float64
	for _, y := range ys {
		if y == 1 {
			npos++
		} else {
			nneg++
		}
	}
	if npos == 0 || nneg == 0 {
		return 1, 0
	}
	a, b = 1, 0
	for it := 0; it < 50; it++ {
		var g0, g1, h00, h01, h11 float64
		for i, x := range xs {
			w := 0.5 / nneg
			if ys[i] == 1 {
				w = 0.5 / npos
			}
			p := 1 / (1 + math.Exp(-(a*x + b)))
			e := p - ys[i]
			g0 += w * e * x
			g1 += w * e
			s := w * p * (1 - p)
			h00 += s * x * x
			h01 += s * x
			h11 += s
		}
		h00 += 1e-6
		h11 += 1e-6
		det := h00*h11 - h01*h01
		if det == 0 {
			break
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		a -= da
		b -= db
		if math.Abs(da)+math.Abs(db) < 1e-9 {
			break
		}
	}
	return a, b
}

// EER is the equal error rate of scores: the rate at which false accepts
// (non-target scores above the threshold) equal false rejects.
func EER(target, nontarget []float64) (eer, threshold float64) {
	type s struct {
		v   float64
		tar bool
	}
	all := make([]s, 0, len(target)+len(nontarget))
	for _, v := range target {
		all = append(all, s{v, true})
	}
	for _, v := range nontarget {
		all = append(all, s{v, false})
	}
	// Sweep thresholds over the sorted scores.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].v < all[j-1].v; j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	nt, nn := float64(len(target)), float64(len(nontarget))
	best := 2.0
	fr, fa := 0.0, nn // threshold below everything: accept all
	for i := 0; i <= len(all); i++ {
		frr, far := fr/nt, fa/nn
		if d := math.Abs(frr - far); d < best {
			best, eer = d, (frr+far)/2
			if i < len(all) {
				threshold = all[i].v
			}
		}
		if i < len(all) {
			if all[i].tar {
				fr++
			} else {
				fa--
			}
		}
	}
	return eer, threshold
}
