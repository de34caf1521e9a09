package models

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// faceRegion is the face in facePhoto, labelled by hand (generous: hair to
// chin, ear to ear).
var faceRegion = image.Rect(212, 75, 268, 145)

// onFace reports whether b (in photo pixels) lies on faceRegion: centre
// inside, box within the region, and not a speck.
func onFace(b box) bool {
	cx, cy := b.center()
	r := faceRegion
	return image.Pt(int(cx), int(cy)).In(r) &&
		b.x1 >= float32(r.Min.X) && b.y1 >= float32(r.Min.Y) &&
		b.x2 <= float32(r.Max.X) && b.y2 <= float32(r.Max.Y) &&
		b.x2-b.x1 >= 15 && b.y2-b.y1 >= 15
}

func greyImage(w, h int) image.Image {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	return img
}

func TestInitRuntime(t *testing.T) {
	pulled(t)
	if err := InitRuntime(""); err != nil {
		t.Fatalf("second InitRuntime: %v", err)
	}
	if RuntimeLoaded() != mustPath(t, "onnxruntime") && os.Getenv(EnvORTLib) == "" {
		t.Errorf("loaded %q", RuntimeLoaded())
	}
	if err := InitRuntime("/elsewhere/libonnxruntime.so"); err == nil {
		t.Error("switching library after init: no error")
	}
}

func TestUltraFace(t *testing.T) {
	pulled(t)
	s, err := Open("ultraface-rfb320")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	faces := ultraFace(t, s, loadImage(t, facePhoto), 0.7)
	found := false
	for _, f := range faces {
		t.Logf("face %+v", f)
		found = found || onFace(f)
	}
	if !found {
		t.Errorf("no face > 0.7 on the face region %v; got %+v", faceRegion, faces)
	}
	if grey := ultraFace(t, s, greyImage(640, 480), 0.7); len(grey) != 0 {
		t.Errorf("flat grey image: %d faces: %+v", len(grey), grey)
	}
}

