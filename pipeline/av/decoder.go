package av

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/asticode/go-astiav"
	"github.com/witness-media/witness/pipeline"
)

// Options selects what the Decoder produces. The zero value decodes every
// audio and video stream to RGBA pictures at source size and F32 audio.
type Options struct {
	// VideoFormat is RGBA (default), RGB, GRAY8 or I420.
	VideoFormat pipeline.PixelFormat
	// Width and Height scale the pictures; 0 keeps the source size, and
	// with only one given the other follows the source aspect ratio.
	Width, Height int
	// Video and Audio select stream kinds; both false means both.
	Video, Audio bool
	// Streams, if set, names the stream indexes to decode and overrides
	// Video and Audio.
	Streams []int
	// AudioFormat is F32LE (default) or S16LE, always interleaved.
	AudioFormat pipeline.SampleFormat
	// Threads per video decoder; 0 lets FFmpeg pick from the CPU count.
	Threads int
	// VideoBuffer, if set, returns the buffer for one picture's planes
	// (VideoFrame.Data) given its size in bytes; a buffer shorter than
	// that is ignored and a new one made. It lets a caller recycle the
	// Data of frames it is done with instead of allocating a new buffer
	// per picture. It is called from the decoding goroutine; the buffer's
	// contents are overwritten.
	VideoBuffer func(size int) []byte
}

func (o Options) normalized() (Options, error) {
	if o.VideoFormat == "" {
		o.VideoFormat = pipeline.PixelRGBA
	}
	if _, ok := avPixel[o.VideoFormat]; !ok {
		return o, fmt.Errorf("%w: video format %q (want RGBA, RGB, GRAY8 or I420)", pipeline.ErrUnsupported, o.VideoFormat)
	}
	if o.AudioFormat == "" {
		o.AudioFormat = pipeline.SampleF32
	}
	if o.AudioFormat != pipeline.SampleF32 && o.AudioFormat != pipeline.SampleS16 {
		return o, fmt.Errorf("%w: audio format %q (want F32LE or S16LE)", pipeline.ErrUnsupported, o.AudioFormat)
	}
	if o.Width < 0 || o.Height < 0 || o.Width > 16384 || o.Height > 16384 {
		return o, fmt.Errorf("%w: output size %dx%d", pipeline.ErrUnsupported, o.Width, o.Height)
	}
	if o.Threads < 0 {
		o.Threads = 0
	}
	if !o.Video && !o.Audio {
		o.Video, o.Audio = true, true
	}
	return o, nil
}

// Item is one decoded frame: exactly one of Video and Audio is set.
type Item struct {
	Stream int // stream index in the file
	Video  *pipeline.VideoFrame
	Audio  *pipeline.AudioFrame
	// Damaged is set when the decoder concealed errors in this frame; it is
	// still delivered (a damaged picture is better evidence than none).
	Damaged bool
}

// maxPixels bounds decoded picture size (8192x8192, above 8K UHD).
const maxPixels = 8192 * 8192

// maxConsecutiveReadErrors ends demuxing when the reader fails this many
// times in a row without the file being at its end: damage that the
// demuxer cannot resync past.
const maxConsecutiveReadErrors = 64

// Decoder reads a file and yields decoded frames in file order. It is not
// safe for concurrent use; Close it to free FFmpeg's memory.
type Decoder struct {
	path   string
	opts   Options
	in     *input
	info   *Info
	origin time.Duration // the file's start time: PTS 0
	pkt    *astiav.Packet
	frame  *astiav.Frame

	tbs     []astiav.Rational // time base of every stream
	streams []*streamDecoder  // by stream index; nil when not decoded
	active  []*streamDecoder
	queue   []*Item

	stats     Stats
	log       *logBook
	logAddrs  []uintptr
	readFails int // consecutive
	demuxDone bool
	done      bool
	closed    bool
}

// streamDecoder is the decoding state of one selected stream.
type streamDecoder struct {
	index    int
	kind     MediaType
	cc       *astiav.CodecContext
	tb       astiav.Rational
	frameDur time.Duration // nominal, from the frame rate
	next     time.Duration // predicted PTS of the next frame
	video    *videoConverter
}

