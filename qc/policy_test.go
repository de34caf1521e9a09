package qc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

func TestDefaultPolicyMatchesFFmpegDefaults(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// blackdetect d=2 pix_th=0.10 pic_th=0.98; freezedetect n=0.001 d=2;
	// silencedetect n=-60dB d=2.
	if b := p.Video.Black; b.MinDuration != 2*time.Second || b.PixelThreshold != 0.10 || b.PictureRatio != 0.98 {
		t.Errorf("black %+v", b)
	}
	if f := p.Video.Freeze; f.MinDuration != 2*time.Second || f.Noise != 0.001 {
		t.Errorf("freeze %+v", f)
	}
	if s := p.Audio.Silence; s.MinDuration != 2*time.Second || s.NoiseDB != -60 {
		t.Errorf("silence %+v", s)
	}
	if p.Sync.MaxOffset != 300*time.Millisecond {
		t.Errorf("sync %v", p.Sync.MaxOffset)
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy([]byte(`
name: counter-2024
expect:
  video: {codecs: [h264], width: 1280, height: 720}
  audio: {sample_rates: [48000, 44100]}
video:
  black: {min_duration: 5s, severity: critical}
  blur: {enabled: true}
audio:
  silence: {noise_db: -50}
watermark:
  enabled: true
  mode: clock
  region: {x: 0.7, y: 0.9, w: 0.3, h: 0.1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "counter-2024" || p.Expect.Video.Width != 1280 || len(p.Expect.Audio.SampleRates) != 2 ||
		p.Video.Black.MinDuration != 5*time.Second || p.Video.Black.Severity != pipeline.SeverityCritical ||
		!p.Video.Blur.Enabled || p.Audio.Silence.NoiseDB != -50 || p.Watermark.Mode != WatermarkClock || p.Watermark.Region.Y != 0.9 {
		t.Errorf("parsed %+v", p)
	}
	// Keys left out keep their defaults.
	if p.Video.Black.PictureRatio != 0.98 || p.Video.Freeze.MinDuration != 2*time.Second || !p.Require.Audio {
		t.Errorf("defaults lost: %+v", p.Video)
	}
	if p, err := ParsePolicy(nil); err != nil || p.Name != "default" {
		t.Errorf("empty policy: %v", err)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"video:\n  blak: {min_duration: 2s}\n", `line 2: unknown key "video.blak"`},
		{"video:\n  black:\n    min_duraton: 2s\n", `"video.black.min_duraton"`},
		{"watermark:\n  region: {x: 0.5, q: 1}\n", `"watermark.region.q"`},
		{"nmae: x\n", `"nmae"`},
		{"video:\n  black:\n    severity: fatal\n", "fatal"},
		{"video:\n  black:\n    picture_ratio: 3\n", "video.black.picture_ratio"},
		{"watermark:\n  mode: sundial\n", "watermark.mode"},
		{"sync:\n  max_offset: soon\n", "soon"},
		{"- a\n- b\n", "mapping"},
	} {
		_, err := ParsePolicy([]byte(tc.yaml))
		if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line with %s", tc.yaml, err, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte("audio:\n  silense: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicy(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "audio.silense") {
		t.Errorf("LoadPolicy: %v", err)
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, ErrPolicy) {
		t.Errorf("missing policy file: %v", err)
	}
}
