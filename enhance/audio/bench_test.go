package audio

import (
	"testing"
	"time"

	"github.com/witness-media/witness/enhance/audio/audiotest"
	"github.com/witness-media/witness/enhance/internal/cpubench"
	"github.com/witness-media/witness/pipeline"
)

// BenchmarkDenoise is the cost of each denoise engine per 10 ms frame of
// 48 kHz mono speech with keyboard noise (the live WebRTC rate).
func BenchmarkDenoise(b *testing.B) {
	s, err := audiotest.ReadSpeech(audiotest.Targets[0])
	if err != nil {
		b.Skip(err)
	}
	noise, _ := audiotest.Noise(audiotest.Keyboard, len(s), 1)
	mix, _ := audiotest.Mix(s, noise, 5)
	x := make([]float64, 3*len(mix))
	for i := range x {
		x[i] = mix[i/3]
	}
	frames := audiotest.Frames(x, 48000, 10*time.Millisecond)
	for _, m := range []struct {
		name string
		o    DenoiseOptions
	}{
		{"spectral", DenoiseOptions{Engine: EngineSpectral, Transient: ptr(false)}},
		{"transient", DenoiseOptions{Engine: EngineNone}},
		{"spectral+transient", DenoiseOptions{Engine: EngineSpectral}},
		{"webrtc", DenoiseOptions{Engine: EngineWebRTC, Transient: ptr(false)}},
	} {
		b.Run(m.name, func(b *testing.B) {
			st, err := NewDenoise(m.o)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			emit := func(pipeline.Packet) {}
			b.ResetTimer()
			done := cpubench.Start(b)
			for i := 0; i < b.N; i++ {
				f := *frames[i%len(frames)]
				f.PTS = time.Duration(i) * 10 * time.Millisecond
				if err := st.Process(b.Context(), pipeline.Packet{Audio: &f}, emit); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}
