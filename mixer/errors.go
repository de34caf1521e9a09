package mixer

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error the package returns wraps one of them, so
// callers (and the CLI's exit codes) can tell bad input from failed work.
var (
	// ErrLayout is an invalid template: unknown key, bad geometry, bad colour.
	ErrLayout = errors.New("invalid layout")
	// ErrUnknownLayout names a built-in template that does not exist.
	ErrUnknownLayout = errors.New("unknown layout")
	// ErrInput is a bad input: unreadable, no video stream, or a role that
	// no slot shows.
	ErrInput = errors.New("invalid input")
	// ErrMissingInput is a slot whose role has no input (and was not
	// declared off).
	ErrMissingInput = errors.New("slot has no input")
	// ErrOutput is invalid output settings.
	ErrOutput = errors.New("invalid output settings")
	// ErrUnknownRole is a layout switch to a role the mix has no pads for.
	ErrUnknownRole = errors.New("role not in the mix")
	// ErrState is a call that does not fit the mix's lifecycle.
	ErrState = errors.New("mix not in the right state")
)

// errList joins several errors on one line ("a; b"), so the CLI's
// one-line error contract holds, while errors.Is still sees each of them.
type errList []error

func (e errList) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (e errList) Unwrap() []error { return e }

// join returns nil, the only error, or an errList.
func join(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errList(errs)
}
