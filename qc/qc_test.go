package qc

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// TestCleanRecordingsPass: clean recordings (MP4, MKV, 720p, a clock in the
// corner) pass with no findings at all.
func TestCleanRecordingsPass(t *testing.T) {
	for _, name := range []string{"clean.mp4", "clean.mkv", "clean720.mp4", "clock.mp4", "sync0.mp4"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := check(t, fixture(t, name))
			if rep.Verdict != Pass || len(rep.Findings) != 0 {
				t.Errorf("verdict %s, findings:\n%s", rep.Verdict, listFindings(rep))
			}
			if rep.Duration < 3*time.Second || rep.Metrics.VideoFrames < 75 || rep.Metrics.AudioFrames == 0 {
				t.Errorf("covered %v, %d video frames, %d audio frames", rep.Duration, rep.Metrics.VideoFrames, rep.Metrics.AudioFrames)
			}
		})
	}
}

// TestDefects: each injected defect is found, of the right kind, at the
// right time (within 0.5 s), with the right verdict, and nothing else is.
func TestDefects(t *testing.T) {
	for _, tc := range []struct {
		file    string
		verdict Verdict
		want    []want
		allowed []string // other kinds that are correct consequences of the defect
	}{
		// A black picture is also a still one (freezedetect agrees).
		{"black.mp4", Warn, []want{{KindBlack, 3, 6}}, []string{KindFreeze}},
		{"white.mp4", Warn, []want{{KindWhite, 2, 5}}, []string{KindFreeze}},
		{"freeze.mp4", Warn, []want{{KindFreeze, 4, 7}}, nil},
		{"mosaic.mp4", Warn, []want{{KindMosaic, 4, 6}}, nil},
		{"silence.mp4", Warn, []want{{KindSilence, 5, 8}}, nil},
		{"quiet.mp4", Warn, []want{{KindLowLoudness, 3, 7}}, nil},
		{"clipped.mp4", Warn, []want{{KindClipping, 2, 4}}, nil},
		{"onesided.mp4", Warn, []want{{KindChannelSilent, 3, 6}}, nil},
		{"stutter.mp4", Warn, []want{{KindStutter, 3, 5}}, nil},
		// Video timestamps jump 1.5 s forward at 5 s (the output is cut at 10 s).
		{"gap.mp4", Warn, []want{{KindGap, 5, 6.5}}, nil},
		{"videoonly.mp4", Fail, []want{{KindMissingStream, 0, 0}}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			rep := check(t, fixture(t, tc.file))
			expectFindings(t, rep, tc.want, tc.allowed...)
			if rep.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", rep.Verdict, tc.verdict)
			}
		})
	}
}

// TestFindingDetails: measured values are on the right side of their
// thresholds and carry thumbnails where they should.
func TestFindingDetails(t *testing.T) {
	t.Parallel()
	rep := check(t, fixture(t, "black.mp4"))
	f := first(t, rep, KindBlack)
	if f.Value < 0.98 || f.Threshold != 0.98 || f.Unit != unitFraction || f.Severity != pipeline.SeverityWarning {
		t.Errorf("black finding %+v", f)
	}
	if !isPNG(f.Thumbnail) {
		t.Errorf("black finding has no PNG thumbnail")
	}
	ev := f.Event()
	if ev.Kind != "qc.video.black" || ev.MediaTime != f.Start || ev.Validate() != nil || len(ev.Data) == 0 {
		t.Errorf("event %+v", ev)
	}
	rep = check(t, fixture(t, "silence.mp4"))
	if f := first(t, rep, KindSilence); f.Value >= -60 || f.Threshold != -60 || f.Thumbnail != nil {
		t.Errorf("silence finding %+v", f)
	}
}

func first(t *testing.T, rep *Report, kind string) *Finding {
	t.Helper()
	for i := range rep.Findings {
		if rep.Findings[i].Kind == kind {
			return &rep.Findings[i]
		}
	}
	t.Fatalf("no %s finding:\n%s", kind, listFindings(rep))
	return nil
}

func isPNG(b []byte) bool { return len(b) > 8 && string(b[1:4]) == "PNG" }

// TestSyncOffset: the offset is estimated from the flash-and-beep content
// to within 40 ms (one frame), and flagged only beyond 300 ms.
func TestSyncOffset(t *testing.T) {
	for _, ms := range []int{0, 200, 500, 800, -400, -700} {
		name := "sync" + signed(ms) + ".mp4"
		if ms == 0 {
			name = "sync0.mp4"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := check(t, fixture(t, name))
			s := rep.Metrics.Sync
			if !s.Measured || math.Abs(s.OffsetMS-float64(ms)) > 40 {
				t.Fatalf("sync estimate %+v, want %d ms", s, ms)
			}
			flagged := rep.Count(KindSyncOffset) == 1
			if flagged != (abs(ms) > 300) {
				t.Errorf("offset %d ms flagged=%v:\n%s", ms, flagged, listFindings(rep))
			}
			if flagged {
				f := first(t, rep, KindSyncOffset)
				if math.Abs(f.Value-float64(ms)) > 40 || f.Threshold != 300 || rep.Verdict != Warn {
					t.Errorf("sync finding %+v verdict %s", f, rep.Verdict)
				}
			}
		})
	}
}

