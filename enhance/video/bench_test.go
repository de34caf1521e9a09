package video

import (
	"testing"

	"github.com/witness-media/witness/enhance/internal/cpubench"
	"github.com/witness-media/witness/pipeline"
)

// BenchmarkStage is the cost of each stage on one 640x360 RGB frame of a
// swaying person (face detection gated as in live use: it reruns when the
// picture changes or every 5 frames). bench/enhance.sh runs it on one core.
func BenchmarkStage(b *testing.B) {
	sc := newScene(b, backgrounds[1], 640, 360)
	var frames []*pipeline.VideoFrame
	for i := 0; i < 20; i++ {
		f, _ := sc.frame(i)
		frames = append(frames, f)
	}
	cases := []struct {
		name string
		p    pipeline.Params
	}{
		{"adjust", pipeline.Params{"brightness": 0.1, "contrast": 0.1, "saturation": 0.1}},
		{"lowlight", pipeline.Params{"strength": 1.0, "target": 250.0}},
		{"video_denoise", pipeline.Params{"strength": 0.5}},
		{"sharpen", pipeline.Params{"amount": 0.5}},
		{"beauty", pipeline.Params{"smooth": 0.5, "whiten": 0.3, "slim": 0.3, "eyes": 0.3}},
		{"background", pipeline.Params{"mode": "blur"}},
		{"background", pipeline.Params{"mode": "image", "image": backgrounds[6]}},
	}
	for _, c := range cases {
		name := c.name
		if m, ok := c.p["mode"]; ok {
			name += "-" + m.(string)
		}
		b.Run(name, func(b *testing.B) {
			st, err := pipeline.NewStage(c.name, c.p)
			if err != nil {
				b.Skip(err)
			}
			s := st.(*Stage)
			defer s.Close()
			// The first call loads and warms the face models.
			if _, err := s.Apply(frames[0]); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			done := cpubench.Start(b)
			for i := 0; i < b.N; i++ {
				if _, err := s.Apply(frames[i%len(frames)]); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

// BenchmarkSegment is person segmentation alone (mask at 640x360), the
// frames-per-second-per-core figure of docs/enhance.md.
func BenchmarkSegment(b *testing.B) {
	sc := newScene(b, backgrounds[1], 640, 360)
	var frames []*pipeline.VideoFrame
	for i := 0; i < 20; i++ {
		f, _ := sc.frame(i)
		frames = append(frames, f)
	}
	seg, err := NewSegmenter(SegmentOptions{})
	if err != nil {
		b.Skip(err)
	}
	defer seg.Close()
	if m, err := seg.Mask(frames[0]); err == nil { // warm the face models
		m.Close()
	}
	b.ResetTimer()
	done := cpubench.Start(b)
	for i := 0; i < b.N; i++ {
		m, err := seg.Mask(frames[i%len(frames)])
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
	done()
}
