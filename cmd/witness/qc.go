package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/witness-media/witness/qc"
)

// Exit codes of witness qc (0 is pass). Usage and policy errors exit 2
// through errUsage; a failing verdict or an unreadable file exits 1.
const (
	exitFail = 1
	exitWarn = 3
)

func init() {
	register("qc", command{
		summary: "quality-check recordings: integrity, parameters, picture, sound, A/V sync (exit 0 pass, 3 warn, 1 fail)",
		run: func(ctx context.Context, args []string, stdout io.Writer) error {
			return runQC(ctx, args, stdout, os.Stderr)
		},
	})
}

// verdictExit carries a non-pass outcome to the exit code.
type verdictExit struct {
	code int
	msg  string
}

func (e *verdictExit) Error() string { return e.msg }

// ExitCode makes runMain exit with the verdict's code (3 warn, 1 fail).
func (e *verdictExit) ExitCode() int { return e.code }

const qcUsage = "witness qc [--policy FILE] [--json DIR] [--html DIR] [--workers N] [--threads N] [--progress=true|false] FILE..."

// runQC: witness qc FILE... Every file is checked (bounded workers) even when
// some fail; each gets one summary line and its findings on stdout, and the
// reports go to --json / --html directories. The returned error decides the
// exit code: nil for all pass, *verdictExit for warn or fail, the first
// read error for unreadable files, errUsage for bad flags or policy.
func runQC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("qc")
	policyPath := fs.String("policy", "", "QC policy (YAML); empty: built-in defaults")
	jsonDir := fs.String("json", "", "write FILE.qc.json reports into this directory")
	htmlDir := fs.String("html", "", "write FILE.qc.html reports into this directory")
	workers := fs.Int("workers", 0, "files checked in parallel (0: one per CPU, at most the number of files)")
	threads := fs.Int("threads", 0, "decoder threads per file (0: CPUs divided among the workers)")
	progress := fs.Bool("progress", isTerminal(stderr), "show a progress bar on stderr (default: when stderr is a terminal)")
	configPath := fs.String("config", "", "config file (YAML) for logging")
	// Flags may follow file names: parse, take one file, parse the rest.
	var files []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: %s", errUsage, qcUsage)
	}
	if *workers < 0 || *threads < 0 {
		return fmt.Errorf("%w: --workers and --threads must not be negative", errUsage)
	}
	if _, _, err := loadConfig(*configPath); err != nil {
		return err
	}
	policy := qc.DefaultPolicy()
	if *policyPath != "" {
		p, err := qc.LoadPolicy(*policyPath)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		policy = p
	}
	for _, dir := range []string{*jsonDir, *htmlDir} {
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
		}
	}
	n := *workers
	if n == 0 {
		n = runtime.NumCPU()
	}
	n = min(n, len(files))
	th := *threads
	if th == 0 {
		th = max(1, runtime.NumCPU()/n)
	}

	names := outputNames(files)
	bar := newProgressBar(stderr, len(files), *progress)
	out := &lockedWriter{w: stdout, before: bar.clear, after: bar.draw, mu: &bar.mu}
	type result struct {
		rep *qc.Report
		err error
	}
	results := make([]result, len(files))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				opts := qc.Options{Threads: th, Progress: func(done, total time.Duration) { bar.update(i, done, total) }}
				rep, err := qc.CheckWith(ctx, files[i], policy, opts)
				if err == nil {
					err = writeReports(rep, names[i], *jsonDir, *htmlDir)
				}
				results[i] = result{rep, err}
				bar.finish(i)
				out.print(formatResult(files[i], rep, err))
			}
		}()
	}
	for i := range files {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	bar.clear()

	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	var firstErr error
	errs, failed, warned := 0, 0, 0
	var failedNames []string
	for i, r := range results {
		switch {
		case r.err != nil:
			errs++
			if firstErr == nil {
				firstErr = r.err
			}
		case r.rep.Verdict == qc.Fail:
			failed++
			failedNames = append(failedNames, filepath.Base(files[i]))
		case r.rep.Verdict == qc.Warn:
			warned++
		}
	}
	switch {
	case errs > 0 && errs == 1 && failed == 0:
		return firstErr
	case errs > 0:
		return fmt.Errorf("%w (%d files could not be checked, %d failed QC)", firstErr, errs, failed)
	case failed > 0:
		return &verdictExit{code: exitFail, msg: fmt.Sprintf("QC failed: %d of %d files (%s)", failed, len(files),
			strings.Join(failedNames, ", "))}
	case warned > 0:
		// Warnings are listed on stdout; the exit code alone carries them.
		return &verdictExit{code: exitWarn}
	}
	return nil
}

