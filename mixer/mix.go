package mixer

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
	"github.com/witness-media/witness/pipeline/gst"
	"github.com/witness-media/witness/watermark"
)

// Input is one participant's (or a screen share's) media.
type Input struct {
	Role string
	// Exactly one of Path, Test, RTP or Off.
	Path string      // media file, decoded by GStreamer (decodebin)
	Test *TestSource // generated source (tests, demos, live rehearsals)
	RTP  *RTPSource  // live RTP pushed by the caller (rtp.go): a live mix
	Off  bool        // the role is known to have no camera: placeholder only
	// Offset delays the input on the output timeline, on top of the
	// container's own start time (an MP4 edit list that starts at 2 s
	// already plays from 2 s).
	Offset time.Duration
	Gain   float64 // linear audio gain; 0 means 1
	Mute   bool    // drop this input's audio from the mix
	Label  string  // overrides the slot's label text
}

// TestSource generates a pattern and a sine tone (videotestsrc and
// audiotestsrc), live (paced by the clock, runs until Stop) or for Duration.
type TestSource struct {
	Pattern  string  // videotestsrc pattern nick: red, blue, smpte, ball, ...
	Freq     float64 // sine frequency in Hz; 0 = no audio
	Volume   float64 // sine amplitude; default 0.3
	Width    int     // default 320
	Height   int     // default 240
	FPS      int     // default 25
	Live     bool
	Duration time.Duration // non-live only
}

// Switch is a layout change at an exact media time in an offline mix.
type Switch struct {
	At     time.Duration
	Layout *Layout
}

// Config is everything a Mix needs.
type Config struct {
	Layout     *Layout
	Alternates []*Layout // layouts SwitchLayout may move to while live
	Switches   []Switch  // layout changes at media times (offline)
	// Pauses are intervals of the output (offline) that show the pause
	// card and are silent; see pause.go. Live mixes use Pause/Resume.
	Pauses []Pause
	Inputs []Input
	Output Output
	// Duration of the output; 0 = until the longest input ends (offline)
	// or until Stop (live).
	Duration time.Duration
	GST      gst.Options
	// Now is the wall clock for timestamp watermarks without a start;
	// default time.Now().
	Now time.Time
}

// Progress is reported while an offline mix runs.
type Progress struct {
	Pos, Total time.Duration
	Elapsed    time.Duration
	Speed      float64       // media seconds per wall second
	ETA        time.Duration // remaining wall time estimate
}

// role is everything the compositor holds for one role: its pads (names on
// the compositor, "" when absent) and what is known about its source.
type role struct {
	name   string
	input  *Input
	size   Size // source picture size; zero when unknown or none
	audio  bool
	border string
	holder string
	video  string
	label  string
	crop   string // videocrop element name
	labelW int    // label box as rendered (pads are resized when a layout differs)
	labelH int
}

// Mix is one composite recording: a built GStreamer pipeline and the
// state needed to run, switch and finalise it. Its methods are for one
// owner goroutine.
type Mix struct {
	cfg    Config
	log    *slog.Logger
	p      *gst.Pipeline
	launch string
	roles  []*role
	byName map[string]*role
	layout *Layout
	total  time.Duration // known output length (0 when live without Duration)
	live   bool
	parts  []string              // .part files written, renamed at the end
	anims  []watermark.Animation // per-participant clocks
	// Pauses (pause.go): the card's compositor pad, the markers so far,
	// and the live pause in progress (pausedAt < 0: none).
	pause       string
	markers     []pipeline.Event
	pausedAt    time.Duration
	pausedWall  time.Time
	markersFile string
	done        bool
	shots       string // screenshot directory (Outputs lists its files)
}

