// Package watermark burns the bank's marks into video: text, an image/logo
// (PNG with alpha), a wall-clock timestamp that advances with MEDIA time (so
// an offline mix stamps the time the call happened, not the time it was
// processed), location text, and a moving mark that drifts across the frame
// so a crop cannot remove every mark. Several at once; the result is a
// GStreamer launch fragment or a Bin usable on a composite or on a single
// participant's track.
package watermark

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // logo formats DecodeConfig can read
	_ "image/png"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/witness-media/witness/pipeline/gst"
)

// Sentinel errors.
var (
	// ErrSpec is an invalid watermark file: unknown key, bad value.
	ErrSpec = errors.New("invalid watermark spec")
	// ErrImage is an image watermark whose file cannot be read as an image.
	ErrImage = errors.New("unreadable watermark image")
)

// Kinds of mark.
const (
	KindText      = "text"
	KindImage     = "image"
	KindTimestamp = "timestamp"
	KindLocation  = "location"
	KindMoving    = "moving"
)

// Set is a watermark file: the marks drawn, bottom first.
type Set struct {
	Marks []Mark `yaml:"watermarks"`
}

// Mark is one watermark. Sizes and margins are in pixels at 720 lines and
// scale with the frame height, so one spec fits 180p to 1080p.
type Mark struct {
	Type     string   `yaml:"type"`     // text, image, timestamp, location, moving
	Text     string   `yaml:"text"`     // text, location, moving
	Font     string   `yaml:"font"`     // Pango family; default "Noto Sans CJK SC"
	Size     int      `yaml:"size"`     // font pixels at 720p; default 24
	Color    string   `yaml:"color"`    // "#RRGGBB"; default white
	Opacity  *float64 `yaml:"opacity"`  // 0..1; default 0.8
	Position string   `yaml:"position"` // top-left, top, top-right, left, center, right, bottom-left, bottom, bottom-right
	Margin   *int     `yaml:"margin"`   // pixels at 720p from the edges; default 16
	// Image marks.
	Path  string  `yaml:"path"`  // PNG (alpha kept) or JPEG
	Width float64 `yaml:"width"` // fraction of the frame width; default: native size scaled by height/720
	// Timestamp marks: the wall-clock time of media time 0, its zone and
	// format (strftime; %Z and %z are the zone's abbreviation and offset).
	Start    string `yaml:"start"`    // RFC 3339; default: when the job is built
	TimeZone string `yaml:"timezone"` // IANA name; default local time
	Format   string `yaml:"format"`   // default "%Y-%m-%d %H:%M:%S %Z"
	// Moving marks: seconds for the mark to cross the frame once.
	Period float64 `yaml:"period"` // default 20
}

