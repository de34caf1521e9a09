package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/witness-media/witness/internal/config"
	"github.com/witness-media/witness/internal/logging"
)

func init() {
	register("config", command{
		summary: "check a config file, or print the effective config (check|print [--config FILE])",
		run:     runConfig,
	})
}

const configUsage = `usage: witness config <check|print> [--config FILE]
  check   load and validate defaults + FILE + WITNESS_* environment; print "config ok"
  print   print the effective config as YAML`

func runConfig(_ context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want a subcommand, check or print", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, configUsage)
		return flag.ErrHelp
	case "check", "print":
	default:
		return fmt.Errorf("%w: unknown subcommand %q, want check or print", errUsage, sub)
	}

	fs := newFlags("config " + sub)
	path := fs.String("config", "", "config file (YAML); empty: defaults and WITNESS_* environment only")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	// The environment is part of the effective config, so check and print
	// see exactly what other commands would run with.
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	if sub == "check" {
		_, err = fmt.Fprintln(stdout, "config ok")
		return err
	}
	out, err := cfg.YAML()
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// loadConfig is how commands start: it loads the config at path (may be
// "") with the process environment, builds the logger it describes on
// stderr (stdout stays free for command output), and makes that logger the
// slog default so that library code logging through slog is masked and
// levelled the same way.
func loadConfig(path string) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		return config.Config{}, nil, err
	}
	log, err := logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		// Validate already checked level and format; this is a bug guard.
		return config.Config{}, nil, fmt.Errorf("config: %w", err)
	}
	slog.SetDefault(log)
	return cfg, log, nil
}
