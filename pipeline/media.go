// Package pipeline is the core of Witness: media types, the Stage abstraction,
// the Graph that runs stages with bounded dropping queues between them, and
// the registry of stage factories.
//
// Frames are plain Go values so that analyzers, tests and plugins never touch
// cgo. The adapters in pipeline/gst (GStreamer) and pipeline/av (FFmpeg)
// convert to and from these types.
package pipeline

import (
	"fmt"
	"time"
)

// PixelFormat names the memory layout of a VideoFrame.
type PixelFormat string

// Pixel formats the adapters produce and accept. Names follow GStreamer's
// video/x-raw format strings so caps can be built from them directly.
const (
	PixelRGBA PixelFormat = "RGBA" // packed, 4 bytes per pixel
	PixelRGB  PixelFormat = "RGB"  // packed, 3 bytes per pixel
	PixelGray PixelFormat = "GRAY8"
	PixelI420 PixelFormat = "I420" // planar Y, U, V; chroma halved both ways
)

// BytesPerPixel returns the packed pixel size, or 0 for planar formats.
func (f PixelFormat) BytesPerPixel() int {
	switch f {
	case PixelRGBA:
		return 4
	case PixelRGB:
		return 3
	case PixelGray:
		return 1
	}
	return 0
}

// VideoFrame is one decoded picture. Data holds the planes back to back; for
// packed formats there is one plane of Stride[0]*Height bytes.
type VideoFrame struct {
	Format   PixelFormat
	Width    int
	Height   int
	Stride   [3]int        // bytes per row of each plane (0 where the plane is absent)
	Data     []byte        // all planes, plane 0 first
	PTS      time.Duration // presentation time from the start of the stream
	Duration time.Duration
}

// planeSizes returns the byte size of each plane for the frame's format.
func (f *VideoFrame) planeSizes() ([3]int, error) {
	var s [3]int
	switch f.Format {
	case PixelRGBA, PixelRGB, PixelGray:
		s[0] = f.Stride[0] * f.Height
	case PixelI420:
		ch := (f.Height + 1) / 2
		s[0] = f.Stride[0] * f.Height
		s[1] = f.Stride[1] * ch
		s[2] = f.Stride[2] * ch
	default:
		return s, fmt.Errorf("%w: pixel format %q", ErrUnsupported, f.Format)
	}
	return s, nil
}

// Validate checks that Data is large enough for the declared geometry.
func (f *VideoFrame) Validate() error {
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("%w: video frame size %dx%d", ErrInvalidFrame, f.Width, f.Height)
	}
	sizes, err := f.planeSizes()
	if err != nil {
		return err
	}
	if bpp := f.Format.BytesPerPixel(); bpp > 0 && f.Stride[0] < f.Width*bpp {
		return fmt.Errorf("%w: stride %d < width %d * %d", ErrInvalidFrame, f.Stride[0], f.Width, bpp)
	}
	if need := sizes[0] + sizes[1] + sizes[2]; len(f.Data) < need {
		return fmt.Errorf("%w: %d bytes for %s %dx%d, need %d", ErrInvalidFrame, len(f.Data), f.Format, f.Width, f.Height, need)
	}
	return nil
}

// Plane returns plane i (0 for packed formats; 0..2 for I420).
func (f *VideoFrame) Plane(i int) []byte {
	sizes, err := f.planeSizes()
	if err != nil || i < 0 || i > 2 || sizes[i] == 0 {
		return nil
	}
	off := 0
	for j := 0; j < i; j++ {
		off += sizes[j]
	}
	if off+sizes[i] > len(f.Data) {
		return nil
	}
	return f.Data[off : off+sizes[i]]
}

