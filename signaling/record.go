package signaling

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pion/rtp"

	"github.com/witness-media/witness/mixer"
	"github.com/witness-media/witness/pipeline/gst"
	"github.com/witness-media/witness/watermark"
)

// RecordingConfig configures server-side recording of rooms.
type RecordingConfig struct {
	// Dir is the local spool: <dir>/<room>/ holds the composite segments,
	// per-participant files, screenshots, markers, transferred files and
	// the session record. "" disables recording and file transfer.
	Dir  string
	Auto bool // record every room from its creation (otherwise on "record start")
	// Layout is a built-in layout name or a YAML template file; its roles
	// are filled by participants' roles (agent, customer, ...), a screen
	// share goes to the "screen" slot when the layout has one.
	Layout         string
	Width, Height  int // composite size; default the layout canvas
	FPS            int
	Bitrate        int // kbit/s
	PerParticipant bool
	// Screenshots of the composite every interval (0 = none).
	ScreenshotInterval time.Duration
	Watermarks         *watermark.Set
	// OnFinalized is called (on its own goroutine, once per file) when a
	// recording file is complete under its final name, with its sha256:
	// the hook for uploading to blob storage.
	OnFinalized func(RecordingFile)
}

// RecordingFile is one finished file of a room's recording.
type RecordingFile struct {
	Room    string    `json:"room"`
	Tenant  string    `json:"tenant"`
	Segment int       `json:"segment"`
	Kind    string    `json:"kind"` // composite, participant, screenshot, markers
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
}

// RecordingInfo is the state of the recording segment in progress.
type RecordingInfo struct {
	Segment int               `json:"segment"`
	Path    string            `json:"path"`
	Started time.Time         `json:"started"`
	Slots   map[string]string `json:"slots"` // participant id → layout role
}

func (c *RecordingConfig) defaults() {
	if c.Layout == "" {
		c.Layout = "side-by-side"
	}
	if c.FPS == 0 {
		c.FPS = 25
	}
	if c.Bitrate == 0 {
		c.Bitrate = 1500
	}
}

