package video

import (
	"bytes"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/enhance"
	"github.com/witness-media/witness/pipeline"
)

// portrait renders the astronaut's head centred on an office-wall
// background at w x h (RGB).
func portrait(t testing.TB, w, h int) *pipeline.VideoFrame {
	t.Helper()
	p, err := testclip.LoadPhotos()
	if err != nil {
		t.Skip(err)
	}
	defer p.Close()
	c := testclip.Still(p, w, h, 25, 1e9)
	defer c.Close()
	return c.Frame(0)
}

func faceBox(t testing.TB, f *pipeline.VideoFrame) image.Rectangle {
	t.Helper()
	tr, err := facekit.NewTracker(facekit.Options{})
	if err != nil {
		t.Skip(err)
	}
	defer tr.Release()
	a, err := tr.Analyze(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Faces) == 0 {
		t.Fatal("no face in the test portrait")
	}
	return a.Faces[0].Box
}

func mustStage(t testing.TB, name string, p pipeline.Params) *Stage {
	t.Helper()
	s, err := pipeline.NewStage(name, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(*Stage).Close() })
	return s.(*Stage)
}

func apply(t testing.TB, s *Stage, f *pipeline.VideoFrame) *pipeline.VideoFrame {
	t.Helper()
	orig := append([]byte(nil), f.Data...)
	out, err := s.Apply(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(orig, f.Data) {
		t.Fatalf("%s modified its input frame", s.name)
	}
	return out
}

// TestIdentityAtZero: every stage with zero strengths passes frames
// untouched and is left out of the recording's report.
func TestIdentityAtZero(t *testing.T) {
	f := portrait(t, 320, 240)
	var stages []pipeline.Stage
	for _, n := range []string{"adjust", "lowlight", "video_denoise", "sharpen", "beauty", "background"} {
		s := mustStage(t, n, nil)
		out := apply(t, s, f)
		if !bytes.Equal(out.Data, f.Data) {
			t.Errorf("%s at zero changed the picture", n)
		}
		stages = append(stages, s)
	}
	if r := enhance.Report(stages...); len(r) != 0 {
		t.Fatalf("report of identity stages: %+v", r)
	}
	on := mustStage(t, "sharpen", pipeline.Params{"amount": 0.5})
	r := enhance.Report(append(stages, on)...)
	if len(r) != 1 || r[0].Stage != "sharpen" || r[0].Settings["amount"] != 0.5 {
		t.Fatalf("report: %+v", r)
	}
}

// TestBeautyOnlyTouchesFace: each face effect changes pixels inside the
// face region and none outside it, in RGB and I420.
func TestBeautyOnlyTouchesFace(t *testing.T) {
	f := portrait(t, 320, 240)
	box := faceBox(t, f)
	region := FaceRegion(box, f.Width, f.Height)
	for _, p := range []pipeline.Params{{"smooth": 1.0}, {"whiten": 1.0}, {"slim": 1.0}, {"eyes": 1.0}} {
		s := mustStage(t, "beauty", p)
		out := apply(t, s, f)
		in, outside := 0, 0
		for y := 0; y < f.Height; y++ {
			for x := 0; x < f.Width; x++ {
				i := y*f.Stride[0] + x*3
				if !bytes.Equal(out.Data[i:i+3], f.Data[i:i+3]) {
					if image.Pt(x, y).In(region) {
						in++
					} else {
						outside++
					}
				}
			}
		}
		t.Logf("%v: %d pixels changed in the face region, %d outside", p, in, outside)
		if outside != 0 {
			t.Errorf("%v changed %d pixels outside the face region", p, outside)
		}
		if in < box.Dx()*box.Dy()/20 {
			t.Errorf("%v changed only %d pixels of the face", p, in)
		}
	}
	// Two stages of one session share one tracker (one detection a frame).
	a := mustStage(t, "beauty", pipeline.Params{"smooth": 0.5, "session": "room1/customer"})
	b := mustStage(t, "background", pipeline.Params{"mode": "blur", "segment": map[string]any{"session": "room1/customer"}})
	if o1, o2 := apply(t, a, f), apply(t, b, f); bytes.Equal(o1.Data, f.Data) || bytes.Equal(o2.Data, f.Data) {
		t.Error("session-shared stages changed nothing")
	}
	// Whitening lightens skin: mean luma of the face box goes up.
	w := apply(t, mustStage(t, "beauty", pipeline.Params{"whiten": 1.0}), f)
	if a, b := w.RegionLuma(box.Min.X, box.Min.Y, box.Max.X, box.Max.Y, 1), f.RegionLuma(box.Min.X, box.Min.Y, box.Max.X, box.Max.Y, 1); a < b+5 {
		t.Errorf("whiten: face luma %.1f -> %.1f", b, a)
	}
	// I420: luma outside the (even-aligned) region is byte-identical.
	yuv := toI420(t, f)
	out := apply(t, mustStage(t, "beauty", pipeline.Params{"smooth": 1.0, "slim": 1.0}), yuv)
	r := image.Rect(region.Min.X&^1, region.Min.Y&^1, (region.Max.X+1)&^1, (region.Max.Y+1)&^1)
	changed := 0
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			if out.Data[y*f.Width+x] != yuv.Data[y*f.Width+x] {
				if !image.Pt(x, y).In(r) {
					t.Fatalf("I420: luma changed outside the face region at %d,%d", x, y)
				}
				changed++
			}
		}
	}
	if changed == 0 {
		t.Fatal("I420: nothing changed")
	}
}

