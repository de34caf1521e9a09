// Package onnxslot turns an ONNX model plus a YAML manifest into an
// analyzer, without code (the no-code plugin route, and the slot for an
// operator's deepfake classifier on face crops). The manifest says how to
// crop and preprocess the picture, which output element is the score, the
// threshold, and which event to raise:
//
//	name: deepfake            # analyzer name
//	model: /opt/models/deepfake.onnx
//	input:
//	  crop: face              # frame | face (the customer's largest face)
//	  margin: 0.25            # face box grown by this fraction per side
//	  layout: nchw            # nchw | nhwc
//	  color: rgb              # rgb | bgr | gray
//	  scale: 0.0039215686     # v*scale, then (v - mean[c]) / std[c]
//	  mean: [0.485, 0.456, 0.406]
//	  std: [0.229, 0.224, 0.225]
//	output:
//	  name: logits            # default: the first output
//	  index: 1                # element (class) to read
//	  stride: 0               # >0: read index, index+stride, ... and reduce
//	  reduce: max             # max | mean (with stride)
//	  activation: softmax     # none | sigmoid | softmax (over the stride group or the whole output)
//	threshold: 0.5
//	when: above               # raise while the score is above (or below) the threshold
//	event: {kind: deepfake.suspect, severity: critical, min_duration: 2s, clear_after: 2s}
//
// Width and height come from the model's static input shape. Manifests are
// loaded at start-up with LoadDir; each registers an analyzer.
package onnxslot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gocv.io/x/gocv"
	"gopkg.in/yaml.v3"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/models"
	"github.com/witness-media/witness/pipeline"
)

// ErrManifest wraps manifest problems.
var ErrManifest = errors.New("onnx analyzer manifest")

// Manifest describes one no-code analyzer.
type Manifest struct {
	Name  string `yaml:"name"`
	Model string `yaml:"model"`
	Input struct {
		Crop   string    `yaml:"crop"`
		Margin float64   `yaml:"margin"`
		Layout string    `yaml:"layout"`
		Color  string    `yaml:"color"`
		Scale  float64   `yaml:"scale"`
		Mean   []float64 `yaml:"mean"`
		Std    []float64 `yaml:"std"`
	} `yaml:"input"`
	Output struct {
		Name       string `yaml:"name"`
		Index      int    `yaml:"index"`
		Stride     int    `yaml:"stride"`
		Reduce     string `yaml:"reduce"`
		Activation string `yaml:"activation"`
	} `yaml:"output"`
	Threshold float64 `yaml:"threshold"`
	When      string  `yaml:"when"`
	Event     struct {
		Kind        string            `yaml:"kind"`
		Severity    pipeline.Severity `yaml:"severity"`
		MinDuration time.Duration     `yaml:"min_duration"`
		ClearAfter  time.Duration     `yaml:"clear_after"`
	} `yaml:"event"`
	ROI analyzers.ROI `yaml:"roi"`

	dir string // the manifest's directory: relative model paths start here
}

// Parse decodes and checks a manifest (strict: unknown keys are errors).
func Parse(b []byte, dir string) (*Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	m.dir = dir
	return &m, m.validate()
}

func (m *Manifest) validate() error {
	var errs []error
	bad := func(f string, a ...any) {
		errs = append(errs, fmt.Errorf("%w %q: "+f, append([]any{ErrManifest, m.Name}, a...)...))
	}
	if m.Name == "" {
		bad("name is required")
	}
	if m.Model == "" {
		bad("model is required")
	}
	def := func(s *string, v string, ok ...string) {
		if *s == "" {
			*s = v
		}
		for _, o := range ok {
			if *s == o {
				return
			}
		}
		bad("%q is not one of %v", *s, ok)
	}
	def(&m.Input.Crop, "frame", "frame", "face")
	def(&m.Input.Layout, "nchw", "nchw", "nhwc")
	def(&m.Input.Color, "rgb", "rgb", "bgr", "gray")
	def(&m.Output.Reduce, "max", "max", "mean")
	def(&m.Output.Activation, "none", "none", "sigmoid", "softmax")
	def(&m.When, "above", "above", "below")
	if m.Input.Scale == 0 {
		m.Input.Scale = 1.0 / 255
	}
	ch := 3
	if m.Input.Color == "gray" {
		ch = 1
	}
	if len(m.Input.Mean) == 0 {
		m.Input.Mean = make([]float64, ch)
	}
	if len(m.Input.Std) == 0 {
		m.Input.Std = []float64{1, 1, 1}[:ch]
	}
	if len(m.Input.Mean) != ch || len(m.Input.Std) != ch {
		bad("mean and std need %d values", ch)
	}
	for _, s := range m.Input.Std {
		if s == 0 {
			bad("std must not be 0")
		}
	}
	if m.Output.Index < 0 || m.Output.Stride < 0 || (m.Output.Stride > 0 && m.Output.Index >= m.Output.Stride) {
		bad("output index %d / stride %d", m.Output.Index, m.Output.Stride)
	}
	if m.Event.Kind == "" {
		bad("event.kind is required")
	}
	if m.Event.MinDuration == 0 {
		m.Event.MinDuration = time.Second
	}
	if m.Event.ClearAfter == 0 {
		m.Event.ClearAfter = m.Event.MinDuration
	}
	if err := m.ROI.Validate(); err != nil {
		bad("%v", err)
	}
	return errors.Join(errs...)
}

