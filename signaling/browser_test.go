package signaling_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/testkit/browser"
	"github.com/witness-media/witness/signaling"
)

// TestBrowserCall: headless Chromium joins as the customer (fake camera
// and microphone from generated files), a pion client as the agent; media
// flows both ways and the server's recording shows both parties.
func TestBrowserCall(t *testing.T) {
	if _, err := os.Stat(browser.Chromium); err != nil {
		t.Skip("skipping the browser test: " + browser.Chromium + " is absent (apt-get install chromium)")
	}
	cust := source{"green-browser", [3]uint8{20, 200, 40}, 500, "VP8"}
	y4m, wav := browser.FakeMedia(t, "color=c=0x14C828:s=320x240:r=15", "sine=frequency=500:sample_rate=48000", 3)
	h := &hooks{}
	ts, _ := recordingServer(t, h, func(c *signaling.Config) { c.Recording.PerParticipant = false; c.Recording.ScreenshotInterval = 0 })
	agent := join(t, ts, "web1", "agent1", "agent", nil, nil)
	agent.publish(t, palette[0], true, true) // red, 300 Hz
	url := ts.Base + "/customer.html#rawaudio=1&token=" + ts.token(t, "web1", "cust-browser", "customer", nil)
	page := browser.Open(t, url, ".html", y4m, wav)

	// The browser publishes: the agent decodes its camera and microphone.
	var custID string
	waitFor(t, 30*time.Second, "the browser customer to join", func() bool {
		info, _ := ts.Room("web1")
		for _, p := range info.Participants {
			if p.Identity == "cust-browser" {
				custID = p.ID
			}
		}
		return custID != ""
	})
	checkMedia(t, agent, custID, cust, true, true)

	// The browser receives: the agent's video plays and is red.
	waitFor(t, 30*time.Second, "the agent's video to play in the browser", func() bool {
		v, err := page.Eval(`window.witnessState && window.witnessState.remoteVideoPlaying`)
		return err == nil && string(v) == "true"
	})
	v, err := page.Eval(`(() => { const v = document.getElementById("remote"); const c = document.createElement("canvas");
		c.width = 32; c.height = 24; const g = c.getContext("2d"); g.drawImage(v, 0, 0, 32, 24);
		const d = g.getImageData(0, 0, 32, 24).data; let s = [0, 0, 0];
		for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i+1]; s[2] += d[i+2]; }
		return s.map(x => x / (d.length / 4)); })()`)
	if err != nil {
		t.Fatal(err)
	}
	var rgb [3]float64
	if err := json.Unmarshal(v, &rgb); err != nil || !colourClose(rgb, palette[0].RGB) {
		t.Fatalf("browser shows the agent as %s, want red %v", v, palette[0].RGB)
	}
	// Stats reach the page every 2 s.
	waitFor(t, 10*time.Second, "stats in the browser", func() bool {
		v, err := page.Eval(`!!(window.witnessState.stats && window.witnessState.stats.participants.length >= 2)`)
		return err == nil && string(v) == "true"
	})
	time.Sleep(3 * time.Second)
	if _, err := agent.Request(context.Background(), signaling.TRecord, signaling.RecordReq{Action: "stop"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the recording", func() bool { return len(h.kind("composite")) == 1 })
	frames := compositeFrames(t, h.kind("composite")[0].Path)
	both := 0
	for _, f := range frames {
		if colourClose(f.left, palette[0].RGB) && colourClose(f.right, cust.RGB) {
			both++
		}
	}
	t.Logf("recording: %d frames, %d show agent (red) and browser customer (green)", len(frames), both)
	if both < 30 {
		t.Errorf("only %d frames of the recording show both parties", both)
	}
	voicesIn(t, h.kind("composite")[0].Path, 300, 500) // the agent's and the browser's voices
}
