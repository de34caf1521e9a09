// Package liveness is the built-in liveness analyzer ("liveness"): signals
// that the face in front of the camera is a photograph or a screen replay,
// and that the person changed during the call. No public deepfake or
// anti-spoofing model exists in the package registries, so these are
// honest classical signals over a sliding window, not a classifier:
//
//   - pulse: remote photoplethysmography: the skin's colour varies with
//     the heartbeat; the window's chromaticity series (green over red) must
//     show a spectral peak at 45-144 bpm;
//   - blinks: the eye-state model sees eyes closed then open again;
//   - non-rigid motion: the 68-landmark shape changes in ways a shift,
//     zoom or rotation of a flat picture cannot explain.
//
// A window with none of the three raises liveness.suspect. Identity
// consistency compares the face embedding every few seconds with the one
// enrolled at the start (identity.changed). An operator's ONNX deepfake
// classifier runs on face crops through the "onnx" slot (see package
// onnxslot), not here.
package liveness

import (
	"fmt"
	"image"
	"math"
	"sort"
	"time"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

func init() { analyzers.Register("liveness", New) }

// Event kinds.
const (
	KindSuspect = "liveness.suspect"
	KindChanged = "identity.changed"
)

// Params configure the analyzer.
type Params struct {
	ROI       analyzers.ROI `yaml:"roi"`
	Window    time.Duration `yaml:"window"`     // evidence window; default 8s
	PulseSNR  float64       `yaml:"pulse_snr"`  // dB over which a pulse counts; default 3
	ShapeMove float64       `yaml:"shape_move"` // 90th-percentile non-rigid landmark change that counts as a live face; default 0.045
	ClosedP   float64       `yaml:"closed_p"`   // eye-state probability of a closed eye; default 0.6
	// Identity consistency.
	EmbedEvery time.Duration `yaml:"embed_every"` // default 2s
	SameAbove  float64       `yaml:"same_above"`  // cosine over which the face is the enrolled person; default 0.45
}

func (p *Params) defaults() error {
	if p.Window == 0 {
		p.Window = 8 * time.Second
	}
	if p.PulseSNR == 0 {
		p.PulseSNR = 3
	}
	if p.ShapeMove == 0 {
		p.ShapeMove = 0.045
	}
	if p.ClosedP == 0 {
		p.ClosedP = 0.6
	}
	if p.EmbedEvery == 0 {
		p.EmbedEvery = 2 * time.Second
	}
	if p.SameAbove == 0 {
		p.SameAbove = 0.45
	}
	if p.Window < 3*time.Second || p.ClosedP <= 0 || p.ClosedP >= 1 || p.SameAbove <= -1 || p.SameAbove >= 1 {
		return fmt.Errorf("liveness: window >= 3s, closed_p and same_above in (0,1)")
	}
	return p.ROI.Validate()
}

type sample struct {
	t      time.Duration
	shape  []gocv.Point2f
	chroma float64
	closed bool
}

type analyzer struct {
	analyzers.NoOp
	p       Params
	tr      *facekit.Tracker
	win     []sample
	winFrom time.Duration
	suspect *analyzers.Alert
	changed *analyzers.Alert
	verdict bool // latest window's "not live"
	last    Verdict

	enrolled  []float32
	lastEmbed time.Duration
	embedded  bool
	sameLow   bool
	lastCos   float64
}

// New builds a liveness analyzer.
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
		// A verdict covers a whole window, so it alerts at once and clears
		// only after a full live window.
		suspect: analyzers.NewAlert(KindSuspect, pipeline.SeverityCritical, 0, p.Window),
		changed: analyzers.NewAlert(KindChanged, pipeline.SeverityCritical, p.EmbedEvery, p.EmbedEvery),
	}, nil
}

