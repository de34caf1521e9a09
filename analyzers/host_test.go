package analyzers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/light"
	"github.com/witness-media/witness/pipeline"
)

// slow is stuck until released, then reports every frame it saw.
type slow struct {
	analyzers.NoOp
	release chan struct{}
}

func (s *slow) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	<-s.release
	emit(pipeline.Event{Kind: "seen", MediaTime: f.PTS})
	return nil
}

func init() {
	analyzers.Register("test-slow", func(analyzers.Session, pipeline.Params) (analyzers.Analyzer, error) {
		return &slow{release: slowRelease}, nil
	})
}

var slowRelease = make(chan struct{})

// A stuck analyzer never blocks Video (media): its bounded queue sheds the
// oldest frames; the sampler thins 25 fps to the configured 5 fps; events
// reach the sink with the session filled in.
func TestHostNeverBlocksMedia(t *testing.T) {
	prof, err := analyzers.ParseProfile([]byte("analyzers:\n  - name: test-slow\n    fps: 5\n    queue: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []pipeline.Event
	h, err := analyzers.NewHost(analyzers.Session{Room: "r", Participant: "p"}, prof, func(e pipeline.Event) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	// 10 s of 25 fps video offered while the analyzer is stuck: returns at once.
	for i := 0; i < 250; i++ {
		h.Video(&pipeline.VideoFrame{PTS: time.Duration(i) * 40 * time.Millisecond})
	}
	st := h.Stats()[0]
	if st.Queued != 50 || st.Dropped < 46 {
		t.Fatalf("stats %+v: want 50 sampled frames, most dropped", st)
	}
	close(slowRelease)
	h.CloseInput()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// At most the frame being analysed plus a full queue got through, and
	// the newest frames are among them (drop oldest).
	if len(got) < 3 || len(got) > 4 || got[len(got)-1].MediaTime != 9800*time.Millisecond {
		t.Fatalf("events %+v", got)
	}
	if got[0].Room != "r" || got[0].Participant != "p" || got[0].Source != pipeline.OriginAuto || got[0].WallTime.IsZero() {
		t.Fatalf("event not filled in: %+v", got[0])
	}
}

func TestProfileErrors(t *testing.T) {
	for _, y := range []string{
		"analyzers:\n  - name: nosuch\n",
		"analyzers:\n  - name: light\n    fsp: 5\n",
		"analyzers:\n  - name: light\n  - name: light\n",
		"analyzers:\n  - name: light\n    fps: 100\n",
	} {
		if _, err := analyzers.ParseProfile([]byte(y)); !errors.Is(err, analyzers.ErrProfile) {
			t.Errorf("%q: %v", y, err)
		}
	}
}
