package av

import "errors"

// Sentinel errors. Every error about a file wraps one of them and names the
// file in one line, so callers test with errors.Is and print it as is.
// (Bad Options wrap pipeline.ErrUnsupported, a closed Decoder
// pipeline.ErrClosed.)
var (
	// ErrOpen: the file could not be opened or read (missing, permissions,
	// a directory). A missing file also matches fs.ErrNotExist.
	ErrOpen = errors.New("cannot open")
	// ErrNotMedia: the file exists but is not a media file, or has nothing
	// that could be decoded.
	ErrNotMedia = errors.New("not a media file")
	// ErrNoStreams: the file has no audio or video stream (of the kinds
	// asked for).
	ErrNoStreams = errors.New("no audio or video streams")
	// ErrUnsupportedCodec: no decoder for the selected streams.
	ErrUnsupportedCodec = errors.New("unsupported codec")
	// ErrCorrupt: the file is media but damaged (a header that cannot be
	// read, a packet that does not decode).
	ErrCorrupt = errors.New("corrupt media")
)

// fileError is an error with its own message that wraps several sentinels,
// e.g. ErrOpen and fs.ErrNotExist, without repeating their text.
type fileError struct {
	msg  string
	errs []error
}

func (e *fileError) Error() string   { return e.msg }
func (e *fileError) Unwrap() []error { return e.errs }

// newFileError builds "PATH: MSG" wrapping errs.
func newFileError(path, msg string, errs ...error) error {
	return &fileError{msg: path + ": " + msg, errs: errs}
}
