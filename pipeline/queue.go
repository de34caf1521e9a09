package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// Queue is a bounded FIFO between two stages. In dropping mode (the default,
// used wherever analysis reads media) a full queue discards its oldest item so
// the freshest frames win and the producer never waits; every discard is
// counted. In blocking mode (evidence paths, where nothing may be lost) Push
// waits for room, applying back-pressure instead.
type Queue[T any] struct {
	mu     sync.Mutex
	buf    []T
	head   int
	n      int
	closed bool
	block  bool
	// notEmpty and notFull are signalled by closing and replacing the channel,
	// so waiters can also select on a context.
	notEmpty chan struct{}
	notFull  chan struct{}

	pushed  atomic.Uint64
	dropped atomic.Uint64
}

// NewQueue returns a queue holding at most size items (size < 1 means 1).
func NewQueue[T any](size int, block bool) *Queue[T] {
	if size < 1 {
		size = 1
	}
	return &Queue[T]{
		buf:      make([]T, size),
		block:    block,
		notEmpty: make(chan struct{}),
		notFull:  make(chan struct{}),
	}
}

func (q *Queue[T]) wake(ch *chan struct{}) {
	close(*ch)
	*ch = make(chan struct{})
}

// Push adds v. A dropping queue never waits: when full it discards the oldest
// item and reports dropped=true. A blocking queue waits for room or ctx.
// Pushing to a closed queue returns ErrClosed.
func (q *Queue[T]) Push(ctx context.Context, v T) (dropped bool, err error) {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return false, ErrClosed
		}
		if q.n < len(q.buf) {
			break
		}
		if !q.block {
			var zero T
			q.buf[q.head] = zero // release the reference before overwrite
			q.head = (q.head + 1) % len(q.buf)
			q.n--
			q.dropped.Add(1)
			dropped = true
			break
		}
		wait := q.notFull
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		q.mu.Lock()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	q.pushed.Add(1)
	q.wake(&q.notEmpty)
	q.mu.Unlock()
	return dropped, nil
}

// Pop removes the oldest item, waiting for one. It returns ErrClosed once the
// queue is closed and drained, so consumers see every item pushed before Close.
func (q *Queue[T]) Pop(ctx context.Context) (T, error) {
	q.mu.Lock()
	for q.n == 0 {
		if q.closed {
			q.mu.Unlock()
			var zero T
			return zero, ErrClosed
		}
		wait := q.notEmpty
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		q.mu.Lock()
	}
	v := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	q.wake(&q.notFull)
	q.mu.Unlock()
	return v, nil
}

// Close stops further pushes; items already queued can still be popped.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		q.wake(&q.notEmpty)
		q.wake(&q.notFull)
	}
	q.mu.Unlock()
}

// Len returns the number of queued items.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Cap returns the queue's capacity.
func (q *Queue[T]) Cap() int { return len(q.buf) }

// Pushed counts items accepted; Dropped counts items discarded because the
// consumer was too slow.
func (q *Queue[T]) Pushed() uint64  { return q.pushed.Load() }
func (q *Queue[T]) Dropped() uint64 { return q.dropped.Load() }
