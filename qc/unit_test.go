package qc

import (
	"math"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

// TestEstimateSync covers the decision rules on synthetic onsets.
func TestEstimateSync(t *testing.T) {
	p := DefaultPolicy().Sync
	video := ms(600, 1500, 2900, 3700, 5200, 6100, 7500)
	shift := func(d int) []time.Duration {
		out := make([]time.Duration, len(video))
		for i, v := range video {
			out[i] = v + time.Duration(d)*time.Millisecond
		}
		return out
	}
	if e := estimateSync(video, shift(450), &p); !e.Measured || e.Offset != 450*time.Millisecond || e.Matches != 7 {
		t.Errorf("+450: %+v", e)
	}
	if e := estimateSync(video, shift(-820), &p); !e.Measured || e.Offset != -820*time.Millisecond {
		t.Errorf("-820: %+v", e)
	}
	// Extra sound onsets (speech) do not move the estimate.
	noisy := append(shift(120), ms(100, 2000, 4400, 6800, 8000)...)
	sortDur(noisy)
	if e := estimateSync(video, noisy, &p); !e.Measured || e.Offset != 120*time.Millisecond {
		t.Errorf("+120 with extra sound onsets: %+v", e)
	}
	// A metronome is ambiguous by its period.
	var tick []time.Duration
	for i := 0; i < 10; i++ {
		tick = append(tick, time.Duration(i)*time.Second)
	}
	if e := estimateSync(tick, tick, &p); e.Measured || e.Note == "" {
		t.Errorf("periodic: %+v", e)
	}
	if e := estimateSync(video[:2], shift(0)[:2], &p); e.Measured {
		t.Errorf("two events: %+v", e)
	}
	// Unrelated onsets do not line up.
	if e := estimateSync(video, ms(50, 1010, 2222, 4090, 5555, 7800, 9100), &p); e.Measured {
		t.Errorf("unrelated: %+v", e)
	}
}

func sortDur(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// TestTracker: minimum duration, merging of short interruptions, and
// closing at the end.
func TestTracker(t *testing.T) {
	k := tracker{minDur: time.Second, merge: 200 * time.Millisecond}
	step := 100 * time.Millisecond
	cond := func(t time.Duration) bool {
		switch {
		case t >= 1*time.Second && t < 1500*time.Millisecond: // too short
			return true
		case t >= 3*time.Second && t < 5*time.Second && t != 4*time.Second: // one blip inside
			return true
		case t >= 8*time.Second:
			return true
		}
		return false
	}
	for ts := time.Duration(0); ts < 10*time.Second; ts += step {
		k.observe(ts, ts+step, cond(ts), 1)
	}
	got := k.finish()
	if len(got) != 2 || got[0].start != 3*time.Second || got[0].end != 5*time.Second ||
		got[1].start != 8*time.Second || got[1].end != 10*time.Second {
		t.Errorf("episodes %+v", got)
	}
}

func TestAnalysisSize(t *testing.T) {
	for _, c := range [][4]int{{1280, 720, 640, 360}, {640, 360, 640, 360}, {1920, 1080, 960, 540}, {3840, 2160, 960, 540}, {0, 0, 0, 360}} {
		if w, h := analysisSize(c[0], c[1]); w != c[2] || h != c[3] {
			t.Errorf("analysisSize(%d, %d) = %d, %d", c[0], c[1], w, h)
		}
	}
}

func TestKWeightingGain(t *testing.T) {
	// The K-filter's gain is about +0.69 dB near 1 kHz (which BS.1770's
	// -0.691 offset cancels, so a full-scale 997 Hz sine reads -3.01 LUFS)
	// and about -1.15 dB at 100 Hz (the RLB high-pass at 38 Hz).
	for _, c := range []struct{ f, wantDB float64 }{{997, 0.69}, {100, -1.15}} {
		q := kWeighting(48000)
		var e float64
		n := 48000
		for i := 0; i < 2*n; i++ {
			x := sinAt(c.f, i, 48000)
			y := q[1].step(q[0].step(x))
			if i >= n {
				e += y * y
			}
		}
		got := 10 * log10(e/float64(n)/0.5)
		if got < c.wantDB-0.3 || got > c.wantDB+0.3 {
			t.Errorf("K gain at %g Hz = %.2f dB, want %.2f", c.f, got, c.wantDB)
		}
	}
}

func sinAt(f float64, i, rate int) float64 {
	return math.Sin(2 * math.Pi * f * float64(i) / float64(rate))
}

func log10(v float64) float64 { return math.Log10(v) }