// formatResult is the summary line of one file and a line per finding.
func formatResult(path string, rep *qc.Report, err error) string {
	if err != nil {
		return fmt.Sprintf("ERROR %s: %v\n", filepath.Base(path), oneLine(err))
	}
	var b strings.Builder
	b.WriteString(rep.Summary())
	b.WriteByte('\n')
	for i := range rep.Findings {
		f := &rep.Findings[i]
		fmt.Fprintf(&b, "  %s (measured %.4g %s, threshold %.4g)\n", f.String(), f.Value, f.Unit, f.Threshold)
	}
	if rep.Dropped > 0 {
		fmt.Fprintf(&b, "  ... %d more findings\n", rep.Dropped)
	}
	return b.String()
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// outputNames gives each input a report base name (its file name), adding
// "-2", "-3", ... when several inputs share one.
func outputNames(files []string) []string {
	seen := map[string]int{}
	out := make([]string, len(files))
	for i, f := range files {
		base := filepath.Base(f)
		seen[base]++
		if n := seen[base]; n > 1 {
			base = fmt.Sprintf("%s-%d", base, n)
		}
		out[i] = base
	}
	return out
}

// writeReports writes the JSON and HTML reports, each atomically (a reader
// never sees half a report).
func writeReports(rep *qc.Report, name, jsonDir, htmlDir string) error {
	if jsonDir != "" {
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(jsonDir, name+".qc.json"), func(w io.Writer) error {
			_, err := w.Write(append(b, '\n'))
			return err
		}); err != nil {
			return err
		}
	}
	if htmlDir != "" {
		return writeAtomic(filepath.Join(htmlDir, name+".qc.html"), rep.WriteHTML)
	}
	return nil
}

func writeAtomic(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".qc-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// lockedWriter prints whole results between progress-bar redraws, so the
// bar on stderr and the results on stdout do not tear each other's lines
// on a shared terminal.
type lockedWriter struct {
	w             io.Writer
	mu            *sync.Mutex
	before, after func()
}

func (l *lockedWriter) print(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.before()
	io.WriteString(l.w, s)
	l.after()
}

// progressBar draws "qc [#####-----] 42% 1/3 files" on one line of stderr.
// Callers other than lockedWriter hold no lock: update, finish and clear
// take mu themselves; draw and the clear passed to lockedWriter run under it.
type progressBar struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	files   int
	done    int
	frac    map[int]float64
	last    time.Time
	showing bool
}

func newProgressBar(w io.Writer, files int, on bool) *progressBar {
	return &progressBar{w: w, on: on, files: files, frac: map[int]float64{}}
}

func (p *progressBar) update(i int, done, total time.Duration) {
	if !p.on || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frac[i] = min(1, done.Seconds()/total.Seconds())
	if time.Since(p.last) >= 100*time.Millisecond {
		p.draw()
	}
}

func (p *progressBar) finish(i int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.frac, i)
	p.done++
}

// draw renders the bar; mu must be held.
func (p *progressBar) draw() {
	if !p.on || p.done >= p.files {
		return
	}
	sum := float64(p.done)
	for _, f := range p.frac {
		sum += f
	}
	pct := sum / float64(p.files)
	const width = 30
	fill := int(pct * width)
	fmt.Fprintf(p.w, "\r\033[Kqc [%s%s] %3.0f%% %d/%d files", strings.Repeat("#", fill), strings.Repeat("-", width-fill),
		pct*100, p.done, p.files)
	p.showing = true
	p.last = time.Now()
}

// clear erases the bar; called with mu held (from lockedWriter) or alone
// at the end.
func (p *progressBar) clear() {
	if p.showing {
		fmt.Fprint(p.w, "\r\033[K")
		p.showing = false
	}
}
