package facekit_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/pipeline"
)

// RGBMat gives the same colours as VideoFrame.RGBAt for every format,
// including odd sizes and padded strides.
func TestRGBMatFormats(t *testing.T) {
	const w, h = 37, 21
	rgb := &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: w, Height: h, Stride: [3]int{w*3 + 5}}
	rgb.Data = make([]byte, rgb.Stride[0]*h)
	rgba := &pipeline.VideoFrame{Format: pipeline.PixelRGBA, Width: w, Height: h, Stride: [3]int{w * 4}}
	rgba.Data = make([]byte, w*4*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := byte(x*6), byte(y*12), byte(200-x*3)
			copy(rgb.Data[y*rgb.Stride[0]+x*3:], []byte{r, g, b})
			copy(rgba.Data[y*w*4+x*4:], []byte{r, g, b, 255})
		}
	}
	i420 := &pipeline.VideoFrame{Format: pipeline.PixelI420, Width: 36, Height: 20, Stride: [3]int{40, 20, 20}}
	i420.Data = make([]byte, 40*20+2*20*10)
	for i := range i420.Data {
		i420.Data[i] = 128
	}
	for y := 0; y < 20; y++ {
		for x := 0; x < 36; x++ {
			i420.Data[y*40+x] = byte(16 + x*5)
		}
	}
	for _, f := range []*pipeline.VideoFrame{rgb, rgba, i420} {
		m, err := facekit.RGBMat(f)
		if err != nil {
			t.Fatal(err)
		}
		px, _ := m.DataPtrUint8()
		for _, p := range [][2]int{{0, 0}, {5, 3}, {f.Width - 2, f.Height - 1}} {
			x, y := p[0], p[1]
			r, g, b := f.RGBAt(x, y)
			i := (y*m.Cols() + x) * 3
			for c, want := range []byte{r, g, b} {
				if d := int(px[i+c]) - int(want); d < -3 || d > 3 {
					t.Errorf("%s (%d,%d) channel %d: %d, want %d", f.Format, x, y, c, px[i+c], want)
				}
			}
		}
		m.Close()
	}
	if _, err := facekit.RGBMat(&pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: 4, Height: 4, Stride: [3]int{12}, Data: make([]byte, 10)}); err == nil {
		t.Error("short frame accepted")
	}
}

// Analyzers of one session share a tracker from several goroutines: each
// frame is detected once, landmarks and embeddings are computed once and
// agree, and nothing races.
func TestSharedTrackerConcurrent(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := testclip.KYC(p, 640, 360, 5)
	defer clip.Close()
	var frames []*pipeline.VideoFrame
	for i := 0; i < 10; i++ {
		frames = append(frames, clip.Frame(i))
	}
	tr, err := facekit.Shared("t/r/p", facekit.Options{DetectEvery: 1, ChangeGate: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	var wg sync.WaitGroup
	embs := make([][][]float32, 3)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range frames {
				a, err := tr.Analyze(f)
				if err != nil {
					t.Error(err)
					return
				}
				if len(a.Faces) != 1 {
					t.Errorf("%v: %d faces", f.PTS, len(a.Faces))
					return
				}
				e, err := a.Embedding(0)
				if err != nil {
					t.Error(err)
					return
				}
				embs[g] = append(embs[g], e)
			}
		}()
	}
	wg.Wait()
	if d, _ := tr.Stats(); d != len(frames) {
		t.Errorf("%d detections for %d frames shared by 3 analyzers", d, len(frames))
	}
	for i := range frames {
		if c := facekit.Cosine(embs[0][i], embs[2][i]); c < 0.999 {
			t.Errorf("frame %d: embeddings differ between analyzers (cos %.3f)", i, c)
		}
	}
	// The same person over time: high similarity.
	if c := facekit.Cosine(embs[0][0], embs[0][9]); c < 0.8 {
		t.Errorf("same face 2 s apart: cosine %.2f", c)
	}
}

// Change gating: a static scene is detected once every DetectEvery frames.
func TestChangeGating(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := &testclip.Clip{W: 320, H: 240, FPS: 5, Duration: 2 * time.Second}
	defer clip.Close()
	clip.Script = func(time.Duration) ([]testclip.Layer, float64) {
		return []testclip.Layer{{Pic: &p.Astronaut, Box: clip.Bounds().Inset(40)}}, 1
	}
	tr, err := facekit.NewTracker(facekit.Options{DetectEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < clip.Frames(); i++ {
		a, err := tr.Analyze(clip.Frame(i))
		if err != nil || len(a.Faces) != 1 {
			t.Fatalf("frame %d: %v faces, %v", i, len(a.Faces), err)
		}
	}
	if d, r := tr.Stats(); d != 2 || r != 8 {
		t.Errorf("%d detections, %d reuses over 10 static frames; want 2 and 8", d, r)
	}
}

// Options of one session's analyzers merge; a real conflict is an error.
func TestSharedOptions(t *testing.T) {
	a, err := facekit.Shared("opts", facekit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	b, err := facekit.Shared("opts", facekit.Options{DetectEvery: 2})
	if err != nil || b != a {
		t.Fatalf("second analyzer: %v", err)
	}
	defer b.Release()
	if _, err := facekit.Shared("opts", facekit.Options{DetectEvery: 3}); !errors.Is(err, facekit.ErrOptionsConflict) {
		t.Fatalf("conflict: %v", err)
	}
	c, err := facekit.Shared("opts", facekit.Options{DetectEvery: 2, MinScore: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	c.Release()
}
