package idmatch_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/idmatch"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/pipeline"
)

func kycEvents(t *testing.T, photo string) []pipeline.Event {
	t.Helper()
	p := testclip.TestPhotos(t)
	clip := testclip.KYC(p, 640, 360, 10)
	clip.Duration = 10 * time.Second
	defer clip.Close()
	return testclip.Analyze(t, clip, 2, "idmatch", analyzers.Session{Room: t.Name()}, pipeline.Params{"photo": photo})
}

// The customer's full, differently framed photograph as the ID photo: a
// match at the start, never a mismatch.
func TestSamePersonMatches(t *testing.T) {
	evs := kycEvents(t, testclip.AstronautPhoto)
	if len(evs) != 1 || evs[0].Kind != idmatch.KindMatch || evs[0].MediaTime > time.Second {
		t.Fatalf("events %+v: want one id_match at the start", evs)
	}
}

// Someone else's photograph: a mismatch from the start, once.
func TestOtherPersonMismatches(t *testing.T) {
	evs := kycEvents(t, testclip.MessiPhoto)
	if len(evs) != 1 || evs[0].Kind != idmatch.KindMismatch || evs[0].MediaTime > 500*time.Millisecond {
		t.Fatalf("events %+v: want one id_mismatch at the start", evs)
	}
}

func TestBadPhoto(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "id.jpg")
	if err := os.WriteFile(junk, []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := analyzers.New("idmatch", analyzers.Session{}, pipeline.Params{"photo": junk}); err == nil {
		t.Fatal("junk photo accepted")
	}
	// A photograph without a face.
	_, err := analyzers.New("idmatch", analyzers.Session{}, pipeline.Params{"photo": "/usr/share/doc/opencv-doc/examples/data/fruits.jpg"})
	if !errors.Is(err, idmatch.ErrNoFace) {
		t.Fatalf("fruits.jpg: %v", err)
	}
	if _, err := analyzers.New("idmatch", analyzers.Session{}, nil); err == nil {
		t.Fatal("no photo accepted")
	}
}
