package signaling_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/testkit/browser"
	"github.com/witness-media/witness/signaling"
)

// TestBrowserClientMethods: the call-control methods witness.js offers the
// web console (hold, record, sendFile, publishTrack / unpublishTrack for a
// screen share, replaceTrack for a camera switch), run in headless
// Chromium on the agent page against a pion customer that checks what
// arrives.
func TestBrowserClientMethods(t *testing.T) {
	if _, err := os.Stat(browser.Chromium); err != nil {
		t.Skip("skipping the browser test: " + browser.Chromium + " is absent (apt-get install chromium)")
	}
	y4m, wav := browser.FakeMedia(t, "color=c=0x14C828:s=320x240:r=15", "sine=frequency=500:sample_rate=48000", 2)
	h := &hooks{}
	ts, _ := recordingServer(t, h, func(c *signaling.Config) { c.Recording.PerParticipant = false; c.Recording.ScreenshotInterval = 0 })
	cust := join(t, ts, "wc1", "cust1", "customer", nil, nil)
	cust.publish(t, palette[2], true, true)
	page := browser.Open(t, ts.Base+"/agent.html#token="+ts.token(t, "wc1", "agent-web", signaling.RoleAgent, nil), ".html", y4m, wav)
	waitFor(t, 30*time.Second, "the agent page to join", func() bool {
		v, err := page.Eval(`!!(window.witnessState && window.witnessState.joined)`)
		return err == nil && string(v) == "true"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	eval := func(what, expr string) json.RawMessage {
		t.Helper()
		v, err := page.Eval(expr)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	wait := func(typ string, match func(json.RawMessage) bool) {
		t.Helper()
		if _, err := cust.WaitMessage(ctx, typ, match); err != nil {
			t.Fatalf("customer waiting for %s: %v", typ, err)
		}
	}
	field := func(raw json.RawMessage, v any) bool { return json.Unmarshal(raw, v) == nil }

	// Hold on and off reach the customer.
	eval("hold", `witnessCall.hold(true).then(() => true)`)
	wait(signaling.THoldState, func(d json.RawMessage) bool { var x signaling.HoldReq; return field(d, &x) && x.On })
	eval("unhold", `witnessCall.hold(false).then(() => true)`)
	wait(signaling.THoldState, func(d json.RawMessage) bool { var x signaling.HoldReq; return field(d, &x) && !x.On })

	// Recording segments: stop the first, start the second.
	eval("record stop", `witnessCall.record("stop").then(() => true)`)
	wait(signaling.TRecording, func(d json.RawMessage) bool {
		var x struct {
			Segment int
			State   string
		}
		return field(d, &x) && x.Segment == 1 && x.State == "stopping"
	})
	eval("record start", `witnessCall.record("start").then(() => true)`)
	wait(signaling.TRecording, func(d json.RawMessage) bool { var x signaling.RecordingInfo; return field(d, &x) && x.Segment == 2 })

	// A file in three chunks (over 96 KiB): the finished FileInfo carries
	// the sha256 of the bytes sent; the customer gets the file message.
	png, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
	body := append(png, make([]byte, 100<<10)...)
	sum := sha256.Sum256(body)
	var fi signaling.FileInfo
	v := eval("sendFile", fmt.Sprintf(`(async () => {
		const b = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
		const all = new Uint8Array(b.length + %d); all.set(b);
		const steps = [];
		const fi = await witnessCall.sendFile(new File([all], "form.png", {type: "image/png"}), undefined, (r, n) => steps.push(r));
		fi.steps = steps.length; return fi; })()`, base64.StdEncoding.EncodeToString(png), 100<<10))
	var steps struct{ Steps int }
	if !field(v, &fi) || !field(v, &steps) || fi.State != "done" || fi.SHA256 != hex.EncodeToString(sum[:]) || fi.Size != int64(len(body)) || steps.Steps != 3 {
		t.Fatalf("sendFile: %s, want done, %d bytes in 3 chunks, sha256 %x", v, len(body), sum)
	}
	wait(signaling.TChat, func(d json.RawMessage) bool {
		var m signaling.ChatMessage
		return field(d, &m) && m.Kind == "file" && m.File != nil && m.File.ID == fi.ID
	})

	// Screen share: a canvas track published as "screen" reaches the
	// customer as a second video track, then goes away.
	eval("publishTrack", `(async () => {
		const c = document.createElement("canvas"); c.width = 320; c.height = 240;
		const g = c.getContext("2d"); window.__paint = setInterval(() => { g.fillStyle = "#f00"; g.fillRect(0, 0, 320, 240); g.fillStyle = "#fff"; g.fillRect(Math.random() * 300, 0, 20, 20); }, 50);
		const tr = c.captureStream(15).getVideoTracks()[0];
		window.__screen = await witnessCall.publishTrack(tr, "screen");
		return tr.id; })()`)
	var screenID string
	wait(signaling.TTrack, func(d json.RawMessage) bool {
		var x signaling.TrackInfo
		if field(d, &x) && x.Source == signaling.SourceScreen {
			screenID = x.ID
			return true
		}
		return false
	})
	waitFor(t, 30*time.Second, "screen packets at the customer", func() bool {
		cust.mu.Lock()
		defer cust.mu.Unlock()
		for _, r := range cust.got {
			if r.info.ID == screenID && r.packets.Load() > 20 {
				return true
			}
		}
		return false
	})
	eval("unpublishTrack", `witnessCall.unpublishTrack(window.__screen).then(() => true)`)
	wait(signaling.TTrackGone, func(d json.RawMessage) bool { var x signaling.TrackInfo; return field(d, &x) && x.ID == screenID })

	// Camera switch: the camera track is replaced by the canvas; the
	// customer keeps receiving the same server track.
	var camTrack *received
	for _, r := range func() []*received {
		cust.mu.Lock()
		defer cust.mu.Unlock()
		return append([]*received(nil), cust.got...)
	}() {
		if r.kind == "video" && r.info.Source == signaling.SourceCamera {
			camTrack = r
		}
	}
	if camTrack == nil {
		t.Fatal("the customer has no camera track from the agent page")
	}
	eval("replaceTrack", `(async () => {
		const c = document.createElement("canvas"); c.width = 320; c.height = 240; const g = c.getContext("2d");
		setInterval(() => { g.fillStyle = "#00f"; g.fillRect(0, 0, 320, 240); }, 50);
		await witnessCall.replaceTrack("video", c.captureStream(15).getVideoTracks()[0]);
		return witnessCall.stream.getVideoTracks().length; })()`)
	before := camTrack.packets.Load()
	waitFor(t, 20*time.Second, "camera packets after the switch", func() bool { return camTrack.packets.Load() > before+30 })
	if v := eval("errors", `window.witnessState.errors.length`); string(v) != "0" {
		t.Errorf("page errors: %s", eval("errors", `JSON.stringify(window.witnessState.errors)`))
	}
}
