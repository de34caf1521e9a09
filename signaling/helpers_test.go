package signaling_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

var secret = []byte("test-secret-0123456789")

// source is one participant's generated media: a solid colour and a tone.
type source struct {
	Name  string
	RGB   [3]uint8
	Freq  float64
	Codec string // VP8 or H264
}

var palette = []source{
	{"red", [3]uint8{230, 20, 20}, 300, "VP8"},
	{"green", [3]uint8{20, 200, 40}, 500, "VP8"},
	{"blue", [3]uint8{30, 40, 220}, 700, "H264"},
	{"yellow", [3]uint8{230, 220, 20}, 900, "VP8"},
	{"magenta", [3]uint8{220, 30, 210}, 1100, "H264"},
	{"cyan", [3]uint8{20, 210, 220}, 1300, "VP8"},
	{"white", [3]uint8{235, 235, 235}, 1500, "VP8"},
	{"orange", [3]uint8{240, 130, 10}, 1700, "H264"},
}

var (
	mediaOnce sync.Map // file → *sync.Once
	mediaDir  string
)

// media generates (once per test binary) the source's video file (IVF for
// VP8, Annex-B for H.264, 320x240 15 fps, 1 s GOP) and Opus tone.
func (s source) media(t testing.TB) (video, audio string) {
	t.Helper()
	video = filepath.Join(mediaDir, s.Name+map[string]string{"VP8": ".ivf", "H264": ".h264"}[s.Codec])
	audio = filepath.Join(mediaDir, fmt.Sprintf("tone%g.ogg", s.Freq))
	gen := func(out string, args ...string) {
		o, _ := mediaOnce.LoadOrStore(out, &sync.Once{})
		o.(*sync.Once).Do(func() {
			cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, append(args, out)...)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg %s: %v\n%s", out, err, b)
			}
		})
	}
	col := fmt.Sprintf("color=c=0x%02X%02X%02X:s=320x240:r=15", s.RGB[0], s.RGB[1], s.RGB[2])
	if s.Codec == "VP8" {
		gen(video, "-f", "lavfi", "-i", col, "-t", "4", "-c:v", "libvpx", "-b:v", "200k", "-g", "15", "-deadline", "realtime", "-auto-alt-ref", "0")
	} else {
		gen(video, "-f", "lavfi", "-i", col, "-t", "4", "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "15", "-tune", "zerolatency", "-x264-params", "sliced-threads=0:slices=1", "-bsf:v", "h264_mp4toannexb", "-f", "h264")
	}
	gen(audio, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=48000", s.Freq), "-t", "4", "-c:a", "libopus", "-b:a", "48k", "-page_duration", "20000")
	return video, audio
}

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "sfu-media-")
	if err != nil {
		panic(err)
	}
	mediaDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// testServer runs a Server on loopback.
type testServer struct {
	*signaling.Server
	http *httptest.Server
	URL  string // ws://.../ws
	Base string
}

