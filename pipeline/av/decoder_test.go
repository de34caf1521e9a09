package av

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// colourTol is how far a decoded 8-bit channel may be from the source after
// H.264 (4:2:0 chroma, quantisation) and YUV->RGB rounding.
const colourTol = 12

func checkColour(t *testing.T, what string, vf *pipeline.VideoFrame, x, y int, want [3]uint8) {
	t.Helper()
	r, g, b := vf.RGBAt(x, y)
	for i, got := range [3]uint8{r, g, b} {
		if math.Abs(float64(got)-float64(want[i])) > colourTol {
			t.Errorf("%s: pixel (%d,%d) = (%d,%d,%d), want about %v", what, x, y, r, g, b, want)
			return
		}
	}
}

var (
	red  = [3]uint8{255, 0, 0}
	blue = [3]uint8{0, 0, 255}
)

func videoFrames(items []*Item) []*pipeline.VideoFrame {
	var out []*pipeline.VideoFrame
	for _, it := range items {
		if it.Video != nil {
			out = append(out, it.Video)
		}
	}
	return out
}

// audioChannel concatenates channel ch of every audio item.
func audioChannel(items []*Item, ch int) ([]float32, int) {
	var out []float32
	rate := 0
	for _, it := range items {
		if it.Audio != nil {
			out = append(out, it.Audio.Float(ch)...)
			rate = it.Audio.SampleRate
		}
	}
	return out, rate
}

func TestDecodeMP4Content(t *testing.T) {
	items, st := decodeAll(t, fixture(t, "av.mp4"), Options{})
	frames := videoFrames(items)
	if want := fixFPS * fixSeconds; len(frames) != want {
		t.Errorf("%d video frames, want %d", len(frames), want)
	}
	for i, vf := range frames {
		if err := vf.Validate(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if vf.Format != pipeline.PixelRGBA || vf.Width != fixW || vf.Height != fixH || vf.Stride[0] != fixW*4 {
			t.Fatalf("frame %d: %s %dx%d stride %v", i, vf.Format, vf.Width, vf.Height, vf.Stride)
		}
		if i%10 == 0 {
			checkColour(t, "RGBA", vf, 0, 0, red)
			checkColour(t, "RGBA", vf, fixW/2, fixH/2, red)
			checkColour(t, "RGBA", vf, fixW-1, fixH-1, red)
		}
		if i > 0 {
			if step := vf.PTS - frames[i-1].PTS; step != 40*time.Millisecond {
				t.Errorf("frame %d: PTS step %v, want 40ms", i, step)
			}
		}
		if vf.Duration != 40*time.Millisecond {
			t.Errorf("frame %d: duration %v", i, vf.Duration)
		}
	}
	if len(frames) > 0 && frames[0].PTS != 0 {
		t.Errorf("first video PTS %v, want 0", frames[0].PTS)
	}

	samples, rate := audioChannel(items, 0)
	if rate != fixRate {
		t.Fatalf("audio rate %d", rate)
	}
	if got := float64(len(samples)) / float64(rate); !near(got, fixSeconds, 0.05) {
		t.Errorf("%.3fs of audio, want %ds", got, fixSeconds)
	}
	if f := toneFrequency(samples, rate); !near(f, fixTone, 3) {
		t.Errorf("tone %.1f Hz, want %.0f", f, fixTone)
	}
	var last time.Duration = -1
	for _, it := range items {
		if it.Audio == nil {
			continue
		}
		if err := it.Audio.Validate(); err != nil {
			t.Fatal(err)
		}
		if it.Audio.Format != pipeline.SampleF32 || it.Audio.Channels != 1 || it.Stream != 1 {
			t.Fatalf("audio item %+v", it.Audio)
		}
		if last >= 0 && (it.Audio.PTS <= last) {
			t.Errorf("audio PTS %v after %v", it.Audio.PTS, last)
		}
		last = it.Audio.PTS
	}

	v, a := st.Stream(0), st.Stream(1)
	if v.Packets != 50 || v.Frames != 50 || v.Errors != 0 || v.LastPTS != 1960*time.Millisecond || !v.Decoded {
		t.Errorf("video stats %+v", v)
	}
	if a.Packets < 90 || a.Frames < 90 || a.Errors != 0 {
		t.Errorf("audio stats %+v", a)
	}
	if st.PrematureEnd || st.ErrorCount != 0 || !st.Done {
		t.Errorf("stats of a clean file: %+v", st)
	}
}

// TestDecodeFormats checks each output pixel format on a picture whose
// bottom-right quarter is blue, so rows, columns and strides all matter.
func TestDecodeFormats(t *testing.T) {
	path := fixture(t, "quad.mp4")
	cases := []struct {
		name string
		opts Options
		w, h int
	}{
		{"RGBA", Options{VideoFormat: pipeline.PixelRGBA}, fixW, fixH},
		{"RGB", Options{VideoFormat: pipeline.PixelRGB}, fixW, fixH},
		{"I420", Options{VideoFormat: pipeline.PixelI420}, fixW, fixH},
		{"RGBA scaled", Options{Width: 160, Height: 120}, 160, 120},
		{"I420 odd size", Options{VideoFormat: pipeline.PixelI420, Width: 161, Height: 121}, 161, 121},
		{"width only", Options{Width: 160}, 160, 120},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frames := videoFrames(mustItems(t, path, c.opts))
			if len(frames) != 25 {
				t.Fatalf("%d frames, want 25", len(frames))
			}
			vf := frames[12]
			if err := vf.Validate(); err != nil {
				t.Fatal(err)
			}
			if vf.Width != c.w || vf.Height != c.h {
				t.Fatalf("size %dx%d, want %dx%d", vf.Width, vf.Height, c.w, c.h)
			}
			wantLen := c.w * c.h * vf.Format.BytesPerPixel()
			if vf.Format == pipeline.PixelI420 {
				cw, ch := (c.w+1)/2, (c.h+1)/2
				wantLen = c.w*c.h + 2*cw*ch
				if vf.Stride != [3]int{c.w, cw, cw} {
					t.Errorf("I420 strides %v", vf.Stride)
				}
			}
			if len(vf.Data) != wantLen {
				t.Errorf("%d bytes, want %d", len(vf.Data), wantLen)
			}
			// Sample away from the quadrant edges (chroma is 2x2 subsampled).
			checkColour(t, c.name, vf, c.w/4, c.h/4, red)
			checkColour(t, c.name, vf, c.w*3/4, c.h/4, red)
			checkColour(t, c.name, vf, c.w/4, c.h*3/4, red)
			checkColour(t, c.name, vf, c.w*3/4, c.h*3/4, blue)
		})
	}
}

