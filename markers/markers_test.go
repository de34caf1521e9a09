package markers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

func events() []pipeline.Event {
	return []pipeline.Event{
		{Kind: "face.missing", Source: pipeline.OriginAuto, MediaTime: 1 * time.Second, Severity: pipeline.SeverityWarning},
		{Kind: "face.missing.end", Source: pipeline.OriginAuto, MediaTime: 2500 * time.Millisecond},
		{Kind: "plugin.loud", Source: pipeline.OriginPlugin, MediaTime: 4 * time.Second},
	}
}

func TestFileStoreConcurrentAndPersistent(t *testing.T) {
	dir := t.TempDir()
	s := &FileStore{Dir: dir}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := AddManual(ctx, s, "rec-1", time.Duration(i)*time.Second, fmt.Sprintf("m%d", i), "", "agent"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A fresh store on the same directory sees all of them, in time order.
	ms, err := (&FileStore{Dir: dir}).List(ctx, "rec-1")
	if err != nil || len(ms) != 20 {
		t.Fatalf("%d markers, %v", len(ms), err)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].At < ms[i-1].At || ms[i].Source != pipeline.OriginManual || ms[i].ID == "" {
			t.Fatalf("marker %d: %+v", i, ms[i])
		}
	}
	if err := s.Delete(ctx, "rec-1", ms[3].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "rec-1", ms[3].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if ms, _ := s.List(ctx, "rec-1"); len(ms) != 19 {
		t.Fatalf("%d after delete", len(ms))
	}
	// Bad input: clear errors, nothing written.
	if _, err := AddManual(ctx, s, "../etc", 0, "x", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("path escape: %v", err)
	}
	if _, err := AddManual(ctx, s, "rec-1", -time.Second, "x", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative time: %v", err)
	}
	if _, err := AddManual(ctx, s, "rec-1", 0, " ", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no label: %v", err)
	}
	// A corrupt file is reported, not silently replaced.
	if err := os.WriteFile(filepath.Join(dir, "rec-2.markers.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AddManual(ctx, s, "rec-2", 0, "x", "", ""); err == nil {
		t.Fatal("corrupt file overwritten")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "rec-2.markers.json")); string(b) != "{" {
		t.Fatal("corrupt file changed")
	}
}

func TestHTTPManualMarkers(t *testing.T) {
	s := NewMemStore()
	rec := Recorder(context.Background(), s, "rec-9", func(err error) { t.Error(err) })
	for _, e := range events() {
		rec(e)
	}
	srv := httptest.NewServer(Handler(s))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/recordings/rec-9/markers", "application/json", strings.NewReader(`{"at_ms":3000,"label":"ID card shown","author":"agent-7"}`))
	if err != nil {
		t.Fatal(err)
	}
	var m Marker
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if m.At != 3*time.Second || m.Source != pipeline.OriginManual || m.Author != "agent-7" {
		t.Fatalf("%+v", m)
	}
	resp, err = http.Post(srv.URL+"/recordings/rec-9/markers", "application/json", strings.NewReader(`{"at_ms":1,"labl":"typo"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown field: status %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/recordings/rec-9/chapters.vtt?duration_ms=6000")
	if err != nil {
		t.Fatal(err)
	}
	var vtt bytes.Buffer
	_, _ = vtt.ReadFrom(resp.Body)
	resp.Body.Close()
	got := vtt.String()
	for _, line := range []string{
		"WEBVTT",
		"00:00:00.000 --> 00:00:01.000\nStart",
		"00:00:01.000 --> 00:00:03.000\nface.missing [auto]",
		"00:00:03.000 --> 00:00:04.000\nID card shown [manual]",
		"00:00:04.000 --> 00:00:06.000\nplugin.loud [plugin]",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("WebVTT lacks %q:\n%s", line, got)
		}
	}
	// The sidecar folds the episode into one marker with its end.
	ms, _ := s.List(context.Background(), "rec-9")
	var side bytes.Buffer
	if err := WriteSidecar(&side, "rec-9", 6*time.Second, ms); err != nil {
		t.Fatal(err)
	}
	var sc Sidecar
	if err := json.Unmarshal(side.Bytes(), &sc); err != nil {
		t.Fatal(err)
	}
	if len(sc.Markers) != 3 || sc.Markers[0].Kind != "face.missing" || sc.Markers[0].End != 2500*time.Millisecond {
		t.Fatalf("sidecar %s", side.String())
	}
}

// The FFmpeg metadata file becomes an MP4 chapter list that ffprobe (and
// players) read back.
func TestFFMetadataChaptersInMP4(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg CLI needed to build the test recording")
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec.mp4")
	run := func(name string, args ...string) []byte {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return out
	}
	run("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=6", "-c:v", "libx264", "-pix_fmt", "yuv420p", rec)
	s := NewMemStore()
	for _, e := range events() {
		_, _ = s.Add(context.Background(), FromEvent("rec", e))
	}
	ms, _ := s.List(context.Background(), "rec")
	meta := filepath.Join(dir, "rec.ffmeta")
	var b bytes.Buffer
	if err := WriteFFMetadata(&b, ms, 6*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	run("ffmpeg", "-loglevel", "error", "-i", rec, "-i", meta, "-map", "0", "-map_metadata", "1", "-map_chapters", "1", "-codec", "copy", out)
	probe := run("ffprobe", "-loglevel", "error", "-show_chapters", "-of", "json", out)
	var pr struct {
		Chapters []struct {
			StartTime string            `json:"start_time"`
			Tags      map[string]string `json:"tags"`
		} `json:"chapters"`
	}
	if err := json.Unmarshal(probe, &pr); err != nil {
		t.Fatal(err)
	}
	if len(pr.Chapters) != 3 || pr.Chapters[1].StartTime != "1.000000" || pr.Chapters[1].Tags["title"] != "face.missing [auto]" {
		t.Fatalf("chapters: %s", probe)
	}
}
