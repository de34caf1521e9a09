package qc

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test recordings are generated with the ffmpeg CLI (lavfi sources, defects
// injected with filters at known times) on first use and shared by the
// tests of one run. Nothing binary is kept in git.
var (
	fixtureDir string
	fixtureMu  sync.Mutex
	fixtures   = map[string]*fixtureState{}
)

type fixtureState struct {
	once sync.Once
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "witness-qc-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Base material: a moving test picture (so that nothing is frozen) and a
// stereo tone at -12 dBFS (440 Hz left, 550 Hz right).
const (
	clipSeconds = 10
	picture     = "testsrc2=s=640x360:r=25"
	toneExpr    = "0.25*sin(2*PI*440*t)|0.25*sin(2*PI*550*t)"
)

var (
	x264 = []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	aac  = []string{"-c:a", "aac", "-b:a", "128k"}
)

// tone is an aevalsrc source; the quotes keep the expression's commas
// from splitting the filter graph.
func tone(expr string) string { return "aevalsrc='" + expr + "':s=48000:c=stereo" }

// av builds the arguments for a picture and a sound source through
// filter_complex graphs vf and af (may be empty), clipSeconds long.
func avArgs(video, vf, audio, af string) []string {
	args := []string{"-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio}
	var graph []string
	vmap, amap := "0:v", "1:a"
	if vf != "" {
		graph = append(graph, "[0:v]"+vf+"[v]")
		vmap = "[v]"
	}
	if af != "" {
		graph = append(graph, "[1:a]"+af+"[a]")
		amap = "[a]"
	}
	if len(graph) > 0 {
		args = append(args, "-filter_complex", strings.Join(graph, ";"))
	}
	args = append(args, "-map", vmap, "-map", amap, "-t", fmt.Sprint(clipSeconds))
	args = append(args, x264...)
	return append(args, aac...)
}

// Flash-and-beep pattern for A/V sync: a white full-frame flash and a
// 1 kHz beep at irregular times (regular ones would make the offset
// ambiguous by a period).
var syncEvents = []float64{0.6, 1.5, 2.9, 3.7, 5.2, 6.1, 7.5, 8.3, 9.6, 10.4}

func flashFilter() string {
	var parts []string
	for _, t := range syncEvents {
		parts = append(parts, fmt.Sprintf("between(t,%.2f,%.2f)", t, t+0.11))
	}
	return "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='" + strings.Join(parts, "+") + "'"
}

func beepExpr() string {
	var parts []string
	for _, t := range syncEvents {
		parts = append(parts, fmt.Sprintf("between(t,%.2f,%.2f)", t, t+0.1))
	}
	one := "0.5*sin(2*PI*1000*t)*(" + strings.Join(parts, "+") + ")"
	return one + "|" + one
}

// syncClip: audio shifted by ms milliseconds (positive: sound late) inside
// the stream (adelay / atrim), so the container timestamps are clean.
func syncClip(ms int) []string {
	af := ""
	switch {
	case ms > 0:
		af = fmt.Sprintf("adelay=%d|%d", ms, ms)
	case ms < 0:
		af = fmt.Sprintf("atrim=start=%.3f,asetpts=PTS-STARTPTS", float64(-ms)/1000)
	}
	return concat([]string{"-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", tone(beepExpr())},
		filterArgs(flashFilter(), af), []string{"-t", "12"}, x264, aac)
}

func filterArgs(vf, af string) []string {
	graph := []string{"[0:v]" + vf + "[v]"}
	amap := "1:a"
	if af != "" {
		graph = append(graph, "[1:a]"+af+"[a]")
		amap = "[a]"
	}
	return []string{"-filter_complex", strings.Join(graph, ";"), "-map", "[v]", "-map", amap}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// between is an ffmpeg enable expression.
func between(a, b float64) string { return fmt.Sprintf("enable='between(t,%g,%g)'", a, b) }

// clock draws a seconds counter on a black box in the top-right corner
// (the policy's default watermark region) while enable holds; text is the
// value shown, an expression of t.
func clock(text, enable string) string {
	box := "drawbox=x=iw*0.75:y=0:w=iw*0.25:h=ih*0.1:color=black:t=fill"
	dt := fmt.Sprintf("drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf:fontsize=24:fontcolor=white:x=w*0.80:y=6:text='%%{eif\\:%s\\:d}'", text)
	if enable != "" {
		dt += ":enable='" + enable + "'"
	}
	return box + "," + dt
}

// recipes are ffmpeg arguments (before the output name) per fixture.
var recipes = map[string][]string{
	"clean.mp4": avArgs(picture, "", tone(toneExpr), ""),
	"clean.mkv": avArgs(picture, "", tone(toneExpr), ""),
	// Index at the front, so a cut file can still be opened.
	"faststart.mp4": concat(avArgs(picture, "", tone(toneExpr), ""), []string{"-movflags", "+faststart"}),
	"clean720.mp4": concat([]string{"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25", "-f", "lavfi", "-i", tone(toneExpr),
		"-t", "4"}, x264, aac),
	"black.mp4":  avArgs(picture, "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:"+between(3, 6), tone(toneExpr), ""),
	"white.mp4":  avArgs(picture, "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:"+between(2, 5), tone(toneExpr), ""),
	"freeze.mp4": avArgs(picture, "split[a][b];[a][b]freezeframes=first=100:last=174:replace=100", tone(toneExpr), ""),
	"mosaic.mp4": avArgs(picture, "split[a][b];[b]scale=iw/16:ih/16,scale=640:360:flags=neighbor[m];[a][m]overlay="+between(4, 6),
		tone(toneExpr), ""),
	"blur.mp4":     avArgs(picture, "gblur=sigma=6:"+between(3, 6), tone(toneExpr), ""),
	"silence.mp4":  avArgs(picture, "", tone(toneExpr), "volume=0:"+between(5, 8)),
	"quiet.mp4":    avArgs(picture, "", tone(toneExpr), "volume=0.01:"+between(3, 7)),
	"clipped.mp4":  avArgs(picture, "", tone(toneExpr), "volume=20:"+between(2, 4)+",aformat=sample_fmts=s16"),
	"onesided.mp4": avArgs(picture, "", tone("0.25*sin(2*PI*440*t)|0.25*sin(2*PI*550*t)*not(between(t,3,6))"), ""),
	"stutter.mp4": concat(avArgs(picture, "select='not(between(t,3,5)*eq(mod(n,3),1))'", tone(toneExpr), ""),
		[]string{"-fps_mode", "vfr"}),
	"gap.mp4":       concat(avArgs(picture, "setpts='PTS+gte(T,5)*1.5/TB'", tone(toneExpr), ""), []string{"-fps_mode", "passthrough"}),
	"videoonly.mp4": concat([]string{"-f", "lavfi", "-i", picture, "-t", fmt.Sprint(clipSeconds)}, x264),
	"sync0.mp4":     syncClip(0),
	"sync+200.mp4":  syncClip(200),
	"sync+500.mp4":  syncClip(500),
	"sync+800.mp4":  syncClip(800),
	"sync-400.mp4":  syncClip(-400),
	"sync-700.mp4":  syncClip(-700),
	// The audio stream starts 600 ms late in the container (-itsoffset).
	"late-audio.mp4": concat([]string{"-f", "lavfi", "-i", picture, "-itsoffset", "0.6", "-f", "lavfi", "-i", tone(beepExpr())},
		filterArgs(flashFilter(), ""), []string{"-t", "12"}, x264, aac),
	"clock.mp4":         avArgs(picture, clock("t", ""), tone(toneExpr), ""),
	"clock-missing.mp4": avArgs(picture, clock("t", "not(between(t,4,8))"), tone(toneExpr), ""),
	"clock-stops.mp4":   avArgs(picture, clock("min(t,4)", ""), tone(toneExpr), ""),
	"tiny.mp4":          tiny,
	"tiny.mkv":          tiny,
}

// tiny is the fuzzing seed: 1 s, 96x64, keyframe every 5 frames, 8 kHz AAC.
var tiny = []string{"-f", "lavfi", "-i", "testsrc2=s=96x64:r=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000",
	"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "5", "-c:a", "aac", "-b:a", "16k"}

func needFFmpeg(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		tb.Skip("ffmpeg CLI not installed; it generates the test recordings")
	}
}

// fixture returns the path of a generated recording, generating it on
// first use; different fixtures generate in parallel.
func fixture(tb testing.TB, name string) string {
	tb.Helper()
	needFFmpeg(tb)
	fixtureMu.Lock()
	st := fixtures[name]
	if st == nil {
		st = &fixtureState{}
		fixtures[name] = st
	}
	fixtureMu.Unlock()
	path := filepath.Join(fixtureDir, name)
	st.once.Do(func() {
		args, ok := recipes[name]
		if !ok {
			st.err = fmt.Errorf("no recipe for fixture %s", name)
			return
		}
		st.err = ffmpeg(append(args, path)...)
	})
	if st.err != nil {
		tb.Fatalf("making %s: %v", name, st.err)
	}
	return path
}

func ffmpeg(args ...string) error {
	cmd := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y", "-threads", "1"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ffmpeg %v: %v: %s", args, err, stderr.String())
	}
	return nil
}

// check runs QC with the default policy (or pol) and fails the test on an
// error.
func check(t *testing.T, path string, pol ...Policy) *Report {
	t.Helper()
	p := DefaultPolicy()
	if len(pol) > 0 {
		p = pol[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Check(ctx, path, p)
	if err != nil {
		t.Fatalf("Check(%s): %v", filepath.Base(path), err)
	}
	return rep
}

// timeTol is how close a finding must be to where the defect was put.
const timeTol = 500 * time.Millisecond

// want describes one expected finding.
type want struct {
	kind       string
	start, end float64 // seconds; end < 0: not checked
}

// expectFindings checks that rep has exactly the kinds in ws (plus any in
// allowed), each at the right time.
func expectFindings(t *testing.T, rep *Report, ws []want, allowed ...string) {
	t.Helper()
	used := make([]bool, len(rep.Findings))
	for _, w := range ws {
		found := false
		for i := range rep.Findings {
			f := &rep.Findings[i]
			if used[i] || f.Kind != w.kind {
				continue
			}
			if !near(f.Start, w.start) || (w.end >= 0 && !near(f.End, w.end)) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("%s: no %s finding at %.2fs-%.2fs; findings:\n%s", filepath.Base(rep.File), w.kind, w.start, w.end, listFindings(rep))
		}
	}
	for i := range rep.Findings {
		if used[i] {
			continue
		}
		ok := false
		for _, a := range allowed {
			if rep.Findings[i].Kind == a {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: unexpected finding %s", filepath.Base(rep.File), rep.Findings[i].String())
		}
	}
}

func near(d time.Duration, sec float64) bool {
	return math.Abs(d.Seconds()-sec) <= timeTol.Seconds()
}

func listFindings(rep *Report) string {
	var b strings.Builder
	for i := range rep.Findings {
		fmt.Fprintf(&b, "  %s (value %g, threshold %g)\n", rep.Findings[i].String(), rep.Findings[i].Value, rep.Findings[i].Threshold)
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}