func TestDecodeGray(t *testing.T) {
	frames := videoFrames(mustItems(t, fixture(t, "quad.mp4"), Options{VideoFormat: pipeline.PixelGray}))
	if len(frames) == 0 {
		t.Fatal("no frames")
	}
	vf := frames[0]
	if vf.Format != pipeline.PixelGray || vf.Stride[0] != fixW || len(vf.Data) != fixW*fixH {
		t.Fatalf("gray frame %s stride %v len %d", vf.Format, vf.Stride, len(vf.Data))
	}
	// BT.601 luma: red 0.299*255 = 76, blue 0.114*255 = 29.
	if y := vf.Data[(fixH/4)*fixW+fixW/4]; !near(float64(y), 76, 8) {
		t.Errorf("red luma %d, want about 76", y)
	}
	if y := vf.Data[(fixH*3/4)*fixW+fixW*3/4]; !near(float64(y), 29, 8) {
		t.Errorf("blue luma %d, want about 29", y)
	}
}

// TestDecodeBT709FullRange: phones record full-range BT.709; decoding with
// the default (limited BT.601) matrix would give wrong colours.
func TestDecodeBT709FullRange(t *testing.T) {
	frames := videoFrames(mustItems(t, fixture(t, "quad709full.mp4"), Options{}))
	if len(frames) == 0 {
		t.Fatal("no frames")
	}
	checkColour(t, "709", frames[5], fixW/4, fixH/4, red)
	checkColour(t, "709", frames[5], fixW*3/4, fixH*3/4, blue)
}

func TestDecodeContainers(t *testing.T) {
	for _, name := range []string{"av.mkv", "av.webm", "av.ts"} {
		t.Run(name, func(t *testing.T) {
			items, st := decodeAll(t, fixture(t, name), Options{VideoFormat: pipeline.PixelI420})
			frames := videoFrames(items)
			if len(frames) < 49 || len(frames) > 51 {
				t.Errorf("%d frames, want about 50", len(frames))
			}
			for i, vf := range frames {
				if i > 0 {
					if step := vf.PTS - frames[i-1].PTS; step < 39*time.Millisecond || step > 41*time.Millisecond {
						t.Fatalf("frame %d: PTS step %v", i, step)
					}
				}
			}
			checkColour(t, name, frames[len(frames)/2], fixW/2, fixH/2, red)
			samples, rate := audioChannel(items, 0)
			if f := toneFrequency(samples, rate); !near(f, fixTone, 3) {
				t.Errorf("tone %.1f Hz", f)
			}
			if st.PrematureEnd || st.ErrorCount != 0 {
				t.Errorf("clean file reported damaged: %s", st.Summary())
			}
		})
	}
}

