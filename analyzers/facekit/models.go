package facekit

import (
	"fmt"
	"image"
	"math"
	"sort"
	"sync"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/models"
)

// Face is one detected face in frame pixels.
type Face struct {
	Box   image.Rectangle `json:"box"`
	Score float32         `json:"score"`
	// Landmarks are the 68 points (iBUG order) in frame pixels; empty until
	// requested through Analysis.Landmarks.
	Landmarks []gocv.Point2f `json:"-"`
}

// Area is the box area in pixels.
func (f Face) Area() int { return f.Box.Dx() * f.Box.Dy() }

// The models are opened once per process; models.Session.Run is safe for
// concurrent use.
var (
	modelMu   sync.Mutex
	modelOpen = map[string]*models.Session{}
)

func model(name string) (*models.Session, error) {
	modelMu.Lock()
	defer modelMu.Unlock()
	if s, ok := modelOpen[name]; ok {
		return s, nil
	}
	s, err := models.Open(name)
	if err != nil {
		return nil, err
	}
	modelOpen[name] = s
	return s, nil
}

// Available reports whether the face models can be loaded (runtime and
// files pulled); analyzers check it at construction to fail early.
func Available() error {
	for _, n := range []string{"ultraface-rfb320", "face-landmark-68", "eye-state", "face-embedding"} {
		if _, err := model(n); err != nil {
			return err
		}
	}
	return nil
}

const detW, detH = 320, 240

// detect runs UltraFace on an RGB picture and returns faces above minScore
// after non-maximum suppression, in the picture's pixels.
func detect(rgb gocv.Mat, minScore float32) ([]Face, error) {
	s, err := model("ultraface-rfb320")
	if err != nil {
		return nil, err
	}
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(rgb, &small, image.Pt(detW, detH), 0, 0, gocv.InterpolationLinear)
	px, err := small.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	in := make([]float32, 3*detW*detH)
	const plane = detW * detH
	for i := 0; i < plane; i++ {
		in[i] = (float32(px[i*3]) - 127) / 128
		in[plane+i] = (float32(px[i*3+1]) - 127) / 128
		in[2*plane+i] = (float32(px[i*3+2]) - 127) / 128
	}
	out, err := s.Run([]models.Tensor{models.Float32Tensor(in, 1, 3, detH, detW)})
	if err != nil {
		return nil, fmt.Errorf("face detection: %w", err)
	}
	scores, boxes := out[0].Float32, out[1].Float32
	w, h := float32(rgb.Cols()), float32(rgb.Rows())
	var cand []Face
	for i := 0; i < len(scores)/2; i++ {
		sc := scores[i*2+1]
		if sc < minScore {
			continue
		}
		b := boxes[i*4 : i*4+4]
		r := image.Rect(int(b[0]*w), int(b[1]*h), int(b[2]*w), int(b[3]*h))
		r = clampRect(r, rgb.Cols(), rgb.Rows())
		// Faces are about as wide as tall; UltraFace's rare false boxes on
		// hair or shoulders are flat strips.
		if r.Dx() < 4 || r.Dy() < 4 || 10*r.Dx() > 16*r.Dy() || 10*r.Dy() > 22*r.Dx() {
			continue
		}
		cand = append(cand, Face{Box: r, Score: sc})
	}
	return nms(cand, 0.4), nil
}

// nms keeps the best-scoring box of every overlapping group. A box that
// lies mostly inside a better one is dropped too, whatever their IoU: a
// face drawn on top of another cannot be a second visible person. (The
// face.multiple false alarm at call starts turned out to be a box above
// the face, not inside it; face's second_face_score handles that one.)
func nms(c []Face, iouMax float64) []Face {
	sort.Slice(c, func(i, j int) bool { return c[i].Score > c[j].Score })
	var keep []Face
	for _, f := range c {
		ok := true
		for _, k := range keep {
			if IoU(f.Box, k.Box) > iouMax || containedIn(f.Box, k.Box) > 0.7 {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, f)
		}
	}
	return keep
}

// containedIn is the share of a's area that lies inside b.
func containedIn(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() || a.Empty() {
		return 0
	}
	return float64(in.Dx()*in.Dy()) / float64(a.Dx()*a.Dy())
}

// IoU is the intersection over union of two boxes.
func IoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ia)
}

// squareAround returns a square box of side scale*max(w,h) centred on r.
func squareAround(r image.Rectangle, scale float64) image.Rectangle {
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	side := scale * math.Max(float64(r.Dx()), float64(r.Dy()))
	return image.Rect(int(cx-side/2), int(cy-side/2), int(cx+side/2), int(cy+side/2))
}

// crop returns the part of m inside r, padding with black where r leaves the
// picture, so that landmark geometry stays right near the edges.
func crop(m gocv.Mat, r image.Rectangle) gocv.Mat {
	in := clampRect(r, m.Cols(), m.Rows())
	out := gocv.NewMatWithSize(r.Dy(), r.Dx(), m.Type())
	out.SetTo(gocv.NewScalar(0, 0, 0, 0))
	if in.Empty() {
		return out
	}
	src := m.Region(in)
	defer src.Close()
	dst := out.Region(in.Sub(r.Min))
	defer dst.Close()
	src.CopyTo(&dst)
	return out
}

