// Package testclip builds test videos with known truth from real photographs
// shipped in Debian packages (opencv-doc's messi5.jpg, python3-skimage's
// astronaut.png): a head is cut out of a photograph and animated on a plain
// background following a script (leaves, returns, a second person enters,
// half the face is covered, the light dims). Nothing is stored in git; clips
// are made at test time. Used by tests, benchmarks and `witness analyze`'s
// tests.
package testclip

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // photographs
	_ "image/png"
	"math"
	"os"
	"time"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/pipeline"
)

// Photographs used (Debian packages opencv-doc and python3-skimage).
const (
	AstronautPhoto = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
	MessiPhoto     = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"
)

// ErrNoPhotos means the Debian packages with the photographs are missing.
var ErrNoPhotos = errors.New("testclip: photographs missing (apt-get install opencv-doc python3-skimage)")

// Head crops around the faces in the photographs (pixels of the originals).
var (
	astronautHead = image.Rect(130, 0, 330, 230)
	messiHead     = image.Rect(190, 50, 280, 140)
)

// Photos holds the head cut-outs in RGB.
type Photos struct {
	Astronaut       gocv.Mat // the customer
	AstronautClosed gocv.Mat // the customer with her eyes closed (painted, see closeEyes)
	Messi           gocv.Mat // the second person
}

// LoadPhotos reads and crops the photographs.
func LoadPhotos() (*Photos, error) {
	// Go's decoders, not OpenCV's: libpng warns on stderr about
	// astronaut.png's colour profile, which would garble benchmark output.
	load := func(path string, r image.Rectangle) (gocv.Mat, error) {
		fh, err := os.Open(path)
		if err != nil {
			return gocv.Mat{}, fmt.Errorf("%w: %v", ErrNoPhotos, err)
		}
		defer fh.Close()
		img, _, err := image.Decode(fh)
		if err != nil {
			return gocv.Mat{}, fmt.Errorf("%w: cannot decode %s: %v", ErrNoPhotos, path, err)
		}
		sub, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if !ok {
			return gocv.Mat{}, fmt.Errorf("%w: %s: cannot crop", ErrNoPhotos, path)
		}
		c := sub.SubImage(r.Add(img.Bounds().Min))
		b := c.Bounds()
		buf := make([]byte, 0, b.Dx()*b.Dy()*3)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				cr, cg, cb, _ := c.At(x, y).RGBA()
				buf = append(buf, uint8(cr>>8), uint8(cg>>8), uint8(cb>>8))
			}
		}
		return gocv.NewMatFromBytes(b.Dy(), b.Dx(), gocv.MatTypeCV8UC3, buf)
	}
	a, err := load(AstronautPhoto, astronautHead)
	if err != nil {
		return nil, err
	}
	m, err := load(MessiPhoto, messiHead)
	if err != nil {
		a.Close()
		return nil, err
	}
	return &Photos{Astronaut: a, AstronautClosed: closeEyes(a), Messi: m}, nil
}

// closeEyes paints the astronaut's eyes shut: each eye (boxes from the
// 68-landmark model on the head crop) is covered with the skin just below
// it and crossed by a dark lash line. The eye-state model reads it as
// closed (p = 1.0; open eyes read 0.0).
func closeEyes(head gocv.Mat) gocv.Mat {
	m := head.Clone()
	for _, e := range []struct {
		box           image.Rectangle
		skin          image.Point
		y, xmin, xmax int
	}{
		{image.Rect(61, 91, 87, 109), image.Pt(74, 118), 100, 66, 83},
		{image.Rect(103, 93, 129, 111), image.Pt(116, 120), 102, 108, 125},
	} {
		v := m.GetVecbAt(e.skin.Y, e.skin.X) // RGB
		// gocv takes colours as BGR: R goes in the B field for an RGB Mat.
		gocv.Rectangle(&m, e.box, color.RGBA{v[2], v[1], v[0], 255}, -1)
		gocv.Line(&m, image.Pt(e.xmin, e.y), image.Pt(e.xmax, e.y+1), color.RGBA{30, 30, 40, 255}, 2)
	}
	return m
}

// Close frees the pictures.
func (p *Photos) Close() {
	p.Astronaut.Close()
	p.AstronautClosed.Close()
	p.Messi.Close()
}

