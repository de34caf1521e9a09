package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// InputOptions sets the queue in front of a stage.
type InputOptions struct {
	Size  int  // items buffered before dropping or blocking; default 8
	Block bool // true: back-pressure (evidence paths); false: drop oldest (analysis)
}

type node struct {
	name    string
	src     Source
	stage   Stage
	in      *Queue[Packet]
	outs    []*node
	pending atomic.Int32 // upstream nodes still running; input closes at zero
	emitted atomic.Uint64
}

// NodeStats reports one node's counters.
type NodeStats struct {
	Name    string
	Emitted uint64 // packets the node emitted
	Queued  uint64 // packets accepted by its input queue
	Dropped uint64 // packets its input queue discarded
}

// Graph runs sources and stages, each on its own goroutine, connected by
// bounded queues. A stage's input closes when every upstream node has ended,
// so the end of the sources drains through the graph like EOS.
type Graph struct {
	name    string
	log     *slog.Logger
	mu      sync.Mutex // guards nodes/order/started during building only
	nodes   map[string]*node
	order   []*node
	started bool

	cancel context.CancelFunc
	done   chan struct{}
	runErr error
}

// NewGraph returns an empty graph. A nil logger uses slog.Default().
func NewGraph(name string, log *slog.Logger) *Graph {
	if log == nil {
		log = slog.Default()
	}
	return &Graph{name: name, log: log.With("graph", name), nodes: map[string]*node{}, done: make(chan struct{})}
}

func (g *Graph) add(n *node) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return ErrGraphRunning
	}
	if n.name == "" {
		return fmt.Errorf("%w: node without name", ErrBadGraph)
	}
	if _, dup := g.nodes[n.name]; dup {
		return fmt.Errorf("%w: node %q added twice", ErrBadGraph, n.name)
	}
	g.nodes[n.name] = n
	g.order = append(g.order, n)
	return nil
}

// AddSource adds a node that produces packets.
func (g *Graph) AddSource(name string, s Source) error {
	return g.add(&node{name: name, src: s})
}

// AddStage adds a node that consumes packets through its own input queue.
func (g *Graph) AddStage(name string, s Stage, in InputOptions) error {
	if in.Size <= 0 {
		in.Size = 8
	}
	return g.add(&node{name: name, stage: s, in: NewQueue[Packet](in.Size, in.Block)})
}

// Connect sends everything from emits into to's input queue.
func (g *Graph) Connect(from, to string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return ErrGraphRunning
	}
	f, ok := g.nodes[from]
	if !ok {
		return fmt.Errorf("%w: unknown node %q", ErrBadGraph, from)
	}
	t, ok := g.nodes[to]
	if !ok {
		return fmt.Errorf("%w: unknown node %q", ErrBadGraph, to)
	}
	if t.stage == nil {
		return fmt.Errorf("%w: %q is a source and has no input", ErrBadGraph, to)
	}
	for _, o := range f.outs {
		if o == t {
			return fmt.Errorf("%w: %q -> %q connected twice", ErrBadGraph, from, to)
		}
	}
	f.outs = append(f.outs, t)
	t.pending.Add(1)
	return nil
}

// validate rejects graphs that would hang: stages nobody feeds, and cycles
// (a cycle's inputs could never close).
func (g *Graph) validate() error {
	if len(g.order) == 0 {
		return fmt.Errorf("%w: empty graph", ErrBadGraph)
	}
	for _, n := range g.order {
		if n.stage != nil && n.pending.Load() == 0 {
			return fmt.Errorf("%w: stage %q has no input", ErrBadGraph, n.name)
		}
	}
	const (
		white = iota
		grey
		black
	)
	colour := map[*node]int{}
	var visit func(n *node) error
	visit = func(n *node) error {
		colour[n] = grey
		for _, o := range n.outs {
			switch colour[o] {
			case grey:
				return fmt.Errorf("%w: cycle through %q", ErrBadGraph, o.name)
			case white:
				if err := visit(o); err != nil {
					return err
				}
			}
		}
		colour[n] = black
		return nil
	}
	for _, n := range g.order {
		if colour[n] == white {
			if err := visit(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run starts every node and blocks until all have ended, ctx is cancelled or
// a node fails (which cancels the rest). It can be called once.
func (g *Graph) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.started {
		g.mu.Unlock()
		return ErrGraphRunning
	}
	if err := g.validate(); err != nil {
		g.mu.Unlock()
		close(g.done)
		return err
	}
	g.started = true
	ctx, g.cancel = context.WithCancel(ctx)
	g.mu.Unlock()
	defer close(g.done)
	defer g.cancel()

	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	fail := func(n *node, err error) {
		errMu.Lock()
		errs = append(errs, fmt.Errorf("%s: %w", n.name, err))
		errMu.Unlock()
		g.cancel()
	}
	for _, n := range g.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer g.finish(n)
			if err := g.runNode(ctx, n); err != nil && !errors.Is(err, context.Canceled) {
				fail(n, err)
			}
		}()
	}
	wg.Wait()
	for _, n := range g.order {
		if c, ok := nodeCloser(n); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("%s: close: %w", n.name, err))
			}
		}
		if n.in != nil && n.in.Dropped() > 0 {
			g.log.Warn("stage too slow, packets dropped", "stage", n.name, "dropped", n.in.Dropped(), "queued", n.in.Pushed())
		}
	}
	g.runErr = errors.Join(errs...)
	if g.runErr == nil && ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
		g.runErr = ctx.Err()
	}
	return g.runErr
}

func nodeCloser(n *node) (Closer, bool) {
	if n.src != nil {
		c, ok := n.src.(Closer)
		return c, ok
	}
	c, ok := n.stage.(Closer)
	return c, ok
}

// finish tells downstream nodes that one of their inputs has ended.
func (g *Graph) finish(n *node) {
	for _, o := range n.outs {
		if o.pending.Add(-1) == 0 {
			o.in.Close()
		}
	}
}

func (g *Graph) emitter(ctx context.Context, n *node) Emit {
	return func(p Packet) {
		n.emitted.Add(1)
		for _, o := range n.outs {
			// ErrClosed means the consumer already ended; ctx errors mean we
			// are shutting down. Neither is this producer's failure.
			_, _ = o.in.Push(ctx, p)
		}
	}
}

// runNode runs one node on the calling goroutine, turning a panic in
// integrator code into an error instead of killing the process.
func (g *Graph) runNode(ctx context.Context, n *node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	emit := g.emitter(ctx, n)
	if n.src != nil {
		return n.src.Run(ctx, emit)
	}
	for {
		p, err := n.in.Pop(ctx)
		if errors.Is(err, ErrClosed) {
			if f, ok := n.stage.(Flusher); ok {
				return f.Flush(ctx, emit)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := n.stage.Process(ctx, p, emit); err != nil {
			return err
		}
	}
}

// Close cancels a running graph and waits for it to end. It is safe to call
// more than once and before Run.
func (g *Graph) Close() error {
	g.mu.Lock()
	started := g.started
	cancel := g.cancel
	g.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	<-g.done
	return nil
}

// Stats returns per-node counters; safe to call while running.
func (g *Graph) Stats() []NodeStats {
	g.mu.Lock()
	order := append([]*node(nil), g.order...)
	g.mu.Unlock()
	out := make([]NodeStats, 0, len(order))
	for _, n := range order {
		s := NodeStats{Name: n.name, Emitted: n.emitted.Load()}
		if n.in != nil {
			s.Queued, s.Dropped = n.in.Pushed(), n.in.Dropped()
		}
		out = append(out, s)
	}
	return out
}
