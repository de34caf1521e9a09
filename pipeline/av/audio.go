package av

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/asticode/go-astiav"
	"github.com/witness-media/witness/pipeline"
)

// sampleKind is the element type of an FFmpeg sample format.
type sampleKind int

const (
	kindU8 sampleKind = iota
	kindS16
	kindS32
	kindS64
	kindF32
	kindF64
)

// sampleLayout describes an FFmpeg sample format: element type, bytes per
// sample and whether channels are in separate planes.
func sampleLayout(f astiav.SampleFormat) (kind sampleKind, size int, planar bool, ok bool) {
	switch f {
	case astiav.SampleFormatU8:
		return kindU8, 1, false, true
	case astiav.SampleFormatU8P:
		return kindU8, 1, true, true
	case astiav.SampleFormatS16:
		return kindS16, 2, false, true
	case astiav.SampleFormatS16P:
		return kindS16, 2, true, true
	case astiav.SampleFormatS32:
		return kindS32, 4, false, true
	case astiav.SampleFormatS32P:
		return kindS32, 4, true, true
	case astiav.SampleFormatS64:
		return kindS64, 8, false, true
	case astiav.SampleFormatS64P:
		return kindS64, 8, true, true
	case astiav.SampleFormatFlt:
		return kindF32, 4, false, true
	case astiav.SampleFormatFltp:
		return kindF32, 4, true, true
	case astiav.SampleFormatDbl:
		return kindF64, 8, false, true
	case astiav.SampleFormatDblp:
		return kindF64, 8, true, true
	}
	return 0, 0, false, false
}

// convertAudio copies a decoded audio frame into an interleaved AudioFrame
// of the requested format. go-astiav v0.16 has no swresample, and plane
// pointers come from the C helper, so the conversion is done here.
func convertAudio(f *astiav.Frame, format pipeline.SampleFormat) (*pipeline.AudioFrame, error) {
	n, ch, rate := f.NbSamples(), frameChannels(f), f.SampleRate()
	if ch <= 0 || rate <= 0 {
		return nil, fmt.Errorf("%w: audio frame with %d channels at %d Hz", pipeline.ErrInvalidFrame, ch, rate)
	}
	kind, size, planar, ok := sampleLayout(f.SampleFormat())
	if !ok {
		return nil, fmt.Errorf("%w: sample format %s", pipeline.ErrUnsupported, f.SampleFormat())
	}
	af := &pipeline.AudioFrame{Format: format, SampleRate: rate, Channels: ch}
	if format == pipeline.SampleS16 {
		af.S16 = make([]int16, n*ch)
	} else {
		af.F32 = make([]float32, n*ch)
	}
	if n == 0 {
		return af, nil
	}
	planes, count, stride := 1, n*ch, 1
	if planar {
		planes, count, stride = ch, n, ch
	}
	for p := 0; p < planes; p++ {
		b := framePlane(f, p, count*size)
		if b == nil {
			return nil, fmt.Errorf("%w: audio plane %d smaller than %d samples", pipeline.ErrInvalidFrame, p, count)
		}
		if af.S16 != nil {
			toS16(b, kind, count, af.S16[p:], stride)
		} else {
			toF32(b, kind, count, af.F32[p:], stride)
		}
	}
	return af, nil
}

// view reinterprets FFmpeg's plane as count native-endian values. FFmpeg
// aligns its audio buffers, so the cast is safe.
func view[T any](b []byte, count int) []T {
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), count)
}

// toF32 writes count samples of b to dst[0], dst[stride], ... as float32 in
// [-1, 1].
func toF32(b []byte, kind sampleKind, count int, dst []float32, stride int) {
	switch kind {
	case kindU8:
		for i, v := range b[:count] {
			dst[i*stride] = float32(int(v)-128) / 128
		}
	case kindS16:
		for i, v := range view[int16](b, count) {
			dst[i*stride] = float32(v) / (1 << 15)
		}
	case kindS32:
		for i, v := range view[int32](b, count) {
			dst[i*stride] = float32(float64(v) / (1 << 31))
		}
	case kindS64:
		for i, v := range view[int64](b, count) {
			dst[i*stride] = float32(float64(v) / (1 << 63))
		}
	case kindF32:
		for i, v := range view[float32](b, count) {
			dst[i*stride] = v
		}
	case kindF64:
		for i, v := range view[float64](b, count) {
			dst[i*stride] = float32(v)
		}
	}
}

// toS16 is toF32 for int16 output; floats are clipped, not wrapped.
func toS16(b []byte, kind sampleKind, count int, dst []int16, stride int) {
	switch kind {
	case kindU8:
		for i, v := range b[:count] {
			dst[i*stride] = int16(int(v)-128) << 8
		}
	case kindS16:
		for i, v := range view[int16](b, count) {
			dst[i*stride] = v
		}
	case kindS32:
		for i, v := range view[int32](b, count) {
			dst[i*stride] = int16(v >> 16)
		}
	case kindS64:
		for i, v := range view[int64](b, count) {
			dst[i*stride] = int16(v >> 48)
		}
	case kindF32:
		for i, v := range view[float32](b, count) {
			dst[i*stride] = floatToS16(float64(v))
		}
	case kindF64:
		for i, v := range view[float64](b, count) {
			dst[i*stride] = floatToS16(v)
		}
	}
}

func floatToS16(v float64) int16 {
	if math.IsNaN(v) {
		return 0
	}
	s := math.Round(v * (1 << 15))
	if s > math.MaxInt16 {
		return math.MaxInt16
	}
	if s < math.MinInt16 {
		return math.MinInt16
	}
	return int16(s)
}
