package mixer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary a recorder: TestMain runs childRecord
// instead of the tests, so TestKillLeavesPlayableFile can SIGKILL a real
// recording process.
const childEnv = "WITNESS_MIXER_TEST_CHILD"

// childRecord records two live test sources side by side into the path in
// childEnv until killed (or 60 s), printing RECORDING once started.
func childRecord() int {
	side, err := Builtin("side-by-side")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	m, err := New(Config{
		Layout: side,
		Inputs: []Input{
			{Role: "agent", Test: &TestSource{Pattern: "red", Freq: 440, Live: true}},
			{Role: "customer", Test: &TestSource{Pattern: "ball", Freq: 660, Live: true}},
		},
		Output: Output{Path: os.Getenv(childEnv), Width: 320, Height: 180, FPS: 25, Preset: "ultrafast", LowLatency: true, Fragment: 500 * time.Millisecond},
	}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := m.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("RECORDING")
	time.Sleep(60 * time.Second)
	return 0
}

// TestKillLeavesPlayableFile SIGKILLs a process 3 s into a live recording:
// the fragmented MP4 it leaves (still named .part: not complete) decodes
// without errors up to within 1 s of the kill.
func TestKillLeavesPlayableFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "killed.mp4")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+out)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	started := make(chan time.Time, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "RECORDING" {
				started <- time.Now()
			}
		}
	}()
	var t0 time.Time
	select {
	case t0 = <-started:
	case <-time.After(20 * time.Second):
		t.Fatalf("child did not start recording: %s", stderr.String())
	}
	time.Sleep(3 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Since(t0)
	_ = cmd.Wait()
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a killed recording left a file under the final name")
	}
	part := out + ".part"
	errs, pts := decodeAll(t, part)
	if len(pts) == 0 {
		t.Fatalf("nothing decodes from %s: %s", part, errs)
	}
	last := time.Duration(pts[len(pts)-1] * float64(time.Second))
	t.Logf("killed at %v, decodable up to %v (%d frames); ffmpeg said: %q", killedAt, last, len(pts), errs)
	if last < killedAt-time.Second {
		t.Fatalf("decodable up to %v, killed at %v: lost more than 1 s", last, killedAt)
	}
	if errs != "" {
		t.Fatalf("ffmpeg -v error reported problems decoding the killed file:\n%s", errs)
	}
	f := frameAt(t, part, last/2)
	if got := f.at(80, 90); !near(got, rgb["red"], 48) {
		t.Fatalf("agent slot %v, want red", got)
	}
}
