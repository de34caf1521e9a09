package models

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// facePhoto is a real photograph with one face (Lionel Messi, 548x342),
// shipped by Debian's opencv-doc package.
const facePhoto = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"

func TestMain(m *testing.M) {
	code := m.Run()
	if tarballDir != "" {
		os.RemoveAll(tarballDir)
	}
	os.Exit(code)
}

var (
	pullOnce sync.Once
	pullErr  error
)

// pulled makes sure every manifest artifact is in Dir() (pulling what is
// missing, once per test binary) and the runtime is loaded. Tests use the
// real default cache on purpose: the 113 MB runtime tarball is fetched once
// per machine, not once per run.
func pulled(t *testing.T) {
	t.Helper()
	pullOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		s := &Store{Log: testLog{}}
		pullErr = s.Pull(ctx)
		if pullErr == nil {
			pullErr = InitRuntime("")
		}
	})
	if pullErr != nil {
		t.Fatalf("pulling models into %s: %v", Dir(), pullErr)
	}
}

// testLog sends Pull's progress to the test binary's stderr, so a first,
// slow run shows what it is doing.
type testLog struct{}

func (testLog) Write(p []byte) (int, error) { return os.Stderr.Write(p) }

func mustPath(t *testing.T, name string) string {
	t.Helper()
	p, err := Path(Dir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func loadImage(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (install Debian's opencv-doc)", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// rgbAt returns 8-bit RGB of img at (x, y).
func rgbAt(img image.Image, x, y int) (r, g, b float32) {
	R, G, B, _ := img.At(x, y).RGBA()
	return float32(R >> 8), float32(G >> 8), float32(B >> 8)
}

// resizeRGB samples img to w x h (bilinear) and returns interleaved RGB.
func resizeRGB(img image.Image, w, h int) []float32 {
	bnd := img.Bounds()
	sw, sh := bnd.Dx(), bnd.Dy()
	out := make([]float32, 0, w*h*3)
	for y := 0; y < h; y++ {
		fy := (float64(y)+0.5)*float64(sh)/float64(h) - 0.5
		y0 := int(math.Floor(fy))
		wy := float32(fy - float64(y0))
		for x := 0; x < w; x++ {
			fx := (float64(x)+0.5)*float64(sw)/float64(w) - 0.5
			x0 := int(math.Floor(fx))
			wx := float32(fx - float64(x0))
			var acc [3]float32
			for _, c := range [4]struct {
				dx, dy int
				w      float32
			}{{0, 0, (1 - wx) * (1 - wy)}, {1, 0, wx * (1 - wy)}, {0, 1, (1 - wx) * wy}, {1, 1, wx * wy}} {
				px := min(max(x0+c.dx, 0), sw-1) + bnd.Min.X
				py := min(max(y0+c.dy, 0), sh-1) + bnd.Min.Y
				r, g, b := rgbAt(img, px, py)
				acc[0] += c.w * r
				acc[1] += c.w * g
				acc[2] += c.w * b
			}
			out = append(out, acc[0], acc[1], acc[2])
		}
	}
	return out
}

// box is a detection in source-image pixels.
type box struct {
	x1, y1, x2, y2, score float32
}

func (b box) center() (float32, float32) { return (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2 }

func iou(a, b box) float32 {
	ix := max(0, min(a.x2, b.x2)-max(a.x1, b.x1))
	iy := max(0, min(a.y2, b.y2)-max(a.y1, b.y1))
	inter := ix * iy
	union := (a.x2-a.x1)*(a.y2-a.y1) + (b.x2-b.x1)*(b.y2-b.y1) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// nms keeps the best boxes, dropping those overlapping a kept one by > thr.
func nms(bs []box, thr float32) []box {
	sort.Slice(bs, func(i, j int) bool { return bs[i].score > bs[j].score })
	var keep []box
	for _, b := range bs {
		ok := true
		for _, k := range keep {
			if iou(b, k) > thr {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, b)
		}
	}
	return keep
}

// ultraFace runs the UltraFace session on img and returns faces above thr
// after NMS, in img pixels.
func ultraFace(t *testing.T, s *Session, img image.Image, thr float32) []box {
	t.Helper()
	const W, H = 320, 240
	rgb := resizeRGB(img, W, H)
	in := make([]float32, 3*W*H)
	for i := 0; i < W*H; i++ {
		for c := 0; c < 3; c++ {
			in[c*W*H+i] = (rgb[i*3+c] - 127) / 128
		}
	}
	out, err := s.Run([]Tensor{Float32Tensor(in, 1, 3, H, W)})
	if err != nil {
		t.Fatal(err)
	}
	scores, boxes := out[0].Float32, out[1].Float32
	sw, sh := float32(img.Bounds().Dx()), float32(img.Bounds().Dy())
	var cand []box
	for i := 0; i < len(scores)/2; i++ {
		if sc := scores[2*i+1]; sc > thr {
			b := boxes[4*i : 4*i+4]
			cand = append(cand, box{b[0] * sw, b[1] * sh, b[2] * sw, b[3] * sh, sc})
		}
	}
	return nms(cand, 0.4)
}

// blazeFace runs the BlazeFace net on img (stretched to 128x128) and returns
// detections above thr after NMS, in img pixels. Anchors as in keijiro's
// BlazeFaceBarracuda: 16x16 cells x 2 anchors, then 8x8 cells x 6 anchors,
// offsets in input pixels relative to the cell centre.
func blazeFace(t *testing.T, n *CVNet, img image.Image, thr float32, norm func(v float32) float32) []box {
	t.Helper()
	const S = 128
	rgb := resizeRGB(img, S, S)
	for i := range rgb {
		rgb[i] = norm(rgb[i])
	}
	out, err := n.Forward(Float32Tensor(rgb, 1, S, S, 3))
	if err != nil {
		t.Fatal(err)
	}
	sw, sh := float32(img.Bounds().Dx()), float32(img.Bounds().Dy())
	var cand []box
	decode := func(scores, boxes []float32, cells, anchors int) {
		for cy := 0; cy < cells; cy++ {
			for cx := 0; cx < cells; cx++ {
				for a := 0; a < anchors; a++ {
					i := (cy*cells+cx)*anchors + a
					sc := float32(1 / (1 + math.Exp(-float64(scores[i]))))
					if sc <= thr {
						continue
					}
					r := boxes[16*i : 16*i+4]
					x := (float32(cx)+0.5)/float32(cells) + r[0]/S
					y := (float32(cy)+0.5)/float32(cells) + r[1]/S
					w, h := r[2]/S, r[3]/S
					cand = append(cand, box{(x - w/2) * sw, (y - h/2) * sh, (x + w/2) * sw, (y + h/2) * sh, sc})
				}
			}
		}
	}
	decode(out[0].Float32, out[2].Float32, 16, 2)
	decode(out[1].Float32, out[3].Float32, 8, 6)
	return nms(cand, 0.3)
}

// speechWAV synthesises text with espeak-ng and resamples it with sox to
// 16 kHz mono 16-bit, returning samples in [-1, 1].
func speechWAV(t *testing.T, text string) []float32 {
	t.Helper()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Debian's %s", tool, tool)
		}
	}
	dir := t.TempDir()
	raw, wav := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "16k.wav")
	if out, err := exec.Command("espeak-ng", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", wav).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	samples, rate, err := readWAV16(wav)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 {
		t.Fatalf("sox wrote %d Hz, want 16000", rate)
	}
	return samples
}

// readWAV16 reads a mono 16-bit PCM RIFF file.
func readWAV16(path string) ([]float32, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF/WAVE file")
	}
	rate, bits, channels := 0, 0, 0
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8 : min(p+8+n, len(b))]
		switch id {
		case "fmt ":
			channels = int(binary.LittleEndian.Uint16(body[2:4]))
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
		case "data":
			if bits != 16 || channels != 1 {
				return nil, 0, errors.New("want mono 16-bit PCM")
			}
			out := make([]float32, len(body)/2)
			for i := range out {
				out[i] = float32(int16(binary.LittleEndian.Uint16(body[2*i:]))) / 32768
			}
			return out, rate, nil
		}
		p += 8 + n + n%2
	}
	return nil, 0, errors.New("no data chunk")
}

// vadProbs runs Silero VAD over samples in 512-sample windows with 64
// samples of context, as the model's reference wrapper does.
func vadProbs(t *testing.T, s *Session, samples []float32) []float32 {
	t.Helper()
	const win, ctxN = 512, 64
	state := make([]float32, 2*1*128)
	context := make([]float32, ctxN)
	var probs []float32
	for off := 0; off+win <= len(samples); off += win {
		in := append(append(make([]float32, 0, ctxN+win), context...), samples[off:off+win]...)
		out, err := s.Run([]Tensor{
			Float32Tensor(in, 1, ctxN+win),
			Float32Tensor(state, 2, 1, 128),
			Int64Tensor([]int64{16000}),
		})
		if err != nil {
			t.Fatal(err)
		}
		probs = append(probs, out[0].Float32[0])
		state = out[1].Float32
		copy(context, in[len(in)-ctxN:])
	}
	return probs
}
