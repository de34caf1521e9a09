package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/witness-media/witness/internal/demo"
	"github.com/witness-media/witness/pipeline/av"
	"github.com/witness-media/witness/pipeline/gst"
)

func init() {
	register("demo", command{
		summary: "generate two synthetic participants, run them through the pipeline core, write a playable MP4",
		run:     runDemo,
	})
}

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("demo")
	cfgPath := fs.String("config", "", "config file (YAML)")
	width := fs.Int("width", 0, "composite width (default from config)")
	height := fs.Int("height", 0, "composite height (default from config)")
	fps := fs.Int("fps", 0, "frames per second (default from config)")
	dur := fs.Duration("duration", 0, "length of the recording (default from config)")
	out := fs.String("out", "", "output MP4 (default <data_dir>/demo.mp4)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, log, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	o := demo.Options{
		Width: cfg.Demo.Width, Height: cfg.Demo.Height, FPS: cfg.Demo.FPS, Duration: cfg.Demo.Duration,
		Output: cfg.DemoOutput(), QueueSize: cfg.Pipeline.QueueSize,
		GST: gst.Options{StateTimeout: cfg.Pipeline.StateTimeout, EOSTimeout: cfg.Pipeline.EOSTimeout},
	}
	if *width > 0 {
		o.Width = *width
	}
	if *height > 0 {
		o.Height = *height
	}
	if *fps > 0 {
		o.FPS = *fps
	}
	if *dur > 0 {
		o.Duration = *dur
	}
	if *out != "" {
		o.Output = *out
	}
	start := time.Now()
	res, err := demo.Run(ctx, o, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s in %v (%d video frames, %d audio blocks through the pipeline core)\n",
		res.Output, time.Since(start).Round(time.Millisecond), res.VideoFrames, res.AudioBlocks)
	info, err := av.Probe(res.Output)
	if err != nil {
		return fmt.Errorf("probe of the demo output: %w", err)
	}
	fmt.Fprintln(stdout, info.Summary())
	fmt.Fprintf(stdout, "events: %d\n", len(res.Events))
	for _, e := range res.Events {
		fmt.Fprintf(stdout, "  %-12s %-8s at %v participant=%s %s\n", e.Kind, e.Severity, e.MediaTime, e.Participant, e.Data)
	}
	for _, s := range res.Stats {
		if s.Dropped > 0 {
			fmt.Fprintf(stdout, "  stage %s dropped %d of %d packets (analysis only; recording edges never drop)\n", s.Name, s.Dropped, s.Queued)
		}
	}
	return nil
}
