package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/witness-media/witness/signaling"
)

const chromium = "/usr/bin/chromium"

// cdp is a minimal Chrome DevTools Protocol client: enough to evaluate
// expressions in the test page.
type cdp struct {
	ws  *websocket.Conn
	seq int
}

func (c *cdp) eval(expr string) (json.RawMessage, error) {
	c.seq++
	if err := c.ws.WriteJSON(map[string]any{"id": c.seq, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}}); err != nil {
		return nil, err
	}
	for {
		var m struct {
			ID     int `json:"id"`
			Result struct {
				Result struct {
					Value json.RawMessage `json:"value"`
				} `json:"result"`
				Exception *struct {
					Text string `json:"text"`
				} `json:"exceptionDetails"`
			} `json:"result"`
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		if err := c.ws.ReadJSON(&m); err != nil {
			return nil, err
		}
		if m.ID == c.seq {
			if m.Result.Exception != nil {
				return nil, fmt.Errorf("page exception: %s", m.Result.Exception.Text)
			}
			return m.Result.Result.Value, nil
		}
	}
}

// startChromium opens url in headless Chromium with generated fake
// camera/microphone files and returns a DevTools connection to the page.
func startChromium(t *testing.T, url, y4m, wav string) *cdp {
	t.Helper()
	prof := t.TempDir()
	cmd := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		"--use-file-for-fake-video-capture="+y4m, "--use-file-for-fake-audio-capture="+wav,
		"--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
		"--autoplay-policy=no-user-gesture-required",
		"--remote-debugging-port=0", "--user-data-dir="+prof, url)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	var port string
	waitFor(t, 30*time.Second, "Chromium's DevTools port", func() bool {
		b, err := os.ReadFile(filepath.Join(prof, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		port = strings.SplitN(string(b), "\n", 2)[0]
		return port != ""
	})
	var wsURL string
	waitFor(t, 30*time.Second, "the page target", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var targets []struct {
			Type, URL            string
			WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&targets)
		for _, tg := range targets {
			if tg.Type == "page" && strings.Contains(tg.URL, ".html") {
				wsURL = tg.WebSocketDebuggerURL
			}
		}
		return wsURL != ""
	})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &cdp{ws: ws}
}

// TestBrowserCall: headless Chromium joins as the customer (fake camera
// and microphone from generated files), a pion client as the agent; media
// flows both ways and the server's recording shows both parties.
func TestBrowserCall(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("skipping the browser test: " + chromium + " is absent (apt-get install chromium)")
	}
	dir := t.TempDir()
	cust := source{"green-browser", [3]uint8{20, 200, 40}, 500, "VP8"}
	y4m, wav := filepath.Join(dir, "cam.y4m"), filepath.Join(dir, "mic.wav")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "color=c=0x14C828:s=320x240:r=15", "-t", "3", "-pix_fmt", "yuv420p", y4m},
		{"-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000", "-t", "3", "-ac", "1", wav},
	} {
		if b, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, b)
		}
	}
	h := &hooks{}
	ts, _ := recordingServer(t, h, func(c *signaling.Config) { c.Recording.PerParticipant = false; c.Recording.ScreenshotInterval = 0 })
	agent := join(t, ts, "web1", "agent1", "agent", nil, nil)
	agent.publish(t, palette[0], true, true) // red, 300 Hz
	url := ts.Base + "/customer.html#rawaudio=1&token=" + ts.token(t, "web1", "cust-browser", "customer", nil)
	page := startChromium(t, url, y4m, wav)

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
		v, err := page.eval(`window.witnessState && window.witnessState.remoteVideoPlaying`)
		return err == nil && string(v) == "true"
	})
	v, err := page.eval(`(() => { const v = document.getElementById("remote"); const c = document.createElement("canvas");
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
		v, err := page.eval(`!!(window.witnessState.stats && window.witnessState.stats.participants.length >= 2)`)
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
	if f, n := toneFreqs(t, h.kind("composite")[0].Path); n < 48000 || !f[300] || !f[500] {
		t.Errorf("recording audio: %v, want the agent's 300 Hz and the browser's 500 Hz", f)
	}
}