// New checks everything (layout, inputs by probing, watermarks, output
// settings) before any file is written, then builds the pipeline.
func New(cfg Config, log *slog.Logger) (*Mix, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Layout == nil {
		return nil, fmt.Errorf("%w: no layout", ErrLayout)
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	cfg.Output.defaults(cfg.Layout.Canvas)
	if err := cfg.Output.validate(); err != nil {
		return nil, err
	}
	if cfg.Output.Watermarks != nil {
		if err := cfg.Output.Watermarks.Validate(); err != nil {
			return nil, err
		}
	}
	m := &Mix{cfg: cfg, log: log, layout: cfg.Layout, byName: map[string]*role{}, pausedAt: -1}
	if err := m.resolveInputs(); err != nil {
		return nil, err
	}
	if err := m.validatePauses(); err != nil {
		return nil, err
	}
	if err := gst.Require("compositor", "audiomixer", "videocrop", "videoconvertscale", "imagefreeze", "textoverlay", "x264enc", "avenc_aac", "decodebin"); err != nil {
		return nil, err
	}
	launch, anims, err := m.build()
	if err != nil {
		return nil, err
	}
	m.launch = launch
	p, err := gst.NewFromLaunch("mix", launch, cfg.GST, log)
	if err != nil {
		return nil, err
	}
	m.p = p
	for obj, ps := range m.padProps(m.layout) {
		if strings.HasPrefix(obj, "crop_") {
			if err := p.SetProperties(obj, ps...); err != nil {
				p.Close()
				return nil, err
			}
		}
	}
	if err := watermark.Apply(p, append(anims, m.anims...)); err != nil {
		p.Close()
		return nil, err
	}
	if err := m.scheduleSwitches(); err != nil {
		p.Close()
		return nil, err
	}
	if err := m.schedulePauses(); err != nil {
		p.Close()
		return nil, err
	}
	return m, nil
}

// resolveInputs probes files, matches inputs to slots and fixes the
// output length. Every problem is reported before anything runs.
func (m *Mix) resolveInputs() error {
	layouts := append([]*Layout{m.cfg.Layout}, m.cfg.Alternates...)
	for _, s := range m.cfg.Switches {
		if s.Layout == nil || s.At < 0 {
			return fmt.Errorf("%w: switch at %v without a layout", ErrLayout, s.At)
		}
		layouts = append(layouts, s.Layout)
	}
	inSlot := map[string]bool{}
	for _, l := range layouts {
		for _, r := range l.Roles() {
			inSlot[r] = true
			if m.byName[r] == nil {
				rl := &role{name: r}
				m.byName[r] = rl
				m.roles = append(m.roles, rl)
			}
		}
	}
	var errs []error
	var longest time.Duration
	for i := range m.cfg.Inputs {
		in := &m.cfg.Inputs[i]
		rl := m.byName[in.Role]
		switch {
		case in.Role == "":
			errs = append(errs, fmt.Errorf("%w: input %d has no role", ErrInput, i))
			continue
		case !inSlot[in.Role]:
			errs = append(errs, fmt.Errorf("%w: role %q is in no slot of layout %q (slots: %s)", ErrInput, in.Role, m.cfg.Layout.Name, strings.Join(m.cfg.Layout.Roles(), ", ")))
			continue
		case rl.input != nil:
			errs = append(errs, fmt.Errorf("%w: role %q given twice", ErrInput, in.Role))
			continue
		}
		rl.input = in
		var end time.Duration
		switch {
		case in.Off:
			rl.input = nil
			continue
		case in.Test != nil:
			t := in.Test
			if t.Width == 0 {
				t.Width, t.Height = 320, 240
			}
			if t.FPS == 0 {
				t.FPS = 25
			}
			if t.Volume == 0 {
				t.Volume = 0.3
			}
			if !t.Live && t.Duration <= 0 {
				errs = append(errs, fmt.Errorf("%w: %s: a non-live test source needs a duration", ErrInput, in.Role))
			}
			m.live = m.live || t.Live
			rl.size, rl.audio = Size{t.Width, t.Height}, t.Freq > 0
			end = t.Duration
		case in.RTP != nil:
			in.RTP.defaults()
			m.live = true
			rl.size, rl.audio = Size{in.RTP.Width, in.RTP.Height}, true
		case in.Path != "":
			info, err := av.Probe(in.Path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s: %w", ErrInput, in.Role, err))
				continue
			}
			for _, s := range info.Streams {
				if s.Duration > 0 && (s.Type == av.MediaVideo || s.Type == av.MediaAudio) {
					end = max(end, max(s.StartTime, 0)+s.Duration)
				}
				switch {
				case s.Type == av.MediaVideo && !s.AttachedImage && rl.size.Width == 0:
					rl.size = Size{s.Width, s.Height}
				case s.Type == av.MediaAudio:
					rl.audio = true
				}
			}
			if rl.size.Width == 0 {
				errs = append(errs, fmt.Errorf("%w: %s: %s has no video stream", ErrInput, in.Role, in.Path))
			}
			if end == 0 {
				// Streams without durations: the container's (which some
				// demuxers already count from time 0).
				end = max(info.StartTime, 0) + info.Duration
			}
		default:
			errs = append(errs, fmt.Errorf("%w: %s: no path, test source or off", ErrInput, in.Role))
		}
		if in.Gain < 0 || in.Offset < 0 {
			errs = append(errs, fmt.Errorf("%w: %s: negative gain or offset", ErrInput, in.Role))
		}
		longest = max(longest, end+in.Offset)
	}
	given := map[string]bool{}
	for _, in := range m.cfg.Inputs {
		given[in.Role] = true
	}
	for _, r := range m.cfg.Layout.Roles() {
		if !given[r] {
			errs = append(errs, fmt.Errorf("%w: slot %q of layout %q (give --in %s=FILE, or %s=off for a camera that is off)", ErrMissingInput, r, m.cfg.Layout.Name, r, r))
		}
	}
	if err := join(errs); err != nil {
		return err
	}
	m.total = m.cfg.Duration
	if m.total == 0 && !m.live {
		m.total = longest
	}
	if m.total == 0 && !m.live {
		return fmt.Errorf("%w: nothing to record (no input with a duration)", ErrInput)
	}
	return nil
}

// Launch returns the pipeline description (for logs and debugging).
func (m *Mix) Launch() string { return m.launch }

// Duration is the output length, or 0 for a live mix that runs until Stop.
func (m *Mix) Duration() time.Duration { return m.total }

// frames returns a num-buffers value for generated pictures: the output
// length in frames, or -1 (forever) when live.
func (m *Mix) frames() int {
	if m.live && m.cfg.Duration == 0 {
		return -1
	}
	return int(math.Ceil(m.total.Seconds()*float64(m.cfg.Output.FPS))) + 1
}

// build writes the gst-launch description and the watermark animations.
func (m *Mix) build() (string, []watermark.Animation, error) {
	o := &m.cfg.Output
	w, h, fps := o.Width, o.Height, o.FPS
	var b strings.Builder
	add := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	live := fmt.Sprint(m.live)
	frames := m.frames()
	animTotal := m.total
	if animTotal == 0 {
		animTotal = 12 * time.Hour
	}

	part := o.partPath()
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrOutput, err)
	}
	m.parts = append(m.parts, part)
	mux, vpad, apad := o.muxer("mux", part)
	wm, anims, err := o.Watermarks.Launch("wm", w, h, animTotal, m.cfg.Now)
	if err != nil {
		return "", nil, err
	}
	pad := 0
	newPad := func() string { pad++; return fmt.Sprintf("sink_%d", pad-1) }
	sizes := map[string]Size{}
	labels := map[string]string{}
	for _, r := range m.roles {
		if r.size.Width > 0 {
			sizes[r.name] = r.size
		}
		if r.input != nil && r.input.Label != "" {
			labels[r.name] = r.input.Label
		}
	}
	props := map[string][]gst.Prop{}

	// Background: compositor's own black, or a frozen colour/image frame.
	bg := m.layout.Background
	if bgc, _ := ParseColor(bg.Color); bg.Image != "" || bgc&0xFFFFFF != 0 {
		p := newPad()
		props[p] = []gst.Prop{{Name: "zorder", Value: 0}, {Name: "width", Value: w}, {Name: "height", Value: h}}
		if bg.Image != "" && !m.live {
			add("filesrc location=%s ! decodebin ! videoconvertscale ! video/x-raw,format=I420,width=%d,height=%d,%s ! imagefreeze num-buffers=%d ! video/x-raw,framerate=%d/1 ! mix.%s",
				watermark.Quote(bg.Image), w, h, composeColor, frames, fps, p)
		} else if bg.Image != "" {
			add("%s ! mix.%s", m.still(bgc, w, h, fmt.Sprintf("gdkpixbufoverlay location=%s overlay-width=%d overlay-height=%d", watermark.Quote(bg.Image), w, h)), p)
		} else {
			add("%s ! mix.%s", m.still(bgc, w, h, ""), p)
		}
	}

	// Per role: border, placeholder, picture, label. Every role gets a
	// placeholder; sizes come from the first layout that shows the role.
	first := m.firstPlacements()
	phc, _ := ParseColor(m.layout.Placeholder.Color)
	for _, r := range m.roles {
		pl := first[r.name]
		if pl.Border.W > 0 || m.anyBorder(r.name) {
			r.border = newPad()
			bc := uint32(0xFFFFFFFF)
			if s := m.slotOf(r.name); s != nil && s.Border.Color != "" {
				bc, _ = ParseColor(s.Border.Color)
			}
			// Drawn at its slot size: a tiny still would be scaled up by
			// the compositor on every frame.
			add("%s ! mix.%s", m.still(bc, max(pl.Border.W, 16), max(pl.Border.H, 16), ""), r.border)
		}
		r.holder = newPad()
		hv := pl.Video
		fontPx := LabelFontPx(hv.H * 2)
		add("%s ! mix.%s", m.still(phc, max(hv.W, 64), max(hv.H, 36),
			fmt.Sprintf("textoverlay text=%s font-desc=%s halignment=center valignment=center auto-resize=false draw-shadow=false wait-text=false color=0xFFE0E0E0",
				watermark.Quote(m.layout.Placeholder.Text), watermark.Quote(fmt.Sprintf("Noto Sans CJK SC %dpx", fontPx)))), r.holder)
		if r.input != nil {
			r.video = newPad()
			r.crop = "crop_" + sanitize(r.name)
			off := r.input.Offset
			if off > 0 {
				props[r.video] = append(props[r.video], gst.Prop{Name: "offset", Value: off.Nanoseconds()})
			}
			m.inputLaunch(add, r, frames)
		}
		if text := m.labelText(r.name, labels); text != "" {
			lw, lh := pl.Label.W, pl.Label.H
			if lw == 0 {
				lw, lh = 200, 36
			}
			r.label, r.labelW, r.labelH = newPad(), lw, lh
			lf := LabelFontPx(h)
			add("%s ! mix.%s", m.still(0xFF202020, lw, lh,
				fmt.Sprintf("textoverlay text=%s font-desc=%s halignment=left valignment=center xpad=%d auto-resize=false draw-shadow=false draw-outline=false wait-text=false",
					watermark.Quote(text), watermark.Quote(fmt.Sprintf("Noto Sans CJK SC %dpx", lf)), lf/2)), r.label)
		}
	}
	if m.pausable() {
		m.pause = newPad()
		m.pauseLaunch(add, props, m.pause)
	}
	for pad, ps := range m.padProps(m.layout) {
		if !strings.HasPrefix(pad, "crop_") { // element properties: set in New
			props[pad] = append(props[pad], ps...)
		}
	}
	var pp []string
	for pad, ps := range props {
		for _, p := range ps {
			pp = append(pp, fmt.Sprintf("%s::%s=%v", pad, p.Name, p.Value))
		}
	}
	shots, err := m.screenshots()
	if err != nil {
		return "", nil, err
	}
	// Live, the composite starts at its first input buffer: with the
	// default (zero) a compositor started under load intermittently
	// emitted a frame without a timestamp, which fails the MP4 muxer.
	startSel := ""
	if m.live {
		startSel = "start-time-selection=first "
	}
	add("compositor name=mix background=black %s%s ! video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1,%s ! %s%s ! queue max-size-buffers=8 max-size-bytes=0 max-size-time=0 ! %s ! queue max-size-time=10000000000 max-size-buffers=0 max-size-bytes=0 ! %s",
		startSel, strings.Join(pp, " "), w, h, fps, composeColor, wm, shots, o.videoEncoder(), vpad)

	// Audio: every input through its own volume into audiomixer, plus a
	// silent source for the whole length so the track spans the video even
	// when no one speaks (or no input has audio).
	var ap []string
	for i, r := range m.roles {
		if r.input != nil && r.audio && r.input.Offset > 0 {
			ap = append(ap, fmt.Sprintf("sink_%d::offset=%d", i, r.input.Offset.Nanoseconds()))
		}
	}
	silence := ""
	if m.pausable() {
		silence = fmt.Sprintf(" ! volume name=%s", pauseGain)
	}
	// Live, the mixer waits up to 1 s for an input's late buffers, so an
	// input whose decode falls behind on a loaded machine is not dropped
	// as late (a second of delay costs nothing in a file).
	amixLatency := ""
	if m.live {
		amixLatency = "latency=1000000000 "
	}
	add("audiomixer name=amix %s%s ! audio/x-raw,rate=%d,channels=2%s ! queue max-size-time=2000000000 ! %s ! queue max-size-time=10000000000 max-size-buffers=0 max-size-bytes=0 ! %s",
		amixLatency, strings.Join(ap, " "), audioRate, silence, o.audioEncoder(), strings.Replace(apad, "%u", "0", 1))
	blocks := -1
	if frames > 0 {
		blocks = int(math.Ceil(m.total.Seconds()*50)) + 1
	}
	add("audiotestsrc wave=silence is-live=%s samplesperbuffer=%d num-buffers=%d ! audio/x-raw,rate=%d,channels=2 ! amix.sink_%d", live, audioRate/50, blocks, audioRate, len(m.roles))
	add("%s", mux)
	if o.PerParticipant != "" {
		if err := m.perParticipant(add); err != nil {
			return "", nil, err
		}
	}
	return b.String(), anims, nil
}

