package qc

import (
	"math"
	"strconv"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// silentDB is what a level of exactly zero is reported as.
const silentDB = -120.0

// audioBlock summarises 10 ms of audio; loudness, silence and onsets are
// computed from these at the end of the pass (16 bytes per 10 ms: 5.8 MB
// per hour of audio).
type audioBlock struct {
	t    time.Duration // time of the first sample
	kms  float32       // K-weighted mean square, summed over channels (BS.1770)
	ms   float32       // plain mean square, averaged over channels
	peak float32       // largest |sample| in any channel
}

// biquad is one second-order IIR section (direct form I).
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func (q *biquad) step(x float64) float64 {
	y := q.b0*x + q.b1*q.x1 + q.b2*q.x2 - q.a1*q.y1 - q.a2*q.y2
	q.x2, q.x1 = q.x1, x
	q.y2, q.y1 = q.y1, y
	return y
}

// kWeighting returns the two BS.1770 K-weighting stages (high-shelf "head"
// filter, then the RLB high-pass) designed for rate, with the analogue
// prototype parameters libebur128 uses, so any sample rate is exact.
func kWeighting(rate int) [2]biquad {
	if rate < 8000 {
		// The shelf's corner (1.68 kHz) is above Nyquist: no meaningful
		// K-weighting, measure plain power instead.
		pass := biquad{b0: 1}
		return [2]biquad{pass, pass}
	}
	fs := float64(rate)
	f0, g, q := 1681.974450955533, 3.999843853973347, 0.7071752369554196
	k := math.Tan(math.Pi * f0 / fs)
	vh := math.Pow(10, g/20)
	vb := math.Pow(vh, 0.4996667741545416)
	a0 := 1 + k/q + k*k
	shelf := biquad{
		b0: (vh + vb*k/q + k*k) / a0, b1: 2 * (k*k - vh) / a0, b2: (vh - vb*k/q + k*k) / a0,
		a1: 2 * (k*k - 1) / a0, a2: (1 - k/q + k*k) / a0,
	}
	f0, q = 38.13547087602444, 0.5003270373238773
	k = math.Tan(math.Pi * f0 / fs)
	d := 1 + k/q + k*k
	hp := biquad{b0: 1, b1: -2, b2: 1, a1: 2 * (k*k - 1) / d, a2: (1 - k/q + k*k) / d}
	return [2]biquad{shelf, hp}
}

// audioAnalyzer runs every sound check on the frames of one stream. It is
// owned by one goroutine.
type audioAnalyzer struct {
	pol *Policy

	rate, channels int
	blockLen       int // samples per channel in a block (10 ms)
	filters        [][2]biquad

	// The block being filled.
	fill     int
	blockT   time.Duration
	kSum     []float64 // per channel
	sq       []float64
	chPeak   []float64
	clipHit  bool
	blocks   []audioBlock
	clipRun  []int // per channel: current run of clipped samples
	clipping tracker
	chSilent []tracker // per channel
	chLevel  float64   // linear level of the channel-silence threshold
	clipped  int64
	maxPeak  float64
	frames   int64
	lastEnd  time.Duration
}

func newAudioAnalyzer(pol *Policy) *audioAnalyzer {
	ap := &pol.Audio
	return &audioAnalyzer{
		pol:      pol,
		clipping: tracker{minDur: ap.Clipping.MinDuration, merge: ap.Clipping.Merge},
		chLevel:  dbToLinear(ap.Channel.NoiseDB),
	}
}

func dbToLinear(db float64) float64 { return math.Pow(10, db/20) }

func linearToDB(v float64) float64 {
	if v <= 0 {
		return silentDB
	}
	return max(silentDB, 20*math.Log10(v))
}

func (a *audioAnalyzer) run(in <-chan *pipeline.AudioFrame) {
	for f := range in {
		a.frame(f)
	}
}

// reset starts over for a new rate or channel count (a recorder switching
// formats mid-file): the partial block is dropped.
func (a *audioAnalyzer) reset(rate, channels int) {
	a.rate, a.channels = rate, channels
	a.blockLen = max(1, rate/100)
	a.filters = make([][2]biquad, channels)
	for c := range a.filters {
		a.filters[c] = kWeighting(rate)
	}
	a.kSum = make([]float64, channels)
	a.sq = make([]float64, channels)
	a.chPeak = make([]float64, channels)
	a.clipRun = make([]int, channels)
	if len(a.chSilent) != channels {
		for c := range a.chSilent {
			a.chSilent[c].close()
		}
		old := a.chSilent
		a.chSilent = make([]tracker, channels)
		for c := range a.chSilent {
			if c < len(old) {
				a.chSilent[c] = old[c]
			} else {
				a.chSilent[c] = tracker{minDur: a.pol.Audio.Channel.MinDuration}
			}
		}
	}
	a.fill = 0
}

func (a *audioAnalyzer) frame(f *pipeline.AudioFrame) {
	if f.Validate() != nil || f.Format != pipeline.SampleF32 || f.Channels > 64 {
		return
	}
	if f.SampleRate != a.rate || f.Channels != a.channels {
		a.reset(f.SampleRate, f.Channels)
	}
	a.frames++
	ch := a.channels
	n := f.Samples()
	level := a.pol.Audio.Clipping.Level
	minRun := a.pol.Audio.Clipping.MinRun
	for i := 0; i < n; i++ {
		if a.fill == 0 {
			a.blockT = f.PTS + time.Duration(i)*time.Second/time.Duration(a.rate)
		}
		frame := f.F32[i*ch : i*ch+ch]
		for c, s := range frame {
			x := float64(s)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				x = 0
			}
			fl := &a.filters[c]
			y := fl[1].step(fl[0].step(x))
			a.kSum[c] += y * y
			a.sq[c] += x * x
			ax := math.Abs(x)
			if ax > a.chPeak[c] {
				a.chPeak[c] = ax
			}
			if ax >= level {
				a.clipRun[c]++
				if a.clipRun[c] == minRun {
					a.clipHit = true
					a.clipped += int64(minRun)
				} else if a.clipRun[c] > minRun {
					a.clipped++
				}
			} else {
				a.clipRun[c] = 0
			}
		}
		a.fill++
		if a.fill == a.blockLen {
			a.closeBlock()
		}
	}
	a.lastEnd = max(a.lastEnd, f.PTS+f.Duration())
}

