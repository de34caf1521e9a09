package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/witness-media/witness/mixer"
	"github.com/witness-media/witness/pipeline/gst"
	"github.com/witness-media/witness/watermark"
)

func init() {
	register("mix", command{
		summary: "compose recordings into one watermarked composite (layouts, mixed audio, fragmented MP4)",
		run:     runMix,
	})
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// progressEvery is how often the progress line is refreshed, and
// progressMin the input length below which none is printed.
const (
	progressEvery = time.Second
	progressMin   = 10 * time.Second
)

// mixStderr is where the progress line goes (a variable for tests).
var mixStderr io.Writer = os.Stderr

func runMix(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("mix")
	var ins, gains, labels, switches, pauses listFlag
	cfgPath := fs.String("config", "", "config file (YAML)")
	layoutArg := fs.String("layout", "", "layout: built-in name ("+strings.Join(mixer.Builtins(), ", ")+") or YAML file")
	fs.Var(&ins, "in", "input ROLE=PATH[@OFFSET] (repeat; PATH 'off' = camera off, shows the placeholder)")
	fs.Var(&gains, "gain", "audio gain ROLE=FACTOR (repeat; 1 = unchanged)")
	fs.Var(&labels, "label", "label text ROLE=TEXT (repeat)")
	fs.Var(&switches, "switch", "layout change TIME=LAYOUT at a media time, e.g. 90s=pip (repeat)")
	fs.Var(&pauses, "pause", "pause START-END on the output timeline, e.g. 1m30s-2m: pause card, silence, continuous timestamps, marked in OUT.markers.json (repeat)")
	wmPath := fs.String("watermark", "", "watermark spec (YAML)")
	out := fs.String("o", "", "output file (written as OUT.part, renamed when complete)")
	size := fs.String("size", "", "output WIDTHxHEIGHT (default: the layout's canvas)")
	fps := fs.Int("fps", 25, "frames per second (7-30)")
	preset := fs.String("preset", "veryfast", "x264 preset")
	bitrate := fs.Int("bitrate", 0, "video kbit/s (default 1500 unless -crf)")
	crf := fs.Int("crf", 0, "constant quality 1-51 instead of a bitrate")
	gop := fs.Int("gop", 0, "keyframe interval in frames (default 2 s)")
	container := fs.String("container", "mp4", "mp4 (fragmented), mkv or ts")
	segment := fs.Duration("segment", 0, "split into files of this length (0 = one file)")
	perDir := fs.String("per-participant", "", "also record each input on its own into this directory")
	quiet := fs.Bool("quiet", false, "no progress line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *layoutArg == "" || *out == "" || len(ins) == 0 {
		return fmt.Errorf("%w: --layout, at least one --in and -o are required", errUsage)
	}
	cfg, log, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	// Everything below up to mixer.New only reads and checks: a bad layout,
	// input or watermark fails here, before any file is written.
	layout, err := mixer.LoadLayout(*layoutArg)
	if err != nil {
		return err
	}
	mc := mixer.Config{
		Layout: layout,
		GST:    gst.Options{StateTimeout: cfg.Pipeline.StateTimeout, EOSTimeout: cfg.Pipeline.EOSTimeout},
		Output: mixer.Output{
			Path: *out, Container: *container, FPS: *fps, Preset: *preset, Bitrate: *bitrate, CRF: *crf, GOP: *gop,
			Segment: *segment, PerParticipant: *perDir,
		},
	}
	if *size != "" {
		if _, err := fmt.Sscanf(*size, "%dx%d", &mc.Output.Width, &mc.Output.Height); err != nil {
			return fmt.Errorf("%w: --size %q (want WIDTHxHEIGHT)", errUsage, *size)
		}
	}
	for _, in := range ins {
		i, err := parseInput(in)
		if err != nil {
			return err
		}
		mc.Inputs = append(mc.Inputs, i)
	}
	if err := applyRoleValues(mc.Inputs, gains, "--gain", func(in *mixer.Input, v string) error {
		g, err := strconv.ParseFloat(v, 64)
		if err != nil || g < 0 {
			return fmt.Errorf("gain %q", v)
		}
		in.Gain, in.Mute = g, g == 0
		return nil
	}); err != nil {
		return err
	}
	if err := applyRoleValues(mc.Inputs, labels, "--label", func(in *mixer.Input, v string) error { in.Label = v; return nil }); err != nil {
		return err
	}
	for _, s := range switches {
		at, name, ok := strings.Cut(s, "=")
		d, err := time.ParseDuration(at)
		if !ok || err != nil {
			return fmt.Errorf("%w: --switch %q (want TIME=LAYOUT, e.g. 90s=pip)", errUsage, s)
		}
		l, err := mixer.LoadLayout(name)
		if err != nil {
			return err
		}
		mc.Switches = append(mc.Switches, mixer.Switch{At: d, Layout: l})
	}
	for _, p := range pauses {
		a, b, ok := strings.Cut(p, "-")
		start, err1 := time.ParseDuration(a)
		end, err2 := time.ParseDuration(b)
		if !ok || err1 != nil || err2 != nil || end <= start {
			return fmt.Errorf("%w: --pause %q (want START-END, e.g. 90s-2m)", errUsage, p)
		}
		mc.Pauses = append(mc.Pauses, mixer.Pause{At: start, Duration: end - start})
	}
	if *wmPath != "" {
		if mc.Output.Watermarks, err = watermark.Load(*wmPath); err != nil {
			return err
		}
	}
	m, err := mixer.New(mc, log)
	if err != nil {
		return err
	}
	log.Debug("mix pipeline", "launch", m.Launch())
	start := time.Now()
	var progress func(mixer.Progress)
	if !*quiet && m.Duration() >= progressMin {
		progress = func(p mixer.Progress) { fmt.Fprintf(mixStderr, "\r%s", progressLine(p)) }
	}
	err = m.Run(ctx, progressEvery, progress)
	if progress != nil {
		fmt.Fprintln(mixStderr)
	}
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "mixed %v of %s in %v (%.1fx real time)\n", m.Duration().Round(time.Millisecond), layout.Name, el.Round(time.Millisecond), m.Duration().Seconds()/el.Seconds())
	for _, f := range m.Outputs() {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	return nil
}

// parseInput reads ROLE=PATH[@OFFSET]; PATH "off" marks a camera that is off.
func parseInput(s string) (mixer.Input, error) {
	role, path, ok := strings.Cut(s, "=")
	if !ok || role == "" || path == "" {
		return mixer.Input{}, fmt.Errorf("%w: --in %q (want ROLE=PATH[@OFFSET])", errUsage, s)
	}
	in := mixer.Input{Role: role}
	if i := strings.LastIndex(path, "@"); i > 0 {
		if d, err := time.ParseDuration(path[i+1:]); err == nil {
			in.Offset, path = d, path[:i]
		}
	}
	if path == "off" {
		in.Off = true
	} else {
		in.Path = path
	}
	return in, nil
}

func applyRoleValues(inputs []mixer.Input, vals []string, flag string, set func(*mixer.Input, string) error) error {
	for _, v := range vals {
		role, val, ok := strings.Cut(v, "=")
		found := false
		for i := range inputs {
			if inputs[i].Role == role {
				found = true
				if err := set(&inputs[i], val); err != nil {
					return fmt.Errorf("%w: %s %q: %v", errUsage, flag, v, err)
				}
			}
		}
		if !ok || !found {
			return fmt.Errorf("%w: %s %q (want ROLE=VALUE for a role given with --in)", errUsage, flag, v)
		}
	}
	return nil
}

// progressLine renders "mix 00:42 / 03:00  23%  2.6x  ETA 00:53".
func progressLine(p mixer.Progress) string {
	pct := 0.0
	if p.Total > 0 {
		pct = 100 * p.Pos.Seconds() / p.Total.Seconds()
	}
	eta := "--:--"
	if p.Speed > 0 {
		eta = clock(p.ETA)
	}
	return fmt.Sprintf("mix %s / %s %3.0f%% %4.1fx ETA %s", clock(p.Pos), clock(p.Total), pct, p.Speed, eta)
}

func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}
