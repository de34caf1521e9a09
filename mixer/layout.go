package mixer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Layout is a declarative composite template: a canvas, a background and
// slots that say which role (participant or screen share) goes where. Slot
// geometry is in fractions of the canvas, so one template serves every output
// size of the same shape.
type Layout struct {
	Name        string      `yaml:"name"`        // template name, for logs and errors
	Canvas      Size        `yaml:"canvas"`      // default output size; default 1280x720
	Background  Background  `yaml:"background"`  // what shows where no slot is
	Labels      bool        `yaml:"labels"`      // label slots without a label with their role
	Placeholder Placeholder `yaml:"placeholder"` // what a slot shows when its source is missing or stopped
	Slots       []Slot      `yaml:"slots"`       // drawn in z order, then in order
}

// Size is a width and height in pixels.
type Size struct {
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
}

// Background is a colour or an image (scaled to the canvas).
type Background struct {
	Color string `yaml:"color"` // "#RRGGBB"; default black
	Image string `yaml:"image"` // PNG or JPEG path; wins over Color
}

// Placeholder is shown in a slot whose source is absent or has ended, so a
// camera that went away is visibly "off", never a frozen last frame.
type Placeholder struct {
	Color string `yaml:"color"` // default #303030
	Text  string `yaml:"text"`  // default "摄像头已关闭 camera off"
}

// Slot places one role on the canvas.
type Slot struct {
	Role string `yaml:"role"` // which input fills it (matches --in ROLE=...)
	// X, Y, Width, Height are fractions of the canvas (0..1).
	X      float64 `yaml:"x"`
	Y      float64 `yaml:"y"`
	Width  float64 `yaml:"width"`
	Height float64 `yaml:"height"`
	// Anchor places the slot in a corner or the centre instead of X/Y (for
	// picture-in-picture): top-left, top-right, bottom-left, bottom-right,
	// center. Margin is the gap to the canvas edges, in fractions of the
	// canvas's shorter side.
	Anchor string  `yaml:"anchor"`
	Margin float64 `yaml:"margin"`
	Z      int     `yaml:"z"`      // higher draws on top
	Fit    string  `yaml:"fit"`    // cover (crop to fill; default) or contain (letterbox)
	Border Border  `yaml:"border"` // frame drawn around the slot
	Label  string  `yaml:"label"`  // name/role text; empty: the role if Layout.Labels
}

// Border is a frame around a slot.
type Border struct {
	Width int    `yaml:"width"` // pixels at the canvas size; 0 = none
	Color string `yaml:"color"` // default white
}

// Fit modes.
const (
	FitCover   = "cover"
	FitContain = "contain"
)

// DefaultPlaceholderText is shown in a slot whose camera is off.
const DefaultPlaceholderText = "摄像头已关闭 camera off"

//go:embed layouts/*.yaml
var builtinFS embed.FS

// Builtins lists the names of the built-in templates.
func Builtins() []string {
	entries, _ := builtinFS.ReadDir("layouts")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Builtin returns a built-in template by name.
func Builtin(name string) (*Layout, error) {
	data, err := builtinFS.ReadFile(path.Join("layouts", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w: %q (built-in: %s)", ErrUnknownLayout, name, strings.Join(Builtins(), ", "))
	}
	return ParseLayout(data)
}

// LoadLayout resolves a --layout argument: a built-in name, or a YAML file.
func LoadLayout(nameOrPath string) (*Layout, error) {
	if !strings.ContainsAny(nameOrPath, "/.") {
		return Builtin(nameOrPath)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLayout, err)
	}
	l, err := ParseLayout(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nameOrPath, err)
	}
	return l, nil
}

// ParseLayout decodes a YAML template strictly (an unknown key is an error
// naming it and its line), fills in defaults and validates it.
func ParseLayout(data []byte) (*Layout, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var l Layout
	if err := dec.Decode(&l); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty template", ErrLayout)
		}
		return nil, fmt.Errorf("%w: %s", ErrLayout, strings.Join(strings.Fields(err.Error()), " ")) // yaml errors span lines
	}
	l.defaults()
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &l, nil
}

