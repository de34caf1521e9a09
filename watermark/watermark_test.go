package watermark

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
)

const w, h = 320, 180

// logo writes a 40x20 PNG: opaque magenta left half, fully transparent
// right half.
func logo(t *testing.T) string {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 20; x++ {
			img.Set(x, y, color.NRGBA{255, 0, 255, 255})
		}
	}
	p := filepath.Join(t.TempDir(), "logo.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// render runs 3 s of 10 fps grey video through the marks (nil: none) as a
// Bin between a source bin and a sink bin, and returns the frames.
func render(t *testing.T, s *Set) []*pipeline.VideoFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := gst.New(t.Name(), gst.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	src, err := gst.NewBin("src", "videotestsrc pattern=solid-color foreground-color=0xFF808080 num-buffers=30 ! video/x-raw,format=I420,width=320,height=180,framerate=10/1 ! identity")
	if err != nil {
		t.Fatal(err)
	}
	sink, err := gst.NewBin("sink", "videoconvert ! video/x-raw,format=RGB ! appsink name=out sync=false")
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		s = &Set{}
	}
	wm, anims, err := s.NewBin("wm", w, h, 3*time.Second, time.Date(2024, 5, 1, 6, 3, 22, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*gst.Bin{src, wm, sink} {
		if err := p.Add(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Link(src, wm); err != nil {
		t.Fatal(err)
	}
	if err := p.Link(wm, sink); err != nil {
		t.Fatal(err)
	}
	if err := Apply(p, anims); err != nil {
		t.Fatal(err)
	}
	out, err := p.Sink("out")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var frames []*pipeline.VideoFrame
	if err := out.Run(ctx, func(pk pipeline.Packet) { frames = append(frames, pk.Video) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if len(frames) != 30 {
		t.Fatalf("%d frames", len(frames))
	}
	return frames
}

// diff counts pixels in r that differ by more than 40 on some channel.
func diff(a, b *pipeline.VideoFrame, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1 := a.RGBAt(x, y)
			r2, g2, b2 := b.RGBAt(x, y)
			if absd(r1, r2) > 40 || absd(g1, g2) > 40 || absd(b1, b2) > 40 {
				n++
			}
		}
	}
	return n
}

func absd(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func corner(pos string) image.Rectangle {
	switch pos {
	case "top-left":
		return image.Rect(0, 0, w/2, h/3)
	case "top-right":
		return image.Rect(w/2, 0, w, h/3)
	case "bottom-left":
		return image.Rect(0, 2*h/3, w/2, h)
	}
	return image.Rect(w/2, 2*h/3, w, h)
}

func TestMarksChangeTheirRegions(t *testing.T) {
	logoPath := logo(t)
	op := 1.0
	s, err := Parse([]byte(`
watermarks:
  - {type: text, text: "中国某银行 双录专用", position: bottom-right, size: 28}
  - {type: timestamp, start: "2024-05-01T14:03:22+08:00", timezone: Asia/Shanghai, format: "%H:%M:%S", size: 40}
  - {type: location, text: "天津市河西区 39.10N 117.20E", size: 28}
  - {type: image, path: "` + logoPath + `", position: top-right, width: 0.25}
`))
	if err != nil {
		t.Fatal(err)
	}
	s.Marks[3].Opacity = &op
	plain := render(t, nil)
	marked := render(t, s)
	for i, pos := range []string{"bottom-right", "top-left", "bottom-left", "top-right"} {
		if n := diff(plain[5], marked[5], corner(pos)); n < 50 {
			t.Errorf("mark %d (%s): only %d pixels differ in its corner", i, s.Marks[i].Type, n)
		}
	}
	// The centre stays untouched.
	if n := diff(plain[5], marked[5], image.Rect(w/3, h/3, 2*w/3, 2*h/3)); n != 0 {
		t.Errorf("%d pixels differ in the centre", n)
	}
	// Logo: 80 px wide at the top right (16 px margin scaled to 4): opaque
	// magenta left half, transparent right half.
	x0 := w - 80 - 4
	if r, g, b := marked[5].RGBAt(x0+20, 4+10); r < 200 || g > 60 || b < 200 {
		t.Errorf("logo opaque half = %d,%d,%d, want magenta", r, g, b)
	}
	if r, g, b := marked[5].RGBAt(x0+60, 4+10); absd(r, 128) > 20 || absd(g, 128) > 20 || absd(b, 128) > 20 {
		t.Errorf("logo transparent half = %d,%d,%d, want the grey underneath", r, g, b)
	}
	// The timestamp advances with media time: frames 1 s apart differ in
	// its region, frames 0.1 s apart within the same second do not.
	ts := corner("top-left")
	if n := diff(marked[2], marked[12], ts); n < 5 {
		t.Errorf("timestamp region did not change between 0.2 s and 1.2 s (%d px)", n)
	}
	if n := diff(marked[12], marked[22], ts); n < 5 {
		t.Errorf("timestamp region did not change between 1.2 s and 2.2 s (%d px)", n)
	}
	if n := diff(marked[2], marked[3], ts); n != 0 {
		t.Errorf("timestamp region changed within one second (%d px)", n)
	}
}

func TestTimestampEpochAndZone(t *testing.T) {
	m := Mark{Type: KindTimestamp, Start: "2024-05-01T06:03:22Z", TimeZone: "Asia/Shanghai", Format: "%Y-%m-%d %H:%M:%S %Z (%z)"}
	epoch, format, err := m.epoch(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if epoch != "2024-05-01T14:03:22.000Z" || format != "%Y-%m-%d %H:%M:%S CST (+0800)" {
		t.Fatalf("epoch %q format %q", epoch, format)
	}
}

func TestMovingMarkDrifts(t *testing.T) {
	s, err := Parse([]byte(`
watermarks:
  - {type: moving, text: "内部资料 INTERNAL", period: 1, size: 30}
`))
	if err != nil {
		t.Fatal(err)
	}
	plain := render(t, nil)
	marked := render(t, s)
	// Where the mark is at 0 s, 1 s and 2 s (the changed pixels' centroid):
	// one crossing per period, so left, right, left again.
	centroid := func(i int) (float64, float64) {
		var sx, sy, n float64
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if diff(plain[i], marked[i], image.Rect(x, y, x+1, y+1)) > 0 {
					sx, sy, n = sx+float64(x), sy+float64(y), n+1
				}
			}
		}
		if n == 0 {
			t.Fatalf("frame %d: mark not drawn", i)
		}
		return sx / n, sy / n
	}
	x0, y0 := centroid(0)
	x1, y1 := centroid(10)
	x2, _ := centroid(20)
	if x1-x0 < 60 || y1-y0 < 30 {
		t.Errorf("mark did not drift right and down: (%.0f,%.0f) -> (%.0f,%.0f)", x0, y0, x1, y1)
	}
	if x1-x2 < 60 {
		t.Errorf("mark did not come back after the period: x %.0f -> %.0f", x1, x2)
	}
}

func TestBadSpecs(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want error
		msg  string
	}{
		{`watermarks: [{type: text, text: a, colour: "#FFFFFF"}]`, ErrSpec, "colour"},
		{`watermarks: [{type: image, path: /nonexistent/logo.png}]`, ErrImage, "/nonexistent/logo.png"},
		{`watermarks: [{type: image, path: ` + os.Args[0] + `}]`, ErrImage, "unknown format"},
		{`watermarks: [{type: timestamp, timezone: Mars/Olympus}]`, ErrSpec, "Mars/Olympus"},
		{`watermarks: [{type: banner, text: a}]`, ErrSpec, "banner"},
		{`watermarks: [{type: text, text: a, position: middle}]`, ErrSpec, "middle"},
	} {
		_, err := Parse([]byte(tc.spec))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want %v mentioning %q", tc.spec, err, tc.want, tc.msg)
		}
	}
}
