// Package browser drives headless Chromium from Go tests through a minimal
// DevTools Protocol connection: open a page with a fake camera and
// microphone from generated files, then evaluate expressions in it.
// It is test support only (no cgo), shared by the signaling and rtcmount
// browser tests.
package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Chromium is the Debian browser the tests drive.
const Chromium = "/usr/bin/chromium"

// Page is a DevTools Protocol connection to one Chromium page.
type Page struct {
	ws  *websocket.Conn
	seq int
}

// Eval evaluates expr in the page (awaiting it when it is a promise) and
// returns its JSON value; a page exception is an error.
func (c *Page) Eval(expr string) (json.RawMessage, error) {
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

// FakeMedia writes a camera (y4m) and a mono 48 kHz microphone (wav) file
// of the given length from ffmpeg lavfi sources, e.g.
// "testsrc=size=320x240:rate=15" and "sine=frequency=600:sample_rate=48000".
func FakeMedia(t testing.TB, video, audio string, seconds int) (y4m, wav string) {
	t.Helper()
	dir := t.TempDir()
	y4m, wav = filepath.Join(dir, "cam.y4m"), filepath.Join(dir, "mic.wav")
	d := strconv.Itoa(seconds)
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", video, "-t", d, "-pix_fmt", "yuv420p", y4m},
		{"-f", "lavfi", "-i", audio, "-t", d, "-ac", "1", wav},
	} {
		if b, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, b)
		}
	}
	return y4m, wav
}

// Open opens url in headless Chromium with y4m and wav as the fake camera
// and microphone, and connects to the page target whose URL contains
// target. Chromium is killed when the test ends.
func Open(t testing.TB, url, target, y4m, wav string) *Page {
	t.Helper()
	// Its own profile dir, removed after the whole process group is gone:
	// Chromium's helper processes outlive a killed parent for a moment and
	// keep writing there, which failed t.TempDir's cleanup.
	prof, err := os.MkdirTemp("", "witness-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		"--use-file-for-fake-video-capture="+y4m, "--use-file-for-fake-audio-capture="+wav,
		"--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
		"--autoplay-policy=no-user-gesture-required",
		"--remote-debugging-port=0", "--user-data-dir="+prof, url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pg := -cmd.Process.Pid
		_ = syscall.Kill(pg, syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
		for i := 0; i < 100 && syscall.Kill(pg, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		for i := 0; i < 20 && os.RemoveAll(prof) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	var port string
	poll(t, 30*time.Second, "Chromium's DevTools port", func() bool {
		b, err := os.ReadFile(filepath.Join(prof, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		port = strings.SplitN(string(b), "\n", 2)[0]
		return port != ""
	})
	var wsURL string
	poll(t, 30*time.Second, "the page target", func() bool {
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
			if tg.Type == "page" && strings.Contains(tg.URL, target) {
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
	return &Page{ws: ws}
}

// poll waits for cond with a generous deadline (the machine may be loaded).
func poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
