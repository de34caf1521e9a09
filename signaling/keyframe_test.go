package signaling_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

// askedPublisher sends VP8 like a browser does: one keyframe when asked
// (PLI), deltas otherwise, no periodic keyframes. drop makes it ignore
// the next PLIs, as a lost RTCP packet or a throttled request would.
type askedPublisher struct {
	plis, drop atomic.Int32
	want       atomic.Bool
}

func (ap *askedPublisher) run(ctx context.Context, t *testing.T, tr *webrtc.TrackLocalStaticSample, sender *webrtc.RTPSender) {
	ivf := filepath.Join(t.TempDir(), "onekey.ivf")
	// One keyframe (frame 0), then deltas only.
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=0x20C040:s=320x240:r=15",
		"-t", "2", "-c:v", "libvpx", "-b:v", "200k", "-g", "1000", "-deadline", "realtime", "-auto-alt-ref", "0", ivf).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	frames := ivfFrames(t, ivf)
	if len(frames) < 10 || frames[0][0]&1 != 0 {
		t.Fatalf("%d frames, first not a keyframe", len(frames))
	}
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					ap.plis.Add(1)
					if ap.drop.Load() > 0 {
						ap.drop.Add(-1)
						continue
					}
					ap.want.Store(true)
				}
			}
		}
	}()
	go func() {
		tick := time.NewTicker(time.Second / 15)
		defer tick.Stop()
		i := 1
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			b := frames[i]
			if ap.want.Swap(false) {
				b = frames[0]
			} else if i++; i == len(frames) {
				i = 1
			}
			_ = tr.WriteSample(media.Sample{Data: b, Duration: time.Second / 15})
		}
	}()
}

// TestKeyframeRetry: a subscriber that turns a video back on waits for a
// keyframe; when the publisher does not answer the first request, the
// server must ask again, or that subscriber never gets video back (seen
// in the desk e2e: the phone's audio-only off, under load).
func TestKeyframeRetry(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "kf", "agent1", "agent", nil, nil)
	c := join(t, ts, "kf", "cust1", "customer", nil, nil)
	vt, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam-asked", "st-asked")
	pctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	senders, err := a.Publish(ctx(t), client.Track{Track: vt, Source: signaling.SourceCamera})
	if err != nil {
		t.Fatal(err)
	}
	ap := &askedPublisher{}
	ap.run(pctx, t, vt, senders[0])
	waitFor(t, 10*time.Second, "the agent's video at the customer", func() bool { return c.from(a.ID(), "video") != nil })
	got := c.from(a.ID(), "video")
	waitFlowing(t, got, "agent video")

	vid := got.info.ID
	off, on := false, true
	if _, err := c.Request(ctx(t), signaling.TSubscribe, signaling.SubscribeReq{Participant: a.ID(), TrackID: vid, Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, got, "unsubscribed video")
	before := ap.plis.Load()
	ap.drop.Store(1)
	if _, err := c.Request(ctx(t), signaling.TSubscribe, signaling.SubscribeReq{Participant: a.ID(), TrackID: vid, Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	waitFlowing(t, got, "video turned back on, first keyframe request unanswered")
	if n := ap.plis.Load() - before; n < 2 {
		t.Fatalf("%d keyframe requests after turning the video on; want the unanswered one and a retry", n)
	}
}
