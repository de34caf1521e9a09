package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/mixer"
)

// mixClip makes a 2 s clip of one colour with one tone.
func mixClip(t *testing.T, dir, name, color string, freq int) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed; it generates the test media")
	}
	p := filepath.Join(dir, name)
	args := []string{"-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=" + color + ":s=320x240:r=25:d=2"}
	if freq > 0 {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency="+strconv.Itoa(freq)+":sample_rate=48000:d=2", "-c:a", "aac")
	} else {
		args = []string{"-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=2", "-c:a", "aac"}
	}
	if out, err := exec.Command("ffmpeg", append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", p)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return p
}

func TestMixCommand(t *testing.T) {
	dir := t.TempDir()
	red := mixClip(t, dir, "red.mp4", "red", 440)
	blue := mixClip(t, dir, "blue.mp4", "blue", 660)
	wm := filepath.Join(dir, "wm.yaml")
	os.WriteFile(wm, []byte(`watermarks:
  - {type: text, text: "某银行 双录"}
  - {type: timestamp, start: "2024-05-01T14:03:22+08:00", timezone: Asia/Shanghai}
  - {type: location, text: "天津市河西区 39.10N 117.20E"}
`), 0o644)
	out := filepath.Join(dir, "out", "mix.mp4")
	code, stdout, stderr := runCLI("mix", "--layout", "side-by-side", "--in", "agent="+red, "--in", "customer="+blue+"@500ms",
		"--label", "agent=坐席 张三", "--gain", "customer=0.5", "--watermark", wm, "--size", "320x180", "--preset", "ultrafast", "--pause", "1s-1.5s", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	markers := filepath.Join(dir, "out", "mix.markers.json")
	if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stdout, "wrote "+markers) {
		t.Fatalf("stdout %q", stdout)
	}
	if b, err := os.ReadFile(markers); err != nil || !strings.Contains(string(b), `"kind": "recording.paused"`) || !strings.Contains(string(b), `"duration_ns": 500000000`) {
		t.Fatalf("markers %v: %s", err, b)
	}
	if _, err := os.Stat(out + ".part"); err == nil {
		t.Fatal(".part left behind")
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height:format=duration", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"h264,320,180", "aac", "2.5"} {
		if !strings.Contains(string(probe), want) {
			t.Errorf("ffprobe %q lacks %q", probe, want)
		}
	}
}

// TestMixBadInputs: each is a one-line error before any work starts, and
// no output (not even OUT.part) exists afterwards.
func TestMixBadInputs(t *testing.T) {
	dir := t.TempDir()
	red := mixClip(t, dir, "red.mp4", "red", 440)
	voice := mixClip(t, dir, "voice.m4a", "", 0)
	badLayout := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badLayout, []byte("name: bad\nslots:\n  - {role: agent, x: 0, y: 0, width: 1, height: 1, colour: red}\n"), 0o644)
	badWM := filepath.Join(dir, "wm.yaml")
	os.WriteFile(badWM, []byte("watermarks:\n  - {type: image, path: "+filepath.Join(dir, "logo.png")+"}\n"), 0o644)
	out := filepath.Join(dir, "out.mp4")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown layout key", []string{"--layout", badLayout, "--in", "agent=" + red}, `field colour not found`},
		{"unknown built-in", []string{"--layout", "hexagon", "--in", "agent=" + red}, `unknown layout: "hexagon"`},
		{"slot naming no input", []string{"--layout", "side-by-side", "--in", "agent=" + red}, `slot "customer" of layout "side-by-side"`},
		{"unreadable watermark image", []string{"--layout", "single", "--in", "agent=" + red, "--watermark", badWM}, "unreadable watermark image"},
		{"no video stream", []string{"--layout", "side-by-side", "--in", "agent=" + red, "--in", "customer=" + voice}, "voice.m4a has no video stream"},
		{"bad in flag", []string{"--layout", "single", "--in", "agent"}, "want ROLE=PATH"},
		{"bad pause flag", []string{"--layout", "single", "--in", "agent=" + red, "--pause", "2s-1s"}, "want START-END"},
		{"pause past the end", []string{"--layout", "single", "--in", "agent=" + red, "--pause", "1s-5s"}, "ends after the output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(append(append([]string{"mix"}, tc.args...), "-o", out)...)
			checkOneLineError(t, code, stderr, tc.want)
			if m, _ := filepath.Glob(out + "*"); len(m) != 0 {
				t.Fatalf("files left: %v", m)
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(mixer.Progress{Pos: 42 * time.Second, Total: 180 * time.Second, Speed: 2.6, ETA: 53 * time.Second})
	if got != "mix 00:42 / 03:00  23%  2.6x ETA 00:53" {
		t.Fatalf("%q", got)
	}
}
