// Package occlusion is the built-in occlusion analyzer ("occlusion"): the
// customer's face partly covered (a mask or hand over the mouth, glasses or
// a hand over the eyes) and eyes closed for long.
//
// There is no occlusion model in the registries, so the signal is built from
// what the face models give, compared with the same face earlier in the
// call (its baseline, learnt from the first clean seconds):
//   - colour: the intensity-free chromaticity (r, g) of the lower face (nose
//     to chin) and of the eye band, against the baseline; a mask, scarf or
//     sunglasses changes it whatever the light;
//   - shape: the detector's box loses its lower part when the mouth and chin
//     are hidden, so its height/width ratio falls below the baseline's.
//
// What it cannot catch: a skin-coloured hand that leaves the detector's box
// intact, or a face covered from the first frame (no clean baseline).
// Eyes closed uses the eye-state model on the landmarks' eye regions.
package occlusion

import (
	"fmt"
	"image"
	"math"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

func init() { analyzers.Register("occlusion", New) }

// Event kinds.
const (
	KindLower  = "occlusion.lower"
	KindUpper  = "occlusion.upper"
	KindClosed = "eyes.closed"
)

// Params configure the analyzer.
type Params struct {
	ROI          analyzers.ROI `yaml:"roi"`
	MinDuration  time.Duration `yaml:"min_duration"`   // default 1s
	ClearAfter   time.Duration `yaml:"clear_after"`    // default 1s
	Baseline     time.Duration `yaml:"baseline"`       // clean face time to learn from; default 2s
	ChromaDelta  float64       `yaml:"chroma_delta"`   // chromaticity distance that counts as covered; default 0.05
	AspectDrop   float64       `yaml:"aspect_drop"`    // box height/width drop (fraction of baseline) that counts as covered; default 0.22
	EyesClosed   bool          `yaml:"eyes_closed"`    // run the eye-state model; default true
	ClosedFor    time.Duration `yaml:"closed_for"`     // eyes closed this long alerts; default 2s
	ClosedAbove  float64       `yaml:"closed_above"`   // eye-state probability; default 0.6
	NoEyesClosed bool          `yaml:"no_eyes_closed"` // turn the eye check off
}

func (p *Params) defaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&p.MinDuration, time.Second)
	def(&p.ClearAfter, time.Second)
	def(&p.Baseline, 2*time.Second)
	def(&p.ClosedFor, 2*time.Second)
	if p.ChromaDelta == 0 {
		p.ChromaDelta = 0.05
	}
	if p.AspectDrop == 0 {
		p.AspectDrop = 0.22
	}
	if p.ClosedAbove == 0 {
		p.ClosedAbove = 0.6
	}
	if p.ChromaDelta < 0 || p.AspectDrop < 0 || p.AspectDrop >= 1 || p.ClosedAbove <= 0 || p.ClosedAbove >= 1 {
		return fmt.Errorf("occlusion: chroma_delta >= 0, aspect_drop and closed_above in (0,1)")
	}
	return p.ROI.Validate()
}

type chroma struct{ r, g float64 }

func (c chroma) dist(o chroma) float64 { return math.Hypot(c.r-o.r, c.g-o.g) }

// baseline is the running picture of the clean face.
type baseline struct {
	n            int
	since        time.Duration
	aspect       float64
	upper, lower chroma
}

type analyzer struct {
	analyzers.NoOp
	p      Params
	tr     *facekit.Tracker
	base   baseline
	lower  *analyzers.Alert
	upper  *analyzers.Alert
	closed *analyzers.Alert
}

// New builds an occlusion analyzer.
func New(s analyzers.Session, raw pipeline.Params) (analyzers.Analyzer, error) {
	var p Params
	if err := raw.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.defaults(); err != nil {
		return nil, err
	}
	tr, err := facekit.Shared(s.SessionKey(), facekit.Options{})
	if err != nil {
		return nil, err
	}
	return &analyzer{p: p, tr: tr,
		lower:  analyzers.NewAlert(KindLower, pipeline.SeverityWarning, p.MinDuration, p.ClearAfter),
		upper:  analyzers.NewAlert(KindUpper, pipeline.SeverityWarning, p.MinDuration, p.ClearAfter),
		closed: analyzers.NewAlert(KindClosed, pipeline.SeverityWarning, p.ClosedFor, p.ClearAfter),
	}, nil
}

