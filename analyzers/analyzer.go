// Package analyzers holds the analyzer API and registry. An analyzer reads
// sampled frames or audio of one participant and emits pipeline.Events; the
// host feeds it through a bounded dropping queue so media never waits for it.
//
// Integrators add an analyzer with one package and one call:
//
//	func init() { analyzers.Register("my-check", New) }
package analyzers

import (
	"context"
	"fmt"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// Session identifies whose media an analyzer instance sees.
type Session struct {
	Tenant      string
	Room        string
	Participant string
}

// Analyzer inspects frames and audio. Calls come from one goroutine, so an
// analyzer keeps per-session state without locks. emit may be called any
// number of times; events get Room/Participant/Source filled in by the host.
type Analyzer interface {
	Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error
	Audio(a *pipeline.AudioFrame, emit func(pipeline.Event)) error
	Close() error
}

// NoOp implements every Analyzer method as a no-op; embed it and override
// what the analyzer needs.
type NoOp struct{}

// Video ignores the frame.
func (NoOp) Video(*pipeline.VideoFrame, func(pipeline.Event)) error { return nil }

// Audio ignores the audio.
func (NoOp) Audio(*pipeline.AudioFrame, func(pipeline.Event)) error { return nil }

// Close releases nothing.
func (NoOp) Close() error { return nil }

var _ Analyzer = NoOp{}

// Factory builds one analyzer per session from its params.
type Factory func(s Session, p pipeline.Params) (Analyzer, error)

var registry = pipeline.NewRegistry[Factory]("analyzer")

// Register makes an analyzer available by name. Call it from init.
func Register(name string, f Factory) { registry.Register(name, f) }

// Names lists the registered analyzers.
func Names() []string { return registry.Names() }

// New builds a registered analyzer for a session.
func New(name string, s Session, p pipeline.Params) (Analyzer, error) {
	f, err := registry.Lookup(name)
	if err != nil {
		return nil, err
	}
	a, err := f(s, p)
	if err != nil {
		return nil, fmt.Errorf("analyzer %q: %w", name, err)
	}
	return a, nil
}

// stage adapts an Analyzer to a pipeline.Stage that emits event packets.
type stage struct {
	a   Analyzer
	s   Session
	now func() time.Time
}

// AsStage wraps an analyzer as a graph stage. Connect it with a dropping
// input (pipeline.InputOptions{Block: false}) so a slow model sheds frames
// instead of stalling the recording.
func AsStage(a Analyzer, s Session) pipeline.Stage {
	return &stage{a: a, s: s, now: time.Now}
}

func (st *stage) Process(_ context.Context, in pipeline.Packet, emit pipeline.Emit) error {
	out := func(e pipeline.Event) {
		if e.Source == "" {
			e.Source = pipeline.OriginAuto
		}
		if e.Room == "" {
			e.Room = st.s.Room
		}
		if e.Participant == "" {
			e.Participant = st.s.Participant
		}
		if e.WallTime.IsZero() {
			e.WallTime = st.now()
		}
		emit(pipeline.Packet{Event: &e})
	}
	switch {
	case in.Video != nil:
		return st.a.Video(in.Video, out)
	case in.Audio != nil:
		return st.a.Audio(in.Audio, out)
	}
	return nil
}

func (st *stage) Close() error { return st.a.Close() }
