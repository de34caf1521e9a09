package gst

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// State is the lifecycle of a Pipeline. It only moves forward.
type State int32

// Lifecycle states.
const (
	StateBuilding State = iota
	StateRunning
	StateEOS
	StateStopping
	StateFinished
)

var stateNames = [...]string{"building", "running", "eos", "stopping", "finished"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int32(s))
}

// Pipeline owns one GStreamer pipeline and the goroutine that watches its bus.
type Pipeline struct {
	name string
	opts Options
	log  *slog.Logger
	p    *gst.Pipeline

	state atomic.Int32

	eos     chan struct{} // closed when EOS reaches the bus
	eosOnce sync.Once
	failed  chan struct{} // closed on the first bus error
	errOnce sync.Once
	err     error // first bus error; written once before failed is closed

	busStop chan struct{}
	busDone chan struct{}
	startMu sync.Mutex // serialises Start/Close
	closed  bool
}

// NewFromLaunch builds a pipeline from gst-launch syntax. Element names given
// with name=... can be fetched with VideoSink, AudioSink and AppSrc.
func NewFromLaunch(name, description string, opts Options, log *slog.Logger) (*Pipeline, error) {
	Init()
	gp, err := gst.NewPipelineFromString(description)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrParse, name, err)
	}
	return wrap(name, gp, opts, log), nil
}

// New builds an empty pipeline to which bins are added with Add.
func New(name string, opts Options, log *slog.Logger) (*Pipeline, error) {
	Init()
	gp, err := gst.NewPipeline(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrParse, name, err)
	}
	return wrap(name, gp, opts, log), nil
}

func wrap(name string, gp *gst.Pipeline, opts Options, log *slog.Logger) *Pipeline {
	if log == nil {
		log = slog.Default()
	}
	return &Pipeline{
		name:    name,
		opts:    opts.withDefaults(),
		log:     log.With("pipeline", name),
		p:       gp,
		eos:     make(chan struct{}),
		failed:  make(chan struct{}),
		busStop: make(chan struct{}),
		busDone: make(chan struct{}),
	}
}

// Name returns the pipeline's name.
func (p *Pipeline) Name() string { return p.name }

// State returns the lifecycle state.
func (p *Pipeline) State() State { return State(p.state.Load()) }

// upgrade moves the state forward; it refuses to go back so late callbacks
// cannot resurrect a finished pipeline.
func (p *Pipeline) upgrade(to State) bool {
	for {
		cur := p.state.Load()
		if State(cur) >= to {
			return false
		}
		if p.state.CompareAndSwap(cur, int32(to)) {
			return true
		}
	}
}

// element looks up a named element.
func (p *Pipeline) element(name string) (*gst.Element, error) {
	e, err := p.p.GetElementByName(name)
	if err != nil || e == nil {
		return nil, fmt.Errorf("%w: %q in %s", ErrNoElement, name, p.name)
	}
	return e, nil
}

// Add puts a bin into the pipeline (builders such as the mixer return bins).
func (p *Pipeline) Add(b *Bin) error {
	if p.State() != StateBuilding {
		return fmt.Errorf("%w: add %s to %s while %s", ErrStateChange, b.name, p.name, p.State())
	}
	if err := p.p.Add(b.bin.Element); err != nil {
		return fmt.Errorf("%w: add %s: %v", ErrParse, b.name, err)
	}
	return nil
}

// Link links the ghost source pad of a to the ghost sink pad of b.
func (p *Pipeline) Link(a, b *Bin) error {
	if err := a.bin.Link(b.bin.Element); err != nil {
		return fmt.Errorf("%w: link %s -> %s: %v", ErrParse, a.name, b.name, err)
	}
	return nil
}

// Start sets the pipeline PLAYING and waits (bounded) until it is, starting
// the bus watcher first so errors during preroll are reported.
func (p *Pipeline) Start(ctx context.Context) error {
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if !p.upgrade(StateRunning) {
		return fmt.Errorf("%w: start %s in state %s", ErrStateChange, p.name, p.State())
	}
	go p.watchBus()
	if err := p.setState(ctx, gst.StatePlaying); err != nil {
		p.closeLocked()
		return err
	}
	return nil
}