// TestBlazeFaceOpenCV runs BlazeFace through OpenCV DNN. The model is the
// short-range (front camera, selfie distance) detector, so it gets a 200x200
// square of the photo around the player's head and shoulders, where the
// face spans about a sixth of the width as in a video call; on the whole
// 548x342 frame squeezed to 128x128 the face is a few pixels.
func TestBlazeFaceOpenCV(t *testing.T) {
	pulled(t)
	n, err := OpenCV(mustPath(t, "blazeface-front"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if in := n.Input(); !slices.Equal(in.Shape, []int64{1, 128, 128, 3}) {
		t.Fatalf("input %+v", in)
	}
	norm := func(v float32) float32 { return v/127.5 - 1 }
	crop := image.Rect(140, 20, 340, 220)
	sub := loadImage(t, facePhoto).(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(crop)
	dets := blazeFace(t, n, sub, 0.75, norm)
	found := false
	for _, d := range dets {
		// back to photo pixels
		d.x1, d.x2 = d.x1+float32(crop.Min.X), d.x2+float32(crop.Min.X)
		d.y1, d.y2 = d.y1+float32(crop.Min.Y), d.y2+float32(crop.Min.Y)
		t.Logf("detection %+v", d)
		found = found || onFace(d)
	}
	if !found {
		t.Errorf("no BlazeFace detection > 0.75 on the face region")
	}
	if grey := blazeFace(t, n, greyImage(200, 200), 0.75, norm); len(grey) != 0 {
		t.Errorf("flat grey image: %+v", grey)
	}
	if _, err := n.Forward(Float32Tensor(make([]float32, 3*128*128), 1, 3, 128, 128)); !errors.Is(err, ErrBadTensor) {
		t.Errorf("NCHW blob for an NHWC model: %v", err)
	}
	n.Close()
	if _, err := n.Forward(Float32Tensor(make([]float32, 3*128*128), 1, 128, 128, 3)); !errors.Is(err, ErrClosed) {
		t.Errorf("forward after close: %v", err)
	}
}

func TestSileroVAD(t *testing.T) {
	pulled(t)
	s, err := Open("silero-vad")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	speech := speechWAV(t, "Good morning. I would like to open a savings account and transfer some money from my current account, please.")
	probs := vadProbs(t, s, speech)
	peak, speechy := float32(0), 0
	for _, p := range probs {
		peak = max(peak, p)
		if p > 0.5 {
			speechy++
		}
	}
	t.Logf("speech: %d windows, peak %.3f, %d above 0.5", len(probs), peak, speechy)
	if peak <= 0.5 || speechy < len(probs)/3 {
		t.Errorf("speech: peak %.3f, %d of %d windows above 0.5", peak, speechy, len(probs))
	}
	silence := vadProbs(t, s, make([]float32, 16000*3))
	peak = 0
	for _, p := range silence {
		peak = max(peak, p)
	}
	t.Logf("silence: peak %.3f", peak)
	if peak >= 0.2 {
		t.Errorf("digital silence: speech probability up to %.3f", peak)
	}
}

// TestManifestMatchesModels loads every model and checks the manifest's
// declared inputs and outputs against the files, and opencv_ok against the
// OpenCV loader.
func TestManifestMatchesModels(t *testing.T) {
	pulled(t)
	m, _ := Default()
	for _, a := range m.Artifacts {
		if a.Kind != KindModel {
			continue
		}
		t.Run(a.Name, func(t *testing.T) {
			p := mustPath(t, a.Name)
			s, err := OpenONNX(p)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cmp := func(what string, decl []IO, got []IOInfo) {
				if len(decl) != len(got) {
					t.Errorf("%s: manifest %d, model %d", what, len(decl), len(got))
					return
				}
				for i := range decl {
					if decl[i].Name != got[i].Name || decl[i].DType != got[i].DType || !slices.Equal(decl[i].Shape, got[i].Shape) {
						t.Errorf("%s #%d: manifest %s %v %s, model %s %v %s", what, i, decl[i].Name, decl[i].Shape, decl[i].DType, got[i].Name, got[i].Shape, got[i].DType)
					}
				}
			}
			cmp("inputs", a.Inputs, s.Inputs())
			cmp("outputs", a.Outputs, s.Outputs())
			n, err := OpenCV(p)
			if a.OpenCVOK {
				if err != nil {
					t.Errorf("opencv_ok but OpenCV: %v", err)
				} else {
					n.Close()
				}
			} else if err == nil {
				n.Close()
			}
		})
	}
}

func TestRunChecksTensors(t *testing.T) {
	pulled(t)
	s, err := Open("silero-vad")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	good := []Tensor{
		Float32Tensor(make([]float32, 576), 1, 576),
		Float32Tensor(make([]float32, 256), 2, 1, 128),
		Int64Tensor([]int64{16000}),
	}
	if _, err := s.Run(good); err != nil {
		t.Fatalf("good inputs: %v", err)
	}
	bad := map[string][]Tensor{
		"too few":        good[:2],
		"wrong dtype":    {good[0], good[1], Float32Tensor([]float32{16000})},
		"wrong rank":     {good[0], good[1], Int64Tensor([]int64{16000}, 1)},
		"fixed dim":      {good[0], Float32Tensor(make([]float32, 384), 3, 1, 128), good[2]},
		"short data":     {Float32Tensor(make([]float32, 10), 1, 576), good[1], good[2]},
		"both data":      {{Shape: []int64{1, 1}, Float32: []float32{0}, Int64: []int64{0}}, good[1], good[2]},
		"no data":        {{Shape: []int64{1, 1}}, good[1], good[2]},
		"zero dimension": {Float32Tensor(nil, 1, 0), good[1], good[2]},
	}
	for name, in := range bad {
		if _, err := s.Run(in); !errors.Is(err, ErrBadTensor) {
			t.Errorf("%s: %v, want ErrBadTensor", name, err)
		}
	}
	s.Close()
	if _, err := s.Run(good); !errors.Is(err, ErrClosed) {
		t.Errorf("run after close: %v", err)
	}
}

// TestConcurrentRun: one session, several goroutines (go test -race).
func TestConcurrentRun(t *testing.T) {
	pulled(t)
	s, err := Open("eye-state")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				out, err := s.Run([]Tensor{Float32Tensor(make([]float32, 24*24), 1, 1, 24, 24)})
				if err != nil || len(out[0].Float32) != 2 {
					t.Errorf("run: %v %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func garbageFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "garbage.onnx")
	b := []byte(strings.Repeat("this is not a protobuf \x00\xff\x13", 200))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCorruptModels(t *testing.T) {
	pulled(t)
	garbage := garbageFile(t)
	if _, err := OpenONNX(garbage); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("OpenONNX(garbage): %v, want ErrInvalidModel", err)
	}
	if _, err := OpenCV(garbage); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("OpenCV(garbage): %v, want ErrInvalidModel", err)
	}
	// A truncated real model.
	b, _ := os.ReadFile(mustPath(t, "ultraface-rfb320"))
	trunc := filepath.Join(t.TempDir(), "trunc.onnx")
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	if _, err := OpenONNX(trunc); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("OpenONNX(truncated): %v", err)
	}
	if _, err := OpenCV(trunc); err == nil {
		t.Error("OpenCV(truncated): no error")
	}
	if _, err := OpenCV(t.TempDir()); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("OpenCV(directory): %v", err)
	}
	// Dynamic shapes never reach OpenCV.
	if _, err := OpenCV(mustPath(t, "silero-vad")); !errors.Is(err, ErrNotStaticShape) {
		t.Errorf("OpenCV(silero): %v, want ErrNotStaticShape", err)
	}
	// The C++ guard on its own: garbage straight to OpenCV's importer is a
	// Go error, and this process is still here to check it.
	err := cvProbe(garbage, []int64{1, 3, 8, 8}, []string{"out"})
	if !errors.Is(err, ErrOpenCV) {
		t.Errorf("cvProbe(garbage): %v, want ErrOpenCV", err)
	}
	t.Logf("cvProbe(garbage): %v", err)
	// Valid model, output name OpenCV does not know: also caught.
	if err := cvProbe(mustPath(t, "blazeface-front"), []int64{1, 128, 128, 3}, []string{"no-such-output"}); !errors.Is(err, ErrOpenCV) {
		t.Errorf("cvProbe(bad output name): %v", err)
	}
}