func (c *RecordingConfig) validate() error {
	if c.Dir == "" {
		return nil
	}
	if _, err := c.layout(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.ScreenshotInterval != 0 && c.ScreenshotInterval < time.Second {
		return fmt.Errorf("%w: screenshot interval below 1s", ErrConfig)
	}
	return nil
}

func (c *RecordingConfig) layout() (*mixer.Layout, error) { return mixer.LoadLayout(c.Layout) }

// recorder is one recording segment of a room: a live mixer.Mix whose
// RTP inputs are fed by the forwarders' taps. Owned by the room goroutine
// (the mixer's methods are for one owner); finishing runs on its own
// goroutine so the room is never blocked by EOS draining.
type recorder struct {
	r       *room
	mix     *mixer.Mix
	seg     int
	path    string
	started time.Time
	roles   []string          // layout roles in slot order
	slots   map[string]string // participant id → role
	screen  map[string]string // track id → role (screen shares)
	tapped  map[string]*pubTrack
	gaps    map[string]time.Time // role → gap start (wall)
	hold    bool
	// Per-participant recordings are separate live mixes (one slot
	// each), not branches of the composite pipeline: a participant's
	// file stalling on a gap can never hold up the composite, and a
	// participant without a slot in the layout is still recorded.
	parts map[string]*mixer.Mix // participant id → its own recording
	dir   string
}

// startRecording begins a new segment (room goroutine).
func (r *room) startRecording(by *participant) error {
	cfg := &r.s.cfg.Recording
	if cfg.Dir == "" {
		return &ProtocolError{Code: CodeState, Msg: "recording is not configured on this server"}
	}
	if r.rec != nil {
		return &ProtocolError{Code: CodeState, Msg: "already recording"}
	}
	lay, err := mixer.LoadLayout(r.layoutName())
	if err != nil {
		return err
	}
	r.recSeq++
	dir := filepath.Join(cfg.Dir, safeName(r.id))
	rec := &recorder{r: r, seg: r.recSeq, started: time.Now(), slots: map[string]string{}, screen: map[string]string{},
		tapped: map[string]*pubTrack{}, gaps: map[string]time.Time{}, parts: map[string]*mixer.Mix{}}
	rec.path = filepath.Join(dir, fmt.Sprintf("%s_%03d.mp4", safeName(r.id), rec.seg))
	out := mixer.Output{Path: rec.path, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, Bitrate: cfg.Bitrate,
		LowLatency: true, Fragment: 500 * time.Millisecond, Watermarks: r.watermarks()}
	if cfg.PerParticipant {
		rec.dir = filepath.Join(dir, fmt.Sprintf("seg%03d_participants", rec.seg))
	}
	if cfg.ScreenshotInterval > 0 {
		out.Screenshots = filepath.Join(dir, fmt.Sprintf("seg%03d_shots", rec.seg))
		out.ScreenshotEvery = cfg.ScreenshotInterval
	}
	var inputs []mixer.Input
	for _, role := range lay.Roles() {
		rec.roles = append(rec.roles, role)
		inputs = append(inputs, mixer.Input{Role: role, RTP: &mixer.RTPSource{Width: 640, Height: 480}})
	}
	m, err := mixer.New(mixer.Config{Layout: lay, Inputs: inputs, Output: out, GST: gst.Options{}}, r.log)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecording, err)
	}
	if err := m.Start(context.Background()); err != nil {
		_ = m.Close()
		return fmt.Errorf("%w: %w", ErrRecording, err)
	}
	rec.mix = m
	r.rec = rec
	for _, p := range r.sortedParts() {
		rec.participantJoined(p)
	}
	for _, t := range r.tracks {
		rec.trackAdded(t)
	}
	if r.hold.Load() {
		rec.setHold(true)
	}
	rec.watch(m)
	data := map[string]any{"segment": rec.seg, "path": rec.path}
	if by != nil {
		data["by"] = by.identity
	}
	r.event("recording_started", by, data)
	r.broadcast(nil, nil, TRecording, rec.info())
	return nil
}

// watch notices a recording pipeline that fails while the call goes on:
// the failed segment is closed (its .part file stays, named in the event)
// and a new segment starts at once, so the rest of the call is recorded.
func (rec *recorder) watch(m *mixer.Mix) {
	r := rec.r
	s := r.s
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-m.Done():
		case <-s.ctx.Done():
			return
		}
		err := m.Err()
		if err == nil {
			return
		}
		_ = r.do(func() {
			if r.rec != rec {
				return // already stopping
			}
			r.log.Error("recording failed while live; starting a new segment", "segment", rec.seg, "err", err)
			r.event("recording_failed", nil, map[string]any{"segment": rec.seg, "error": err.Error(), "restarting": true})
			_ = r.stopRecording()
			if serr := r.startRecording(nil); serr != nil {
				r.log.Error("recording could not restart", "err", serr)
			}
		})
	}()
}

func (rec *recorder) info() *RecordingInfo {
	slots := map[string]string{}
	for k, v := range rec.slots {
		slots[k] = v
	}
	return &RecordingInfo{Segment: rec.seg, Path: rec.path, Started: rec.started, Slots: slots}
}

// stopRecording ends the segment: taps are detached here, the file is
// finished (EOS, rename, sha256, hook) on a tracked goroutine.
func (r *room) stopRecording() error {
	rec := r.rec
	if rec == nil {
		return &ProtocolError{Code: CodeState, Msg: "not recording"}
	}
	r.rec = nil
	for _, t := range rec.tapped {
		t.tap.Store(nil)
	}
	for role := range rec.gaps {
		rec.closeGap(role)
	}
	r.event("recording_stopping", nil, map[string]any{"segment": rec.seg})
	r.broadcast(nil, nil, TRecording, map[string]any{"segment": rec.seg, "state": "stopping"})
	s := r.s
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		rec.finish()
	}()
	return nil
}

