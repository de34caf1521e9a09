package qc

import (
	"image"
	"math"
	"time"
)

// span is one closed episode of a condition.
type span struct {
	start, end time.Duration
	count      int     // observations in the episode
	sum        float64 // of the observed values
	min, max   float64
	thumb      *image.RGBA // picture where it started (video checks)
}

// png encodes the thumbnail, nil without one.
func (s *span) png() []byte { return encodeThumb(s.thumb) }

func (s *span) mean() float64 {
	if s.count == 0 {
		return 0
	}
	return s.sum / float64(s.count)
}

// tracker turns per-observation conditions into episodes. An episode starts
// at the first true observation and ends at the end of the last one; false
// observations less than merge after its end do not end it (hysteresis, so
// one flickering defect gives one finding); true observations always extend
// it, even across a hole in the timestamps (holes are integrity findings). Episodes shorter than minDur are
// dropped when they close. Media time drives it, never wall time.
type tracker struct {
	minDur time.Duration
	merge  time.Duration

	active bool
	cur    span
	out    []span
}

// observe records the condition over [t, end). It returns true when this
// observation opened a new episode (the caller may attach a thumbnail).
func (k *tracker) observe(t, end time.Duration, cond bool, value float64) (opened bool) {
	if !cond {
		if k.active && t-k.cur.end >= k.merge {
			k.close()
		}
		return false
	}
	if !k.active {
		k.active = true
		k.cur = span{start: t, min: math.Inf(1), max: math.Inf(-1)}
		opened = true
	}
	k.cur.end = max(k.cur.end, end)
	k.cur.count++
	k.cur.sum += value
	k.cur.min = min(k.cur.min, value)
	k.cur.max = max(k.cur.max, value)
	return opened
}

// setThumbImage attaches a thumbnail to the open episode.
func (k *tracker) setThumbImage(img *image.RGBA) {
	if k.active && k.cur.thumb == nil {
		k.cur.thumb = img
	}
}

func (k *tracker) close() {
	if k.active && k.cur.end-k.cur.start >= k.minDur {
		k.out = append(k.out, k.cur)
	}
	k.active = false
}

// finish closes any open episode and returns all of them.
func (k *tracker) finish() []span {
	k.close()
	return k.out
}
