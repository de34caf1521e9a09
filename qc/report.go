package qc

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
)

// Verdict is the one-word outcome of a check.
type Verdict string

// Verdicts: fail when any finding is critical, warn when any is a warning,
// pass otherwise (info findings do not change the verdict).
const (
	Pass Verdict = "pass"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// Finding kinds. The part before the dot is the check family; reports and
// the HTML timeline group by it.
const (
	KindOpen           = "integrity.open"           // the file is not readable media
	KindTruncated      = "integrity.truncated"      // data ends before the container says
	KindCorrupt        = "integrity.corrupt"        // packets that failed to decode, concealed pictures
	KindUndecodable    = "integrity.undecodable"    // a stream no decoder could open
	KindMissingStream  = "integrity.missing_stream" // a required stream is absent
	KindGap            = "integrity.gap"            // a hole in a stream's timestamps
	KindJump           = "integrity.jump"           // timestamps going backwards
	KindStartOffset    = "integrity.start_offset"   // a stream starting late
	KindEndMismatch    = "integrity.end_mismatch"   // audio and video ending apart
	KindDuration       = "param.duration"           // length outside expectations
	KindVideoCodec     = "param.video_codec"        // not one of the expected codecs
	KindResolution     = "param.resolution"         // width or height not as expected
	KindFrameRate      = "param.frame_rate"         // decoded frame rate outside the range
	KindVideoBitrate   = "param.video_bitrate"      // declared bitrate outside the range
	KindAudioCodec     = "param.audio_codec"        // not one of the expected codecs
	KindSampleRate     = "param.sample_rate"        // not one of the expected rates
	KindChannels       = "param.channels"           // channel count not as expected
	KindAudioBitrate   = "param.audio_bitrate"      // declared bitrate outside the range
	KindBlack          = "video.black"              // picture black
	KindWhite          = "video.white"              // picture white
	KindFreeze         = "video.freeze"             // picture not changing
	KindMosaic         = "video.mosaic"             // blockiness
	KindStutter        = "video.stutter"            // irregular frame intervals
	KindBlur           = "video.blur"               // picture out of focus
	KindSilence        = "audio.silence"            // all channels silent
	KindLowLoudness    = "audio.low_loudness"       // audible but too quiet
	KindClipping       = "audio.clipping"           // samples held at full scale
	KindChannelSilent  = "audio.channel_silent"     // one channel dead while another is not
	KindSyncOffset     = "sync.offset"              // audio ahead of or behind the picture
	KindWatermark      = "watermark.missing"        // required region empty
	KindWatermarkStill = "watermark.stopped"        // a required clock not running
)

const (
	kindEventPrefix = "qc."          // pipeline.Event kinds are "qc." + Kind
	schemaVersion   = "witness.qc/1" // Report.Schema
	maxPerKind      = 200            // findings kept per kind; the rest are counted
	maxThumbs       = 100            // thumbnails kept per report
	thumbWidth      = 160            // thumbnail width in pixels
	noStream        = -1             // Finding.Stream for file-level findings
	secondsFormat   = "%.2fs"        // human times in messages
	nsPerSecond     = float64(time.Second)
	loudnessStep    = 500 * time.Millisecond // loudness curve resolution
)

// Units of Finding.Value.
const (
	unitSeconds  = "s"
	unitRatio    = "ratio"
	unitDB       = "dBFS"
	unitLUFS     = "LUFS"
	unitMS       = "ms"
	unitLevels   = "levels"
	unitFraction = "fraction"
)

// Finding is one problem, placed on the recording's timeline. Value is what
// was measured (its meaning depends on Kind and is given by Unit), Threshold
// the policy's limit it was compared with.
type Finding struct {
	Kind      string            `json:"kind"`
	Severity  pipeline.Severity `json:"severity"`
	Start     time.Duration     `json:"start_ns"`
	End       time.Duration     `json:"end_ns"`
	Stream    int               `json:"stream"` // stream index, -1 for the file
	Value     float64           `json:"value"`
	Threshold float64           `json:"threshold"`
	Unit      string            `json:"unit,omitempty"`
	Message   string            `json:"message"`
	// Thumbnail is a small PNG of the picture where a video finding starts.
	// It is rendered into the HTML report, not the JSON.
	Thumbnail []byte `json:"-"`
}

// MarshalJSON adds start and end in seconds for people reading the JSON.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	return json.Marshal(struct {
		plain
		StartS float64 `json:"start_s"`
		EndS   float64 `json:"end_s"`
	}{plain(f), roundMS(f.Start), roundMS(f.End)})
}

