package facekit

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/pipeline"
)

// Options tune detection for one session.
type Options struct {
	// MinScore is the detector score for a new face; default 0.7.
	MinScore float32
	// KeepScore is the lower score that keeps a face already tracked at
	// about the same place (a face partly covered scores lower but is
	// still there); default 0.35.
	KeepScore float32
	// DetectEvery forces a detection at least every n analysed frames;
	// default 5. 1 detects every frame.
	DetectEvery int
	// ChangeGate is the mean absolute luma difference (0..255) of a small
	// thumbnail under which the previous detection is reused; default 2.5.
	// 0 takes the default; negative disables reuse.
	ChangeGate float64
}

func (o *Options) defaults() {
	if o.MinScore == 0 {
		o.MinScore = 0.7
	}
	if o.KeepScore == 0 {
		o.KeepScore = 0.35
	}
	if o.DetectEvery == 0 {
		o.DetectEvery = 5
	}
	if o.ChangeGate == 0 {
		o.ChangeGate = 2.5
	}
}

// Tracker detects faces for one session and shares results between the
// analyzers that look at the same frames. Safe for concurrent use.
type Tracker struct {
	key      string
	opts     Options
	explicit Options // what analyzers asked for; zero = default

	mu                 sync.Mutex
	refs               int
	last               []Face
	lastThumb          []float32
	sinceDet           int
	cache              []*Analysis // most recent last
	Detections, Reuses int
}

var (
	trackersMu sync.Mutex
	trackers   = map[string]*Tracker{}
)

// ErrOptionsConflict means two analyzers of a session asked for different
// detection options.
var ErrOptionsConflict = errors.New("facekit: conflicting detection options for one session")

// Shared returns the session's tracker. Zero fields of opts mean "no
// preference": the first analyzer that sets a field sets it for the session
// (analyzers are built before frames flow), and two different explicit
// values are an error rather than one silently winning. Call Release when
// done.
func Shared(session string, opts Options) (*Tracker, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	trackersMu.Lock()
	defer trackersMu.Unlock()
	t, ok := trackers[session]
	if !ok {
		t = &Tracker{key: session}
		trackers[session] = t
	}
	t.mu.Lock()
	err := merge(&t.explicit, opts)
	t.opts = t.explicit
	t.opts.defaults()
	t.mu.Unlock()
	if err != nil {
		if !ok {
			delete(trackers, session)
		}
		return nil, err
	}
	t.refs++
	return t, nil
}

// merge copies the non-zero fields of o into e, refusing different values.
func merge(e *Options, o Options) error {
	var errs []error
	set := func(name string, dst *float64, v float64) {
		if v == 0 {
			return
		}
		if *dst != 0 && *dst != v {
			errs = append(errs, fmt.Errorf("%w: %s %v vs %v", ErrOptionsConflict, name, *dst, v))
			return
		}
		*dst = v
	}
	ms, ks, de := float64(e.MinScore), float64(e.KeepScore), float64(e.DetectEvery)
	set("min_score", &ms, float64(o.MinScore))
	set("keep_score", &ks, float64(o.KeepScore))
	set("detect_every", &de, float64(o.DetectEvery))
	set("change_gate", &e.ChangeGate, o.ChangeGate)
	e.MinScore, e.KeepScore, e.DetectEvery = float32(ms), float32(ks), int(de)
	return errors.Join(errs...)
}

// NewTracker returns a private tracker (tests, benchmarks, offline tools).
func NewTracker(opts Options) (*Tracker, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	opts.defaults()
	return &Tracker{opts: opts, refs: 1}, nil
}

// Release drops one reference to a shared tracker.
func (t *Tracker) Release() {
	trackersMu.Lock()
	defer trackersMu.Unlock()
	t.refs--
	if t.refs <= 0 && t.key != "" && trackers[t.key] == t {
		delete(trackers, t.key)
	}
}

