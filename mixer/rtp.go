package mixer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
	"github.com/witness-media/witness/watermark"
)

// RTPSource is a live participant fed with RTP packets by the caller (the
// SFU's recorder): one appsrc per codec the call may use (VP8, H.264,
// Opus), each depayloaded and decoded in its own branch; the video
// branches meet in a funnel, so whichever codec the participant publishes
// (and a re-publish with another one) lands in the same slot. A branch
// that never receives a packet costs nothing and ends cleanly at Stop.
type RTPSource struct {
	// Nominal picture size, used for slot fitting before the first frame
	// arrives (pictures of another size are scaled); default 640x480.
	Width, Height int
	// Jitter buffer latency; default 200 ms.
	Latency time.Duration
}

func (r *RTPSource) defaults() {
	if r.Width == 0 || r.Height == 0 {
		r.Width, r.Height = 640, 480
	}
	if r.Latency == 0 {
		r.Latency = 200 * time.Millisecond
	}
}

// RTP codecs a live input accepts, with the payload types the SFU
// negotiates (signaling/server.go); packets are re-stamped to these.
const (
	CodecVP8  = "VP8"
	CodecH264 = "H264"
	CodecOpus = "OPUS"
)

// RTPPayloadType is the payload type each codec's appsrc expects.
var RTPPayloadType = map[string]uint8{CodecVP8: 96, CodecH264: 102, CodecOpus: 111}

func rtpAppsrc(role, codec string) string { return fmt.Sprintf("rtp_%s_%s", role, codec) }

// rtpLaunch adds the RTP branches of role n and returns the video and
// audio source ends for inputLaunch.
func rtpLaunch(add func(string, ...any), n string, size Size) (vsrc, asrc string) {
	src := func(codec, media string, rate int) string {
		return fmt.Sprintf("appsrc name=%s is-live=true format=time do-timestamp=true max-bytes=2000000 caps=%s ! rtpjitterbuffer latency=200 drop-on-latency=true",
			rtpAppsrc(n, codec), watermark.Quote(fmt.Sprintf("application/x-rtp,media=%s,encoding-name=%s,clock-rate=%d,payload=%d", media, codec, rate, RTPPayloadType[codec])))
	}
	add("%s ! rtpvp8depay ! vp8dec ! funnel name=fv_%s", src(CodecVP8, "video", 90000), n)
	add("%s ! rtph264depay ! h264parse ! avdec_h264 ! fv_%s.", src(CodecH264, "video", 90000), n)
	add("%s ! rtpopusdepay ! opusdec plc=true ! audio/x-raw,channels=2 ! funnel name=fa_%s", src(CodecOpus, "audio", 48000), n)
	// Pictures are scaled to the nominal size (letterboxed when the
	// aspect differs) before the slot's crop, whose pixel numbers are
	// computed for that size.
	return fmt.Sprintf("fv_%s. ! videoconvert ! videoscale add-borders=true ! video/x-raw,format=I420,width=%d,height=%d,pixel-aspect-ratio=1/1", n, size.Width&^1, size.Height&^1), fmt.Sprintf("fa_%s.", n)
}

// RTPInput returns the writer for one codec of a live RTP role.
func (m *Mix) RTPInput(role, codec string) (*gst.RTPSrc, error) {
	r := m.byName[role]
	if r == nil || r.input == nil || r.input.RTP == nil {
		return nil, fmt.Errorf("%w: %q is not a live RTP input", ErrInput, role)
	}
	if _, ok := RTPPayloadType[codec]; !ok {
		return nil, fmt.Errorf("%w: codec %q (want VP8, H264 or OPUS)", ErrInput, codec)
	}
	return m.p.RTPSrc(rtpAppsrc(sanitize(role), codec))
}

// SetVideoOff hides (or shows again) a role's picture: its slot shows
// the placeholder instead of a frozen last frame (camera off, a network
// gap). Live mixes, owner goroutine.
func (m *Mix) SetVideoOff(role string, off bool) error {
	r := m.byName[role]
	if r == nil || r.video == "" {
		return fmt.Errorf("%w: no picture for role %q", ErrInput, role)
	}
	alpha := 0.0
	if !off {
		for _, p := range m.place(m.layout) {
			if p.Role == role {
				alpha = 1
			}
		}
	}
	return m.p.SetPadProperties("mix", r.video, gst.Prop{Name: "alpha", Value: alpha})
}

// SetAudioMuted silences (or restores) a role in the mix.
func (m *Mix) SetAudioMuted(role string, muted bool) error {
	r := m.byName[role]
	if r == nil || r.input == nil || !r.audio {
		return fmt.Errorf("%w: no audio for role %q", ErrInput, role)
	}
	return m.p.SetProperties("gain_"+sanitize(role), gst.Prop{Name: "mute", Value: muted})
}

// PauseWith is Pause with another card text (e.g. "保持 ON HOLD").
func (m *Mix) PauseWith(text string) error {
	if err := m.p.SetProperties(pausePad+"_text", gst.Prop{Name: "text", Value: text}); err != nil {
		return err
	}
	return m.Pause()
}

// Position is the current media time of the composite.
func (m *Mix) Position() time.Duration {
	pos, _ := m.p.Position("mix")
	return pos
}

// AddMarker adds a caller's event to the markers file (media time = now
// on the composite's timeline unless set).
func (m *Mix) AddMarker(kind string, data map[string]any) pipeline.Event {
	pos := m.Position()
	b, _ := json.Marshal(data)
	ev := pipeline.Event{Kind: kind, Severity: pipeline.SeverityInfo, Source: pipeline.OriginAuto, MediaTime: pos, WallTime: time.Now(), Data: b}
	m.markers = append(m.markers, ev)
	return ev
}

// screenshots returns the tee that branches the watermarked composite to
// periodic JPEGs (Output.Screenshots), or "". The branch is leaky: a slow
// disk drops a screenshot, never a frame of the recording.
func (m *Mix) screenshots() (string, error) {
	o := &m.cfg.Output
	if o.Screenshots == "" {
		return "", nil
	}
	every := o.ScreenshotEvery
	if every == 0 {
		every = 10 * time.Second
	}
	if every < 100*time.Millisecond {
		return "", fmt.Errorf("%w: screenshot interval %v", ErrOutput, every)
	}
	if err := os.MkdirAll(o.Screenshots, 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrOutput, err)
	}
	m.shots = o.Screenshots
	return fmt.Sprintf(" ! tee name=shots shots. ! queue leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0 ! videorate drop-only=true ! video/x-raw,framerate=1000/%d ! jpegenc quality=85 ! multifilesink location=%s shots.",
		every.Milliseconds(), watermark.Quote(filepath.Join(o.Screenshots, "shot_%05d.jpg"))), nil
}

// Done is closed when the pipeline has ended (EOS, error or Close); Err
// then says why. A live recorder watches it to notice a failure while
// recording instead of at Stop.
func (m *Mix) Done() <-chan struct{} { return m.p.Done() }

// Err is the pipeline's error, if any.
func (m *Mix) Err() error { return m.p.Err() }
