package av

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestProbeMP4(t *testing.T) {
	path := fixture(t, "av.mp4")
	info, err := Probe(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.Format, "mp4") {
		t.Errorf("format %q, want an mp4 demuxer", info.Format)
	}
	if !near(info.Duration.Seconds(), fixSeconds, 0.05) {
		t.Errorf("duration %v, want %ds", info.Duration, fixSeconds)
	}
	if info.Size <= 0 || info.BitRate <= 0 {
		t.Errorf("size %d bitrate %d", info.Size, info.BitRate)
	}
	if len(info.Streams) != 2 {
		t.Fatalf("%d streams, want 2: %+v", len(info.Streams), info.Streams)
	}
	v, a := info.Streams[0], info.Streams[1]
	if v.Type != MediaVideo || v.Codec != "h264" || v.Width != fixW || v.Height != fixH ||
		v.PixelFormat != "yuv420p" || !near(v.FrameRate, fixFPS, 0.01) || v.Frames != fixFPS*fixSeconds {
		t.Errorf("video stream %+v", v)
	}
	if !near(v.Duration.Seconds(), fixSeconds, 0.05) || v.StartTime != 0 || v.TimeBase == "" {
		t.Errorf("video timing: duration %v start %v tb %s", v.Duration, v.StartTime, v.TimeBase)
	}
	if v.Profile == "" {
		t.Errorf("no H.264 profile")
	}
	if a.Type != MediaAudio || a.Codec != "aac" || a.SampleRate != fixRate || a.Channels != 1 ||
		a.SampleFormat != "fltp" || a.ChannelLayout != "mono" || a.Profile != "LC" {
		t.Errorf("audio stream %+v", a)
	}
	if !near(a.Duration.Seconds(), fixSeconds, 0.05) || a.BitRate <= 0 {
		t.Errorf("audio duration %v bitrate %d", a.Duration, a.BitRate)
	}

	sum := info.Summary()
	lines := strings.Split(sum, "\n")
	if len(lines) != 3 {
		t.Fatalf("summary has %d lines, want 3:\n%s", len(lines), sum)
	}
	for i, want := range []string{
		"av.mp4: mov,mp4",
		"video #0 h264 320x240 yuv420p 25.00 fps 2.00s",
		"audio #1 aac 48000 Hz 1 ch fltp 2.00s",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("summary line %d = %q, want prefix %q", i, lines[i], want)
		}
	}

	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, key := range []string{`"format":"mov,mp4`, `"duration_ns":2000000000`, `"size_bytes":`, `"bit_rate":`,
		`"streams":[`, `"codec":"h264"`, `"pixel_format":"yuv420p"`, `"frame_rate":25`, `"sample_rate":48000`,
		`"channels":1`, `"sample_format":"fltp"`, `"start_time_ns":0`, `"type":"audio"`} {
		if !strings.Contains(js, key) {
			t.Errorf("JSON lacks %s:\n%s", key, js)
		}
	}
	var back Info
	if err := json.Unmarshal(b, &back); err != nil || back.Streams[0].Width != fixW || back.Duration != info.Duration {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
}

func TestProbeContainers(t *testing.T) {
	cases := []struct {
		fixture, format, video, audio string
		audioRate, channels           int
	}{
		{"av.mkv", "matroska", "h264", "aac", 48000, 1},
		{"av.webm", "matroska", "vp8", "opus", 48000, 1},
		{"av.ts", "mpegts", "h264", "aac", 48000, 1},
		{"stereo_s16.wav", "wav", "", "pcm_s16le", 48000, 2},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			info, err := Probe(fixture(t, c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(info.Format, c.format) {
				t.Errorf("format %q, want %q", info.Format, c.format)
			}
			var gotV, gotA string
			for _, s := range info.Streams {
				switch s.Type {
				case MediaVideo:
					gotV = s.Codec
					if s.Width != fixW || s.Height != fixH || !near(s.FrameRate, fixFPS, 0.01) {
						t.Errorf("video %+v", s)
					}
				case MediaAudio:
					gotA = s.Codec
					if s.SampleRate != c.audioRate || s.Channels != c.channels {
						t.Errorf("audio %+v", s)
					}
					if s.Duration <= 0 {
						t.Errorf("audio stream duration unknown")
					}
				}
			}
			if gotV != c.video || gotA != c.audio {
				t.Errorf("codecs %q/%q, want %q/%q", gotV, gotA, c.video, c.audio)
			}
			if info.Duration < 900*time.Millisecond || info.Duration > 2100*time.Millisecond {
				t.Errorf("duration %v", info.Duration)
			}
		})
	}
}
