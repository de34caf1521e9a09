package pipeline

import "errors"

// Sentinel errors. Adapters wrap them with %w so callers can test with errors.Is.
var (
	ErrInvalidFrame   = errors.New("invalid frame")
	ErrUnsupported    = errors.New("unsupported")
	ErrUnknownStage   = errors.New("unknown stage")
	ErrDuplicateStage = errors.New("stage already registered")
	ErrClosed         = errors.New("closed")
	ErrGraphRunning   = errors.New("graph already running")
	ErrBadGraph       = errors.New("invalid graph")
)
