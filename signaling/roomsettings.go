package signaling

import (
	"slices"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/mixer"
	"github.com/witness-media/witness/watermark"
)

// RoomSettings override the server's recording and analysis settings for
// one room, e.g. from the business template of the call. Zero fields keep
// the server's settings.
type RoomSettings struct {
	// Layout is a built-in composite layout name or a layout file.
	Layout string
	// Watermarks replace the server's watermark set on the recordings.
	Watermarks *watermark.Set
	// Analyzers names the live analyzers to run, each with the parameters
	// the server's profile gives it (or its defaults). They run only where
	// the server has live analysis on: a template narrows or changes the
	// set, it does not switch analysis on for a server that has it off.
	Analyzers []string
}

// roomSettings asks Config.RoomSettings and drops what cannot be used,
// with a warning: a bad template must not lose the call's recording.
func (s *Server) roomSettings(room, tenant string) RoomSettings {
	set, err := s.cfg.RoomSettings(room, tenant)
	if err != nil {
		s.log.Warn("room settings: using the server's", "room", room, "err", err)
		return RoomSettings{}
	}
	if set.Layout != "" {
		if _, err := mixer.LoadLayout(set.Layout); err != nil {
			s.log.Warn("room settings: layout refused, using the server's", "room", room, "layout", set.Layout, "err", err)
			set.Layout = ""
		}
	}
	if set.Watermarks != nil {
		if err := set.Watermarks.Validate(); err != nil {
			s.log.Warn("room settings: watermark refused, using the server's", "room", room, "err", err)
			set.Watermarks = nil
		}
	}
	for _, n := range set.Analyzers {
		if !slices.Contains(analyzers.Names(), n) {
			s.log.Warn("room settings: unknown analyzer, using the server's set", "room", room, "analyzer", n)
			set.Analyzers = nil
			break
		}
	}
	return set
}

// layoutName is the room's composite layout.
func (r *room) layoutName() string {
	if r.set.Layout != "" {
		return r.set.Layout
	}
	return r.s.cfg.Recording.Layout
}

// watermarks is the room's watermark set (nil: none).
func (r *room) watermarks() *watermark.Set {
	if r.set.Watermarks != nil {
		return r.set.Watermarks
	}
	return r.s.cfg.Recording.Watermarks
}

// profile is the live analysis profile of the room: the server's (per
// tenant), with its analyzers replaced by the room's list when it has one.
func (r *room) profile() *analyzers.Profile {
	base := r.s.cfg.Analysis.profileFor(r.tenant)
	if base == nil || len(r.set.Analyzers) == 0 {
		return base
	}
	p := *base
	p.Analyzers = nil
	for _, n := range r.set.Analyzers {
		spec := analyzers.Spec{Name: n}
		for _, b := range base.Analyzers {
			if b.Name == n {
				spec = b
				break
			}
		}
		p.Analyzers = append(p.Analyzers, spec)
	}
	return &p
}
