// Package idmatch is the built-in face-vs-ID-photo analyzer ("idmatch"): the
// live face's embedding is compared with the face in an uploaded photo (an
// ID card scan, a passport photo) every few seconds. It raises
// identity.id_match (info) the first time they agree and
// identity.id_mismatch while they do not.
package idmatch

import (
	"errors"
	"fmt"
	"image"
	"os"
	"time"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

func init() { analyzers.Register("idmatch", New) }

// Event kinds.
const (
	KindMatch    = "identity.id_match"
	KindMismatch = "identity.id_mismatch"
)

// ErrNoFace means the ID photo shows no usable face.
var ErrNoFace = errors.New("no face in the ID photo")

// Params configure the analyzer.
type Params struct {
	Photo     string        `yaml:"photo"`      // path of the ID photo (JPEG/PNG); required
	SameAbove float64       `yaml:"same_above"` // cosine at or over which it is the same person; default 0.45
	Every     time.Duration `yaml:"every"`      // compare this often; default 2s
	MinOn     time.Duration `yaml:"min_duration"`
	ROI       analyzers.ROI `yaml:"roi"`
}

type analyzer struct {
	analyzers.NoOp
	p        Params
	tr       *facekit.Tracker
	ref      []float32
	last     time.Duration
	began    bool
	matched  bool
	low      bool
	cos      float64
	mismatch *analyzers.Alert
}

// PhotoEmbedding returns the embedding of the largest face in an image file.
func PhotoEmbedding(path string) ([]float32, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ID photo: %w", err)
	}
	bgr := gocv.IMRead(path, gocv.IMReadColor)
	if bgr.Empty() {
		return nil, fmt.Errorf("ID photo %s: not an image OpenCV can read", path)
	}
	defer bgr.Close()
	rgb := gocv.NewMat()
	defer rgb.Close()
	gocv.CvtColor(bgr, &rgb, gocv.ColorBGRToRGB)
	b, err := rgb.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	f := &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: rgb.Cols(), Height: rgb.Rows(), Stride: [3]int{rgb.Cols() * 3}, Data: append([]byte(nil), b...)}
	tr, err := facekit.NewTracker(facekit.Options{DetectEvery: 1})
	if err != nil {
		return nil, err
	}
	an, err := tr.Analyze(f)
	if err != nil {
		return nil, err
	}
	if len(an.Faces) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoFace, path)
	}
	return an.Embedding(0)
}

// New builds the analyzer; the photo is read and embedded here, so a bad
// photo fails the session's set-up with a clear error.
func New(s analyzers.Session, raw pipeline.Params) (analyzers.Analyzer, error) {
	var p Params
	if err := raw.Decode(&p); err != nil {
		return nil, err
	}
	if p.Photo == "" {
		return nil, fmt.Errorf("idmatch: photo is required")
	}
	if p.SameAbove == 0 {
		p.SameAbove = 0.45
	}
	if p.Every == 0 {
		p.Every = 2 * time.Second
	}
	if p.MinOn == 0 {
		p.MinOn = p.Every
	}
	if err := p.ROI.Validate(); err != nil {
		return nil, err
	}
	ref, err := PhotoEmbedding(p.Photo)
	if err != nil {
		return nil, err
	}
	tr, err := facekit.Shared(s.SessionKey(), facekit.Options{})
	if err != nil {
		return nil, err
	}
	return &analyzer{p: p, tr: tr, ref: ref,
		mismatch: analyzers.NewAlert(KindMismatch, pipeline.SeverityCritical, p.MinOn, p.MinOn)}, nil
}

func (a *analyzer) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	if a.began && f.PTS-a.last < a.p.Every {
		return nil
	}
	an, err := a.tr.Analyze(f)
	if err != nil {
		return err
	}
	roi := a.p.ROI.Rect(f.Width, f.Height)
	idx := -1
	for i, fc := range an.Faces {
		if image.Pt((fc.Box.Min.X+fc.Box.Max.X)/2, (fc.Box.Min.Y+fc.Box.Max.Y)/2).In(roi) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil // no face: nothing to compare (the face analyzer reports absence)
	}
	a.began, a.last = true, f.PTS
	e, err := an.Embedding(idx)
	if err != nil {
		return err
	}
	a.cos = facekit.Cosine(a.ref, e)
	a.low = a.cos < a.p.SameAbove
	cos := a.cos
	data := func() any { return map[string]float64{"cosine": cos, "threshold": a.p.SameAbove} }
	if !a.low && !a.matched {
		a.matched = true
		ev := pipeline.Event{Kind: KindMatch, Severity: pipeline.SeverityInfo, MediaTime: f.PTS}
		ev.Data = []byte(fmt.Sprintf(`{"cosine":%.3f}`, cos))
		emit(ev)
	}
	a.mismatch.Update(f.PTS, a.low, data, emit)
	return nil
}

func (a *analyzer) Close() error {
	a.tr.Release()
	return nil
}
