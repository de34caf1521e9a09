package qc

import "errors"

// Sentinel errors. Check returns an error (and no Report) only when there is
// nothing to report on: the file cannot be read at all, the policy is
// invalid, or the context ended. A file that can be read but is damaged or
// not media gets a Report with a failing verdict instead, so the evidence
// trail (sha256, what was wrong) is kept.
var (
	// ErrUnreadable: the file does not exist, is not a regular file or
	// cannot be read. It also wraps the underlying cause (fs.ErrNotExist,
	// fs.ErrPermission, av.ErrOpen).
	ErrUnreadable = errors.New("cannot read recording")
	// ErrPolicy: the policy is invalid (an unknown YAML key, a value out
	// of range); the message names the key.
	ErrPolicy = errors.New("invalid QC policy")
	// ErrCanceled: the context ended before the check finished; it also
	// wraps the context's error.
	ErrCanceled = errors.New("QC canceled")
)
