// Package light is the built-in light analyzer: too dark or too bright,
// judged from the mean luma of a region of interest (the customer's part of
// the frame, or all of it). It registers as "light".
package light

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/witness-media/witness/analyzers"
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
	p            Params
	dark, bright analyzers.Episode
}

// New builds a light analyzer.
func New(_ analyzers.Session, raw pipeline.Params) (analyzers.Analyzer, error) {
	var p Params
	if err := raw.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.defaults(); err != nil {
		return nil, err
	}
	a := &analyzer{p: p}
	a.dark.MinOn, a.dark.MinOff = p.MinDuration, p.MinDuration
	a.bright.MinOn, a.bright.MinOff = p.MinDuration, p.MinDuration
	return a, nil
}

// roiLuma is the mean luma of the region of interest.
func (a *analyzer) roiLuma(f *pipeline.VideoFrame) float64 {
	x0, y0 := int(a.p.ROI[0]*float64(f.Width)), int(a.p.ROI[1]*float64(f.Height))
	x1, y1 := int((a.p.ROI[0]+a.p.ROI[2])*float64(f.Width)), int((a.p.ROI[1]+a.p.ROI[3])*float64(f.Height))
	return f.RegionLuma(x0, y0, x1, y1, a.p.Step)
}

func (a *analyzer) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	if err := f.Validate(); err != nil {
		return err
	}
	l := a.roiLuma(f)
	check := func(ep *analyzers.Episode, cond bool, kind string, threshold float64) {
		if opened, _, start := ep.Update(f.PTS, cond); opened {
			data, _ := json.Marshal(map[string]float64{"luma": l, "threshold": threshold})
			emit(pipeline.Event{Kind: kind, Severity: pipeline.SeverityWarning, MediaTime: start, Data: data})
		}
	}
	check(&a.dark, l < a.p.DarkBelow, "light.dark", a.p.DarkBelow)
	check(&a.bright, l > a.p.BrightAbove, "light.bright", a.p.BrightAbove)
	return nil
}
