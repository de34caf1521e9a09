package analyzers

import "time"

// Episode debounces a per-frame condition into episodes so an alert fires
// once per episode, not once per frame: it opens after the condition has held
// for MinOn and closes after it has been false for MinOff (hysteresis in
// time). Media time drives it, so results do not depend on processing speed.
type Episode struct {
	MinOn  time.Duration
	MinOff time.Duration

	open      bool
	since     time.Duration // when the current run of true (or false) began
	running   bool          // whether a run is in progress
	lastState bool
}

// Update feeds one observation at media time t. It reports opened=true on
// the observation that opens an episode (start is when the condition began)
// and closed=true on the one that closes it.
func (e *Episode) Update(t time.Duration, cond bool) (opened, closed bool, start time.Duration) {
	if !e.running || cond != e.lastState {
		e.running, e.lastState, e.since = true, cond, t
	}
	switch {
	case !e.open && cond && t-e.since >= e.MinOn:
		e.open = true
		return true, false, e.since
	case e.open && !cond && t-e.since >= e.MinOff:
		e.open = false
		return false, true, e.since
	}
	return false, false, 0
}

// Open reports whether an episode is in progress.
func (e *Episode) Open() bool { return e.open }
