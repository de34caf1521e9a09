// Package natsplugin runs analyzers written in any language as separate
// processes that talk NATS ("nats" analyzer). Protocol, version 1:
//
// Requests (NATS request/reply, one at a time per session and plugin) go to
//
//	witness.plugin.<name>.video   a sampled frame as JPEG
//	witness.plugin.<name>.audio   a chunk of audio as interleaved S16LE PCM
//
// The body is one line of JSON metadata, a '\n', then the payload:
//
//	{"v":1,"kind":"video","tenant":"t","room":"r","participant":"p","pts_ns":1200000000,"width":640,"height":360,"format":"jpeg"}
//	{"v":1,"kind":"audio","tenant":"t","room":"r","participant":"p","pts_ns":1200000000,"rate":16000,"channels":1,"format":"s16le"}
//
// The plugin replies to the request's reply subject with JSON:
//
//	{"events":[{"kind":"plugin.loud","severity":"warning","media_time_ns":1200000000,"data":{"dbfs":-12.5}}]}
//
// Contract: reply within the timeout (default 500 ms), with an empty event
// list when there is nothing to say. The host never waits longer: a late or
// missing reply is counted and the item is skipped; while a request is
// outstanding, newer frames wait in the host's bounded dropping queue and
// the oldest are shed, so a slow plugin sees fewer frames and never delays
// media. Events come back with source "plugin". Subscribe with the queue
// group "witness.plugin.<name>" to run several plugin instances.
package natsplugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"gocv.io/x/gocv"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/facekit"
	"github.com/witness-media/witness/pipeline"
)

func init() { analyzers.Register("nats", New) }

// Errors.
var (
	ErrNoConn  = errors.New("natsplugin: no NATS connection (call natsplugin.SetConn at start-up)")
	ErrTimeout = errors.New("natsplugin: plugin did not reply in time")
)

var (
	connMu sync.RWMutex
	conn   *nats.Conn
)

// SetConn sets the connection plugin requests use (witness serve passes
// internal/bus's connection).
func SetConn(nc *nats.Conn) {
	connMu.Lock()
	conn = nc
	connMu.Unlock()
}

// Subject is the request subject of a plugin's media kind.
func Subject(plugin, kind string) string {
	return "witness.plugin." + plugin + "." + kind
}

// Params configure one plugin.
type Params struct {
	Plugin      string        `yaml:"plugin"`       // plugin name (subject token); required
	Timeout     time.Duration `yaml:"timeout"`      // per request; default 500ms
	Video       *bool         `yaml:"video"`        // send frames; default true
	Audio       bool          `yaml:"audio"`        // send audio; default false
	JPEGQuality int           `yaml:"jpeg_quality"` // default 80
	AudioChunk  time.Duration `yaml:"audio_chunk"`  // audio per request; default 200ms
}

