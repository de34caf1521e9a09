// Package gst is Witness's one wrapper around GStreamer (go-gst v1.4). Every
// other package builds media graphs through it, so the threading rules live in
// one place:
//
//   - state changes happen only from Go goroutines owned by a Pipeline, never
//     from GStreamer streaming threads, and each has a timeout;
//   - bus errors become Go errors and warnings become log lines;
//   - a graceful end sends EOS and arms a watchdog; a hard stop sets NULL;
//   - appsink/appsrc bridges move frames between GStreamer and pipeline's Go
//     types without callbacks on streaming threads (sinks are pulled by their
//     own goroutine).
package gst

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// Sentinel errors.
var (
	ErrStateTimeout  = errors.New("gstreamer state change timed out")
	ErrStateChange   = errors.New("gstreamer state change failed")
	ErrEOSTimeout    = errors.New("pipeline frozen: EOS not reached before the watchdog fired")
	ErrParse         = errors.New("invalid pipeline description")
	ErrNoElement     = errors.New("no such element in pipeline")
	ErrMissingPlugin = errors.New("gstreamer element not installed")
	ErrFlow          = errors.New("gstreamer refused data")
	ErrClosed        = errors.New("pipeline closed")
)

// BusError is an ERROR message from the bus: which element, what it said and
// GStreamer's debug detail.
type BusError struct {
	Source  string
	Message string
	Debug   string
}

func (e *BusError) Error() string {
	if e.Debug != "" {
		// Debug strings carry source paths and multi-line detail; keep one line.
		d := strings.ReplaceAll(e.Debug, "\n", " ")
		return fmt.Sprintf("gstreamer error from %s: %s (%s)", e.Source, e.Message, d)
	}
	return fmt.Sprintf("gstreamer error from %s: %s", e.Source, e.Message)
}

var initOnce sync.Once

// Init initialises GStreamer once per process. Every constructor calls it.
func Init() {
	initOnce.Do(func() { gst.Init(nil) })
}

// HasElement reports whether a GStreamer element factory is installed.
func HasElement(name string) bool {
	Init()
	return gst.Find(name) != nil
}

// Require returns ErrMissingPlugin naming every element that is not
// installed, so a missing Debian package is reported before a pipeline is
// half built.
func Require(elements ...string) error {
	var missing []string
	for _, e := range elements {
		if !HasElement(e) {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s (run deploy/setup.sh)", ErrMissingPlugin, strings.Join(missing, ", "))
	}
	return nil
}

// Options tune a Pipeline's lifecycle.
type Options struct {
	StateTimeout time.Duration // limit on each state change; default 15s
	EOSTimeout   time.Duration // watchdog for a graceful end; default 30s
}

func (o Options) withDefaults() Options {
	if o.StateTimeout <= 0 {
		o.StateTimeout = 15 * time.Second
	}
	if o.EOSTimeout <= 0 {
		o.EOSTimeout = 30 * time.Second
	}
	return o
}

func clockTime(d time.Duration) gst.ClockTime { return gst.ClockTime(d.Nanoseconds()) }
