package liveness_test

import (
	"encoding/json"
	"image"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/liveness"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/pipeline"
)

func run(t *testing.T, c *testclip.Clip, params pipeline.Params) []pipeline.Event {
	t.Helper()
	return testclip.Analyze(t, c, 2, "liveness", analyzers.Session{Room: t.Name()}, params) // 5 fps
}

// A still photograph moved by pans and zooms (a photo held to the camera)
// is flagged not live after the first window, once.
func TestStillPhotoIsNotLive(t *testing.T) {
	c := testclip.Still(testclip.TestPhotos(t), 640, 360, 10, 16*time.Second)
	defer c.Close()
	evs := run(t, c, nil)
	truth := []testclip.Truth{{Kind: liveness.KindSuspect, At: 8 * time.Second}}
	for _, pr := range testclip.Match(evs, truth, 500*time.Millisecond, "liveness.", "identity.") {
		t.Error(pr)
	}
	if len(evs) > 0 {
		var v liveness.Verdict
		if err := json.Unmarshal(evs[0].Data, &v); err != nil || v.Live || v.Blinks != 0 || v.Samples < 35 {
			t.Errorf("verdict %s (%v)", evs[0].Data, err)
		}
	}
}

// The same photograph with an injected 72 bpm colour pulse of 2% passes:
// the pulse estimator finds it. (An injected pulse is not a live person:
// this checks the signal path, see docs/analyzers.md.)
func TestInjectedPulseIsFound(t *testing.T) {
	c := testclip.Pulsed(testclip.TestPhotos(t), 640, 360, 10, 16*time.Second, 0.02, 72)
	defer c.Close()
	evs := run(t, c, nil)
	for _, e := range evs {
		t.Errorf("unexpected %s at %v: %s", e.Kind, e.MediaTime, e.Data)
	}
}

// The customer is replaced by someone else at 6 s: identity.changed fires
// once, about when it happened (within the embedding period + debounce).
func TestIdentityChanged(t *testing.T) {
	p := testclip.TestPhotos(t)
	c := &testclip.Clip{W: 640, H: 360, FPS: 10, Duration: 12 * time.Second}
	defer c.Close()
	c.Script = func(tm time.Duration) ([]testclip.Layer, float64) {
		pic := &p.Astronaut
		if tm >= 6*time.Second {
			pic = &p.Messi
		}
		return []testclip.Layer{{Pic: pic, Box: image.Rect(230, 50, 430, 310)}}, 1
	}
	evs := run(t, c, pipeline.Params{"window": "30s"})
	n := 0
	for _, e := range evs {
		if e.Kind == liveness.KindChanged {
			n++
			if e.MediaTime < 6*time.Second || e.MediaTime > 8*time.Second+500*time.Millisecond {
				t.Errorf("identity.changed at %v, want 6-8 s", e.MediaTime)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d identity.changed events, want 1", n)
	}
}

// The panned photograph with blinks (eyes painted shut for 400 ms every
// 2.5 s) passes on the blink evidence.
func TestBlinksCountAsLive(t *testing.T) {
	c := testclip.Blinking(testclip.TestPhotos(t), 640, 360, 10, 16*time.Second)
	defer c.Close()
	for _, e := range run(t, c, nil) {
		t.Errorf("unexpected %s at %v: %s", e.Kind, e.MediaTime, e.Data)
	}
}