func roundMS(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / nsPerSecond
}

// Family is the check family of the finding ("integrity", "video", ...).
func (f *Finding) Family() string {
	fam, _, _ := strings.Cut(f.Kind, ".")
	return fam
}

// Event turns the finding into a pipeline.Event marker (kind "qc." +
// Kind, at the finding's start) so that it can be stored with a
// recording's other markers.
func (f *Finding) Event() pipeline.Event {
	data, _ := json.Marshal(f)
	return pipeline.Event{
		Kind:      kindEventPrefix + f.Kind,
		Severity:  f.Severity,
		Source:    pipeline.OriginAuto,
		MediaTime: f.Start,
		Data:      data,
	}
}

// SyncEstimate is the audio–video offset measured from content. Offset is
// positive when sound comes after the picture it belongs to.
type SyncEstimate struct {
	Measured   bool          `json:"measured"`
	Offset     time.Duration `json:"offset_ns"`
	OffsetMS   float64       `json:"offset_ms"`
	Confidence float64       `json:"confidence"` // share of picture onsets matched
	Matches    int           `json:"matches"`
	// VideoOnsets and AudioOnsets count the sudden changes found.
	VideoOnsets int    `json:"video_onsets"`
	AudioOnsets int    `json:"audio_onsets"`
	Note        string `json:"note,omitempty"` // why it was not measured
}

// LoudnessPoint is one point of the short-term (3 s) loudness curve.
type LoudnessPoint struct {
	T    time.Duration `json:"t_ns"`
	LUFS float64       `json:"lufs"` // -inf is written as -120
}

// Metrics are whole-file measurements, for context and trending.
type Metrics struct {
	VideoFrames     int64        `json:"video_frames"`
	AudioFrames     int64        `json:"audio_frames"`
	AnalysisWidth   int          `json:"analysis_width"`
	AnalysisHeight  int          `json:"analysis_height"`
	MeanLuma        float64      `json:"mean_luma"`        // 8-bit, limited range
	MeanBlockiness  float64      `json:"mean_blockiness"`  // MosaicRule's ratio, over judged pictures
	IntegratedLUFS  float64      `json:"integrated_lufs"`  // BS.1770 gated; -120 when silent
	PeakDBFS        float64      `json:"peak_dbfs"`        // sample peak; -120 when silent
	ClippedSamples  int64        `json:"clipped_samples"`  // samples in clipped runs
	MeanIntervalMS  float64      `json:"mean_interval_ms"` // mean video frame interval
	IrregularFrames int          `json:"irregular_frames"` // intervals off nominal by more than the tolerance
	Sync            SyncEstimate `json:"sync"`
}

