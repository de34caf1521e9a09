package gst

import (
	"errors"
	"testing"

	"github.com/witness-media/witness/pipeline"
)

// TestNewBinWithPadsGhostsTheNamedPads puts a textoverlay (whose text_sink
// stays unlinked) in the middle of a bin: the ghosted sink must be the
// named element's, so the bin links and frames flow through it.
func TestNewBinWithPadsGhostsTheNamedPads(t *testing.T) {
	ctx := testCtx(t)
	p, err := New(t.Name(), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	src, err := NewBinWithPads("src", "videotestsrc name=s pattern=red num-buffers=3 ! video/x-raw,width=64,height=48 ! identity name=o", "", "o")
	if err != nil {
		t.Fatal(err)
	}
	mid, err := NewBinWithPads("mid", "queue name=in ! textoverlay text=x ! videoconvert name=o", "in", "o")
	if err != nil {
		t.Fatal(err)
	}
	sink, err := NewBinWithPads("sink", "videoconvert name=in ! video/x-raw,format=RGB ! appsink name=out sync=false", "in", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*Bin{src, mid, sink} {
		if err := p.Add(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Link(src, mid); err != nil {
		t.Fatal(err)
	}
	if err := p.Link(mid, sink); err != nil {
		t.Fatal(err)
	}
	out, err := p.Sink("out")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := out.Run(ctx, func(pk pipeline.Packet) {
		if isRed(pk.Video, 60, 2) {
			n++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d red frames through the bins, want 3", n)
	}
	if _, err := NewBinWithPads("bad", "queue name=q", "nosuch", ""); !errors.Is(err, ErrNoElement) {
		t.Fatalf("got %v, want ErrNoElement", err)
	}
}
