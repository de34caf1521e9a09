package mixer

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestContainersSegmentsAndPerParticipant: MKV and MPEG-TS outputs decode
// with the composite's content; segmenting by duration gives several
// complete files; per-participant recording writes each input on its own
// (own size, own colour) next to the composite.
func TestContainersSegmentsAndPerParticipant(t *testing.T) {
	dir := t.TempDir()
	side, _ := Builtin("side-by-side")
	side.Labels = false
	for _, c := range []string{ContainerMKV, ContainerTS} {
		out := filepath.Join(dir, "side."+c)
		mixFiles(t, side, 320, 180, out, func(cfg *Config) { cfg.Output.Container = c })
		f := frameAt(t, out, time.Second)
		if !near(f.at(80, 90), rgb["red"], 48) || !near(f.at(240, 90), rgb["blue"], 48) {
			t.Errorf("%s: wrong pixels %v %v", c, f.at(80, 90), f.at(240, 90))
		}
		if errs, pts := decodeAll(t, out); errs != "" || len(pts) < 45 {
			t.Errorf("%s: %d frames, ffmpeg: %s", c, len(pts), errs)
		}
	}
	out := filepath.Join(dir, "seg.mp4")
	per := filepath.Join(dir, "per")
	m := mixFiles(t, side, 320, 180, out+"", func(cfg *Config) {
		cfg.Output.Segment = time.Second
		cfg.Output.GOP = 25
		cfg.Output.PerParticipant = per
	})
	files := m.Outputs()
	var segs []string
	for _, f := range files {
		if strings.Contains(f, "seg_") {
			segs = append(segs, f)
		}
	}
	if len(segs) < 2 {
		t.Fatalf("segments %v (outputs %v)", segs, files)
	}
	for _, s := range segs {
		if errs, pts := decodeAll(t, s); errs != "" || len(pts) < 10 {
			t.Errorf("segment %s: %d frames, ffmpeg: %s", s, len(pts), errs)
		}
	}
	for role, size := range map[string]string{"agent": "320x240", "customer": "640x360"} {
		p := filepath.Join(per, role+".mp4")
		w, h := videoSize(t, p)
		if got := strings.Join([]string{strconv.Itoa(w), strconv.Itoa(h)}, "x"); got != size {
			t.Errorf("%s: size %s, want %s", role, got, size)
		}
		f := frameAt(t, p, time.Second)
		if got := f.at(w/2, h/2); !near(got, rgb[clips[role].color], 48) {
			t.Errorf("%s: centre %v, want %s", role, got, clips[role].color)
		}
	}
}
