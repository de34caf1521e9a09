package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/witness-media/witness/internal/logging"
)

// Limits checked by Validate.
const (
	minFPS, maxFPS       = 7, 30     // the video frame rates Witness supports for calls
	minWidth, maxWidth   = 320, 1920 // 180p to 1080p at 16:9
	minHeight, maxHeight = 180, 1080
	// minDemoDuration matches internal/demo: shorter runs give the
	// encoder too few frames to produce a playable file.
	minDemoDuration = 200 * time.Millisecond
)

// Validate checks every value and returns all problems at once, joined with
// errors.Join, each wrapping [ErrInvalid] and naming its dotted key, so one
// `witness config check` run is enough to fix a file.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, value any, want string) {
		if s, ok := value.(string); ok {
			value = fmt.Sprintf("%q", s)
		}
		errs = append(errs, fmt.Errorf("%s: %w value %v: want %s", key, ErrInvalid, value, want))
	}

	// The logging package owns the accepted spellings, so config and
	// logger cannot disagree.
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		bad("log.level", c.Log.Level, "debug, info, warn or error")
	}
	if err := logging.CheckFormat(c.Log.Format); err != nil {
		bad("log.format", c.Log.Format, "text or json")
	}

	if c.DataDir == "" {
		bad("data_dir", c.DataDir, "a directory")
	}

	if c.Models.IntraOpThreads < 1 {
		bad("models.intra_op_threads", c.Models.IntraOpThreads, "at least 1")
	}

	if c.Pipeline.QueueSize < 1 {
		bad("pipeline.queue_size", c.Pipeline.QueueSize, "at least 1")
	}
	if c.Pipeline.StateTimeout <= 0 {
		bad("pipeline.state_timeout", c.Pipeline.StateTimeout, "more than 0s")
	}
	if c.Pipeline.EOSTimeout <= 0 {
		bad("pipeline.eos_timeout", c.Pipeline.EOSTimeout, "more than 0s")
	}

	// The demo composites two participants side by side, each half the
	// width; the encoder needs even dimensions, hence the multiples.
	if w := c.Demo.Width; w < minWidth || w > maxWidth || w%4 != 0 {
		bad("demo.width", w, fmt.Sprintf("%d to %d, a multiple of 4", minWidth, maxWidth))
	}
	if h := c.Demo.Height; h < minHeight || h > maxHeight || h%2 != 0 {
		bad("demo.height", h, fmt.Sprintf("%d to %d, even", minHeight, maxHeight))
	}
	if f := c.Demo.FPS; f < minFPS || f > maxFPS {
		bad("demo.fps", f, fmt.Sprintf("%d to %d", minFPS, maxFPS))
	}
	if c.Demo.Duration < minDemoDuration {
		bad("demo.duration", c.Demo.Duration, "at least "+minDemoDuration.String())
	}
	c.validateControl(bad)
	sg := c.Signaling
	if sg.Listen == "" {
		bad("signaling.listen", sg.Listen, "an address such as :7880")
	}
	if sg.Secret != "" && len(sg.Secret) < 16 {
		bad("signaling.secret", "(hidden)", "at least 16 bytes, or empty for a random key")
	}
	if sg.UDPPort < 0 || sg.UDPPort > 65535 {
		bad("signaling.udp_port", sg.UDPPort, "0 to 65535")
	}
	if sg.ResumeWindow < 5*time.Second {
		bad("signaling.resume_window", sg.ResumeWindow, "at least 5s (a 5 s network interruption must resume)")
	}
	if sg.ICEDisconnected < 500*time.Millisecond || sg.ICEDisconnected > 10*time.Second {
		bad("signaling.ice_disconnected", sg.ICEDisconnected, "500ms to 10s")
	}
	if sg.StatsInterval < 500*time.Millisecond {
		bad("signaling.stats_interval", sg.StatsInterval, "at least 500ms")
	}
	if sg.MaxParticipants < 2 || sg.MaxParticipants > 64 {
		bad("signaling.max_participants", sg.MaxParticipants, "2 to 64")
	}
	rc := sg.Recording
	if f := rc.FPS; f < minFPS || f > maxFPS {
		bad("signaling.recording.fps", f, fmt.Sprintf("%d to %d", minFPS, maxFPS))
	}
	if (rc.Width == 0) != (rc.Height == 0) || rc.Width != 0 && (rc.Width < minWidth || rc.Width > maxWidth || rc.Width%2 != 0 || rc.Height < minHeight || rc.Height > maxHeight || rc.Height%2 != 0) {
		bad("signaling.recording.width/height", fmt.Sprintf("%dx%d", rc.Width, rc.Height), "both 0, or 320-1920 x 180-1080, even")
	}
	if rc.Bitrate < 100 || rc.Bitrate > 20000 {
		bad("signaling.recording.bitrate", rc.Bitrate, "100 to 20000 kbit/s")
	}
	if rc.ScreenshotInterval != 0 && rc.ScreenshotInterval < time.Second {
		bad("signaling.recording.screenshot_interval", rc.ScreenshotInterval, "0 or at least 1s")
	}
	if rc.Layout == "" {
		bad("signaling.recording.layout", rc.Layout, "a built-in layout name or a YAML file")
	}
	return errors.Join(errs...)
}

// validateControl checks the control section.
func (c Config) validateControl(bad func(key string, value any, want string)) {
	cc := c.Control
	if _, _, err := net.SplitHostPort(cc.Listen); err != nil {
		bad("control.listen", cc.Listen, "host:port")
	}
	for _, r := range strings.Split(cc.Roles, ",") {
		switch strings.TrimSpace(r) {
		case "all", "control", "media", "signaling":
		default:
			bad("control.roles", cc.Roles, "all, or a comma list of control, media, signaling")
		}
	}
	if cc.Database != "" && !strings.HasPrefix(cc.Database, "sqlite:") && !strings.HasPrefix(cc.Database, "postgres://") && !strings.HasPrefix(cc.Database, "postgresql://") {
		bad("control.database", "(hidden)", "empty, sqlite:PATH or postgres://...")
	}
	if cc.NATSURL == "" {
		if _, _, err := net.SplitHostPort(cc.NATSListen); err != nil {
			bad("control.nats_listen", cc.NATSListen, "host:port")
		}
	}
	if cc.FieldCipher != "sm4-gcm" && cc.FieldCipher != "aes-gcm" {
		bad("control.field_cipher", cc.FieldCipher, "sm4-gcm or aes-gcm")
	}
	if cc.SessionTTL < time.Minute {
		bad("control.session_ttl", cc.SessionTTL, "at least 1m")
	}
	if cc.JobAckWait < time.Second {
		bad("control.job_ack_wait", cc.JobAckWait, "at least 1s")
	}
	if cc.JobMaxDeliver < 1 {
		bad("control.job_max_deliver", cc.JobMaxDeliver, "at least 1")
	}
	if cc.S3.Endpoint != "" && cc.S3.Bucket == "" {
		bad("control.s3.bucket", cc.S3.Bucket, "a bucket name when s3.endpoint is set")
	}
}
