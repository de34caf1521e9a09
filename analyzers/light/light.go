// Package light is the built-in light analyzer: too dark, too bright and
// backlit. Without a face it judges the mean luma of a region of interest
// (the customer's part of the frame, or all of it); with use_face it judges
// the luma of the customer's face box (from the shared face tracker) and
// compares it with the rest of the region: a dark face in front of a bright
// background is backlit even when the frame's mean looks fine. It registers
// as "light".
package light

import (
	"fmt"
	"image"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

func init() { analyzers.Register("light", New) }

// Params configure the analyzer; zero values take the defaults below.
type Params struct {
	DarkBelow   float64       `yaml:"dark_below"`   // mean luma (0..255) under which the picture is too dark; default 40
	BrightAbove float64       `yaml:"bright_above"` // mean luma over which it is washed out; default 225
	MinDuration time.Duration `yaml:"min_duration"` // how long the condition must hold before alerting; default 1s
	ROI         []float64     `yaml:"roi"`          // [x, y, w, h] as fractions of the frame; default whole frame
	Step        int           `yaml:"step"`         // sample every step-th pixel; default 4
	// UseFace judges the face's luma (needs the face models); default false
	// so that a deployment without models still gets frame-level checks.
	UseFace bool `yaml:"use_face"`
	// BacklitRatio: backlit when face luma < ratio * background luma and
	// the background is brighter than BacklitBackground; defaults 0.45, 150.
	BacklitRatio      float64 `yaml:"backlit_ratio"`
	BacklitBackground float64 `yaml:"backlit_background"`
}

func (p *Params) defaults() error {
	if p.DarkBelow == 0 {
		p.DarkBelow = 40
	}
	if p.BrightAbove == 0 {
		p.BrightAbove = 225
	}
	if p.MinDuration == 0 {
		p.MinDuration = time.Second
	}
	if p.Step == 0 {
		p.Step = 4
	}
	if len(p.ROI) == 0 {
		p.ROI = []float64{0, 0, 1, 1}
	}
	if p.BacklitRatio == 0 {
		p.BacklitRatio = 0.45
	}
	if p.BacklitBackground == 0 {
		p.BacklitBackground = 150
	}
	if p.BacklitRatio < 0 || p.BacklitRatio >= 1 {
		return fmt.Errorf("backlit_ratio %v: want (0, 1)", p.BacklitRatio)
	}
	if len(p.ROI) != 4 || p.ROI[2] <= 0 || p.ROI[3] <= 0 || p.ROI[0] < 0 || p.ROI[1] < 0 || p.ROI[0]+p.ROI[2] > 1 || p.ROI[1]+p.ROI[3] > 1 {
		return fmt.Errorf("roi %v: want [x y w h] fractions inside the frame", p.ROI)
	}
	if p.DarkBelow >= p.BrightAbove {
		return fmt.Errorf("dark_below %v must be below bright_above %v", p.DarkBelow, p.BrightAbove)
	}
	return nil
}

type analyzer struct {
	analyzers.NoOp
	p                     Params
	tr                    *facekit.Tracker // nil without use_face
	dark, bright, backlit *analyzers.Alert
}

// New builds a light analyzer.
func New(s analyzers.Session, raw pipeline.Params) (analyzers.Analyzer, error) {
	var p Params
	if err := raw.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.defaults(); err != nil {
		return nil, err
	}
	a := &analyzer{p: p,
		dark:    analyzers.NewAlert("light.dark", pipeline.SeverityWarning, p.MinDuration, p.MinDuration),
		bright:  analyzers.NewAlert("light.bright", pipeline.SeverityWarning, p.MinDuration, p.MinDuration),
		backlit: analyzers.NewAlert("light.backlit", pipeline.SeverityWarning, p.MinDuration, p.MinDuration),
	}
	if p.UseFace {
		tr, err := facekit.Shared(s.SessionKey(), facekit.Options{})
		if err != nil {
			return nil, err
		}
		a.tr = tr
	}
	return a, nil
}

// roiLuma is the mean luma of the region of interest.
func (a *analyzer) roiLuma(f *pipeline.VideoFrame) float64 {
	x0, y0 := int(a.p.ROI[0]*float64(f.Width)), int(a.p.ROI[1]*float64(f.Height))
	x1, y1 := int((a.p.ROI[0]+a.p.ROI[2])*float64(f.Width)), int((a.p.ROI[1]+a.p.ROI[3])*float64(f.Height))
	return fullRange(f, f.RegionLuma(x0, y0, x1, y1, a.p.Step))
}

// fullRange maps the Y plane of I420 (BT.601/709 limited range, 16..235,
// as decoders and x264 produce) to the 0..255 scale that RGB frames give,
// so thresholds mean the same whatever the frame format.
func fullRange(f *pipeline.VideoFrame, y float64) float64 {
	if f.Format != pipeline.PixelI420 {
		return y
	}
	return min(255, max(0, (y-16)*255/219))
}

// Reading is what the analyzer measured on one frame.
type Reading struct {
	Luma       float64  `json:"luma"`                 // the judged luma: face if any, else region
	Region     float64  `json:"region_luma"`          // whole region of interest
	Face       *float64 `json:"face_luma,omitempty"`  // face box
	Background *float64 `json:"background,omitempty"` // region minus the face box (approximation: region bands beside the face)
	Threshold  float64  `json:"threshold,omitempty"`
}

func (a *analyzer) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	if err := f.Validate(); err != nil {
		return err
	}
	r := Reading{Region: a.roiLuma(f)}
	r.Luma = r.Region
	if a.tr != nil {
		an, err := a.tr.Analyze(f)
		if err != nil {
			return err
		}
		roi := analyzers.ROI(a.p.ROI).Rect(f.Width, f.Height)
		for _, fc := range an.Faces {
			c := image.Pt((fc.Box.Min.X+fc.Box.Max.X)/2, (fc.Box.Min.Y+fc.Box.Max.Y)/2)
			if !c.In(roi) {
				continue
			}
			// The inner part of the box: skin, not hair or background.
			b := fc.Box.Inset(fc.Box.Dx() / 5)
			fl := fullRange(f, f.RegionLuma(b.Min.X, b.Min.Y, b.Max.X, b.Max.Y, a.p.Step))
			// Background: the region's bands left and right of the face.
			left := fullRange(f, f.RegionLuma(roi.Min.X, roi.Min.Y, fc.Box.Min.X, roi.Max.Y, a.p.Step))
			right := fullRange(f, f.RegionLuma(fc.Box.Max.X, roi.Min.Y, roi.Max.X, roi.Max.Y, a.p.Step))
			wl, wr := float64(fc.Box.Min.X-roi.Min.X), float64(roi.Max.X-fc.Box.Max.X)
			bg := r.Region
			if wl+wr > 0 {
				bg = (left*wl + right*wr) / (wl + wr)
			}
			r.Face, r.Background, r.Luma = &fl, &bg, fl
			break
		}
	}
	backlit := r.Face != nil && *r.Background > a.p.BacklitBackground && *r.Face < a.p.BacklitRatio**r.Background
	data := func(th float64) func() any {
		return func() any { rr := r; rr.Threshold = th; return rr }
	}
	// A backlit face is reported as backlit, not as dark.
	a.dark.Update(f.PTS, r.Luma < a.p.DarkBelow && !backlit, data(a.p.DarkBelow), emit)
	a.bright.Update(f.PTS, r.Luma > a.p.BrightAbove, data(a.p.BrightAbove), emit)
	a.backlit.Update(f.PTS, backlit, data(a.p.BacklitRatio), emit)
	return nil
}

func (a *analyzer) Close() error {
	if a.tr != nil {
		a.tr.Release()
	}
	return nil
}
