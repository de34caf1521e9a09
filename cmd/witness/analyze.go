package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/face"
	_ "github.com/witness-media/witness/analyzers/idmatch"
	_ "github.com/witness-media/witness/analyzers/light"
	_ "github.com/witness-media/witness/analyzers/liveness"
	"github.com/witness-media/witness/analyzers/natsplugin"
	_ "github.com/witness-media/witness/analyzers/occlusion"
	"github.com/witness-media/witness/analyzers/offline"
	"github.com/witness-media/witness/analyzers/onnxslot"
	_ "github.com/witness-media/witness/analyzers/voiceprint"
	"github.com/witness-media/witness/markers"
	"github.com/witness-media/witness/pipeline"
)

func init() {
	register("analyze", command{
		summary: "run the analyzers over a recording; print events, write marker sidecars (--json, --vtt, --ffmeta)",
		run:     runAnalyze,
	})
}

// runAnalyze: witness analyze FILE [--analyzers face,light,...] [--profile YAML]
// [--json OUT] [--vtt OUT] [--ffmeta OUT] [--fps N] [--onnx-dir DIR] [--nats URL]
func runAnalyze(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("analyze")
	names := fs.String("analyzers", "face,light,occlusion", "comma-separated analyzers (registered: "+strings.Join(analyzers.Names(), ", ")+")")
	profile := fs.String("profile", "", "business profile YAML (analyzers with params); overrides --analyzers (default analyzers.profile)")
	jsonOut := fs.String("json", "", "write the marker sidecar JSON here")
	vttOut := fs.String("vtt", "", "write WebVTT chapters here")
	metaOut := fs.String("ffmeta", "", "write an FFmpeg chapter metadata file here")
	fps := fs.Float64("fps", 5, "frames per second each analyzer sees (with --analyzers)")
	onnxDir := fs.String("onnx-dir", "", "load no-code ONNX analyzers from the YAML manifests in this directory first (default analyzers.onnx_dir)")
	cfgPath := fs.String("config", "", "config file (YAML)")
	natsURL := fs.String("nats", "", "NATS server for out-of-process plugins (the nats analyzer), e.g. nats://127.0.0.1:4222")
	var files []string
	rest := args
	for {
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		return fmt.Errorf("%w: want one file: witness analyze FILE [--analyzers face,light] [--json OUT]", errUsage)
	}
	cfg, _, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *onnxDir == "" {
		*onnxDir = cfg.Analyzers.ONNXDir
	}
	if *profile == "" && !flagSet(fs, "analyzers") {
		*profile = cfg.Analyzers.Profile
	}
	if *natsURL != "" {
		nc, err := nats.Connect(*natsURL, nats.Name("witness analyze"))
		if err != nil {
			return fmt.Errorf("nats %s: %w", *natsURL, err)
		}
		defer nc.Close()
		natsplugin.SetConn(nc)
	}
	if *onnxDir != "" {
		if _, err := onnxslot.LoadDir(*onnxDir); err != nil {
			return err
		}
	}
	var prof *analyzers.Profile
	if *profile != "" {
		b, err := os.ReadFile(*profile)
		if err != nil {
			return err
		}
		if prof, err = analyzers.ParseProfile(b); err != nil {
			return fmt.Errorf("%w: %s: %v", errUsage, *profile, err)
		}
	} else {
		prof = &analyzers.Profile{}
		for _, n := range strings.Split(*names, ",") {
			if n = strings.TrimSpace(n); n != "" {
				prof.Analyzers = append(prof.Analyzers, analyzers.Spec{Name: n, FPS: *fps})
			}
		}
		if err := prof.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	rec := strings.TrimSuffix(filepath.Base(files[0]), filepath.Ext(files[0]))
	res, err := offline.Analyze(ctx, files[0], offline.Options{Profile: prof,
		Session: analyzers.Session{Tenant: "offline", Room: rec, Participant: "customer"},
		OnEvent: func(e pipeline.Event) {
			fmt.Fprintf(stdout, "%9.2fs  %-22s %-8s %s\n", e.MediaTime.Seconds(), e.Kind, e.Severity, e.Data)
		}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d frames, %d events, analysed %v\n", files[0], res.Frames, len(res.Events), res.Analysed)
	ms := make([]markers.Marker, 0, len(res.Events))
	for _, e := range res.Events {
		ms = append(ms, markers.FromEvent(rec, e))
	}
	write := func(path string, fn func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(*jsonOut, func(w io.Writer) error { return markers.WriteSidecar(w, rec, res.Duration, ms) }); err != nil {
		return err
	}
	if err := write(*vttOut, func(w io.Writer) error { return markers.WriteWebVTT(w, ms, res.Duration) }); err != nil {
		return err
	}
	return write(*metaOut, func(w io.Writer) error { return markers.WriteFFMetadata(w, ms, res.Duration) })
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
