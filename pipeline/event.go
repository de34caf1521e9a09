package pipeline

import (
	"encoding/json"
	"fmt"
	"time"
)

// Severity of an Event, ordered so that comparisons work (Critical > Warning).
type Severity int

// Severities.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityCritical
)

var severityNames = [...]string{"info", "warning", "critical"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText encodes the severity by name so JSON reports stay readable.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if n == string(b) {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("%w: severity %q", ErrUnsupported, b)
}

// Origin says who produced an Event: the engine's own analyzers (auto), a
// person (manual marker), or an integrator's plugin.
type Origin string

// Event origins.
const (
	OriginAuto   Origin = "auto"
	OriginManual Origin = "manual"
	OriginPlugin Origin = "plugin"
)

// Event is what analyzers emit and recordings store as markers (打点). Media
// time anchors it on the recording's timeline; wall time says when it was seen.
type Event struct {
	Kind        string          `json:"kind"` // e.g. "face.missing", "light.dark"
	Severity    Severity        `json:"severity"`
	Source      Origin          `json:"source"`
	MediaTime   time.Duration   `json:"media_time_ns"`
	WallTime    time.Time       `json:"wall_time"`
	Room        string          `json:"room,omitempty"`
	Participant string          `json:"participant,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// Validate rejects events that could not be placed on a timeline.
func (e *Event) Validate() error {
	if e.Kind == "" {
		return fmt.Errorf("%w: event without kind", ErrInvalidFrame)
	}
	switch e.Source {
	case OriginAuto, OriginManual, OriginPlugin:
	default:
		return fmt.Errorf("%w: event source %q", ErrUnsupported, e.Source)
	}
	if e.MediaTime < 0 {
		return fmt.Errorf("%w: negative media time %v", ErrInvalidFrame, e.MediaTime)
	}
	if e.Severity < SeverityInfo || e.Severity > SeverityCritical {
		return fmt.Errorf("%w: severity %d", ErrUnsupported, e.Severity)
	}
	return nil
}
