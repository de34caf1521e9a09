package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
)

func init() {
	register("probe", command{
		summary: "describe media files: container, streams, durations (--json for machines)",
		run:     runProbe,
	})
	register("decode", command{
		summary: "decode a media file completely; report frames, errors and time taken",
		run:     runDecode,
	})
}

// runProbe: witness probe [--json] FILE...
// Every file is probed even when one fails; the first failure is returned.
func runProbe(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("probe")
	asJSON := fs.Bool("json", false, "print one JSON object per file instead of a summary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: want at least one file: witness probe [--json] FILE", errUsage)
	}
	var first error
	failed := 0
	for i, path := range fs.Args() {
		info, err := av.Probe(path)
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
			continue
		}
		if *asJSON {
			b, err := json.MarshalIndent(info, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintln(stdout, info.Summary())
	}
	if failed > 1 {
		return fmt.Errorf("%w (and %d more files failed)", first, failed-1)
	}
	return first
}

// decodeFormats are the --format values decode accepts.
var decodeFormats = map[string]pipeline.PixelFormat{
	"RGBA": pipeline.PixelRGBA, "RGB": pipeline.PixelRGB,
	"GRAY8": pipeline.PixelGray, "GRAY": pipeline.PixelGray, "I420": pipeline.PixelI420,
}

// runDecode: witness decode [--format RGBA|RGB|GRAY8|I420] [--threads N] [--json] FILE
// It exits non-zero only when the file cannot be decoded at all; damage is
// reported in the output (decode errors, premature end).
func runDecode(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("decode")
	format := fs.String("format", "RGBA", "pixel format to convert pictures to: RGBA, RGB, GRAY8 or I420")
	threads := fs.Int("threads", 0, "threads per video decoder (0: FFmpeg picks from the CPU count)")
	asJSON := fs.Bool("json", false, "print the decode statistics as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: witness decode [--format RGBA|RGB|GRAY8|I420] [--threads N] [--json] FILE", errUsage)
	}
	pf, ok := decodeFormats[strings.ToUpper(*format)]
	if !ok {
		return fmt.Errorf("%w: --format %q: want RGBA, RGB, GRAY8 or I420", errUsage, *format)
	}
	if *threads < 0 {
		return fmt.Errorf("%w: --threads %d", errUsage, *threads)
	}
	path := fs.Arg(0)
	start := time.Now()
	st, err := av.Decode(ctx, path, av.Options{VideoFormat: pf, Threads: *threads}, nil)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	var frames int64
	for _, s := range st.Streams {
		frames += s.Frames
	}
	fmt.Fprintln(stdout, st.Summary())
	const shown = 10
	for i, e := range st.Errors {
		if i == shown {
			fmt.Fprintf(stdout, "  ... %d more errors\n", st.ErrorCount-shown)
			break
		}
		fmt.Fprintf(stdout, "  error: %v\n", e)
	}
	fmt.Fprintf(stdout, "decoded %d frames to %s in %v (%.0f frames/s)\n", frames, pf,
		elapsed.Round(time.Millisecond), float64(frames)/max(elapsed.Seconds(), 1e-9))
	return nil
}
