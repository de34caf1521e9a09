package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/witness-media/witness/analyzers/natsevents"
	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/internal/testkit/natstest"
	"github.com/witness-media/witness/markers"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

// The customer (the astronaut photograph) is away from the camera during
// these intervals of the clip; clean before, between and after.
var away = [][2]time.Duration{
	{2500 * time.Millisecond, 3700 * time.Millisecond},
	{4900 * time.Millisecond, 6100 * time.Millisecond},
	{7300 * time.Millisecond, 8500 * time.Millisecond},
}

const (
	clipFPS   = 10
	clipLen   = 10 * time.Second
	debounceT = 600 * time.Millisecond // the test profile's min_duration and clear_after
)

// awayClip renders the clip (320x180, 10 fps) and encodes it to VP8 (IVF)
// with the ffmpeg CLI, a keyframe every 0.5 s so the server's decoder
// starts quickly whenever it joins.
func awayClip(t *testing.T) string {
	t.Helper()
	ph, err := testclip.LoadPhotos()
	if err != nil {
		t.Fatal(err)
	}
	defer ph.Close()
	c := &testclip.Clip{W: 320, H: 180, FPS: clipFPS, Duration: clipLen}
	c.Script = func(at time.Duration) ([]testclip.Layer, float64) {
		for _, a := range away {
			if at >= a[0] && at < a[1] {
				return nil, 1
			}
		}
		return []testclip.Layer{{Pic: &ph.Astronaut, Box: image.Rect(115, 25, 215, 155)}}, 1
	}
	defer c.Close()
	out := filepath.Join(t.TempDir(), "away.ivf")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", c.W, c.H), "-r", strconv.Itoa(c.FPS), "-i", "-",
		"-c:v", "libvpx", "-b:v", "400k", "-g", "5", "-deadline", "realtime", "-auto-alt-ref", "0", out)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < c.Frames(); i++ {
		if _, err := in.Write(c.Frame(i).Data); err != nil {
			break
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
	}
	return out
}

type gotAlert struct {
	a  signaling.Alert
	at time.Time // received by the agent's client
}

