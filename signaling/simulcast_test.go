package signaling_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
	"github.com/witness-media/witness/signaling"
)

// sendLayer loops an IVF file as one simulcast encoding, putting the mid
// and rid header extensions on every packet (pion leaves that to the
// sender).
func sendLayer(ctx context.Context, tr *webrtc.TrackLocalStaticRTP, sender *webrtc.RTPSender, mid, path string) {
	var midID, ridID uint8
	for _, e := range sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	pk := rtp.NewPacketizer(1200, 96, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		r, _, err := ivfreader.NewWith(f)
		for err == nil && ctx.Err() == nil {
			var frame []byte
			if frame, _, err = r.ParseNextFrame(); err != nil {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
			for _, p := range pk.Packetize(frame, 90000/15) {
				_ = p.Header.SetExtension(midID, []byte(mid))
				_ = p.Header.SetExtension(ridID, []byte(tr.RID()))
				_ = tr.WriteRTP(p)
			}
		}
		f.Close()
	}
}

// TestSimulcastLayerSwitch: the publisher sends three layers, each its own
// colour (f red 320x240, h green 160x120, q blue 80x60). A subscriber gets
// the best layer, switches to q on request, and its one stream decodes as
// red, then blue.
func TestSimulcastLayerSwitch(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "sc", "agent1", "agent", nil, nil)
	c := join(t, ts, "sc", "cust1", "customer", nil, nil)
	c.keepVideo = 200
	type lay struct {
		rid  string
		col  string
		w, h int
	}
	var tracks []*webrtc.TrackLocalStaticRTP
	var locals []webrtc.TrackLocal
	var files []string
	for _, l := range []lay{{"f", "0xE61414", 320, 240}, {"h", "0x14C828", 160, 120}, {"q", "0x1E28DC", 80, 60}} {
		out := filepath.Join(t.TempDir(), l.rid+".ivf")
		args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:s=%dx%d:r=15", l.col, l.w, l.h),
			"-t", "4", "-c:v", "libvpx", "-b:v", "100k", "-g", "15", "-deadline", "realtime", "-auto-alt-ref", "0", out}
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, b)
		}
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam-sc", "st-sc", webrtc.WithRTPStreamID(l.rid))
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
		locals = append(locals, tr)
		files = append(files, out)
	}
	sender, err := a.PublishSimulcast(ctx(t), signaling.SourceCamera, locals...)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		b := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(b); err != nil {
				return
			}
		}
	}()
	var mid string
	for _, tr := range a.Pub.GetTransceivers() {
		if tr.Sender() == sender {
			mid = tr.Mid()
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for i, tr := range tracks {
		go sendLayer(sctx, tr, sender, mid, files[i])
	}
	waitFor(t, 30*time.Second, "all three layers at the server", func() bool {
		info, _ := ts.Room("sc")
		for _, tr := range info.Tracks {
			if tr.Kind == "video" && len(tr.Layers) == 3 {
				return true
			}
		}
		return false
	})
	waitFor(t, 30*time.Second, "the subscriber to receive the simulcast track", func() bool {
		r := c.from(a.ID(), "video")
		return r != nil && r.packets.Load() > 40
	})
	r := c.from(a.ID(), "video")
	if _, err := c.Request(ctx(t), signaling.TSubscribe, signaling.SubscribeReq{Participant: a.ID(), TrackID: r.info.ID, Layer: "q"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 40*time.Second, "200 video packets", func() bool { return r.packets.Load() > 200 })
	var seq []byte
	_, err = av.Decode(context.Background(), r.path, av.Options{Video: true, VideoFormat: pipeline.PixelRGBA, Width: 16, Height: 12}, func(it *av.Item) error {
		f := it.Video
		if f == nil {
			return nil
		}
		var s [3]float64
		for i := 0; i < len(f.Data); i += 4 {
			s[0] += float64(f.Data[i])
			s[1] += float64(f.Data[i+1])
			s[2] += float64(f.Data[i+2])
		}
		n := float64(len(f.Data) / 4)
		c := [3]float64{s[0] / n, s[1] / n, s[2] / n}
		switch {
		case colourClose(c, [3]uint8{230, 20, 20}):
			seq = append(seq, 'R')
		case colourClose(c, [3]uint8{30, 40, 220}):
			seq = append(seq, 'B')
		default:
			seq = append(seq, '?')
		}
		return nil
	})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	t.Logf("decoded over time (R = layer f, B = layer q): %s", seq)
	first, last, odd := -1, -1, 0
	for i, b := range seq {
		switch b {
		case 'B':
			if first < 0 {
				first = i
			}
		case 'R':
			last = i
		default:
			odd++
		}
	}
	if first < 5 || last < 5 || last > first || odd > 2 {
		t.Fatalf("want red frames, then blue after the switch, no broken frames; got %s", seq)
	}
}
