package av

import (
	"fmt"
	"strings"
	"time"
)

// maxErrors bounds Stats.Errors; ErrorCount keeps counting past it.
const maxErrors = 256

// Stats is what a decode run saw: enough for a QC pass to judge a recording
// without decoding it again. Times are from the file's start, like frame PTS.
type Stats struct {
	Streams []StreamStats `json:"streams"` // every stream in the file, by index
	// Errors lists the first packets that failed to read or decode;
	// ErrorCount counts all of them.
	Errors     []DecodeError `json:"errors,omitempty"`
	ErrorCount int           `json:"error_count"`
	ReadErrors int           `json:"read_errors"` // demuxer errors (included in ErrorCount)
	// FFmpegErrors counts error lines FFmpeg's demuxer logged for this file;
	// decoder lines are counted per stream.
	FFmpegErrors int `json:"ffmpeg_errors"`
	// Messages holds the first FFmpeg warnings and errors for this file.
	Messages []LogMessage `json:"messages,omitempty"`
	// PrematureEnd is set when the data stopped before the container said it
	// would (a truncated upload, a recorder that died); EndReason says why.
	PrematureEnd bool   `json:"premature_end"`
	EndReason    string `json:"end_reason,omitempty"`
	// Duration is what the container declares, Reached the end of the last
	// packet actually read.
	Duration time.Duration `json:"duration_ns"`
	Reached  time.Duration `json:"reached_ns"`
	// Done is set once the decoder has read to the end (or given up there).
	Done bool `json:"done"`
}

// StreamStats counts one stream.
type StreamStats struct {
	Index   int       `json:"index"`
	Type    MediaType `json:"type"`
	Codec   string    `json:"codec"`
	Decoded bool      `json:"decoded"`           // frames were produced for it
	Skipped string    `json:"skipped,omitempty"` // why a selected stream is not decoded
	Packets int64     `json:"packets"`
	// CorruptPackets were flagged damaged by the demuxer (still decoded).
	CorruptPackets int64 `json:"corrupt_packets,omitempty"`
	Frames         int64 `json:"frames"`
	// DamagedFrames were produced with concealed errors (still delivered).
	DamagedFrames int64 `json:"damaged_frames,omitempty"`
	Errors        int64 `json:"errors"` // packets or frames that failed to decode
	// FFmpegErrors and FFmpegWarnings count lines the decoder logged, e.g.
	// H.264 "error while decoding MB" when it conceals damage.
	FFmpegErrors   int `json:"ffmpeg_errors,omitempty"`
	FFmpegWarnings int `json:"ffmpeg_warnings,omitempty"`
	// LastPTS is the PTS of the last decoded frame; End the end time of the
	// last packet read (PTS + duration).
	LastPTS time.Duration `json:"last_pts_ns"`
	End     time.Duration `json:"end_ns"`
}

// DecodeError is one packet (or read) that failed. It matches ErrCorrupt.
type DecodeError struct {
	Stream int           `json:"stream"` // -1: the demuxer
	PTS    time.Duration `json:"pts_ns"` // where it happened (best known)
	Err    string        `json:"error"`
}

func (e DecodeError) Error() string {
	if e.Stream < 0 {
		return fmt.Sprintf("read error at %s: %s", e.PTS, e.Err)
	}
	return fmt.Sprintf("stream %d at %s: %s", e.Stream, e.PTS, e.Err)
}

// Unwrap makes errors.Is(e, ErrCorrupt) true.
func (e DecodeError) Unwrap() error { return ErrCorrupt }

// LogMessage is one line FFmpeg logged about a file.
type LogMessage struct {
	Stream int    `json:"stream"` // -1: the demuxer
	Level  string `json:"level"`  // "warning" or "error"
	Text   string `json:"text"`
}

// Stream returns the stats of stream index, or nil.
func (s *Stats) Stream(index int) *StreamStats {
	if index < 0 || index >= len(s.Streams) {
		return nil
	}
	return &s.Streams[index]
}

// Summary is a compact human description of the run, one line per stream
// plus one for errors and the end, e.g.
//
//	video #0 h264: 50 packets, 50 frames, 0 errors, last 1.960s
func (s *Stats) Summary() string {
	var b strings.Builder
	for i := range s.Streams {
		st := &s.Streams[i]
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s #%d %s: %d packets", st.Type, st.Index, st.Codec, st.Packets)
		switch {
		case st.Skipped != "":
			fmt.Fprintf(&b, ", skipped (%s)", st.Skipped)
		case st.Decoded:
			fmt.Fprintf(&b, ", %d frames, %d errors, last %.3fs", st.Frames, st.Errors, st.LastPTS.Seconds())
			if st.DamagedFrames > 0 {
				fmt.Fprintf(&b, ", %d damaged frames", st.DamagedFrames)
			}
			if st.FFmpegErrors > 0 {
				fmt.Fprintf(&b, ", %d decoder error lines", st.FFmpegErrors)
			}
		default:
			b.WriteString(", not decoded")
		}
	}
	fmt.Fprintf(&b, "\n%d errors (%d read), reached %.3fs of %.3fs", s.ErrorCount, s.ReadErrors,
		s.Reached.Seconds(), s.Duration.Seconds())
	if s.PrematureEnd {
		fmt.Fprintf(&b, "; PREMATURE END: %s", s.EndReason)
	}
	return b.String()
}

// clone deep-copies s so callers can keep it while decoding goes on.
func (s *Stats) clone() *Stats {
	c := *s
	c.Streams = append([]StreamStats(nil), s.Streams...)
	c.Errors = append([]DecodeError(nil), s.Errors...)
	c.Messages = append([]LogMessage(nil), s.Messages...)
	return &c
}
