package video

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/pipeline"
)

// Backgrounds for the segmentation composites: photographs shipped by
// Debian's opencv-doc and python3-skimage.
var backgrounds = []string{
	"/usr/share/doc/opencv-doc/examples/data/building.jpg",
	"/usr/share/doc/opencv-doc/examples/data/home.jpg",
	"/usr/share/doc/opencv-doc/examples/data/fruits.jpg",
	"/usr/share/doc/opencv-doc/examples/data/starry_night.jpg",
	"/usr/share/doc/opencv-doc/examples/data/leuvenA.jpg",
	"/usr/share/doc/opencv-doc/examples/data/aero1.jpg",
	"/usr/lib/python3/dist-packages/skimage/data/coffee.png",
	"/usr/lib/python3/dist-packages/skimage/data/brick.png",
}

// scene renders a person on a photograph with the exact person mask. The
// person is the astronaut's head and hair cut out of her photograph with an
// ellipse (the pasted pixels are the truth, so a little of her studio wall
// beside the hair counts as person) on a drawn neck and suited shoulders
// with cloth texture. The person sways left and right with time.
type scene struct {
	w, h  int
	head  gocv.Mat // RGB head crop, 200x230
	bg    gocv.Mat // RGB background at w x h
	cloth []byte   // per-pixel texture offsets
}

func newScene(t testing.TB, bgPath string, w, h int) *scene {
	t.Helper()
	if _, err := os.Stat(bgPath); err != nil {
		t.Skip(err)
	}
	p, err := testclip.LoadPhotos()
	if err != nil {
		t.Skip(err)
	}
	s := &scene{w: w, h: h, head: p.Astronaut.Clone()}
	p.Close()
	bgr := gocv.IMRead(bgPath, gocv.IMReadColor)
	rgb := gocv.NewMat()
	gocv.CvtColor(bgr, &rgb, gocv.ColorBGRToRGB)
	bgr.Close()
	s.bg = coverResize(rgb, w, h)
	rgb.Close()
	r := rand.New(rand.NewPCG(3, 4))
	s.cloth = make([]byte, w*h)
	for i := range s.cloth {
		s.cloth[i] = byte(r.IntN(24))
	}
	t.Cleanup(func() { s.head.Close(); s.bg.Close() })
	return s
}

// frame renders frame i (10 fps) and its truth mask (1 = person).
func (s *scene) frame(i int) (*pipeline.VideoFrame, []bool) {
	out := s.bg.Clone()
	defer out.Close()
	mask := gocv.NewMatWithSize(s.h, s.w, gocv.MatTypeCV8UC1)
	defer mask.Close()
	mask.SetTo(gocv.NewScalar(0, 0, 0, 0))
	sc := float64(s.h) * 0.5 / 184 // head ellipse ~ half the picture high
	cx := float64(s.w)/2 + 0.08*float64(s.w)*math.Sin(2*math.Pi*float64(i)/40)
	top := 0.08 * float64(s.h)
	// Torso and neck first (drawn shapes), then the head over them.
	hx := func(x float64) int { return int(cx + x*sc) }
	hy := func(y float64) int { return int(top + y*sc) }
	torso := [][]image.Point{{
		image.Pt(hx(-28), hy(165)), image.Pt(hx(28), hy(165)), image.Pt(hx(40), hy(215)),
		image.Pt(hx(170), hy(250)), image.Pt(hx(195), hy(420)), image.Pt(hx(-195), hy(420)),
		image.Pt(hx(-170), hy(250)), image.Pt(hx(-40), hy(215)),
	}}
	pv := gocv.NewPointsVectorFromPoints(torso)
	gocv.FillPoly(&mask, pv, color.RGBA{255, 255, 255, 0})
	// Suit: dark blue; neck: skin.
	suit := gocv.NewMatWithSize(s.h, s.w, gocv.MatTypeCV8UC1)
	suit.SetTo(gocv.NewScalar(0, 0, 0, 0))
	gocv.FillPoly(&suit, pv, color.RGBA{1, 1, 1, 0})
	pv.Close()
	gocv.Rectangle(&suit, image.Rect(hx(-28), hy(150), hx(28), hy(215)), color.RGBA{2, 2, 2, 0}, -1)
	gocv.Rectangle(&mask, image.Rect(hx(-28), hy(150), hx(28), hy(215)), color.RGBA{255, 255, 255, 0}, -1)
	op, _ := out.DataPtrUint8()
	sp, _ := suit.DataPtrUint8()
	for k, v := range sp {
		switch v {
		case 1:
			c := s.cloth[k]
			op[3*k], op[3*k+1], op[3*k+2] = 30+c, 38+c, 70+c
		case 2:
			op[3*k], op[3*k+1], op[3*k+2] = 200, 150, 125
		}
	}
	suit.Close()
	// Head: the photo crop scaled, pasted through its ellipse.
	hw, hh := int(200*sc), int(230*sc)
	head := gocv.NewMat()
	gocv.Resize(s.head, &head, image.Pt(hw, hh), 0, 0, gocv.InterpolationArea)
	hp, _ := head.DataPtrUint8()
	x0, y0 := int(cx-97*sc), int(top)
	ecx, ecy, ea, eb := 97*sc, 100*sc, 75*sc, 92*sc
	mp, _ := mask.DataPtrUint8()
	for y := 0; y < hh; y++ {
		for x := 0; x < hw; x++ {
			dx, dy := (float64(x)-ecx)/ea, (float64(y)-ecy)/eb
			X, Y := x0+x, y0+y
			if dx*dx+dy*dy > 1 || X < 0 || Y < 0 || X >= s.w || Y >= s.h {
				continue
			}
			copy(op[3*(Y*s.w+X):][:3], hp[3*(y*hw+x):][:3])
			mp[Y*s.w+X] = 255
		}
	}
	head.Close()
	truth := make([]bool, s.w*s.h)
	for k, v := range mp {
		truth[k] = v > 0
	}
	f := &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: s.w, Height: s.h, Stride: [3]int{3 * s.w},
		Data: out.ToBytes(), PTS: time31(i)}
	return f, truth
}

func time31(i int) time.Duration { return time.Duration(i) * 100 * time.Millisecond }
