package qc

import (
	"bytes"
	"image"
	"image/png"

	"github.com/witness-media/witness/pipeline"
)

// thumbnail shrinks an analysis picture to thumbWidth pixels wide (nearest
// neighbour: it is evidence of what was seen, not a pretty picture) and
// converts it to RGBA. PNG encoding waits until the episode is kept.
func thumbnail(f *pipeline.VideoFrame) *image.RGBA {
	if f.Width <= 0 || f.Height <= 0 || f.Validate() != nil {
		return nil
	}
	w := min(thumbWidth, f.Width)
	h := max(1, f.Height*w/f.Width)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		sy := y * f.Height / h
		for x := 0; x < w; x++ {
			r, g, b := f.RGBAt(x*f.Width/w, sy)
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, b, 255
		}
	}
	return img
}

// encodeThumb returns img as PNG bytes, nil for a nil image.
func encodeThumb(img *image.RGBA) []byte {
	if img == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if enc.Encode(&buf, img) != nil {
		return nil
	}
	return buf.Bytes()
}
