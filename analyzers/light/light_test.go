package light

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
)

// run feeds frames of a generated clip through the registered analyzer in a
// graph and returns the events.
func run(t *testing.T, launch string, params pipeline.Params) []pipeline.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := gst.NewFromLaunch("light", launch+" ! videoconvert ! video/x-raw,format=RGBA ! appsink name=out sync=false", gst.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sink, err := p.Sink("out")
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyzers.New("light", analyzers.Session{Room: "r1", Participant: "customer"}, params)
	if err != nil {
		t.Fatal(err)
	}
	var events []pipeline.Event
	g := pipeline.NewGraph("t", nil)
	must(t, g.AddSource("cam", sink))
	must(t, g.AddStage("light", analyzers.AsStage(a, analyzers.Session{Room: "r1", Participant: "customer"}), pipeline.InputOptions{Block: true}))
	must(t, g.AddStage("events", pipeline.StageFunc(func(_ context.Context, in pipeline.Packet, _ pipeline.Emit) error {
		events = append(events, *in.Event)
		return nil
	}), pipeline.InputOptions{Block: true}))
	must(t, g.Connect("cam", "light"))
	must(t, g.Connect("light", "events"))
	must(t, p.Start(ctx))
	must(t, g.Run(ctx))
	return events
}

func TestDarkVideoFiresOncePerEpisode(t *testing.T) {
	// 3 s of near-black: one episode, reported at its start (t=0).
	ev := run(t, "videotestsrc pattern=black num-buffers=75 ! video/x-raw,width=64,height=48,framerate=25/1", nil)
	if len(ev) != 1 || ev[0].Kind != "light.dark" || ev[0].MediaTime != 0 {
		t.Fatalf("events %+v, want one light.dark at 0", ev)
	}
	if ev[0].Room != "r1" || ev[0].Participant != "customer" || ev[0].Source != pipeline.OriginAuto || ev[0].WallTime.IsZero() {
		t.Fatalf("host did not fill the event: %+v", ev[0])
	}
	if !strings.Contains(string(ev[0].Data), `"luma":0,`) {
		t.Fatalf("data %s", ev[0].Data)
	}
}

func TestBrightAndNormalVideo(t *testing.T) {
	if ev := run(t, "videotestsrc pattern=white num-buffers=50 ! video/x-raw,width=64,height=48,framerate=25/1", nil); len(ev) != 1 || ev[0].Kind != "light.bright" {
		t.Fatalf("white: %+v", ev)
	}
	if ev := run(t, "videotestsrc pattern=smpte num-buffers=50 ! video/x-raw,width=64,height=48,framerate=25/1", nil); len(ev) != 0 {
		t.Fatalf("colour bars are neither dark nor bright: %+v", ev)
	}
	// Too short: 0.6 s of black stays under the 1 s minimum.
	if ev := run(t, "videotestsrc pattern=black num-buffers=15 ! video/x-raw,width=64,height=48,framerate=25/1", nil); len(ev) != 0 {
		t.Fatalf("short dip alerted: %+v", ev)
	}
}

func TestROI(t *testing.T) {
	// Agent on the left in bright light, customer on the right in the dark:
	// the whole frame averages out, the customer's region does not.
	split := "videotestsrc pattern=white num-buffers=50 ! video/x-raw,width=64,height=48,framerate=25/1 ! c.sink_0 " +
		"videotestsrc pattern=black num-buffers=50 ! video/x-raw,width=32,height=48,framerate=25/1 ! c.sink_1 " +
		"compositor name=c sink_1::xpos=32 ! video/x-raw,width=64,height=48"
	if ev := run(t, split, nil); len(ev) != 0 {
		t.Fatalf("whole frame: %+v", ev)
	}
	if ev := run(t, split, pipeline.Params{"roi": []float64{0.5, 0, 0.5, 1}, "step": 1}); len(ev) != 1 || ev[0].Kind != "light.dark" {
		t.Fatalf("customer half: %+v", ev)
	}
	if ev := run(t, split, pipeline.Params{"roi": []float64{0, 0, 0.5, 1}}); len(ev) != 1 || ev[0].Kind != "light.bright" {
		t.Fatalf("agent half: %+v", ev)
	}
}

func TestBadParams(t *testing.T) {
	for _, p := range []pipeline.Params{
		{"roi": []float64{0.5, 0.5, 0.8, 0.8}},
		{"dark_below": 200.0, "bright_above": 100.0},
		{"darkbelow": 10.0},
	} {
		if _, err := analyzers.New("light", analyzers.Session{}, p); err == nil {
			t.Fatalf("params %v accepted", p)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
