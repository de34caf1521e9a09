package av

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkOpenError checks that Probe and Open both fail on path with an
// error that matches every one of want, names the file and is one line.
func checkOpenError(t *testing.T, path string, text string, want ...error) {
	t.Helper()
	_, perr := Probe(path)
	d, oerr := Open(path, Options{})
	if d != nil {
		d.Close()
	}
	for _, err := range []error{perr, oerr} {
		if err == nil {
			t.Fatalf("%s: no error", path)
		}
		for _, w := range want {
			if !errors.Is(err, w) {
				t.Errorf("error %q does not match %v", err, w)
			}
		}
		msg := err.Error()
		if !strings.Contains(msg, path) || strings.Contains(msg, "\n") || !strings.Contains(msg, text) {
			t.Errorf("error %q should name the file, say %q and be one line", msg, text)
		}
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.mp4")
	checkOpenError(t, path, "no such file", ErrOpen, fs.ErrNotExist)
}

func TestEmptyFile(t *testing.T) {
	checkOpenError(t, writeFile(t, "empty.mp4", nil), "empty file", ErrNotMedia)
}

func TestTextFile(t *testing.T) {
	text := []byte("Account 1234: customer agreed to the terms.\nThis is a text file, not a recording.\n")
	for _, name := range []string{"notes.txt", "notes.mp4", "notes"} {
		checkOpenError(t, writeFile(t, name, text), "not a media file", ErrNotMedia)
	}
}

func TestRandomBytes(t *testing.T) {
	b := make([]byte, 64*1024)
	rand.New(rand.NewSource(1)).Read(b)
	checkOpenError(t, writeFile(t, "noise.mkv", b), "not a media file", ErrNotMedia)
}

func TestDirectory(t *testing.T) {
	checkOpenError(t, t.TempDir(), "is a directory", ErrOpen)
}

// TestHeaderLost: an MP4 written without faststart and cut short has lost
// its moov index; that is damaged media, not "not media".
func TestHeaderLost(t *testing.T) {
	needFFmpeg(t)
	src := filepath.Join(t.TempDir(), "moov-last.mp4")
	if err := ffmpeg("-i", fixture(t, "av.mp4"), "-c", "copy", src); err != nil {
		t.Fatal(err)
	}
	checkOpenError(t, truncated(t, src, 0.4), "header cannot be read", ErrCorrupt)
}

func TestNoWantedStreams(t *testing.T) {
	path := fixture(t, "stereo_s16.wav")
	_, err := Open(path, Options{Video: true})
	if !errors.Is(err, ErrNoStreams) || !strings.Contains(err.Error(), path) {
		t.Errorf("video from a WAV: %v", err)
	}
	if _, err := Open(path, Options{Streams: []int{3}}); !errors.Is(err, ErrNoStreams) {
		t.Errorf("stream 3 of 1: %v", err)
	}
}

// TestTruncated: the first 40% of a file (MP4 with its index at the front,
// MKV) decodes up to the cut, and Stats say the end came early. MPEG-TS is
// left out on purpose: it declares no length (FFmpeg estimates one from the
// data present), so a cut TS looks like a short one.
func TestTruncated(t *testing.T) {
	for _, name := range []string{"av.mp4", "av.mkv"} {
		t.Run(name, func(t *testing.T) {
			path := truncated(t, fixture(t, name), 0.4)
			if _, err := Probe(path); err != nil {
				t.Fatalf("Probe: %v", err)
			}
			items, st := decodeAll(t, path, Options{})
			frames := videoFrames(items)
			if len(frames) == 0 || len(frames) >= 45 {
				t.Errorf("%d frames from 40%% of the file", len(frames))
			}
			if len(frames) > 0 {
				checkColour(t, name, frames[len(frames)-1], fixW/2, fixH/2, red)
			}
			if !st.PrematureEnd || st.EndReason == "" {
				t.Errorf("premature end not reported: %s", st.Summary())
			}
			if st.Reached >= st.Duration || st.Reached <= 0 {
				t.Errorf("reached %v of %v", st.Reached, st.Duration)
			}
			v := st.Stream(0)
			if v.Frames != int64(len(frames)) || v.LastPTS != frames[len(frames)-1].PTS {
				t.Errorf("video stats %+v", v)
			}
			t.Log(st.Summary())
		})
	}
}

// TestCorruptMiddle overwrites part of the middle of an MPEG-TS recording:
// the decoder must carry on past the damage, deliver the rest and count it.
func TestCorruptMiddle(t *testing.T) {
	b, err := os.ReadFile(fixture(t, "av.ts"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for i := len(b) * 45 / 100; i < len(b)*55/100; i++ {
		if i%188 != 0 && rng.Intn(4) == 0 { // keep TS sync bytes so the demuxer resyncs
			b[i] = byte(rng.Intn(256))
		}
	}
	path := writeFile(t, "damaged.ts", b)
	items, st := decodeAll(t, path, Options{})
	frames := videoFrames(items)
	if len(frames) < 25 {
		t.Errorf("only %d frames survive damage to 10%% of the file", len(frames))
	}
	last := frames[len(frames)-1]
	if last.PTS < 1900e6 {
		t.Errorf("decoding stopped at %v, want to reach the end", last.PTS)
	}
	damage := st.ErrorCount + st.FFmpegErrors
	for _, s := range st.Streams {
		damage += int(s.Errors+s.DamagedFrames+s.CorruptPackets) + s.FFmpegErrors
	}
	if damage == 0 || len(st.Messages) == 0 {
		t.Errorf("damage not counted: %s", st.Summary())
	}
	for _, e := range st.Errors {
		if !errors.Is(e, ErrCorrupt) || e.Stream < -1 || e.PTS < 0 {
			t.Errorf("decode error %+v", e)
		}
	}
	t.Log(st.Summary())
}

// recorder is a slog.Handler that keeps records.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func TestLogRouting(t *testing.T) {
	rec := &recorder{}
	SetLogger(slog.New(rec))
	defer SetLogger(nil)
	path := truncated(t, fixture(t, "av.mkv"), 0.4)
	if _, err := Decode(context.Background(), path, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var warned bool
	for _, r := range rec.recs {
		if r.Level == slog.LevelWarn && strings.Contains(r.Message, "ffmpeg:") {
			var file string
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "file" {
					file = a.Value.String()
				}
				return true
			})
			warned = warned || file == path
		}
	}
	if !warned {
		t.Errorf("no FFmpeg warning attributed to %s in %d records", path, len(rec.recs))
	}
}

// TestSubtitleStream: a subtitle track is described by Probe, counted but
// not decoded by default, and refused when asked for explicitly.
func TestSubtitleStream(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	srt := filepath.Join(dir, "subs.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:01,000\nHello\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "subs.mkv")
	if err := ffmpeg("-f", "lavfi", "-i", "color=c=red:s=160x120:r=25", "-i", srt, "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:s", "srt", path); err != nil {
		t.Fatal(err)
	}
	info, err := Probe(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Streams) != 2 || info.Streams[1].Type != MediaSubtitle || info.Streams[1].Codec != "subrip" {
		t.Fatalf("streams %+v", info.Streams)
	}
	if !strings.Contains(info.Summary(), "subtitle #1 subrip") {
		t.Errorf("summary:\n%s", info.Summary())
	}
	items, st := decodeAll(t, path, Options{})
	if len(videoFrames(items)) != 25 || st.Stream(1).Packets != 1 || st.Stream(1).Decoded {
		t.Errorf("%d frames, subtitle stats %+v", len(items), st.Stream(1))
	}
	if _, err := Open(path, Options{Streams: []int{1}}); !errors.Is(err, ErrUnsupportedCodec) {
		t.Errorf("decoding the subtitle stream: %v", err)
	}
}

// TestMangledFiles flips random bytes in the headers and bodies of real
// files: whatever FFmpeg makes of them, we must return (an error or
// frames), never panic or crash.
func TestMangledFiles(t *testing.T) {
	for _, name := range []string{"av.mp4", "av.mkv", "av.webm", "stereo_s16.wav"} {
		orig, err := os.ReadFile(fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for seed := int64(1); seed <= fuzzSeeds; seed++ {
			rng := rand.New(rand.NewSource(seed))
			b := append([]byte(nil), orig...)
			region := len(b)
			if seed%2 == 1 {
				region = min(len(b), 4096) // header
			}
			for i := 0; i < 24; i++ {
				b[rng.Intn(region)] = byte(rng.Intn(256))
			}
			path := writeFile(t, name, b)
			st, err := Decode(context.Background(), path, Options{Width: 64}, nil)
			if err == nil && st == nil {
				t.Errorf("%s seed %d: no stats and no error", name, seed)
			}
			if err != nil && (!strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n")) {
				t.Errorf("%s seed %d: error %q", name, seed, err)
			}
		}
	}
}

// fuzzSeeds is how many mangled variants of each file TestMangledFiles
// tries; raise it locally for a longer hunt.
var fuzzSeeds int64 = 12
