package gst

import (
	"fmt"

	"github.com/go-gst/go-gst/gst"
)

// NewBinWithPads builds a bin from gst-launch syntax and ghosts exactly the
// pads named: the "sink" pad of element sinkElem and the "src" pad of
// element srcElem (either may be "" for a source-only or sink-only bin).
// NewBin ghosts the first unlinked pads GStreamer finds, which is ambiguous
// when an element has an optional input (textoverlay's text_sink), so
// builders with such elements use this instead.
func NewBinWithPads(name, description, sinkElem, srcElem string) (*Bin, error) {
	Init()
	b, err := gst.NewBinFromString(description, false)
	if err != nil {
		return nil, fmt.Errorf("%w: bin %s: %v", ErrParse, name, err)
	}
	if err := b.SetProperty("name", name); err != nil {
		return nil, fmt.Errorf("%w: bin %s: %v", ErrParse, name, err)
	}
	ghost := func(elem, pad string) error {
		if elem == "" {
			return nil
		}
		e, err := b.GetElementByName(elem)
		if err != nil || e == nil {
			return fmt.Errorf("%w: %q in bin %s", ErrNoElement, elem, name)
		}
		target := e.GetStaticPad(pad)
		if target == nil {
			return fmt.Errorf("%w: pad %s.%s in bin %s", ErrNoElement, elem, pad, name)
		}
		g := gst.NewGhostPad(pad, target)
		if g == nil || !b.AddPad(g.Pad) {
			return fmt.Errorf("%w: ghost pad %s.%s in bin %s", ErrParse, elem, pad, name)
		}
		return nil
	}
	if err := ghost(sinkElem, "sink"); err != nil {
		return nil, err
	}
	if err := ghost(srcElem, "src"); err != nil {
		return nil, err
	}
	return &Bin{name: name, bin: b}, nil
}