// Report is the result of checking one file.
type Report struct {
	Schema  string  `json:"schema"`
	File    string  `json:"file"`
	Size    int64   `json:"size_bytes"`
	SHA256  string  `json:"sha256"` // of the bytes checked
	Policy  string  `json:"policy"`
	Verdict Verdict `json:"verdict"`
	// Duration is the media time covered by the decoded data.
	Duration  time.Duration `json:"duration_ns"`
	CheckedAt time.Time     `json:"checked_at"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	Findings  []Finding     `json:"findings"`
	// Dropped counts findings beyond maxPerKind per kind (not listed).
	Dropped  int             `json:"dropped_findings,omitempty"`
	Metrics  Metrics         `json:"metrics"`
	Loudness []LoudnessPoint `json:"loudness,omitempty"`
	Probe    *av.Info        `json:"probe,omitempty"`
	Decode   *av.Stats       `json:"decode,omitempty"`
}

// JSON renders the report, indented.
func (r *Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// Events returns the findings as pipeline events.
func (r *Report) Events() []pipeline.Event {
	out := make([]pipeline.Event, 0, len(r.Findings))
	for i := range r.Findings {
		out = append(out, r.Findings[i].Event())
	}
	return out
}

// Count returns how many findings have the given kind.
func (r *Report) Count(kind string) int {
	n := 0
	for i := range r.Findings {
		if r.Findings[i].Kind == kind {
			n++
		}
	}
	return n
}

// Summary is one line: verdict, file, and the findings by kind.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s %s", strings.ToUpper(string(r.Verdict)), filepath.Base(r.File))
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, " (%.1fs, no findings)", r.Duration.Seconds())
		return b.String()
	}
	counts := map[string]int{}
	var kinds []string
	for i := range r.Findings {
		k := r.Findings[i].Kind
		if counts[k] == 0 {
			kinds = append(kinds, k)
		}
		counts[k]++
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k
		if counts[k] > 1 {
			parts[i] = fmt.Sprintf("%s x%d", k, counts[k])
		}
	}
	fmt.Fprintf(&b, " (%.1fs, %d findings: %s)", r.Duration.Seconds(), len(r.Findings), strings.Join(parts, ", "))
	return b.String()
}

// String is a line for one finding, e.g.
// "warning video.black 4.00s-7.00s: ...".
func (f *Finding) String() string {
	return fmt.Sprintf("%s %s "+secondsFormat+"-"+secondsFormat+": %s", f.Severity, f.Kind,
		f.Start.Seconds(), f.End.Seconds(), f.Message)
}

// finalize sorts findings by time, caps each kind and sets the verdict.
func (r *Report) finalize() {
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		if a.Start != b.Start {
			return cmpDur(a.Start, b.Start)
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	per := map[string]int{}
	kept := r.Findings[:0]
	thumbs := 0
	for _, f := range r.Findings {
		per[f.Kind]++
		if per[f.Kind] > maxPerKind {
			r.Dropped++
			continue
		}
		if f.Thumbnail != nil {
			thumbs++
			if thumbs > maxThumbs {
				f.Thumbnail = nil
			}
		}
		kept = append(kept, f)
	}
	r.Findings = kept
	r.sanitize()
	r.Verdict = Pass
	for i := range r.Findings {
		switch r.Findings[i].Severity {
		case pipeline.SeverityCritical:
			r.Verdict = Fail
		case pipeline.SeverityWarning:
			if r.Verdict == Pass {
				r.Verdict = Warn
			}
		}
	}
	if r.Findings == nil {
		r.Findings = []Finding{} // "findings": [] rather than null
	}
}

// sanitize replaces NaN and infinities (which JSON cannot carry) that a
// hostile or degenerate file could produce in measurements.
func (r *Report) sanitize() {
	for i := range r.Findings {
		r.Findings[i].Value = finite(r.Findings[i].Value, 0)
		r.Findings[i].Threshold = finite(r.Findings[i].Threshold, 0)
	}
	for i := range r.Loudness {
		r.Loudness[i].LUFS = finite(r.Loudness[i].LUFS, silentDB)
	}
	m := &r.Metrics
	m.MeanLuma = finite(m.MeanLuma, 0)
	m.MeanBlockiness = finite(m.MeanBlockiness, 0)
	m.IntegratedLUFS = finite(m.IntegratedLUFS, silentDB)
	m.PeakDBFS = finite(m.PeakDBFS, silentDB)
	m.MeanIntervalMS = finite(m.MeanIntervalMS, 0)
	m.Sync.Confidence = finite(m.Sync.Confidence, 0)
	m.Sync.OffsetMS = finite(m.Sync.OffsetMS, 0)
}

func finite(v, repl float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return repl
	}
	return v
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
