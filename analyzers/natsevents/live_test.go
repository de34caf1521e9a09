package natsevents_test

import (
	"context"
	"fmt"
	"image"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/face"
	"github.com/witness-media/witness/analyzers/natsevents"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/internal/testkit/natstest"
	"github.com/witness-media/witness/markers"
	"github.com/witness-media/witness/pipeline"
)

// Absences of the customer in the leaving clip.
var absent = [][2]time.Duration{{2 * time.Second, 3400 * time.Millisecond}, {4800 * time.Millisecond, 6200 * time.Millisecond},
	{7600 * time.Millisecond, 9 * time.Second}, {10400 * time.Millisecond, 11800 * time.Millisecond}}

func leavingClip(p *testclip.Photos) *testclip.Clip {
	c := &testclip.Clip{W: 640, H: 360, FPS: 10, Duration: 13 * time.Second}
	c.Script = func(t time.Duration) ([]testclip.Layer, float64) {
		for _, a := range absent {
			if t >= a[0] && t < a[1] {
				return nil, 1
			}
		}
		return []testclip.Layer{{Pic: &p.Astronaut, Box: image.Rect(230, 50, 430, 310)}}, 1
	}
	return c
}

const debounce = 600 * time.Millisecond

var store *markers.MemStore

// liveRun plays the clip into a live Host (at speed x real time) whose
// events are published on NATS, and returns what a subscriber received
// with the latency from the frame that confirmed each condition.
func liveRun(t testing.TB, speed float64) ([]pipeline.Event, []time.Duration, []time.Duration) {
	nc, _ := natstest.Start(t)
	sub, err := nc.SubscribeSync(natsevents.Subject("bank-a", "room-1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	p := testclip.TestPhotos(t)
	clip := leavingClip(p)
	defer clip.Close()

	prof := &analyzers.Profile{Analyzers: []analyzers.Spec{{Name: "face", FPS: 5,
		Params: pipeline.Params{"min_duration": debounce.String(), "clear_after": debounce.String()}}}}
	sess := analyzers.Session{Tenant: "bank-a", Room: "room-1", Participant: "customer"}
	pub := natsevents.NewPublisher(nc)
	// Every event is also stored as a marker of the recording.
	store = markers.NewMemStore()
	sink := analyzers.Fanout(markers.Recorder(context.Background(), store, "rec-live", func(err error) { t.Error(err) }),
		pub.Sink(sess.Tenant, func(err error) { t.Error(err) }))
	host, err := analyzers.NewHost(sess, prof, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- host.Run(ctx) }()

	var mu sync.Mutex
	fed := map[time.Duration]time.Time{}
	go func() {
		frameEvery := time.Duration(float64(time.Second/time.Duration(clip.FPS)) / speed)
		tick := time.NewTicker(frameEvery)
		defer tick.Stop()
		for i := 0; i < clip.Frames(); i++ {
			f := clip.Frame(i) // rendered before the tick: the camera delivers finished frames
			<-tick.C
			mu.Lock()
			fed[f.PTS] = time.Now()
			mu.Unlock()
			host.Video(f)
		}
		host.CloseInput()
	}()

	var evs []pipeline.Event
	var lat, onset []time.Duration
	want := 2 * len(absent)
	for len(evs) < want {
		m, err := sub.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatalf("after %d events: %v", len(evs), err)
		}
		got := time.Now()
		e, err := natsevents.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
		// The confirming frame is the first sampled frame (5 fps grid) at
		// least debounce after the condition began.
		trig := (e.MediaTime + debounce + 199*time.Millisecond) / (200 * time.Millisecond) * (200 * time.Millisecond)
		mu.Lock()
		at, ok := fed[trig]
		mu.Unlock()
		if !ok {
			t.Fatalf("no frame fed at %v for %s at %v", trig, e.Kind, e.MediaTime)
		}
		lat = append(lat, got.Sub(at))
		// From the first sampled frame that showed the condition: includes
		// the debounce (min_duration), which is a business setting.
		mu.Lock()
		first := fed[e.MediaTime]
		mu.Unlock()
		onset = append(onset, got.Sub(first))
	}
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	for _, st := range host.Stats() {
		t.Logf("host stats: %+v", st)
	}
	return evs, lat, onset
}

func p95(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)*95+99)/100-1]
}

