package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputOneLineNoCrash runs the real binary as a subprocess, so a
// panic or a C-level abort (SIGABRT from FFmpeg, GStreamer or OpenCV) would
// show as a signal exit instead of being hidden inside the test process.
func TestBadInputOneLineNoCrash(t *testing.T) {
	bin := witnessBinary(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=3", "-f", "lavfi", "-i", "sine=f=440:d=3",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", good).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.mp4")
	notMedia := filepath.Join(dir, "notes.txt")
	badConfig := filepath.Join(dir, "bad.yaml")
	must(t, os.WriteFile(truncated, data[:len(data)/3], 0o644))
	must(t, os.WriteFile(notMedia, []byte("this is a meeting note, not a video\n"), 0o644))
	must(t, os.WriteFile(badConfig, []byte("log:\n  level: info\npipline:\n  queue_size: 4\n"), 0o644))

	for _, tc := range []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"truncated file", []string{"probe", truncated}, "truncated.mp4"},
		{"truncated decode", []string{"decode", truncated}, "truncated.mp4"},
		{"non-media file", []string{"probe", notMedia}, "notes.txt"},
		{"missing file", []string{"probe", filepath.Join(dir, "nope.mp4")}, "nope.mp4"},
		{"unknown config key", []string{"config", "check", "--config", badConfig}, `"pipline"`},
		{"unknown config key in demo", []string{"demo", "--config", badConfig}, `"pipline"`},
		{"missing model", []string{"models", "check", "--dir", filepath.Join(dir, "no-models")}, "witness models pull"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), "WITNESS_DATA_DIR="+dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("want a non-zero exit, got %v (stderr %q)", err, stderr.String())
			}
			if !ee.Exited() || ee.ExitCode() <= 0 {
				t.Fatalf("process died instead of exiting: %v", ee)
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) || strings.Contains(lines[0], "panic") {
				t.Fatalf("want one error line containing %q, got %q", tc.want, stderr.String())
			}
		})
	}
	// The good file still works with the same binary.
	out, err := exec.Command(bin, "probe", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "h264") || !strings.Contains(string(out), "aac") {
		t.Fatalf("probe good: %v %s", err, out)
	}
}