// Reading is one frame's measurement.
type Reading struct {
	Aspect      float64 `json:"aspect"`
	LowerDelta  float64 `json:"lower_chroma_delta"`
	UpperDelta  float64 `json:"upper_chroma_delta"`
	EyesClosedP float64 `json:"eyes_closed_p,omitempty"`
	Baseline    bool    `json:"baseline_ready"`
}

func regionChroma(f *pipeline.VideoFrame, r image.Rectangle) chroma {
	r = r.Intersect(image.Rect(0, 0, f.Width, f.Height))
	var sr, sg, n float64
	step := max(1, r.Dx()/24)
	for y := r.Min.Y; y < r.Max.Y; y += step {
		for x := r.Min.X; x < r.Max.X; x += step {
			R, G, B := f.RGBAt(x, y)
			s := float64(R) + float64(G) + float64(B)
			if s < 30 { // too dark to have a colour
				continue
			}
			sr += float64(R) / s
			sg += float64(G) / s
			n++
		}
	}
	if n == 0 {
		return chroma{1.0 / 3, 1.0 / 3}
	}
	return chroma{sr / n, sg / n}
}

// sub returns the part of box b between fractions (x0,y0)-(x1,y1).
func sub(b image.Rectangle, x0, y0, x1, y1 float64) image.Rectangle {
	w, h := float64(b.Dx()), float64(b.Dy())
	return image.Rect(b.Min.X+int(x0*w), b.Min.Y+int(y0*h), b.Min.X+int(x1*w), b.Min.Y+int(y1*h))
}

func (a *analyzer) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	an, err := a.tr.Analyze(f)
	if err != nil {
		return err
	}
	roi := a.p.ROI.Rect(f.Width, f.Height)
	idx := -1
	for i, fc := range an.Faces {
		c := image.Pt((fc.Box.Min.X+fc.Box.Max.X)/2, (fc.Box.Min.Y+fc.Box.Max.Y)/2)
		if c.In(roi) {
			idx = i
			break
		}
	}
	var rd Reading
	var lowerCov, upperCov, closed bool
	if idx >= 0 {
		box := an.Faces[idx].Box
		rd.Aspect = float64(box.Dy()) / float64(box.Dx())
		// The face as the baseline says it should be: anchored at the top
		// of the box (the brow line survives a mask), baseline height.
		exp := box
		if a.base.n > 0 {
			exp.Max.Y = box.Min.Y + int(float64(box.Dx())*a.base.aspect)
		}
		up := regionChroma(f, sub(exp, 0.15, 0.25, 0.85, 0.5))
		lo := regionChroma(f, sub(exp, 0.25, 0.62, 0.75, 0.92))
		ready := a.base.n > 0 && f.PTS-a.base.since >= a.p.Baseline
		rd.Baseline = ready
		if a.base.n > 0 {
			rd.LowerDelta, rd.UpperDelta = lo.dist(a.base.lower), up.dist(a.base.upper)
		}
		if ready {
			aspectLow := rd.Aspect < a.base.aspect*(1-a.p.AspectDrop)
			lowerCov = rd.LowerDelta > a.p.ChromaDelta || aspectLow
			upperCov = rd.UpperDelta > a.p.ChromaDelta && !lowerCov
		}
		// Learn while the face looks like itself (and before it is ready):
		// a slow average follows daylight drift but not a mask.
		if !lowerCov && !upperCov && len(an.Faces) == 1 {
			a.learn(f.PTS, rd.Aspect, up, lo)
		}
		if !a.p.NoEyesClosed && !upperCov {
			l, r, err := an.EyesClosed(idx)
			if err != nil {
				return err
			}
			rd.EyesClosedP = math.Min(l, r)
			closed = rd.EyesClosedP > a.p.ClosedAbove
		}
	}
	data := func() any { return rd }
	a.lower.Update(f.PTS, lowerCov, data, emit)
	a.upper.Update(f.PTS, upperCov, data, emit)
	a.closed.Update(f.PTS, closed, data, emit)
	return nil
}

func (a *analyzer) learn(t time.Duration, aspect float64, up, lo chroma) {
	b := &a.base
	if b.n == 0 {
		*b = baseline{n: 1, since: t, aspect: aspect, upper: up, lower: lo}
		return
	}
	b.n++
	w := 1 / float64(min(b.n, 50))
	b.aspect += w * (aspect - b.aspect)
	b.upper.r += w * (up.r - b.upper.r)
	b.upper.g += w * (up.g - b.upper.g)
	b.lower.r += w * (lo.r - b.lower.r)
	b.lower.g += w * (lo.g - b.lower.g)
}

func (a *analyzer) Close() error {
	a.tr.Release()
	return nil
}