// ModelPath resolves the model path against the manifest's directory.
func (m *Manifest) ModelPath() string {
	if filepath.IsAbs(m.Model) || m.dir == "" {
		return m.Model
	}
	return filepath.Join(m.dir, m.Model)
}

// LoadDir parses every *.yaml manifest in dir and registers its analyzer.
// It returns the names registered; any problem (bad manifest, missing or
// unusable model, duplicate name) is an error and nothing is half-loaded
// for that manifest.
func LoadDir(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var names []string
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m, err := Parse(b, filepath.Dir(f))
		if err == nil {
			err = Register(m)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		names = append(names, m.Name)
	}
	return names, errors.Join(errs...)
}

// Register checks the model against the manifest and registers the analyzer.
func Register(m *Manifest) error {
	s, _, _, err := open(m)
	if err != nil {
		return err
	}
	s.Close()
	for _, n := range analyzers.Names() {
		if n == m.Name {
			return fmt.Errorf("%w: analyzer %q already registered", ErrManifest, m.Name)
		}
	}
	analyzers.Register(m.Name, func(sess analyzers.Session, p pipeline.Params) (analyzers.Analyzer, error) {
		if len(p) > 0 {
			return nil, fmt.Errorf("%w %q: configure it in its manifest, not with params", ErrManifest, m.Name)
		}
		return New(m, sess)
	})
	return nil
}

// open loads the model and reads the input size it wants.
func open(m *Manifest) (*models.Session, int, int, error) {
	s, err := models.OpenONNX(m.ModelPath())
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w %q: %w", ErrManifest, m.Name, err)
	}
	in := s.Inputs()
	ch := 3
	if m.Input.Color == "gray" {
		ch = 1
	}
	fail := func(f string, a ...any) (*models.Session, int, int, error) {
		s.Close()
		return nil, 0, 0, fmt.Errorf("%w %q: "+f, append([]any{ErrManifest, m.Name}, a...)...)
	}
	if len(in) != 1 || len(in[0].Shape) != 4 || in[0].DType != "float32" {
		return fail("want one float32 image input of rank 4, model has %v", in)
	}
	sh := in[0].Shape
	var c, h, w int64
	if m.Input.Layout == "nchw" {
		c, h, w = sh[1], sh[2], sh[3]
	} else {
		h, w, c = sh[1], sh[2], sh[3]
	}
	if c != int64(ch) || h <= 0 || w <= 0 {
		return fail("input shape %v does not fit layout %s with %d channels and a static size", sh, m.Input.Layout, ch)
	}
	if m.Output.Name != "" {
		found := false
		for _, o := range s.Outputs() {
			found = found || o.Name == m.Output.Name
		}
		if !found {
			return fail("no output %q (have %v)", m.Output.Name, s.Outputs())
		}
	}
	return s, int(w), int(h), nil
}

type analyzer struct {
	analyzers.NoOp
	m     *Manifest
	s     *models.Session
	w, h  int
	out   int // output index
	tr    *facekit.Tracker
	alert *analyzers.Alert
}

// New builds the manifest's analyzer for a session.
func New(m *Manifest, sess analyzers.Session) (analyzers.Analyzer, error) {
	s, w, h, err := open(m)
	if err != nil {
		return nil, err
	}
	a := &analyzer{m: m, s: s, w: w, h: h,
		alert: analyzers.NewAlert(m.Event.Kind, m.Event.Severity, m.Event.MinDuration, m.Event.ClearAfter)}
	for i, o := range s.Outputs() {
		if o.Name == m.Output.Name {
			a.out = i
		}
	}
	if m.Input.Crop == "face" {
		if a.tr, err = facekit.Shared(sess.SessionKey(), facekit.Options{}); err != nil {
			s.Close()
			return nil, err
		}
	}
	return a, nil
}

// Reading is one frame's score.
type Reading struct {
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Model     string  `json:"model"`
}

func (a *analyzer) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	rgb, release, err := a.picture(f)
	if err != nil {
		return err
	}
	if release == nil { // no face to look at
		a.alert.Update(f.PTS, false, nil, emit)
		return nil
	}
	defer release()
	score, err := a.score(rgb)
	if err != nil {
		return err
	}
	cond := score > a.m.Threshold
	if a.m.When == "below" {
		cond = score < a.m.Threshold
	}
	r := Reading{Score: score, Threshold: a.m.Threshold, Model: filepath.Base(a.m.Model)}
	a.alert.Update(f.PTS, cond, func() any { return r }, emit)
	return nil
}

