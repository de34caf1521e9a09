package logging

import "errors"

// Sentinel errors returned (wrapped with %w) by [New], [ParseLevel] and
// [CheckFormat].
var (
	// ErrLevel: the level is not debug, info, warn or error.
	ErrLevel = errors.New("invalid log level")
	// ErrFormat: the format is not text or json.
	ErrFormat = errors.New("invalid log format")
)