// TestLateAudioStream: an audio stream that starts 600 ms late in the
// container is both a start offset and an A/V offset.
func TestLateAudioStream(t *testing.T) {
	t.Parallel()
	rep := check(t, fixture(t, "late-audio.mp4"))
	expectFindings(t, rep, []want{{KindStartOffset, 0, 0.6}, {KindSyncOffset, 0, -1}}, KindEndMismatch)
	if s := rep.Metrics.Sync; math.Abs(s.OffsetMS-600) > 40 {
		t.Errorf("sync %+v, want +600 ms", s)
	}
}

func signed(ms int) string {
	if ms > 0 {
		return "+" + strconv.Itoa(ms)
	}
	return strconv.Itoa(ms)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestTruncated: a recording cut at 60% of its bytes fails, and the
// truncation is placed where the data really ends (the last packet ffprobe
// finds in the cut file).
func TestTruncated(t *testing.T) {
	t.Parallel()
	src := fixture(t, "faststart.mp4")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.mp4")
	if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	last := lastPacketTime(t, cut)
	rep := check(t, cut)
	if rep.Verdict != Fail {
		t.Errorf("verdict %s", rep.Verdict)
	}
	f := first(t, rep, KindTruncated)
	if !near(f.Start, last) || !near(f.End, clipSeconds) {
		t.Errorf("truncated %s, data ends at %.2fs", f.String(), last)
	}
	for _, x := range rep.Findings {
		switch x.Kind {
		case KindTruncated, KindCorrupt, KindEndMismatch:
		default:
			t.Errorf("unexpected %s", x.String())
		}
	}
}

// lastPacketTime is the end of the last video packet ffprobe reads.
func lastPacketTime(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "quiet", "-select_streams", "v:0", "-show_entries", "packet=pts_time,duration_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	last := 0.0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, ",")
		pts, err1 := strconv.ParseFloat(parts[0], 64)
		dur := 0.0
		if len(parts) > 1 {
			dur, _ = strconv.ParseFloat(parts[1], 64)
		}
		if err1 == nil {
			last = max(last, pts+dur)
		}
	}
	return last
}

// TestCorruptRegion: garbage written over the middle of the file is found
// as a corrupt region where ffprobe places the damaged packets.
func TestCorruptRegion(t *testing.T) {
	t.Parallel()
	src := fixture(t, "clean.mp4")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	off := len(data) / 2
	at := packetTimeAt(t, src, int64(off))
	for i := off; i < off+4000; i++ {
		data[i] = byte(i*7 + 3)
	}
	bad := filepath.Join(t.TempDir(), "damaged.mp4")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep := check(t, bad)
	if rep.Verdict != Fail {
		t.Errorf("verdict %s:\n%s", rep.Verdict, listFindings(rep))
	}
	f := first(t, rep, KindCorrupt)
	if f.Start.Seconds() > at+0.5 || f.End.Seconds() < at-0.5 {
		t.Errorf("corrupt region %s does not cover the damage at %.2fs", f.String(), at)
	}
}

// packetTimeAt is the time of the packet that holds byte off of path.
func packetTimeAt(t *testing.T, path string, off int64) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "quiet", "-show_entries", "packet=pts_time,pos,size",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p := strings.Split(line, ",")
		if len(p) < 3 {
			continue
		}
		pts, _ := strconv.ParseFloat(p[0], 64)
		size, _ := strconv.ParseInt(p[1], 10, 64)
		pos, _ := strconv.ParseInt(p[2], 10, 64)
		if off >= pos && off < pos+size {
			return pts
		}
	}
	t.Fatalf("no packet at byte %d", off)
	return 0
}

// TestParameters: a policy expecting 1280x720 H.264 at 25 fps with 48 kHz
// stereo AAC flags the 640x360 clip's resolution and nothing else; an
// expectation of HEVC, 30 fps and mono flags those.
func TestParameters(t *testing.T) {
	t.Parallel()
	path := fixture(t, "clean.mp4")
	p := DefaultPolicy()
	p.Expect = Expect{MinDuration: 5 * time.Second, MaxDuration: time.Hour,
		Video: VideoExpect{Codecs: []string{"h264"}, Width: 1280, Height: 720, MinFPS: 24, MaxFPS: 26, MinKbps: 50, MaxKbps: 20000},
		Audio: AudioExpect{Codecs: []string{"aac"}, SampleRates: []int{48000}, Channels: 2, MinKbps: 64, MaxKbps: 320}}
	rep := check(t, path, p)
	expectFindings(t, rep, []want{{KindResolution, 0, clipSeconds}})
	if rep.Verdict != Fail {
		t.Errorf("verdict %s", rep.Verdict)
	}
	p.Expect.Video = VideoExpect{Codecs: []string{"hevc"}, MinFPS: 30}
	p.Expect.Audio = AudioExpect{Channels: 1, SampleRates: []int{16000}}
	p.Expect.MinDuration = 20 * time.Second
	rep = check(t, path, p)
	expectFindings(t, rep, []want{{KindVideoCodec, 0, -1}, {KindFrameRate, 0, -1}, {KindChannels, 0, -1},
		{KindSampleRate, 0, -1}, {KindDuration, 0, -1}})
}