// Meta is the metadata line of a request.
type Meta struct {
	V           int    `json:"v"`
	Kind        string `json:"kind"`
	Tenant      string `json:"tenant"`
	Room        string `json:"room"`
	Participant string `json:"participant"`
	PTS         int64  `json:"pts_ns"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Rate        int    `json:"rate,omitempty"`
	Channels    int    `json:"channels,omitempty"`
	Format      string `json:"format"`
}

// Reply is what a plugin answers.
type Reply struct {
	Events []pipeline.Event `json:"events"`
}

// Stats counts a plugin's traffic.
type Stats struct {
	Sent, Replied, Timeouts, Errors, Events int
}

type analyzer struct {
	analyzers.NoOp
	p     Params
	s     analyzers.Session
	nc    *nats.Conn
	audio []int16
	aPTS  time.Duration
	aRate int
	aCh   int
	stats Stats
	mu    sync.Mutex
}

// New builds a plugin analyzer.
func New(s analyzers.Session, raw pipeline.Params) (analyzers.Analyzer, error) {
	var p Params
	if err := raw.Decode(&p); err != nil {
		return nil, err
	}
	if p.Plugin == "" || natsToken(p.Plugin) != p.Plugin {
		return nil, fmt.Errorf("natsplugin: plugin name %q (letters, digits, - and _)", p.Plugin)
	}
	if p.Timeout == 0 {
		p.Timeout = 500 * time.Millisecond
	}
	if p.JPEGQuality == 0 {
		p.JPEGQuality = 80
	}
	if p.AudioChunk == 0 {
		p.AudioChunk = 200 * time.Millisecond
	}
	if p.Video == nil {
		t := true
		p.Video = &t
	}
	if p.Timeout < 0 || p.JPEGQuality < 1 || p.JPEGQuality > 100 || p.AudioChunk < 0 {
		return nil, fmt.Errorf("natsplugin: timeout >= 0, jpeg_quality 1..100")
	}
	connMu.RLock()
	nc := conn
	connMu.RUnlock()
	if nc == nil {
		return nil, ErrNoConn
	}
	return &analyzer{p: p, s: s, nc: nc}, nil
}

func natsToken(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			out = append(out, r)
		}
	}
	return string(out)
}

// WantsAudio tells the offline runner to decode audio when configured.
func (a *analyzer) WantsAudio() bool { return a.p.Audio }

func (a *analyzer) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	if !*a.p.Video {
		return nil
	}
	rgb, err := facekit.RGBMat(f)
	if err != nil {
		return err
	}
	defer rgb.Close()
	bgr := gocv.NewMat()
	defer bgr.Close()
	gocv.CvtColor(rgb, &bgr, gocv.ColorBGRToRGB) // the same channel swap
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, bgr, []int{gocv.IMWriteJpegQuality, a.p.JPEGQuality})
	if err != nil {
		return fmt.Errorf("natsplugin: jpeg: %w", err)
	}
	defer buf.Close()
	m := a.meta("video", f.PTS)
	m.Width, m.Height, m.Format = f.Width, f.Height, "jpeg"
	return a.request(m, buf.GetBytes(), emit)
}

func (a *analyzer) Audio(f *pipeline.AudioFrame, emit func(pipeline.Event)) error {
	if !a.p.Audio {
		return nil
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if len(a.audio) > 0 && (f.SampleRate != a.aRate || f.Channels != a.aCh) {
		a.audio = a.audio[:0] // format change: start a new chunk
	}
	if len(a.audio) == 0 {
		a.aPTS, a.aRate, a.aCh = f.PTS, f.SampleRate, f.Channels
	}
	if f.Format == pipeline.SampleS16 {
		a.audio = append(a.audio, f.S16...)
	} else {
		for _, v := range f.F32 {
			a.audio = append(a.audio, int16(max(-32768, min(32767, v*32767))))
		}
	}
	if time.Duration(len(a.audio)/a.aCh)*time.Second/time.Duration(a.aRate) < a.p.AudioChunk {
		return nil
	}
	m := a.meta("audio", a.aPTS)
	m.Rate, m.Channels, m.Format = a.aRate, a.aCh, "s16le"
	pcm := make([]byte, 2*len(a.audio))
	for i, v := range a.audio {
		pcm[2*i], pcm[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	a.audio = a.audio[:0]
	return a.request(m, pcm, emit)
}

func (a *analyzer) meta(kind string, pts time.Duration) Meta {
	return Meta{V: 1, Kind: kind, Tenant: a.s.Tenant, Room: a.s.Room, Participant: a.s.Participant, PTS: int64(pts)}
}

// request sends one item and emits the reply's events. Timeouts and
// plugin errors are counted, not returned: a misbehaving plugin must not
// stop the other analyzers or the call.
func (a *analyzer) request(m Meta, payload []byte, emit func(pipeline.Event)) error {
	head, err := json.Marshal(m)
	if err != nil {
		return err
	}
	body := make([]byte, 0, len(head)+1+len(payload))
	body = append(append(append(body, head...), '\n'), payload...)
	a.count(func(s *Stats) { s.Sent++ })
	msg, err := a.nc.Request(Subject(a.p.Plugin, m.Kind), body, a.p.Timeout)
	if err != nil {
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) {
			a.count(func(s *Stats) { s.Timeouts++ })
			return nil
		}
		a.count(func(s *Stats) { s.Errors++ })
		return nil
	}
	var r Reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		a.count(func(s *Stats) { s.Errors++ })
		return nil
	}
	a.count(func(s *Stats) { s.Replied++ })
	for _, e := range r.Events {
		e.Source = pipeline.OriginPlugin // whatever the plugin says
		if err := e.Validate(); err != nil {
			a.count(func(s *Stats) { s.Errors++ })
			continue
		}
		a.count(func(s *Stats) { s.Events++ })
		emit(e)
	}
	return nil
}

func (a *analyzer) count(fn func(*Stats)) {
	a.mu.Lock()
	fn(&a.stats)
	a.mu.Unlock()
}

// PluginStats returns the analyzer's counters (for tests and metrics).
func PluginStats(an analyzers.Analyzer) (Stats, bool) {
	a, ok := an.(*analyzer)
	if !ok {
		return Stats{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats, true
}
