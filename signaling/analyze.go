package signaling

// Live analysis: the published camera (and, when the profile wants it,
// microphone) of the watched roles is decoded by its own small GStreamer
// pipeline (RTP → depay → decode → downscale → appsink), separate from the
// recording's mixer so that analysis can never hold up the recording and
// runs whether or not the room is recorded. Frames go to an
// analyzers.Host per participant, which samples them, queues them in
// bounded dropping queues and runs the business profile. Every event is
// published on NATS (when the server has a connection), pushed to the
// agents and supervisors of the room as an "alert" message, and stored as
// a marker of the recording segment in progress.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/rtp"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/analyzers/natsevents"
	"github.com/witness-media/witness/internal/config"
	"github.com/witness-media/witness/markers"
	"github.com/witness-media/witness/mixer"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"

	// The default profile's analyzers.
	_ "github.com/witness-media/witness/analyzers/face"
	_ "github.com/witness-media/witness/analyzers/light"
	_ "github.com/witness-media/witness/analyzers/occlusion"
)

// TAlert is the server → client message carrying one analyzer event
// (Alert) to the agents and supervisors of the room.
const TAlert = "alert"

// Alert is the data of an alert message.
type Alert struct {
	Kind        string            `json:"kind"` // e.g. face.missing; an episode's end is <kind>.end
	Severity    pipeline.Severity `json:"severity"`
	Source      pipeline.Origin   `json:"source"` // auto, plugin
	Participant string            `json:"participant"`
	Identity    string            `json:"identity,omitempty"`
	Role        string            `json:"role,omitempty"`
	// MediaTimeNS is when the condition began on the participant's
	// analysis timeline (0 = when its media reached the server).
	MediaTimeNS int64 `json:"media_time_ns"`
	// Onset is the wall time at which the frame showing the condition
	// reached the server (alerts of this server's own analyzers).
	Onset    time.Time       `json:"onset,omitzero"`
	WallTime time.Time       `json:"wall_time"` // when the analyzer raised it
	Data     json.RawMessage `json:"data,omitempty"`
}

// AnalysisConfig configures live analysis. A nil Profile (and no
// Profiles) disables it.
type AnalysisConfig struct {
	Profile  *analyzers.Profile            // the default business profile
	Profiles map[string]*analyzers.Profile // by tenant; overrides Profile
	// Roles whose published media is analysed; default customer.
	Roles []string
	// AlertRoles receive alert messages (hidden monitors of these roles
	// too); default agent and supervisor.
	AlertRoles []string
	// NATS, when set, carries every event on witness.events.<tenant>.<room>
	// (natsevents). The connection is the caller's.
	NATS *nats.Conn
	// Largest analysis picture (aspect kept, never upscaled); default
	// 640x360.
	Width, Height int
	// Jitter buffer of the analysis decoder; default 50 ms (in-order
	// packets pass at once; this only bounds the wait for a lost one).
	Latency time.Duration
}

func (c *AnalysisConfig) defaults() {
	if len(c.Roles) == 0 {
		c.Roles = []string{RoleCustomer}
	}
	if len(c.AlertRoles) == 0 {
		c.AlertRoles = []string{RoleAgent, RoleSupervisor}
	}
	if c.Width == 0 || c.Height == 0 {
		c.Width, c.Height = 640, 360
	}
	if c.Latency == 0 {
		c.Latency = 50 * time.Millisecond
	}
}

