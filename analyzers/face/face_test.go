package face_test

import (
	"image"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/face"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/pipeline"
)

// The scripted clip made from real photographs: the customer leaves at 4 s
// and returns at 7 s, a second person is in frame 10-13 s. Each face event
// fires once, within 0.5 s of the truth, and nothing else fires.
func TestKYCClipFaceEvents(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := testclip.KYC(p, 640, 360, 10)
	defer clip.Close()
	evs := testclip.Analyze(t, clip, 2, "face", analyzers.Session{Tenant: "t", Room: t.Name()}, nil) // 5 fps, as the live host samples
	for _, p := range testclip.Match(evs, clip.Truth, 500*time.Millisecond, "face.") {
		t.Error(p)
	}
	// The episodes also close where the condition ended.
	ends := map[string]time.Duration{}
	for _, e := range evs {
		ends[e.Kind] = e.MediaTime
	}
	if d := ends["face.missing.end"] - testclip.ReturnAt; d < -500*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("face.missing.end at %v, want about %v", ends["face.missing.end"], testclip.ReturnAt)
	}
}

// A face far from the camera and one at the side of the region alert.
func TestTooSmallAndOffCentre(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := &testclip.Clip{W: 640, H: 360, FPS: 5, Duration: 6 * time.Second}
	defer clip.Close()
	clip.Script = func(tm time.Duration) ([]testclip.Layer, float64) {
		switch {
		case tm < 2*time.Second: // normal
			return []testclip.Layer{{Pic: &p.Astronaut, Box: imageRect(220, 50, 420, 310)}}, 1
		case tm < 4*time.Second: // far away: a 33 px face in a 360 px frame
			return []testclip.Layer{{Pic: &p.Astronaut, Box: imageRect(290, 140, 360, 220)}}, 1
		default: // at the left edge
			return []testclip.Layer{{Pic: &p.Astronaut, Box: imageRect(0, 50, 200, 310)}}, 1
		}
	}
	a, err := analyzers.New("face", analyzers.Session{Room: t.Name()}, pipeline.Params{"min_duration": "600ms"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	evs, err := testclip.Run(clip, 1, a)
	if err != nil {
		t.Fatal(err)
	}
	truth := []testclip.Truth{{Kind: "face.too_small", At: 2 * time.Second}, {Kind: "face.off_centre", At: 4 * time.Second}}
	for _, e := range evs {
		t.Logf("%-20s %6.2fs %s", e.Kind, e.MediaTime.Seconds(), e.Data)
	}
	for _, pr := range testclip.Match(evs, truth, 500*time.Millisecond, "face.too_small", "face.off_centre", "face.missing", "face.multiple") {
		t.Error(pr)
	}
}

func TestBadParams(t *testing.T) {
	for _, p := range []pipeline.Params{{"roi": []float64{0.5, 0, 0.8, 1}}, {"centre_tolerance": 0.9}, {"nonsense": 1}} {
		if _, err := analyzers.New("face", analyzers.Session{}, p); err == nil {
			t.Errorf("params %v accepted", p)
		}
	}
}

func imageRect(x0, y0, x1, y1 int) image.Rectangle { return image.Rect(x0, y0, x1, y1) }

// The customer's region of interest: a composite with the agent on the
// left and the customer on the right. The agent's face never counts; the
// customer leaving her half is face.missing even though a face remains.
func TestRegionOfInterest(t *testing.T) {
	p := testclip.TestPhotos(t)
	clip := &testclip.Clip{W: 640, H: 360, FPS: 5, Duration: 5 * time.Second}
	defer clip.Close()
	clip.Script = func(tm time.Duration) ([]testclip.Layer, float64) {
		ls := []testclip.Layer{{Pic: &p.Messi, Box: imageRect(60, 80, 260, 280)}} // the agent, left half
		if tm < 2*time.Second {
			ls = append(ls, testclip.Layer{Pic: &p.Astronaut, Box: imageRect(380, 50, 580, 310)})
		}
		return ls, 1
	}
	evs := testclip.Analyze(t, clip, 1, "face", analyzers.Session{Room: t.Name()}, pipeline.Params{"roi": []float64{0.5, 0, 0.5, 1}, "min_duration": "600ms"})
	for _, pr := range testclip.Match(evs, []testclip.Truth{{Kind: "face.missing", At: 2 * time.Second}}, 500*time.Millisecond, "face.") {
		t.Error(pr)
	}
	// Control: without the region both faces count (so the agent's face is
	// detected, and the region is what kept it out).
	whole, err := analyzers.New("face", analyzers.Session{Room: t.Name() + "-whole"}, pipeline.Params{"min_duration": "600ms", "centre_tolerance": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	evs, err = testclip.Run(clip, 1, whole)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range testclip.Match(evs, []testclip.Truth{{Kind: "face.multiple", At: 0}}, 500*time.Millisecond, "face.missing", "face.multiple") {
		t.Error("whole frame:", pr)
	}
}