// setState changes state with a timeout. gst_element_set_state can block on a
// deadlocked element, so it runs on a helper goroutine we can abandon; the
// abandoned goroutine is logged, never silently leaked.
func (p *Pipeline) setState(ctx context.Context, st gst.State) error {
	res := make(chan error, 1)
	go func() { res <- p.p.SetState(st) }()
	timer := time.NewTimer(p.opts.StateTimeout)
	defer timer.Stop()
	select {
	case err := <-res:
		if err != nil {
			return p.stateError(st, err)
		}
	case <-timer.C:
		p.log.Error("state change blocked", "to", st.String(), "timeout", p.opts.StateTimeout)
		p.dumpDot("state-timeout")
		return fmt.Errorf("%w: %s to %s after %v", ErrStateTimeout, p.name, st, p.opts.StateTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	// An ASYNC change to PLAYING completes at preroll, which for appsrc-fed
	// pipelines needs data the caller pushes only after Start returns, so we
	// do not wait for it: preroll failures arrive on the bus (Wait, Err).
	return nil
}

// stateError prefers the bus error (which names the element and the cause)
// over GStreamer's bare "failed to change state".
func (p *Pipeline) stateError(st gst.State, err error) error {
	select {
	case <-p.failed:
		return p.err
	case <-time.After(500 * time.Millisecond):
	}
	return fmt.Errorf("%w: %s to %s: %v", ErrStateChange, p.name, st, err)
}

// watchBus is the single owner of the bus. It never changes pipeline state:
// it records errors and EOS and the owner acts on them.
func (p *Pipeline) watchBus() {
	defer close(p.busDone)
	bus := p.p.GetPipelineBus()
	mask := gst.MessageError | gst.MessageWarning | gst.MessageEOS
	for {
		select {
		case <-p.busStop:
			return
		default:
		}
		msg := bus.TimedPopFiltered(clockTime(50*time.Millisecond), mask)
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			p.upgrade(StateEOS)
			p.eosOnce.Do(func() { close(p.eos) })
		case gst.MessageError:
			ge := msg.ParseError()
			be := &BusError{Source: msg.Source()}
			if ge != nil {
				be.Message, be.Debug = ge.Error(), ge.DebugString()
			}
			p.log.Error("gstreamer error", "element", be.Source, "msg", be.Message, "debug", be.Debug)
			p.errOnce.Do(func() {
				p.err = be
				close(p.failed)
			})
		case gst.MessageWarning:
			if gw := msg.ParseWarning(); gw != nil {
				p.log.Warn("gstreamer warning", "element", msg.Source(), "msg", gw.Error(), "debug", gw.DebugString())
			}
		}
	}
}

// Err returns the first bus error, or nil.
func (p *Pipeline) Err() error {
	select {
	case <-p.failed:
		return p.err
	default:
		return nil
	}
}

// Done is closed when the pipeline reached EOS or failed.
func (p *Pipeline) Done() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		select {
		case <-p.eos:
		case <-p.failed:
		case <-p.busDone:
		}
		close(ch)
	}()
	return ch
}

// Wait blocks until EOS (nil), a bus error, or ctx ends.
func (p *Pipeline) Wait(ctx context.Context) error {
	select {
	case <-p.eos:
		return nil
	case <-p.failed:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop ends the pipeline gracefully: it sends EOS (unless EOS already
// arrived, e.g. from sources that finished), waits for it under the EOS
// watchdog, then sets NULL. ErrEOSTimeout means the muxer could not be
// finalised in time; the pipeline is still torn down.
func (p *Pipeline) Stop(ctx context.Context) error {
	var err error
	// Arm the watchdog before sending: send_event can itself block behind a
	// stuck streaming thread, so it runs on its own goroutine.
	timer := time.NewTimer(p.opts.EOSTimeout)
	defer timer.Stop()
	if p.State() == StateRunning {
		p.upgrade(StateStopping)
		go p.p.SendEvent(gst.NewEOSEvent())
	}
	if p.State() >= StateEOS {
		select {
		case <-p.eos:
		case <-p.failed:
			err = p.err
		case <-timer.C:
			p.dumpDot("eos-timeout")
			err = fmt.Errorf("%w: %s after %v", ErrEOSTimeout, p.name, p.opts.EOSTimeout)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	return errors.Join(err, p.Close())
}

// Close is the hard stop: NULL state (bounded), bus watcher stopped. It is
// idempotent and safe before Start.
func (p *Pipeline) Close() error {
	p.startMu.Lock()
	defer p.startMu.Unlock()
	return p.closeLocked()
}

func (p *Pipeline) closeLocked() error {
	if p.closed {
		return nil
	}
	p.closed = true
	wasRunning := p.State() >= StateRunning
	p.upgrade(StateFinished)
	err := p.setState(context.Background(), gst.StateNull)
	if wasRunning {
		close(p.busStop)
		<-p.busDone
	}
	return err
}

// dumpDot writes the pipeline graph when GST_DEBUG_DUMP_DOT_DIR is set, the
// first thing to look at when a pipeline freezes.
func (p *Pipeline) dumpDot(reason string) {
	if os.Getenv("GST_DEBUG_DUMP_DOT_DIR") == "" {
		return
	}
	p.p.DebugBinToDotFileWithTs(gst.DebugGraphShowAll, p.name+"-"+reason)
	p.log.Info("pipeline graph dumped", "dir", os.Getenv("GST_DEBUG_DUMP_DOT_DIR"), "reason", reason)
}