// Frames of a clip where the customer leaves go through the live host; a
// NATS subscriber standing in for the agent's connection receives each
// alert (and its end) once, at the right media time, filled in by the host.
func TestLiveAlertsOverNATS(t *testing.T) {
	evs, lat, onset := liveRun(t, 2)
	for i, e := range evs {
		t.Logf("%-18s media %6.2fs latency %v", e.Kind, e.MediaTime.Seconds(), lat[i].Round(time.Millisecond))
	}
	for i, a := range absent {
		open, end := evs[2*i], evs[2*i+1]
		if open.Kind != "face.missing" || end.Kind != "face.missing.end" {
			t.Fatalf("events %d,%d: %s, %s", 2*i, 2*i+1, open.Kind, end.Kind)
		}
		if d := open.MediaTime - a[0]; d < -500*time.Millisecond || d > 500*time.Millisecond {
			t.Errorf("absence %d: alert at %v, want %v", i, open.MediaTime, a[0])
		}
		if d := end.MediaTime - a[1]; d < -500*time.Millisecond || d > 500*time.Millisecond {
			t.Errorf("absence %d: end at %v, want %v", i, end.MediaTime, a[1])
		}
		if open.Room != "room-1" || open.Participant != "customer" || open.Source != pipeline.OriginAuto || open.WallTime.IsZero() {
			t.Errorf("event not filled in: %+v", open)
		}
	}
	ms, err := store.List(context.Background(), "rec-live")
	if err != nil || len(ms) != len(evs) || ms[0].Kind != "face.missing" || ms[0].Source != pipeline.OriginAuto {
		t.Errorf("markers %+v, %v: want one per event", ms, err)
	}
	fmt.Printf("live alert latency over %d alerts: confirming frame -> NATS subscriber p95 %v; first frame showing the condition -> subscriber p95 %v (includes the %v debounce)\n",
		len(lat), p95(lat).Round(time.Millisecond), p95(onset).Round(time.Millisecond), debounce)
}

type recorder struct {
	mu  sync.Mutex
	got []pipeline.Event
}

func (r *recorder) PushAlert(_ context.Context, tenant, room string, e pipeline.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tenant != "bank-a" || room != e.Room {
		return fmt.Errorf("pushed to %s/%s", tenant, room)
	}
	r.got = append(r.got, e)
	return nil
}

// Forward delivers a tenant's events to the signaling side's pusher, and
// another tenant's events are not delivered.
func TestForward(t *testing.T) {
	nc, _ := natstest.Start(t)
	rec := &recorder{}
	sub, err := natsevents.Forward(context.Background(), nc, "bank-a", "", rec, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := natsevents.NewPublisher(nc)
	ev := pipeline.Event{Kind: "face.missing", Source: pipeline.OriginAuto, Room: "r.1", MediaTime: time.Second}
	if err := pub.Publish("bank-b", ev); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("bank-a", ev); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("bank-a", pipeline.Event{Kind: ""}); err == nil {
		t.Error("invalid event published")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec.mu.Lock()
		n := len(rec.got)
		rec.mu.Unlock()
		if n >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = nc.Flush()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) != 1 || rec.got[0].Room != "r.1" || rec.got[0].MediaTime != time.Second {
		t.Fatalf("pushed %+v", rec.got)
	}
	if s := natsevents.Subject("bank a", "r.1"); s != "witness.events.bank_a.r_1" {
		t.Errorf("subject %q", s)
	}
}

// BenchmarkAlertLatency reports the p95 latency from the confirming frame
// to the NATS subscriber, playing the clip in real time.
func BenchmarkAlertLatency(b *testing.B) {
	var all []time.Duration
	for i := 0; i < b.N; i++ {
		_, lat, _ := liveRun(b, 1)
		all = append(all, lat...)
	}
	b.ReportMetric(float64(p95(all).Microseconds())/1000, "p95_ms")
}