// picture returns the RGB picture to score (the frame or the face crop).
func (a *analyzer) picture(f *pipeline.VideoFrame) (gocv.Mat, func(), error) {
	if a.tr == nil {
		m, err := facekit.RGBMat(f)
		if err != nil {
			return m, nil, err
		}
		return m, func() { m.Close() }, nil
	}
	an, err := a.tr.Analyze(f)
	if err != nil {
		return gocv.Mat{}, nil, err
	}
	roi := a.m.ROI.Rect(f.Width, f.Height)
	for _, fc := range an.Faces {
		if !image.Pt((fc.Box.Min.X+fc.Box.Max.X)/2, (fc.Box.Min.Y+fc.Box.Max.Y)/2).In(roi) {
			continue
		}
		var out gocv.Mat
		err := an.WithPixels(func(rgb, _ gocv.Mat) error {
			mx, my := int(a.m.Input.Margin*float64(fc.Box.Dx())), int(a.m.Input.Margin*float64(fc.Box.Dy()))
			r := image.Rect(fc.Box.Min.X-mx, fc.Box.Min.Y-my, fc.Box.Max.X+mx, fc.Box.Max.Y+my).Intersect(image.Rect(0, 0, rgb.Cols(), rgb.Rows()))
			reg := rgb.Region(r)
			out = reg.Clone()
			reg.Close()
			return nil
		})
		if err != nil {
			return out, nil, err
		}
		return out, func() { out.Close() }, nil
	}
	return gocv.Mat{}, nil, nil
}

func (a *analyzer) score(rgb gocv.Mat) (float64, error) {
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(rgb, &small, image.Pt(a.w, a.h), 0, 0, gocv.InterpolationLinear)
	src := small
	if a.m.Input.Color != "rgb" {
		conv := gocv.NewMat()
		defer conv.Close()
		code := gocv.ColorBGRToRGB // the same channel swap
		if a.m.Input.Color == "gray" {
			code = gocv.ColorRGBToGray
		}
		gocv.CvtColor(small, &conv, code)
		src = conv
	}
	px, err := src.DataPtrUint8()
	if err != nil {
		return 0, err
	}
	ch := len(a.m.Input.Mean)
	plane := a.w * a.h
	in := make([]float32, plane*ch)
	for i := 0; i < plane; i++ {
		for c := 0; c < ch; c++ {
			v := (float64(px[i*ch+c])*a.m.Input.Scale - a.m.Input.Mean[c]) / a.m.Input.Std[c]
			if a.m.Input.Layout == "nchw" {
				in[c*plane+i] = float32(v)
			} else {
				in[i*ch+c] = float32(v)
			}
		}
	}
	shape := []int64{1, int64(ch), int64(a.h), int64(a.w)}
	if a.m.Input.Layout == "nhwc" {
		shape = []int64{1, int64(a.h), int64(a.w), int64(ch)}
	}
	outs, err := a.s.Run([]models.Tensor{models.Float32Tensor(in, shape...)})
	if err != nil {
		return 0, err
	}
	return a.read(outs[a.out].Float32)
}

// read maps the output to a score as the manifest says.
func (a *analyzer) read(o []float32) (float64, error) {
	o64 := make([]float64, len(o))
	for i, v := range o {
		o64[i] = float64(v)
	}
	st, idx := a.m.Output.Stride, a.m.Output.Index
	act := func(group []float64, i int) float64 {
		switch a.m.Output.Activation {
		case "sigmoid":
			return 1 / (1 + math.Exp(-group[i]))
		case "softmax":
			mx := math.Inf(-1)
			for _, v := range group {
				mx = math.Max(mx, v)
			}
			var sum float64
			for _, v := range group {
				sum += math.Exp(v - mx)
			}
			return math.Exp(group[i]-mx) / sum
		}
		return group[i]
	}
	if st == 0 {
		if idx >= len(o64) {
			return 0, fmt.Errorf("%w %q: output has %d values, index %d", ErrManifest, a.m.Name, len(o64), idx)
		}
		return act(o64, idx), nil
	}
	var best, sum float64
	n := 0
	for g := 0; g+st <= len(o64); g += st {
		v := act(o64[g:g+st], idx)
		if n == 0 || v > best {
			best = v
		}
		sum += v
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%w %q: output of %d values has no groups of %d", ErrManifest, a.m.Name, len(o64), st)
	}
	if a.m.Output.Reduce == "mean" {
		return sum / float64(n), nil
	}
	return best, nil
}

func (a *analyzer) Close() error {
	if a.tr != nil {
		a.tr.Release()
	}
	return a.s.Close()
}
