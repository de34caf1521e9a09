package av

// #include "helpers.h"
import "C"

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

var (
	logger atomic.Pointer[slog.Logger]
	// logTargets maps the address of an AVFormatContext or AVCodecContext
	// owned by an open Decoder to where its messages are counted.
	logTargets sync.Map // uintptr -> *logTarget
)

// SetLogger routes FFmpeg's own log through l: FFmpeg info lines at debug
// level, warnings and errors at warn level. With nil (the default) they are
// dropped, which keeps a terminal quiet while damaged files are decoded; the
// Decoder still counts FFmpeg's errors per stream in Stats either way.
func SetLogger(l *slog.Logger) {
	installLog()
	logger.Store(l)
	// Warnings and errors always cross into Go so they can be counted;
	// info lines only when someone will read them (formatting costs).
	level := C.AV_LOG_WARNING
	if l != nil && l.Enabled(context.Background(), slog.LevelDebug) {
		level = C.AV_LOG_INFO
	}
	C.witness_set_forward_level(C.int(level))
}

// installLog replaces FFmpeg's default stderr logger with ours. It runs
// before every open, not just once: gst-libav (GStreamer's FFmpeg plugin,
// loaded in the same process) installs its own callback when it loads, and
// per-stream error counts depend on ours being the one in place. Setting the
// pointer again is cheap and harmless.
func installLog() {
	C.witness_install_log_callback()
}

func ffmpegLevelName(level int) string {
	switch {
	case level <= C.AV_LOG_FATAL:
		return "fatal"
	case level <= C.AV_LOG_ERROR:
		return "error"
	case level <= C.AV_LOG_WARNING:
		return "warning"
	case level <= C.AV_LOG_INFO:
		return "info"
	}
	return "verbose"
}

// witnessAVLog receives every forwarded FFmpeg line, possibly on one of
// FFmpeg's own threads. It must not block for long or call back into FFmpeg.
//
//export witnessAVLog
func witnessAVLog(key C.uintptr_t, level C.int, item, msg *C.char) {
	text, complete := joinLine(uintptr(key), C.GoString(msg))
	if !complete || text == "" {
		return
	}
	lvl := int(level)
	component := C.GoString(item)
	var target *logTarget
	if v, ok := logTargets.Load(uintptr(key)); ok {
		target = v.(*logTarget)
		target.note(lvl, text)
	}
	l := logger.Load()
	if l == nil {
		return
	}
	slvl := slog.LevelDebug
	if lvl <= C.AV_LOG_WARNING {
		slvl = slog.LevelWarn
	}
	ctx := context.Background()
	if !l.Enabled(ctx, slvl) {
		return
	}
	attrs := []any{"component", component, "ffmpeg_level", ffmpegLevelName(lvl)}
	if target != nil {
		attrs = append(attrs, "file", target.book.path)
		if target.stream >= 0 {
			attrs = append(attrs, "stream", target.stream)
		}
	}
	l.Log(ctx, slvl, "ffmpeg: "+text, attrs...)
}

var (
	partialMu sync.Mutex
	partial   = map[uintptr]string{} // started lines without their newline yet
)

// joinLine assembles lines FFmpeg logs in pieces ("Packet corrupt (...)"
// then "."): a piece without a trailing newline is held until the rest of
// the line arrives from the same object.
func joinLine(key uintptr, msg string) (string, bool) {
	partialMu.Lock()
	defer partialMu.Unlock()
	if prev, ok := partial[key]; ok {
		msg = prev + msg
		delete(partial, key)
	}
	if !strings.HasSuffix(msg, "\n") && len(msg) < 1024 {
		if len(partial) > 256 { // objects that never finished a line
			clear(partial)
		}
		partial[key] = msg
		return "", false
	}
	return strings.TrimSpace(msg), true
}

// logTarget says which file and stream (-1: the demuxer) a context serves.
type logTarget struct {
	book   *logBook
	stream int
}

func (t *logTarget) note(level int, text string) {
	t.book.note(t.stream, level, text)
}

// maxMessages bounds the FFmpeg lines kept per file: a badly damaged
// recording can produce one per packet.
const maxMessages = 32

// logBook collects the FFmpeg warnings and errors of one open file.
type logBook struct {
	path     string
	mu       sync.Mutex
	errors   map[int]int // stream (-1 demuxer) -> error lines
	warnings map[int]int
	messages []LogMessage
	dropped  int
}

func newLogBook(path string) *logBook {
	return &logBook{path: path, errors: map[int]int{}, warnings: map[int]int{}}
}

func (b *logBook) note(stream, level int, text string) {
	if level > C.AV_LOG_WARNING {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	name := "warning"
	if level <= C.AV_LOG_ERROR {
		b.errors[stream]++
		name = "error"
	} else {
		b.warnings[stream]++
	}
	if len(b.messages) < maxMessages {
		b.messages = append(b.messages, LogMessage{Stream: stream, Level: name, Text: text})
	} else {
		b.dropped++
	}
}

// register attributes messages logged by the C object at addr to stream.
func (b *logBook) register(addr uintptr, stream int) {
	if addr != 0 {
		logTargets.Store(addr, &logTarget{book: b, stream: stream})
	}
}

func unregisterLog(addr uintptr) {
	if addr != 0 {
		logTargets.Delete(addr)
		partialMu.Lock()
		delete(partial, addr)
		partialMu.Unlock()
	}
}
