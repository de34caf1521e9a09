package mixer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/witness-media/witness/pipeline/gst"
)

// Layout switching lives in this one file. A switch never rebuilds the
// pipeline: every role that any layout of the mix shows has its pads from the
// start, and a switch only changes pad properties (position, size, z order,
// alpha; crops on the role's videocrop), so the encoder, the muxer and the
// file carry on with continuous timestamps.
//
// Two ways in:
//   - SwitchLayout, live: the owner goroutine sets the properties now; they
//     take effect from the next output frame. Never called from a GStreamer
//     streaming thread.
//   - Config.Switches, offline: the properties are scheduled at exact media
//     times with GStreamer's controller (step interpolation), so the change
//     lands on the right frame however fast the mix runs.

// SwitchLayout changes the layout of a running (or built) mix. Every role
// of l must have been known when the mix was built (in Config.Layout,
// Config.Alternates or Config.Switches); a role without an input shows its
// placeholder.
func (m *Mix) SwitchLayout(l *Layout) error {
	if l == nil {
		return fmt.Errorf("%w: no layout", ErrLayout)
	}
	for _, r := range l.Roles() {
		if m.byName[r] == nil {
			return fmt.Errorf("%w: %q (build the mix with the layout in Config.Alternates)", ErrUnknownRole, r)
		}
	}
	props := m.padProps(l)
	for _, key := range sortedKeys(props) {
		var err error
		if strings.HasPrefix(key, "crop_") {
			err = m.p.SetProperties(key, props[key]...)
		} else {
			err = m.p.SetPadProperties("mix", key, props[key]...)
		}
		if err != nil {
			return fmt.Errorf("switch to layout %q: %w", l.Name, err)
		}
	}
	m.log.Info("layout switched", "from", m.layout.Name, "to", l.Name)
	m.layout = l
	return nil
}

// Layout returns the layout last switched to (live) or the initial one.
func (m *Mix) Layout() *Layout { return m.layout }

// scheduleSwitches installs Config.Switches as step keyframes on every
// property that changes at some switch.
func (m *Mix) scheduleSwitches() error {
	if len(m.cfg.Switches) == 0 {
		return nil
	}
	sw := append([]Switch(nil), m.cfg.Switches...)
	sort.SliceStable(sw, func(i, j int) bool { return sw[i].At < sw[j].At })
	steps := []Switch{{At: 0, Layout: m.cfg.Layout}}
	steps = append(steps, sw...)
	type key struct{ obj, prop string }
	keys := map[key][]gst.Keyframe{}
	var order []key
	for _, s := range steps {
		props := m.padProps(s.Layout)
		for _, obj := range sortedKeys(props) {
			for _, p := range props[obj] {
				v, ok := p.Value.(int)
				f := float64(v)
				if !ok {
					f, _ = p.Value.(float64)
				}
				k := key{obj, p.Name}
				if _, seen := keys[k]; !seen {
					order = append(order, k)
				}
				keys[k] = append(keys[k], gst.Keyframe{At: s.At, Value: f})
			}
		}
	}
	for _, k := range order {
		ks := keys[k]
		changes := false
		for _, kf := range ks[1:] {
			changes = changes || kf.Value != ks[0].Value
		}
		if !changes {
			continue
		}
		var err error
		if strings.HasPrefix(k.obj, "crop_") {
			err = m.p.Schedule(k.obj, "", k.prop, gst.Step, ks)
		} else {
			err = m.p.Schedule("mix", k.obj, k.prop, gst.Step, ks)
		}
		if err != nil {
			return fmt.Errorf("layout switch schedule: %w", err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
