package testclip

import (
	"fmt"
	"strings"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/pipeline"
)

// Run feeds every step-th frame of the clip to the analyzers (as the live
// host's sampler would) and returns the events they emitted, in order.
func Run(c *Clip, step int, as ...analyzers.Analyzer) ([]pipeline.Event, error) {
	var evs []pipeline.Event
	emit := func(e pipeline.Event) { evs = append(evs, e) }
	for i := 0; i < c.Frames(); i += step {
		f := c.Frame(i)
		for _, a := range as {
			if err := a.Video(f, emit); err != nil {
				return evs, err
			}
		}
	}
	return evs, nil
}

// Match compares the opening events of the given kinds (prefixes such as
// "face.") with the truth: every truth of a watched kind must have exactly
// one event of that kind within tol of its start, and there must be no
// other opening event of a watched kind. ".end" events are ignored. It
// returns one line per problem.
func Match(evs []pipeline.Event, truth []Truth, tol time.Duration, watched ...string) []string {
	watch := func(k string) bool {
		for _, w := range watched {
			if strings.HasPrefix(k, w) {
				return true
			}
		}
		return false
	}
	var problems []string
	used := make([]bool, len(evs))
	for _, tr := range truth {
		if !watch(tr.Kind) {
			continue
		}
		n := 0
		for i, e := range evs {
			if e.Kind == tr.Kind && absDur(e.MediaTime-tr.At) <= tol {
				n++
				used[i] = true
			}
		}
		if n != 1 {
			problems = append(problems, fmt.Sprintf("%s at %v: %d events within %v, want 1", tr.Kind, tr.At, n, tol))
		}
	}
	for i, e := range evs {
		if used[i] || strings.HasSuffix(e.Kind, ".end") || !watch(e.Kind) {
			continue
		}
		problems = append(problems, fmt.Sprintf("unexpected %s at %v (%s)", e.Kind, e.MediaTime, e.Data))
	}
	return problems
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
