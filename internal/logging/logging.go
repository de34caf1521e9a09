// Package logging builds Witness's slog loggers. Every logger it makes masks
// secrets: Witness runs inside banks, and a DSN, token or key that reaches a
// log file is a reportable incident, so redaction is applied in the handler,
// where no call site can forget it.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats accepted by [New].
const (
	FormatText = "text" // slog.TextHandler: key=value, for people
	FormatJSON = "json" // slog.JSONHandler: one object per line, for collectors
)

// New returns a logger writing to w at the given level (debug, info, warn or
// error) and format (text or json), with secret masking installed (see
// [ReplaceAttr]).
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: ReplaceAttr}
	switch format {
	case FormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("%w %q: want %s or %s", ErrFormat, format, FormatText, FormatJSON)
	}
}

// ParseLevel maps debug, info, warn or error to its slog level. It is
// stricter than slog.Level.UnmarshalText (no "INFO+2", no "warning") so that
// a config value means exactly one thing.
func ParseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%w %q: want debug, info, warn or error", ErrLevel, s)
}

// CheckFormat reports whether format is one [New] accepts, so config
// validation can fail before any logger is built.
func CheckFormat(format string) error {
	if format == FormatText || format == FormatJSON {
		return nil
	}
	return fmt.Errorf("%w %q: want %s or %s", ErrFormat, format, FormatText, FormatJSON)
}

// ReplaceAttr is the slog.HandlerOptions.ReplaceAttr that [New] installs;
// export it so handlers built elsewhere (tests, other sinks) mask the same
// way. It replaces with "***" the value of any attribute whose key, or any
// enclosing group's name, looks sensitive (see [SensitiveKey]), and hides
// credentials inside URLs and DSNs in every other string or error value.
func ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	// The handler's own attributes have fixed keys that are never
	// sensitive, but a formatted message may still quote a DSN.
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.SourceKey:
			return a
		case slog.MessageKey:
			if s := a.Value.String(); mayHoldCredentials(s) {
				return slog.String(a.Key, MaskURL(s))
			}
			return a
		}
	}
	if SensitiveKey(a.Key) {
		return slog.String(a.Key, masked)
	}
	for _, g := range groups {
		// slog.Group("credentials", "user", u, "pass", p): the members
		// inherit the group's sensitivity.
		if SensitiveKey(g) {
			return slog.String(a.Key, masked)
		}
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); mayHoldCredentials(s) {
			return slog.String(a.Key, MaskURL(s))
		}
	case slog.KindAny:
		// Driver errors often quote the DSN they failed to dial.
		if err, ok := a.Value.Any().(error); ok && err != nil {
			if s := err.Error(); mayHoldCredentials(s) {
				if m := MaskURL(s); m != s {
					return slog.String(a.Key, m)
				}
			}
		}
	}
	return a
}

// mayHoldCredentials is a cheap pre-check so that MaskURL's regular
// expressions run only on strings that could contain a URL or a DSN.
func mayHoldCredentials(s string) bool {
	return strings.Contains(s, "://") || strings.Contains(s, "=")
}