// A customer publishes a VP8 clip made from a real photograph in which she
// leaves the frame three times; an agent in the same room gets each
// face.missing alert once, near the frame where she left, and its end;
// the events are also on NATS and in the marker sidecar of the room's
// recording; the clean segments raise nothing. Latency is measured from
// the wall time the customer's client sent the frame showing the condition.
func TestLiveAnalysisAlerts(t *testing.T) {
	clip := awayClip(t)
	nc, _ := natstest.Start(t)
	room := "kyc-live"
	sub, err := nc.SubscribeSync(natsevents.Subject("bank1", room))
	if err != nil {
		t.Fatal(err)
	}
	recDir := t.TempDir()
	var fmu sync.Mutex
	var files []signaling.RecordingFile
	prof := signaling.DefaultProfile()
	// Every frame to the face analyzer (fps above the clip's 10: jittery
	// arrival times must not thin it), a shorter debounce than the default.
	prof.Analyzers[0].FPS = 15
	prof.Analyzers[0].Params = pipeline.Params{"min_duration": debounceT.String(), "clear_after": debounceT.String()}
	ts := newServer(t, func(c *signaling.Config) {
		c.Analysis = signaling.AnalysisConfig{Profile: prof, NATS: nc, Width: 320, Height: 180}
		c.Recording = signaling.RecordingConfig{Dir: recDir, Auto: true, Width: 640, Height: 240, FPS: 10, Bitrate: 300,
			OnFinalized: func(f signaling.RecordingFile) {
				fmu.Lock()
				files = append(files, f)
				fmu.Unlock()
			}}
	})

	agent := join(t, ts, room, "agent-7", signaling.RoleAgent, nil, nil)
	var amu sync.Mutex
	var alerts []gotAlert
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go func() {
		seen := map[string]bool{}
		for {
			m, err := agent.WaitMessage(ctx, signaling.TAlert, func(b json.RawMessage) bool { return !seen[string(b)] })
			if err != nil {
				return
			}
			now := time.Now()
			seen[string(m.Data)] = true
			var a signaling.Alert
			if err := json.Unmarshal(m.Data, &a); err != nil {
				t.Errorf("alert %s: %v", m.Data, err)
				continue
			}
			amu.Lock()
			alerts = append(alerts, gotAlert{a, now})
			amu.Unlock()
		}
	}()

	// A silent supervisor (hidden monitor) gets the alerts too.
	sup := join(t, ts, room, "sup-1", signaling.RoleSupervisor, func(c *signaling.Claims) { c.Hidden = true }, nil)
	customer := join(t, ts, room, "cust-1", signaling.RoleCustomer, nil, nil)
	vt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "st-cust")
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
	senders, err := customer.Publish(pctx, client.Track{Track: vt, Source: signaling.SourceCamera})
	pcancel()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range senders {
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := s.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	sent := sendClip(t, vt, clip)

	// 3 episodes: face.missing and its end each.
	want := 2 * len(away)
	deadline := time.Now().Add(30 * time.Second)
	for {
		amu.Lock()
		n := len(alerts)
		amu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // anything extra (a duplicate) would arrive now
	amu.Lock()
	got := append([]gotAlert(nil), alerts...)
	amu.Unlock()
	for _, g := range got {
		t.Logf("alert %-18s media %6.2fs onset %s", g.a.Kind, time.Duration(g.a.MediaTimeNS).Seconds(), g.a.Onset.Format("15:04:05.000"))
	}
	if len(got) != want {
		t.Fatalf("agent got %d alerts, want %d (face.missing and its end per episode, nothing on the clean segments)", len(got), want)
	}
	var raw, net []time.Duration
	for i, a := range away {
		for j, kind := range []string{"face.missing", "face.missing.end"} {
			g := got[2*i+j]
			if g.a.Kind != kind || g.a.Participant != customer.ID() || g.a.Role != signaling.RoleCustomer || g.a.Source != pipeline.OriginAuto {
				t.Fatalf("alert %d: %+v, want %s of the customer", 2*i+j, g.a, kind)
			}
			// The frame that first showed the condition (she left / came back).
			idx := int(a[j] * clipFPS / time.Second)
			sentAt := sent[idx]
			if d := g.a.Onset.Sub(sentAt); d < -150*time.Millisecond || d > 400*time.Millisecond {
				t.Errorf("%s of episode %d: onset %s is %v from the frame at %v (sent %s)", kind, i, g.a.Onset.Format("15:04:05.000"), d, a[j], sentAt.Format("15:04:05.000"))
			}
			raw = append(raw, g.at.Sub(sentAt))
			net = append(net, g.at.Sub(sentAt)-debounceT)
		}
		if d := time.Duration(got[2*i+1].a.MediaTimeNS - got[2*i].a.MediaTimeNS); d < a[1]-a[0]-250*time.Millisecond || d > a[1]-a[0]+250*time.Millisecond {
			t.Errorf("episode %d lasts %v on the media timeline, want %v", i, d, a[1]-a[0])
		}
	}
	if n := len(sup.Messages(signaling.TAlert)); n != want {
		t.Errorf("the hidden supervisor got %d alerts, want %d", n, want)
	}
	if n := len(customer.Messages(signaling.TAlert)); n != 0 {
		t.Errorf("the customer got %d alerts (agents and supervisors only)", n)
	}

	// NATS carried the same events.
	var kinds []string
	for len(kinds) < want {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("NATS after %d events: %v", len(kinds), err)
		}
		e, err := natsevents.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != strings.Repeat("face.missing,face.missing.end,", len(away)-1)+"face.missing,face.missing.end" {
		t.Errorf("NATS events %v", kinds)
	}

	// The room's recording: its analysis sidecar holds the events.
	customer.Close()
	agent.Close()
	sup.Close()
	var side string
	t.Cleanup(func() {
		if t.Failed() {
			_ = filepath.Walk(recDir, func(p string, _ os.FileInfo, _ error) error { t.Log("file ", p); return nil })
			fmu.Lock()
			t.Logf("finalised: %+v", files)
			fmu.Unlock()
		}
	})
	waitFor(t, 60*time.Second, "recording finalised with the analysis sidecar", func() bool {
		fmu.Lock()
		defer fmu.Unlock()
		for _, f := range files {
			if f.Kind == "markers" && strings.HasSuffix(f.Path, ".mp4.markers.json") {
				side = f.Path
			}
		}
		return side != ""
	})
	if _, err := os.Stat(strings.TrimSuffix(side, ".markers.json")); err != nil {
		t.Errorf("sidecar %s is not next to its recording: %v", side, err)
	}
	ms, err := (&markers.FileStore{Dir: filepath.Dir(side)}).List(context.Background(), strings.TrimSuffix(filepath.Base(side), ".markers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != want {
		t.Fatalf("sidecar has %d markers, want %d: %+v", len(ms), want, ms)
	}
	for i, m := range ms {
		wantKind := []string{"face.missing", "face.missing.end"}[i%2]
		if m.Kind != wantKind || m.Source != pipeline.OriginAuto || m.Participant != customer.ID() {
			t.Errorf("marker %d: %+v, want %s (auto)", i, m, wantKind)
		}
		if i >= 2 {
			spacing := away[i/2][i%2] - away[i/2-1][i%2]
			if d := m.At - ms[i-2].At; d < spacing-250*time.Millisecond || d > spacing+250*time.Millisecond {
				t.Errorf("marker %d at %v, %v after the previous episode's, want %v", i, m.At, d, spacing)
			}
		}
	}
	fmt.Printf("live alert latency, %d alerts (%d episodes, start and end), frame sent by the customer -> alert at the agent: raw p95 %v (max %v), net of the %v debounce p95 %v, median %v\n",
		len(raw), len(away), pct(raw, 95), pct(raw, 100), debounceT, pct(net, 95), pct(net, 50))
	// bench/alerts.sh collects the samples of several runs.
	if path := os.Getenv("WITNESS_ALERT_SAMPLES"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		for i := range raw {
			fmt.Fprintf(f, "%d %d\n", raw[i].Milliseconds(), net[i].Milliseconds())
		}
		f.Close()
	}
	if p := pct(net, 95); p > 300*time.Millisecond {
		t.Logf("net p95 %v is over the 300 ms target on this (loaded) machine", p)
	}
}

// sendClip sends the IVF's frames at the clip's rate once, returning the
// wall time each frame index was handed to the track.
func sendClip(t *testing.T, tr *webrtc.TrackLocalStaticSample, path string) map[int]time.Time {
	t.Helper()
	frames := ivfFrames(t, path)
	sent := map[int]time.Time{}
	tick := time.NewTicker(time.Second / clipFPS)
	defer tick.Stop()
	for i, b := range frames {
		<-tick.C
		sent[i] = time.Now()
		if err := tr.WriteSample(media.Sample{Data: b, Duration: time.Second / clipFPS}); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	return sent
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[max(0, (len(s)*p+99)/100-1)].Round(time.Millisecond)
}