func (l *Layout) defaults() {
	if l.Canvas.Width == 0 && l.Canvas.Height == 0 {
		l.Canvas = Size{1280, 720}
	}
	if l.Background.Color == "" {
		l.Background.Color = "#000000"
	}
	if l.Placeholder.Color == "" {
		l.Placeholder.Color = "#303030"
	}
	if l.Placeholder.Text == "" {
		l.Placeholder.Text = DefaultPlaceholderText
	}
	for i := range l.Slots {
		s := &l.Slots[i]
		if s.Fit == "" {
			s.Fit = FitCover
		}
		if s.Border.Width > 0 && s.Border.Color == "" {
			s.Border.Color = "#FFFFFF"
		}
	}
}

// Validate collects every problem in the template.
func (l *Layout) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: "+format, append([]any{ErrLayout, l.Name}, a...)...))
	}
	if l.Canvas.Width < 16 || l.Canvas.Height < 16 || l.Canvas.Width > 7680 || l.Canvas.Height > 7680 {
		bad("canvas %dx%d out of range", l.Canvas.Width, l.Canvas.Height)
	}
	if _, err := ParseColor(l.Background.Color); err != nil {
		bad("background: %v", err)
	}
	if _, err := ParseColor(l.Placeholder.Color); err != nil {
		bad("placeholder: %v", err)
	}
	if len(l.Slots) == 0 {
		bad("no slots")
	}
	seen := map[string]bool{}
	for i, s := range l.Slots {
		where := fmt.Sprintf("slot %d (%s)", i, s.Role)
		if s.Role == "" {
			bad("slot %d: no role", i)
		}
		if seen[s.Role] {
			bad("%s: role used twice", where)
		}
		seen[s.Role] = true
		if s.Width <= 0 || s.Height <= 0 || s.Width > 1 || s.Height > 1 {
			bad("%s: width/height %.3g/%.3g must be fractions in (0,1]", where, s.Width, s.Height)
		}
		switch s.Anchor {
		case "":
			if s.X < 0 || s.Y < 0 || s.X+s.Width > 1.0001 || s.Y+s.Height > 1.0001 {
				bad("%s: does not fit the canvas", where)
			}
		case "top-left", "top-right", "bottom-left", "bottom-right", "center":
			if s.Margin < 0 || s.Margin > 0.5 {
				bad("%s: margin %.3g out of range", where, s.Margin)
			}
		default:
			bad("%s: anchor %q (top-left, top-right, bottom-left, bottom-right, center)", where, s.Anchor)
		}
		if s.Fit != FitCover && s.Fit != FitContain {
			bad("%s: fit %q (cover or contain)", where, s.Fit)
		}
		if s.Border.Width < 0 || s.Border.Width > 64 {
			bad("%s: border width %d", where, s.Border.Width)
		}
		if s.Border.Width > 0 {
			if _, err := ParseColor(s.Border.Color); err != nil {
				bad("%s: border: %v", where, err)
			}
		}
	}
	return join(errs)
}

// Roles lists the slot roles in slot order.
func (l *Layout) Roles() []string {
	r := make([]string, len(l.Slots))
	for i, s := range l.Slots {
		r[i] = s.Role
	}
	return r
}

// ParseColor reads "#RRGGBB" or "#AARRGGBB" into GStreamer's big-endian
// ARGB (alpha 0xFF when not given).
func ParseColor(s string) (uint32, error) {
	h := strings.TrimPrefix(s, "#")
	if h == s || (len(h) != 6 && len(h) != 8) {
		return 0, fmt.Errorf("%w: colour %q (want #RRGGBB or #AARRGGBB)", ErrLayout, s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: colour %q (want #RRGGBB or #AARRGGBB)", ErrLayout, s)
	}
	if len(h) == 6 {
		v |= 0xFF000000
	}
	return uint32(v), nil
}
