package signaling

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"

	"github.com/witness-media/witness/internal/config"
	"github.com/witness-media/witness/watermark"
)

// ConfigFrom turns the `signaling` section of the Witness configuration
// into a server Config (for `witness sfu` and `witness serve`). An empty
// secret becomes a random one (tokens then only come from Server.Token).
func ConfigFrom(c config.Config, log *slog.Logger) (Config, error) {
	sg := c.Signaling
	secret := []byte(sg.Secret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	list := func(s string) []string {
		var out []string
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
		return out
	}
	rc := sg.Recording
	out := Config{Secret: secret, PublicURL: sg.PublicURL, UDPPort: sg.UDPPort, IPs: list(sg.IPs), Loopback: sg.Loopback,
		NAT1To1IPs: list(sg.NAT1To1IPs), ICEServers: list(sg.ICEServers), ResumeWindow: sg.ResumeWindow,
		ICEDisconnected: sg.ICEDisconnected, StatsInterval: sg.StatsInterval, MaxParticipants: sg.MaxParticipants, Log: log,
		Recording: RecordingConfig{Dir: c.SignalingDir(), Auto: rc.Enabled, Layout: rc.Layout, Width: rc.Width, Height: rc.Height,
			FPS: rc.FPS, Bitrate: rc.Bitrate, PerParticipant: rc.PerParticipant, ScreenshotInterval: rc.ScreenshotInterval}}
	if rc.Watermarks != "" {
		wm, err := watermark.Load(rc.Watermarks)
		if err != nil {
			return Config{}, fmt.Errorf("%w: signaling.recording.watermarks: %w", ErrConfig, err)
		}
		out.Recording.Watermarks = wm
	}
	an, err := AnalysisFrom(c)
	if err != nil {
		return Config{}, err
	}
	out.Analysis = an
	return out, nil
}
