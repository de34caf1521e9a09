package video

import (
	"fmt"
	"image"
	"image/color"
	"time"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

// SegmentOptions tune person segmentation.
type SegmentOptions struct {
	// Width is the working width in pixels (default 160): GrabCut runs on
	// a picture this wide and the mask is scaled up with soft edges.
	Width int `yaml:"width"`
	// Iterations of GrabCut per frame (default 2).
	Iterations int `yaml:"iterations"`
	// Smooth is the weight of the previous mask in the temporal average,
	// 0..0.9 (default 0.5): less flicker, a little lag on fast motion.
	Smooth float64 `yaml:"smooth"`
	// Hold keeps the last mask when the face is lost (turned away, hand
	// over the face) for this long before showing no person; default 1 s.
	Hold time.Duration `yaml:"hold"`
	// Session shares face detection with the participant's other face
	// stages and analyzers (facekit.Shared); empty = a private tracker.
	Session string `yaml:"session"`
}

func (o *SegmentOptions) defaults() error {
	if o.Width == 0 {
		o.Width = 160
	}
	if o.Iterations == 0 {
		o.Iterations = 2
	}
	if o.Smooth == 0 {
		o.Smooth = 0.5
	}
	if o.Hold == 0 {
		o.Hold = time.Second
	}
	if o.Width < 32 || o.Width > 1920 || o.Iterations < 1 || o.Iterations > 10 || o.Smooth < 0 || o.Smooth > 0.9 || o.Hold < 0 {
		return fmt.Errorf("%w: segment width %d iterations %d smooth %v hold %v", ErrParams, o.Width, o.Iterations, o.Smooth, o.Hold)
	}
	return nil
}

// Segmenter finds the person (the largest face's head and shoulders) in
// each frame of one stream. It is the classical route chosen in
// docs/enhance.md: the face box anchors a head-and-shoulders prior, GrabCut
// refines it with colour models of the person and the background, and a
// temporal average removes flicker.
type Segmenter struct {
	o       SegmentOptions
	tracker *facekit.Tracker
	prev    []float32 // last alpha at working size
	pw, ph  int
	lastBox image.Rectangle
	lastPTS time.Duration
	seen    bool
	// sinceInit counts frames since GrabCut last started from the plain
	// prior; starting from the previous mask steadies the result, and a
	// periodic fresh start keeps a wrong region from sticking.
	sinceInit int
	cold      bool // tests: never warm-start (measures what warm starts buy)
}

// reinitEvery is how often (in frames) GrabCut starts from the plain prior.
const reinitEvery = 10

// NewSegmenter returns a segmenter for one stream.
func NewSegmenter(o SegmentOptions) (*Segmenter, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	t, err := tracker(o.Session)
	if err != nil {
		return nil, err
	}
	return &Segmenter{o: o, tracker: t}, nil
}

// Close releases the face tracker.
func (s *Segmenter) Close() { s.tracker.Release() }

// Mask returns the person's alpha (0..1) at the frame's size as a CV32FC1
// Mat the caller closes.
func (s *Segmenter) Mask(f *pipeline.VideoFrame) (gocv.Mat, error) {
	rgb, err := facekit.RGBMat(f)
	if err != nil {
		return rgb, err
	}
	defer rgb.Close()
	return s.mask(f, rgb)
}

func (s *Segmenter) mask(f *pipeline.VideoFrame, rgb gocv.Mat) (gocv.Mat, error) {
	w := min(s.o.Width, f.Width)
	h := max(1, f.Height*w/f.Width)
	sc := float64(w) / float64(f.Width)
	a, err := s.tracker.Analyze(f)
	if err != nil {
		return gocv.Mat{}, err
	}
	alpha := make([]float32, w*h)
	switch {
	case len(a.Faces) > 0:
		b := a.Faces[0].Box
		box := image.Rect(int(float64(b.Min.X)*sc), int(float64(b.Min.Y)*sc), int(float64(b.Max.X)*sc), int(float64(b.Max.Y)*sc))
		if box.Dx() >= 4 && box.Dy() >= 4 {
			var prev []float32
			s.sinceInit++
			if s.prev != nil && len(s.prev) == len(alpha) && facekit.IoU(box, s.lastBox) > 0.3 && s.sinceInit < reinitEvery && !s.cold {
				// The person moves with the face: carry last frame's mask
				// along by the face box's shift.
				prev = shift(s.prev, w, h, (box.Min.X+box.Max.X-s.lastBox.Min.X-s.lastBox.Max.X)/2,
					(box.Min.Y+box.Max.Y-s.lastBox.Min.Y-s.lastBox.Max.Y)/2)
			} else {
				s.sinceInit = 0
			}
			if err := s.grabcut(rgb, w, h, box, prev, alpha); err != nil {
				return gocv.Mat{}, err
			}
			if prev != nil {
				k := float32(s.o.Smooth)
				for i := range alpha {
					alpha[i] = (1-k)*alpha[i] + k*prev[i]
				}
			}
			s.lastBox, s.lastPTS, s.seen = box, f.PTS, true
		}
	case s.seen && s.prev != nil && len(s.prev) == len(alpha) && f.PTS-s.lastPTS <= s.o.Hold:
		copy(alpha, s.prev)
	}
	s.prev, s.pw, s.ph = alpha, w, h
	small, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV32FC1, float32Bytes(alpha))
	if err != nil {
		return small, err
	}
	defer small.Close()
	out := gocv.NewMat()
	gocv.Resize(small, &out, image.Pt(f.Width, f.Height), 0, 0, gocv.InterpolationLinear)
	return out, nil
}

