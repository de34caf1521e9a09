package qc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
	"gopkg.in/yaml.v3"
)

// Policy says what a recording must look like and how sensitive each check
// is. Start from DefaultPolicy (or LoadPolicy, which applies a YAML file over
// the defaults); the zero value is not useful.
//
// Each content check has a minimum duration: a condition that lasts less is
// not reported. Defaults follow FFmpeg's detection filters where one exists,
// so results can be cross-checked with the ffmpeg CLI (see docs/qc.md).
type Policy struct {
	// Name identifies the policy (a business template) in reports.
	Name      string          `yaml:"name"`
	Require   Require         `yaml:"require"`
	Expect    Expect          `yaml:"expect"`
	Integrity IntegrityPolicy `yaml:"integrity"`
	Video     VideoPolicy     `yaml:"video"`
	Audio     AudioPolicy     `yaml:"audio"`
	Sync      SyncPolicy      `yaml:"sync"`
	Watermark WatermarkPolicy `yaml:"watermark"`
}

// Require lists the streams a recording must have.
type Require struct {
	Video bool `yaml:"video"`
	Audio bool `yaml:"audio"`
}

// Expect holds the recording parameters of a business template. Zero (or
// empty) fields are not checked.
type Expect struct {
	MinDuration time.Duration `yaml:"min_duration"`
	MaxDuration time.Duration `yaml:"max_duration"`
	Video       VideoExpect   `yaml:"video"`
	Audio       AudioExpect   `yaml:"audio"`
}

// VideoExpect are the expected video parameters of the first video stream.
type VideoExpect struct {
	Codecs  []string `yaml:"codecs"` // FFmpeg codec names, e.g. [h264, hevc]
	Width   int      `yaml:"width"`
	Height  int      `yaml:"height"`
	MinFPS  float64  `yaml:"min_fps"`
	MaxFPS  float64  `yaml:"max_fps"`
	MinKbps int      `yaml:"min_kbps"`
	MaxKbps int      `yaml:"max_kbps"`
}

// AudioExpect are the expected parameters of the first audio stream.
type AudioExpect struct {
	Codecs      []string `yaml:"codecs"` // e.g. [aac, opus]
	SampleRates []int    `yaml:"sample_rates"`
	Channels    int      `yaml:"channels"`
	MinKbps     int      `yaml:"min_kbps"`
	MaxKbps     int      `yaml:"max_kbps"`
}

// IntegrityPolicy tunes the container and timestamp checks. Truncation,
// undecodable streams, corrupt regions and missing required streams are
// always critical; the softer timestamp findings are warnings.
type IntegrityPolicy struct {
	// MaxGap is the largest hole allowed between consecutive video frames.
	MaxGap time.Duration `yaml:"max_gap"`
	// MaxAudioGap is the largest hole allowed in the audio timeline.
	MaxAudioGap time.Duration `yaml:"max_audio_gap"`
	// MaxStartOffset is how late a stream may start after the file does.
	MaxStartOffset time.Duration `yaml:"max_start_offset"`
	// MaxEndMismatch is how far apart the ends of audio and video may be.
	MaxEndMismatch time.Duration `yaml:"max_end_mismatch"`
	// CorruptMerge joins decode errors closer than this into one region.
	CorruptMerge time.Duration `yaml:"corrupt_merge"`
}

// Rule is what every content check shares.
type Rule struct {
	Enabled bool `yaml:"enabled"`
	// MinDuration: shorter episodes are not reported.
	MinDuration time.Duration `yaml:"min_duration"`
	// Severity of a finding: info, warning or critical.
	Severity pipeline.Severity `yaml:"severity"`
	// CriticalAfter raises an episode at least this long to critical;
	// 0 never does.
	CriticalAfter time.Duration `yaml:"critical_after"`
}

