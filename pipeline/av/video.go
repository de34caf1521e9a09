package av

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
	"github.com/witness-media/witness/pipeline"
)

// avPixel maps our pixel formats to FFmpeg's.
var avPixel = map[pipeline.PixelFormat]astiav.PixelFormat{
	pipeline.PixelRGBA: astiav.PixelFormatRgba,
	pipeline.PixelRGB:  astiav.PixelFormatRgb24,
	pipeline.PixelGray: astiav.PixelFormatGray8,
	pipeline.PixelI420: astiav.PixelFormatYuv420P,
}

// colorRangeFull is AVCOL_RANGE_JPEG, the low byte of frameColor.
const colorRangeFull = int(astiav.ColorRangeJpeg)

// videoConverter turns decoded frames of any pixel format and size into
// VideoFrames of one format, rebuilding its swscale context whenever the
// source changes (recorders do switch resolution mid-file).
type videoConverter struct {
	format pipeline.PixelFormat
	dstPix astiav.PixelFormat
	reqW   int // requested size; 0 = from the source
	reqH   int

	sws                  *astiav.SoftwareScaleContext
	dst                  *astiav.Frame
	srcW, srcH, srcColor int
	srcPix               astiav.PixelFormat
	dstW, dstH, size     int
	// half: the source is limited-range yuv420p of twice the (even)
	// output size, which halveYUV420P converts without swscale.
	half bool

	alloc func(int) []byte // Options.VideoBuffer; nil: make
}

func newVideoConverter(format pipeline.PixelFormat, w, h int, alloc func(int) []byte) *videoConverter {
	return &videoConverter{format: format, dstPix: avPixel[format], reqW: w, reqH: h, alloc: alloc}
}

// buffer returns a buffer of n bytes for one picture.
func (c *videoConverter) buffer(n int) []byte {
	if c.alloc != nil {
		if b := c.alloc(n); cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n)
}

// outputSize picks the destination size: the requested one, the source's,
// or, with one side given, the other side keeping the aspect ratio.
func outputSize(reqW, reqH, srcW, srcH int, format pipeline.PixelFormat) (int, int) {
	w, h := reqW, reqH
	switch {
	case w == 0 && h == 0:
		return srcW, srcH
	case w == 0:
		w = (srcW*h + srcH/2) / srcH
	case h == 0:
		h = (srcH*w + srcW/2) / srcW
	}
	if format == pipeline.PixelI420 { // keep derived sides even for 4:2:0
		if reqW == 0 {
			w += w & 1
		}
		if reqH == 0 {
			h += h & 1
		}
	}
	return max(w, 1), max(h, 1)
}

func (c *videoConverter) reset(src *astiav.Frame) error {
	c.free()
	c.srcW, c.srcH, c.srcPix, c.srcColor = src.Width(), src.Height(), src.PixelFormat(), frameColor(src)
	c.dstW, c.dstH = outputSize(c.reqW, c.reqH, c.srcW, c.srcH, c.format)
	sws, err := astiav.CreateSoftwareScaleContext(c.srcW, c.srcH, c.srcPix, c.dstW, c.dstH, c.dstPix,
		astiav.SoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		return fmt.Errorf("%w: no conversion from %s %dx%d to %s %dx%d", pipeline.ErrUnsupported,
			c.srcPix, c.srcW, c.srcH, c.format, c.dstW, c.dstH)
	}
	c.sws = sws
	swsColorspace(sws, src)
	c.half = c.format == pipeline.PixelI420 && c.srcPix == astiav.PixelFormatYuv420P &&
		c.srcColor&0xff != colorRangeFull && c.dstW%2 == 0 && c.dstH%2 == 0 &&
		c.srcW == 2*c.dstW && c.srcH == 2*c.dstH
	// An empty frame: sws_scale_frame allocates it on first use, then
	// reuses the buffers for every later frame.
	c.dst = astiav.AllocFrame()
	return nil
}

// convert scales and converts src into a new VideoFrame with tightly packed
// planes (av_image_copy_to_buffer, align 1).
func (c *videoConverter) convert(src *astiav.Frame) (*pipeline.VideoFrame, error) {
	if src.Width() <= 0 || src.Height() <= 0 {
		return nil, fmt.Errorf("%w: decoded picture %dx%d", pipeline.ErrInvalidFrame, src.Width(), src.Height())
	}
	if c.sws == nil || src.Width() != c.srcW || src.Height() != c.srcH || src.PixelFormat() != c.srcPix ||
		frameColor(src) != c.srcColor {
		if err := c.reset(src); err != nil {
			return nil, err
		}
	}
	if c.half {
		n := c.dstW*c.dstH + 2*(c.dstW/2)*(c.dstH/2)
		data := c.buffer(n)
		if halveYUV420P(src, data, c.dstW, c.dstH) {
			cw := c.dstW / 2
			return &pipeline.VideoFrame{Format: c.format, Width: c.dstW, Height: c.dstH, Data: data,
				Stride: [3]int{c.dstW, cw, cw}}, nil
		}
		// Frame fields the check above does not cover (a missing
		// plane, a short line size): let swscale deal with it.
	}
	// Already in the wanted format and size (the common I420 case): copy
	// the decoder's planes directly and skip a pass through swscale.
	out := src
	if c.srcPix != c.dstPix || c.srcW != c.dstW || c.srcH != c.dstH || c.srcColor&0xff == colorRangeFull {
		if err := c.sws.ScaleFrame(src, c.dst); err != nil {
			return nil, fmt.Errorf("scaling %dx%d %s: %w", c.srcW, c.srcH, c.srcPix, err)
		}
		out = c.dst
	}
	if c.size == 0 {
		n, err := out.ImageBufferSize(1)
		if err != nil || n <= 0 {
			return nil, errors.Join(errors.New("image buffer size"), err)
		}
		c.size = n
	}
	data := c.buffer(c.size)
	if _, err := out.ImageCopyToBuffer(data, 1); err != nil {
		return nil, fmt.Errorf("copying picture: %w", err)
	}
	vf := &pipeline.VideoFrame{Format: c.format, Width: c.dstW, Height: c.dstH, Data: data}
	if bpp := c.format.BytesPerPixel(); bpp > 0 {
		vf.Stride[0] = c.dstW * bpp
	} else { // I420
		cw := (c.dstW + 1) / 2
		vf.Stride = [3]int{c.dstW, cw, cw}
	}
	return vf, nil
}

func (c *videoConverter) free() {
	if c.sws != nil {
		c.sws.Free()
		c.sws = nil
	}
	if c.dst != nil {
		c.dst.Free()
		c.dst = nil
	}
	c.size = 0
}