// Load reads a watermark file strictly and validates it (including that
// every image can be read), so a bad file fails before any work starts.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse decodes a watermark spec strictly (unknown keys are errors naming
// the key) and validates it.
func Parse(data []byte) (*Set, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Set
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s", ErrSpec, strings.Join(strings.Fields(err.Error()), " ")) // yaml errors span lines
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks every mark; image files are opened and decoded far enough
// to know their size.
func (s *Set) Validate() error {
	var errs []error
	for i := range s.Marks {
		if err := s.Marks[i].validate(); err != nil {
			errs = append(errs, fmt.Errorf("watermark %d (%s): %w", i, s.Marks[i].Type, err))
		}
	}
	if len(errs) > 0 {
		// One line: the CLI prints errors as a single line.
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("%w: %s", errs[0], strings.Join(msgs[1:], "; "))
	}
	return nil
}

func (m *Mark) validate() error {
	switch m.Type {
	case KindText, KindLocation, KindMoving:
		if m.Text == "" {
			return fmt.Errorf("%w: no text", ErrSpec)
		}
	case KindImage:
		if _, err := imageSize(m.Path); err != nil {
			return err
		}
		if m.Width < 0 || m.Width > 1 {
			return fmt.Errorf("%w: width %.3g is not a fraction of the frame", ErrSpec, m.Width)
		}
	case KindTimestamp:
		if _, _, err := m.epoch(time.Now()); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: type %q (text, image, timestamp, location, moving)", ErrSpec, m.Type)
	}
	if m.Color != "" {
		if _, err := parseRGB(m.Color); err != nil {
			return err
		}
	}
	if m.Opacity != nil && (*m.Opacity < 0 || *m.Opacity > 1) {
		return fmt.Errorf("%w: opacity %.3g", ErrSpec, *m.Opacity)
	}
	if _, _, err := align(m.Position, m.Type); err != nil {
		return err
	}
	if m.Size < 0 || m.Size > 300 || m.Period < 0 {
		return fmt.Errorf("%w: size %d / period %.3g", ErrSpec, m.Size, m.Period)
	}
	return nil
}

func imageSize(path string) (image.Point, error) {
	if path == "" {
		return image.Point{}, fmt.Errorf("%w: no path", ErrImage)
	}
	f, err := os.Open(path)
	if err != nil {
		return image.Point{}, fmt.Errorf("%w: %w", ErrImage, err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return image.Point{}, fmt.Errorf("%w: %s: %v", ErrImage, path, err)
	}
	if cfg.Width == 0 || cfg.Height == 0 {
		return image.Point{}, fmt.Errorf("%w: %s: empty image", ErrImage, path)
	}
	return image.Pt(cfg.Width, cfg.Height), nil
}

func parseRGB(s string) (uint32, error) {
	h := strings.TrimPrefix(s, "#")
	v, err := strconv.ParseUint(h, 16, 32)
	if h == s || len(h) != 6 || err != nil {
		return 0, fmt.Errorf("%w: colour %q (want #RRGGBB)", ErrSpec, s)
	}
	return uint32(v), nil
}

// align maps a position name to textoverlay's alignments.
func align(pos, kind string) (h, v string, err error) {
	if pos == "" {
		switch kind {
		case KindTimestamp:
			pos = "top-left"
		case KindLocation:
			pos = "bottom-left"
		case KindImage:
			pos = "top-right"
		default:
			pos = "bottom-right"
		}
	}
	h, v = "center", "center"
	parts := strings.SplitN(pos, "-", 2)
	for _, p := range parts {
		switch p {
		case "top", "bottom":
			v = p
		case "left", "right":
			h = p
		case "center":
		default:
			return "", "", fmt.Errorf("%w: position %q", ErrSpec, pos)
		}
	}
	return h, v, nil
}

// epoch returns the timestamp's start wall clock expressed in its zone but
// labelled UTC (the clock adds media time to a GDateTime and formats it;
// giving it local fields avoids relying on GLib's zone handling), and the
// format with %Z/%z replaced by the zone's name and offset.
func (m *Mark) epoch(now time.Time) (string, string, error) {
	loc := time.Local
	if m.TimeZone != "" {
		l, err := time.LoadLocation(m.TimeZone)
		if err != nil {
			return "", "", fmt.Errorf("%w: timezone %q: %v", ErrSpec, m.TimeZone, err)
		}
		loc = l
	}
	start := now
	if m.Start != "" {
		t, err := time.Parse(time.RFC3339, m.Start)
		if err != nil {
			return "", "", fmt.Errorf("%w: start %q (RFC 3339, e.g. 2024-05-01T14:03:22+08:00): %v", ErrSpec, m.Start, err)
		}
		start = t
	}
	local := start.In(loc)
	zone, _ := local.Zone()
	format := m.Format
	if format == "" {
		format = "%Y-%m-%d %H:%M:%S %Z"
	}
	format = strings.NewReplacer("%Z", zone, "%z", local.Format("-0700")).Replace(format)
	fake := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
	return fake.Format("2006-01-02T15:04:05.000Z"), format, nil
}

// Animation is what a mark needs applied once the pipeline is built (see
// Apply): a property schedule (moving marks) or a clock (timestamps).
type Animation struct {
	Element  string
	Property string
	Keys     []gst.Keyframe
	Clock    *Clock // set for a timestamp: Element's text is the clock
}

// Clock is a timestamp mark's text: Start (its zone's wall-clock fields,
// labelled UTC) plus media time, in Format (strftime).
type Clock struct {
	Start  time.Time
	Format string
}

// Launch returns the marks as a gst-launch fragment for w×h frames
// ("videoconvert ! textoverlay ... ! gdkpixbufoverlay ..."), element names
// prefixed with prefix so several sets can share a pipeline, and the
// animations to apply for moving marks over total media time (give the
// longest a live recording may run). An empty set gives "identity".
func (s *Set) Launch(prefix string, w, h int, total time.Duration, now time.Time) (string, []Animation, error) {
	if s == nil || len(s.Marks) == 0 {
		return "identity", nil, nil
	}
	parts := []string{"videoconvert"}
	var anims []Animation
	scale := float64(h) / 720
	for i, m := range s.Marks {
		name := fmt.Sprintf("%s%d", prefix, i)
		el, an, err := m.element(name, w, h, scale, total, now)
		if err != nil {
			return "", nil, fmt.Errorf("watermark %d (%s): %w", i, m.Type, err)
		}
		parts = append(parts, el)
		anims = append(anims, an...)
	}
	return strings.Join(parts, " ! "), anims, nil
}

func (m Mark) element(name string, w, h int, scale float64, total time.Duration, now time.Time) (string, []Animation, error) {
	opacity := 0.8
	if m.Opacity != nil {
		opacity = *m.Opacity
	}
	margin := 16
	if m.Margin != nil {
		margin = *m.Margin
	}
	mpx := int(math.Round(float64(margin) * scale))
	alpha := uint32(math.Round(opacity*255)) << 24
	if m.Type == KindImage {
		size, err := imageSize(m.Path)
		if err != nil {
			return "", nil, err
		}
		iw := int(math.Round(float64(size.X) * scale))
		if m.Width > 0 {
			iw = int(math.Round(m.Width * float64(w)))
		}
		ih := max(1, int(math.Round(float64(iw)*float64(size.Y)/float64(size.X))))
		iw = max(1, iw)
		ha, va, _ := align(m.Position, m.Type)
		x := map[string]int{"left": mpx, "center": (w - iw) / 2, "right": w - iw - mpx}[ha]
		y := map[string]int{"top": mpx, "center": (h - ih) / 2, "bottom": h - ih - mpx}[va]
		return fmt.Sprintf("gdkpixbufoverlay name=%s location=%s offset-x=%d offset-y=%d overlay-width=%d overlay-height=%d alpha=%.3f",
			name, Quote(m.Path), max(x, 0), max(y, 0), iw, ih, opacity), nil, nil
	}
	rgb := uint32(0xFFFFFF)
	if m.Color != "" {
		rgb, _ = parseRGB(m.Color)
	}
	font := m.Font
	if font == "" {
		font = "Noto Sans CJK SC"
	}
	size := m.Size
	if size == 0 {
		size = 24
	}
	px := max(6, int(math.Round(float64(size)*scale)))
	common := fmt.Sprintf("font-desc=%s color=0x%08X outline-color=0x%08X draw-shadow=false draw-outline=true auto-resize=false wait-text=false xpad=%d ypad=%d",
		Quote(fmt.Sprintf("%s %dpx", font, px)), alpha|rgb, alpha, mpx, mpx)
	ha, va, _ := align(m.Position, m.Type)
	switch m.Type {
	case KindTimestamp:
		epoch, format, err := m.epoch(now)
		if err != nil {
			return "", nil, err
		}
		start, err := time.Parse("2006-01-02T15:04:05.000Z", epoch)
		if err != nil {
			return "", nil, fmt.Errorf("%w: start %q: %v", ErrSpec, epoch, err)
		}
		// A textoverlay whose text a pad probe sets from the running time
		// (media time from the start of this stream, whatever the PTS
		// offset of a single track): what timeoverlay draws, but rendered
		// only when the text changes, once a second, not every frame.
		return fmt.Sprintf("textoverlay name=%s text=\"\" halignment=%s valignment=%s %s", name, ha, va, common),
			[]Animation{{Element: name, Clock: &Clock{Start: start, Format: format}}}, nil
	case KindMoving:
		period := m.Period
		if period == 0 {
			period = 20
		}
		p := time.Duration(period * float64(time.Second))
		// Two incommensurate periods trace a path that visits the whole
		// frame instead of bouncing along one diagonal.
		anims := []Animation{
			{Element: name, Property: "xpos", Keys: zigzag(p, total)},
			{Element: name, Property: "ypos", Keys: zigzag(p*73/100, total)},
		}
		return fmt.Sprintf("textoverlay name=%s text=%s halignment=position valignment=position xpos=0 ypos=0 %s",
			name, Quote(m.Text), common), anims, nil
	}
	return fmt.Sprintf("textoverlay name=%s text=%s halignment=%s valignment=%s %s", name, Quote(m.Text), ha, va, common), nil, nil
}

// zigzag goes 0 → 1 → 0 ... with one crossing per period until total.
func zigzag(period, total time.Duration) []gst.Keyframe {
	if period <= 0 {
		period = 20 * time.Second
	}
	var keys []gst.Keyframe
	for i := 0; ; i++ {
		at := time.Duration(i) * period
		keys = append(keys, gst.Keyframe{At: at, Value: float64(i % 2)})
		if at > total {
			return keys
		}
	}
}

// Apply installs the animations on a built pipeline (before Start).
func Apply(p *gst.Pipeline, anims []Animation) error {
	for _, a := range anims {
		if a.Clock != nil {
			if err := p.ClockText(a.Element, a.Clock.Start, a.Clock.Format); err != nil {
				return err
			}
			continue
		}
		if err := p.Schedule(a.Element, "", a.Property, gst.Linear, a.Keys); err != nil {
			return err
		}
	}
	return nil
}

// NewBin builds the marks as a Bin for w×h video (one sink, one source
// ghost pad), to put on a composite or on a single participant's track;
// apply the returned animations with Apply once the bin is in a pipeline.
func (s *Set) NewBin(name string, w, h int, total time.Duration, now time.Time) (*gst.Bin, []Animation, error) {
	frag, anims, err := s.Launch(name+"_", w, h, total, now)
	if err != nil {
		return nil, nil, err
	}
	// Ghost the pads explicitly: textoverlay's unused text_sink would
	// otherwise be a candidate for the bin's input.
	b, err := gst.NewBinWithPads(name, "queue name="+name+"_in ! "+frag+" ! identity name="+name+"_out", name+"_in", name+"_out")
	if err != nil {
		return nil, nil, err
	}
	return b, anims, nil
}

// Quote makes a gst-launch string value: double quotes with backslash
// escapes, so paths and texts with spaces, quotes or CJK survive parsing.
func Quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