// Layer places one picture on the canvas at a moment.
type Layer struct {
	Pic   *gocv.Mat
	Box   image.Rectangle // where on the canvas (scaled to fit)
	Cover float64         // fraction of the bottom of the box covered by a mask (0 none)
	Gain  float64         // brightness of this layer alone (0 means 1): a backlit face
	// PulseAmp modulates the layer's green channel by 1 + PulseAmp*sin(2π
	// PulseBPM/60 t): an injected "heartbeat" to check the pulse estimator.
	PulseAmp, PulseBPM float64
}

// Script says what is on screen at time t.
type Script func(t time.Duration) (layers []Layer, light float64)

// Clip renders a script.
type Clip struct {
	W, H     int
	FPS      int
	Duration time.Duration
	Script   Script
	Truth    []Truth
	Wall     uint8 // flat background level; 0 keeps the default soft gradient
	bg       *gocv.Mat
}

// Truth is an expected event: Kind starts at At (and, for ranges, ends at End).
type Truth struct {
	Kind string
	At   time.Duration
	End  time.Duration
}

// Bounds is the picture rectangle.
func (c *Clip) Bounds() image.Rectangle { return image.Rect(0, 0, c.W, c.H) }

// Frames returns the number of frames.
func (c *Clip) Frames() int { return int(c.Duration * time.Duration(c.FPS) / time.Second) }

// Frame renders frame i as an RGB VideoFrame.
func (c *Clip) Frame(i int) *pipeline.VideoFrame {
	t := time.Duration(i) * time.Second / time.Duration(c.FPS)
	m := c.Render(t)
	defer m.Close()
	b := m.ToBytes()
	return &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: c.W, Height: c.H, Stride: [3]int{c.W * 3}, Data: b, PTS: t, Duration: time.Second / time.Duration(c.FPS)}
}

// Render draws the picture at time t (RGB Mat; the caller closes it).
func (c *Clip) Render(t time.Duration) gocv.Mat {
	if c.bg == nil {
		bg := background(c.W, c.H, c.Wall)
		c.bg = &bg
	}
	out := c.bg.Clone()
	layers, light := c.Script(t)
	for _, l := range layers {
		box := l.Box.Intersect(image.Rect(0, 0, c.W, c.H))
		if box.Empty() {
			continue
		}
		scaled := gocv.NewMat()
		gocv.Resize(*l.Pic, &scaled, l.Box.Size(), 0, 0, gocv.InterpolationArea)
		if l.Gain > 0 && l.Gain != 1 {
			scaled.MultiplyFloat(float32(l.Gain))
		}
		if l.PulseAmp != 0 {
			g := 1 + l.PulseAmp*math.Sin(2*math.Pi*l.PulseBPM/60*t.Seconds())
			px, _ := scaled.DataPtrUint8()
			for i := 1; i < len(px); i += 3 {
				px[i] = uint8(min(255, float64(px[i])*g+0.5))
			}
		}
		src := scaled.Region(box.Sub(l.Box.Min))
		dst := out.Region(box)
		src.CopyTo(&dst)
		src.Close()
		dst.Close()
		scaled.Close()
		if l.Cover > 0 {
			// A light-blue surgical-mask-like cover over the lower face.
			y0 := l.Box.Max.Y - int(float64(l.Box.Dy())*l.Cover)
			r := image.Rect(l.Box.Min.X+l.Box.Dx()/6, y0, l.Box.Max.X-l.Box.Dx()/6, l.Box.Max.Y).Intersect(box)
			// gocv takes colours as BGR; the Mat is RGB: this is RGB (150,190,215).
			gocv.Rectangle(&out, r, rgba(215, 190, 150), -1)
		}
	}
	if light != 1 && light > 0 {
		out.MultiplyFloat(float32(light))
	}
	return out
}

func rgba(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }

// background is a soft vertical gradient, like an office wall.
func background(w, h int, flat uint8) gocv.Mat {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	b, _ := m.DataPtrUint8()
	for y := 0; y < h; y++ {
		v := 150 + 40*float64(y)/float64(h)
		if flat > 0 {
			v = float64(flat)
		}
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			b[i], b[i+1], b[i+2] = uint8(v), uint8(v*0.95), uint8(v*0.85)
		}
	}
	return m
}

// Close frees the clip's background.
func (c *Clip) Close() {
	if c.bg != nil {
		c.bg.Close()
		c.bg = nil
	}
}

