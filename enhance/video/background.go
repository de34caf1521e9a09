package video

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/pipeline"
)

func init() {
	pipeline.Register("background", func(p pipeline.Params) (pipeline.Stage, error) {
		var o BackgroundOptions
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewBackground(o)
	})
}

var mathFloat32bits = math.Float32bits

// Background modes.
const (
	ModeBlur  = "blur"  // blur what is behind the person
	ModeImage = "image" // replace it with a picture (per channel or tenant)
)

// BackgroundOptions configure the virtual background stage.
type BackgroundOptions struct {
	Mode    string         `yaml:"mode"`    // blur | image; empty = off
	Image   string         `yaml:"image"`   // picture file for mode image (JPEG/PNG)
	Blur    float64        `yaml:"blur"`    // Gaussian sigma for mode blur in pixels at 640 wide (default 12)
	Segment SegmentOptions `yaml:"segment"` // segmentation tuning
}

// NewBackground builds the virtual background / background blur stage.
// The picture is read once here, so a missing file fails the template, not
// the call.
func NewBackground(o BackgroundOptions) (*Stage, error) {
	s := &Stage{name: "background", settings: map[string]any{"mode": o.Mode}}
	if o.Mode == "" {
		return s, nil
	}
	if o.Blur == 0 {
		o.Blur = 12
	}
	var pic *gocv.Mat // the tenant's picture, RGB
	switch o.Mode {
	case ModeBlur:
		if err := check("blur", o.Blur, 1, 100); err != nil {
			return nil, err
		}
		s.settings["blur"] = o.Blur
	case ModeImage:
		bgr := gocv.IMRead(o.Image, gocv.IMReadColor)
		if bgr.Empty() {
			return nil, fmt.Errorf("%w: background image %q cannot be read", ErrParams, o.Image)
		}
		m := gocv.NewMat()
		gocv.CvtColor(bgr, &m, gocv.ColorBGRToRGB)
		pic = &m
		bgr.Close()
		s.settings["image"] = o.Image
	default:
		return nil, fmt.Errorf("%w: background mode %q (blur, image)", ErrParams, o.Mode)
	}
	seg, err := NewSegmenter(o.Segment)
	if err != nil {
		if pic != nil {
			pic.Close()
		}
		return nil, err
	}
	s.active = true
	var fitted *gocv.Mat // the picture scaled to the frame size, cached
	s.closer = func() error {
		seg.Close()
		for _, m := range []*gocv.Mat{pic, fitted} {
			if m != nil {
				m.Close()
			}
		}
		return nil
	}
	s.filter = func(f *pipeline.VideoFrame, rgb *gocv.Mat) (image.Rectangle, error) {
		alpha, err := seg.mask(f, *rgb)
		if err != nil {
			return image.Rectangle{}, err
		}
		defer alpha.Close()
		back := gocv.NewMat()
		defer back.Close()
		if o.Mode == ModeBlur {
			sig := o.Blur * float64(f.Width) / 640
			// Blur a quarter-size copy: same look, a sixteenth of the work.
			small := gocv.NewMat()
			gocv.Resize(*rgb, &small, image.Pt(max(1, f.Width/4), max(1, f.Height/4)), 0, 0, gocv.InterpolationArea)
			gocv.GaussianBlur(small, &small, image.Pt(0, 0), sig/4, sig/4, gocv.BorderReflect101)
			gocv.Resize(small, &back, image.Pt(f.Width, f.Height), 0, 0, gocv.InterpolationLinear)
			small.Close()
		} else {
			if fitted == nil || fitted.Cols() != f.Width || fitted.Rows() != f.Height {
				if fitted != nil {
					fitted.Close()
				}
				m := coverResize(*pic, f.Width, f.Height)
				fitted = &m
			}
			fitted.CopyTo(&back)
		}
		blend(rgb, back, alpha)
		return full(rgb), nil
	}
	return s, nil
}

// blend writes alpha*fg + (1-alpha)*back into fg.
func blend(fg *gocv.Mat, back, alpha gocv.Mat) {
	fp, _ := fg.DataPtrUint8()
	bp, _ := back.DataPtrUint8()
	ap, _ := alpha.DataPtrFloat32()
	for i, a := range ap {
		if a >= 1 {
			continue
		}
		for c := 0; c < 3; c++ {
			fp[i*3+c] = uint8(float32(fp[i*3+c])*a + float32(bp[i*3+c])*(1-a) + 0.5)
		}
	}
}

// coverResize scales pic to cover w x h and crops the middle (no bars).
func coverResize(pic gocv.Mat, w, h int) gocv.Mat {
	sc := math.Max(float64(w)/float64(pic.Cols()), float64(h)/float64(pic.Rows()))
	sw, sh := int(math.Ceil(float64(pic.Cols())*sc)), int(math.Ceil(float64(pic.Rows())*sc))
	big := gocv.NewMat()
	defer big.Close()
	gocv.Resize(pic, &big, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
	r := image.Rect((sw-w)/2, (sh-h)/2, (sw-w)/2+w, (sh-h)/2+h)
	reg := big.Region(r)
	defer reg.Close()
	return reg.Clone()
}
