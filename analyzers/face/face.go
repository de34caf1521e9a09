// Package face is the built-in face analyzer ("face"): no face in the
// customer's region (out of frame), more than one face, face too small (too
// far from the camera) and face off-centre, each debounced into episodes.
package face

import (
	"fmt"
	"image"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

func init() { analyzers.Register("face", New) }

// Event kinds.
const (
	KindMissing   = "face.missing"
	KindMultiple  = "face.multiple"
	KindTooSmall  = "face.too_small"
	KindOffCentre = "face.off_centre"
)

// Params configure the analyzer; zero values take the defaults.
type Params struct {
	ROI           analyzers.ROI `yaml:"roi"`             // the customer's region; default whole frame
	MinDuration   time.Duration `yaml:"min_duration"`    // condition must hold this long to alert; default 1s
	ClearAfter    time.Duration `yaml:"clear_after"`     // and be gone this long to end the episode; default 1s
	MinFaceHeight float64       `yaml:"min_face_height"` // face box height / ROI height under which the face is too small; default 0.15
	CentreTol     float64       `yaml:"centre_tolerance"`
	// SecondFaceMin is the smallest face (height / ROI height) that counts as
	// another person; tinier ones (posters, background) are ignored. Default 0.08.
	SecondFaceMin float64 `yaml:"second_face_min"`
	// SecondFaceScore is the detector score another face needs to count as
	// another person. Default 0.9: on the blurry, downscaled frames of a
	// call's first second (WebRTC starts at a low resolution) the detector
	// scores hair or a helmet beside the real face at 0.7-0.8.
	SecondFaceScore float32 `yaml:"second_face_score"`
	MinScore        float32 `yaml:"min_score"`    // detector score for a new face; default 0.7
	DetectEvery     int     `yaml:"detect_every"` // force detection every n frames; default 5
	ChangeGate      float64 `yaml:"change_gate"`  // thumbnail change under which detection is reused; default 2.5
}

func (p *Params) defaults() error {
	if p.MinDuration == 0 {
		p.MinDuration = time.Second
	}
	if p.ClearAfter == 0 {
		p.ClearAfter = time.Second
	}
	if p.MinFaceHeight == 0 {
		p.MinFaceHeight = 0.15
	}
	if p.CentreTol == 0 {
		p.CentreTol = 0.3
	}
	if p.SecondFaceMin == 0 {
		p.SecondFaceMin = 0.08
	}
	if p.SecondFaceScore == 0 {
		p.SecondFaceScore = 0.9
	}
	if p.MinDuration < 0 || p.ClearAfter < 0 || p.MinFaceHeight < 0 || p.MinFaceHeight > 1 || p.CentreTol <= 0 || p.CentreTol > 0.5 || p.SecondFaceMin < 0 || p.SecondFaceScore < 0 || p.SecondFaceScore > 1 {
		return fmt.Errorf("face: durations >= 0, min_face_height in [0,1], centre_tolerance in (0,0.5], second_face_score in [0,1]")
	}
	return p.ROI.Validate()
}

type analyzer struct {
	analyzers.NoOp
	p       Params
	tr      *facekit.Tracker
	missing *analyzers.Alert
	multi   *analyzers.Alert
	small   *analyzers.Alert
	offc    *analyzers.Alert
}

// New builds a face analyzer for a session.
func New(s analyzers.Session, raw pipeline.Params) (analyzers.Analyzer, error) {
	var p Params
	if err := raw.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.defaults(); err != nil {
		return nil, err
	}
	tr, err := facekit.Shared(s.SessionKey(), facekit.Options{MinScore: p.MinScore, DetectEvery: p.DetectEvery, ChangeGate: p.ChangeGate})
	if err != nil {
		return nil, err
	}
	on, off := p.MinDuration, p.ClearAfter
	return &analyzer{
		p: p, tr: tr,
		missing: analyzers.NewAlert(KindMissing, pipeline.SeverityWarning, on, off),
		multi:   analyzers.NewAlert(KindMultiple, pipeline.SeverityCritical, on, off),
		small:   analyzers.NewAlert(KindTooSmall, pipeline.SeverityInfo, on, off),
		offc:    analyzers.NewAlert(KindOffCentre, pipeline.SeverityInfo, on, off),
	}, nil
}

// Observation is what the analyzer concluded about one frame.
type Observation struct {
	Faces     int             `json:"faces"`
	Main      image.Rectangle `json:"main_box"`
	Height    float64         `json:"main_height"` // main face height / ROI height
	Offset    [2]float64      `json:"main_offset"` // centre offset / ROI size
	TooSmall  bool            `json:"-"`
	OffCentre bool            `json:"-"`
}

// Observe applies the params to one analysis (exported for the offline
// tool and tests).
func (p *Params) Observe(a *facekit.Analysis) Observation {
	roi := p.ROI.Rect(a.Width, a.Height)
	var o Observation
	var main *facekit.Face
	for i := range a.Faces {
		f := &a.Faces[i]
		c := image.Pt((f.Box.Min.X+f.Box.Max.X)/2, (f.Box.Min.Y+f.Box.Max.Y)/2)
		if !c.In(roi) {
			continue
		}
		h := float64(f.Box.Dy()) / float64(roi.Dy())
		if main == nil {
			main = f
		} else if h < p.SecondFaceMin || f.Score < p.SecondFaceScore {
			continue
		}
		o.Faces++
	}
	if main == nil {
		return o
	}
	o.Main = main.Box
	o.Height = float64(main.Box.Dy()) / float64(roi.Dy())
	cx := float64(main.Box.Min.X+main.Box.Max.X)/2 - float64(roi.Min.X+roi.Max.X)/2
	cy := float64(main.Box.Min.Y+main.Box.Max.Y)/2 - float64(roi.Min.Y+roi.Max.Y)/2
	o.Offset = [2]float64{cx / float64(roi.Dx()), cy / float64(roi.Dy())}
	o.TooSmall = o.Height < p.MinFaceHeight
	o.OffCentre = abs(o.Offset[0]) > p.CentreTol || abs(o.Offset[1]) > p.CentreTol
	return o
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func (a *analyzer) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	an, err := a.tr.Analyze(f)
	if err != nil {
		return err
	}
	o := a.p.Observe(an)
	data := func() any { return o }
	a.missing.Update(f.PTS, o.Faces == 0, data, emit)
	a.multi.Update(f.PTS, o.Faces > 1, data, emit)
	a.small.Update(f.PTS, o.Faces > 0 && o.TooSmall, data, emit)
	a.offc.Update(f.PTS, o.Faces > 0 && o.OffCentre, data, emit)
	return nil
}

func (a *analyzer) Close() error {
	a.tr.Release()
	return nil
}
