package qc

import (
	"image"
	"math"
	"slices"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// Limited-range luma (BT.601/709 as decoded to I420): black is 16, white 235.
const (
	lumaBlack = 16.0
	lumaWhite = 235.0
	lumaRange = lumaWhite - lumaBlack
)

// videoItem is one decoded picture handed to the video goroutine.
type videoItem struct {
	f       *pipeline.VideoFrame
	damaged bool // the decoder concealed errors in it
}

// frameMark is what the video pass keeps of every frame for the checks that
// run at the end (stutter, sync): its time and how much it changed.
type frameMark struct {
	pts  time.Duration
	diff float32 // mean |luma change| from the previous frame, 8-bit levels
}

// videoAnalyzer runs every picture check on the frames of one stream. It is
// owned by one goroutine.
type videoAnalyzer struct {
	pol     *Policy
	thumbs  bool
	recycle func([]byte) // takes a picture's Data once analysed; may be nil

	blackMax, whiteMin uint8 // pixel levels (inclusive) that count as black / white
	// class of every luma level for scan: 1 if black, 1<<32 if white
	// (filled on first use; blackMax is always black).
	class        [256]uint64
	black, white tracker
	mosaic, blur tracker
	damaged      tracker
	wmMissing    tracker

	// Subsampled luma (every second pixel of every second row) of the
	// previous frame and of the freeze reference.
	prev, cur, ref []byte
	refPTS         time.Duration
	refThumb       *image.RGBA
	frozen         int // frames matching ref since it was taken
	frozenEnd      time.Duration
	frozenDiff     float64
	freezes        []span

	// Watermark clock: region snapshot at its last change.
	wmRef        []byte
	wmLastChange time.Duration
	wmStill      []span
	wmThumb      *image.RGBA
	wmSeen       bool

	nextSample time.Duration
	marks      []frameMark
	lastEnd    time.Duration

	lumaSum  float64
	blockSum float64
	blockN   int
	w, h     int
}

func newVideoAnalyzer(pol *Policy, thumbs bool) *videoAnalyzer {
	v := &videoAnalyzer{pol: pol, thumbs: thumbs}
	vp := &pol.Video
	v.blackMax = uint8(lumaBlack + vp.Black.PixelThreshold*lumaRange)
	v.whiteMin = uint8(math.Ceil(lumaWhite - vp.White.PixelThreshold*lumaRange))
	v.black = tracker{minDur: vp.Black.MinDuration}
	v.white = tracker{minDur: vp.White.MinDuration}
	// Sampled checks: allow one missed sample inside an episode.
	v.mosaic = tracker{minDur: vp.Mosaic.MinDuration, merge: vp.SampleInterval + vp.SampleInterval/2}
	v.blur = tracker{minDur: vp.Blur.MinDuration, merge: vp.SampleInterval + vp.SampleInterval/2}
	v.damaged = tracker{merge: pol.Integrity.CorruptMerge}
	v.wmMissing = tracker{minDur: pol.Watermark.MinDuration, merge: vp.SampleInterval + vp.SampleInterval/2}
	return v
}

// run consumes frames until in is closed, handing each picture's buffer to
// recycle (if set) once analysed.
func (v *videoAnalyzer) run(in <-chan videoItem) {
	for it := range in {
		v.frame(it)
		if v.recycle != nil {
			v.recycle(it.f.Data)
		}
	}
}

func (v *videoAnalyzer) frame(it videoItem) {
	f := it.f
	if f.Format != pipeline.PixelI420 || f.Validate() != nil {
		return
	}
	pts := f.PTS
	dur := f.Duration
	if dur <= 0 {
		dur = 40 * time.Millisecond
	}
	end := pts + dur
	v.lastEnd = max(v.lastEnd, end)
	if v.w != f.Width || v.h != f.Height {
		// The analysis size is fixed by the decoder, so this is the first
		// frame; size the buffers once.
		v.w, v.h = f.Width, f.Height
		n := ((f.Width + 1) / 2) * ((f.Height + 1) / 2)
		v.prev, v.cur, v.ref = nil, make([]byte, n), nil
	}
	y := f.Plane(0)
	vp := &v.pol.Video

	// One pass over the subsampled grid: black/white counts, mean, change
	// from the previous frame and from the freeze reference.
	nBlack, nWhite, sum, dPrev, dRef, n := v.scan(y, f.Stride[0], f.Width, f.Height)
	if n == 0 {
		return
	}
	v.lumaSum += float64(sum) / float64(n)
	diff := float32(0)
	if v.prev != nil {
		diff = float32(float64(dPrev) / float64(n))
	}
	v.marks = append(v.marks, frameMark{pts: pts, diff: diff})

	blackRatio := float64(nBlack) / float64(n)
	whiteRatio := float64(nWhite) / float64(n)
	if vp.Black.Enabled && v.black.observe(pts, end, blackRatio >= vp.Black.PictureRatio, blackRatio) {
		v.attach(&v.black, f)
	}
	if vp.White.Enabled && v.white.observe(pts, end, whiteRatio >= vp.White.PictureRatio, whiteRatio) {
		v.attach(&v.white, f)
	}
	if v.damaged.observe(pts, end, it.damaged, 1) {
		v.attach(&v.damaged, f)
	}
	if vp.Freeze.Enabled {
		v.freeze(f, pts, end, dRef, n)
	}

	// Sampled checks on a time grid, so results do not depend on the
	// frame rate.
	if pts >= v.nextSample {
		v.nextSample = pts + vp.SampleInterval
		if vp.Mosaic.Enabled {
			b, ok := blockiness(y, f.Width, f.Height, f.Stride[0], vp.Mosaic.MinEdge)
			if ok {
				v.blockSum += b
				v.blockN++
			}
			if v.mosaic.observe(pts, pts+vp.SampleInterval, ok && b >= vp.Mosaic.Threshold, b) {
				v.attach(&v.mosaic, f)
			}
		}
		if vp.Blur.Enabled {
			s, ok := sharpness(v.cur, (f.Width+1)/2, (f.Height+1)/2)
			if v.blur.observe(pts, pts+vp.SampleInterval, ok && s < vp.Blur.Threshold, s) {
				v.attach(&v.blur, f)
			}
		}
		if v.pol.Watermark.Enabled {
			v.watermark(f, pts)
		}
	}
	v.prev, v.cur = v.cur, v.prev
	if v.cur == nil {
		v.cur = make([]byte, n)
	}
}

// scan copies the subsampled luma grid (every second pixel of every second
// row) of the plane y into v.cur and returns, over that grid, the number of
// black and white pixels, the sum of levels, the sums of absolute
// differences from v.prev and v.ref (0 when there is none) and the number
// of grid pixels. It is the one loop run on every frame, hence branch-free:
// the class of a level comes from a table, differences from arithmetic.
func (v *videoAnalyzer) scan(y []byte, stride, w, h int) (nBlack, nWhite, sum, dPrev, dRef, n int) {
	if v.class[v.blackMax]&1 == 0 { // first use: fill the table
		for p := range v.class {
			var c uint64
			if uint8(p) <= v.blackMax {
				c |= 1
			}
			if uint8(p) >= v.whiteMin {
				c |= 1 << 32
			}
			v.class[p] = c
		}
	}
	nx := (w + 1) / 2
	cur, prev, ref := v.cur, v.prev, v.ref
	// Without a previous frame or a reference, compare with the grid
	// itself (written before it is read): a difference of 0.
	if prev == nil {
		prev = cur
	}
	if ref == nil {
		ref = cur
	}
	var classes uint64
	i := 0
	for row := 0; row < h; row += 2 {
		line := y[row*stride : row*stride+w]
		c := cur[i : i+nx]
		pv := prev[i : i+nx]
		rf := ref[i : i+nx]
		for x := range c {
			p := line[2*x]
			c[x] = p
			sum += int(p)
			classes += v.class[p]
			dPrev += absDiff(p, pv[x])
			dRef += absDiff(p, rf[x])
		}
		i += nx
	}
	return int(classes & (1<<32 - 1)), int(classes >> 32), sum, dPrev, dRef, i
}

// freeze follows FFmpeg's freezedetect: compare each picture with the first
// one of the current still run; while the mean absolute difference stays
// under the noise level the run goes on.
func (v *videoAnalyzer) freeze(f *pipeline.VideoFrame, pts, end time.Duration, dRef, n int) {
	rule := &v.pol.Video.Freeze
	mafd := float64(dRef) / float64(n) / 256 // freezedetect normalises by 1<<bitdepth
	if v.ref != nil && mafd <= rule.Noise {
		if v.frozen == 0 && v.thumbs {
			v.refThumb = thumbnail(f)
		}
		v.frozen++
		v.frozenEnd = end
		v.frozenDiff += mafd
		return
	}
	v.closeFreeze(pts)
	if v.ref == nil {
		v.ref = make([]byte, len(v.cur))
	}
	copy(v.ref, v.cur)
	v.refPTS = pts
	v.frozen, v.frozenDiff, v.refThumb = 0, 0, nil
}

// closeFreeze ends the current still run at end (the first changed
// picture, or the end of the stream).
func (v *videoAnalyzer) closeFreeze(end time.Duration) {
	if v.frozen > 0 && end-v.refPTS >= v.pol.Video.Freeze.MinDuration {
		v.freezes = append(v.freezes, span{start: v.refPTS, end: end, count: v.frozen,
			sum: v.frozenDiff, thumb: v.refThumb})
	}
	v.frozen = 0
}

// watermark measures the policy's region: strokes present (edge share) and,
// for a clock, whether it changed since its last change.
func (v *videoAnalyzer) watermark(f *pipeline.VideoFrame, pts time.Duration) {
	wp := &v.pol.Watermark
	x0 := int(wp.Region.X * float64(f.Width))
	y0 := int(wp.Region.Y * float64(f.Height))
	x1 := min(f.Width, x0+max(2, int(wp.Region.W*float64(f.Width))))
	y1 := min(f.Height, y0+max(1, int(wp.Region.H*float64(f.Height))))
	y := f.Plane(0)
	stride := f.Stride[0]
	var edges, total int
	region := make([]byte, 0, (x1-x0)*(y1-y0))
	for row := y0; row < y1; row++ {
		line := y[row*stride : row*stride+f.Width]
		for x := x0; x < x1; x++ {
			region = append(region, line[x])
			if x > x0 {
				total++
				if absDiff(line[x], line[x-1]) > 40 {
					edges++
				}
			}
		}
	}
	share := 0.0
	if total > 0 {
		share = float64(edges) / float64(total)
	}
	missing := share < wp.MinEdges
	if v.wmMissing.observe(pts, pts+v.pol.Video.SampleInterval, missing, share) {
		v.attach(&v.wmMissing, f)
	}
	if wp.Mode != WatermarkClock {
		return
	}
	if !v.wmSeen {
		v.wmSeen, v.wmRef, v.wmLastChange = true, region, pts
		return
	}
	// A changed digit alters a few per cent of a clock region; compression
	// noise alone moves well under 0.3% of pixels by more than 48 levels.
	if len(region) != len(v.wmRef) { // the picture size changed
		v.wmRef, v.wmLastChange = region, pts
		return
	}
	changed := 0
	for i := range region {
		if absDiff(region[i], v.wmRef[i]) > 48 {
			changed++
		}
	}
	if missing || float64(changed) >= 0.003*float64(len(region)) {
		v.closeStill(pts)
		v.wmRef, v.wmLastChange, v.wmThumb = region, pts, nil
		return
	}
	if v.wmThumb == nil && v.thumbs && pts-v.wmLastChange >= wp.MaxStill {
		v.wmThumb = thumbnail(f)
	}
}

func (v *videoAnalyzer) closeStill(end time.Duration) {
	if end-v.wmLastChange > v.pol.Watermark.MaxStill {
		v.wmStill = append(v.wmStill, span{start: v.wmLastChange, end: end, thumb: v.wmThumb})
	}
}

func (v *videoAnalyzer) attach(k *tracker, f *pipeline.VideoFrame) {
	if v.thumbs {
		k.setThumbImage(thumbnail(f))
	}
}

// finish closes every open episode and turns them into findings.
func (v *videoAnalyzer) finish(stream int) []Finding {
	if v.frozen > 0 {
		v.closeFreeze(v.lastEnd)
	}
	if v.pol.Watermark.Enabled && v.pol.Watermark.Mode == WatermarkClock && v.wmSeen {
		v.closeStill(v.lastEnd)
	}
	vp := &v.pol.Video
	var out []Finding
	add := func(kind string, r Rule, spans []span, value func(*span) float64, thr float64, unit, msg string) {
		for i := range spans {
			s := &spans[i]
			out = append(out, Finding{Kind: kind, Severity: severity(r, s.end-s.start), Start: s.start, End: s.end,
				Stream: stream, Value: value(s), Threshold: thr, Unit: unit, Message: msg, Thumbnail: s.png()})
		}
	}
	mean := func(s *span) float64 { return s.mean() }
	maxv := func(s *span) float64 { return s.max }
	minv := func(s *span) float64 { return s.min }
	if vp.Black.Enabled {
		add(KindBlack, vp.Black.Rule, v.black.finish(), mean, vp.Black.PictureRatio, unitFraction,
			"picture black (share of dark pixels, mean over the episode)")
	}
	if vp.White.Enabled {
		add(KindWhite, vp.White.Rule, v.white.finish(), mean, vp.White.PictureRatio, unitFraction,
			"picture white (share of bright pixels, mean over the episode)")
	}
	if vp.Freeze.Enabled {
		add(KindFreeze, vp.Freeze.Rule, v.freezes, mean, vp.Freeze.Noise, unitFraction,
			"picture frozen (mean absolute difference from the first frozen picture)")
	}
	if vp.Mosaic.Enabled {
		add(KindMosaic, vp.Mosaic.Rule, v.mosaic.finish(), maxv, vp.Mosaic.Threshold, unitRatio,
			"blocky picture (8x8 grid-edge to in-block gradient ratio, worst in the episode)")
	}
	if vp.Blur.Enabled {
		add(KindBlur, vp.Blur.Rule, v.blur.finish(), minv, vp.Blur.Threshold, unitLevels,
			"blurred picture (mean |Laplacian| of luma, lowest in the episode)")
	}
	if vp.Stutter.Enabled {
		add(KindStutter, vp.Stutter.Rule, v.stutter(), maxv, vp.Stutter.Tolerance, unitRatio,
			"irregular frame intervals (largest deviation from the nominal interval, as a fraction of it)")
	}
	corrupt := Rule{Severity: pipeline.SeverityCritical}
	add(KindCorrupt, corrupt, v.damaged.finish(), func(s *span) float64 { return float64(s.count) }, 0, "frames",
		"pictures decoded with concealed errors (damaged data)")
	if wp := &v.pol.Watermark; wp.Enabled {
		add(KindWatermark, wp.Rule, v.wmMissing.finish(), maxv, wp.MinEdges, unitFraction,
			"watermark/clock region empty (share of stroke pixels, highest in the episode)")
		if wp.Mode == WatermarkClock {
			add(KindWatermarkStill, wp.Rule, v.wmStill, func(s *span) float64 { return (s.end - s.start).Seconds() },
				wp.MaxStill.Seconds(), unitSeconds, "clock in the watermark region not running")
		}
	}
	return out
}

// stutter finds runs of irregular frame intervals: each interval is
// compared with the median interval of the stream (robust to variable frame
// rate metadata); intervals above the gap limit are integrity gaps instead.
func (v *videoAnalyzer) stutter() []span {
	rule := &v.pol.Video.Stutter
	if len(v.marks) < 3 {
		return nil
	}
	iv := make([]time.Duration, 0, len(v.marks)-1)
	for i := 1; i < len(v.marks); i++ {
		iv = append(iv, v.marks[i].pts-v.marks[i-1].pts)
	}
	sorted := slices.Clone(iv)
	slices.Sort(sorted)
	nominal := sorted[len(sorted)/2]
	if nominal <= 0 {
		return nil
	}
	k := tracker{minDur: rule.MinDuration, merge: rule.Window}
	for i, d := range iv {
		dev := math.Abs(float64(d-nominal)) / float64(nominal)
		irregular := dev > rule.Tolerance && d <= v.pol.Integrity.MaxGap
		k.observe(v.marks[i].pts, v.marks[i+1].pts, irregular, dev)
	}
	var out []span
	for _, s := range k.finish() {
		if s.count >= rule.MinCount {
			out = append(out, s)
		}
	}
	return out
}

// metrics fills the video part of m.
func (v *videoAnalyzer) metrics(m *Metrics) {
	m.VideoFrames = int64(len(v.marks))
	m.AnalysisWidth, m.AnalysisHeight = v.w, v.h
	if len(v.marks) > 0 {
		m.MeanLuma = v.lumaSum / float64(len(v.marks))
	}
	if v.blockN > 0 {
		m.MeanBlockiness = v.blockSum / float64(v.blockN)
	}
	if n := len(v.marks); n > 1 {
		m.MeanIntervalMS = float64(v.marks[n-1].pts-v.marks[0].pts) / float64(n-1) / float64(time.Millisecond)
	}
}

// blockiness is the ratio of the mean luma step across the 8x8 grid to the
// mean step inside blocks, horizontally and vertically together, on every
// second line. ok is false for pictures too flat to judge (mean grid step
// under minEdge). Natural and well-coded pictures score about 1; mosaic and
// heavy compression, whose blocks are flat inside with steps at their
// borders, score several times that.
func blockiness(y []byte, w, h, stride int, minEdge float64) (ratio float64, ok bool) {
	if w < 16 || h < 16 {
		return 0, false
	}
	var edge, inner uint64
	var nEdge, nInner uint64
	// Steps across vertical block borders (x = 8, 16, ...).
	for row := 0; row < h; row += 2 {
		line := y[row*stride : row*stride+w]
		for x := 1; x < w; x++ {
			d := uint64(absDiff(line[x], line[x-1]))
			if x&7 == 0 {
				edge += d
				nEdge++
			} else {
				inner += d
				nInner++
			}
		}
	}
	// Steps across horizontal block borders (y = 8, 16, ...).
	for row := 1; row < h; row++ {
		a := y[(row-1)*stride : (row-1)*stride+w]
		b := y[row*stride : row*stride+w]
		isEdge := row&7 == 0
		for x := 0; x < w; x += 2 {
			d := uint64(absDiff(a[x], b[x]))
			if isEdge {
				edge += d
				nEdge++
			} else {
				inner += d
				nInner++
			}
		}
	}
	if nEdge == 0 || nInner == 0 {
		return 0, false
	}
	me := float64(edge) / float64(nEdge)
	mi := float64(inner) / float64(nInner)
	if me < minEdge {
		return 1, false
	}
	// The +0.5 keeps the ratio finite on perfectly flat block interiors.
	return me / (mi + 0.5), true
}

// sharpness is the mean absolute 4-neighbour Laplacian of the subsampled
// luma; ok is false for flat pictures (black, white, a plain wall), where
// blur cannot be judged.
func sharpness(g []byte, w, h int) (float64, bool) {
	if w < 3 || h < 3 {
		return 0, false
	}
	var sum, sumSq, lap float64
	for yy := 1; yy < h-1; yy++ {
		for x := 1; x < w-1; x++ {
			c := int(g[yy*w+x])
			l := 4*c - int(g[yy*w+x-1]) - int(g[yy*w+x+1]) - int(g[(yy-1)*w+x]) - int(g[(yy+1)*w+x])
			if l < 0 {
				l = -l
			}
			lap += float64(l)
			sum += float64(c)
			sumSq += float64(c * c)
		}
	}
	n := float64((w - 2) * (h - 2))
	mean := sum / n
	if sumSq/n-mean*mean < 25 { // standard deviation under 5 levels: flat
		return 0, false
	}
	return lap / n, true
}

// absDiff is |a-b|, without a branch (on noisy pictures the sign is a coin
// toss that a branch predictor loses).
func absDiff(a, b byte) int {
	d := int(a) - int(b)
	m := d >> 63
	return (d ^ m) - m
}

// severity applies a rule's severity and its escalation for long episodes.
func severity(r Rule, d time.Duration) pipeline.Severity {
	if r.CriticalAfter > 0 && d >= r.CriticalAfter {
		return pipeline.SeverityCritical
	}
	return r.Severity
}