// LevelRule is a Rule on the share of pixels beyond a level: black (dark)
// or white (bright) pictures, as FFmpeg's blackdetect measures them.
type LevelRule struct {
	Rule `yaml:",inline"`
	// PixelThreshold is blackdetect's pix_th: a pixel counts as black when
	// its luma is within this fraction of the nominal range (16..235) from
	// black (for white: from white).
	PixelThreshold float64 `yaml:"pixel_threshold"`
	// PictureRatio is blackdetect's pic_th: the share of such pixels that
	// makes the picture black (white).
	PictureRatio float64 `yaml:"picture_ratio"`
}

// FreezeRule detects frozen pictures like FFmpeg's freezedetect.
type FreezeRule struct {
	Rule `yaml:",inline"`
	// Noise is freezedetect's n: the mean absolute luma difference from the
	// first frozen picture, as a fraction of full scale, below which the
	// picture counts as unchanged.
	Noise float64 `yaml:"noise"`
}

// MosaicRule detects blockiness: luma steps on the 8x8 grid of the analysis
// picture (the codec's macroblock grid) much stronger than steps inside the
// blocks.
type MosaicRule struct {
	Rule `yaml:",inline"`
	// Threshold is the ratio of grid-edge to in-block gradient energy above
	// which a picture is blocky (1 = no block structure).
	Threshold float64 `yaml:"threshold"`
	// MinEdge is the smallest mean step across block edges, in 8-bit luma
	// levels, for a picture to be judged; flat pictures are skipped.
	MinEdge float64 `yaml:"min_edge"`
}

// StutterRule detects irregular frame intervals.
type StutterRule struct {
	Rule `yaml:",inline"`
	// Tolerance is how far an interval may stray from the nominal frame
	// interval, as a fraction of it, before it counts as irregular.
	Tolerance float64 `yaml:"tolerance"`
	// MinCount irregular intervals, each within Window of the previous,
	// make one stutter episode.
	MinCount int           `yaml:"min_count"`
	Window   time.Duration `yaml:"window"`
}

// BlurRule detects soft pictures from the mean absolute Laplacian of luma.
type BlurRule struct {
	Rule `yaml:",inline"`
	// Threshold is the sharpness (mean |Laplacian|, 8-bit levels) below
	// which a non-flat picture counts as blurred.
	Threshold float64 `yaml:"threshold"`
}

// VideoPolicy holds the picture checks.
type VideoPolicy struct {
	Black   LevelRule   `yaml:"black"`
	White   LevelRule   `yaml:"white"`
	Freeze  FreezeRule  `yaml:"freeze"`
	Mosaic  MosaicRule  `yaml:"mosaic"`
	Stutter StutterRule `yaml:"stutter"`
	Blur    BlurRule    `yaml:"blur"`
	// SampleInterval is how often the costlier per-picture measures
	// (blockiness, blur, watermark) run; the others see every frame.
	SampleInterval time.Duration `yaml:"sample_interval"`
}

// SilenceRule detects audio below a level, like FFmpeg's silencedetect.
type SilenceRule struct {
	Rule `yaml:",inline"`
	// NoiseDB is silencedetect's noise: peak sample level in dBFS below
	// which audio counts as silent.
	NoiseDB float64 `yaml:"noise_db"`
}

// LoudnessRule detects audio that is present but too quiet to use.
type LoudnessRule struct {
	Rule `yaml:",inline"`
	// FloorLUFS is the momentary loudness (ITU-R BS.1770, 400 ms) below
	// which audio counts as too quiet.
	FloorLUFS float64 `yaml:"floor_lufs"`
}

// ClippingRule detects samples held at full scale.
type ClippingRule struct {
	Rule `yaml:",inline"`
	// Level is the absolute sample value (full scale = 1) at or above which
	// a sample counts as clipped.
	Level float64 `yaml:"level"`
	// MinRun consecutive clipped samples in one channel make a clip.
	MinRun int `yaml:"min_run"`
	// Merge joins clips closer than this into one episode.
	Merge time.Duration `yaml:"merge"`
}

