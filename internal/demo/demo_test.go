package demo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDemoWritesPlayableMP4(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	res, err := Run(ctx, Options{Width: 320, Height: 180, FPS: 25, Duration: 2 * time.Second, Output: out, QueueSize: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.VideoFrames != 50 || res.AudioBlocks != 200 { // audiomixer emits 10 ms blocks
		t.Fatalf("frames %d audio blocks %d, want 50 and 200", res.VideoFrames, res.AudioBlocks)
	}
	if len(res.Events) != 1 || res.Events[0].Kind != "light.dark" || res.Events[0].Participant != "customer" {
		t.Fatalf("events %+v: the customer's dark side should raise one light.dark", res.Events)
	}
	// ffprobe is the independent reference for "playable".
	b, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height:format=duration", "-of", "default=nw=1", out).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v %s", err, b)
	}
	s := string(b)
	for _, want := range []string{"codec_name=h264", "codec_name=aac", "width=320", "height=180"} {
		if !strings.Contains(s, want) {
			t.Fatalf("ffprobe output lacks %s:\n%s", want, s)
		}
	}
	i := strings.Index(s, "duration=")
	d, _ := strconv.ParseFloat(strings.TrimSpace(strings.SplitN(s[i+9:], "\n", 2)[0]), 64)
	if d < 1.9 || d > 2.2 {
		t.Fatalf("duration %.2f s, want 2", d)
	}
	// Decode it fully: errors in any frame fail the test.
	if b, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", out, "-f", "null", "-").CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("ffmpeg decode: %v %s", err, b)
	}
	if fi, _ := os.Stat(out); fi.Size() < 10_000 {
		t.Fatalf("file only %d bytes", fi.Size())
	}
}

func TestDemoRejectsBadOptions(t *testing.T) {
	_, err := Run(context.Background(), Options{Width: 10, Height: 10, FPS: 25, Duration: time.Second, Output: "x.mp4"}, nil)
	if !errors.Is(err, ErrOptions) {
		t.Fatalf("got %v", err)
	}
}

// TestDemoInterruptedStillFinalisesFile cancels the job mid-way: the error
// says so, and the file written so far is a complete, decodable MP4.
func TestDemoInterruptedStillFinalisesFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cut.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{Width: 320, Height: 180, FPS: 25, Duration: 60 * time.Second, Output: out, QueueSize: 8}
	done := make(chan error, 1)
	go func() { _, err := Run(ctx, o, nil); done <- err }()
	// Wait until the muxer has written at least one fragment.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(out); err == nil && fi.Size() > 50_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no output appeared")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	b, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v %s", err, b)
	}
	d, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if d < 1 || d > 59 {
		t.Fatalf("interrupted file lasts %.2f s", d)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", out, "-f", "null", "-").CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("interrupted file does not decode cleanly: %v %s", err, b)
	}
}