func (c *AnalysisConfig) validate() error {
	var errs []error
	for _, p := range append([]*analyzers.Profile{c.Profile}, mapValues(c.Profiles)...) {
		if p != nil {
			if err := p.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, r := range append(slices.Clone(c.Roles), c.AlertRoles...) {
		if err := validRole(r); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Width < 16 || c.Height < 16 {
		errs = append(errs, fmt.Errorf("analysis picture %dx%d", c.Width, c.Height))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: analysis: %w", ErrConfig, err)
	}
	return nil
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// DefaultProfile is used when the configuration names no profile: face,
// light and occlusion at 5 fps with their default thresholds.
func DefaultProfile() *analyzers.Profile {
	return &analyzers.Profile{Analyzers: []analyzers.Spec{{Name: "face"}, {Name: "light"}, {Name: "occlusion"}}}
}

// AnalysisFrom reads the analyzers section of the configuration: the
// profile file, DefaultProfile when it is empty, no live analysis when it
// is "off".
func AnalysisFrom(c config.Config) (AnalysisConfig, error) {
	if c.Analyzers.Profile == "off" {
		return AnalysisConfig{}, nil
	}
	if c.Analyzers.Profile == "" {
		return AnalysisConfig{Profile: DefaultProfile()}, nil
	}
	b, err := os.ReadFile(c.Analyzers.Profile)
	if err != nil {
		return AnalysisConfig{}, fmt.Errorf("%w: analyzers.profile: %w", ErrConfig, err)
	}
	p, err := analyzers.ParseProfile(b)
	if err != nil {
		return AnalysisConfig{}, fmt.Errorf("%w: analyzers.profile %s: %w", ErrConfig, c.Analyzers.Profile, err)
	}
	return AnalysisConfig{Profile: p}, nil
}

func (c *AnalysisConfig) profileFor(tenant string) *analyzers.Profile {
	if p := c.Profiles[tenant]; p != nil {
		return p
	}
	return c.Profile
}

// PushAlert sends an event (e.g. from an out-of-process analyzer, through
// natsevents.Forward) to the agents and supervisors of a room. It
// implements natsevents.AlertPusher. Do not forward this server's own
// events back to it: they are pushed already.
func (s *Server) PushAlert(_ context.Context, tenant, roomID string, e pipeline.Event) error {
	s.mu.Lock()
	r := s.rooms[roomID]
	s.mu.Unlock()
	if r == nil || r.tenant != tenant {
		return fmt.Errorf("%w: no room %q of tenant %q", ErrClosed, roomID, tenant)
	}
	return r.do(func() { r.pushAlert(e, time.Time{}) })
}

var _ natsevents.AlertPusher = (*Server)(nil)

// pushAlert sends e to the alert roles (room goroutine). t0 is the wall
// time of the participant's media time 0 (zero when unknown).
func (r *room) pushAlert(e pipeline.Event, t0 time.Time) {
	a := Alert{Kind: e.Kind, Severity: e.Severity, Source: e.Source, Participant: e.Participant, MediaTimeNS: e.MediaTime.Nanoseconds(),
		WallTime: e.WallTime, Data: e.Data}
	if !t0.IsZero() {
		a.Onset = t0.Add(e.MediaTime)
	}
	if p := r.parts[e.Participant]; p != nil {
		a.Identity, a.Role = p.identity, p.role
	}
	roles := r.s.cfg.Analysis.AlertRoles
	for _, q := range r.parts {
		if slices.Contains(roles, q.role) {
			r.send(q, TAlert, "", a)
		}
	}
	data := map[string]any{"kind": e.Kind, "severity": e.Severity, "media_time_ns": a.MediaTimeNS}
	r.event("alert", r.parts[e.Participant], data)
}

// watch is the analysis of one participant: a Host and the decode taps of
// its tracks. Owned by the room goroutine (taps) and its Run goroutine.
type watch struct {
	r      *room
	p      *participant
	host   *analyzers.Host
	t0     time.Time // wall time of media time 0 on the Host's timeline
	cancel context.CancelFunc
	taps   map[string]*decodeTap // by track id
	audio  bool                  // the profile wants audio
}

// analysis state of a room (room goroutine).
type analysis struct {
	watches map[string]*watch // by participant id
}

// analyse starts analysing t when its owner's role is watched (room
// goroutine; from publishLayer).
func (r *room) analyse(t *pubTrack) {
	cfg := &r.s.cfg.Analysis
	prof := r.profile()
	p := t.owner
	if prof == nil || p.hidden || !slices.Contains(cfg.Roles, p.role) || (t.source != SourceCamera && t.source != SourceMicrophone) {
		return
	}
	w := r.an.watches[p.id]
	if w == nil {
		var err error
		if w, err = r.newWatch(p, prof); err != nil {
			r.log.Error("live analysis not started", "participant", p.id, "err", err)
			r.event("analysis_failed", p, map[string]any{"error": err.Error()})
			return
		}
		if r.an.watches == nil {
			r.an.watches = map[string]*watch{}
		}
		r.an.watches[p.id] = w
	}
	if t.kind == "audio" && !w.audio {
		return
	}
	tap, err := newDecodeTap(w, t)
	if err != nil {
		r.log.Error("analysis tap", "track", t.id, "err", err)
		r.event("analysis_failed", p, map[string]any{"track": t.id, "error": err.Error()})
		return
	}
	w.taps[t.id] = tap
	t.requestKeyframe("")
}

func (r *room) newWatch(p *participant, prof *analyzers.Profile) (*watch, error) {
	w := &watch{r: r, p: p, taps: map[string]*decodeTap{}, t0: time.Now()}
	s := analyzers.Session{Tenant: r.tenant, Room: r.id, Participant: p.id}
	h, err := analyzers.NewHost(s, prof, w.sink, r.log)
	if err != nil {
		return nil, err
	}
	w.host, w.audio = h, h.WantsAudio()
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	r.s.wg.Add(1)
	go func() {
		defer r.s.wg.Done()
		defer cancel()
		_ = h.Run(ctx)
	}()
	r.event("analysis_started", p, map[string]any{"analyzers": len(prof.Analyzers)})
	return w, nil
}

// unanalyse stops t's tap (room goroutine; from dropTrack).
func (r *room) unanalyse(t *pubTrack) {
	w := r.an.watches[t.owner.id]
	if w == nil || w.taps[t.id] == nil {
		return
	}
	w.taps[t.id].stop()
	delete(w.taps, t.id)
}

// stopWatch ends a participant's analysis (room goroutine; from remove):
// queued frames are analysed and their events delivered, then the Host's
// goroutine ends. Nothing here waits.
func (r *room) stopWatch(p *participant) {
	w := r.an.watches[p.id]
	if w == nil {
		return
	}
	delete(r.an.watches, p.id)
	for id, tap := range w.taps {
		tap.stop()
		delete(w.taps, id)
	}
	w.host.CloseInput()
}

// sink receives the Host's events (its dispatcher goroutine): NATS, the
// agents, and the recording's markers.
func (w *watch) sink(e pipeline.Event) {
	r := w.r
	if nc := r.s.cfg.Analysis.NATS; nc != nil {
		if err := natsevents.NewPublisher(nc).Publish(r.tenant, e); err != nil {
			r.log.Warn("analysis event not published", "kind", e.Kind, "err", err)
		}
	}
	var rec, dir string
	var offset time.Duration
	_ = r.call(func() {
		r.pushAlert(e, w.t0)
		if r.rec != nil {
			rec, dir = filepath.Base(r.rec.path), filepath.Dir(r.rec.path)
			offset = w.t0.Sub(r.rec.started)
		}
	})
	if rec == "" {
		return
	}
	// On the recording's timeline; an episode that began before this
	// segment is placed at its start.
	e.MediaTime = max(0, e.MediaTime+offset)
	st := &markers.FileStore{Dir: dir}
	r.s.markMu.Lock()
	_, err := st.Add(context.Background(), markers.FromEvent(rec, e))
	r.s.markMu.Unlock()
	if err != nil {
		r.log.Error("analysis marker not stored", "recording", rec, "kind", e.Kind, "err", err)
	}
}

// AnalysisSidecar is where the analyzer markers of a recording file are
// stored: <file>.markers.json next to it (markers.FileStore format; the
// mixer's own OUT.markers.json holds pauses, gaps and mutes).
func AnalysisSidecar(recording string) string { return recording + ".markers.json" }

// analysisOutputs lists a finished segment's analysis sidecar (when any
// event was stored) for the finalisation hook.
func (rec *recorder) analysisOutputs() []string {
	p := AnalysisSidecar(rec.path)
	if _, err := os.Stat(p); err == nil {
		return []string{p}
	}
	return nil
}

// decodeTap decodes one track for analysis. The forwarder pushes RTP
// packets into a leaky appsrc (a slow decoder loses packets, never delays
// forwarding); a reader goroutine hands decoded frames to the Host, whose
// queues drop when the analyzers are behind.
type decodeTap struct {
	w     *watch
	t     *pubTrack
	p     *gst.Pipeline
	src   *gst.RTPSrc
	start time.Time
	stopO sync.Once
	done  chan struct{}
}

func newDecodeTap(w *watch, t *pubTrack) (*decodeTap, error) {
	cfg := &w.r.s.cfg.Analysis
	codec := strings.ToUpper(strings.TrimPrefix(strings.ToLower(t.codec.MimeType), t.kind+"/"))
	pt, ok := mixer.RTPPayloadType[codec]
	if !ok {
		return nil, fmt.Errorf("codec %s not analysed", codec)
	}
	media, rate := "video", 90000
	if t.kind == "audio" {
		media, rate = "audio", 48000
	}
	src := fmt.Sprintf("appsrc name=rtp is-live=true format=time do-timestamp=true leaky-type=downstream max-buffers=500 max-bytes=0 "+
		"caps=\"application/x-rtp,media=%s,encoding-name=%s,clock-rate=%d,payload=%d\" ! rtpjitterbuffer latency=%d drop-on-latency=true",
		media, codec, rate, pt, cfg.Latency.Milliseconds())
	var desc string
	switch codec {
	case mixer.CodecVP8:
		desc = src + " ! rtpvp8depay wait-for-keyframe=true ! vp8dec"
	case mixer.CodecH264:
		desc = src + " ! rtph264depay ! h264parse ! avdec_h264"
	case mixer.CodecOpus:
		desc = src + " ! rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=16000,channels=1,layout=interleaved" +
			" ! appsink name=out max-buffers=100 drop=true sync=false"
	}
	if t.kind == "video" {
		// Ranges let videoscale keep the aspect and the size of small
		// pictures (no upscaling) within the bound.
		desc += fmt.Sprintf(" ! videoscale ! videoconvert ! video/x-raw,format=I420,width=[16,%d],height=[16,%d],pixel-aspect-ratio=1/1"+
			" ! appsink name=out max-buffers=2 drop=true sync=false", cfg.Width, cfg.Height)
	}
	p, err := gst.NewFromLaunch("analysis-"+t.id, desc, gst.Options{}, w.r.log)
	if err != nil {
		return nil, err
	}
	rs, err := p.RTPSrc("rtp")
	if err == nil {
		err = p.Start(context.Background())
	}
	var sink *gst.Sink
	if err == nil {
		sink, err = p.Sink("out")
	}
	if err != nil {
		_ = p.Close()
		return nil, err
	}
	d := &decodeTap{w: w, t: t, p: p, src: rs, start: time.Now(), done: make(chan struct{})}
	s := w.r.s
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(d.done)
		d.read(sink)
	}()
	t.atap.Store(&rtpTap{layer: t.bestLayer(), push: func(pkt *rtp.Packet) {
		out := *pkt
		out.PayloadType = pt
		out.Extension, out.Extensions = false, nil
		if b, err := out.Marshal(); err == nil {
			_ = d.src.Push(b)
		}
	}})
	return d, nil
}

// read hands decoded frames to the Host on its timeline until the
// pipeline ends.
func (d *decodeTap) read(sink *gst.Sink) {
	off := d.start.Sub(d.w.t0)
	h := d.w.host
	for {
		pkt, ok, err := sink.Pull(200 * time.Millisecond)
		if err != nil {
			if !errors.Is(err, gst.ErrEOS) && !errors.Is(err, gst.ErrClosed) {
				d.w.r.log.Warn("analysis decoder", "track", d.t.id, "err", err)
			}
			return
		}
		if !ok {
			continue
		}
		switch {
		case pkt.Video != nil:
			pkt.Video.PTS += off
			h.Video(pkt.Video)
		case pkt.Audio != nil:
			pkt.Audio.PTS += off
			h.Audio(pkt.Audio)
		}
	}
}

// stop detaches the tap and ends its pipeline (not waiting).
func (d *decodeTap) stop() {
	d.stopO.Do(func() {
		d.t.atap.Store(nil)
		_ = d.src.EndStream()
		s := d.w.r.s
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-d.done:
			case <-time.After(2 * time.Second):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = d.p.Stop(ctx)
			<-d.done
			_ = d.p.Close()
		}()
	})
}