// AudioPolicy holds the sound checks.
type AudioPolicy struct {
	Silence  SilenceRule  `yaml:"silence"`
	Loudness LoudnessRule `yaml:"loudness"`
	Clipping ClippingRule `yaml:"clipping"`
	// Channel reports one channel silent (by Channel.NoiseDB) while another
	// is not: a dead microphone in a stereo pair.
	Channel SilenceRule `yaml:"channel"`
}

// SyncPolicy configures the audio–video offset estimate.
type SyncPolicy struct {
	Rule `yaml:",inline"`
	// MaxOffset is the largest offset allowed either way.
	MaxOffset time.Duration `yaml:"max_offset"`
	// Search is the largest offset looked for.
	Search time.Duration `yaml:"search"`
	// MinEvents is how many matched picture/sound onsets an estimate needs.
	MinEvents int `yaml:"min_events"`
	// MinConfidence is the share of picture onsets that must match a sound
	// onset at the estimated offset.
	MinConfidence float64 `yaml:"min_confidence"`
}

// Region is a rectangle in fractions of the picture (0..1).
type Region struct {
	X float64 `yaml:"x"`
	Y float64 `yaml:"y"`
	W float64 `yaml:"w"`
	H float64 `yaml:"h"`
}

// Watermark modes.
const (
	WatermarkStatic = "static" // the region always holds something (a logo, text)
	WatermarkClock  = "clock"  // ...and that something changes (a running clock)
)

// WatermarkPolicy requires a burned-in watermark or clock in a region.
type WatermarkPolicy struct {
	Rule `yaml:",inline"`
	// Mode is "static" or "clock".
	Mode   string `yaml:"mode"`
	Region Region `yaml:"region"`
	// MinEdges is the share of region pixels with a strong horizontal luma
	// step (text or logo strokes) below which the region counts as empty.
	MinEdges float64 `yaml:"min_edges"`
	// MaxStill is how long a clock may go without changing.
	MaxStill time.Duration `yaml:"max_still"`
}

// DefaultPolicy returns the built-in policy: both streams required, no
// parameter expectations, every content check on except blur and
// watermark, thresholds as documented in docs/qc.md.
func DefaultPolicy() Policy {
	warn := func(d time.Duration) Rule {
		return Rule{Enabled: true, MinDuration: d, Severity: pipeline.SeverityWarning}
	}
	return Policy{
		Name:    "default",
		Require: Require{Video: true, Audio: true},
		Integrity: IntegrityPolicy{
			MaxGap:         500 * time.Millisecond,
			MaxAudioGap:    200 * time.Millisecond,
			MaxStartOffset: 500 * time.Millisecond,
			MaxEndMismatch: time.Second,
			CorruptMerge:   time.Second,
		},
		Video: VideoPolicy{
			Black:   LevelRule{Rule: warn(2 * time.Second), PixelThreshold: 0.10, PictureRatio: 0.98},
			White:   LevelRule{Rule: warn(2 * time.Second), PixelThreshold: 0.10, PictureRatio: 0.98},
			Freeze:  FreezeRule{Rule: warn(2 * time.Second), Noise: 0.001},
			Mosaic:  MosaicRule{Rule: warn(time.Second), Threshold: 2.5, MinEdge: 3},
			Stutter: StutterRule{Rule: warn(0), Tolerance: 0.5, MinCount: 3, Window: time.Second},
			Blur: BlurRule{Rule: Rule{MinDuration: 2 * time.Second, Severity: pipeline.SeverityWarning},
				Threshold: 2},
			SampleInterval: 200 * time.Millisecond,
		},
		Audio: AudioPolicy{
			Silence:  SilenceRule{Rule: warn(2 * time.Second), NoiseDB: -60},
			Loudness: LoudnessRule{Rule: warn(3 * time.Second), FloorLUFS: -40},
			Clipping: ClippingRule{Rule: warn(0), Level: 0.99, MinRun: 3, Merge: 500 * time.Millisecond},
			Channel:  SilenceRule{Rule: warn(2 * time.Second), NoiseDB: -60},
		},
		Sync: SyncPolicy{Rule: warn(0), MaxOffset: 300 * time.Millisecond, Search: 1500 * time.Millisecond,
			MinEvents: 3, MinConfidence: 0.6},
		Watermark: WatermarkPolicy{
			Rule:     Rule{MinDuration: 3 * time.Second, Severity: pipeline.SeverityCritical},
			Mode:     WatermarkStatic,
			Region:   Region{X: 0.75, Y: 0, W: 0.25, H: 0.1},
			MinEdges: 0.01,
			MaxStill: 3 * time.Second,
		},
	}
}