// closeBlock files the finished block and runs the per-channel checks,
// which need channel detail the stored block does not keep.
func (a *audioAnalyzer) closeBlock() {
	ch := a.channels
	nf := float64(a.fill)
	var k, sq, peak float64
	for c := 0; c < ch; c++ {
		k += a.kSum[c] / nf
		sq += a.sq[c] / nf
		peak = max(peak, a.chPeak[c])
	}
	end := a.blockT + time.Duration(a.fill)*time.Second/time.Duration(a.rate)
	a.blocks = append(a.blocks, audioBlock{t: a.blockT, kms: float32(k), ms: float32(sq / float64(ch)), peak: float32(peak)})
	a.maxPeak = max(a.maxPeak, peak)
	if a.pol.Audio.Clipping.Enabled {
		a.clipping.observe(a.blockT, end, a.clipHit, 1)
	}
	if a.pol.Audio.Channel.Enabled && ch > 1 {
		audible := peak >= a.chLevel
		for c := 0; c < ch; c++ {
			a.chSilent[c].observe(a.blockT, end, audible && a.chPeak[c] < a.chLevel, linearToDB(a.chPeak[c]))
		}
	}
	for c := 0; c < ch; c++ {
		a.kSum[c], a.sq[c], a.chPeak[c] = 0, 0, 0
	}
	a.clipHit = false
	a.fill = 0
}

// loudness returns momentary-style loudness (LUFS) of the mean K-weighted
// power of blocks[i:j].
func lufs(prefix []float64, i, j int) float64 {
	if j <= i {
		return silentDB
	}
	p := (prefix[j] - prefix[i]) / float64(j-i)
	if p <= 1e-12 {
		return silentDB
	}
	return max(silentDB, -0.691+10*math.Log10(p))
}

