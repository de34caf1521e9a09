package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/witness-media/witness/internal/config"
)

// clearWitnessEnv blanks WITNESS_* variables from the developer's shell for
// the test (an empty value counts as unset), so they cannot change results.
func clearWitnessEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "WITNESS_") {
			t.Setenv(k, "")
		}
	}
}

func TestConfigCheckUnknownKey(t *testing.T) {
	clearWitnessEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("log:\n  level: info\npipline:\n  queue_size: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := runMain([]string{"config", "check", "--config", bad}, &out, &errb)
	if code == 0 {
		t.Fatalf("exit 0 for an unknown key; stdout %q", out.String())
	}
	msg := errb.String()
	if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
		t.Fatalf("stderr should be one line, got %q", msg)
	}
	if !strings.Contains(msg, `unknown key "pipline"`) || !strings.Contains(msg, "line 3") {
		t.Fatalf("stderr should name the key and line: %q", msg)
	}
	if out.Len() != 0 {
		t.Fatalf("stdout should be empty, got %q", out.String())
	}
}

func TestConfigCheckSample(t *testing.T) {
	clearWitnessEnv(t)
	var out, errb bytes.Buffer
	sample := filepath.Join("..", "..", "witness.sample.yaml")
	if code := runMain([]string{"config", "check", "--config", sample}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if out.String() != "config ok\n" {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestConfigPrint(t *testing.T) {
	clearWitnessEnv(t)
	t.Setenv("WITNESS_PIPELINE_QUEUE_SIZE", "16")
	var out, errb bytes.Buffer
	if code := runMain([]string{"config", "print"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// What print shows must load back as the same config.
	p := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(p, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Pipeline.QueueSize = 16
	if got != want {
		t.Fatalf("printed config loads as %+v, want %+v\n%s", got, want, out.String())
	}
}

func TestConfigUsage(t *testing.T) {
	for _, args := range [][]string{{"config"}, {"config", "lint"}, {"config", "check", "extra"}, {"config", "check", "--nope"}} {
		var out, errb bytes.Buffer
		if code := runMain(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage); stderr %q", args, code, errb.String())
		}
	}
}
