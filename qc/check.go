package qc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
)

// ErrInternal marks a bug in a check (a recovered panic). The check stops
// and returns it rather than taking the process down.
var ErrInternal = errors.New("internal QC error")

// Options tune how a check runs; the zero value is fine.
type Options struct {
	// Threads per video decoder; 0 lets FFmpeg pick from the CPU count.
	// When many files are checked in parallel, 1 is usually best.
	Threads int
	// NoThumbnails leaves the PNG thumbnails out of the findings.
	NoThumbnails bool
	// Progress, if set, is called from the decoding goroutine as media
	// time advances (about every half second of media) and once at the
	// end with done == total. total is the declared duration, 0 when
	// unknown.
	Progress func(done, total time.Duration)
	// Logger receives debug lines; nil uses slog.Default().
	Logger *slog.Logger
}

// Check runs every check of policy on the file at path in one decode pass
// and returns the report. See CheckWith.
func Check(ctx context.Context, path string, policy Policy) (*Report, error) {
	return CheckWith(ctx, path, policy, Options{})
}

// CheckWith is Check with options. It returns an error only when there is
// nothing to report on: the file cannot be read (ErrUnreadable), the policy
// is invalid (ErrPolicy), ctx ended (ErrCanceled) or a check hit a bug
// (ErrInternal). A readable file that is not media, is damaged or truncated
// gets a Report whose findings say so. Errors are one line and name the
// file.
func CheckWith(ctx context.Context, path string, policy Policy, opts Options) (rep *Report, err error) {
	started := time.Now()
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	f, size, err := openReadable(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	rep = &Report{Schema: schemaVersion, File: path, Size: size, Policy: policy.Name, CheckedAt: started.UTC()}
	// The hash reads the file on its own goroutine while FFmpeg decodes it
	// (the second read is served from the page cache).
	hctx, stopHash := context.WithCancel(ctx)
	defer stopHash()
	hashDone := make(chan error, 1)
	go func() {
		sum, err := hashFile(hctx, f)
		rep.SHA256 = sum
		hashDone <- err
	}()
	waitHash := func() error {
		if err := <-hashDone; err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w: %w", path, ErrCanceled, ctx.Err())
			}
			return fmt.Errorf("%s: %w: %w", path, ErrUnreadable, err)
		}
		return nil
	}

	p := &pass{path: path, pol: &policy, opts: opts, rep: rep, log: log}
	runErr := p.run(ctx)
	if runErr != nil {
		stopHash()
		<-hashDone
		return nil, runErr
	}
	if err := waitHash(); err != nil {
		return nil, err
	}
	rep.finalize()
	rep.Elapsed = time.Since(started)
	log.Debug("qc done", "file", path, "verdict", rep.Verdict, "findings", len(rep.Findings),
		"elapsed", rep.Elapsed.Round(time.Millisecond))
	return rep, nil
}

// openReadable opens path for the hash and checks that it is a regular,
// readable file; errors wrap ErrUnreadable and the cause.
func openReadable(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, 0, fmt.Errorf("%s: %w: %w", path, ErrUnreadable, pe.Err)
		}
		return nil, 0, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w: %w", path, ErrUnreadable, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		what := "not a regular file"
		if st.IsDir() {
			what = "is a directory"
		}
		return nil, 0, fmt.Errorf("%s: %w: %s", path, ErrUnreadable, what)
	}
	return f, st.Size(), nil
}

