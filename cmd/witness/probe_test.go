package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testClip makes a 1 s H.264+AAC MP4 with the ffmpeg CLI (skips without it).
func probeTestClip(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed; it generates the test media")
	}
	path := filepath.Join(t.TempDir(), "clip.mp4")
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "color=c=red:s=160x120:r=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return path
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

// oneLineError checks a failed run: non-zero, nothing on stdout beyond what
// earlier files printed, exactly one line on stderr containing want.
func checkOneLineError(t *testing.T, code int, stderr, want string) {
	t.Helper()
	if code == 0 {
		t.Errorf("exit code 0, want non-zero")
	}
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
		t.Errorf("stderr %q: want one line containing %q", stderr, want)
	}
}

func TestProbeCommand(t *testing.T) {
	clip := probeTestClip(t)
	code, out, errs := runCLI("probe", clip)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"clip.mp4: mov,mp4", "video #0 h264 160x120 yuv420p 25.00 fps 1.00s", "audio #1 aac 48000 Hz 1 ch"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI("probe", "--json", clip)
	var info struct {
		Format  string `json:"format"`
		Streams []struct {
			Codec string `json:"codec"`
			Width int    `json:"width"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &info); code != 0 || err != nil || len(info.Streams) != 2 ||
		info.Streams[0].Codec != "h264" || info.Streams[0].Width != 160 {
		t.Errorf("--json: exit %d, %v, %+v\n%s", code, err, info, out)
	}
}

func TestProbeCommandErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a recording\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI("probe", text)
	checkOneLineError(t, code, errs, "not a media file")
	if !strings.Contains(errs, text) {
		t.Errorf("error does not name the file: %q", errs)
	}

	code, _, errs = runCLI("probe", filepath.Join(dir, "missing.mp4"))
	checkOneLineError(t, code, errs, "no such file")

	code, _, errs = runCLI("probe")
	if code != 2 {
		t.Errorf("probe without files: exit %d (%q), want 2", code, errs)
	}
}

func TestProbeCommandMixed(t *testing.T) {
	clip := probeTestClip(t)
	code, out, errs := runCLI("probe", clip, filepath.Join(t.TempDir(), "missing.mp4"))
	checkOneLineError(t, code, errs, "no such file")
	if !strings.Contains(out, "video #0 h264") {
		t.Errorf("the good file was not described:\n%s", out)
	}
}

func TestDecodeCommand(t *testing.T) {
	clip := probeTestClip(t)
	code, out, errs := runCLI("decode", "--format", "I420", clip)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"video #0 h264: 25 packets, 25 frames, 0 errors", "audio #1 aac:", "decoded ", "to I420 in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, _, errs = runCLI("decode", filepath.Join(t.TempDir(), "missing.mp4"))
	checkOneLineError(t, code, errs, "no such file")

	code, _, _ = runCLI("decode", "--format", "NV12", clip)
	if code != 2 {
		t.Errorf("bad --format: exit %d, want 2", code)
	}
}
