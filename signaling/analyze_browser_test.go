package signaling_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/testkit/browser"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/signaling"
)

// The agent page (headless Chromium) lists pushed alerts, newest first,
// and plays a tone when an episode opens (not for its end). The alerts
// come through Server.PushAlert, the natsevents.AlertPusher used for
// events from other processes.
func TestBrowserAgentAlerts(t *testing.T) {
	if _, err := os.Stat(browser.Chromium); err != nil {
		t.Skip("skipping the browser test: " + browser.Chromium + " is absent (apt-get install chromium)")
	}
	y4m, wav := browser.FakeMedia(t, "color=c=0x404040:s=160x120:r=10", "anullsrc=r=48000:cl=mono", 1)
	ts := newServer(t, nil)
	page := browser.Open(t, ts.Base+"/agent.html#token="+ts.token(t, "alerts1", "agent-web", signaling.RoleAgent, nil), ".html", y4m, wav)
	waitFor(t, 30*time.Second, "the agent page to join", func() bool {
		v, err := page.Eval(`!!(window.witnessState && window.witnessState.joined)`)
		return err == nil && string(v) == "true"
	})
	ctx := context.Background()
	for _, e := range []pipeline.Event{
		{Kind: "face.missing", Severity: pipeline.SeverityWarning, Source: pipeline.OriginAuto, MediaTime: 4 * time.Second, Room: "alerts1", Participant: "PA_x", WallTime: time.Now()},
		{Kind: "face.missing.end", Severity: pipeline.SeverityInfo, Source: pipeline.OriginAuto, MediaTime: 7 * time.Second, Room: "alerts1", Participant: "PA_x", WallTime: time.Now()},
		{Kind: "face.multiple", Severity: pipeline.SeverityCritical, Source: pipeline.OriginAuto, MediaTime: 9 * time.Second, Room: "alerts1", Participant: "PA_x", WallTime: time.Now()},
	} {
		if err := ts.PushAlert(ctx, "bank1", "alerts1", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.PushAlert(ctx, "other-bank", "alerts1", pipeline.Event{Kind: "x"}); err == nil {
		t.Error("an alert for another tenant's room was accepted")
	}
	var items []string
	waitFor(t, 20*time.Second, "three alerts listed on the page", func() bool {
		v, err := page.Eval(`[...document.querySelectorAll("#alert-list li")].map(li => li.className + "|" + li.textContent)`)
		items = nil
		return err == nil && json.Unmarshal(v, &items) == nil && len(items) == 3
	})
	t.Logf("page alert list: %q", items)
	if !strings.HasPrefix(items[0], "critical|") || !strings.Contains(items[0], "face.multiple") ||
		!strings.Contains(items[1], "face.missing.end") || !strings.HasPrefix(items[1], "info end|") ||
		!strings.HasPrefix(items[2], "warning|") || !strings.Contains(items[2], "face.missing") {
		t.Errorf("alert list %q: want newest first with severity classes", items)
	}
	v, err := page.Eval(`[window.witnessState.beeps, window.witnessState.errors.length]`)
	if err != nil || string(v) != "[2,0]" {
		t.Errorf("tones played, page errors: %s (%v), want [2,0]: one per opened episode, none for an end", v, err)
	}
}
