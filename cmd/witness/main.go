// Command witness is the one Witness binary. Each subcommand lives in its own
// file and registers itself in init, so wiring stays here and logic stays in
// the library packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run receives the arguments after the command
// name and returns an error; main prints it as one line and exits non-zero.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = map[string]command{}

func register(name string, c command) {
	if _, dup := commands[name]; dup {
		panic("witness: command registered twice: " + name)
	}
	commands[name] = c
}

// errUsage marks errors caused by how the command was called (exit code 2).
var errUsage = errors.New("usage")

// exitCoder lets a command's error choose its exit code (e.g. qc's 3 for a
// warning verdict); other errors exit 1, usage errors 2.
type exitCoder interface{ ExitCode() int }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: witness <command> [flags] [args]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "witness: unknown command %q (run 'witness help')\n", args[0])
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.run(ctx, args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if msg := err.Error(); msg != "" { // an outcome such as a QC warning carries no message
			fmt.Fprintf(stderr, "witness %s: %s\n", args[0], msg)
		}
		var ec exitCoder
		switch {
		case errors.As(err, &ec):
			return ec.ExitCode()
		case errors.Is(err, errUsage):
			return 2
		}
		return 1
	}
	return 0
}

// newFlags returns a FlagSet that reports errors instead of exiting, so every
// failure goes through runMain's one-line error path.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("witness "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and wraps flag errors as usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