// TestDecodeAudioFormats decodes a stereo file (440 Hz left, 1000 Hz right)
// stored planar (AAC: fltp) and packed (WAV u8, s16, s32, f64) to both
// output formats; a channel mix-up or wrong scaling shows in the tones.
func TestDecodeAudioFormats(t *testing.T) {
	for _, name := range []string{"stereo.mp4", "stereo_u8.wav", "stereo_s16.wav", "stereo_s32.wav", "stereo_f64.wav"} {
		for _, format := range []pipeline.SampleFormat{pipeline.SampleF32, pipeline.SampleS16} {
			t.Run(name+"/"+string(format), func(t *testing.T) {
				items := mustItems(t, fixture(t, name), Options{AudioFormat: format})
				var n int
				for _, it := range items {
					if it.Audio == nil || it.Audio.Format != format || it.Audio.Channels != 2 {
						t.Fatalf("item %+v", it)
					}
					n += it.Audio.Samples()
				}
				if !near(float64(n), 48000, 1100) {
					t.Errorf("%d samples per channel, want about 48000", n)
				}
				left, rate := audioChannel(items, 0)
				right, _ := audioChannel(items, 1)
				if f := toneFrequency(left, rate); !near(f, 440, 3) {
					t.Errorf("left %.1f Hz, want 440", f)
				}
				if f := toneFrequency(right, rate); !near(f, 1000, 5) {
					t.Errorf("right %.1f Hz, want 1000", f)
				}
				if p := goertzel(left[4800:], rate, 440); p < 0.8 {
					t.Errorf("left 440 Hz power %.2f", p)
				}
				if p := goertzel(left[4800:], rate, 1000); p > 0.05 {
					t.Errorf("right channel leaks into left: %.2f", p)
				}
				// Amplitude 0.5: RMS 0.354 (checks the scale of each format).
				var sum float64
				for _, v := range left[4800:] {
					sum += float64(v) * float64(v)
				}
				if rms := math.Sqrt(sum / float64(len(left)-4800)); !near(rms, 0.354, 0.03) {
					t.Errorf("RMS %.3f, want 0.354", rms)
				}
			})
		}
	}
}

func TestDecodeSelectors(t *testing.T) {
	path := fixture(t, "av.mp4")
	for _, c := range []struct {
		name         string
		opts         Options
		video, audio bool
	}{
		{"default", Options{}, true, true},
		{"video", Options{Video: true}, true, false},
		{"audio", Options{Audio: true}, false, true},
		{"streams", Options{Streams: []int{1}}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, st := decodeAll(t, path, c.opts)
			var v, a bool
			for _, it := range items {
				v = v || it.Video != nil
				a = a || it.Audio != nil
			}
			if v != c.video || a != c.audio {
				t.Errorf("video %v audio %v, want %v %v", v, a, c.video, c.audio)
			}
			// Packets of every stream are counted even when not decoded.
			if st.Stream(0).Packets != 50 || st.Stream(1).Packets == 0 {
				t.Errorf("packets %d/%d", st.Stream(0).Packets, st.Stream(1).Packets)
			}
			if !c.video && (st.Stream(0).Decoded || st.Stream(0).Frames != 0) {
				t.Errorf("video decoded although not selected: %+v", st.Stream(0))
			}
		})
	}
}

func TestDecodeContext(t *testing.T) {
	path := fixture(t, "av.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	st, err := Decode(ctx, path, Options{}, func(it *Item) error {
		n++
		if n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 10 || st == nil {
		t.Errorf("after cancel: err %v, %d items, stats %v", err, n, st)
	}

	stop := errors.New("enough")
	_, err = Decode(context.Background(), path, Options{}, func(*Item) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}

	st, err = Decode(context.Background(), path, Options{}, nil)
	if err != nil || st.Stream(0).Frames != 50 {
		t.Errorf("nil callback: %v %+v", err, st)
	}
}

func TestDecoderClose(t *testing.T) {
	d, err := Open(fixture(t, "av.mp4"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if d.Info() == nil || len(d.Info().Streams) != 2 {
		t.Errorf("Info %+v", d.Info())
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Next(); !errors.Is(err, pipeline.ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
	_ = d.Stats() // still readable
}

func TestDecodeEOFRepeats(t *testing.T) {
	d, err := Open(fixture(t, "stereo_s16.wav"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for {
		if _, err := d.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	if _, err := d.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("second Next at end: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	path := fixture(t, "av.mp4")
	for _, o := range []Options{
		{VideoFormat: "NV12"},
		{AudioFormat: "S24"},
		{Width: -1},
	} {
		if _, err := Open(path, o); !errors.Is(err, pipeline.ErrUnsupported) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestConcurrentDecoders runs decoders in parallel (under -race this also
// exercises the shared FFmpeg log callback).
func TestConcurrentDecoders(t *testing.T) {
	paths := []string{fixture(t, "av.mp4"), fixture(t, "av.mkv"), truncated(t, fixture(t, "av.mp4"), 0.4)}
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Decode(context.Background(), p, Options{VideoFormat: pipeline.PixelGray}, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func mustItems(t testing.TB, path string, opts Options) []*Item {
	items, _ := decodeAll(t, path, opts)
	return items
}

func BenchmarkDecode(b *testing.B) {
	path := fixture(b, "bench.mp4")
	for _, format := range []pipeline.PixelFormat{pipeline.PixelI420, pipeline.PixelRGBA} {
		b.Run(string(format), func(b *testing.B) {
			frames := 0
			for b.Loop() {
				st, err := Decode(context.Background(), path, Options{VideoFormat: format, Threads: 1}, nil)
				if err != nil {
					b.Fatal(err)
				}
				frames += int(st.Stream(0).Frames)
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
