package gst

import (
	"fmt"

	"github.com/go-gst/go-gst/gst"
)

// Bin is a self-contained piece of a pipeline with ghost pads, the unit that
// builders (mixer, watermark, recorders) return.
type Bin struct {
	name string
	bin  *gst.Bin
}

// NewBin builds a bin from gst-launch syntax; unlinked pads become ghost pads.
func NewBin(name, description string) (*Bin, error) {
	Init()
	b, err := gst.NewBinFromString(description, true)
	if err != nil {
		return nil, fmt.Errorf("%w: bin %s: %v", ErrParse, name, err)
	}
	if err := b.SetProperty("name", name); err != nil {
		return nil, fmt.Errorf("%w: bin %s: %v", ErrParse, name, err)
	}
	return &Bin{name: name, bin: b}, nil
}

// Name returns the bin's name.
func (b *Bin) Name() string { return b.name }
