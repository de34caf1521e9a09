// Package facekit is the face toolkit shared by the built-in analyzers: face
// detection (UltraFace RFB-320), 68 landmarks, eye state and embeddings, all
// through ONNX Runtime (package models), with OpenCV (gocv) for pixel work.
//
// Analyzers of one session share a Tracker so that a frame is detected once
// however many analyzers look at it, and detection is skipped on frames that
// barely differ from the last detected one (change-gated detection: cheap
// enough to watch many streams per core).
package facekit

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/pipeline"
)

// RGBMat converts a frame to an 8-bit 3-channel RGB Mat at its own size. The
// caller closes it.
func RGBMat(f *pipeline.VideoFrame) (gocv.Mat, error) {
	if err := f.Validate(); err != nil {
		return gocv.Mat{}, err
	}
	switch f.Format {
	case pipeline.PixelRGB:
		return matFromRows(f.Data, f.Height, f.Width, f.Stride[0], 3, gocv.MatTypeCV8UC3)
	case pipeline.PixelRGBA:
		src, err := matFromRows(f.Data, f.Height, f.Width, f.Stride[0], 4, gocv.MatTypeCV8UC4)
		if err != nil {
			return src, err
		}
		defer src.Close()
		dst := gocv.NewMat()
		gocv.CvtColor(src, &dst, gocv.ColorBGRAToBGR) // drops alpha, keeps channel order: RGBA -> RGB
		return dst, nil
	case pipeline.PixelGray:
		src, err := matFromRows(f.Data, f.Height, f.Width, f.Stride[0], 1, gocv.MatTypeCV8UC1)
		if err != nil {
			return src, err
		}
		defer src.Close()
		dst := gocv.NewMat()
		gocv.CvtColor(src, &dst, gocv.ColorGrayToBGR)
		return dst, nil
	case pipeline.PixelI420:
		w, h := f.Width&^1, f.Height&^1 // OpenCV's I420 conversion wants even sizes
		buf := make([]byte, w*h*3/2)
		y, u, v := f.Plane(0), f.Plane(1), f.Plane(2)
		for r := 0; r < h; r++ {
			copy(buf[r*w:r*w+w], y[r*f.Stride[0]:])
		}
		off := w * h
		for r := 0; r < h/2; r++ {
			copy(buf[off+r*w/2:off+r*w/2+w/2], u[r*f.Stride[1]:])
		}
		off += w * h / 4
		for r := 0; r < h/2; r++ {
			copy(buf[off+r*w/2:off+r*w/2+w/2], v[r*f.Stride[2]:])
		}
		src, err := gocv.NewMatFromBytes(h*3/2, w, gocv.MatTypeCV8UC1, buf)
		if err != nil {
			return src, err
		}
		defer src.Close()
		dst := gocv.NewMat()
		gocv.CvtColor(src, &dst, gocv.ColorYUVToRGBIYUV)
		return dst, nil
	}
	return gocv.Mat{}, fmt.Errorf("%w: pixel format %q", pipeline.ErrUnsupported, f.Format)
}

// matFromRows copies packed rows (which may carry stride padding) into a Mat.
func matFromRows(data []byte, h, w, stride, bpp int, mt gocv.MatType) (gocv.Mat, error) {
	if stride == w*bpp {
		return gocv.NewMatFromBytes(h, w, mt, append([]byte(nil), data[:h*stride]...))
	}
	buf := make([]byte, h*w*bpp)
	for r := 0; r < h; r++ {
		copy(buf[r*w*bpp:(r+1)*w*bpp], data[r*stride:])
	}
	return gocv.NewMatFromBytes(h, w, mt, buf)
}

// FrameFromImage turns a decoded Go image into an RGB frame (ID photos,
// test clips built from photographs).
func FrameFromImage(img image.Image) *pipeline.VideoFrame {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	f := &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: w, Height: h, Stride: [3]int{w * 3}, Data: make([]byte, w*h*3)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*w*3 + x*3
			f.Data[i], f.Data[i+1], f.Data[i+2] = uint8(r>>8), uint8(g>>8), uint8(bb>>8)
		}
	}
	return f
}

// clampRect keeps r inside a w x h picture.
func clampRect(r image.Rectangle, w, h int) image.Rectangle {
	return r.Intersect(image.Rect(0, 0, w, h))
}

// FrameFromMat copies an RGB Mat into a frame.
func FrameFromMat(m gocv.Mat) *pipeline.VideoFrame {
	w, h := m.Cols(), m.Rows()
	return &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: w, Height: h, Stride: [3]int{w * 3}, Data: m.ToBytes()}
}
