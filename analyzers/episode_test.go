package analyzers

import (
	"testing"
	"time"
)

func TestEpisodeHysteresis(t *testing.T) {
	e := Episode{MinOn: time.Second, MinOff: 500 * time.Millisecond}
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	var opens, closes []time.Duration
	// true 0..1.5s, a 200 ms gap (too short to close), true again to 3s, then false.
	for t0 := 0; t0 <= 5000; t0 += 100 {
		cond := (t0 < 1500) || (t0 >= 1700 && t0 < 3000)
		o, c, start := e.Update(ms(t0), cond)
		if o {
			opens = append(opens, start)
		}
		if c {
			closes = append(closes, start)
		}
	}
	if len(opens) != 1 || opens[0] != 0 {
		t.Fatalf("opens %v, want one at 0", opens)
	}
	if len(closes) != 1 || closes[0] != ms(3000) {
		t.Fatalf("closes %v, want one from 3s", closes)
	}
}
