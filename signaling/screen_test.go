package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

// TestScreenShare: a screen share is one more published track (source
// screen) next to the camera; the other side receives both, each with its
// own picture.
func TestScreenShare(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "s1", "agent1", "agent", nil, nil)
	c := join(t, ts, "s1", "cust1", "customer", nil, nil)
	a.publish(t, palette[0], true, false) // camera: red
	checkMedia(t, c, a.ID(), palette[0], true, false)
	screen := palette[3] // yellow
	vpath, _ := screen.media(t)
	tr, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "screen-agent1", "st-agent1")
	if _, err := a.Publish(ctx(t), client.Track{Track: tr, Source: signaling.SourceScreen}); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go loopVideo(sctx, tr, vpath, "VP8")
	var got *received
	waitFor(t, 30*time.Second, "the screen share at the customer", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, r := range c.got {
			if r.info.Source == signaling.SourceScreen && r.packets.Load() > keepPackets("video") {
				got = r
			}
		}
		return got != nil
	})
	col, frames := meanColour(t, got.path)
	if frames < 10 || !colourClose(col, screen.RGB) {
		t.Fatalf("screen share decoded as %.0f over %d frames, want yellow", col, frames)
	}
	// The camera keeps going alongside.
	var cam *received
	c.mu.Lock()
	for _, r := range c.got {
		if r.info.Source == signaling.SourceCamera && r.info.Participant == a.ID() {
			cam = r
		}
	}
	c.mu.Unlock()
	if !flowing(cam, time.Second) {
		t.Fatal("camera stopped when the screen share started")
	}
}