// RGBAt returns the colour of pixel (x, y) as 8-bit RGB, converting from YUV
// (BT.601, limited range, as produced by videotestsrc and x264) where needed.
func (f *VideoFrame) RGBAt(x, y int) (r, g, b uint8) {
	switch f.Format {
	case PixelRGBA, PixelRGB:
		bpp := f.Format.BytesPerPixel()
		p := f.Data[y*f.Stride[0]+x*bpp:]
		return p[0], p[1], p[2]
	case PixelGray:
		v := f.Data[y*f.Stride[0]+x]
		return v, v, v
	case PixelI420:
		yy := float64(f.Plane(0)[y*f.Stride[0]+x])
		u := float64(f.Plane(1)[(y/2)*f.Stride[1]+x/2]) - 128
		v := float64(f.Plane(2)[(y/2)*f.Stride[2]+x/2]) - 128
		c := 1.164 * (yy - 16)
		return clamp8(c + 1.596*v), clamp8(c - 0.392*u - 0.813*v), clamp8(c + 2.017*u)
	}
	return 0, 0, 0
}

// Luma returns the mean BT.601 luma of the frame (0..255), sampling every
// step-th pixel in both directions; analyzers use it for light checks.
func (f *VideoFrame) Luma(step int) float64 {
	return f.RegionLuma(0, 0, f.Width, f.Height, step)
}

// RegionLuma is Luma over the rectangle [x0,x1) x [y0,y1), clipped to the
// frame (a participant's region of a composite, a face box).
func (f *VideoFrame) RegionLuma(x0, y0, x1, y1, step int) float64 {
	if step < 1 {
		step = 1
	}
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, f.Width), min(y1, f.Height)
	var sum float64
	var n int
	for y := y0; y < y1; y += step {
		for x := x0; x < x1; x += step {
			if f.Format == PixelI420 || f.Format == PixelGray {
				sum += float64(f.Data[y*f.Stride[0]+x])
			} else {
				r, g, b := f.RGBAt(x, y)
				sum += 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
			}
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func clamp8(v float64) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// SampleFormat names the memory layout of an AudioFrame.
type SampleFormat string

// Sample formats. Audio is always interleaved in Go; adapters convert planar
// input so that consumers have one layout to handle.
const (
	SampleS16 SampleFormat = "S16LE"
	SampleF32 SampleFormat = "F32LE"
)

// AudioFrame is a block of interleaved PCM samples. Exactly one of S16 or F32
// is set, matching Format.
type AudioFrame struct {
	Format     SampleFormat
	SampleRate int
	Channels   int
	S16        []int16
	F32        []float32
	PTS        time.Duration
}

// Samples returns the number of samples per channel.
func (a *AudioFrame) Samples() int {
	if a.Channels <= 0 {
		return 0
	}
	switch a.Format {
	case SampleS16:
		return len(a.S16) / a.Channels
	case SampleF32:
		return len(a.F32) / a.Channels
	}
	return 0
}

// Duration is the time the frame covers.
func (a *AudioFrame) Duration() time.Duration {
	if a.SampleRate <= 0 {
		return 0
	}
	return time.Duration(a.Samples()) * time.Second / time.Duration(a.SampleRate)
}

// Float returns the samples of channel ch as float32 in [-1, 1].
func (a *AudioFrame) Float(ch int) []float32 {
	n := a.Samples()
	out := make([]float32, n)
	for i := 0; i < n; i++ {
		switch a.Format {
		case SampleS16:
			out[i] = float32(a.S16[i*a.Channels+ch]) / 32768
		case SampleF32:
			out[i] = a.F32[i*a.Channels+ch]
		}
	}
	return out
}

// Validate checks the frame's declared layout.
func (a *AudioFrame) Validate() error {
	if a.SampleRate <= 0 || a.Channels <= 0 {
		return fmt.Errorf("%w: audio rate %d channels %d", ErrInvalidFrame, a.SampleRate, a.Channels)
	}
	switch a.Format {
	case SampleS16:
		if len(a.S16)%a.Channels != 0 || a.F32 != nil {
			return fmt.Errorf("%w: %d S16 samples for %d channels", ErrInvalidFrame, len(a.S16), a.Channels)
		}
	case SampleF32:
		if len(a.F32)%a.Channels != 0 || a.S16 != nil {
			return fmt.Errorf("%w: %d F32 samples for %d channels", ErrInvalidFrame, len(a.F32), a.Channels)
		}
	default:
		return fmt.Errorf("%w: sample format %q", ErrUnsupported, a.Format)
	}
	return nil
}
