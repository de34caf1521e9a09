package video

import (
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

func init() {
	pipeline.Register("beauty", func(p pipeline.Params) (pipeline.Stage, error) {
		var o BeautyOptions
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewBeauty(o)
	})
}

// BeautyOptions are the face-limited effects, each 0..1 (0 = off). They
// share one face detection and landmark pass per frame.
type BeautyOptions struct {
	Smooth float64 `yaml:"smooth"` // skin smoothing (edge-preserving blur on skin only)
	Whiten float64 `yaml:"whiten"` // skin lightening
	Slim   float64 `yaml:"slim"`   // pulls the lower jaw line towards the face centre
	Eyes   float64 `yaml:"eyes"`   // eye enlargement
	// Session shares face detection with the participant's other face
	// stages and analyzers (facekit.Shared); empty = a private tracker.
	Session string `yaml:"session"`
}

// Validate checks ranges.
func (o BeautyOptions) Validate() error {
	for _, c := range []struct {
		n string
		v float64
	}{{"smooth", o.Smooth}, {"whiten", o.Whiten}, {"slim", o.Slim}, {"eyes", o.Eyes}} {
		if err := check(c.n, c.v, 0, 1); err != nil {
			return err
		}
	}
	return nil
}

// beauty is the per-stream state: the face tracker and smoothed landmarks
// (raw landmarks jitter by a pixel or two, which warps would turn into a
// wobbling face).
type beauty struct {
	o       BeautyOptions
	tracker *facekit.Tracker
	prev    []gocv.Point2f
	prevBox image.Rectangle
}

// NewBeauty builds the beauty stage. Faces are found with facekit (UltraFace
// + 68 landmarks); every effect is limited to the faces: skin effects to a
// feathered mask inside the jaw line and forehead with eyes and mouth cut
// out, warps to circles around the jaw line and the eyes.
func NewBeauty(o BeautyOptions) (*Stage, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Stage{name: "beauty", active: o.Smooth > 0 || o.Whiten > 0 || o.Slim > 0 || o.Eyes > 0,
		settings: map[string]any{"smooth": o.Smooth, "whiten": o.Whiten, "slim": o.Slim, "eyes": o.Eyes}}
	if !s.active {
		return s, nil
	}
	t, err := tracker(o.Session)
	if err != nil {
		return nil, err
	}
	b := &beauty{o: o, tracker: t}
	s.filter = b.apply
	s.closer = func() error { t.Release(); return nil }
	return s, nil
}

// FaceRegion is the rectangle a beauty stage may change for a face box: the
// box grown by half its size each way (warps reach past the jaw line).
func FaceRegion(box image.Rectangle, w, h int) image.Rectangle {
	dx, dy := box.Dx()/2, box.Dy()/2
	return image.Rect(box.Min.X-dx, box.Min.Y-dy, box.Max.X+dx, box.Max.Y+dy).Intersect(image.Rect(0, 0, w, h))
}

func (b *beauty) apply(f *pipeline.VideoFrame, rgb *gocv.Mat) (image.Rectangle, error) {
	a, err := b.tracker.Analyze(f)
	if err != nil {
		return image.Rectangle{}, err
	}
	if len(a.Faces) == 0 {
		b.prev = nil
		return image.Rectangle{}, nil
	}
	// The largest face only: the customer; others pass untouched.
	face := a.Faces[0]
	lm, err := a.Landmarks(0)
	if err != nil {
		return image.Rectangle{}, err
	}
	lm = append([]gocv.Point2f(nil), lm...)
	if b.prev != nil && facekit.IoU(face.Box, b.prevBox) > 0.5 {
		for i := range lm {
			lm[i].X = 0.5*lm[i].X + 0.5*b.prev[i].X
			lm[i].Y = 0.5*lm[i].Y + 0.5*b.prev[i].Y
		}
	}
	b.prev, b.prevBox = lm, face.Box
	roi := FaceRegion(face.Box, rgb.Cols(), rgb.Rows())
	if roi.Dx() < 16 || roi.Dy() < 16 {
		return image.Rectangle{}, nil
	}
	reg := rgb.Region(roi)
	defer reg.Close()
	local := make([]gocv.Point2f, len(lm))
	for i, p := range lm {
		local[i] = gocv.Point2f{X: p.X - float32(roi.Min.X), Y: p.Y - float32(roi.Min.Y)}
	}
	fw := float64(face.Box.Dx())
	if b.o.Smooth > 0 || b.o.Whiten > 0 {
		b.skin(&reg, local, fw)
	}
	if b.o.Slim > 0 || b.o.Eyes > 0 {
		b.warp(&reg, local, fw)
	}
	return roi, nil
}

// skinMask is a float mask (0..1) of facial skin in the region.
func skinMask(rows, cols int, lm []gocv.Point2f, fw float64) gocv.Mat {
	m := gocv.NewMatWithSize(rows, cols, gocv.MatTypeCV8UC1)
	defer m.Close()
	m.SetTo(gocv.NewScalar(0, 0, 0, 0))
	// Jaw line plus the brows lifted to the forehead.
	lift := float32(0.18 * fw)
	var outline []image.Point
	for i := 0; i <= 16; i++ {
		outline = append(outline, image.Pt(int(lm[i].X), int(lm[i].Y)))
	}
	for i := 26; i >= 17; i-- {
		outline = append(outline, image.Pt(int(lm[i].X), int(lm[i].Y-lift)))
	}
	poly := func(idx []int) []image.Point {
		var p []image.Point
		for _, i := range idx {
			p = append(p, image.Pt(int(lm[i].X), int(lm[i].Y)))
		}
		return p
	}
	pv := gocv.NewPointsVectorFromPoints([][]image.Point{outline})
	gocv.FillPoly(&m, pv, color.RGBA{255, 255, 255, 0})
	pv.Close()
	holes := gocv.NewPointsVectorFromPoints([][]image.Point{
		poly([]int{36, 37, 38, 39, 40, 41}), poly([]int{42, 43, 44, 45, 46, 47}),
		poly([]int{48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59}),
		poly([]int{17, 18, 19, 20, 21}), poly([]int{22, 23, 24, 25, 26})})
	gocv.FillPoly(&m, holes, color.RGBA{0, 0, 0, 0})
	// Eyes, brows and lips lose a margin too, then everything is feathered.
	for i := 0; i < holes.Size(); i++ {
		gocv.Polylines(&m, holes, true, color.RGBA{0, 0, 0, 0}, max(2, int(fw/40)))
	}
	holes.Close()
	out := gocv.NewMat()
	m.ConvertToWithParams(&out, gocv.MatTypeCV32FC1, 1.0/255, 0)
	sig := math.Max(1, fw/40)
	gocv.GaussianBlur(out, &out, image.Pt(0, 0), sig, sig, gocv.BorderConstant)
	return out
}

// skin smooths and lightens the skin inside the mask.
func (b *beauty) skin(reg *gocv.Mat, lm []gocv.Point2f, fw float64) {
	mask := skinMask(reg.Rows(), reg.Cols(), lm, fw)
	defer mask.Close()
	src := reg.Clone()
	defer src.Close()
	sm := src.Clone()
	defer sm.Close()
	if b.o.Smooth > 0 {
		d := max(5, int(fw/12)|1)
		gocv.BilateralFilter(src, &sm, d, 25+35*b.o.Smooth, float64(d)/2)
	}
	mp, _ := mask.DataPtrFloat32()
	sp, _ := src.DataPtrUint8()
	bp, _ := sm.DataPtrUint8()
	out := gocv.NewMatWithSize(reg.Rows(), reg.Cols(), gocv.MatTypeCV8UC3)
	defer out.Close()
	op, _ := out.DataPtrUint8()
	for i, m := range mp {
		ws, ww := float64(m)*b.o.Smooth, float64(m)*b.o.Whiten*0.35
		for c := 0; c < 3; c++ {
			v := float64(sp[i*3+c])*(1-ws) + float64(bp[i*3+c])*ws
			v += (255 - v) * ww
			op[i*3+c] = clamp255(v)
		}
	}
	out.CopyTo(reg)
}

// warp slims the jaw and enlarges the eyes with inverse maps: for every
// output pixel, where in the input it comes from. Each warp fades to zero
// at its radius, so the region's edge is untouched.
func (b *beauty) warp(reg *gocv.Mat, lm []gocv.Point2f, fw float64) {
	rows, cols := reg.Rows(), reg.Cols()
	mx := gocv.NewMatWithSize(rows, cols, gocv.MatTypeCV32FC1)
	defer mx.Close()
	my := gocv.NewMatWithSize(rows, cols, gocv.MatTypeCV32FC1)
	defer my.Close()
	xp, _ := mx.DataPtrFloat32()
	yp, _ := my.DataPtrFloat32()
	type push struct{ cx, cy, dx, dy, r float64 }
	var pushes []push
	if b.o.Slim > 0 {
		// One push per cheek, from the lower jaw (landmarks 4 and 12)
		// towards the nose tip. The pushes do not overlap, and the shift
		// stays under a third of the radius so the map never folds over.
		nose := lm[30]
		r := 0.35 * fw
		for _, i := range []int{4, 12} {
			p := lm[i]
			dx, dy := float64(nose.X-p.X), float64(nose.Y-p.Y)
			n := math.Hypot(dx, dy)
			if n == 0 {
				continue
			}
			k := b.o.Slim * 0.07 * fw / n
			pushes = append(pushes, push{float64(p.X), float64(p.Y), dx * k, dy * k, r})
		}
	}
	type eye struct{ cx, cy, r float64 }
	var eyes []eye
	if b.o.Eyes > 0 {
		for _, idx := range [][2]int{{36, 39}, {42, 45}} {
			l, r := lm[idx[0]], lm[idx[1]]
			w := math.Hypot(float64(r.X-l.X), float64(r.Y-l.Y))
			eyes = append(eyes, eye{float64(l.X+r.X) / 2, float64(l.Y+r.Y) / 2, 1.3 * w})
		}
	}
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			sx, sy := float64(x), float64(y)
			for _, p := range pushes {
				d2 := (sx-p.cx)*(sx-p.cx) + (sy-p.cy)*(sy-p.cy)
				if r2 := p.r * p.r; d2 < r2 {
					m2 := p.dx*p.dx + p.dy*p.dy
					k := (r2 - d2) / (r2 - d2 + m2)
					k *= k
					sx -= k * p.dx
					sy -= k * p.dy
				}
			}
			for _, e := range eyes {
				dx, dy := sx-e.cx, sy-e.cy
				d2 := dx*dx + dy*dy
				if r2 := e.r * e.r; d2 < r2 {
					s := 1 - 0.25*b.o.Eyes*(1-d2/r2)
					sx, sy = e.cx+dx*s, e.cy+dy*s
				}
			}
			xp[y*cols+x], yp[y*cols+x] = float32(sx), float32(sy)
		}
	}
	src := reg.Clone()
	defer src.Close()
	gocv.Remap(src, reg, &mx, &my, gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
}
