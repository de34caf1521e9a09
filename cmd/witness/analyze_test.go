package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/markers"
	"github.com/witness-media/witness/pipeline"
)

// witness analyze over an MP4 of the scripted photo clip: every truth event
// once within 0.5 s, nothing else, and the sidecars are written.
func TestAnalyzeCommand(t *testing.T) {
	p, err := testclip.LoadPhotos()
	must(t, err)
	defer p.Close()
	clip := testclip.KYC(p, 640, 360, 10)
	defer clip.Close()
	dir := t.TempDir()
	rec := filepath.Join(dir, "kyc.mp4")
	must(t, clip.WriteMP4(rec))

	side, vtt, meta := filepath.Join(dir, "kyc.json"), filepath.Join(dir, "kyc.vtt"), filepath.Join(dir, "kyc.ffmeta")
	var out, errb bytes.Buffer
	code := runMain([]string{"analyze", rec, "--analyzers", "face,light,occlusion", "--json", side, "--vtt", vtt, "--ffmeta", meta}, &out, &errb)
	t.Logf("stdout:\n%s", out.String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(side)
	must(t, err)
	var sc markers.Sidecar
	must(t, json.Unmarshal(b, &sc))
	if sc.Recording != "kyc" || sc.Duration < 27*time.Second {
		t.Fatalf("sidecar header %+v", sc)
	}
	var evs []pipeline.Event
	for _, m := range sc.Markers {
		evs = append(evs, pipeline.Event{Kind: m.Kind, MediaTime: m.At, Data: m.Data})
		if m.End == 0 {
			t.Errorf("%s at %v has no end", m.Kind, m.At)
		}
	}
	for _, pr := range testclip.Match(evs, clip.Truth, 500*time.Millisecond, "face.", "light.", "occlusion.", "eyes.") {
		t.Error(pr)
	}
	v, err := os.ReadFile(vtt)
	must(t, err)
	if !strings.HasPrefix(string(v), "WEBVTT") || !strings.Contains(string(v), "face.missing [auto]") {
		t.Errorf("vtt:\n%s", v)
	}
	m, err := os.ReadFile(meta)
	must(t, err)
	if !strings.Contains(string(m), "[CHAPTER]") {
		t.Errorf("ffmeta:\n%s", m)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mp4")
	must(t, os.WriteFile(junk, []byte("not a video"), 0o644))
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"analyze"}, 2, "want one file"},
		{[]string{"analyze", junk, "--analyzers", "nosuch"}, 2, "nosuch"},
		{[]string{"analyze", junk}, 1, "junk.mp4"},
		{[]string{"analyze", filepath.Join(dir, "missing.mp4")}, 1, "missing.mp4"},
	} {
		var out, errb bytes.Buffer
		code := runMain(c.args, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.msg) || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errb.String())
		}
	}
}