// shift moves a w x h mask by (dx, dy), filling with the nearest edge.
func shift(a []float32, w, h, dx, dy int) []float32 {
	if dx == 0 && dy == 0 {
		return a
	}
	out := make([]float32, len(a))
	for y := 0; y < h; y++ {
		sy := min(max(y-dy, 0), h-1)
		for x := 0; x < w; x++ {
			sx := min(max(x-dx, 0), w-1)
			out[y*w+x] = a[sy*w+sx]
		}
	}
	return out
}

// GrabCut labels.
const (
	gcBG   = 0
	gcFG   = 1
	gcPrBG = 2
	gcPrFG = 3
)

// grabcut fills alpha (w x h) from the face box at working size. With the
// previous frame's mask, the uncertain part of the prior starts from last
// frame's answer, so GrabCut's colour models start where they ended and
// the result does not hop between two solutions frame to frame.
func (s *Segmenter) grabcut(rgb gocv.Mat, w, h int, box image.Rectangle, prev []float32, alpha []float32) error {
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(rgb, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	mask := priorMask(w, h, box)
	defer mask.Close()
	if prev != nil {
		m, err := mask.DataPtrUint8()
		if err != nil {
			return err
		}
		for i, v := range m {
			if v == gcPrFG || v == gcPrBG {
				if prev[i] > 0.5 {
					m[i] = gcPrFG
				} else {
					m[i] = gcPrBG
				}
			}
		}
	}
	bgd, fgd := gocv.NewMat(), gocv.NewMat()
	defer bgd.Close()
	defer fgd.Close()
	gocv.GrabCut(small, &mask, image.Rectangle{}, &bgd, &fgd, s.o.Iterations, gocv.GCInitWithMask)
	m, err := mask.DataPtrUint8()
	if err != nil {
		return err
	}
	for i, v := range m {
		if v == gcFG || v == gcPrFG {
			alpha[i] = 1
		}
	}
	return nil
}

// priorMask is the head-and-shoulders prior around a face box: sure
// person in the middle of the face and the chest, probable person over the
// head (hair), neck and shoulders, probable background in a band around
// that and sure background beyond.
func priorMask(w, h int, box image.Rectangle) gocv.Mat {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	m.SetTo(gocv.NewScalar(gcBG, 0, 0, 0))
	fw, fh := float64(box.Dx()), float64(box.Dy())
	cx, cy := float64(box.Min.X+box.Max.X)/2, float64(box.Min.Y+box.Max.Y)/2
	pt := func(x, y float64) image.Point { return image.Pt(int(cx+x*fw), int(cy+y*fh)) }
	body := func(grow float64) [][]image.Point {
		return [][]image.Point{{
			pt(-0.35-grow, 0.45), pt(0.35+grow, 0.45), pt(0.4+grow, 0.95),
			pt(1.7+grow, 1.5-grow), pt(2.0+grow, 3.5), pt(-2.0-grow, 3.5), pt(-1.7-grow, 1.5-grow), pt(-0.4-grow, 0.95),
		}}
	}
	fill := func(label uint8, grow float64) {
		c := color.RGBA{label, label, label, 0}
		gocv.Ellipse(&m, pt(0, -0.12), image.Pt(int((0.72+grow)*fw), int((0.9+grow)*fh)), 0, 0, 360, c, -1)
		pv := gocv.NewPointsVectorFromPoints(body(grow))
		gocv.FillPoly(&m, pv, c)
		pv.Close()
	}
	fill(gcPrBG, 0.45)
	fill(gcPrFG, 0)
	sure := color.RGBA{gcFG, gcFG, gcFG, 0}
	gocv.Ellipse(&m, pt(0, 0.05), image.Pt(int(0.3*fw), int(0.38*fh)), 0, 0, 360, sure, -1)
	gocv.Rectangle(&m, image.Rectangle{Min: pt(-0.7, 1.6), Max: pt(0.7, 3.5)}, sure, -1)
	return m
}

func float32Bytes(a []float32) []byte {
	b := make([]byte, 4*len(a))
	for i, v := range a {
		u := mathFloat32bits(v)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}
