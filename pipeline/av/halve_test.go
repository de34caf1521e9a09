package av

import (
	"bytes"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/witness-media/witness/pipeline"
)

// eachVideoFrame decodes the video of path and calls fn with every decoded
// frame and the stream's converter (set up for the given output size).
func eachVideoFrame(t *testing.T, path string, w, h int, fn func(c *videoConverter, f *astiav.Frame)) {
	t.Helper()
	d, err := Open(path, Options{VideoFormat: pipeline.PixelI420, Width: w, Height: h, Video: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for d.in.fc.ReadFrame(d.pkt) == nil {
		if sd := d.streams[d.pkt.StreamIndex()]; sd != nil && sd.video != nil {
			if err := sd.cc.SendPacket(d.pkt); err != nil {
				t.Fatal(err)
			}
			for sd.cc.ReceiveFrame(d.frame) == nil {
				fn(sd.video, d.frame)
				d.frame.Unref()
			}
		}
		d.pkt.Unref()
	}
}

// The fast 2:1 path must give what swscale's bilinear mode gives, to
// within rounding (swscale works in 15-bit fixed point).
func TestHalveMatchesSwscale(t *testing.T) {
	path := fixture(t, "bench.mp4") // testsrc2 640x360: edges, gradients, text
	const w, h = 320, 180
	frames, total, diffs := 0, 0, 0
	eachVideoFrame(t, path, w, h, func(c *videoConverter, f *astiav.Frame) {
		fast, err := c.convert(f)
		if err != nil {
			t.Fatal(err)
		}
		if !c.half {
			t.Fatal("yuv420p 640x360 to 320x180 did not take the fast path")
		}
		c.half = false // the same converter through swscale
		slow, err := c.convert(f)
		c.half = true
		if err != nil {
			t.Fatal(err)
		}
		if len(fast.Data) != len(slow.Data) || fast.Stride != slow.Stride || fast.Width != w || fast.Height != h {
			t.Fatalf("fast path gives %dx%d stride %v, %d bytes; swscale %dx%d stride %v, %d bytes",
				fast.Width, fast.Height, fast.Stride, len(fast.Data), slow.Width, slow.Height, slow.Stride, len(slow.Data))
		}
		for i := range fast.Data {
			d := int(fast.Data[i]) - int(slow.Data[i])
			if d < -1 || d > 1 {
				t.Fatalf("frame %d byte %d: fast path %d, swscale %d", frames, i, fast.Data[i], slow.Data[i])
			}
			if d != 0 {
				diffs++
			}
		}
		total += len(fast.Data)
		frames++
	})
	if frames == 0 {
		t.Fatal("no frames")
	}
	// Off-by-one rounding is rare; a wrong filter would differ everywhere.
	if share := float64(diffs) / float64(total); share > 0.05 {
		t.Errorf("%.1f%% of bytes differ from swscale by 1", 100*share)
	}
}

// Anything but limited-range yuv420p halved exactly goes through swscale.
func TestHalveFallsBack(t *testing.T) {
	eachVideoFrame(t, fixture(t, "quad709full.mp4"), fixW/2, fixH/2, func(c *videoConverter, f *astiav.Frame) {
		if _, err := c.convert(f); err != nil {
			t.Fatal(err)
		}
		if c.half {
			t.Fatal("full-range source took the fast path (it needs swscale's range conversion)")
		}
	})
	eachVideoFrame(t, fixture(t, "quad.mp4"), fixW/2, fixH/2, func(c *videoConverter, f *astiav.Frame) {
		n := fixW/2*fixH/2 + 2*(fixW/4)*(fixH/4)
		if !halveYUV420P(f, make([]byte, n), fixW/2, fixH/2) {
			t.Fatal("halveYUV420P refused an exact 2:1 yuv420p frame")
		}
		for _, bad := range []struct{ n, w, h int }{
			{n - 1, fixW / 2, fixH / 2}, // buffer too short
			{n, fixW/2 - 2, fixH / 2},   // not 2:1
			{n, fixW / 2, fixH/2 + 2},   // not 2:1
			{n, fixW/2 + 1, fixH/2 + 1}, // odd output
			{0, fixW / 2, fixH / 2},     // no buffer
		} {
			if halveYUV420P(f, make([]byte, bad.n), bad.w, bad.h) {
				t.Fatalf("halveYUV420P accepted %d bytes for %dx%d from %dx%d", bad.n, bad.w, bad.h, f.Width(), f.Height())
			}
		}
	})
	eachVideoFrame(t, fixture(t, "quad.mp4"), fixW/2+2, 0, func(c *videoConverter, f *astiav.Frame) {
		if _, err := c.convert(f); err != nil {
			t.Fatal(err)
		}
		if c.half {
			t.Fatal("a size other than half took the fast path")
		}
	})
}

// Options.VideoBuffer supplies the picture buffers; short ones are ignored,
// and the pictures are the same as with buffers of the decoder's own.
func TestVideoBuffer(t *testing.T) {
	path := fixture(t, "bench.mp4")
	for _, opts := range []Options{
		{VideoFormat: pipeline.PixelI420, Width: 320}, // fast path
		{VideoFormat: pipeline.PixelI420, Width: 200}, // swscale
		{VideoFormat: pipeline.PixelRGBA, Width: 320}, // swscale
		{VideoFormat: pipeline.PixelI420},             // copied as decoded
	} {
		want := videoFrames(mustItems(t, path, opts))
		var free [][]byte
		calls := 0
		opts.VideoBuffer = func(n int) []byte {
			calls++
			if calls%3 == 0 {
				return make([]byte, n-1) // too short: must be ignored
			}
			if len(free) > 0 {
				b := free[len(free)-1]
				free = free[:len(free)-1]
				return b
			}
			return make([]byte, n+7) // longer is fine
		}
		var got []*pipeline.VideoFrame
		_, err := Decode(t.Context(), path, opts, func(it *Item) error {
			if it.Video != nil {
				vf := *it.Video
				vf.Data = bytes.Clone(vf.Data)
				got = append(got, &vf)
				free = append(free, it.Video.Data) // recycle at once
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != len(want) || len(got) != len(want) {
			t.Fatalf("%s %dx%d: %d buffers asked for %d frames (%d without VideoBuffer)", opts.VideoFormat,
				opts.Width, opts.Height, calls, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Stride != want[i].Stride {
				t.Fatalf("%s %dx%d: frame %d differs with recycled buffers", opts.VideoFormat, opts.Width, opts.Height, i)
			}
		}
	}
}