func toI420(t testing.TB, f *pipeline.VideoFrame) *pipeline.VideoFrame {
	m, err := facekit.RGBMat(f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	y := gocv.NewMat()
	defer y.Close()
	gocv.CvtColor(m, &y, gocv.ColorRGBToYUVI420)
	w, h := f.Width, f.Height
	return &pipeline.VideoFrame{Format: pipeline.PixelI420, Width: w, Height: h, Stride: [3]int{w, w / 2, w / 2}, Data: y.ToBytes()}
}

func stats(f *pipeline.VideoFrame) (mean, std, chroma float64) {
	n := 0
	var s, s2 float64
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			r, g, b := f.RGBAt(x, y)
			l := 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
			s += l
			s2 += l * l
			chroma += math.Abs(float64(r)-l) + math.Abs(float64(b)-l)
			n++
		}
	}
	mean = s / float64(n)
	return mean, math.Sqrt(s2/float64(n) - mean*mean), chroma / float64(n)
}

// TestGlobalStages: each picture-wide stage moves the statistic it is for.
func TestGlobalStages(t *testing.T) {
	f := portrait(t, 320, 240)
	m0, s0, c0 := stats(f)
	if m, _, _ := stats(apply(t, mustStage(t, "adjust", pipeline.Params{"brightness": 0.2}), f)); m < m0+15 {
		t.Errorf("brightness: mean %.1f -> %.1f", m0, m)
	}
	if _, s, _ := stats(apply(t, mustStage(t, "adjust", pipeline.Params{"contrast": 0.5}), f)); s < s0*1.2 {
		t.Errorf("contrast: std %.1f -> %.1f", s0, s)
	}
	if _, _, c := stats(apply(t, mustStage(t, "adjust", pipeline.Params{"saturation": 0.5}), f)); c < c0*1.3 {
		t.Errorf("saturation: chroma %.1f -> %.1f", c0, c)
	}
	if _, _, c := stats(apply(t, mustStage(t, "adjust", pipeline.Params{"saturation": -1.0}), f)); c > 1.5 {
		t.Errorf("saturation -1: chroma %.1f, want grey", c)
	}
	// Low light: a picture at a quarter of the light is lifted towards
	// the target; a well-lit one is left alone.
	dark := *f
	dark.Data = append([]byte(nil), f.Data...)
	for i := range dark.Data {
		dark.Data[i] /= 4
	}
	md, _, _ := stats(&dark)
	ll := mustStage(t, "lowlight", pipeline.Params{"strength": 1.0})
	if m, _, _ := stats(apply(t, ll, &dark)); m < md+30 {
		t.Errorf("lowlight: mean %.1f -> %.1f", md, m)
	}
	bright := *f
	bright.Data = bytes.Repeat([]byte{200}, len(f.Data))
	if out := apply(t, ll, &bright); !bytes.Equal(out.Data, bright.Data) {
		t.Error("lowlight changed a bright picture")
	}
	// Denoise: a noisy copy moves closer to the clean picture.
	noisy := *f
	noisy.Data = append([]byte(nil), f.Data...)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noisy.Data {
		noisy.Data[i] = clamp255(float64(noisy.Data[i]) + 12*r.NormFloat64())
	}
	den := apply(t, mustStage(t, "video_denoise", pipeline.Params{"strength": 1.0}), &noisy)
	if a, b := mse(den, f), mse(&noisy, f); a > b*0.7 {
		t.Errorf("video_denoise: MSE to clean %.1f -> %.1f", b, a)
	}
	// Sharpen: more high-frequency energy.
	sh := apply(t, mustStage(t, "sharpen", pipeline.Params{"amount": 1.0}), f)
	if a, b := lapVar(sh), lapVar(f); a < b*1.5 {
		t.Errorf("sharpen: laplacian variance %.1f -> %.1f", b, a)
	}
	// A frame the stage cannot take passes unchanged and is reported.
	sh2 := mustStage(t, "sharpen", pipeline.Params{"amount": 1.0})
	gray := &pipeline.VideoFrame{Format: pipeline.PixelGray, Width: 4, Height: 4, Stride: [3]int{4}, Data: make([]byte, 16)}
	var got []pipeline.Packet
	if err := sh2.Process(t.Context(), pipeline.Packet{Video: gray}, func(p pipeline.Packet) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Video != gray || sh2.Err() == nil || sh2.Enhancement().Settings["failed_frames"] != 1 {
		t.Errorf("GRAY8 frame: %d out, err %v, report %+v", len(got), sh2.Err(), sh2.Enhancement())
	}
	// Bad params are errors naming the param.
	if _, err := pipeline.NewStage("adjust", pipeline.Params{"brightness": 3.0}); err == nil {
		t.Error("brightness 3 accepted")
	}
	if _, err := pipeline.NewStage("beauty", pipeline.Params{"smoth": 1.0}); err == nil {
		t.Error("unknown beauty param accepted")
	}
}

func mse(a, b *pipeline.VideoFrame) float64 {
	var s float64
	for i := range a.Data {
		d := float64(a.Data[i]) - float64(b.Data[i])
		s += d * d
	}
	return s / float64(len(a.Data))
}

func lapVar(f *pipeline.VideoFrame) float64 {
	var s, s2 float64
	n := 0
	w := f.Stride[0]
	for y := 1; y < f.Height-1; y++ {
		for x := 3; x < (f.Width-1)*3; x++ {
			v := 4*float64(f.Data[y*w+x]) - float64(f.Data[y*w+x-3]) - float64(f.Data[y*w+x+3]) - float64(f.Data[(y-1)*w+x]) - float64(f.Data[(y+1)*w+x])
			s += v
			s2 += v * v
			n++
		}
	}
	return s2/float64(n) - (s/float64(n))*(s/float64(n))
}
