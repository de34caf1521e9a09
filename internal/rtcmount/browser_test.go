package rtcmount

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/testkit/browser"
)

// TestBrowserCustomerPageUnderMount: the customer opens the link the
// control plane issued (/rtc/customer.html#token=...) in Chromium; the
// page finds its WebSocket under the mount, publishes its camera and
// microphone to the pion agent and plays the agent's video.
func TestBrowserCustomerPageUnderMount(t *testing.T) {
	if _, err := os.Stat(browser.Chromium); err != nil {
		t.Skip("no " + browser.Chromium + " (apt-get install chromium)")
	}
	needFFmpeg(t)
	e := start(t, testConfig(t))
	_, _, _, ct := e.answeredCall(false)
	ivf, ogg := genMedia(t, t.TempDir(), "agent", 440)
	a := joinAndPublish(t, ct.WSURL, ct.AgentToken, "agent", ivf, ogg)
	defer a.leave()
	y4m, wav := browser.FakeMedia(t, "testsrc=size=320x240:rate=15", "sine=frequency=600:sample_rate=48000", 3)
	pg := browser.Open(t, strings.Replace(ct.CustomerURL, "#token=", "#rawaudio=1&token=", 1), "/rtc/", y4m, wav)
	waitFor(t, 60*time.Second, "the browser's media at the agent", func() bool { return a.received.Load() > 100 })
	waitFor(t, 60*time.Second, "the agent's video to play in the browser", func() bool {
		v, err := pg.Eval(`window.witnessState && window.witnessState.joined && window.witnessState.remoteVideoPlaying`)
		return err == nil && string(v) == "true"
	})
}
