package natsplugin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/natsplugin"
	"github.com/witness-media/witness/internal/testkit/natstest"
	"github.com/witness-media/witness/pipeline"
)

func startNATS(t *testing.T) (*nats.Conn, string) {
	t.Helper()
	nc, url := natstest.Start(t)
	natsplugin.SetConn(nc)
	return nc, url
}

// tone is 20 ms of a 440 Hz sine at the given level (dBFS), 16 kHz mono.
func tone(i int, dbfs float64) *pipeline.AudioFrame {
	const n = 320
	amp := math.Pow(10, dbfs/20) * math.Sqrt2 * 32767
	s := make([]int16, n)
	for k := range s {
		s[k] = int16(amp * math.Sin(2*math.Pi*440*float64(i*n+k)/16000))
	}
	return &pipeline.AudioFrame{Format: pipeline.SampleS16, SampleRate: 16000, Channels: 1, S16: s, PTS: time.Duration(i) * 20 * time.Millisecond}
}

// The Python example plugin (standard library only) gets audio over NATS
// and answers with events: 2 s quiet, 1 s loud, 2 s quiet give one
// plugin.loud at 2 s and its end at 3 s, with source "plugin".
func TestPythonLoudnessPlugin(t *testing.T) {
	_, url := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "examples/loudness.py", url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("plugin did not start: %q %v %s", line, err, stderr.String())
	}
	a, err := analyzers.New("nats", analyzers.Session{Tenant: "t", Room: "r", Participant: "customer"},
		pipeline.Params{"plugin": "loudness", "audio": true, "video": false, "timeout": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var evs []pipeline.Event
	for i := 0; i < 250; i++ {
		db := -40.0
		if i >= 100 && i < 150 {
			db = -6
		}
		if err := a.Audio(tone(i, db), func(e pipeline.Event) { evs = append(evs, e) }); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := natsplugin.PluginStats(a)
	t.Logf("stats %+v, events %+v", st, evs)
	if st.Timeouts != 0 || st.Errors != 0 || st.Sent != 25 || st.Replied != 25 {
		t.Fatalf("stats %+v (stderr %s)", st, stderr.String())
	}
	if len(evs) != 2 || evs[0].Kind != "plugin.loud" || evs[0].MediaTime != 2*time.Second || evs[0].Source != pipeline.OriginPlugin ||
		evs[1].Kind != "plugin.loud.end" || evs[1].MediaTime != 3*time.Second {
		t.Fatalf("events %+v", evs)
	}
}

// Frames travel as JPEG with their metadata (a Go plugin on the other end
// decodes them); a plugin that answers too late is skipped after the
// timeout, and one that is not running costs nothing.
func TestVideoAndTimeouts(t *testing.T) {
	nc, _ := startNATS(t)
	_, err := nc.QueueSubscribe(natsplugin.Subject("size", "video"), "witness.plugin.size", func(m *nats.Msg) {
		head, jpg, _ := bytes.Cut(m.Data, []byte("\n"))
		var meta natsplugin.Meta
		_ = json.Unmarshal(head, &meta)
		img, err := jpeg.Decode(bytes.NewReader(jpg))
		ev := map[string]any{"kind": "plugin.size", "media_time_ns": meta.PTS, "source": "auto",
			"data": map[string]any{"w": img.Bounds().Dx(), "h": img.Bounds().Dy(), "meta_w": meta.Width, "room": meta.Room, "err": err}}
		b, _ := json.Marshal(map[string]any{"events": []any{ev}})
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nc.Subscribe(natsplugin.Subject("slow", "video"), func(m *nats.Msg) {
		time.Sleep(2 * time.Second)
		_ = m.Respond([]byte(`{"events":[{"kind":"plugin.late","media_time_ns":0}]}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nc.Flush())
	f := &pipeline.VideoFrame{Format: pipeline.PixelRGB, Width: 64, Height: 48, Stride: [3]int{192}, Data: make([]byte, 64*48*3), PTS: 1500 * time.Millisecond}
	sess := analyzers.Session{Tenant: "t", Room: "room-7"}

	size, err := analyzers.New("nats", sess, pipeline.Params{"plugin": "size"})
	must(err)
	var evs []pipeline.Event
	must(size.Video(f, func(e pipeline.Event) { evs = append(evs, e) }))
	if len(evs) != 1 || evs[0].Source != pipeline.OriginPlugin || evs[0].MediaTime != f.PTS ||
		!strings.Contains(string(evs[0].Data), `"h":48`) || !strings.Contains(string(evs[0].Data), `"w":64`) || !strings.Contains(string(evs[0].Data), `"room":"room-7"`) {
		t.Fatalf("events %+v", evs)
	}

	slow, err := analyzers.New("nats", sess, pipeline.Params{"plugin": "slow", "timeout": "200ms"})
	must(err)
	start := time.Now()
	evs = nil
	must(slow.Video(f, func(e pipeline.Event) { evs = append(evs, e) }))
	if st, _ := natsplugin.PluginStats(slow); st.Timeouts != 1 || len(evs) != 0 {
		t.Fatalf("slow plugin: stats %+v events %v", st, evs)
	}
	t.Logf("slow plugin skipped after %v", time.Since(start))

	none, err := analyzers.New("nats", sess, pipeline.Params{"plugin": "absent"})
	must(err)
	must(none.Video(f, func(e pipeline.Event) { t.Errorf("event from nowhere: %+v", e) }))
	if st, _ := natsplugin.PluginStats(none); st.Timeouts != 1 {
		t.Fatalf("absent plugin: %+v", st)
	}
	if _, err := analyzers.New("nats", sess, pipeline.Params{"plugin": "a.b"}); err == nil {
		t.Fatal("bad plugin name accepted")
	}
}
