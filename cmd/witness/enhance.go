package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/witness-media/witness/enhance"
	_ "github.com/witness-media/witness/enhance/audio" // registers denoise, voice
	_ "github.com/witness-media/witness/enhance/video" // registers the picture stages
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
)

func init() {
	register("enhance", command{
		summary: "run an audio enhancement stage (denoise, voice) over a file into a WAV",
		run:     runEnhance,
	})
}

// runEnhance: witness enhance [--stage denoise] [--params YAML] [--rate HZ] IN OUT.wav
// The input is decoded by GStreamer (any audio or video file with sound),
// processed in 10 ms-sized buffers exactly as live, and written as WAV to
// OUT.part, renamed on success; the input is never touched. The report of
// what was applied is printed as JSON.
func runEnhance(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("enhance")
	stage := fs.String("stage", "denoise", "audio stage to run: denoise or voice")
	params := fs.String("params", "", "stage params as YAML/JSON, e.g. '{engine: webrtc, level: high}'")
	rate := fs.Int("rate", 48000, "sample rate to process at (webrtc needs 8000, 16000, 32000 or 48000)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want IN OUT.wav: witness enhance [--stage S] [--params YAML] IN OUT.wav", errUsage)
	}
	in, out := fs.Arg(0), fs.Arg(1)
	if *stage != "denoise" && *stage != "voice" {
		return fmt.Errorf("%w: --stage %q (denoise or voice)", errUsage, *stage)
	}
	var p pipeline.Params
	if *params != "" {
		if err := yaml.Unmarshal([]byte(*params), &p); err != nil {
			return fmt.Errorf("%w: --params: %v", errUsage, err)
		}
	}
	if _, err := os.Stat(in); err != nil {
		return err
	}
	st, err := pipeline.NewStage(*stage, p)
	if err != nil {
		// YAML errors span lines; main prints one.
		return fmt.Errorf("%w: %s", errUsage, strings.ReplaceAll(err.Error(), "\n", ";"))
	}
	if err := enhanceFile(ctx, in, out, *rate, st); err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]any{"input": in, "output": out, "applied": enhance.Report(st)})
	fmt.Fprintln(stdout, string(b))
	if f, ok := st.(interface{ Err() error }); ok && f.Err() != nil {
		// The stage failed open: the file is complete but partly unprocessed.
		return fmt.Errorf("%s written partly unprocessed: %w", out, f.Err())
	}
	return nil
}

func enhanceFile(ctx context.Context, in, out string, rate int, st pipeline.Stage) error {
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	dec, err := gst.NewFromLaunch("enhance-in", "filesrc location="+quote(in)+" ! decodebin ! audioconvert ! audioresample ! "+
		fmt.Sprintf("audio/x-raw,format=S16LE,layout=interleaved,rate=%d ! appsink name=a sync=false", rate), gst.Options{}, nil)
	if err != nil {
		return err
	}
	defer dec.Close()
	part := out + ".part"
	enc, err := gst.NewFromLaunch("enhance-out", "appsrc name=o format=time ! audioconvert ! wavenc ! filesink location="+quote(part), gst.Options{}, nil)
	if err != nil {
		return err
	}
	defer enc.Close()
	sink, err := dec.Sink("a")
	if err != nil {
		return err
	}
	src, err := enc.Src("o", 0)
	if err != nil {
		return err
	}
	g := pipeline.NewGraph("enhance", nil)
	for _, e := range []error{
		g.AddSource("decode", sink),
		g.AddStage("enhance", st, pipeline.InputOptions{Block: true}),
		g.AddStage("encode", src, pipeline.InputOptions{Block: true}),
		g.Connect("decode", "enhance"),
		g.Connect("enhance", "encode"),
	} {
		if e != nil {
			return e
		}
	}
	if err := enc.Start(ctx); err != nil {
		return err
	}
	if err := dec.Start(ctx); err != nil {
		return err
	}
	if err := g.Run(ctx); err != nil {
		os.Remove(part)
		return err
	}
	if sink.Frames() == 0 {
		os.Remove(part)
		return fmt.Errorf("%s: no audio decoded", in)
	}
	if err := enc.Wait(ctx); err != nil {
		os.Remove(part)
		return err
	}
	if err := errors.Join(enc.Stop(ctx), dec.Stop(ctx)); err != nil {
		os.Remove(part)
		return err
	}
	return os.Rename(part, out)
}
