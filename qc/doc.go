// Package qc checks recordings after the fact: one decode pass of a file
// (through pipeline/av) feeds every check — integrity, parameters against a
// policy, black/white/frozen/blocky/stuttering/blurred video, silent, quiet,
// clipped or one-sided audio, audio–video offset, watermark or clock
// presence — and the result is a Report with one verdict (pass, warn, fail),
// every finding placed on the recording's timeline, the file's sha256, the
// probe summary and decode statistics. Reports render as JSON and as a
// self-contained HTML page.
//
// The engine is a library with no CLI assumptions: Check takes a context, a
// path and a Policy and returns a Report, so the same code runs from the
// witness qc command or from a work queue.
//
// Cost: pictures are scaled once, inside the decoder, to a small I420 copy
// (the source halved or quartered by an integer factor so that the codec's
// 16x16 macroblock grid lands on an 8x8 grid; halving 4:2:0 takes a fast
// path that filters as swscale's bilinear mode does), written into buffers
// that go back to the decoder once analysed; per-pixel checks work on a
// subsampled luma grid and the costlier ones (blockiness, blur) on a few
// frames per second. Video, audio and hashing run on their own goroutines
// while the decoder keeps going, so a check costs about a decode pass.
package qc