// hashFile returns the hex sha256 of f's contents, stopping when ctx ends.
func hashFile(ctx context.Context, f *os.File) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.ReadAt(buf, off)
		h.Write(buf[:n])
		off += int64(n)
		if errors.Is(err, io.EOF) {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// pass is one decode of one file feeding every check.
type pass struct {
	path string
	pol  *Policy
	opts Options
	rep  *Report
	log  *slog.Logger

	info   *av.Info
	vIdx   int // primary video stream, -1 if none
	aIdx   int // primary audio stream, -1 if none
	times  map[int]*streamTimes
	video  *videoAnalyzer
	audio  *audioAnalyzer
	panics []error
	mu     sync.Mutex
}

// analysisSize picks the size the decoder scales pictures to: the source
// divided by 1, 2 or 4 so that 16x16 macroblocks of the source become 8x8
// or 16x16 blocks of the analysis picture (the blockiness check looks at an
// 8-pixel grid), and per-pixel work stays near 640x360.
func analysisSize(w, h int) (int, int) {
	if w <= 0 || h <= 0 {
		return 0, 360
	}
	f := 1
	switch {
	case h > 1080 || w > 1920:
		f = 4
	case h > 480 || w > 854:
		f = 2
	}
	even := func(v int) int { return max(16, v&^1) }
	return even(w / f), even(h / f)
}

// fileFinding records a problem with the whole file (cannot open, ...).
func (p *pass) fileFinding(kind string, sev pipeline.Severity, msg string) {
	p.rep.Findings = append(p.rep.Findings, Finding{Kind: kind, Severity: sev, Stream: noStream, Message: msg})
}

// guard turns a panic in a check into an ErrInternal error.
func (p *pass) guard(what string) {
	if r := recover(); r != nil {
		p.mu.Lock()
		p.panics = append(p.panics, fmt.Errorf("%s: %w in %s check: %v", p.path, ErrInternal, what, r))
		p.mu.Unlock()
		p.log.Error("qc check panicked", "file", p.path, "check", what, "panic", r, "stack", string(debug.Stack()))
	}
}

func (p *pass) run(ctx context.Context) (err error) {
	defer p.guard("decode")
	defer func() {
		if err == nil && len(p.panics) > 0 {
			err = p.panics[0]
		}
	}()
	info, err := av.Probe(p.path)
	if err != nil {
		return p.openFailed(err)
	}
	p.info = info
	p.rep.Probe = info
	p.vIdx, p.aIdx = -1, -1
	for _, s := range info.Streams {
		switch {
		case s.Type == av.MediaVideo && !s.AttachedImage && p.vIdx < 0:
			p.vIdx = s.Index
		case s.Type == av.MediaAudio && p.aIdx < 0:
			p.aIdx = s.Index
		}
	}
	var aw, ah int
	if p.vIdx >= 0 {
		aw, ah = analysisSize(info.Streams[p.vIdx].Width, info.Streams[p.vIdx].Height)
	}
	p.times = map[int]*streamTimes{}
	p.video = newVideoAnalyzer(p.pol, !p.opts.NoThumbnails)
	p.audio = newAudioAnalyzer(p.pol)
	vch := make(chan videoItem, 16)
	ach := make(chan *pipeline.AudioFrame, 64)
	// Picture buffers go round: the decoder fills one, the video goroutine
	// hands it back once analysed (the checks keep copies, never the
	// picture), so a pass allocates a few dozen instead of one per frame.
	pics := make(chan []byte, cap(vch)+4)
	p.video.recycle = func(b []byte) {
		select {
		case pics <- b:
		default:
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer drain(vch)
		defer p.guard("video")
		p.video.run(vch)
	}()
	go func() {
		defer wg.Done()
		defer drain(ach)
		defer p.guard("audio")
		p.audio.run(ach)
	}()
	// av.Decode checks ctx between packets, so a file whose packets give
	// no frames cannot hold the check past its deadline either.
	opts := av.Options{VideoFormat: pipeline.PixelI420, Width: aw, Height: ah,
		AudioFormat: pipeline.SampleF32, Threads: p.opts.Threads,
		VideoBuffer: func(n int) []byte {
			select {
			case b := <-pics:
				if cap(b) >= n {
					return b[:n]
				}
			default:
			}
			return make([]byte, n)
		}}
	var reached, reported time.Duration
	stats, derr := av.Decode(ctx, p.path, opts, func(it *av.Item) error {
		reached = p.feed(ctx, it, reached, vch, ach)
		if p.opts.Progress != nil && reached-reported >= 500*time.Millisecond {
			reported = reached
			p.opts.Progress(reached, info.Duration)
		}
		return nil
	})
	close(vch)
	close(ach)
	wg.Wait()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w: %w", p.path, ErrCanceled, ctx.Err())
	case stats == nil: // the decoder could not open what the probe could
		return p.openFailed(derr)
	case derr != nil:
		return fmt.Errorf("%s: %w: decoder: %w", p.path, ErrInternal, derr)
	case len(p.panics) > 0:
		return p.panics[0] // the rest are logged
	}
	if p.opts.Progress != nil {
		end := max(info.Duration, reached)
		p.opts.Progress(end, end)
	}
	p.rep.Decode = stats
	p.collect()
	return nil
}

// drain empties ch so the decoding goroutine never blocks on a check that
// has stopped (after a panic).
func drain[T any](ch <-chan T) {
	for range ch {
	}
}

// openFailed turns an open error into an ErrUnreadable error (the bytes
// cannot be read) or a failing report (the bytes are not usable media).
func (p *pass) openFailed(err error) error {
	if errors.Is(err, av.ErrOpen) {
		return fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	p.fileFinding(KindOpen, pipeline.SeverityCritical, err.Error())
	return nil
}

// feed follows the timestamps of one decoded item and hands it to the video
// or audio goroutine; it returns the media time reached.
func (p *pass) feed(ctx context.Context, it *av.Item, reached time.Duration, vch chan<- videoItem, ach chan<- *pipeline.AudioFrame) time.Duration {
	st := p.times[it.Stream]
	if st == nil {
		st = &streamTimes{stream: it.Stream}
		p.times[it.Stream] = st
	}
	switch {
	case it.Video != nil:
		if st.kind == "" {
			st.kind, st.nominal = av.MediaVideo, p.nominalFrame(it.Stream)
		}
		st.observe(it.Video.PTS, it.Video.Duration, p.pol.Integrity.MaxGap)
		reached = max(reached, it.Video.PTS)
		if it.Stream == p.vIdx {
			select {
			case vch <- videoItem{f: it.Video, damaged: it.Damaged}:
			case <-ctx.Done():
			}
		}
	case it.Audio != nil:
		st.kind = av.MediaAudio
		st.observe(it.Audio.PTS, it.Audio.Duration(), p.pol.Integrity.MaxAudioGap)
		reached = max(reached, it.Audio.PTS)
		if it.Stream == p.aIdx {
			select {
			case ach <- it.Audio:
			case <-ctx.Done():
			}
		}
	}
	return reached
}

// nominalFrame is the frame duration a stream's declared rate implies (at
// most 100 ms; 40 ms when unknown).
func (p *pass) nominalFrame(stream int) time.Duration {
	if p.info != nil && stream < len(p.info.Streams) {
		if fps := p.info.Streams[stream].FrameRate; fps >= 10 {
			return time.Duration(float64(time.Second) / fps)
		}
	}
	return 100 * time.Millisecond
}

// collect gathers the findings of every check after the pass.
func (p *pass) collect() {
	rep := p.rep
	m := &rep.Metrics
	var vf, af []Finding
	if p.vIdx >= 0 {
		vf = p.video.finish(p.vIdx)
		p.video.metrics(m)
	}
	if p.aIdx >= 0 {
		var curve []LoudnessPoint
		af, curve = p.audio.finish(p.aIdx, m)
		rep.Loudness = curve
	}
	// Corrupt regions come from damaged pictures (video pass) and from
	// decode errors (stats); merge them per stream.
	var corrupt []Finding
	for _, f := range vf {
		if f.Kind == KindCorrupt {
			corrupt = append(corrupt, f)
		} else {
			rep.Findings = append(rep.Findings, f)
		}
	}
	rep.Findings = append(rep.Findings, af...)
	p.integrity(corrupt)
	p.params()
	if p.pol.Sync.Enabled && p.vIdx >= 0 && p.aIdx >= 0 {
		est := estimateSync(videoOnsets(p.video.marks), p.audio.onsets(), &p.pol.Sync)
		m.Sync = est
		if est.Measured && absDur(est.Offset) > p.pol.Sync.MaxOffset {
			dir := "after"
			if est.Offset < 0 {
				dir = "before"
			}
			rep.Findings = append(rep.Findings, Finding{Kind: KindSyncOffset, Severity: p.pol.Sync.Severity,
				Start: 0, End: rep.Duration, Stream: noStream, Value: est.OffsetMS,
				Threshold: float64(p.pol.Sync.MaxOffset) / float64(time.Millisecond), Unit: unitMS,
				Message: fmt.Sprintf("sound comes %.0f ms %s the picture (%d of %d picture changes matched)",
					absF(est.OffsetMS), dir, est.Matches, est.VideoOnsets)})
		}
	} else if !p.pol.Sync.Enabled {
		m.Sync.Note = "disabled by policy"
	} else {
		m.Sync.Note = "needs both audio and video"
	}
}

func absF(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
