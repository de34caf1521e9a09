package mixer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
	"github.com/witness-media/witness/watermark"
)

// Pause and resume live in this one file. A pause never stops the
// pipeline or cuts the file: the output timeline runs on with continuous
// timestamps (and the timestamp watermark keeps counting), while a
// full-frame card "暂停 PAUSED" covers the picture and the mixed audio is
// silenced. What the inputs carried during the pause is not recorded; the
// interval is marked (a "recording.paused" pipeline.Event, also written
// to OUT.markers.json), so a reviewer sees the gap, its length, and that
// nothing was cut out of the timeline.
//
//   - Offline (Config.Pauses): the card's alpha and the silence are
//     scheduled at exact media times with GStreamer's controller, like
//     layout switches.
//   - Live (Mix.Pause / Mix.Resume): the owner goroutine sets them now;
//     they take effect from the next output frame / audio buffer.

// Pause is an interval of the output timeline during which the recording
// shows the pause card and is silent (offline mixes).
type Pause struct {
	At       time.Duration
	Duration time.Duration
}

// Marker kinds.
const (
	KindPaused = "recording.paused"
)

// Pause card look.
const (
	pauseText  = "暂停 PAUSED"
	pauseColor = 0xFF102040 // ARGB: dark blue, unlike the grey placeholder
	pausePad   = "pause"    // element and pad name prefix
	pauseZ     = 10000      // above every slot
	pauseGain  = "pausevol" // volume element after audiomixer
)

// pausable says whether the mix has the pause card and silence elements:
// live mixes always (a pause cannot be foreseen), offline ones with pauses.
func (m *Mix) pausable() bool { return m.live || len(m.cfg.Pauses) > 0 }

// validatePauses sorts Config.Pauses and checks that they are positive,
// inside the output and do not overlap.
func (m *Mix) validatePauses() error {
	ps := m.cfg.Pauses
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].At < ps[j].At })
	for i, p := range ps {
		switch {
		case p.At < 0 || p.Duration <= 0:
			return fmt.Errorf("%w: pause at %v for %v", ErrOutput, p.At, p.Duration)
		case m.live:
			return fmt.Errorf("%w: scheduled pauses are for offline mixes (use Pause/Resume live)", ErrOutput)
		case p.At+p.Duration > m.total:
			return fmt.Errorf("%w: pause %v-%v ends after the output (%v)", ErrOutput, p.At, p.At+p.Duration, m.total)
		case i > 0 && p.At < ps[i-1].At+ps[i-1].Duration:
			return fmt.Errorf("%w: pauses at %v and %v overlap", ErrOutput, ps[i-1].At, p.At)
		}
	}
	return nil
}

// pauseLaunch adds the pause card as the compositor's top pad (hidden).
// Offline it is rendered once at full size; live it is a half-size live
// source (cheaper per frame) that the compositor scales up while shown —
// a hidden (alpha 0) pad is neither converted nor blended.
func (m *Mix) pauseLaunch(add func(string, ...any), props map[string][]gst.Prop, pad string) {
	w, h := m.cfg.Output.Width, m.cfg.Output.Height
	cw, ch := w, h
	if m.live {
		cw, ch = w/2, h/2
	}
	font := clamp(ch/8, 12, 96)
	add("%s ! mix.%s", m.still(pauseColor, cw, ch,
		fmt.Sprintf("textoverlay name=%s_text text=%s font-desc=%s halignment=center valignment=center auto-resize=false draw-shadow=false wait-text=false color=0xFFFFFFFF",
			pausePad, watermark.Quote(pauseText), watermark.Quote(fmt.Sprintf("Noto Sans CJK SC Bold %dpx", font)))), pad)
	props[pad] = []gst.Prop{{Name: "xpos", Value: 0}, {Name: "ypos", Value: 0}, {Name: "width", Value: w}, {Name: "height", Value: h},
		{Name: "zorder", Value: pauseZ}, {Name: "alpha", Value: 0.0}}
}

// schedulePauses installs Config.Pauses as step keyframes on the card's
// alpha and the output volume.
func (m *Mix) schedulePauses() error {
	if len(m.cfg.Pauses) == 0 {
		return nil
	}
	alpha := []gst.Keyframe{{At: 0, Value: 0}}
	vol := []gst.Keyframe{{At: 0, Value: 1}}
	for _, p := range m.cfg.Pauses {
		alpha = append(alpha, gst.Keyframe{At: p.At, Value: 1}, gst.Keyframe{At: p.At + p.Duration, Value: 0})
		vol = append(vol, gst.Keyframe{At: p.At, Value: 0}, gst.Keyframe{At: p.At + p.Duration, Value: 1})
	}
	if err := m.p.Schedule("mix", m.pause, "alpha", gst.Step, alpha); err != nil {
		return fmt.Errorf("pause schedule: %w", err)
	}
	if err := m.p.Schedule(pauseGain, "", "volume", gst.Step, vol); err != nil {
		return fmt.Errorf("pause schedule: %w", err)
	}
	for _, p := range m.cfg.Pauses {
		m.markers = append(m.markers, pauseMarker(p.At, p.Duration, m.cfg.Now.Add(p.At)))
	}
	return nil
}