// LoadPolicy reads a YAML policy file over DefaultPolicy. Keys left out keep
// their defaults; an unknown key is an error naming it and its line.
func LoadPolicy(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return Policy{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy is LoadPolicy for YAML already in memory.
func ParsePolicy(data []byte) (Policy, error) {
	p := DefaultPolicy()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Policy{}, fmt.Errorf("%w: %s", ErrPolicy, oneLine(err.Error()))
	}
	if len(doc.Content) == 0 {
		return p, p.Validate() // empty file: all defaults
	}
	if err := checkKeys(doc.Content[0], reflect.TypeFor[Policy](), ""); err != nil {
		return Policy{}, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // belt and braces: checkKeys should have caught it
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return Policy{}, fmt.Errorf("%w: %s", ErrPolicy, oneLine(err.Error()))
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

func oneLine(s string) string {
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:")
	return strings.Join(strings.Fields(s), " ")
}

// checkKeys walks a YAML mapping against struct type t and reports the
// first unknown key with its dotted path and line; yaml.v3's own message
// names neither the section nor the key's full path.
func checkKeys(n *yaml.Node, t reflect.Type, prefix string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		where := prefix
		if where == "" {
			where = "the policy"
		}
		return fmt.Errorf("%w: line %d: %s must be a mapping of keys", ErrPolicy, n.Line, where)
	}
	fields := map[string]reflect.Type{}
	collectFields(t, fields)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		ft, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("%w: line %d: unknown key %q", ErrPolicy, k.Line, key)
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			if err := checkKeys(v, ft, key); err != nil {
				return err
			}
		}
	}
	return nil
}

// collectFields maps yaml keys of t to field types, following inline
// (embedded) structs.
func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			collectFields(f.Type, out)
			continue
		}
		if name != "" && name != "-" && f.IsExported() {
			out[name] = f.Type
		}
	}
}