// finish closes the last block and turns everything into findings, the
// loudness curve and metrics.
func (a *audioAnalyzer) finish(stream int, m *Metrics) ([]Finding, []LoudnessPoint) {
	if a.fill > 0 {
		a.closeBlock()
	}
	ap := &a.pol.Audio
	var out []Finding
	m.AudioFrames = a.frames
	m.PeakDBFS = linearToDB(a.maxPeak)
	m.ClippedSamples = a.clipped
	m.IntegratedLUFS = silentDB
	if len(a.blocks) == 0 {
		return out, nil
	}
	prefix := make([]float64, len(a.blocks)+1)
	for i, b := range a.blocks {
		prefix[i+1] = prefix[i] + float64(b.kms)
	}
	blockEnd := func(i int) time.Duration {
		if i+1 < len(a.blocks) && a.blocks[i+1].t-a.blocks[i].t < 20*time.Millisecond {
			return a.blocks[i+1].t
		}
		return a.blocks[i].t + 10*time.Millisecond
	}

	// Silence: every channel's peak under the noise level (silencedetect).
	if ap.Silence.Enabled {
		thr := dbToLinear(ap.Silence.NoiseDB)
		k := tracker{minDur: ap.Silence.MinDuration}
		for i, b := range a.blocks {
			k.observe(b.t, blockEnd(i), float64(b.peak) < thr, linearToDB(float64(b.peak)))
		}
		for _, s := range k.finish() {
			out = append(out, Finding{Kind: KindSilence, Severity: severity(ap.Silence.Rule, s.end-s.start),
				Start: s.start, End: s.end, Stream: stream, Value: s.max, Threshold: ap.Silence.NoiseDB, Unit: unitDB,
				Message: "silence (highest sample peak in the episode)"})
		}
	}

	// Momentary loudness over 400 ms windows (40 blocks), each observed
	// over the whole window so that episodes start and end where the quiet
	// audio does; windows touching silence are left to the silence check.
	const win = 40
	silentThr := dbToLinear(ap.Silence.NoiseDB)
	silentPrefix := make([]int, len(a.blocks)+1)
	for i, b := range a.blocks {
		silentPrefix[i+1] = silentPrefix[i]
		if float64(b.peak) < silentThr {
			silentPrefix[i+1]++
		}
	}
	var gating []float64 // momentary power every 100 ms, for integrated loudness
	low := tracker{minDur: ap.Loudness.MinDuration}
	for j := win; j <= len(a.blocks); j++ {
		i := j - win
		l := lufs(prefix, i, j)
		if (j-win)%10 == 0 {
			gating = append(gating, (prefix[j]-prefix[i])/win)
		}
		if ap.Loudness.Enabled {
			quiet := l < ap.Loudness.FloorLUFS && silentPrefix[j] == silentPrefix[i]
			low.observe(a.blocks[i].t, blockEnd(j-1), quiet, l)
		}
	}
	for _, s := range low.finish() {
		out = append(out, Finding{Kind: KindLowLoudness, Severity: severity(ap.Loudness.Rule, s.end-s.start),
			Start: s.start, End: s.end, Stream: stream, Value: round2(s.max), Threshold: ap.Loudness.FloorLUFS,
			Unit: unitLUFS, Message: "audio too quiet (loudest momentary loudness in the episode)"})
	}
	m.IntegratedLUFS = integrated(gating)

	if ap.Clipping.Enabled {
		for _, s := range a.clipping.finish() {
			out = append(out, Finding{Kind: KindClipping, Severity: severity(ap.Clipping.Rule, s.end-s.start),
				Start: s.start, End: s.end, Stream: stream, Value: float64(s.count), Threshold: float64(ap.Clipping.MinRun),
				Unit: "blocks", Message: "clipping: samples held at full scale (10 ms blocks with a clipped run)"})
		}
	}
	if ap.Channel.Enabled {
		for c := range a.chSilent {
			for _, s := range a.chSilent[c].finish() {
				out = append(out, Finding{Kind: KindChannelSilent, Severity: severity(ap.Channel.Rule, s.end-s.start),
					Start: s.start, End: s.end, Stream: stream, Value: s.max, Threshold: ap.Channel.NoiseDB, Unit: unitDB,
					Message: "channel " + strconv.Itoa(c) + " silent while another channel is not"})
			}
		}
	}

	// Short-term (3 s) loudness curve every 500 ms, placed at the window's
	// middle.
	var curve []LoudnessPoint
	const st = 300
	step := int(loudnessStep / (10 * time.Millisecond))
	if len(a.blocks) < st {
		curve = append(curve, LoudnessPoint{T: a.blocks[len(a.blocks)/2].t, LUFS: round2(lufs(prefix, 0, len(a.blocks)))})
	}
	for j := st; j <= len(a.blocks); j += step {
		curve = append(curve, LoudnessPoint{T: a.blocks[j-st/2].t, LUFS: round2(lufs(prefix, j-st, j))})
	}
	return out, curve
}

// integrated is BS.1770-4 gated loudness: 400 ms blocks every 100 ms, an
// absolute gate at -70 LUFS, then a relative gate 10 LU under the mean.
func integrated(powers []float64) float64 {
	gate := func(thr float64) (float64, int) {
		var sum float64
		var n int
		for _, p := range powers {
			if p > 0 && -0.691+10*math.Log10(p) > thr {
				sum += p
				n++
			}
		}
		return sum, n
	}
	sum, n := gate(-70)
	if n == 0 {
		return silentDB
	}
	rel := -0.691 + 10*math.Log10(sum/float64(n)) - 10
	sum, n = gate(rel)
	if n == 0 {
		return silentDB
	}
	return round2(-0.691 + 10*math.Log10(sum/float64(n)))
}

// onsets returns the times where sound energy jumps: a 10 ms block at
// least 12 dB over the mean of the 100 ms before it and above -50 dBFS,
// at most one per 300 ms.
func (a *audioAnalyzer) onsets() []time.Duration {
	var out []time.Duration
	last := time.Duration(math.MinInt64 / 2)
	const back = 10
	for i := back; i < len(a.blocks); i++ {
		b := a.blocks[i]
		if b.ms <= 1e-5 { // -50 dB
			continue
		}
		var prev float64
		for j := i - back; j < i; j++ {
			prev += float64(a.blocks[j].ms)
		}
		prev /= back
		if float64(b.ms) >= prev*math.Pow(10, 1.2) && b.t-last >= 300*time.Millisecond {
			out = append(out, b.t)
			last = b.t
		}
	}
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