// Analysis is what the tracker knows about one frame. Landmarks, eye state
// and embeddings are computed on first request and then shared.
type Analysis struct {
	PTS      time.Duration
	Width    int
	Height   int
	Faces    []Face // largest first
	Detected bool   // false when the previous detection was reused

	frame *pipeline.VideoFrame
	mu    sync.Mutex
	rgb   *gocv.Mat
	gray  *gocv.Mat
	lm    map[int][]gocv.Point2f
	eyes  map[int][2]float64
	emb   map[int][]float32
}

const cacheSize = 4

// Analyze returns the analysis of f, running the detector unless the frame
// is already cached or the scene has not changed since the last detection.
func (t *Tracker) Analyze(f *pipeline.VideoFrame) (*Analysis, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.cache {
		if a.frame == f || (a.PTS == f.PTS && a.Width == f.Width && a.Height == f.Height && len(f.Data) > 0 && len(a.frame.Data) > 0 && &a.frame.Data[0] == &f.Data[0]) {
			return a, nil
		}
	}
	a := &Analysis{PTS: f.PTS, Width: f.Width, Height: f.Height, frame: f}
	th := thumbnail(f)
	reuse := t.lastThumb != nil && t.opts.ChangeGate > 0 && t.sinceDet+1 < t.opts.DetectEvery &&
		meanAbsDiff(th, t.lastThumb) < t.opts.ChangeGate
	if reuse {
		t.sinceDet++
		t.Reuses++
		a.Faces = cloneFaces(t.last)
	} else {
		rgb, err := a.RGB()
		if err != nil {
			return nil, err
		}
		faces, err := detect(rgb, t.opts.KeepScore)
		if err != nil {
			return nil, err
		}
		var kept []Face
		for _, fc := range faces {
			if fc.Score >= t.opts.MinScore || t.tracked(fc.Box) {
				kept = append(kept, fc)
			}
		}
		sort.Slice(kept, func(i, j int) bool { return kept[i].Area() > kept[j].Area() })
		a.Faces, a.Detected = kept, true
		t.last, t.lastThumb, t.sinceDet = cloneFaces(kept), th, 0
		t.Detections++
	}
	t.cache = append(t.cache, a)
	if len(t.cache) > cacheSize {
		t.cache[0].release()
		t.cache = t.cache[1:]
	}
	return a, nil
}

func (t *Tracker) tracked(b image.Rectangle) bool {
	for _, l := range t.last {
		if IoU(l.Box, b) > 0.3 {
			return true
		}
	}
	return false
}

// Stats returns how many frames were detected and how many reused.
func (t *Tracker) Stats() (detections, reuses int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Detections, t.Reuses
}

func cloneFaces(in []Face) []Face {
	out := make([]Face, len(in))
	for i, f := range in {
		out[i] = Face{Box: f.Box, Score: f.Score}
	}
	return out
}

// thumbnail is a 32x18 grid of block-mean luma (every 4th pixel of each
// block), for change gating: block means ride out sensor noise that single
// pixels would turn into false "changes".
func thumbnail(f *pipeline.VideoFrame) []float32 {
	const tw, th, step = 32, 18, 4
	out := make([]float32, tw*th)
	for j := 0; j < th; j++ {
		y0, y1 := j*f.Height/th, (j+1)*f.Height/th
		for i := 0; i < tw; i++ {
			x0, x1 := i*f.Width/tw, (i+1)*f.Width/tw
			var sum float32
			n := 0
			for y := y0; y < y1; y += step {
				for x := x0; x < x1; x += step {
					switch f.Format {
					case pipeline.PixelI420, pipeline.PixelGray:
						sum += float32(f.Data[y*f.Stride[0]+x])
					default:
						r, g, b := f.RGBAt(x, y)
						sum += 0.299*float32(r) + 0.587*float32(g) + 0.114*float32(b)
					}
					n++
				}
			}
			if n > 0 {
				out[j*tw+i] = sum / float32(n)
			}
		}
	}
	return out
}

