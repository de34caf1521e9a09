package light

import (
	"image"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/pipeline"
)

// On the scripted clip from real photographs the light dims 22-25 s: one
// light.dark within 0.5 s, nothing on the clean segments.
func TestKYCClipDimmedLight(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := testclip.KYC(p, 640, 360, 10)
	defer clip.Close()
	evs := testclip.Analyze(t, clip, 2, "light", analyzers.Session{Room: t.Name()}, pipeline.Params{"use_face": true})
	for _, pr := range testclip.Match(evs, clip.Truth, 500*time.Millisecond, "light.") {
		t.Error(pr)
	}
}

// A dark face in front of a bright wall is backlit (not "dark", although
// the face alone is dark), from 2 s on; before that the face is lit.
func TestBacklitFace(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := &testclip.Clip{W: 640, H: 360, FPS: 5, Duration: 5 * time.Second, Wall: 235}
	defer clip.Close()
	clip.Script = func(tm time.Duration) ([]testclip.Layer, float64) {
		l := testclip.Layer{Pic: &p.Astronaut, Box: image.Rect(230, 50, 430, 310)}
		if tm >= 2*time.Second {
			l.Gain = 0.3
		}
		return []testclip.Layer{l}, 1
	}
	evs := testclip.Analyze(t, clip, 1, "light", analyzers.Session{Room: t.Name()}, pipeline.Params{"use_face": true, "min_duration": "600ms"})
	truth := []testclip.Truth{{Kind: "light.backlit", At: 2 * time.Second}}
	for _, pr := range testclip.Match(evs, truth, 500*time.Millisecond, "light.") {
		t.Error(pr)
	}
}
