package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/internal/config"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/signaling"
)

// toneMeter is a test analyzer that takes audio: after a second of it, it
// reports the format it was given and the tone's frequency (zero
// crossings), once.
type toneMeter struct {
	analyzers.NoOp
	samples []int16
	rate    int
	done    bool
}

func (*toneMeter) WantsAudio() bool { return true }

func (m *toneMeter) Audio(a *pipeline.AudioFrame, emit func(pipeline.Event)) error {
	if m.done || a.Format != pipeline.SampleS16 || a.Channels != 1 {
		return nil
	}
	m.rate = a.SampleRate
	m.samples = append(m.samples, a.S16...)
	if len(m.samples) < m.rate {
		return nil
	}
	m.done = true
	// Skip the decoder's first 100 ms, count sign changes over 0.5 s.
	x := m.samples[m.rate/10 : m.rate/10+m.rate/2]
	n := 0
	for i := 1; i < len(x); i++ {
		if (x[i-1] < 0) != (x[i] < 0) {
			n++
		}
	}
	b, _ := json.Marshal(map[string]any{"rate": m.rate, "freq": float64(n)})
	emit(pipeline.Event{Kind: "test.tone", Severity: pipeline.SeverityInfo, MediaTime: a.PTS, Data: b})
	return nil
}

func init() {
	analyzers.Register("test-tone", func(analyzers.Session, pipeline.Params) (analyzers.Analyzer, error) { return &toneMeter{}, nil })
}

// The customer's microphone reaches audio analyzers decoded (Opus →
// 16 kHz mono S16), only when the profile has one that takes audio: a
// 500 Hz tone published by a pion customer is measured by a test analyzer
// and its event reaches the agent.
func TestLiveAnalysisAudio(t *testing.T) {
	prof := &analyzers.Profile{Analyzers: []analyzers.Spec{{Name: "test-tone"}}}
	ts := newServer(t, func(c *signaling.Config) { c.Analysis = signaling.AnalysisConfig{Profile: prof} })
	agent := join(t, ts, "tone1", "agent-1", signaling.RoleAgent, nil, nil)
	cust := join(t, ts, "tone1", "cust-1", signaling.RoleCustomer, nil, nil)
	cust.publish(t, palette[1], false, true) // 500 Hz
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := agent.WaitMessage(ctx, signaling.TAlert, nil)
	if err != nil {
		t.Fatal(err)
	}
	var a signaling.Alert
	if err := json.Unmarshal(m.Data, &a); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Rate int     `json:"rate"`
		Freq float64 `json:"freq"`
	}
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t.Fatal(err)
	}
	t.Logf("alert %s: %+v", a.Kind, d)
	if a.Kind != "test.tone" || a.Participant != cust.ID() || d.Rate != 16000 || d.Freq < 480 || d.Freq > 520 {
		t.Errorf("alert %+v, data %+v: want test.tone of the customer, 16 kHz, 500 Hz", a, d)
	}
}

// The configuration's analyzers.profile: empty = the default profile, a
// file = that profile (strict), "off" = none; a bad file is an error.
func TestAnalysisFromConfig(t *testing.T) {
	var c config.Config
	a, err := signaling.AnalysisFrom(c)
	if err != nil || a.Profile == nil || len(a.Profile.Analyzers) != 3 || a.Profile.Analyzers[0].Name != "face" {
		t.Fatalf("default: %+v, %v", a.Profile, err)
	}
	c.Analyzers.Profile = "off"
	if a, err := signaling.AnalysisFrom(c); err != nil || a.Profile != nil {
		t.Errorf("off: %+v, %v", a.Profile, err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "p.yaml"), filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(good, []byte("analyzers:\n  - name: face\n    fps: 10\n"), 0o644)
	_ = os.WriteFile(bad, []byte("analyzers:\n  - name: nosuch\n"), 0o644)
	c.Analyzers.Profile = good
	if a, err := signaling.AnalysisFrom(c); err != nil || len(a.Profile.Analyzers) != 1 || a.Profile.Analyzers[0].FPS != 10 {
		t.Errorf("file: %+v, %v", a.Profile, err)
	}
	c.Analyzers.Profile = bad
	if _, err := signaling.AnalysisFrom(c); !errors.Is(err, signaling.ErrConfig) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("bad profile: %v, want ErrConfig naming the analyzer", err)
	}
}
