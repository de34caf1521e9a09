package video

import (
	"image"
	"math"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/pipeline"
)

func init() {
	pipeline.Register("adjust", func(p pipeline.Params) (pipeline.Stage, error) {
		var o AdjustOptions
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewAdjust(o)
	})
	pipeline.Register("lowlight", func(p pipeline.Params) (pipeline.Stage, error) {
		var o LowLightOptions
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewLowLight(o)
	})
	pipeline.Register("video_denoise", func(p pipeline.Params) (pipeline.Stage, error) {
		var o struct {
			Strength float64 `yaml:"strength"`
		}
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewVideoDenoise(o.Strength)
	})
	pipeline.Register("sharpen", func(p pipeline.Params) (pipeline.Stage, error) {
		var o struct {
			Amount float64 `yaml:"amount"`
		}
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewSharpen(o.Amount)
	})
}

// AdjustOptions are brightness, contrast and saturation changes in -1..1;
// 0 leaves the picture as it is.
type AdjustOptions struct {
	Brightness float64 `yaml:"brightness"` // adds up to ±128 levels
	Contrast   float64 `yaml:"contrast"`   // scales around mid-grey by 1+c (c<0 flattens)
	Saturation float64 `yaml:"saturation"` // scales chroma by 1+s (-1 = grey)
}

// NewAdjust builds the brightness/contrast/saturation stage (one lookup
// table for brightness and contrast, a luma-preserving chroma scale).
func NewAdjust(o AdjustOptions) (*Stage, error) {
	for _, c := range []struct {
		n string
		v float64
	}{{"brightness", o.Brightness}, {"contrast", o.Contrast}, {"saturation", o.Saturation}} {
		if err := check(c.n, c.v, -1, 1); err != nil {
			return nil, err
		}
	}
	var lut [256]uint8
	for i := range lut {
		lut[i] = clamp255((float64(i)-128)*(1+o.Contrast) + 128 + 128*o.Brightness)
	}
	sat := 1 + o.Saturation
	return &Stage{name: "adjust", active: o != AdjustOptions{},
		settings: map[string]any{"brightness": o.Brightness, "contrast": o.Contrast, "saturation": o.Saturation},
		filter: func(_ *pipeline.VideoFrame, rgb *gocv.Mat) (image.Rectangle, error) {
			px, err := rgb.DataPtrUint8()
			if err != nil {
				return image.Rectangle{}, err
			}
			for i := 0; i+2 < len(px); i += 3 {
				r, g, b := float64(px[i]), float64(px[i+1]), float64(px[i+2])
				if sat != 1 {
					y := 0.299*r + 0.587*g + 0.114*b
					r, g, b = y+(r-y)*sat, y+(g-y)*sat, y+(b-y)*sat
				}
				px[i], px[i+1], px[i+2] = lut[clamp255(r)], lut[clamp255(g)], lut[clamp255(b)]
			}
			return full(rgb), nil
		}}, nil
}

// LowLightOptions configure the low-light lift.
type LowLightOptions struct {
	// Strength 0..1 blends between no change and the full lift.
	Strength float64 `yaml:"strength"`
	// Target is the mean luma (0..255) a dark picture is lifted towards;
	// default 110. Pictures already at or above it are left alone.
	Target float64 `yaml:"target"`
}

// NewLowLight builds the low-light stage: an adaptive gamma curve chosen
// per frame so the mean luma moves towards Target (shadows lift most,
// highlights are not clipped), blended by Strength.
func NewLowLight(o LowLightOptions) (*Stage, error) {
	if o.Target == 0 {
		o.Target = 110
	}
	if err := check("strength", o.Strength, 0, 1); err != nil {
		return nil, err
	}
	if err := check("target", o.Target, 1, 250); err != nil {
		return nil, err
	}
	return &Stage{name: "lowlight", active: o.Strength > 0,
		settings: map[string]any{"strength": o.Strength, "target": o.Target},
		filter: func(f *pipeline.VideoFrame, rgb *gocv.Mat) (image.Rectangle, error) {
			mean := f.Luma(4)
			if mean >= o.Target || mean < 1 {
				return image.Rectangle{}, nil
			}
			// gamma such that mean^gamma = target (in 0..1 units), limited
			// so noise in black areas is not blown up.
			g := math.Log(o.Target/255) / math.Log(mean/255)
			g = math.Max(g, 0.35)
			lut := gocv.NewMatWithSize(1, 256, gocv.MatTypeCV8UC1)
			defer lut.Close()
			for i := 0; i < 256; i++ {
				v := 255 * math.Pow(float64(i)/255, g)
				lut.SetUCharAt(0, i, clamp255(float64(i)+(v-float64(i))*o.Strength))
			}
			gocv.LUT(*rgb, lut, rgb)
			return full(rgb), nil
		}}, nil
}

// NewVideoDenoise builds the picture denoiser: an edge-preserving bilateral
// filter blended with the original by strength (0..1). Cheap enough for
// live video at 640x360, unlike non-local means.
func NewVideoDenoise(strength float64) (*Stage, error) {
	if err := check("strength", strength, 0, 1); err != nil {
		return nil, err
	}
	return &Stage{name: "video_denoise", active: strength > 0,
		settings: map[string]any{"strength": strength},
		filter: func(_ *pipeline.VideoFrame, rgb *gocv.Mat) (image.Rectangle, error) {
			d := gocv.NewMat()
			defer d.Close()
			gocv.BilateralFilter(*rgb, &d, 5, 20+40*strength, 5)
			gocv.AddWeighted(*rgb, 1-strength, d, strength, 0, rgb)
			return full(rgb), nil
		}}, nil
}

// NewSharpen builds an unsharp mask: picture + amount x (picture - blur),
// amount 0..2.
func NewSharpen(amount float64) (*Stage, error) {
	if err := check("amount", amount, 0, 2); err != nil {
		return nil, err
	}
	return &Stage{name: "sharpen", active: amount > 0,
		settings: map[string]any{"amount": amount},
		filter: func(_ *pipeline.VideoFrame, rgb *gocv.Mat) (image.Rectangle, error) {
			b := gocv.NewMat()
			defer b.Close()
			gocv.GaussianBlur(*rgb, &b, image.Pt(0, 0), 1.2, 1.2, gocv.BorderReflect101)
			gocv.AddWeighted(*rgb, 1+amount, b, -amount, 0, rgb)
			return full(rgb), nil
		}}, nil
}
