package mixer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var toneOf = map[string]float64{"agent": 440, "customer": 660, "screen": 880, "guest": 1100}

// mixFiles runs an offline mix of the generated clips for roles.
func mixFiles(t *testing.T, l *Layout, w, h int, out string, mod func(*Config)) *Mix {
	t.Helper()
	cfg := Config{Layout: l, Output: Output{Path: out, Width: w, Height: h, FPS: 25, Preset: "ultrafast", Bitrate: 800}}
	for _, r := range l.Roles() {
		cfg.Inputs = append(cfg.Inputs, Input{Role: r, Path: clip(t, r)})
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(testCtx(t), 0, nil); err != nil {
		t.Fatalf("%v\n%s", err, m.Launch())
	}
	for _, f := range m.Outputs() {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(f + ".part"); err == nil {
			t.Fatal(".part left behind after success")
		}
	}
	if len(m.Outputs()) == 0 {
		t.Fatal("no outputs")
	}
	return m
}

// TestLayoutsPixelsAndTones mixes every built-in layout and checks, in the
// decoded output, that the centre of each slot has its source's colour and
// that the mixed audio holds every source's tone at the expected level
// (customer at gain 0.5: half the amplitude).
func TestLayoutsPixelsAndTones(t *testing.T) {
	dir := t.TempDir()
	for _, name := range Builtins() {
		t.Run(name, func(t *testing.T) {
			l, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			l.Labels = false // labels are checked on their own; here they would cover small slots' centres
			w, h := 320, 180
			if l.Canvas.Height > l.Canvas.Width {
				w, h = 180, 320
			}
			out := filepath.Join(dir, name+".mp4")
			m := mixFiles(t, l, w, h, out, func(c *Config) {
				for i := range c.Inputs {
					if c.Inputs[i].Role == "customer" {
						c.Inputs[i].Gain = 0.5
					}
				}
			})
			f := frameAt(t, out, time.Second)
			for _, p := range m.place(l) {
				x, y := p.Video.Centre()
				want := rgb[clips[p.Role].color]
				if got := f.at(x, y); !near(got, want, 48) {
					t.Errorf("slot %s centre (%d,%d) = %v, want %s %v", p.Role, x, y, got, clips[p.Role].color, want)
				}
			}
			a := audio(t, out, 300*time.Millisecond, time.Second)
			for _, r := range l.Roles() {
				want := 0.125 // ffmpeg's sine source amplitude
				if r == "customer" {
					want *= 0.5
				}
				got := goertzel(a, 48000, toneOf[r])
				if got < want*0.75 || got > want*1.25 {
					t.Errorf("tone of %s (%.0f Hz): amplitude %.4f, want %.4f", r, toneOf[r], got, want)
				}
			}
			if got := goertzel(a, 48000, 1500); got > 0.01 {
				t.Errorf("1500 Hz (no source) has amplitude %.4f", got)
			}
		})
	}
}

// TestAlignmentPlaceholderAndContain: inputs of different sizes, rates,
// lengths and start offsets. The customer's clip starts at 1 s (its MP4
// edit list) and the guest is given --in offset 0.5 s: before they start
// their slots show the placeholder, after the short clip ends its slot
// shows the placeholder again (never a frozen frame); contain letterboxes.
func TestAlignmentPlaceholderAndContain(t *testing.T) {
	l, err := ParseLayout([]byte(`
name: align
canvas: {width: 320, height: 180}
placeholder: {color: "#303030"}
slots:
  - {role: agent, x: 0, y: 0, width: 0.5, height: 0.5}
  - {role: customer, x: 0.5, y: 0, width: 0.5, height: 0.5}
  - {role: guest, x: 0, y: 0.5, width: 0.5, height: 0.5}
  - {role: short, x: 0.5, y: 0.5, width: 0.5, height: 0.5, fit: contain}
`))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "align.mp4")
	m := mixFiles(t, l, 320, 180, out, func(c *Config) {
		for i := range c.Inputs {
			switch c.Inputs[i].Role {
			case "customer":
				c.Inputs[i].Path = clip(t, "late") // 1 s long, starts at 1 s
			case "guest":
				c.Inputs[i].Offset = 500 * time.Millisecond
			}
		}
	})
	if d := m.Duration(); d < 2400*time.Millisecond || d > 2700*time.Millisecond {
		t.Fatalf("duration %v, want 2.5 s (guest 2 s + 0.5 s offset)", d)
	}
	pl := map[string]Placement{}
	for _, p := range m.place(l) {
		pl[p.Role] = p
	}
	grey := [3]int{0x30, 0x30, 0x30}
	check := func(f frame, role string, want [3]int, what string) {
		t.Helper()
		r := pl[role].Slot
		// Above the centred placeholder text.
		x, y := r.X+r.W/2, r.Y+r.H/5
		if got := f.at(x, y); !near(got, want, 40) {
			t.Errorf("%s: %s at (%d,%d) = %v, want %v", what, role, x, y, got, want)
		}
	}
	f := frameAt(t, out, 300*time.Millisecond)
	check(f, "agent", rgb["red"], "0.3s")
	check(f, "customer", grey, "0.3s (customer starts at 1s)")
	check(f, "guest", grey, "0.3s (guest offset 0.5s)")
	check(f, "short", rgb["blue"], "0.3s")
	// The short clip is 16:9 in a 16:9 slot: contain and cover agree, so
	// look at the letterbox with a 4:3 source instead: agent is 4:3 in
	// cover: no black bars.
	f = frameAt(t, out, 1500*time.Millisecond)
	check(f, "customer", rgb["blue"], "1.5s")
	check(f, "guest", rgb["yellow"], "1.5s")
	check(f, "short", grey, "1.5s (short clip ended at 1s: placeholder, not a frozen frame)")
	// The placeholder text is drawn: its centre row has light pixels.
	r := pl["short"].Slot
	light := 0
	for x := r.X; x < r.X+r.W; x++ {
		if p := f.at(x, r.Y+r.H/2); p[0] > 150 && p[1] > 150 {
			light++
		}
	}
	if light < 3 {
		t.Errorf("placeholder text not visible in the short slot")
	}
}

