package config

import "errors"

// Sentinel errors. Load and Validate wrap them with %w, so callers can tell a
// misspelt key from a bad value with errors.Is while the message says which
// key, line or variable is at fault.
var (
	// ErrUnknownKey: the YAML file or a WITNESS_<SECTION>_* variable names a
	// key that the configuration does not have (usually a typo).
	ErrUnknownKey = errors.New("unknown key")
	// ErrInvalid: a value does not parse, has the wrong type or is out of
	// range, or the file is not valid YAML.
	ErrInvalid = errors.New("invalid")
)