func meanAbsDiff(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i] - b[i]))
	}
	return s / float64(len(a))
}

// RGB returns the frame as an RGB Mat owned by the analysis.
func (a *Analysis) RGB() (gocv.Mat, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rgbLocked()
}

func (a *Analysis) rgbLocked() (gocv.Mat, error) {
	if a.rgb == nil {
		m, err := RGBMat(a.frame)
		if err != nil {
			return m, err
		}
		a.rgb = &m
	}
	return *a.rgb, nil
}

func (a *Analysis) grayLocked() (gocv.Mat, error) {
	if a.gray == nil {
		rgb, err := a.rgbLocked()
		if err != nil {
			return rgb, err
		}
		g := gocv.NewMat()
		gocv.CvtColor(rgb, &g, gocv.ColorRGBToGray)
		a.gray = &g
	}
	return *a.gray, nil
}

func (a *Analysis) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rgb != nil {
		a.rgb.Close()
		a.rgb = nil
	}
	if a.gray != nil {
		a.gray.Close()
		a.gray = nil
	}
	a.frame = nil
}

// Landmarks returns the 68 landmarks of face i in frame pixels.
func (a *Analysis) Landmarks(i int) ([]gocv.Point2f, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.landmarksLocked(i)
}

func (a *Analysis) landmarksLocked(i int) ([]gocv.Point2f, error) {
	if i < 0 || i >= len(a.Faces) {
		return nil, fmt.Errorf("facekit: no face %d (have %d)", i, len(a.Faces))
	}
	if lm, ok := a.lm[i]; ok {
		return lm, nil
	}
	if a.frame == nil {
		return nil, fmt.Errorf("facekit: analysis of %v already released", a.PTS)
	}
	g, err := a.grayLocked()
	if err != nil {
		return nil, err
	}
	lm, err := landmarks68(g, a.Faces[i].Box)
	if err != nil {
		return nil, err
	}
	if a.lm == nil {
		a.lm = map[int][]gocv.Point2f{}
	}
	a.lm[i] = lm
	return lm, nil
}

// EyesClosed returns the closed-eye probability of face i's left and right
// eye (image left/right).
func (a *Analysis) EyesClosed(i int) (float64, float64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.eyes[i]; ok {
		return e[0], e[1], nil
	}
	lm, err := a.landmarksLocked(i)
	if err != nil {
		return 0, 0, err
	}
	g, err := a.grayLocked()
	if err != nil {
		return 0, 0, err
	}
	l, err := eyeClosedProb(g, lm[36:42])
	if err != nil {
		return 0, 0, err
	}
	r, err := eyeClosedProb(g, lm[42:48])
	if err != nil {
		return 0, 0, err
	}
	if a.eyes == nil {
		a.eyes = map[int][2]float64{}
	}
	a.eyes[i] = [2]float64{l, r}
	return l, r, nil
}

// Embedding returns face i's normalised 512-d embedding.
func (a *Analysis) Embedding(i int) ([]float32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.emb[i]; ok {
		return e, nil
	}
	lm, err := a.landmarksLocked(i)
	if err != nil {
		return nil, err
	}
	rgb, err := a.rgbLocked()
	if err != nil {
		return nil, err
	}
	e, err := embedding(rgb, lm)
	if err != nil {
		return nil, err
	}
	if a.emb == nil {
		a.emb = map[int][]float32{}
	}
	a.emb[i] = e
	return e, nil
}

// WithPixels runs fn with the frame's RGB and grey pictures while the
// analysis holds them (fn must not keep them).
func (a *Analysis) WithPixels(fn func(rgb, gray gocv.Mat) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.frame == nil && a.rgb == nil {
		return fmt.Errorf("facekit: analysis of %v already released", a.PTS)
	}
	rgb, err := a.rgbLocked()
	if err != nil {
		return err
	}
	g, err := a.grayLocked()
	if err != nil {
		return err
	}
	return fn(rgb, g)
}