func (rec *recorder) finish() {
	r := rec.r
	// A live mix stopped within its first instants can reach EOS before
	// its encoders have produced a timestamped buffer (qtmux then fails
	// with "Buffer has no PTS"): let every segment run at least this long.
	if d := minSegment - time.Since(rec.started); d > 0 {
		time.Sleep(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mixes := []*mixer.Mix{rec.mix}
	for _, m := range rec.parts {
		mixes = append(mixes, m)
	}
	var outputs []string
	for _, m := range mixes {
		if err := m.Stop(ctx); err != nil {
			// The .part files stay on disk and are named in the log:
			// evidence is never deleted.
			r.log.Error("recording not finalised", "segment", rec.seg, "err", err)
			_ = r.do(func() { r.event("recording_failed", nil, map[string]any{"segment": rec.seg, "error": err.Error()}) })
			continue
		}
		outputs = append(outputs, m.Outputs()...)
	}
	outputs = append(outputs, rec.analysisOutputs()...)
	ended := time.Now()
	var files []RecordingFile
	for _, path := range outputs {
		kind := "composite"
		switch {
		case strings.HasSuffix(path, ".markers.json"):
			kind = "markers"
		case strings.Contains(path, "_participants"):
			kind = "participant"
		case strings.Contains(path, "_shots"):
			kind = "screenshot"
		}
		f := RecordingFile{Room: r.id, Tenant: r.tenant, Segment: rec.seg, Kind: kind, Path: path, Started: rec.started, Ended: ended}
		sum, size, err := fileSHA256(path)
		if err != nil {
			r.log.Error("recording file unreadable", "path", path, "err", err)
			continue
		}
		f.SHA256, f.Size = sum, size
		files = append(files, f)
	}
	for _, f := range files {
		r.log.Info("recording finalised", "path", f.Path, "sha256", f.SHA256, "bytes", f.Size)
		if hook := r.s.cfg.Recording.OnFinalized; hook != nil {
			hook(f)
		}
	}
	_ = r.do(func() {
		for _, f := range files {
			r.event("recording_finalized", nil, map[string]any{"segment": f.Segment, "kind": f.Kind, "path": f.Path, "sha256": f.SHA256, "bytes": f.Size})
		}
	})
}

const minSegment = 2 * time.Second

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// participantJoined gives p a layout slot: its role's slot when free,
// otherwise the first free slot that is not "screen".
func (rec *recorder) participantJoined(p *participant) {
	if p.hidden || rec.slots[p.id] != "" {
		return
	}
	rec.startParticipant(p)
	taken := map[string]bool{}
	for _, role := range rec.slots {
		taken[role] = true
	}
	for _, role := range rec.screen {
		taken[role] = true
	}
	pick := ""
	for _, role := range rec.roles {
		if role == p.role && !taken[role] {
			pick = role
		}
	}
	for _, role := range rec.roles {
		if pick == "" && !taken[role] && role != "screen" {
			pick = role
		}
	}
	if pick == "" {
		// Said loudly: this participant is in the per-track event log
		// but not in the composite's layout.
		rec.r.log.Warn("no free slot in the recording layout", "participant", p.id, "layout", rec.r.layoutName())
		rec.r.event("recording_no_slot", p, map[string]any{"layout": rec.r.layoutName()})
		return
	}
	rec.slots[p.id] = pick
}

// startParticipant starts p's own recording (PerParticipant).
func (rec *recorder) startParticipant(p *participant) {
	if rec.dir == "" || rec.parts[p.id] != nil {
		return
	}
	cfg := &rec.r.s.cfg.Recording
	lay, err := mixer.ParseLayout([]byte("name: participant\ncanvas: {width: 640, height: 480}\nlabels: true\nslots: [{role: p, x: 0, y: 0, width: 1, height: 1, fit: contain}]\n"))
	if err == nil {
		var m *mixer.Mix
		out := mixer.Output{Path: filepath.Join(rec.dir, safeName(p.identity)+"_"+p.id+".mp4"), FPS: cfg.FPS, Bitrate: 800,
			LowLatency: true, Fragment: 500 * time.Millisecond, Watermarks: rec.r.watermarks()}
		m, err = mixer.New(mixer.Config{Layout: lay, Inputs: []mixer.Input{{Role: "p", Label: p.role + " " + p.identity, RTP: &mixer.RTPSource{}}}, Output: out}, rec.r.log)
		if err == nil {
			if err = m.Start(context.Background()); err != nil {
				_ = m.Close()
			} else {
				rec.parts[p.id] = m
				if rec.hold {
					_ = m.PauseWith("保持 ON HOLD")
				}
			}
		}
	}
	if err != nil {
		rec.r.log.Error("per-participant recording not started", "participant", p.id, "err", err)
		rec.r.event("recording_failed", p, map[string]any{"segment": rec.seg, "error": err.Error(), "kind": "participant"})
	}
}

func (rec *recorder) participantLeft(p *participant) {
	if m := rec.parts[p.id]; m != nil {
		_ = m.SetVideoOff("p", true)
	}
	role := rec.slots[p.id]
	if role == "" {
		return
	}
	delete(rec.slots, p.id)
	rec.closeGap(role)
	_ = rec.mix.SetVideoOff(role, true)
}

// trackAdded taps a published track into its owner's slot (screen shares
// into the screen slot when there is one) and its owner's own recording.
func (rec *recorder) trackAdded(t *pubTrack) {
	role := rec.slots[t.owner.id]
	if t.source == SourceScreen {
		role = ""
		for _, x := range rec.roles {
			if x == "screen" && !rec.screenTaken() {
				role = x
				rec.screen[t.id] = x
			}
		}
	}
	if t.source == SourceScreenAudio {
		role = ""
	}
	codec := strings.ToUpper(strings.TrimPrefix(strings.ToLower(t.codec.MimeType), t.kind+"/"))
	var srcs []*gst.RTPSrc
	var targets []func(off bool)
	if role != "" {
		if src, err := rec.mix.RTPInput(role, codec); err != nil {
			rec.tapFailed(t, err)
		} else {
			srcs = append(srcs, src)
			targets = append(targets, rec.setter(rec.mix, role, t.kind))
		}
	}
	if m := rec.parts[t.owner.id]; m != nil && t.source != SourceScreen && t.source != SourceScreenAudio {
		if src, err := m.RTPInput("p", codec); err != nil {
			rec.tapFailed(t, err)
		} else {
			srcs = append(srcs, src)
			targets = append(targets, rec.setter(m, "p", t.kind))
		}
	}
	if len(srcs) == 0 {
		return
	}
	pt := mixer.RTPPayloadType[codec]
	// Packets that arrive before a pipeline is PLAYING are dropped
	// (gst.ErrNotPlaying); the first one it takes is followed by a
	// keyframe request so its picture starts clean.
	waiting := make([]bool, len(srcs))
	t.tap.Store(&rtpTap{layer: t.bestLayer(), push: func(pkt *rtp.Packet) {
		out := *pkt
		out.PayloadType = pt
		out.Extension, out.Extensions = false, nil
		b, err := out.Marshal()
		if err != nil {
			return
		}
		for i, src := range srcs {
			err := src.Push(b)
			if errors.Is(err, gst.ErrNotPlaying) {
				waiting[i] = true
			} else if waiting[i] && err == nil {
				waiting[i] = false
				t.requestKeyframe("")
			}
		}
	}})
	rec.tapped[t.id] = t
	t.last.Store(time.Now().UnixNano())
	for _, set := range targets {
		set(t.muted.Load())
	}
	t.requestKeyframe("")
}

func (rec *recorder) tapFailed(t *pubTrack, err error) {
	rec.r.log.Error("recording tap", "track", t.id, "err", err)
	rec.r.event("recording_tap_failed", t.owner, map[string]any{"track": t.id, "error": err.Error()})
}

// setter returns the function that hides / silences one role of one mix.
func (rec *recorder) setter(m *mixer.Mix, role, kind string) func(bool) {
	return func(off bool) {
		if kind == "video" {
			_ = m.SetVideoOff(role, off)
		} else {
			_ = m.SetAudioMuted(role, off)
		}
	}
}

func (rec *recorder) screenTaken() bool { return len(rec.screen) > 0 }

func (rec *recorder) trackRemoved(t *pubTrack) {
	if rec.tapped[t.id] == nil {
		return
	}
	t.tap.Store(nil)
	delete(rec.tapped, t.id)
	role := rec.slots[t.owner.id]
	if r, ok := rec.screen[t.id]; ok {
		role = r
		delete(rec.screen, t.id)
	}
	if role != "" && t.kind == "video" {
		_ = rec.mix.SetVideoOff(role, true)
	}
	if m := rec.parts[t.owner.id]; m != nil && t.kind == "video" && t.source == SourceCamera {
		_ = m.SetVideoOff("p", true)
	}
}

func (rec *recorder) muted(p *participant, kind string, on bool) {
	if m := rec.parts[p.id]; m != nil {
		rec.setter(m, "p", kind)(on)
	}
	role := rec.slots[p.id]
	if role == "" {
		return
	}
	rec.setter(rec.mix, role, kind)(on)
	rec.mix.AddMarker("participant."+map[bool]string{true: "muted", false: "unmuted"}[on], map[string]any{"participant": p.id, "identity": p.identity, "kind": kind, "role": role})
}

// Gap watchdog: a recorded camera that sends nothing for gapAfter opens a
// gap; its first packets close it. Media silence, not ICE state, is what
// the recording shows: it matches the interruption itself.
const (
	gapCheck = 250 * time.Millisecond
	gapAfter = 700 * time.Millisecond
)

func (rec *recorder) checkGaps() {
	now := time.Now().UnixNano()
	for _, t := range rec.tapped {
		if t.kind != "video" || t.source != SourceCamera {
			continue
		}
		role := rec.slots[t.owner.id]
		if role == "" {
			continue
		}
		age := time.Duration(now - t.last.Load())
		_, open := rec.gaps[role]
		switch {
		case !open && age > gapAfter:
			rec.gap(t.owner, true)
		case open && age < gapCheck:
			rec.gap(t.owner, false)
		}
	}
}

// gap marks a participant's network interruption on the recording: its
// slot shows the placeholder (not a frozen frame) and a marker records
// the gap's start and length. One file throughout.
func (rec *recorder) gap(p *participant, on bool) {
	if m := rec.parts[p.id]; m != nil {
		_ = m.SetVideoOff("p", on || p.videoMuted)
	}
	role := rec.slots[p.id]
	if role == "" {
		return
	}
	if on {
		if _, open := rec.gaps[role]; open {
			return
		}
		rec.gaps[role] = time.Now()
		_ = rec.mix.SetVideoOff(role, true)
		rec.mix.AddMarker("participant.gap_start", map[string]any{"participant": p.id, "identity": p.identity, "role": role})
		return
	}
	if _, open := rec.gaps[role]; open {
		rec.closeGap(role)
		videoOff := p.videoMuted
		_ = rec.mix.SetVideoOff(role, videoOff)
	}
}

func (rec *recorder) closeGap(role string) {
	start, ok := rec.gaps[role]
	if !ok {
		return
	}
	delete(rec.gaps, role)
	rec.mix.AddMarker("participant.gap_end", map[string]any{"role": role, "duration_ms": time.Since(start).Milliseconds()})
}

func (rec *recorder) setHold(on bool) {
	if on == rec.hold {
		return
	}
	rec.hold = on
	mixes := []*mixer.Mix{rec.mix}
	for _, m := range rec.parts {
		mixes = append(mixes, m)
	}
	for _, m := range mixes {
		var err error
		if on {
			err = m.PauseWith("保持 ON HOLD")
		} else {
			_, err = m.Resume()
		}
		if err != nil {
			rec.r.log.Error("hold card", "on", on, "err", err)
		}
	}
}
