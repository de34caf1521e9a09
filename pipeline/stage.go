package pipeline

import "context"

// Packet is the unit that flows between stages: one video frame, one audio
// frame or one event. Exactly one field is set.
type Packet struct {
	Video *VideoFrame
	Audio *AudioFrame
	Event *Event
}

// Emit hands a packet to the stage's downstream edges. It never blocks on a
// dropping edge; on a blocking edge it waits for room (back-pressure).
type Emit func(Packet)

// Source produces packets until it runs out (returns nil) or ctx ends.
type Source interface {
	Run(ctx context.Context, emit Emit) error
}

// Stage consumes packets one at a time. Process is called only from the
// stage's own goroutine, so a stage needs no locking for its own state.
type Stage interface {
	Process(ctx context.Context, in Packet, emit Emit) error
}

// Flusher is implemented by stages that hold state to emit when their input
// ends (for example an analyzer closing an open episode).
type Flusher interface {
	Flush(ctx context.Context, emit Emit) error
}

// Closer is implemented by sources and stages that hold resources.
type Closer interface {
	Close() error
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, emit Emit) error

// Run implements Source.
func (f SourceFunc) Run(ctx context.Context, emit Emit) error { return f(ctx, emit) }

// StageFunc adapts a function to Stage.
type StageFunc func(ctx context.Context, in Packet, emit Emit) error

// Process implements Stage.
func (f StageFunc) Process(ctx context.Context, in Packet, emit Emit) error { return f(ctx, in, emit) }