// Validate reports every value out of range, each naming its key.
func (p *Policy) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, args...))
	}
	frac := func(key string, v float64, lo, hi float64) {
		if !(v >= lo && v <= hi) { // also catches NaN
			bad(key, "%g is out of range [%g, %g]", v, lo, hi)
		}
	}
	nonNeg := func(key string, d time.Duration) {
		if d < 0 {
			bad(key, "negative duration %v", d)
		}
	}
	rule := func(key string, r Rule) {
		nonNeg(key+".min_duration", r.MinDuration)
		nonNeg(key+".critical_after", r.CriticalAfter)
		if r.Severity < pipeline.SeverityInfo || r.Severity > pipeline.SeverityCritical {
			bad(key+".severity", "want info, warning or critical")
		}
	}
	in := p.Integrity
	nonNeg("integrity.max_gap", in.MaxGap)
	nonNeg("integrity.max_audio_gap", in.MaxAudioGap)
	nonNeg("integrity.max_start_offset", in.MaxStartOffset)
	nonNeg("integrity.max_end_mismatch", in.MaxEndMismatch)
	nonNeg("integrity.corrupt_merge", in.CorruptMerge)
	nonNeg("expect.min_duration", p.Expect.MinDuration)
	nonNeg("expect.max_duration", p.Expect.MaxDuration)
	if p.Expect.MaxDuration > 0 && p.Expect.MaxDuration < p.Expect.MinDuration {
		bad("expect.max_duration", "below min_duration")
	}
	if v := p.Expect.Video; v.Width < 0 || v.Height < 0 || v.MinFPS < 0 || v.MaxFPS < 0 || v.MinKbps < 0 || v.MaxKbps < 0 {
		bad("expect.video", "negative value")
	}
	if a := p.Expect.Audio; a.Channels < 0 || a.MinKbps < 0 || a.MaxKbps < 0 {
		bad("expect.audio", "negative value")
	}
	v := p.Video
	for _, c := range []struct {
		key string
		r   LevelRule
	}{{"video.black", v.Black}, {"video.white", v.White}} {
		rule(c.key, c.r.Rule)
		frac(c.key+".pixel_threshold", c.r.PixelThreshold, 0, 1)
		frac(c.key+".picture_ratio", c.r.PictureRatio, 0.01, 1)
	}
	rule("video.freeze", v.Freeze.Rule)
	frac("video.freeze.noise", v.Freeze.Noise, 0, 1)
	rule("video.mosaic", v.Mosaic.Rule)
	frac("video.mosaic.threshold", v.Mosaic.Threshold, 1, 1000)
	frac("video.mosaic.min_edge", v.Mosaic.MinEdge, 0, 255)
	rule("video.stutter", v.Stutter.Rule)
	frac("video.stutter.tolerance", v.Stutter.Tolerance, 0.05, 10)
	if v.Stutter.MinCount < 1 {
		bad("video.stutter.min_count", "want at least 1")
	}
	nonNeg("video.stutter.window", v.Stutter.Window)
	rule("video.blur", v.Blur.Rule)
	frac("video.blur.threshold", v.Blur.Threshold, 0, 255)
	if v.SampleInterval < 0 || v.SampleInterval > 10*time.Second {
		bad("video.sample_interval", "%v is out of range [0, 10s]", v.SampleInterval)
	}
	a := p.Audio
	rule("audio.silence", a.Silence.Rule)
	frac("audio.silence.noise_db", a.Silence.NoiseDB, -150, 0)
	rule("audio.channel", a.Channel.Rule)
	frac("audio.channel.noise_db", a.Channel.NoiseDB, -150, 0)
	rule("audio.loudness", a.Loudness.Rule)
	frac("audio.loudness.floor_lufs", a.Loudness.FloorLUFS, -150, 0)
	rule("audio.clipping", a.Clipping.Rule)
	frac("audio.clipping.level", a.Clipping.Level, 0.5, 1)
	if a.Clipping.MinRun < 1 {
		bad("audio.clipping.min_run", "want at least 1")
	}
	nonNeg("audio.clipping.merge", a.Clipping.Merge)
	s := p.Sync
	rule("sync", s.Rule)
	nonNeg("sync.max_offset", s.MaxOffset)
	if s.Search < 100*time.Millisecond || s.Search > 10*time.Second {
		bad("sync.search", "%v is out of range [100ms, 10s]", s.Search)
	}
	if s.MinEvents < 1 {
		bad("sync.min_events", "want at least 1")
	}
	frac("sync.min_confidence", s.MinConfidence, 0, 1)
	w := p.Watermark
	rule("watermark", w.Rule)
	if w.Mode != WatermarkStatic && w.Mode != WatermarkClock {
		bad("watermark.mode", "%q: want %q or %q", w.Mode, WatermarkStatic, WatermarkClock)
	}
	r := w.Region
	if !(r.X >= 0 && r.Y >= 0 && r.W > 0 && r.H > 0 && r.X+r.W <= 1.0001 && r.Y+r.H <= 1.0001) {
		bad("watermark.region", "want 0 <= x, y and 0 < w, h with x+w <= 1, y+h <= 1 (fractions of the picture)")
	}
	frac("watermark.min_edges", w.MinEdges, 0, 1)
	nonNeg("watermark.max_still", w.MaxStill)
	if len(errs) > 0 {
		// One line, every problem: the CLI prints errors as one line.
		return fmt.Errorf("%w: %s", ErrPolicy, strings.Join(errs, "; "))
	}
	return nil
}
