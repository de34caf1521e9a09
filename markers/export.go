package markers

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Episodes folds "<kind>" / "<kind>.end" marker pairs of the same
// participant into one marker with End set (the form players show as a
// chapter); unmatched ends are dropped, unmatched starts run to the end.
func Episodes(ms []Marker, duration time.Duration) []Marker {
	sorted := append([]Marker(nil), ms...)
	sortMarkers(sorted)
	var out []Marker
	open := map[string]int{} // kind|participant -> index in out
	for _, m := range sorted {
		if base, ok := strings.CutSuffix(m.Kind, ".end"); ok && m.Source != "manual" {
			if i, ok := open[base+"|"+m.Participant]; ok {
				out[i].End = m.At
				delete(open, base+"|"+m.Participant)
			}
			continue
		}
		out = append(out, m)
		if m.End == 0 && m.Kind != "manual" {
			open[m.Kind+"|"+m.Participant] = len(out) - 1
		}
	}
	for _, i := range open {
		if duration > out[i].At {
			out[i].End = duration
		}
	}
	return out
}

// Sidecar is the JSON written next to a recording.
type Sidecar struct {
	Recording string        `json:"recording"`
	Duration  time.Duration `json:"duration_ns"`
	Markers   []Marker      `json:"markers"`
}

// WriteSidecar writes the recording's markers (episodes folded) as JSON.
func WriteSidecar(w io.Writer, recording string, duration time.Duration, ms []Marker) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	eps := Episodes(ms, duration)
	if eps == nil {
		eps = []Marker{}
	}
	return enc.Encode(Sidecar{Recording: recording, Duration: duration, Markers: eps})
}

// chapter is one non-overlapping span for chapter tracks.
type chapter struct {
	start, end time.Duration
	title      string
}

// chapters turns markers into consecutive chapters: each starts at its
// marker and runs to the next marker (chapters must not overlap in WebVTT
// chapter tracks or MP4 chapter lists); the first starts at 0.
func chapters(ms []Marker, duration time.Duration) []chapter {
	eps := Episodes(ms, duration)
	sort.SliceStable(eps, func(i, j int) bool { return eps[i].At < eps[j].At })
	var out []chapter
	if len(eps) == 0 || eps[0].At > 0 {
		out = append(out, chapter{start: 0, title: "Start"})
	}
	for _, m := range eps {
		title := m.Label
		if title == "" {
			title = m.Kind
		}
		if m.Source == "manual" && m.Note != "" {
			title += ": " + m.Note
		}
		title = fmt.Sprintf("%s [%s]", title, m.Source)
		if n := len(out); n > 0 && out[n-1].start == m.At {
			out[n-1].title += "; " + title // same instant: one chapter
			continue
		}
		out = append(out, chapter{start: m.At, title: title})
	}
	for i := range out {
		if i+1 < len(out) {
			out[i].end = out[i+1].start
		} else {
			out[i].end = max(duration, out[i].start+time.Millisecond)
		}
	}
	return out
}

func vttTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// WriteWebVTT writes a WebVTT chapters track (<track kind="chapters">).
func WriteWebVTT(w io.Writer, ms []Marker, duration time.Duration) error {
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for i, c := range chapters(ms, duration) {
		// Cue text must not contain "-->" or blank lines.
		t := strings.NewReplacer("-->", "->", "\n", " ", "\r", " ").Replace(c.title)
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n\n", i+1, vttTime(c.start), vttTime(c.end), t)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFFMetadata writes an FFmpeg metadata file with one chapter per
// marker; `ffmpeg -i REC -i REC.ffmeta -map_metadata 1 -map_chapters 1
// -codec copy OUT.mp4` puts them into the MP4 as a chapter list that
// players show.
func WriteFFMetadata(w io.Writer, ms []Marker, duration time.Duration) error {
	esc := strings.NewReplacer("\\", "\\\\", "=", "\\=", ";", "\\;", "#", "\\#", "\n", "\\\n")
	var b strings.Builder
	b.WriteString(";FFMETADATA1\n")
	for _, c := range chapters(ms, duration) {
		fmt.Fprintf(&b, "\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=%d\nEND=%d\ntitle=%s\n", c.start.Milliseconds(), c.end.Milliseconds(), esc.Replace(c.title))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
