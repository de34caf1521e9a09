package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/witness-media/witness/analyzers/testclip"
	"github.com/witness-media/witness/internal/testkit/natstest"
	"github.com/witness-media/witness/markers"
	"github.com/witness-media/witness/pipeline"
)

// witness analyze over an MP4 of the scripted photo clip: every truth event
// once within 0.5 s, nothing else, and the sidecars are written.
func TestAnalyzeCommand(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "kyc.mp4")
	truth := kycMP4(t, 640, 360, 0, rec)

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
	for _, pr := range testclip.Match(evs, truth, 500*time.Millisecond, "face.", "light.", "occlusion.", "eyes.") {
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

// Voiceprint through witness analyze: an audio file where one espeak-ng
// voice enrols and another takes over at the known time.
func TestAnalyzeVoiceprint(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	say := func(voice, out, text string) {
		if o, err := exec.Command("espeak-ng", "-v", voice, "-w", out, text).CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v %s", err, o)
		}
	}
	say("en-us+m5", a, "Please state your full name and the purpose of this account opening today. I confirm that I have read the terms and conditions of the investment product. My identity card was issued in the city where I was born many years ago.")
	say("en-us+f4", b, "We agreed to transfer the funds on the first working day of next month. Seven large boxes of old books were carried up the narrow stairs by hand.")
	rec := filepath.Join(dir, "call.m4a")
	if o, err := exec.Command("ffmpeg", "-loglevel", "error", "-i", a, "-i", b, "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1,aresample=48000", "-c:a", "aac", rec).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, o)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", a).Output()
	must(t, err)
	var switchAt float64
	_, _ = fmt.Sscan(strings.TrimSpace(string(probe)), &switchAt)
	side := filepath.Join(dir, "call.json")
	var out, errb bytes.Buffer
	if code := runMain([]string{"analyze", rec, "--analyzers", "voiceprint", "--json", side}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	t.Logf("stdout:\n%s", out.String())
	bs, err := os.ReadFile(side)
	must(t, err)
	var sc markers.Sidecar
	must(t, json.Unmarshal(bs, &sc))
	var kinds []string
	for _, m := range sc.Markers {
		kinds = append(kinds, m.Kind)
	}
	if len(sc.Markers) != 2 || sc.Markers[0].Kind != "voice.enrolled" || sc.Markers[1].Kind != "voice.mismatch" {
		t.Fatalf("markers %v", kinds)
	}
	if d := sc.Markers[1].At.Seconds() - switchAt; d < -4 || d > 4 {
		t.Errorf("mismatch at %v, voices switched at %.2fs", sc.Markers[1].At, switchAt)
	}
}

// A business profile with params (the ID photo) through --profile.
func TestAnalyzeProfile(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "kyc.mp4")
	kycMP4(t, 640, 360, 4*time.Second, rec)
	prof := filepath.Join(dir, "bank.yaml")
	must(t, os.WriteFile(prof, []byte("analyzers:\n  - name: idmatch\n    fps: 2\n    params: {photo: "+testclip.MessiPhoto+"}\n"), 0o644))
	var out, errb bytes.Buffer
	if code := runMain([]string{"analyze", "--profile", prof, rec}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "identity.id_mismatch") {
		t.Fatalf("stdout:\n%s", out.String())
	}
	// The same profile from the configuration (analyzers.profile).
	t.Setenv("WITNESS_ANALYZERS_PROFILE", prof)
	out.Reset()
	if code := runMain([]string{"analyze", rec}, &out, &errb); code != 0 || !strings.Contains(out.String(), "identity.id_mismatch") {
		t.Fatalf("profile from config: exit %d: %s\n%s", code, errb.String(), out.String())
	}
	must(t, os.WriteFile(prof, []byte("analyzers:\n  - name: idmatch\n    fps: 2\n    params: {phot: x}\n"), 0o644))
	if code := runMain([]string{"analyze", "--profile", prof, rec}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "phot") {
		t.Fatalf("typo in params: exit %d, %s", code, errb.String())
	}
}

// An out-of-process plugin over NATS in witness analyze: a plugin (here a
// Go subscriber standing in for any language) answers each frame; its
// events land in the sidecar with source "plugin".
func TestAnalyzeNATSPlugin(t *testing.T) {
	nc, natsURL := natstest.Start(t)
	var seen atomic.Int32 // written on the subscription's goroutine
	_, err := nc.Subscribe("witness.plugin.counter.video", func(m *nats.Msg) {
		n := seen.Add(1)
		body := `{"events":[]}`
		if n == 3 {
			head, _, _ := bytes.Cut(m.Data, []byte("\n"))
			var meta struct {
				PTS int64 `json:"pts_ns"`
			}
			_ = json.Unmarshal(head, &meta)
			body = fmt.Sprintf(`{"events":[{"kind":"plugin.third_frame","severity":"info","media_time_ns":%d}]}`, meta.PTS)
		}
		_ = m.Respond([]byte(body))
	})
	must(t, err)
	must(t, nc.Flush())

	dir := t.TempDir()
	rec := filepath.Join(dir, "clip.mp4")
	kycMP4(t, 320, 180, 2*time.Second, rec)
	prof := filepath.Join(dir, "p.yaml")
	must(t, os.WriteFile(prof, []byte("analyzers:\n  - name: nats\n    fps: 2\n    params: {plugin: counter, timeout: 5s}\n"), 0o644))
	side := filepath.Join(dir, "clip.json")
	var out, errb bytes.Buffer
	if code := runMain([]string{"analyze", rec, "--profile", prof, "--nats", natsURL, "--json", side}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(side)
	must(t, err)
	var sc markers.Sidecar
	must(t, json.Unmarshal(b, &sc))
	if seen.Load() != 4 || len(sc.Markers) != 1 || sc.Markers[0].Kind != "plugin.third_frame" || sc.Markers[0].Source != pipeline.OriginPlugin || sc.Markers[0].At != time.Second {
		t.Fatalf("plugin saw %d frames; sidecar %s", seen.Load(), b)
	}
}

// kycMP4 writes the scripted KYC clip from real photographs (w x h, 10 fps,
// cut to d when d > 0) to path and returns its ground truth.
func kycMP4(t *testing.T, w, h int, d time.Duration, path string) []testclip.Truth {
	t.Helper()
	clip := testclip.KYC(testclip.TestPhotos(t), w, h, 10)
	defer clip.Close()
	if d > 0 {
		clip.Duration = d
	}
	must(t, clip.WriteMP4(path))
	return clip.Truth
}