// Open opens path for decoding. The error names the file and wraps ErrOpen,
// ErrNotMedia, ErrNoStreams, ErrUnsupportedCodec or ErrCorrupt (missing
// files also match fs.ErrNotExist); bad Options wrap pipeline.ErrUnsupported.
func Open(path string, opts Options) (*Decoder, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	d := &Decoder{path: path, opts: opts, in: in, log: newLogBook(path)}
	if err := d.setup(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Decoder) setup() error {
	d.info = buildInfo(d.in, d.path)
	d.origin = d.info.StartTime
	d.stats.Duration = d.info.Duration
	d.streams = make([]*streamDecoder, len(d.info.Streams))
	d.stats.Streams = make([]StreamStats, len(d.info.Streams))
	media := 0
	for i, si := range d.info.Streams {
		d.stats.Streams[i] = StreamStats{Index: i, Type: si.Type, Codec: si.Codec}
		if (si.Type == MediaVideo && !si.AttachedImage) || si.Type == MediaAudio {
			media++
		}
	}
	if media == 0 {
		return fmt.Errorf("%s: %w: %w", d.path, ErrNotMedia, ErrNoStreams)
	}
	selected, err := d.selectStreams()
	if err != nil {
		return err
	}
	var failures []string
	var corrupt bool
	streams := d.in.fc.Streams()
	for _, s := range streams {
		d.tbs = append(d.tbs, s.TimeBase())
	}
	for _, i := range selected {
		sd, err := d.openStream(streams[i])
		if err != nil {
			d.stats.Streams[i].Skipped = err.Error()
			failures = append(failures, fmt.Sprintf("stream %d (%s): %v", i, d.info.Streams[i].Codec, err))
			corrupt = corrupt || errors.Is(err, astiav.ErrInvaliddata)
			continue
		}
		d.streams[i] = sd
		d.active = append(d.active, sd)
	}
	if len(d.active) == 0 {
		kind := ErrUnsupportedCodec
		if corrupt {
			kind = ErrCorrupt
		}
		return fmt.Errorf("%s: %w: %s", d.path, kind, strings.Join(failures, "; "))
	}
	d.pkt = astiav.AllocPacket()
	d.frame = astiav.AllocFrame()
	if d.pkt == nil || d.frame == nil {
		return fmt.Errorf("%s: %w: out of memory", d.path, ErrOpen)
	}
	if d.in.raw != nil {
		d.watchLog(uintptr(unsafe.Pointer(d.in.raw)), -1)
	}
	return nil
}

// selectStreams returns the indexes to decode according to the options.
func (d *Decoder) selectStreams() ([]int, error) {
	if len(d.opts.Streams) > 0 {
		var sel []int
		for _, i := range d.opts.Streams {
			if i < 0 || i >= len(d.info.Streams) {
				return nil, fmt.Errorf("%s: %w: no stream %d (file has %d)", d.path, ErrNoStreams, i, len(d.info.Streams))
			}
			if t := d.info.Streams[i].Type; t != MediaVideo && t != MediaAudio {
				return nil, fmt.Errorf("%s: %w: stream %d is %s; only audio and video are decoded", d.path, ErrUnsupportedCodec, i, t)
			}
			if !slices.Contains(sel, i) {
				sel = append(sel, i)
			}
		}
		return sel, nil
	}
	var sel []int
	for i, si := range d.info.Streams {
		if (si.Type == MediaVideo && d.opts.Video && !si.AttachedImage) || (si.Type == MediaAudio && d.opts.Audio) {
			sel = append(sel, i)
		}
	}
	if len(sel) == 0 {
		want := "video"
		if !d.opts.Video {
			want = "audio"
		}
		return nil, fmt.Errorf("%s: %w: no %s stream", d.path, ErrNoStreams, want)
	}
	return sel, nil
}

func (d *Decoder) openStream(s *astiav.Stream) (*streamDecoder, error) {
	cp := s.CodecParameters()
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, fmt.Errorf("no decoder for %s", cp.CodecID().Name())
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, errors.New("out of memory")
	}
	if err := cp.ToCodecContext(cc); err != nil {
		cc.Free()
		return nil, fmt.Errorf("codec parameters: %w", err)
	}
	addr := uintptr(setupCodecContext(cc, d.in.raw, s.Index()))
	cc.SetThreadCount(d.opts.Threads)
	// A damaged or hostile header can claim any picture size; refuse
	// absurd ones instead of trying to allocate them.
	opts := astiav.NewDictionary()
	defer opts.Free()
	_ = opts.Set("max_pixels", fmt.Sprint(maxPixels), 0)
	if err := cc.Open(codec, opts); err != nil {
		cc.Free()
		return nil, fmt.Errorf("opening %s decoder: %w", codec.Name(), err)
	}
	sd := &streamDecoder{index: s.Index(), kind: mediaType(cp.MediaType()), cc: cc, tb: s.TimeBase()}
	if sd.kind == MediaVideo {
		sd.video = newVideoConverter(d.opts.VideoFormat, d.opts.Width, d.opts.Height, d.opts.VideoBuffer)
		if fps := d.info.Streams[sd.index].FrameRate; fps > 0 {
			sd.frameDur = time.Duration(float64(time.Second)/fps + 0.5)
		}
	}
	d.stats.Streams[sd.index].Decoded = true
	d.watchLog(addr, sd.index)
	return sd, nil
}

