package occlusion_test

import (
	"image"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/occlusion"
	"github.com/witness-media/witness/analyzers/testclip"
)

// On the scripted clip the lower half of the face is covered 16-19 s: one
// occlusion.lower within 0.5 s; the dimmed light, the absence and the
// second person raise no occlusion and no eyes-closed event (eyes are open
// in the photograph throughout).
func TestKYCClipOcclusion(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := testclip.KYC(p, 640, 360, 10)
	defer clip.Close()
	evs := testclip.Analyze(t, clip, 2, "occlusion", analyzers.Session{Room: t.Name()}, nil)
	for _, pr := range testclip.Match(evs, clip.Truth, 500*time.Millisecond, "occlusion.", "eyes.") {
		t.Error(pr)
	}
}

// Eyes closed 3-7 s (the photograph with its eyes painted shut): one
// eyes.closed at 3 s, and closed eyes are not mistaken for a covered face.
func TestEyesClosedForLong(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := &testclip.Clip{W: 640, H: 360, FPS: 10, Duration: 10 * time.Second}
	defer clip.Close()
	clip.Script = func(tm time.Duration) ([]testclip.Layer, float64) {
		pic := &p.Astronaut
		if tm >= 3*time.Second && tm < 7*time.Second {
			pic = &p.AstronautClosed
		}
		return []testclip.Layer{{Pic: pic, Box: image.Rect(230, 50, 430, 310)}}, 1
	}
	evs := testclip.Analyze(t, clip, 2, "occlusion", analyzers.Session{Room: t.Name()}, nil)
	for _, pr := range testclip.Match(evs, []testclip.Truth{{Kind: "eyes.closed", At: 3 * time.Second}}, 500*time.Millisecond, "occlusion.", "eyes.") {
		t.Error(pr)
	}
}
