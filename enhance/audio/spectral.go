package audio

import (
	"fmt"
	"math"
	"slices"
)

// SpectralOptions configure the Go STFT suppressor. Either part may be off.
type SpectralOptions struct {
	// Stationary enables the Wiener suppressor for steady noise (fan hum,
	// air conditioning, hiss) with a continuously tracked noise floor.
	Stationary bool `yaml:"stationary"`
	// FloorDB is the most the stationary part attenuates, in dB (default 15).
	FloorDB float64 `yaml:"floor_db"`
	// LowCutHz attenuates bins below this frequency by FloorDB with the
	// stationary part (default 80; mains hum, footfall thumps and desk
	// knocks live there, voice does not). Done in the STFT, so it adds no
	// phase shift, unlike a causal high-pass filter. -1 disables.
	LowCutHz float64 `yaml:"low_cut_hz"`
	// Transient enables the keyboard-click / footstep suppressor: frames
	// whose spectrum jumps far above its recent median across most of the
	// band are limited back towards that median.
	Transient bool `yaml:"transient"`
	// TransientDB is the jump over the recent median, in dB, that marks a
	// bin as transient and the level it is limited to (default 12).
	TransientDB float64 `yaml:"transient_db"`
	// TransientShare is the share of bins above 1 kHz that must jump at
	// once for a frame to count as a click (default 0.5): speech onsets are
	// narrower-band than clicks.
	TransientShare float64 `yaml:"transient_share"`
}

func (o *SpectralOptions) defaults() {
	if o.FloorDB == 0 {
		o.FloorDB = 15
	}
	if o.TransientDB == 0 {
		o.TransientDB = 12
	}
	if o.LowCutHz == 0 {
		o.LowCutHz = 80
	}
	if o.TransientShare == 0 {
		o.TransientShare = 0.5
	}
}

// Validate checks the ranges.
func (o SpectralOptions) Validate() error {
	if o.FloorDB < 0 || o.FloorDB > 40 {
		return fmt.Errorf("%w: floor_db %v (0..40)", ErrParams, o.FloorDB)
	}
	if o.LowCutHz != -1 && (o.LowCutHz < 0 || o.LowCutHz > 300) {
		return fmt.Errorf("%w: low_cut_hz %v (0..300, -1 off)", ErrParams, o.LowCutHz)
	}
	if o.TransientDB < 0 || o.TransientDB > 40 {
		return fmt.Errorf("%w: transient_db %v (0..40)", ErrParams, o.TransientDB)
	}
	if o.TransientShare < 0 || o.TransientShare > 1 {
		return fmt.Errorf("%w: transient_share %v (0..1)", ErrParams, o.TransientShare)
	}
	return nil
}

// histLen is how many past frames (10 ms each) the transient detector's
// median looks back over: long enough that a click (1-3 frames) cannot move
// it, short enough to follow syllables.
const histLen = 8

// spectralChannel is the suppressor state of one channel of one stream.
type spectralChannel struct {
	o        SpectralOptions
	bins     int
	lo       int // first bin above 1 kHz
	cut      int // bins below this are low-cut
	st       *stft
	smooth   []float64 // smoothed power
	noise    []float64 // tracked noise floor (power)
	prevGain []float64
	prevPow  []float64
	hist     [][]float64 // post-suppression magnitudes of the last frames
	hpos     int
	frames   int
	med      []float64
	tmp      []float64
	ring     [][]complex128
	rpos     int
	seen     int
	// Transients counts frames the transient part limited (tests, stats).
	Transients int
}

func newSpectralChannel(rate int, o SpectralOptions) *spectralChannel {
	n := rate / 50 // 20 ms window, 10 ms hop
	c := &spectralChannel{o: o, st: newSTFT(n), bins: n/2 + 1}
	c.lo = int(math.Ceil(1000 * float64(n) / float64(rate)))
	if o.LowCutHz > 0 {
		c.cut = int(math.Ceil(o.LowCutHz * float64(n) / float64(rate)))
	}
	c.smooth = make([]float64, c.bins)
	c.noise = make([]float64, c.bins)
	c.prevGain = make([]float64, c.bins)
	c.prevPow = make([]float64, c.bins)
	c.med = make([]float64, c.bins)
	c.tmp = make([]float64, histLen)
	c.hist = make([][]float64, histLen)
	for i := range c.hist {
		c.hist[i] = make([]float64, c.bins)
	}
	return c
}

