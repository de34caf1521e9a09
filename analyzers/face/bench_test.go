package face_test

import (
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/light"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/pipeline"
)

// i420Frames renders the scripted photo clip at 5 fps as 640x360 I420 (what
// the live pipeline and the decoder hand to analyzers).
func i420Frames(b *testing.B) []*pipeline.VideoFrame {
	p, err := testclip.LoadPhotos()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	clip := testclip.KYC(p, 640, 360, 5)
	defer clip.Close()
	var fs []*pipeline.VideoFrame
	for i := 0; i < clip.Frames(); i++ {
		t := time.Duration(i) * 200 * time.Millisecond
		m := clip.Render(t)
		y := gocv.NewMat()
		gocv.CvtColor(m, &y, gocv.ColorRGBToYUVI420)
		fs = append(fs, &pipeline.VideoFrame{Format: pipeline.PixelI420, Width: 640, Height: 360,
			Stride: [3]int{640, 320, 320}, Data: y.ToBytes(), PTS: t})
		m.Close()
		y.Close()
	}
	return fs
}

func benchFaceLight(b *testing.B, faceParams pipeline.Params) {
	frames := i420Frames(b)
	s := analyzers.Session{Room: b.Name()}
	fa, err := analyzers.New("face", s, faceParams)
	if err != nil {
		b.Fatal(err)
	}
	defer fa.Close()
	la, err := analyzers.New("light", s, pipeline.Params{"use_face": true})
	if err != nil {
		b.Fatal(err)
	}
	defer la.Close()
	emit := func(pipeline.Event) {}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		// A new frame value with a growing PTS: the clip loops, time goes on.
		f := *frames[i%len(frames)]
		f.PTS = time.Duration(i) * 200 * time.Millisecond
		if err := fa.Video(&f, emit); err != nil {
			b.Fatal(err)
		}
		if err := la.Video(&f, emit); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds()
	fps := float64(b.N) / el
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(fps/5, "streams@5fps")
}

// BenchmarkFaceLight: face + light (face luma) per 640x360 frame, one
// goroutine, ONNX Runtime on one thread, change-gated detection (default).
// Run with GOMAXPROCS=1 for a per-core figure (bench/analyze.sh does).
func BenchmarkFaceLight(b *testing.B) { benchFaceLight(b, nil) }

// BenchmarkFaceLightDetectAll detects on every frame (no gating): the
// worst case, a scene that changes all the time.
func BenchmarkFaceLightDetectAll(b *testing.B) {
	benchFaceLight(b, pipeline.Params{"detect_every": 1, "change_gate": -1})
}
