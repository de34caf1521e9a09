package av

import (
	"math"
	"math/bits"
	"time"

	"github.com/asticode/go-astiav"
)

// noPTS is FFmpeg's AV_NOPTS_VALUE: "no timestamp".
const noPTS = astiav.NoPtsValue

// scaleTS converts ts in units of num/den seconds to a Duration, rounding to
// the nearest nanosecond with a 128-bit intermediate (ts*num*1e9 overflows
// int64 for long recordings in fine time bases). ok is false for noPTS or a
// degenerate time base.
func scaleTS(ts int64, num, den int) (d time.Duration, ok bool) {
	if ts == noPTS || num <= 0 || den <= 0 {
		return 0, false
	}
	neg := ts < 0
	u := uint64(ts)
	if neg {
		u = uint64(-ts)
	}
	hi, lo := bits.Mul64(u, uint64(num)*uint64(time.Second))
	if hi >= uint64(den) {
		// Beyond ±292 years: saturate rather than wrap.
		if neg {
			return math.MinInt64, true
		}
		return math.MaxInt64, true
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if r >= uint64(den)-r {
		q++
	}
	if q > math.MaxInt64 {
		q = math.MaxInt64
	}
	if neg {
		return -time.Duration(q), true
	}
	return time.Duration(q), true
}

// tsDuration is scaleTS with an astiav time base, 0 when unknown.
func tsDuration(ts int64, tb astiav.Rational) time.Duration {
	d, _ := scaleTS(ts, tb.Num(), tb.Den())
	return d
}

// avTime converts a value in AV_TIME_BASE (microseconds), 0 when unknown.
func avTime(us int64) time.Duration {
	d, _ := scaleTS(us, 1, 1_000_000)
	return d
}
