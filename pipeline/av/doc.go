// Package av is Witness's only wrapper around FFmpeg (through go-astiav
// v0.16, which matches FFmpeg 5.1). It probes recordings and decodes them
// into pipeline.VideoFrame and pipeline.AudioFrame values, so that nothing
// above it touches cgo.
//
// Recordings are evidence: the decoder keeps going past damaged packets and
// reports what it skipped in Stats instead of aborting, and no input, however
// broken, may panic or abort the process.
//
// Timestamps (VideoFrame.PTS, AudioFrame.PTS, Stats) are measured from the
// file's start time, the earliest start of its streams, so audio and video
// stay aligned with each other; they are never negative.
package av
