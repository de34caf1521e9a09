// Package offline runs the live analyzers over a recording: the same
// factories, params and sampling as the live Host, fed from pipeline/av's
// decoder. Offline nothing is dropped: every sampled frame is analysed, so
// results do not depend on machine load.
package offline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
)

// Options select what to run.
type Options struct {
	Profile *analyzers.Profile
	// Width scales pictures for analysis (height follows the aspect
	// ratio); default 640. Detection works at 320x240 anyway.
	Width int
	// Session names the recording's participant for per-session state.
	Session analyzers.Session
	// OnEvent, if set, sees each event as it is emitted.
	OnEvent func(pipeline.Event)
}

// Result is what one analysis found.
type Result struct {
	Path     string
	Duration time.Duration
	Frames   int // frames decoded
	Analysed map[string]int
	Damaged  int
	Events   []pipeline.Event
}

type runner struct {
	name  string
	a     analyzers.Analyzer
	step  time.Duration
	next  time.Duration
	begun bool
}

// Analyze decodes path and runs the profile's analyzers over it.
func Analyze(ctx context.Context, path string, o Options) (*Result, error) {
	if o.Profile == nil || len(o.Profile.Analyzers) == 0 {
		return nil, fmt.Errorf("%w: no analyzers", analyzers.ErrProfile)
	}
	if err := o.Profile.Validate(); err != nil {
		return nil, err
	}
	if o.Width == 0 {
		o.Width = 640
	}
	var rs []*runner
	defer func() {
		for _, r := range rs {
			_ = r.a.Close()
		}
	}()
	wantAudio := false
	for _, sp := range o.Profile.Analyzers {
		a, err := analyzers.New(sp.Name, o.Session, sp.Params)
		if err != nil {
			return nil, err
		}
		fps := sp.FPS
		if fps == 0 {
			fps = 5
		}
		rs = append(rs, &runner{name: sp.Name, a: a, step: time.Duration(float64(time.Second) / fps)})
		if _, ok := a.(interface{ WantsAudio() bool }); ok {
			wantAudio = true
		}
	}
	d, err := av.Open(path, av.Options{VideoFormat: pipeline.PixelI420, Width: o.Width, Video: true, Audio: wantAudio})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	res := &Result{Path: path, Duration: d.Info().Duration, Analysed: map[string]int{}}
	emit := func(e pipeline.Event) {
		if e.Source == "" {
			e.Source = pipeline.OriginAuto
		}
		if e.Room == "" {
			e.Room = o.Session.Room
		}
		if e.Participant == "" {
			e.Participant = o.Session.Participant
		}
		if e.WallTime.IsZero() {
			e.WallTime = time.Now().UTC()
		}
		res.Events = append(res.Events, e)
		if o.OnEvent != nil {
			o.OnEvent(e)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		it, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		if it.Damaged {
			res.Damaged++
		}
		switch {
		case it.Video != nil:
			res.Frames++
			f := it.Video
			for _, r := range rs {
				if r.begun && f.PTS < r.next {
					continue
				}
				if !r.begun || f.PTS-r.next > r.step {
					r.next = f.PTS
				}
				r.begun, r.next = true, r.next+r.step
				if err := r.a.Video(f, emit); err != nil {
					return res, fmt.Errorf("analyzer %s at %v: %w", r.name, f.PTS, err)
				}
				res.Analysed[r.name]++
			}
		case it.Audio != nil:
			for _, r := range rs {
				if err := r.a.Audio(it.Audio, emit); err != nil {
					return res, fmt.Errorf("analyzer %s at %v: %w", r.name, it.Audio.PTS, err)
				}
			}
		}
	}
	if res.Duration == 0 && len(res.Events) > 0 {
		res.Duration = res.Events[len(res.Events)-1].MediaTime
	}
	return res, nil
}