// headBox is the customer's head box: centred, about 70% of the frame
// height, with a small sway so frames are not identical.
func headBox(w, h int, t time.Duration, scale float64) image.Rectangle {
	hh := int(float64(h) * 0.72 * scale)
	hw := hh * 200 / 230
	s := t.Seconds()
	dx := int(4 * math.Sin(2*math.Pi*0.3*s))
	dy := int(3 * math.Sin(2*math.Pi*0.23*s+1))
	x0 := (w-hw)/2 + dx
	y0 := (h-hh)/2 + dy
	return image.Rect(x0, y0, x0+hw, y0+hh)
}

// Scenario times of the KYC clip.
const (
	LeaveAt  = 4 * time.Second
	ReturnAt = 7 * time.Second
	SecondAt = 10 * time.Second
	SecondTo = 13 * time.Second
	CoverAt  = 16 * time.Second
	CoverTo  = 19 * time.Second
	DimAt    = 22 * time.Second
	DimTo    = 25 * time.Second
	KYCEnd   = 28 * time.Second
)

// KYC is the scripted remote-identification clip: the customer (astronaut
// photo) is centred; leaves at 4 s and returns at 7 s; a second person
// (messi5 photo) is in the frame 10-13 s; the lower half of the customer's
// face is covered 16-19 s; the light dims to a quarter 22-25 s.
func KYC(p *Photos, w, h, fps int) *Clip {
	c := &Clip{W: w, H: h, FPS: fps, Duration: KYCEnd}
	c.Script = func(t time.Duration) ([]Layer, float64) {
		var ls []Layer
		if t < LeaveAt || t >= ReturnAt {
			l := Layer{Pic: &p.Astronaut, Box: headBox(w, h, t, 1)}
			if t >= CoverAt && t < CoverTo {
				l.Cover = 0.45
			}
			ls = append(ls, l)
		}
		if t >= SecondAt && t < SecondTo {
			sh := h * 40 / 100
			ls = append(ls, Layer{Pic: &p.Messi, Box: image.Rect(w-sh-w/40, h/8, w-w/40, h/8+sh)})
		}
		light := 1.0
		if t >= DimAt && t < DimTo {
			light = 0.22
		}
		return ls, light
	}
	c.Truth = []Truth{
		{Kind: "face.missing", At: LeaveAt, End: ReturnAt},
		{Kind: "face.multiple", At: SecondAt, End: SecondTo},
		{Kind: "occlusion.lower", At: CoverAt, End: CoverTo},
		{Kind: "light.dark", At: DimAt, End: DimTo},
	}
	return c
}

// Pulsed is the customer's photograph with an injected heartbeat (green
// modulated by amp at bpm), otherwise as Still: it checks that the pulse
// estimator finds a pulse when there is one. It is not a live person.
func Pulsed(p *Photos, w, h, fps int, d time.Duration, amp, bpm float64) *Clip {
	c := Still(p, w, h, fps, d)
	still := c.Script
	c.Script = func(t time.Duration) ([]Layer, float64) {
		ls, light := still(t)
		for i := range ls {
			ls[i].PulseAmp, ls[i].PulseBPM = amp, bpm
		}
		return ls, light
	}
	return c
}

// Blinking is Still with the eyes shut for 400 ms every 2.5 s (the
// painted closed-eye photograph swapped in): it checks the blink path of
// the liveness analyzer. It is not a live person either.
func Blinking(p *Photos, w, h, fps int, d time.Duration) *Clip {
	c := Still(p, w, h, fps, d)
	still := c.Script
	c.Script = func(t time.Duration) ([]Layer, float64) {
		ls, light := still(t)
		if t%(2500*time.Millisecond) >= 1000*time.Millisecond && t%(2500*time.Millisecond) < 1400*time.Millisecond {
			for i := range ls {
				ls[i].Pic = &p.AstronautClosed
			}
		}
		return ls, light
	}
	return c
}

// Still is a liveness attack clip: the customer's photograph held to the
// camera, moved by slow pans and zooms (rigid motion, no blinks, no pulse).
func Still(p *Photos, w, h, fps int, d time.Duration) *Clip {
	c := &Clip{W: w, H: h, FPS: fps, Duration: d}
	c.Script = func(t time.Duration) ([]Layer, float64) {
		s := t.Seconds()
		zoom := 1 + 0.12*math.Sin(2*math.Pi*s/5)
		b := headBox(w, h, 0, zoom)
		off := image.Pt(int(30*math.Sin(2*math.Pi*s/7)), int(12*math.Sin(2*math.Pi*s/4)))
		return []Layer{{Pic: &p.Astronaut, Box: b.Add(off)}}, 1
	}
	return c
}
