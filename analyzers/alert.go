package analyzers

import (
	"encoding/json"
	"fmt"
	"image"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// Alert couples an Episode with the event it raises: Kind when the episode
// opens (media time = when the condition began) and Kind+".end" (info) when
// it closes, so markers can show the episode as a range.
type Alert struct {
	Kind     string
	Severity pipeline.Severity
	Episode
}

// NewAlert returns an alert with the same hysteresis both ways.
func NewAlert(kind string, sev pipeline.Severity, minOn, minOff time.Duration) *Alert {
	return &Alert{Kind: kind, Severity: sev, Episode: Episode{MinOn: minOn, MinOff: minOff}}
}

// Update feeds one observation; data (may be nil) is called only when an
// event is emitted and becomes its JSON data.
func (a *Alert) Update(t time.Duration, cond bool, data func() any, emit func(pipeline.Event)) {
	opened, closed, start := a.Episode.Update(t, cond)
	if !opened && !closed {
		return
	}
	ev := pipeline.Event{Kind: a.Kind, Severity: a.Severity, MediaTime: start}
	if closed {
		ev.Kind, ev.Severity = a.Kind+".end", pipeline.SeverityInfo
	}
	if data != nil {
		if b, err := json.Marshal(data()); err == nil {
			ev.Data = b
		}
	}
	emit(ev)
}

// ROI is a region of interest as fractions of the frame: [x, y, w, h]. The
// zero value is the whole frame.
type ROI []float64

// Validate checks the region lies inside the frame.
func (r ROI) Validate() error {
	if len(r) == 0 {
		return nil
	}
	if len(r) != 4 || r[2] <= 0 || r[3] <= 0 || r[0] < 0 || r[1] < 0 || r[0]+r[2] > 1.0001 || r[1]+r[3] > 1.0001 {
		return fmt.Errorf("roi %v: want [x y w h] fractions inside the frame", []float64(r))
	}
	return nil
}

// Rect is the region in pixels of a w x h frame.
func (r ROI) Rect(w, h int) image.Rectangle {
	if len(r) != 4 {
		return image.Rect(0, 0, w, h)
	}
	return image.Rect(int(r[0]*float64(w)), int(r[1]*float64(h)), int((r[0]+r[2])*float64(w)), int((r[1]+r[3])*float64(h)))
}

// SessionKey names a session for sharing per-session state between the
// analyzers that watch it.
func (s Session) SessionKey() string { return s.Tenant + "/" + s.Room + "/" + s.Participant }