// composeColor is the colorimetry of every picture the compositor sees and
// of the composite (HD: BT.709, left-sited chroma as H.264 expects). With
// one colorimetry throughout, compositor copies pictures in; a pad whose
// colorimetry differed (SD sources default to BT.601, videotestsrc to JPEG
// chroma siting) was converted by it, matrix and chroma, at full size on
// every frame. Sources are converted once, in their own branch, while
// being scaled to their slot.
const composeColor = "colorimetry=bt709,chroma-site=mpeg2"

// inputLaunch adds the decode (or generate) branches of one input: video
// through a cropping videocrop to its compositor pad, audio through its gain
// to audiomixer. With per-participant recording each branch is teed.
func (m *Mix) inputLaunch(add func(string, ...any), r *role, frames int) {
	in := r.input
	n := sanitize(r.name)
	gain := in.Gain
	if gain == 0 {
		gain = 1
	}
	var vsrc, asrc string
	if in.RTP != nil {
		vsrc, asrc = rtpLaunch(add, n, r.size)
	} else if t := in.Test; t != nil {
		nb, ab := -1, -1
		if !t.Live {
			nb = int(math.Ceil(t.Duration.Seconds() * float64(t.FPS)))
			ab = int(math.Ceil(t.Duration.Seconds() * 50))
		}
		vsrc = fmt.Sprintf("videotestsrc is-live=%v pattern=%s num-buffers=%d ! video/x-raw,width=%d,height=%d,framerate=%d/1", t.Live, t.Pattern, nb, t.Width, t.Height, t.FPS)
		if t.Freq > 0 {
			asrc = fmt.Sprintf("audiotestsrc is-live=%v freq=%g volume=%g samplesperbuffer=%d num-buffers=%d ! audio/x-raw,rate=%d,channels=1", t.Live, t.Freq, t.Volume, audioRate/50, ab, audioRate)
		}
	} else {
		add("filesrc location=%s ! decodebin name=dec_%s", watermark.Quote(in.Path), n)
		vsrc = fmt.Sprintf("dec_%s. ! video/x-raw", n)
		if r.audio {
			asrc = fmt.Sprintf("dec_%s. ! audio/x-raw", n)
		}
	}
	per := m.cfg.Output.PerParticipant != ""
	if per {
		add("%s ! tee name=pv_%s", vsrc, n)
		vsrc = fmt.Sprintf("pv_%s.", n)
	}
	// Crop, convert and scale down here, in the branch's own thread, to
	// the largest size any layout shows the role at: per-pixel work then
	// happens at slot size, in parallel across inputs, and compositor only
	// copies the picture in (its own pad scaling, through a generic
	// converter, cost about twice as much and ran after the sizes were
	// large). A layout that shows the role smaller is still scaled by the
	// compositor pad.
	sz := m.scaleSize(r)
	add("%s ! queue max-size-buffers=10 max-size-bytes=0 max-size-time=0 ! videocrop name=%s ! videoconvertscale ! video/x-raw,format=I420,width=%d,height=%d,pixel-aspect-ratio=1/1,%s ! mix.%s",
		vsrc, r.crop, sz.Width, sz.Height, composeColor, r.video)
	if asrc == "" {
		return
	}
	if per {
		add("%s ! tee name=pa_%s", asrc, n)
		asrc = fmt.Sprintf("pa_%s.", n)
	}
	vol := fmt.Sprintf("volume name=gain_%s volume=%g mute=%v", n, gain, in.Mute)
	add("%s ! queue max-size-time=3000000000 max-size-buffers=0 max-size-bytes=0 ! audioconvert ! audioresample ! %s ! amix.sink_%s", asrc, vol, audioPad(m, r))
}