func TestContainLetterboxes(t *testing.T) {
	l, err := ParseLayout([]byte(`
name: contain
canvas: {width: 320, height: 180}
background: {color: "#00FFFF"}
slots:
  - {role: agent, x: 0, y: 0, width: 1, height: 1, fit: contain}
`))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "contain.mp4")
	m := mixFiles(t, l, 320, 180, out, nil)
	p := m.place(l)[0]
	// 4:3 agent in a 16:9 canvas: 240x180 picture centred, background at the sides.
	if p.Video != (Rect{40, 0, 240, 180}) {
		t.Fatalf("contain rect %+v", p.Video)
	}
	f := frameAt(t, out, time.Second)
	if got := f.at(160, 90); !near(got, rgb["red"], 48) {
		t.Errorf("centre %v, want red", got)
	}
	// The placeholder sits under the picture only, so the bars show the
	// background colour.
	if got := f.at(10, 90); !near(got, [3]int{0, 255, 255}, 48) {
		t.Errorf("left bar %v, want the cyan background", got)
	}
}

func TestBadInputsFailBeforeWork(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	side, _ := Builtin("side-by-side")
	textFile := filepath.Join(dir, "notes.txt")
	os.WriteFile(textFile, []byte("not media"), 0o644)
	audioOnly := filepath.Join(dir, "voice.m4a")
	if err := ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:d=1", "-c:a", "aac", audioOnly); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		inputs []Input
		want   error
		msg    string
	}{
		{"slot naming no input", []Input{{Role: "agent", Path: clip(t, "agent")}}, ErrMissingInput, `slot "customer"`},
		{"input in no slot", []Input{{Role: "agent", Path: clip(t, "agent")}, {Role: "customer", Path: clip(t, "customer")}, {Role: "boss", Path: clip(t, "agent")}}, ErrInput, `role "boss" is in no slot`},
		{"no video stream", []Input{{Role: "agent", Path: clip(t, "agent")}, {Role: "customer", Path: audioOnly}}, ErrInput, "has no video stream"},
		{"not media", []Input{{Role: "agent", Path: clip(t, "agent")}, {Role: "customer", Path: textFile}}, ErrInput, "notes.txt"},
		{"missing file", []Input{{Role: "agent", Path: clip(t, "agent")}, {Role: "customer", Path: filepath.Join(dir, "nope.mp4")}}, ErrInput, "nope.mp4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Layout: side, Inputs: tc.inputs, Output: Output{Path: out, Width: 320, Height: 180}}, nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "out*")); len(m) != 0 {
				t.Fatalf("files written before the error: %v", m)
			}
		})
	}
	// A camera declared off is not an error: it shows the placeholder.
	m := mixFiles(t, side, 320, 180, out, func(c *Config) {
		c.Inputs[1] = Input{Role: "customer", Off: true}
	})
	f := frameAt(t, out, time.Second)
	p := m.place(side)[1]
	if got := f.at(p.Slot.X+p.Slot.W/2, p.Slot.Y+p.Slot.H/6); !near(got, [3]int{0x30, 0x30, 0x30}, 40) {
		t.Fatalf("camera-off slot shows %v, want the placeholder grey", got)
	}
}

// TestCoverCrops: a 4:3 source in a 16:9 slot loses its top and bottom
// eighths (a green band in its top 20 rows must not show) and is not
// squashed (a blue band in the middle keeps its height).
func TestCoverCrops(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bands.mp4")
	if err := ffmpeg("-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=1,drawbox=y=0:w=320:h=20:c=lime:t=fill,drawbox=y=100:w=320:h=40:c=blue:t=fill",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", src); err != nil {
		t.Fatal(err)
	}
	l, _ := Builtin("single")
	l.Labels = false
	out := filepath.Join(dir, "cover.mp4")
	m := mixFiles(t, l, 320, 180, out, func(c *Config) { c.Inputs[0].Path = src })
	if p := m.place(l)[0]; p.Crop != (Crop{Top: 30, Bottom: 30}) {
		t.Fatalf("crop %+v", p.Crop)
	}
	f := frameAt(t, out, 500*time.Millisecond)
	if got := f.at(160, 2); !near(got, rgb["red"], 48) {
		t.Errorf("top row %v: the cropped green band shows", got)
	}
	// 240 rows minus 60 cropped = 180 output rows, unscaled: source rows
	// 100..140 land on 70..110.
	for y, want := range map[int][3]int{64: rgb["red"], 74: rgb["blue"], 106: rgb["blue"], 116: rgb["red"]} {
		if got := f.at(160, y); !near(got, want, 48) {
			t.Errorf("row %d = %v, want %v", y, got, want)
		}
	}
}
