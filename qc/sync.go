package qc

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Onset matching tolerance: half a 25 fps frame plus audio block jitter.
const (
	syncTolerance = 50 * time.Millisecond
	syncStep      = 5 * time.Millisecond
	refractory    = 300 * time.Millisecond
)

// videoOnsets returns the times where the picture changes suddenly: a frame
// whose mean luma change from the previous frame is at least 10 levels and
// three times the recent average change (so steady motion does not count),
// at most one per 300 ms. A flash, a cut or a clap of hands qualifies.
func videoOnsets(marks []frameMark) []time.Duration {
	var out []time.Duration
	last := time.Duration(math.MinInt64 / 2)
	const back = 5
	for i := 1; i < len(marks); i++ {
		d := float64(marks[i].diff)
		if d < 10 {
			continue
		}
		var prev float64
		n := 0
		for j := max(1, i-back); j < i; j++ {
			prev += float64(marks[j].diff)
			n++
		}
		if n > 0 {
			prev /= float64(n)
		}
		if d >= 3*prev+2 && marks[i].pts-last >= refractory {
			out = append(out, marks[i].pts)
			last = marks[i].pts
		}
	}
	return out
}

// estimateSync finds the offset at which picture onsets and sound onsets
// line up best: for each candidate offset (every 5 ms within ±search) it
// counts picture onsets with a sound onset within 50 ms of onset+offset.
// The estimate is kept only when enough onsets match, a large enough share
// of them does, and no clearly different offset does nearly as well (a
// periodic pattern is ambiguous and is not measured).
func estimateSync(v, a []time.Duration, p *SyncPolicy) SyncEstimate {
	est := SyncEstimate{VideoOnsets: len(v), AudioOnsets: len(a)}
	if len(v) < p.MinEvents || len(a) < p.MinEvents {
		est.Note = "too few sudden picture or sound changes to measure the offset"
		return est
	}
	score := func(lag time.Duration) (n int, diffs []time.Duration) {
		for _, tv := range v {
			want := tv + lag
			i := sort.Search(len(a), func(i int) bool { return a[i] >= want-syncTolerance })
			var best time.Duration
			found := false
			for ; i < len(a) && a[i] <= want+syncTolerance; i++ {
				if d := a[i] - tv; !found || absDur(d-lag) < absDur(best-lag) {
					best, found = d, true
				}
			}
			if found {
				n++
				diffs = append(diffs, best)
			}
		}
		return n, diffs
	}
	type cand struct {
		lag time.Duration
		n   int
	}
	var cands []cand
	for lag := -p.Search; lag <= p.Search; lag += syncStep {
		n, _ := score(lag)
		cands = append(cands, cand{lag, n})
	}
	best := cands[0]
	for _, c := range cands {
		if c.n > best.n || (c.n == best.n && absDur(c.lag) < absDur(best.lag)) {
			best = c
		}
	}
	second := 0
	for _, c := range cands {
		if absDur(c.lag-best.lag) > 4*syncTolerance {
			second = max(second, c.n)
		}
	}
	n, diffs := score(best.lag)
	est.Matches = n
	est.Confidence = round2(float64(n) / float64(min(len(v), len(a))))
	switch {
	case n < p.MinEvents:
		est.Note = "too few picture changes with a matching sound"
		return est
	case est.Confidence < p.MinConfidence:
		est.Note = "picture and sound changes do not line up consistently"
		return est
	case float64(second) > 0.6*float64(n):
		est.Note = "ambiguous: several offsets line up (periodic content)"
		return est
	}
	slices.Sort(diffs)
	est.Measured = true
	est.Offset = diffs[len(diffs)/2].Round(time.Millisecond)
	est.OffsetMS = float64(est.Offset) / float64(time.Millisecond)
	return est
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
