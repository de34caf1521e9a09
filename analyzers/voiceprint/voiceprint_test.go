package voiceprint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/pipeline"
)

// speak synthesises text with an espeak-ng voice at its native 22.05 kHz.
func speak(t *testing.T, voice, text string) []int16 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "s.wav")
	if b, err := exec.Command("espeak-ng", "-v", voice, "-w", out, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	b = b[44:] // espeak-ng writes a canonical 44-byte header
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return pcm
}

// A customer (espeak-ng en-us+m5) enrols and keeps talking; then another
// voice (en-us+f4) answers for them: one voice.mismatch, when it starts.
func TestMismatchWhenAnotherVoiceSpeaks(t *testing.T) {
	a, err := analyzers.New("voiceprint", analyzers.Session{Room: "r"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var pcm []int16
	for _, s := range sentences[:5] {
		pcm = append(pcm, speak(t, "en-us+m5", s)...)
	}
	switchAt := time.Duration(len(pcm)) * time.Second / 22050
	for _, s := range sentences[5:8] {
		pcm = append(pcm, speak(t, "en-us+f4", s)...)
	}
	var evs []pipeline.Event
	const chunk = 441 // 20 ms at 22.05 kHz
	for i := 0; i+chunk <= len(pcm); i += chunk {
		f := &pipeline.AudioFrame{Format: pipeline.SampleS16, SampleRate: 22050, Channels: 1, S16: pcm[i : i+chunk],
			PTS: time.Duration(i) * time.Second / 22050}
		if err := a.Audio(f, func(e pipeline.Event) { evs = append(evs, e) }); err != nil {
			t.Fatal(err)
		}
	}
	var kinds []string
	for _, e := range evs {
		t.Logf("%-16s %6.2fs %s", e.Kind, e.MediaTime.Seconds(), e.Data)
		kinds = append(kinds, e.Kind)
	}
	if len(evs) < 2 || evs[0].Kind != KindEnrolled {
		t.Fatalf("events %v: want enrolment then a mismatch", kinds)
	}
	n := 0
	for _, e := range evs[1:] {
		if e.Kind == KindMismatch {
			n++
			// The first segment wholly or mostly in the other voice starts
			// within one segment (4 s) of the switch.
			if d := e.MediaTime - switchAt; d < -4*time.Second || d > 4*time.Second {
				t.Errorf("mismatch at %v, voices switched at %v", e.MediaTime, switchAt)
			}
		}
	}
	if n != 1 || strings.Count(strings.Join(kinds, ","), KindMismatch+".end") != 0 {
		t.Errorf("events %v: want exactly one open voice.mismatch", kinds)
	}
}

// The ONNX slot rejects a model that does not take fbank [1, T, 80].
func TestModelSlotRejectsWrongModel(t *testing.T) {
	p, err := filepath.Glob(filepath.Join(os.Getenv("HOME"), ".cache/witness/models/silero-vad.onnx"))
	if err != nil || len(p) == 0 {
		t.Skip("silero-vad.onnx not pulled")
	}
	_, err = analyzers.New("voiceprint", analyzers.Session{}, pipeline.Params{"model": p[0]})
	if err == nil || !strings.Contains(err.Error(), "want one input [1, T, 80]") {
		t.Fatalf("err = %v", err)
	}
	_, err = analyzers.New("voiceprint", analyzers.Session{}, pipeline.Params{"model": "/nonexistent.onnx"})
	if err == nil {
		t.Fatal("missing model accepted")
	}
}
