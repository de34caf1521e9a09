package rtcmount

import (
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
)

const chromium = "/usr/bin/chromium"

// page is a minimal DevTools Protocol connection to a Chromium page.
type page struct {
	ws  *websocket.Conn
	seq int
}

func (c *page) eval(expr string) (json.RawMessage, error) {
	c.seq++
	if err := c.ws.WriteJSON(map[string]any{"id": c.seq, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true}}); err != nil {
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

// openChromium opens url in headless Chromium with a fake camera and
// microphone from generated files.
func openChromium(t *testing.T, url string) *page {
	t.Helper()
	dir := t.TempDir()
	y4m, wav := filepath.Join(dir, "cam.y4m"), filepath.Join(dir, "mic.wav")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "3", "-pix_fmt", "yuv420p", y4m},
		{"-f", "lavfi", "-i", "sine=frequency=600:sample_rate=48000", "-t", "3", "-ac", "1", wav},
	} {
		if b, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, b)
		}
	}
	prof := t.TempDir()
	cmd := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		"--use-file-for-fake-video-capture="+y4m, "--use-file-for-fake-audio-capture="+wav,
		"--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
		"--autoplay-policy=no-user-gesture-required", "--remote-debugging-port=0", "--user-data-dir="+prof, url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	var port string
	waitFor(t, 30*time.Second, "Chromium's DevTools port", func() bool {
		b, err := os.ReadFile(filepath.Join(prof, "DevToolsActivePort"))
		port = strings.SplitN(string(b), "\n", 2)[0]
		return err == nil && port != ""
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
			if tg.Type == "page" && strings.Contains(tg.URL, "/rtc/") {
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
	return &page{ws: ws}
}

// TestBrowserCustomerPageUnderMount: the customer opens the link the
// control plane issued (/rtc/customer.html#token=...) in Chromium; the
// page finds its WebSocket under the mount, publishes its camera and
// microphone to the pion agent and plays the agent's video.
func TestBrowserCustomerPageUnderMount(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium + " (apt-get install chromium)")
	}
	needFFmpeg(t)
	e := start(t, testConfig(t))
	_, _, _, ct := e.answeredCall(false)
	ivf, ogg := genMedia(t, t.TempDir(), "agent", 440)
	a := joinAndPublish(t, ct.WSURL, ct.AgentToken, "agent", ivf, ogg)
	defer a.leave()
	pg := openChromium(t, strings.Replace(ct.CustomerURL, "#token=", "#rawaudio=1&token=", 1))
	waitFor(t, 60*time.Second, "the browser's media at the agent", func() bool { return a.received.Load() > 100 })
	waitFor(t, 60*time.Second, "the agent's video to play in the browser", func() bool {
		v, err := pg.eval(`window.witnessState && window.witnessState.joined && window.witnessState.remoteVideoPlaying`)
		return err == nil && string(v) == "true"
	})
}
