// Package video holds Witness's picture enhancement stages: brightness,
// contrast and saturation, low-light lift, denoise, sharpen, face-limited
// beauty (skin smoothing, whitening, face slimming, eye enlargement) and
// person segmentation for virtual backgrounds and background blur.
//
// Every stage is off unless a business template enables it, is an exact
// identity when its strengths are zero (the frame passes untouched), never
// modifies the frame it was given (a graph may share it with other
// branches such as the evidence recording) and reports its settings through
// enhance.Enhancer for the recording's report.
package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/enhance"
	"github.com/witness-media/witness/pipeline"
)

// ErrParams is wrapped by every invalid parameter error.
var ErrParams = errors.New("video enhancement: invalid params")

// filter changes an RGB picture in place and returns the rectangle it may
// have changed (empty: nothing changed).
type filter func(f *pipeline.VideoFrame, rgb *gocv.Mat) (image.Rectangle, error)

// Stage applies one filter to every video frame; audio and events pass.
//
// It fails open: a frame the filter cannot process (an unsupported format,
// a model error) is passed on unchanged, the first such error is logged,
// and the count and last error appear in the report. An enhancement must
// never take a call or a recording down.
type Stage struct {
	name     string
	active   bool
	settings map[string]any
	filter   filter
	closer   func() error
	failures int
	lastErr  error
}

// Process implements pipeline.Stage.
func (s *Stage) Process(_ context.Context, in pipeline.Packet, emit pipeline.Emit) error {
	if in.Video == nil || !s.active {
		emit(in)
		return nil
	}
	out, err := s.Apply(in.Video)
	if err != nil {
		if s.failures == 0 {
			slog.Error("enhancement failed; passing frames through unprocessed", "stage", s.name, "err", err)
		}
		s.failures++
		s.lastErr = fmt.Errorf("%s: %w", s.name, err)
		emit(in)
		return nil
	}
	emit(pipeline.Packet{Video: out})
	return nil
}

// Err is the last error a frame hit (nil if none).
func (s *Stage) Err() error { return s.lastErr }

// Apply returns the filtered copy of f (f itself when the stage is off or
// changed nothing).
func (s *Stage) Apply(f *pipeline.VideoFrame) (*pipeline.VideoFrame, error) {
	if !s.active {
		return f, nil
	}
	if f.Format == pipeline.PixelGray {
		return nil, fmt.Errorf("%w: %s frames (use RGB, RGBA or I420)", pipeline.ErrUnsupported, f.Format)
	}
	rgb, err := facekit.RGBMat(f)
	if err != nil {
		return nil, err
	}
	defer rgb.Close()
	roi, err := s.filter(f, &rgb)
	if err != nil {
		return nil, err
	}
	if roi.Empty() {
		return f, nil
	}
	return writeRGB(f, rgb, roi), nil
}

// Close implements pipeline.Closer.
func (s *Stage) Close() error {
	if s.closer != nil {
		return s.closer()
	}
	return nil
}

// Enhancement implements enhance.Enhancer.
func (s *Stage) Enhancement() enhance.Applied {
	a := enhance.Applied{Stage: s.name, Active: s.active, Settings: s.settings}
	if s.failures > 0 {
		a.Settings = map[string]any{}
		for k, v := range s.settings {
			a.Settings[k] = v
		}
		a.Settings["failed_frames"] = s.failures
		a.Settings["error"] = s.lastErr.Error()
	}
	return a
}

// writeRGB returns a copy of f with the pixels of roi taken from rgb (an
// RGB Mat of the frame's size); pixels outside roi are the original bytes.
func writeRGB(f *pipeline.VideoFrame, rgb gocv.Mat, roi image.Rectangle) *pipeline.VideoFrame {
	out := *f
	out.Data = append([]byte(nil), f.Data...)
	px, _ := rgb.DataPtrUint8()
	w := rgb.Cols()
	switch f.Format {
	case pipeline.PixelRGB, pipeline.PixelRGBA:
		bpp := f.Format.BytesPerPixel()
		for y := roi.Min.Y; y < roi.Max.Y; y++ {
			for x := roi.Min.X; x < roi.Max.X; x++ {
				copy(out.Data[y*f.Stride[0]+x*bpp:][:3], px[(y*w+x)*3:][:3])
			}
		}
	case pipeline.PixelI420:
		// Chroma is shared by 2x2 blocks: widen the rectangle to even
		// edges and convert just that part.
		r := image.Rect(roi.Min.X&^1, roi.Min.Y&^1, (roi.Max.X+1)&^1, (roi.Max.Y+1)&^1).Intersect(image.Rect(0, 0, rgb.Cols()&^1, rgb.Rows()&^1))
		if r.Empty() {
			return &out
		}
		reg := rgb.Region(r)
		yuv := gocv.NewMat()
		gocv.CvtColor(reg, &yuv, gocv.ColorRGBToYUVI420)
		reg.Close()
		b, _ := yuv.DataPtrUint8()
		rw, rh := r.Dx(), r.Dy()
		yp, up, vp := out.Plane(0), out.Plane(1), out.Plane(2)
		for y := 0; y < rh; y++ {
			copy(yp[(r.Min.Y+y)*f.Stride[0]+r.Min.X:][:rw], b[y*rw:])
		}
		uo, vo := rw*rh, rw*rh+rw*rh/4
		for y := 0; y < rh/2; y++ {
			copy(up[(r.Min.Y/2+y)*f.Stride[1]+r.Min.X/2:][:rw/2], b[uo+y*rw/2:])
			copy(vp[(r.Min.Y/2+y)*f.Stride[2]+r.Min.X/2:][:rw/2], b[vo+y*rw/2:])
		}
		yuv.Close()
	}
	return &out
}

// tracker returns the face tracker for a stage: the session's shared one
// when session is set (the face analyzers, beauty and background of one
// participant then detect each frame once), else a private one.
func tracker(session string) (*facekit.Tracker, error) {
	if session != "" {
		return facekit.Shared(session, facekit.Options{})
	}
	return facekit.NewTracker(facekit.Options{})
}

func full(rgb *gocv.Mat) image.Rectangle { return image.Rect(0, 0, rgb.Cols(), rgb.Rows()) }

func clamp255(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}

func check(name string, v, lo, hi float64) error {
	if v < lo || v > hi {
		return fmt.Errorf("%w: %s %v (%v..%v)", ErrParams, name, v, lo, hi)
	}
	return nil
}