func (c *spectralChannel) process(spec []complex128) {
	c.frames++
	if c.o.Stationary {
		c.stationary(spec)
	}
	if c.o.Transient {
		c.transient(spec)
	}
}

// stationary is a decision-directed Wiener filter over a noise floor that
// follows minima of the smoothed power and rises slowly (about 5 dB/s), so
// speech never becomes "noise" but a fan switched on is learnt in seconds.
func (c *spectralChannel) stationary(spec []complex128) {
	const (
		alphaS = 0.7    // power smoothing
		rise   = 1.0116 // per-frame noise floor rise (5 dB/s at 10 ms)
		bias   = 1.5    // minimum tracking underestimates the mean noise power
		dd     = 0.9    // decision-directed weight
	)
	gmin := math.Pow(10, -c.o.FloorDB/20)
	for k := range spec {
		p := real(spec[k])*real(spec[k]) + imag(spec[k])*imag(spec[k])
		if c.frames == 1 {
			c.smooth[k], c.noise[k] = p, p
		}
		c.smooth[k] = alphaS*c.smooth[k] + (1-alphaS)*p
		if c.smooth[k] < c.noise[k] {
			c.noise[k] = c.smooth[k]
		} else {
			c.noise[k] *= rise
		}
		n := c.noise[k]*bias + 1e-12
		post := p / n
		prio := dd*c.prevGain[k]*c.prevGain[k]*c.prevPow[k]/n + (1-dd)*math.Max(post-1, 0)
		g := prio / (1 + prio)
		if c.frames < 10 {
			g = 1 // let the floor settle before acting on it
		}
		g = math.Max(g, gmin)
		if k < c.cut {
			g = gmin
		}
		c.prevGain[k], c.prevPow[k] = g, p
		spec[k] *= complex(g, 0)
	}
}

// lookahead is how many 10 ms frames the transient part waits to see
// whether a jump dies away (a click) or is sustained (a speech onset).
const lookahead = 2

// transient limits clicks: a frame whose spectrum jumps far above its
// recent median across most of the band above 1 kHz, and whose high band
// has fallen back two frames later, is pulled down to that median. Speech
// onsets also jump but are sustained, so they pass. The history keeps the
// limited magnitudes, so a burst of typing cannot teach the median that
// clicks are normal. The output is the frame from lookahead frames ago.
func (c *spectralChannel) transient(spec []complex128) {
	// Ring of the last lookahead spectra; ring[c.rpos] is the oldest.
	if c.ring == nil {
		c.ring = make([][]complex128, lookahead)
		for i := range c.ring {
			c.ring[i] = make([]complex128, len(spec))
		}
	}
	cand := c.ring[c.rpos]
	c.rpos = (c.rpos + 1) % len(c.ring)
	// Shift: cand is output now; the incoming spectrum takes its slot.
	out := make([]complex128, len(spec))
	copy(out, cand)
	copy(cand, spec)
	future := cand // the just-stored, newest frame
	c.seen++
	if c.seen <= lookahead {
		clear(spec) // nothing to output yet (dropped as latency)
		return
	}
	ratio := math.Pow(10, c.o.TransientDB/20)
	filled := min(c.seen-lookahead-1, histLen)
	if filled >= histLen/2 {
		for k := range out {
			for i := 0; i < filled; i++ {
				c.tmp[i] = c.hist[i][k]
			}
			t := c.tmp[:filled]
			slices.Sort(t)
			c.med[k] = t[filled/2]
		}
		jump := 0
		var eFut, eMed float64
		for k := c.lo; k < c.bins; k++ {
			if cmplxAbs(out[k]) > ratio*c.med[k]+1e-9 {
				jump++
			}
			eFut += sq(cmplxAbs(future[k]))
			eMed += sq(c.med[k])
		}
		click := float64(jump) >= c.o.TransientShare*float64(c.bins-c.lo) && eFut < ratio*ratio*eMed
		if click {
			c.Transients++
			for k := range out {
				m := cmplxAbs(out[k])
				if lim := c.med[k] * ratio; m > lim {
					out[k] *= complex(lim/m, 0)
				}
			}
		}
	}
	h := c.hist[c.hpos]
	for k := range out {
		h[k] = cmplxAbs(out[k])
	}
	c.hpos = (c.hpos + 1) % histLen
	copy(spec, out)
}

func sq(v float64) float64 { return v * v }

func cmplxAbs(v complex128) float64 { return math.Hypot(real(v), imag(v)) }