// Pause starts a pause in a live mix: from the next frame the recording
// shows the pause card and is silent, while its timeline runs on.
func (m *Mix) Pause() error {
	switch {
	case !m.live:
		return fmt.Errorf("%w: Pause is for live mixes (offline: Config.Pauses)", ErrState)
	case m.done:
		return fmt.Errorf("%w: mix finished", ErrState)
	case m.pausedAt >= 0:
		return fmt.Errorf("%w: already paused", ErrState)
	}
	pos, _ := m.p.Position("mix")
	if err := m.setPaused(true); err != nil {
		return err
	}
	m.pausedAt, m.pausedWall = pos, time.Now()
	m.log.Info("recording paused", "at", pos)
	return nil
}

// Resume ends the pause and returns its marker (also kept for Markers and
// the markers file).
func (m *Mix) Resume() (pipeline.Event, error) {
	switch {
	case m.done:
		return pipeline.Event{}, fmt.Errorf("%w: mix finished", ErrState)
	case m.pausedAt < 0:
		return pipeline.Event{}, fmt.Errorf("%w: not paused", ErrState)
	}
	if err := m.setPaused(false); err != nil {
		return pipeline.Event{}, err
	}
	ev := m.closePause()
	m.log.Info("recording resumed", "paused_at", ev.MediaTime, "for", time.Duration(m.pauseDuration(ev)))
	return ev, nil
}

// Paused says whether a live pause is in progress.
func (m *Mix) Paused() bool { return m.pausedAt >= 0 }

// Markers returns the pause markers so far (offline: all of them).
func (m *Mix) Markers() []pipeline.Event { return append([]pipeline.Event(nil), m.markers...) }

func (m *Mix) setPaused(on bool) error {
	alpha, mute := 0.0, false
	if on {
		alpha, mute = 1.0, true
	}
	if err := m.p.SetPadProperties("mix", m.pause, gst.Prop{Name: "alpha", Value: alpha}); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	if err := m.p.SetProperties(pauseGain, gst.Prop{Name: "mute", Value: mute}); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	return nil
}

// closePause ends the live pause in progress at the current position.
func (m *Mix) closePause() pipeline.Event {
	end, ok := m.p.Position("mix")
	if !ok || end < m.pausedAt {
		end = m.pausedAt
	}
	ev := pauseMarker(m.pausedAt, end-m.pausedAt, m.pausedWall)
	m.markers = append(m.markers, ev)
	m.pausedAt = -1
	return ev
}

func (m *Mix) pauseDuration(ev pipeline.Event) int64 {
	var d struct {
		Duration int64 `json:"duration_ns"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return d.Duration
}

// pauseMarker is the event that marks a pause on the recording's timeline.
func pauseMarker(at, dur time.Duration, wall time.Time) pipeline.Event {
	data, _ := json.Marshal(map[string]any{
		"start_ns":    at.Nanoseconds(),
		"duration_ns": dur.Nanoseconds(),
		"end_ns":      (at + dur).Nanoseconds(),
		"start":       at.String(),
		"duration":    dur.String(),
	})
	return pipeline.Event{Kind: KindPaused, Severity: pipeline.SeverityInfo, Source: pipeline.OriginManual, MediaTime: at, WallTime: wall, Data: data}
}

// markersPath is where the markers are written: OUT with its extension
// replaced by .markers.json (session.mp4 → session.markers.json).
func (o *Output) markersPath() string {
	return strings.TrimSuffix(o.Path, filepath.Ext(o.Path)) + ".markers.json"
}

// writeMarkers writes the markers file (when there are markers), through a
// temporary name so a file under the final name is always complete.
func (m *Mix) writeMarkers() error {
	if len(m.markers) == 0 {
		return nil
	}
	data, err := json.MarshalIndent(m.markers, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: markers: %w", ErrOutput, err)
	}
	path := m.cfg.Output.markersPath()
	if err := os.WriteFile(path+".part", append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	if err := os.Rename(path+".part", path); err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	m.markersFile = path
	return nil
}
