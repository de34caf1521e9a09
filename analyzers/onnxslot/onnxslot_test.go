package onnxslot_test

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/onnxslot"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/models"
)

func modelPath(t *testing.T, name string) string {
	t.Helper()
	p, err := models.Path(models.Dir(), name)
	if err != nil {
		t.Fatalf("%v (run witness models pull)", err)
	}
	return p
}

// A no-code analyzer: the UltraFace detector as an operator's "model",
// mapped by a manifest to "custom.nobody" when the best face score drops
// below 0.7 on the whole frame. Loaded from a directory at start-up, then
// run on a clip where the customer leaves at 2 s.
func TestManifestFromDirectory(t *testing.T) {
	dir := t.TempDir()
	man := fmt.Sprintf(`name: custom-nobody
model: %s
input: {crop: frame, layout: nchw, color: rgb, scale: 0.0078125, mean: [0.9921875, 0.9921875, 0.9921875]}
output: {name: scores, index: 1, stride: 2, reduce: max}
threshold: 0.7
when: below
event: {kind: custom.nobody, severity: warning, min_duration: 600ms}
`, modelPath(t, "ultraface-rfb320"))
	if err := os.WriteFile(filepath.Join(dir, "nobody.yaml"), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := onnxslot.LoadDir(dir)
	if err != nil || len(names) != 1 || names[0] != "custom-nobody" {
		t.Fatalf("LoadDir: %v %v", names, err)
	}
	p := testclip.TestPhotos(t)
	clip := &testclip.Clip{W: 640, H: 360, FPS: 10, Duration: 5 * time.Second}
	defer clip.Close()
	clip.Script = func(tm time.Duration) ([]testclip.Layer, float64) {
		if tm >= 2*time.Second {
			return nil, 1
		}
		return []testclip.Layer{{Pic: &p.Astronaut, Box: image.Rect(230, 50, 430, 310)}}, 1
	}
	evs := testclip.Analyze(t, clip, 2, "custom-nobody", analyzers.Session{Room: t.Name()}, nil)
	for _, pr := range testclip.Match(evs, []testclip.Truth{{Kind: "custom.nobody", At: 2 * time.Second}}, 500*time.Millisecond, "custom.") {
		t.Error(pr)
	}
	// Loading the same directory again is a clear error, not a silent replace.
	if _, err := onnxslot.LoadDir(dir); !errors.Is(err, onnxslot.ErrManifest) {
		t.Fatalf("second load: %v", err)
	}
}

// The deepfake slot's route: the model runs on the customer's face crop
// (here the eye-state model stands in for an operator's classifier, only to
// exercise cropping, grey conversion and softmax).
func TestFaceCropSlot(t *testing.T) {
	m, err := onnxslot.Parse([]byte(fmt.Sprintf(`name: slot-face-crop
model: %s
input: {crop: face, margin: 0.1, color: gray, scale: 0.0039215686}
output: {index: 1, activation: softmax}
threshold: 0.0
when: above
event: {kind: deepfake.suspect, severity: critical, min_duration: 400ms}
`, modelPath(t, "eye-state"))), "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := onnxslot.New(m, analyzersSession(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p := testclip.TestPhotos(t)
	clip := testclip.KYC(p, 640, 360, 10)
	clip.Duration = 6 * time.Second
	defer clip.Close()
	evs, err := testclip.Run(clip, 2, a)
	if err != nil {
		t.Fatal(err)
	}
	// Threshold 0 and "above": fires while a face is there (0-4 s), ends
	// when it leaves (4 s): the crop follows the face, absence scores nothing.
	if len(evs) != 2 || evs[0].Kind != "deepfake.suspect" || evs[0].MediaTime != 0 || evs[1].Kind != "deepfake.suspect.end" ||
		evs[1].MediaTime < 3500*time.Millisecond || evs[1].MediaTime > 4500*time.Millisecond {
		t.Fatalf("events %+v", evs)
	}
}

func analyzersSession(t *testing.T) analyzers.Session { return analyzers.Session{Room: t.Name()} }

func TestBadManifests(t *testing.T) {
	vad := modelPath(t, "silero-vad")
	for _, c := range []struct{ yaml, want string }{
		{"name: x\nmodel: m.onnx\nevent: {kind: k}\nbogus: 1\n", "bogus"},
		{"name: x\nevent: {kind: k}\n", "model is required"},
		{"name: x\nmodel: m.onnx\ninput: {layout: chw}\nevent: {kind: k}\n", "chw"},
		{"name: x\nmodel: m.onnx\n", "event.kind"},
		{"name: x\nmodel: m.onnx\ninput: {std: [0, 1, 1]}\nevent: {kind: k}\n", "std"},
	} {
		_, err := onnxslot.Parse([]byte(c.yaml), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.yaml, err, c.want)
		}
	}
	m, err := onnxslot.Parse([]byte("name: wrong-model\nmodel: "+vad+"\nevent: {kind: k}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := onnxslot.Register(m); err == nil || !strings.Contains(err.Error(), "rank 4") {
		t.Errorf("VAD model as image model: %v", err)
	}
	m, _ = onnxslot.Parse([]byte("name: missing-model\nmodel: /nonexistent.onnx\nevent: {kind: k}\n"), "")
	if err := onnxslot.Register(m); err == nil {
		t.Error("missing model registered")
	}
}
