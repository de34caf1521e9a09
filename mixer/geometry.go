package mixer

import (
	"math"
	"sort"
)

// Rect is a pixel rectangle on the canvas.
type Rect struct{ X, Y, W, H int }

// Centre returns the rectangle's centre point.
func (r Rect) Centre() (x, y int) { return r.X + r.W/2, r.Y + r.H/2 }

// Crop is how many source pixels to cut from each edge (cover fit).
type Crop struct{ Left, Right, Top, Bottom int }

// Placement is where one slot's pieces go on a canvas of a given size: the
// values that become compositor pad properties (and videocrop crops).
type Placement struct {
	Role   string
	Slot   Rect // the whole slot
	Video  Rect // where the picture is drawn: Slot for cover, letterboxed for contain
	Crop   Crop // source crop so a cover picture keeps its aspect ratio
	Border Rect // the slot grown by the border width; zero W when no border
	Label  Rect // label box in the slot's bottom-left corner; zero W when no label
	Text   string
	// Zorder of the slot's lowest pad; border, placeholder, picture and
	// label use Zorder..Zorder+3 so slots never interleave.
	Zorder int
}

// LabelFontPx is the label font size in pixels for a canvas height.
func LabelFontPx(canvasH int) int {
	return clamp(canvasH/28, 10, 36)
}

// Place computes every slot's placement on a w×h canvas. src gives each
// role's source picture size when known (for cover crops and contain
// letterboxing); roles missing from src are placed as if they matched the
// slot. labels overrides slot label text per role. It is pure: the same
// inputs always give the same pixels, which is what the tests check.
func (l *Layout) Place(w, h int, src map[string]Size, labels map[string]string) []Placement {
	order := make([]int, len(l.Slots))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return l.Slots[order[a]].Z < l.Slots[order[b]].Z })
	rank := make([]int, len(l.Slots))
	for r, i := range order {
		rank[i] = r
	}
	short := min(w, h)
	font := LabelFontPx(h)
	out := make([]Placement, len(l.Slots))
	for i, s := range l.Slots {
		sw, sh := even(s.Width*float64(w)), even(s.Height*float64(h))
		var x, y int
		m := even(s.Margin * float64(short))
		switch s.Anchor {
		case "":
			x, y = even(s.X*float64(w)), even(s.Y*float64(h))
		case "top-left":
			x, y = m, m
		case "top-right":
			x, y = w-sw-m, m
		case "bottom-left":
			x, y = m, h-sh-m
		case "bottom-right":
			x, y = w-sw-m, h-sh-m
		case "center":
			x, y = (w-sw)/2&^1, (h-sh)/2&^1
		}
		// Fractions like 1/3 round to even pixels; keep the slot inside.
		sw, sh = min(sw, w-x), min(sh, h-y)
		p := Placement{Role: s.Role, Slot: Rect{x, y, sw, sh}, Zorder: 1 + 4*rank[i]}
		p.Video = p.Slot
		if sz, ok := src[s.Role]; ok && sz.Width > 0 && sz.Height > 0 {
			if s.Fit == FitContain {
				p.Video = contain(p.Slot, sz)
			} else {
				p.Crop = cover(p.Slot, sz)
			}
		}
		if b := s.Border.Width * h / max(l.Canvas.Height, 1); s.Border.Width > 0 {
			b = max(b, 1)
			v := p.Video
			p.Border = Rect{max(v.X-b, 0), max(v.Y-b, 0), 0, 0}
			p.Border.W = min(v.X+v.W+b, w) - p.Border.X
			p.Border.H = min(v.Y+v.H+b, h) - p.Border.Y
		}
		text := s.Label
		if t, ok := labels[s.Role]; ok {
			text = t
		}
		if text == "" && l.Labels {
			text = s.Role
		}
		if text != "" {
			p.Text = text
			lh := even(float64(font) * 1.8)
			lw := even(textWidth(text, font) + float64(font))
			pad := even(float64(font) / 2)
			v := p.Video
			lw = min(lw, v.W-2*pad)
			if lw > 0 && lh < v.H-2*pad {
				p.Label = Rect{v.X + pad, v.Y + v.H - lh - pad, lw, lh}
			}
		}
		out[i] = p
	}
	return out
}

// textWidth estimates rendered width: CJK glyphs are about one em wide,
// Latin about 0.6 em. Only the label box size depends on it.
func textWidth(s string, font int) float64 {
	var wd float64
	for _, r := range s {
		if r >= 0x2E80 {
			wd += float64(font)
		} else {
			wd += 0.6 * float64(font)
		}
	}
	return wd
}

// contain fits a picture of size sz inside r keeping its aspect ratio,
// centred, with even coordinates (I420 chroma is subsampled by two).
func contain(r Rect, sz Size) Rect {
	sa := float64(sz.Width) / float64(sz.Height)
	ra := float64(r.W) / float64(r.H)
	if sa > ra {
		hh := even(float64(r.W) / sa)
		return Rect{r.X, r.Y + (r.H-hh)/2&^1, r.W, hh}
	}
	ww := even(float64(r.H) * sa)
	return Rect{r.X + (r.W-ww)/2&^1, r.Y, ww, r.H}
}

// cover crops a picture of size sz so its aspect ratio matches r; the
// compositor then scales it to fill r without distortion.
func cover(r Rect, sz Size) Crop {
	sa := float64(sz.Width) / float64(sz.Height)
	ra := float64(r.W) / float64(r.H)
	if math.Abs(sa-ra) < 0.005 {
		return Crop{}
	}
	if sa > ra { // source wider: cut the sides
		keep := int(math.Round(float64(sz.Height) * ra))
		cut := sz.Width - keep
		// Even left/top edges keep I420 chroma aligned.
		return Crop{Left: cut / 2 &^ 1, Right: cut - cut/2&^1}
	}
	keep := int(math.Round(float64(sz.Width) / ra))
	cut := sz.Height - keep
	return Crop{Top: cut / 2, Bottom: cut - cut/2}
}

func even(f float64) int { return int(math.Round(f/2)) * 2 }

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
