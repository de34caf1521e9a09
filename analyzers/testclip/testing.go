package testclip

import (
	"testing"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/pipeline"
)

// TestPhotos loads the photographs for a test (failing it when they are
// missing) and closes them when the test ends.
func TestPhotos(t testing.TB) *Photos {
	t.Helper()
	p, err := LoadPhotos()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Analyze builds the named analyzer, runs it over every step-th frame of c,
// logs the events and returns them; any error fails the test.
func Analyze(t testing.TB, c *Clip, step int, name string, s analyzers.Session, params pipeline.Params) []pipeline.Event {
	t.Helper()
	a, err := analyzers.New(name, s, params)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	evs, err := Run(c, step, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		t.Logf("%-22s %6.2fs %s", e.Kind, e.MediaTime.Seconds(), e.Data)
	}
	return evs
}
