package signaling

import "errors"

// Sentinel errors; wrapped with %w and details.
var (
	ErrToken     = errors.New("signaling: invalid token")
	ErrConfig    = errors.New("signaling: bad configuration")
	ErrClosed    = errors.New("signaling: closed")
	ErrRecording = errors.New("signaling: recording")
	ErrFile      = errors.New("signaling: file transfer")
)
