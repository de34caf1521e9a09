package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// qcClips generates three 4 s recordings: clean, with a black stretch
// (warn) and without audio (fail).
func qcClips(t *testing.T, dir string) (clean, warn, fail string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	clean, warn, fail = filepath.Join(dir, "clean.mp4"), filepath.Join(dir, "black.mp4"), filepath.Join(dir, "mute.mp4")
	src := []string{"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000"}
	enc := []string{"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"}
	for _, args := range [][]string{
		append(append(append([]string{}, src...), enc...), clean),
		append(append(append(append([]string{}, src...), "-vf", "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,1,3.5)'"), enc...), warn),
		{"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", fail},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, out)
		}
	}
	return clean, warn, fail
}

// TestQCCommand runs the real binary: exit codes 0 pass, 3 warn, 1 fail or
// unreadable, 2 usage or bad policy; one error line on stderr, never a
// crash; reports written where asked.
func TestQCCommand(t *testing.T) {
	bin := witnessBinary(t)
	dir := t.TempDir()
	clean, warn, fail := qcClips(t, dir)
	badPolicy := filepath.Join(dir, "bad.yaml")
	must(t, os.WriteFile(badPolicy, []byte("video:\n  blak:\n    min_duration: 2s\n"), 0o644))
	notMedia := filepath.Join(dir, "notes.mp4")
	must(t, os.WriteFile(notMedia, []byte("minutes of the meeting\n"), 0o644))
	reports := filepath.Join(dir, "reports")

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stdout  []string // substrings
		errLine string   // the one stderr line contains this ("" = no stderr)
	}{
		{"pass", []string{"qc", clean}, 0, []string{"PASS clean.mp4", "no findings"}, ""},
		{"warn", []string{"qc", warn}, 3, []string{"WARN black.mp4", "video.black 1.00s-3.52s"}, ""},
		{"fail", []string{"qc", fail}, 1, []string{"FAIL mute.mp4", "integrity.missing_stream"}, "QC failed: 1 of 1 files (mute.mp4)"},
		{"not media", []string{"qc", notMedia}, 1, []string{"FAIL notes.mp4", "integrity.open"}, "QC failed"},
		{"missing file", []string{"qc", filepath.Join(dir, "nope.mp4")}, 1, []string{"ERROR nope.mp4"}, "nope.mp4: cannot read recording"},
		{"mixed, flags after files", []string{"qc", clean, warn, fail, "--json", reports, "--html", reports, "--workers", "2"}, 1,
			[]string{"PASS clean.mp4", "WARN black.mp4", "FAIL mute.mp4"}, "QC failed: 1 of 3 files"},
		{"unknown policy key", []string{"qc", "--policy", badPolicy, clean}, 2, nil, `unknown key "video.blak"`},
		{"no files", []string{"qc"}, 2, nil, "witness qc [--policy FILE]"},
		{"bad flag", []string{"qc", "--wrokers", "2", clean}, 2, nil, "wrokers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), "WITNESS_DATA_DIR="+dir)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if !ee.Exited() {
					t.Fatalf("process died: %v\n%s", ee, stderr.String())
				}
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			se := strings.TrimRight(stderr.String(), "\n")
			switch {
			case tc.errLine == "" && se != "":
				t.Errorf("unexpected stderr %q", se)
			case tc.errLine != "" && (strings.Count(se, "\n") != 0 || !strings.Contains(se, tc.errLine) || strings.Contains(se, "panic")):
				t.Errorf("stderr %q: want one line containing %q", se, tc.errLine)
			}
		})
	}

	// The mixed run wrote a JSON and an HTML report per file.
	for name, verdict := range map[string]string{"clean.mp4": "pass", "black.mp4": "warn", "mute.mp4": "fail"} {
		b, err := os.ReadFile(filepath.Join(reports, name+".qc.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Verdict string `json:"verdict"`
			SHA256  string `json:"sha256"`
		}
		if err := json.Unmarshal(b, &rep); err != nil || rep.Verdict != verdict || len(rep.SHA256) != 64 {
			t.Errorf("%s report: %v verdict %q sha %q", name, err, rep.Verdict, rep.SHA256)
		}
		h, err := os.ReadFile(filepath.Join(reports, name+".qc.html"))
		if err != nil || !bytes.Contains(h, []byte(rep.SHA256)) {
			t.Errorf("%s html: %v", name, err)
		}
	}
}

// TestQCProgressBar: with --progress the bar is drawn on stderr and erased
// before results are printed and at the end.
func TestQCProgressBar(t *testing.T) {
	clean, warn, _ := qcClips(t, t.TempDir())
	var stdout, stderr bytes.Buffer
	err := runQC(context.Background(), []string{"--progress", "--workers", "1", clean, warn}, &stdout, &stderr)
	var v *verdictExit
	if !errors.As(err, &v) || v.code != exitWarn {
		t.Fatalf("err %v, want warn exit", err)
	}
	bar := stderr.String()
	if !strings.Contains(bar, "qc [") || !strings.Contains(bar, "0/2 files") || !strings.HasSuffix(bar, "\r\033[K") {
		t.Errorf("progress output %q", bar)
	}
	if got := stdout.String(); !strings.HasPrefix(got, "PASS clean.mp4") || !strings.Contains(got, "WARN black.mp4") ||
		strings.Contains(got, "\r") {
		t.Errorf("stdout %q", got)
	}
}

func TestOutputNames(t *testing.T) {
	got := outputNames([]string{"a/x.mp4", "b/x.mp4", "y.mp4", "c/x.mp4"})
	want := []string{"x.mp4", "x.mp4-2", "y.mp4", "x.mp4-3"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("outputNames = %v, want %v", got, want)
			break
		}
	}
}