// scaleSize is the size a role's picture is scaled to in its own branch:
// its largest video rectangle over every layout of the mix (by area), even.
func (m *Mix) scaleSize(r *role) Size {
	var best Size
	for _, l := range m.allLayouts() {
		for _, p := range m.place(l) {
			if p.Role == r.name && p.Video.W*p.Video.H > best.Width*best.Height {
				best = Size{p.Video.W, p.Video.H}
			}
		}
	}
	return Size{max(best.Width&^1, 2), max(best.Height&^1, 2)}
}

// audioPad numbers audiomixer pads by role order so offsets can be set.
func audioPad(m *Mix, r *role) string {
	for i, x := range m.roles {
		if x == r {
			return fmt.Sprint(i)
		}
	}
	return "0"
}

// perParticipant records each input on its own next to the composite.
func (m *Mix) perParticipant(add func(string, ...any)) error {
	o := m.cfg.Output
	if err := os.MkdirAll(o.PerParticipant, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	single := o
	single.Segment = 0
	for _, r := range m.roles {
		if r.input == nil {
			continue
		}
		n := sanitize(r.name)
		part := filepath.Join(o.PerParticipant, n+"."+o.Container) + ".part"
		m.parts = append(m.parts, part)
		mux, vpad, apad := single.muxer("pmux_"+n, part)
		wm, anims, err := o.Watermarks.Launch("pwm_"+n+"_", r.size.Width&^1, r.size.Height&^1, m.total, m.cfg.Now)
		if err != nil {
			return err
		}
		for _, a := range anims {
			if a.Clock == nil {
				// Moving marks need one schedule per element; keep the
				// single-track files to static marks and clocks rather
				// than double the schedules.
				wm, anims = "identity", nil
				break
			}
		}
		m.anims = append(m.anims, anims...)
		// Live, a participant's stream has gaps (camera off, network):
		// its muxer then waits on the silent pad while the other one
		// queues. Queues sized in time (a minute) absorb the gap instead
		// of blocking the tee, and with it the composite.
		vq, aq := "max-size-buffers=10 max-size-bytes=0 max-size-time=0", "max-size-time=3000000000 max-size-buffers=0 max-size-bytes=0"
		if m.live {
			vq = "max-size-time=60000000000 max-size-buffers=0 max-size-bytes=0"
			aq = vq
		}
		add("pv_%s. ! queue "+vq+" ! videoconvert ! videoscale ! video/x-raw,format=I420,width=%d,height=%d ! %s ! %s ! queue max-size-time=10000000000 max-size-buffers=0 max-size-bytes=0 ! %s",
			n, r.size.Width&^1, r.size.Height&^1, wm, single.videoEncoder(), vpad)
		if r.audio {
			add("pa_%s. ! queue "+aq+" ! %s ! queue max-size-time=10000000000 max-size-buffers=0 max-size-bytes=0 ! %s", n, single.audioEncoder(), apad)
		}
		add("%s", mux)
	}
	return nil
}

func (m *Mix) labelText(role string, labels map[string]string) string {
	for _, l := range m.allLayouts() {
		for _, p := range l.Place(m.cfg.Output.Width, m.cfg.Output.Height, nil, labels) {
			if p.Role == role && p.Text != "" {
				return p.Text
			}
		}
	}
	return ""
}

func (m *Mix) allLayouts() []*Layout {
	ls := append([]*Layout{m.cfg.Layout}, m.cfg.Alternates...)
	for _, s := range m.cfg.Switches {
		ls = append(ls, s.Layout)
	}
	return ls
}

// firstPlacements gives each role its placement in the first layout that
// shows it (generated pictures are rendered at that size).
func (m *Mix) firstPlacements() map[string]Placement {
	out := map[string]Placement{}
	for _, l := range m.allLayouts() {
		for _, p := range m.place(l) {
			if _, ok := out[p.Role]; !ok {
				out[p.Role] = p
			}
		}
	}
	return out
}

func (m *Mix) place(l *Layout) []Placement {
	sizes := map[string]Size{}
	labels := map[string]string{}
	for _, r := range m.roles {
		if r.size.Width > 0 {
			sizes[r.name] = r.size
		}
		if r.input != nil && r.input.Label != "" {
			labels[r.name] = r.input.Label
		}
	}
	return l.Place(m.cfg.Output.Width, m.cfg.Output.Height, sizes, labels)
}

func (m *Mix) slotOf(role string) *Slot {
	for _, l := range m.allLayouts() {
		for i := range l.Slots {
			if l.Slots[i].Role == role && l.Slots[i].Border.Width > 0 {
				return &l.Slots[i]
			}
		}
	}
	return nil
}

func (m *Mix) anyBorder(role string) bool { return m.slotOf(role) != nil }

// padProps maps every compositor pad (and "crop_*" videocrop) to the
// properties that show layout l: placed roles visible where their slot is,
// other roles hidden (alpha 0).
func (m *Mix) padProps(l *Layout) map[string][]gst.Prop {
	out := map[string][]gst.Prop{}
	placed := map[string]Placement{}
	for _, p := range m.place(l) {
		placed[p.Role] = p
	}
	rect := func(r Rect, z int, alpha float64) []gst.Prop {
		return []gst.Prop{{Name: "xpos", Value: r.X}, {Name: "ypos", Value: r.Y}, {Name: "width", Value: max(r.W, 1)}, {Name: "height", Value: max(r.H, 1)},
			{Name: "zorder", Value: z}, {Name: "alpha", Value: alpha}}
	}
	vis := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	for _, r := range m.roles {
		p, ok := placed[r.name]
		if r.border != "" {
			out[r.border] = rect(p.Border, p.Zorder, vis(ok && p.Border.W > 0))
		}
		holder := p.Video
		out[r.holder] = rect(holder, p.Zorder+1, vis(ok))
		if r.video != "" {
			out[r.video] = rect(p.Video, p.Zorder+2, vis(ok))
			out[r.crop] = []gst.Prop{{Name: "left", Value: p.Crop.Left}, {Name: "right", Value: p.Crop.Right}, {Name: "top", Value: p.Crop.Top}, {Name: "bottom", Value: p.Crop.Bottom}}
		}
		if r.label != "" {
			lr := p.Label
			out[r.label] = rect(lr, p.Zorder+3, vis(ok && lr.W > 0))
		}
	}
	return out
}

// still is a generated picture of one ARGB colour, optionally drawn on by
// overlay (a textoverlay), for the compositor's background, borders,
// placeholders and labels. Offline it is rendered once and repeated by
// imagefreeze for the output's length (cheap: no per-frame fill or text
// blending). Live it is a live videotestsrc, because imagefreeze never sees
// the EOS that Stop sends to the sources and would keep the compositor, and
// so the file, from finishing.
func (m *Mix) still(argb uint32, w, h int, overlay string) string {
	fps := m.cfg.Output.FPS
	caps := fmt.Sprintf("video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,%s", w&^1, h&^1, fps, composeColor)
	if overlay != "" {
		overlay = " ! " + overlay
	}
	if m.live {
		return fmt.Sprintf("videotestsrc is-live=true pattern=solid-color foreground-color=0x%08X ! %s%s", argb, caps, overlay)
	}
	return fmt.Sprintf("videotestsrc pattern=solid-color foreground-color=0x%08X num-buffers=1 ! %s%s ! imagefreeze num-buffers=%d ! video/x-raw,framerate=%d/1",
		argb, caps, overlay, m.frames(), fps)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Start runs the pipeline (live recordings; Run for offline mixes).
func (m *Mix) Start(ctx context.Context) error {
	return m.p.Start(ctx)
}

// Run mixes offline to the end, reporting progress about every interval
// (nil progress: none), then finalises the files.
func (m *Mix) Run(ctx context.Context, interval time.Duration, progress func(Progress)) error {
	if m.live && m.cfg.Duration == 0 {
		return fmt.Errorf("%w: a live mix without a duration runs until Stop; use Start/Stop", ErrState)
	}
	start := time.Now()
	if err := m.Start(ctx); err != nil {
		return m.fail(err)
	}
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	done := m.p.Done()
	for {
		select {
		case <-done:
			if err := m.p.Err(); err != nil {
				return m.fail(err)
			}
			return m.Stop(ctx)
		case <-ctx.Done():
			_ = m.p.Stop(context.Background())
			return m.fail(ctx.Err())
		case <-tick.C:
			if progress != nil {
				progress(m.progress(start))
			}
		}
	}
}

func (m *Mix) progress(start time.Time) Progress {
	pr := Progress{Total: m.total, Elapsed: time.Since(start)}
	if pos, ok := m.p.Position("mix"); ok {
		pr.Pos = min(pos, m.total)
	}
	if pr.Elapsed > 0 {
		pr.Speed = pr.Pos.Seconds() / pr.Elapsed.Seconds()
	}
	if pr.Speed > 0 {
		pr.ETA = time.Duration(float64(m.total-pr.Pos) / pr.Speed)
	}
	return pr
}

// Stop ends the recording gracefully (EOS through the muxers, bounded by
// the EOS watchdog) and renames the finished files to their final names.
func (m *Mix) Stop(ctx context.Context) error {
	if m.done {
		return nil
	}
	if m.pausedAt >= 0 {
		m.closePause() // stopped while paused: the pause runs to the end
	}
	if err := m.p.Stop(ctx); err != nil {
		return m.fail(err)
	}
	m.done = true
	if err := m.finish(); err != nil {
		return err
	}
	return m.writeMarkers()
}

// Close is the hard stop; files stay as .part.
func (m *Mix) Close() error {
	m.done = true
	return m.p.Close()
}

func (m *Mix) fail(err error) error {
	_ = m.p.Close()
	m.done = true
	return fmt.Errorf("%w (partial output left as %s)", err, strings.Join(m.existingParts(), ", "))
}

func (m *Mix) existingParts() []string {
	var out []string
	for _, p := range m.parts {
		if strings.Contains(p, "%05d") {
			g, _ := filepath.Glob(strings.Replace(p, "%05d", "[0-9][0-9][0-9][0-9][0-9]", 1))
			out = append(out, g...)
		} else if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{"nothing"}
	}
	return out
}

// finish renames every .part file to its final name.
func (m *Mix) finish() error {
	for _, p := range m.existingParts() {
		if p == "nothing" {
			continue
		}
		if err := os.Rename(p, strings.TrimSuffix(p, ".part")); err != nil {
			return fmt.Errorf("%w: %w", ErrOutput, err)
		}
	}
	return nil
}

// Outputs lists the finished files (after a successful Run or Stop).
func (m *Mix) Outputs() []string {
	var out []string
	for _, p := range m.parts {
		if strings.Contains(p, "%05d") {
			g, _ := filepath.Glob(strings.TrimSuffix(strings.Replace(p, "%05d", "[0-9][0-9][0-9][0-9][0-9]", 1), ".part"))
			out = append(out, g...)
		} else {
			out = append(out, strings.TrimSuffix(p, ".part"))
		}
	}
	if m.shots != "" {
		g, _ := filepath.Glob(filepath.Join(m.shots, "shot_*.jpg"))
		out = append(out, g...)
	}
	if m.markersFile != "" {
		out = append(out, m.markersFile)
	}
	return out
}
