package qc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReportJSON: the JSON names the verdict, the sha256 of the exact bytes
// checked, every finding with times in ns and seconds, the probe summary
// and decode stats.
func TestReportJSON(t *testing.T) {
	t.Parallel()
	path := fixture(t, "black.mp4")
	rep := check(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if rep.SHA256 != hex.EncodeToString(sum[:]) || rep.Size != int64(len(data)) {
		t.Errorf("sha256 %s size %d, want %x %d", rep.SHA256, rep.Size, sum, len(data))
	}
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema   string `json:"schema"`
		SHA256   string `json:"sha256"`
		Verdict  string `json:"verdict"`
		Findings []struct {
			Kind      string  `json:"kind"`
			Severity  string  `json:"severity"`
			StartNS   int64   `json:"start_ns"`
			StartS    float64 `json:"start_s"`
			EndS      float64 `json:"end_s"`
			Value     float64 `json:"value"`
			Threshold float64 `json:"threshold"`
		} `json:"findings"`
		Probe struct {
			Streams []struct {
				Codec string `json:"codec"`
			} `json:"streams"`
		} `json:"probe"`
		Decode struct {
			Streams []struct {
				Frames int64 `json:"frames"`
			} `json:"streams"`
		} `json:"decode"`
		Loudness []struct {
			LUFS float64 `json:"lufs"`
		} `json:"loudness"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != schemaVersion || doc.SHA256 != rep.SHA256 || doc.Verdict != "warn" {
		t.Errorf("header %q %q %q", doc.Schema, doc.SHA256, doc.Verdict)
	}
	var black bool
	for _, f := range doc.Findings {
		if f.Kind == KindBlack {
			black = true
			if f.Severity != "warning" || f.StartS < 2.5 || f.StartS > 3.5 || f.EndS < 5.5 || f.StartNS != int64(f.StartS*1e9+0.5) ||
				f.Value < f.Threshold {
				t.Errorf("black finding in JSON: %+v", f)
			}
		}
	}
	if !black || len(doc.Probe.Streams) != 2 || doc.Probe.Streams[0].Codec != "h264" || doc.Decode.Streams[0].Frames != 250 ||
		len(doc.Loudness) == 0 {
		t.Errorf("JSON misses content: %s", b[:min(len(b), 2000)])
	}
	if bytes.Contains(b, []byte("Thumbnail")) {
		t.Errorf("thumbnails belong in the HTML, not the JSON")
	}
}

// TestReportHTML: the page is self-contained (no external references, no
// scripts) and shows the verdict, the sha256, a timeline bar and a
// thumbnail per video finding, and the loudness curve.
func TestReportHTML(t *testing.T) {
	t.Parallel()
	rep := check(t, fixture(t, "black.mp4"))
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:|//)`).FindString(page); m != "" || strings.Contains(page, "<script") {
		t.Errorf("page refers to external assets or scripts: %q", m)
	}
	for _, want := range []string{"WARN", rep.SHA256, "<svg", "<polyline", KindBlack, "data:image/png;base64,", `href="#f1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	video := 0
	for _, f := range rep.Findings {
		if f.Family() == "video" {
			video++
		}
	}
	if n := strings.Count(page, "<img "); n != video || video == 0 {
		t.Errorf("%d thumbnails for %d video findings", n, video)
	}
	if n := strings.Count(page, "<a href=\"#f"); n != len(rep.Findings) {
		t.Errorf("%d timeline bars for %d findings", n, len(rep.Findings))
	}
}

// TestReportEvents: findings become pipeline events that validate.
func TestReportEvents(t *testing.T) {
	t.Parallel()
	rep := check(t, fixture(t, "silence.mp4"))
	evs := rep.Events()
	if len(evs) != len(rep.Findings) || len(evs) == 0 {
		t.Fatalf("%d events for %d findings", len(evs), len(rep.Findings))
	}
	for i, ev := range evs {
		if err := ev.Validate(); err != nil || ev.Kind != "qc."+rep.Findings[i].Kind || ev.MediaTime != rep.Findings[i].Start {
			t.Errorf("event %+v: %v", ev, err)
		}
		var back Finding
		if err := json.Unmarshal(ev.Data, &back); err != nil || back.Kind != rep.Findings[i].Kind {
			t.Errorf("event data %s: %v", ev.Data, err)
		}
	}
}