func (d *Decoder) watchLog(addr uintptr, stream int) {
	if addr != 0 {
		d.log.register(addr, stream)
		d.logAddrs = append(d.logAddrs, addr)
	}
}

// Info returns what the container declares (as Probe would).
func (d *Decoder) Info() *Info { return d.info }

// Next returns the next decoded frame in file order, or io.EOF after the
// last one. Damaged packets do not stop it: they are counted in Stats and
// decoding goes on with the next packet.
func (d *Decoder) Next() (*Item, error) {
	return d.next(context.Background())
}

func (d *Decoder) next(ctx context.Context) (*Item, error) {
	if d.closed {
		return nil, fmt.Errorf("%s: decoder %w", d.path, pipeline.ErrClosed)
	}
	for {
		if len(d.queue) > 0 {
			it := d.queue[0]
			d.queue[0] = nil
			d.queue = d.queue[1:]
			return it, nil
		}
		if d.done {
			return nil, io.EOF
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !d.demuxDone {
			d.readPacket()
			continue
		}
		for _, sd := range d.active {
			// A nil packet drains the frames the decoder still holds.
			if err := sd.cc.SendPacket(nil); err == nil {
				d.receive(sd)
			}
		}
		d.finish()
	}
}

// readPacket reads one packet and feeds it to its decoder.
func (d *Decoder) readPacket() {
	err := d.in.fc.ReadFrame(d.pkt)
	switch {
	case err == nil:
	case errors.Is(err, astiav.ErrEof):
		d.demuxDone = true
		return
	case errors.Is(err, astiav.ErrEagain):
		// Only network inputs say "try again"; count it so a stuck
		// reader still ends.
		fallthrough
	default:
		d.readFails++
		d.stats.ReadErrors++
		d.addError(-1, d.stats.Reached, err)
		if ioAtEOF(d.in.raw) || d.readFails >= maxConsecutiveReadErrors {
			d.demuxDone = true
			d.markPremature(fmt.Sprintf("read failed at %.3fs: %v", d.stats.Reached.Seconds(), err))
		}
		return
	}
	d.readFails = 0
	defer d.pkt.Unref()
	i := d.pkt.StreamIndex()
	if i < 0 || i >= len(d.stats.Streams) {
		return // a stream that appeared after the header; not selected
	}
	st := &d.stats.Streams[i]
	st.Packets++
	if d.pkt.Flags().Has(astiav.PacketFlagCorrupt) {
		st.CorruptPackets++
	}
	tb := d.tbs[i]
	ts := d.pkt.Pts()
	if ts == noPTS {
		ts = d.pkt.Dts()
	}
	if t, ok := scaleTS(ts, tb.Num(), tb.Den()); ok {
		end := t - d.origin + tsDuration(d.pkt.Duration(), tb)
		st.End = max(st.End, end)
		d.stats.Reached = max(d.stats.Reached, end)
	}
	if sd := d.streams[i]; sd != nil {
		d.decodePacket(sd)
	}
}

func (d *Decoder) decodePacket(sd *streamDecoder) {
	err := sd.cc.SendPacket(d.pkt)
	if errors.Is(err, astiav.ErrEagain) {
		// The decoder is full: take its frames, then it accepts the packet.
		d.receive(sd)
		err = sd.cc.SendPacket(d.pkt)
	}
	if err != nil && !errors.Is(err, astiav.ErrEagain) && !errors.Is(err, astiav.ErrEof) {
		at := sd.next
		if t, ok := scaleTS(d.pkt.Pts(), sd.tb.Num(), sd.tb.Den()); ok {
			at = max(t-d.origin, 0)
		}
		d.stats.Streams[sd.index].Errors++
		d.addError(sd.index, at, err)
	}
	d.receive(sd)
}

// receive takes every frame the decoder has ready.
func (d *Decoder) receive(sd *streamDecoder) {
	for {
		err := sd.cc.ReceiveFrame(d.frame)
		if err != nil {
			if !errors.Is(err, astiav.ErrEagain) && !errors.Is(err, astiav.ErrEof) {
				d.stats.Streams[sd.index].Errors++
				d.addError(sd.index, sd.next, err)
			}
			return
		}
		d.emit(sd, d.frame)
		d.frame.Unref()
	}
}

// emit converts a decoded frame and queues it.
func (d *Decoder) emit(sd *streamDecoder, f *astiav.Frame) {
	st := &d.stats.Streams[sd.index]
	ts := frameBestEffort(f)
	if ts == noPTS {
		ts = f.Pts()
	}
	pts := sd.next // no timestamp at all: continue from the previous frame
	if t, ok := scaleTS(ts, sd.tb.Num(), sd.tb.Den()); ok {
		pts = t - d.origin
	}
	pts = max(pts, 0)
	it := &Item{Stream: sd.index, Damaged: frameDamaged(f)}
	switch sd.kind {
	case MediaVideo:
		vf, err := sd.video.convert(f)
		if err != nil {
			st.Errors++
			d.addError(sd.index, pts, err)
			return
		}
		vf.PTS = pts
		vf.Duration = tsDuration(frameDuration(f), sd.tb)
		if vf.Duration <= 0 {
			vf.Duration = sd.frameDur
		}
		sd.next = pts + vf.Duration
		it.Video = vf
	case MediaAudio:
		af, err := convertAudio(f, d.opts.AudioFormat)
		if err != nil {
			st.Errors++
			d.addError(sd.index, pts, err)
			return
		}
		af.PTS = pts
		sd.next = pts + af.Duration()
		it.Audio = af
	}
	st.Frames++
	st.LastPTS = pts
	if it.Damaged {
		st.DamagedFrames++
	}
	d.queue = append(d.queue, it)
}

func (d *Decoder) addError(stream int, at time.Duration, err error) {
	d.stats.ErrorCount++
	if len(d.stats.Errors) < maxErrors {
		d.stats.Errors = append(d.stats.Errors, DecodeError{Stream: stream, PTS: at, Err: err.Error()})
	}
}

func (d *Decoder) markPremature(reason string) {
	if !d.stats.PrematureEnd {
		d.stats.PrematureEnd = true
		d.stats.EndReason = reason
	}
}

// endTolerance is how far short of its declared duration a stream may end
// before we call the file truncated: containers round, and audio and video
// rarely end on the same tick.
func endTolerance(declared time.Duration) time.Duration {
	return max(time.Second, declared/100)
}

// finish checks, once all data is read, whether it ended early: fewer
// packets than the index declares, or streams ending well before the
// declared duration.
func (d *Decoder) finish() {
	d.done = true
	d.stats.Done = true
	for i := range d.stats.Streams {
		st, si := &d.stats.Streams[i], &d.info.Streams[i]
		if si.Type != MediaVideo && si.Type != MediaAudio {
			continue
		}
		if si.Frames > 0 && st.Packets < si.Frames {
			d.markPremature(fmt.Sprintf("stream %d: %d of %d packets", i, st.Packets, si.Frames))
		}
		if si.Duration > 0 {
			want := si.StartTime - d.origin + si.Duration
			if st.End < want-endTolerance(si.Duration) {
				d.markPremature(fmt.Sprintf("stream %d ends at %.3fs of %.3fs", i, st.End.Seconds(), want.Seconds()))
			}
		}
	}
	if dur := d.stats.Duration; dur > 0 && d.stats.Reached < dur-endTolerance(dur) {
		d.markPremature(fmt.Sprintf("data ends at %.3fs of %.3fs", d.stats.Reached.Seconds(), dur.Seconds()))
	}
}

// Stats returns a copy of the counts so far; after io.EOF they are final.
func (d *Decoder) Stats() *Stats {
	s := d.stats.clone()
	b := d.log
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range s.Streams {
		s.Streams[i].FFmpegErrors = b.errors[i]
		s.Streams[i].FFmpegWarnings = b.warnings[i]
	}
	s.FFmpegErrors = b.errors[-1]
	s.Messages = append([]LogMessage(nil), b.messages...)
	return s
}

// Close frees everything FFmpeg allocated. It is idempotent.
func (d *Decoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	for _, a := range d.logAddrs {
		unregisterLog(a)
	}
	d.logAddrs = nil
	for _, sd := range d.active {
		if sd.video != nil {
			sd.video.free()
		}
		sd.cc.Free()
	}
	d.active, d.streams, d.queue = nil, nil, nil
	if d.frame != nil {
		d.frame.Free()
		d.frame = nil
	}
	if d.pkt != nil {
		d.pkt.Free()
		d.pkt = nil
	}
	d.in.close()
	return nil
}

// Decode opens path, calls fn for every frame in file order and closes the
// file. It stops early when ctx is done or fn returns an error, returning
// that error; the Stats returned cover what was decoded (nil only when the
// file could not be opened). fn may be nil to just count.
func Decode(ctx context.Context, path string, opts Options, fn func(*Item) error) (*Stats, error) {
	d, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	for {
		it, err := d.next(ctx)
		if errors.Is(err, io.EOF) {
			return d.Stats(), nil
		}
		if err != nil {
			return d.Stats(), err
		}
		if fn != nil {
			if err := fn(it); err != nil {
				return d.Stats(), err
			}
		}
	}
}