// TestWatermark: with the policy requiring a clock in the corner, a clock
// that disappears or stops is found when it does.
func TestWatermark(t *testing.T) {
	p := DefaultPolicy()
	p.Watermark.Enabled = true
	p.Watermark.Mode = WatermarkClock
	for _, tc := range []struct {
		file string
		want []want
	}{
		{"clock.mp4", nil},
		{"clock-missing.mp4", []want{{KindWatermark, 4, 8}}},
		{"clock-stops.mp4", []want{{KindWatermarkStill, 4, clipSeconds}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			rep := check(t, fixture(t, tc.file), p)
			expectFindings(t, rep, tc.want)
		})
	}
	// No clock at all: the (mostly flat) corner of the test picture is
	// reported empty for most of the recording.
	t.Run("clean.mp4", func(t *testing.T) {
		t.Parallel()
		rep := check(t, fixture(t, "clean.mp4"), p)
		var missing time.Duration
		for _, f := range rep.Findings {
			if f.Kind != KindWatermark || f.Severity != pipeline.SeverityCritical {
				t.Errorf("unexpected %s", f.String())
			}
			missing += f.End - f.Start
		}
		if missing < 6*time.Second || rep.Verdict != Fail {
			t.Errorf("watermark missing for %v of 10s, verdict %s", missing, rep.Verdict)
		}
	})
}

// TestBlur: blur is off by default; when enabled it finds a blurred stretch.
func TestBlur(t *testing.T) {
	t.Parallel()
	path := fixture(t, "blur.mp4")
	if rep := check(t, path); len(rep.Findings) != 0 {
		t.Errorf("blur off by default, got:\n%s", listFindings(rep))
	}
	p := DefaultPolicy()
	p.Video.Blur.Enabled = true
	expectFindings(t, check(t, path, p), []want{{KindBlur, 3, 6}})
}

// TestLoudnessMatchesEBUR128: integrated loudness agrees with FFmpeg's
// ebur128 filter to 0.5 LU.
func TestLoudnessMatchesEBUR128(t *testing.T) {
	t.Parallel()
	path := fixture(t, "quiet.mp4")
	rep := check(t, path)
	out, err := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-map", "0:a", "-af", "ebur128", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg ebur128: %v", err)
	}
	s := string(out)
	i := strings.LastIndex(s, "I:")
	if i < 0 {
		t.Fatalf("no integrated loudness in ffmpeg output")
	}
	fields := strings.Fields(s[i+2:])
	ref, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rep.Metrics.IntegratedLUFS-ref) > 0.5 {
		t.Errorf("integrated %.2f LUFS, ebur128 says %.2f", rep.Metrics.IntegratedLUFS, ref)
	}
	if len(rep.Loudness) < 10 {
		t.Errorf("loudness curve has %d points", len(rep.Loudness))
	}
}

// TestUnreadable: files that cannot be read give an error naming them and
// no report; files that are not media give a failing report.
func TestUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Check(context.Background(), filepath.Join(dir, "nope.mp4"), DefaultPolicy())
	if !errors.Is(err, ErrUnreadable) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.mp4") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Check(context.Background(), dir, DefaultPolicy()); !errors.Is(err, ErrUnreadable) {
		t.Errorf("directory: %v", err)
	}
	text := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(text, []byte("not a recording\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), text, DefaultPolicy())
	if err != nil {
		t.Fatalf("text file: %v", err)
	}
	if rep.Verdict != Fail || rep.Count(KindOpen) != 1 || len(rep.SHA256) != 64 {
		t.Errorf("text file: verdict %s sha %q:\n%s", rep.Verdict, rep.SHA256, listFindings(rep))
	}
	bad := DefaultPolicy()
	bad.Video.Black.PictureRatio = 2
	if _, err := Check(context.Background(), text, bad); !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "video.black.picture_ratio") {
		t.Errorf("bad policy: %v", err)
	}
}

// TestCanceled: a canceled context stops the check with ErrCanceled.
func TestCanceled(t *testing.T) {
	t.Parallel()
	path := fixture(t, "clean.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, path, DefaultPolicy()); !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}
