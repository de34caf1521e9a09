package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestEnhanceCLI: a noisy tone file in, a WAV of the same duration out at
// the processing rate, the report on stdout; bad input leaves nothing.
func TestEnhanceCLI(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed; it generates the test media")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=2",
		"-f", "lavfi", "-i", "anoisesrc=a=0.05:d=2:r=48000", "-filter_complex", "amix=inputs=2", in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	for _, params := range []string{"", "{engine: webrtc, level: moderate}"} {
		out := filepath.Join(dir, "out.wav")
		args := []string{"enhance"}
		if params != "" {
			args = append(args, "--params", params)
		}
		code, stdout, stderr := runCLI(append(args, in, out)...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", params, code, stderr)
		}
		var rep struct {
			Applied []struct {
				Stage    string         `json:"stage"`
				Settings map[string]any `json:"settings"`
			} `json:"applied"`
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Applied) != 1 || rep.Applied[0].Stage != "denoise" {
			t.Fatalf("report %q: %v", stdout, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// 2 s at 48 kHz mono S16 (wavenc's 44-byte header).
		if n := int(binary.LittleEndian.Uint32(b[40:44])) / 2; n != 96000 {
			t.Errorf("%q: %d samples out, want 96000", params, n)
		}
		os.Remove(out)
	}
	bad := filepath.Join(dir, "bad.wav")
	must(t, os.WriteFile(bad, []byte("not audio"), 0o644))
	code, _, stderr := runCLI("enhance", bad, filepath.Join(dir, "o.wav"))
	checkOneLineError(t, code, stderr, "")
	if m, _ := filepath.Glob(filepath.Join(dir, "o.wav*")); len(m) != 0 {
		t.Errorf("bad input left %v", m)
	}
	code, _, stderr = runCLI("enhance", "--params", "{engin: webrtc}", in, filepath.Join(dir, "o.wav"))
	if code != 2 {
		t.Errorf("unknown param: exit %d (%s)", code, stderr)
	}
	checkOneLineError(t, code, stderr, "engin")
}