func newServer(t testing.TB, mod func(*signaling.Config)) *testServer {
	t.Helper()
	cfg := signaling.Config{Secret: secret, Loopback: true, IPs: []string{"127.0.0.1"}, StatsInterval: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := signaling.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(s)
	ts := &testServer{Server: s, http: h, URL: "ws" + strings.TrimPrefix(h.URL, "http") + "/ws", Base: h.URL}
	t.Cleanup(func() {
		_ = s.Close()
		h.Close()
	})
	return ts
}

func (ts *testServer) token(t testing.TB, room, identity, role string, mod func(*signaling.Claims)) string {
	c := signaling.Claims{Room: room, Identity: identity, Role: role, Tenant: "bank1"}
	if mod != nil {
		mod(&c)
	}
	tok, err := ts.Token(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// received is what a participant got from one remote track.
type received struct {
	info    signaling.TrackInfo
	kind    string
	mime    string
	path    string
	packets atomic.Int64
	written atomic.Int64 // packets written to path, from the first keyframe on
	last    atomic.Int64 // unix nanos of the last packet
}

// peer is a test participant: a client plus what it receives.
type peer struct {
	*client.Client
	name string
	mu   sync.Mutex
	got  []*received
	dir  string
	// keepVideo overrides how many video packets are written to the file.
	keepVideo int64
}

// join connects a participant that records every received track to a
// file (IVF / H.264 / Ogg) for decoding.
func join(t testing.TB, ts *testServer, room, name, role string, mod func(*signaling.Claims), opt func(*client.Options)) *peer {
	t.Helper()
	p := &peer{name: name, dir: t.TempDir()}
	o := client.Options{URL: ts.URL, Token: ts.token(t, room, name, role, mod), OnTrack: p.onTrack}
	if opt != nil {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Join(ctx, o)
	if err != nil {
		t.Fatalf("%s join: %v", name, err)
	}
	p.Client = c
	t.Cleanup(c.Close)
	return p
}

func (p *peer) onTrack(tr *webrtc.TrackRemote, info signaling.TrackInfo) {
	r := &received{info: info, kind: tr.Kind().String(), mime: tr.Codec().MimeType}
	p.mu.Lock()
	r.path = filepath.Join(p.dir, fmt.Sprintf("%d-%s", len(p.got), info.ID))
	p.got = append(p.got, r)
	p.mu.Unlock()
	var w interface {
		WriteRTP(*rtp.Packet) error
		Close() error
	}
	var err error
	switch strings.ToLower(r.mime) {
	case "video/vp8":
		r.path += ".ivf"
		w, err = ivfwriter.New(r.path, ivfwriter.WithCodec(webrtc.MimeTypeVP8))
	case "video/h264":
		r.path += ".h264"
		w, err = h264writer.New(r.path)
	case "audio/opus":
		r.path += ".ogg"
		w, err = oggwriter.New(r.path, 48000, 2)
	}
	if err != nil || w == nil {
		return
	}
	keep := keepPackets(r.kind) // written to the file; later ones only counted
	if r.kind == "video" && p.keepVideo > 0 {
		keep = p.keepVideo
	}
	n := 0
	// The writers drop everything before the first keyframe, so the kept
	// packets are counted from there: a subscriber that joins mid-stream
	// (or whose PLI is answered late on a loaded machine) must still get
	// a decodable file.
	started := r.kind != "video"
	var gotKey atomic.Bool
	if !started {
		// Ask for a keyframe until one comes: the publisher's first one
		// may have gone before this subscription (a browser sends the next
		// only when asked), and one PLI can be lost on a loaded machine.
		go func() {
			for range 120 {
				if gotKey.Load() || p.Sub.ConnectionState() == webrtc.PeerConnectionStateClosed {
					return
				}
				_ = p.Sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
				time.Sleep(500 * time.Millisecond)
			}
		}()
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			break
		}
		r.packets.Add(1)
		r.last.Store(time.Now().UnixNano())
		if !started {
			started = isKeyframeStart(r.mime, pkt.Payload)
			gotKey.Store(started)
		}
		if started && int64(n) < keep {
			_ = w.WriteRTP(pkt)
			n++
			r.written.Store(int64(n))
			if int64(n) == keep {
				_ = w.Close()
			}
		}
	}
	if int64(n) < keep {
		_ = w.Close()
	}
}

func keepPackets(kind string) int64 {
	if kind == "video" {
		return 60
	}
	return 100
}

// from returns what p received from publisher id, by kind.
func (p *peer) from(id, kind string) *received {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.got) - 1; i >= 0; i-- {
		if r := p.got[i]; r.info.Participant == id && r.kind == kind {
			return r
		}
	}
	return nil
}

// publish sends the source's media in a loop until the test ends.
func (p *peer) publish(t testing.TB, s source, video, audio bool) (vt, at *webrtc.TrackLocalStaticSample) {
	t.Helper()
	vpath, apath := s.media(t)
	var tracks []client.Track
	if video {
		mime := webrtc.MimeTypeVP8
		if s.Codec == "H264" {
			mime = webrtc.MimeTypeH264
		}
		vt, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, "cam-"+p.name, "st-"+p.name)
		tracks = append(tracks, client.Track{Track: vt, Source: signaling.SourceCamera})
	}
	if audio {
		at, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic-"+p.name, "st-"+p.name)
		tracks = append(tracks, client.Track{Track: at, Source: signaling.SourceMicrophone})
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	senders, err := p.Publish(rctx, tracks...)
	if err != nil {
		t.Fatalf("%s publish: %v", p.name, err)
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
	if vt != nil {
		go loopVideo(ctx, vt, vpath, s.Codec)
	}
	if at != nil {
		go loopOgg(ctx, at, apath)
	}
	return vt, at
}

func loopVideo(ctx context.Context, tr *webrtc.TrackLocalStaticSample, path, codec string) {
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		var next func() ([]byte, error)
		if codec == "VP8" {
			r, _, err := ivfreader.NewWith(f)
			if err != nil {
				f.Close()
				return
			}
			next = func() ([]byte, error) { b, _, err := r.ParseNextFrame(); return b, err }
		} else {
			r, err := h264reader.NewReader(f)
			if err != nil {
				f.Close()
				return
			}
			// One sample per picture: SPS/PPS go with the IDR that follows.
			var pending []byte
			next = func() ([]byte, error) {
				for {
					nal, err := r.NextNAL()
					if err != nil {
						return nil, err
					}
					pending = append(pending, append([]byte{0, 0, 0, 1}, nal.Data...)...)
					if nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
						out := pending
						pending = nil
						return out, nil
					}
				}
			}
		}
		for ctx.Err() == nil {
			b, err := next()
			if err != nil {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
			if err := tr.WriteSample(media.Sample{Data: b, Duration: time.Second / 15}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				break
			}
		}
		f.Close()
	}
}

func loopOgg(ctx context.Context, tr *webrtc.TrackLocalStaticSample, path string) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		r, _, err := oggreader.NewWith(f)
		if err != nil {
			f.Close()
			return
		}
		for ctx.Err() == nil {
			page, _, err := r.ParseNextPage()
			if err != nil {
				break
			}
			if bytes.HasPrefix(page, []byte("OpusTags")) || bytes.HasPrefix(page, []byte("OpusHead")) {
				continue // stream headers, not audio
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
			_ = tr.WriteSample(media.Sample{Data: page, Duration: 20 * time.Millisecond})
		}
		f.Close()
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// meanColour decodes a received video file and returns the mean RGB of
// its frames after the first.
func meanColour(t testing.TB, path string) ([3]float64, int) {
	t.Helper()
	var sum [3]float64
	n := 0
	_, err := av.Decode(context.Background(), path, av.Options{Video: true, VideoFormat: pipeline.PixelRGBA, Width: 32, Height: 24}, func(it *av.Item) error {
		if it.Video == nil {
			return nil
		}
		f := it.Video
		for y := 0; y < f.Height; y++ {
			for x := 0; x < f.Width; x++ {
				o := y*f.Stride[0] + 4*x
				sum[0] += float64(f.Data[o])
				sum[1] += float64(f.Data[o+1])
				sum[2] += float64(f.Data[o+2])
			}
		}
		n += f.Width * f.Height
		return nil
	})
	if err != nil && n == 0 {
		t.Fatalf("decode %s: %v", path, err)
	}
	if n == 0 {
		return sum, 0
	}
	return [3]float64{sum[0] / float64(n), sum[1] / float64(n), sum[2] / float64(n)}, n / (32 * 24)
}

// toneFreq decodes a received audio file and estimates its frequency from
// zero crossings.
func toneFreq(t testing.TB, path string) (float64, int) {
	t.Helper()
	var prev float32
	cross, samples, rate := 0, 0, 48000
	_, err := av.Decode(context.Background(), path, av.Options{Audio: true}, func(it *av.Item) error {
		a := it.Audio
		if a == nil {
			return nil
		}
		rate = a.SampleRate
		for i := 0; i < len(a.F32); i += a.Channels {
			v := a.F32[i]
			if samples > 0 && (prev < 0) != (v < 0) {
				cross++
			}
			prev = v
			samples++
		}
		return nil
	})
	if err != nil && samples == 0 {
		t.Fatalf("decode %s: %v", path, err)
	}
	if samples == 0 {
		return 0, 0
	}
	return float64(cross) / 2 / (float64(samples) / float64(rate)), samples
}

func colourClose(got [3]float64, want [3]uint8) bool {
	for i := range 3 {
		if math.Abs(got[i]-float64(want[i])) > 40 {
			return false
		}
	}
	return true
}

// checkMedia asserts that p received s's video colour and tone from the
// publisher id (waiting for enough packets first).
func checkMedia(t testing.TB, p *peer, id string, s source, video, audio bool) {
	t.Helper()
	kinds := []string{}
	if video {
		kinds = append(kinds, "video")
	}
	if audio {
		kinds = append(kinds, "audio")
	}
	for _, kind := range kinds {
		waitFor(t, 30*time.Second, fmt.Sprintf("%s to receive %d %s packets from %s", p.name, keepPackets(kind)+1, kind, s.Name), func() bool {
			r := p.from(id, kind)
			return r != nil && r.packets.Load() > keepPackets(kind) && r.written.Load() >= keepPackets(kind)
		})
		r := p.from(id, kind)
		if kind == "video" {
			c, frames := meanColour(t, r.path)
			if frames < 10 || !colourClose(c, s.RGB) {
				t.Errorf("%s got video from %s: mean colour %.0f over %d frames, want %v (%s)", p.name, s.Name, c, frames, s.RGB, s.Name)
			}
		} else {
			f, n := toneFreq(t, r.path)
			if n < 48000 || math.Abs(f-s.Freq) > s.Freq*0.05 {
				t.Errorf("%s got audio from %s: %.0f Hz over %d samples, want %.0f Hz", p.name, s.Name, f, n, s.Freq)
			}
		}
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func newRequest(url, tok string) (*http.Request, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err == nil && tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, err
}

func goertzel(x []float64, rate int, freq float64) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + c*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

func near(got [3]float64, want [3]uint8, tol float64) bool {
	for i := range 3 {
		if math.Abs(got[i]-float64(want[i])) > tol {
			return false
		}
	}
	return true
}

// isKeyframeStart reports whether an RTP payload starts a keyframe.
func isKeyframeStart(mime string, b []byte) bool {
	switch strings.ToLower(mime) {
	case "video/vp8":
		var d codecs.VP8Packet
		payload, err := d.Unmarshal(b)
		// Start of partition 0 with the P bit clear (RFC 7741 section 4.3).
		return err == nil && d.S == 1 && d.PID == 0 && len(payload) > 0 && payload[0]&0x01 == 0
	case "video/h264":
		if len(b) < 2 {
			return false
		}
		switch t := b[0] & 0x1F; t {
		case 5, 7:
			return true
		case 24: // STAP-A: look at each aggregated unit
			for i := 1; i+2 < len(b); {
				size := int(b[i])<<8 | int(b[i+1])
				if nal := b[i+2] & 0x1F; nal == 5 || nal == 7 {
					return true
				}
				i += 2 + size
			}
		case 28: // FU-A: the start fragment of an IDR
			return b[1]&0x80 != 0 && b[1]&0x1F == 5
		}
	}
	return false
}

// ivfFrames reads every frame of an IVF file.
func ivfFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		b, _, err := r.ParseNextFrame()
		if err != nil {
			return frames
		}
		frames = append(frames, b)
	}
}