// landmarks68 runs the 68-point regressor on a face box of a grey picture.
func landmarks68(gray gocv.Mat, box image.Rectangle) ([]gocv.Point2f, error) {
	s, err := model("face-landmark-68")
	if err != nil {
		return nil, err
	}
	sq := squareAround(box, 1.0)
	c := crop(gray, sq)
	defer c.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(c, &small, image.Pt(64, 64), 0, 0, gocv.InterpolationLinear)
	px, err := small.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	in := make([]float32, 64*64)
	for i, v := range px {
		in[i] = float32(v) / 256
	}
	out, err := s.Run([]models.Tensor{models.Float32Tensor(in, 1, 1, 64, 64)})
	if err != nil {
		return nil, fmt.Errorf("face landmarks: %w", err)
	}
	p := out[0].Float32
	pts := make([]gocv.Point2f, 68)
	w, h := float32(sq.Dx()), float32(sq.Dy())
	for i := range pts {
		pts[i] = gocv.Point2f{X: float32(sq.Min.X) + p[2*i]*w, Y: float32(sq.Min.Y) + p[2*i+1]*h}
	}
	return pts, nil
}

// eyeClosedProb returns the probability that the eye outlined by pts
// (six landmarks) is closed, from the eye-state model.
func eyeClosedProb(gray gocv.Mat, pts []gocv.Point2f) (float64, error) {
	s, err := model("eye-state")
	if err != nil {
		return 0, err
	}
	var cx, cy float32
	minX, maxX := pts[0].X, pts[0].X
	for _, p := range pts {
		cx += p.X / float32(len(pts))
		cy += p.Y / float32(len(pts))
		minX, maxX = min(minX, p.X), max(maxX, p.X)
	}
	side := float64(maxX-minX) * 1.6
	if side < 4 {
		side = 4
	}
	r := image.Rect(int(float64(cx)-side/2), int(float64(cy)-side/2), int(float64(cx)+side/2), int(float64(cy)+side/2))
	c := crop(gray, r)
	defer c.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(c, &small, image.Pt(24, 24), 0, 0, gocv.InterpolationLinear)
	px, err := small.DataPtrUint8()
	if err != nil {
		return 0, err
	}
	in := make([]float32, 24*24)
	for i, v := range px {
		in[i] = float32(v) / 255
	}
	out, err := s.Run([]models.Tensor{models.Float32Tensor(in, 1, 1, 24, 24)})
	if err != nil {
		return 0, fmt.Errorf("eye state: %w", err)
	}
	l := out[0].Float32
	// Class 0 is the package's "closed" class (see the manifest).
	m := math.Max(float64(l[0]), float64(l[1]))
	e0, e1 := math.Exp(float64(l[0])-m), math.Exp(float64(l[1])-m)
	return e0 / (e0 + e1), nil
}

// ArcFace reference points in a 112x112 crop: left eye, right eye, nose tip.
var arcRef = []gocv.Point2f{{X: 38.29, Y: 51.70}, {X: 73.53, Y: 51.50}, {X: 56.03, Y: 71.74}}

// embedding aligns the face with its eye centres and nose tip and returns
// the L2-normalised 512-d embedding.
func embedding(rgb gocv.Mat, lm []gocv.Point2f) ([]float32, error) {
	s, err := model("face-embedding")
	if err != nil {
		return nil, err
	}
	le, re := centre(lm[36:42]), centre(lm[42:48])
	src := gocv.NewPoint2fVectorFromPoints([]gocv.Point2f{le, re, lm[30]})
	defer src.Close()
	dst := gocv.NewPoint2fVectorFromPoints(arcRef)
	defer dst.Close()
	m := gocv.GetAffineTransform2f(src, dst)
	defer m.Close()
	al := gocv.NewMat()
	defer al.Close()
	gocv.WarpAffine(rgb, &al, m, image.Pt(112, 112))
	px, err := al.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	const plane = 112 * 112
	in := make([]float32, 3*plane)
	for i := 0; i < plane; i++ {
		in[i] = (float32(px[i*3]) - 127) / 128
		in[plane+i] = (float32(px[i*3+1]) - 127) / 128
		in[2*plane+i] = (float32(px[i*3+2]) - 127) / 128
	}
	out, err := s.Run([]models.Tensor{models.Float32Tensor(in, 1, 3, 112, 112)})
	if err != nil {
		return nil, fmt.Errorf("face embedding: %w", err)
	}
	e := append([]float32(nil), out[0].Float32...)
	var n float64
	for _, v := range e {
		n += float64(v) * float64(v)
	}
	n = math.Sqrt(n)
	if n > 0 {
		for i := range e {
			e[i] = float32(float64(e[i]) / n)
		}
	}
	return e, nil
}

func centre(pts []gocv.Point2f) gocv.Point2f {
	var c gocv.Point2f
	for _, p := range pts {
		c.X += p.X / float32(len(pts))
		c.Y += p.Y / float32(len(pts))
	}
	return c
}

// Cosine is the cosine similarity of two embeddings.
func Cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return d / math.Sqrt(na*nb)
}