// Verdict is one window's evidence.
type Verdict struct {
	From       float64 `json:"window_from_s"`
	Samples    int     `json:"samples"`
	PulseSNR   float64 `json:"pulse_snr_db"`
	PulseBPM   float64 `json:"pulse_bpm"`
	Blinks     int     `json:"blinks"`
	ShapeMove  float64 `json:"shape_move_p90"`
	Live       bool    `json:"live"`
	Similarity float64 `json:"identity_cosine,omitempty"`
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
	if idx < 0 {
		// No face: the window restarts; absence is the face analyzer's job.
		a.win, a.winFrom = nil, f.PTS
		a.suspect.Update(f.PTS, a.verdict, nil, emit)
		return nil
	}
	lm, err := an.Landmarks(idx)
	if err != nil {
		return err
	}
	l, r, err := an.EyesClosed(idx)
	if err != nil {
		return err
	}
	s := sample{t: f.PTS, shape: lm, chroma: skinChroma(f, an.Faces[idx].Box), closed: math.Min(l, r) > a.p.ClosedP}
	if len(a.win) == 0 {
		a.winFrom = f.PTS
	}
	a.win = append(a.win, s)
	if f.PTS-a.winFrom >= a.p.Window {
		v := a.judge()
		a.verdict, a.last = !v.Live, v
		// Slide by half a window so evidence overlaps.
		half := a.winFrom + a.p.Window/2
		k := sort.Search(len(a.win), func(i int) bool { return a.win[i].t >= half })
		a.win = append([]sample(nil), a.win[k:]...)
		if len(a.win) > 0 {
			a.winFrom = a.win[0].t
		}
	}
	v := a.last
	a.suspect.Update(f.PTS, a.verdict, func() any { return v }, emit)

	// Identity consistency.
	if !a.embedded || f.PTS-a.lastEmbed >= a.p.EmbedEvery {
		e, err := an.Embedding(idx)
		if err != nil {
			return err
		}
		a.lastEmbed, a.embedded = f.PTS, true
		if a.enrolled == nil {
			a.enrolled = e
		} else {
			a.lastCos = facekit.Cosine(a.enrolled, e)
			a.sameLow = a.lastCos < a.p.SameAbove
		}
	}
	cos := a.lastCos
	a.changed.Update(f.PTS, a.sameLow, func() any { return map[string]float64{"identity_cosine": cos} }, emit)
	return nil
}

// judge turns the window into a verdict.
func (a *analyzer) judge() Verdict {
	w := a.win
	v := Verdict{From: a.winFrom.Seconds(), Samples: len(w)}
	if len(w) < 8 {
		v.Live = true // too little evidence to accuse anyone
		return v
	}
	dur := (w[len(w)-1].t - w[0].t).Seconds()
	fs := float64(len(w)-1) / dur
	xs := make([]float64, len(w))
	for i, s := range w {
		xs[i] = s.chroma
	}
	v.PulseSNR, v.PulseBPM = pulseSNR(xs, fs)
	for i := 1; i < len(w); i++ {
		if w[i-1].closed && !w[i].closed {
			v.Blinks++
		}
	}
	var moves []float64
	for i := 1; i < len(w); i++ {
		moves = append(moves, shapeResidual(w[0].shape, w[i].shape))
	}
	sort.Float64s(moves)
	v.ShapeMove = moves[len(moves)*9/10]
	v.Live = v.PulseSNR > a.p.PulseSNR || v.Blinks > 0 || v.ShapeMove > a.p.ShapeMove
	if math.IsInf(v.PulseSNR, -1) {
		v.PulseSNR = -99
	}
	return v
}

// skinChroma is the mean green/red ratio of the cheeks and forehead (the
// inner face box, above the mouth): the colour signal a pulse modulates.
func skinChroma(f *pipeline.VideoFrame, b image.Rectangle) float64 {
	w, h := b.Dx(), b.Dy()
	r := image.Rect(b.Min.X+w/5, b.Min.Y+h/6, b.Max.X-w/5, b.Min.Y+h*2/3).Intersect(image.Rect(0, 0, f.Width, f.Height))
	var sg, sr float64
	step := max(1, r.Dx()/32)
	for y := r.Min.Y; y < r.Max.Y; y += step {
		for x := r.Min.X; x < r.Max.X; x += step {
			R, G, _ := f.RGBAt(x, y)
			sr += float64(R)
			sg += float64(G)
		}
	}
	if sr == 0 {
		return 0
	}
	return sg / sr
}

func (a *analyzer) Close() error {
	a.tr.Release()
	return nil
}
