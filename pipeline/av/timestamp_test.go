package av

import (
	"math"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

func TestScaleTS(t *testing.T) {
	cases := []struct {
		ts       int64
		num, den int
		want     time.Duration
		ok       bool
	}{
		{512, 1, 12800, 40 * time.Millisecond, true},
		{1024, 1, 48000, 21333333 * time.Nanosecond, true}, // rounds to nearest
		{-1024, 1, 48000, -21333333 * time.Nanosecond, true},
		{90000 * 3600 * 24 * 365, 1, 90000, 365 * 24 * time.Hour, true}, // a year in 90 kHz
		{math.MaxInt64, 1, 1, math.MaxInt64, true},                      // saturates
		{noPTS, 1, 1000, 0, false},
		{5, 0, 1000, 0, false},
		{5, 1, 0, 0, false},
	}
	for _, c := range cases {
		got, ok := scaleTS(c.ts, c.num, c.den)
		if got != c.want || ok != c.ok {
			t.Errorf("scaleTS(%d, %d/%d) = %v, %v; want %v, %v", c.ts, c.num, c.den, got, ok, c.want, c.ok)
		}
	}
}

func TestOutputSize(t *testing.T) {
	cases := []struct {
		rw, rh, sw, sh int
		f              pipeline.PixelFormat
		w, h           int
	}{
		{0, 0, 640, 360, pipeline.PixelRGBA, 640, 360},
		{320, 0, 640, 360, pipeline.PixelRGBA, 320, 180},
		{0, 100, 640, 360, pipeline.PixelRGBA, 178, 100},
		{0, 101, 640, 360, pipeline.PixelI420, 180, 101}, // derived side made even
		{161, 121, 640, 360, pipeline.PixelI420, 161, 121},
	}
	for _, c := range cases {
		w, h := outputSize(c.rw, c.rh, c.sw, c.sh, c.f)
		if w != c.w || h != c.h {
			t.Errorf("outputSize(%d,%d from %dx%d %s) = %dx%d, want %dx%d", c.rw, c.rh, c.sw, c.sh, c.f, w, h, c.w, c.h)
		}
	}
}

func TestFloatToS16(t *testing.T) {
	for in, want := range map[float64]int16{0: 0, 0.5: 16384, -1: -32768, 1: 32767, 2: 32767, -3: -32768, math.NaN(): 0} {
		if got := floatToS16(in); got != want {
			t.Errorf("floatToS16(%v) = %d, want %d", in, got, want)
		}
	}
}

func TestParseTagDuration(t *testing.T) {
	if d := parseTagDuration("00:00:02.021000000"); d != 2021*time.Millisecond {
		t.Errorf("got %v", d)
	}
	if d := parseTagDuration("01:02:03.5"); d != time.Hour+2*time.Minute+3500*time.Millisecond {
		t.Errorf("got %v", d)
	}
	for _, bad := range []string{"", "2.0", "x:y:z"} {
		if d := parseTagDuration(bad); d != 0 {
			t.Errorf("parseTagDuration(%q) = %v", bad, d)
		}
	}
}
