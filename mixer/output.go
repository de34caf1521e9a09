package mixer

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/witness-media/witness/watermark"
)

// Containers.
const (
	ContainerMP4 = "mp4" // fragmented MP4: a crash loses at most the last fragment
	ContainerMKV = "mkv"
	ContainerTS  = "ts"
)

// Output is what the mix writes.
type Output struct {
	// Path of the finished file. While recording the file is Path+".part"
	// and it is renamed on success, so a file under its final name is
	// always complete. With Segment > 0 the files are
	// <base>_00000<ext>, <base>_00001<ext>, ... (each .part until the end).
	Path      string
	Container string // mp4 (default), mkv or ts
	Width     int    // 320..1920, even; default the layout's canvas
	Height    int    // 180..1080, even
	FPS       int    // 7..30; default 25
	// H.264: x264 preset (default veryfast); Bitrate in kbit/s, or CRF
	// (constant quality, 0..51) when Bitrate is 0; GOP in frames (default
	// 2 s).
	Preset  string
	Bitrate int
	CRF     int
	GOP     int
	// LowLatency tunes x264 for live recording (no B-frames, no
	// lookahead), so what reaches the file trails the camera by
	// milliseconds and a kill loses at most the last fragment.
	LowLatency   bool
	AudioBitrate int           // AAC bit/s; default 96000
	Fragment     time.Duration // MP4 fragment length; default 1s
	Segment      time.Duration // split into files of about this length (at keyframes); 0 = one file
	// PerParticipant, when set, is a directory where every input is also
	// recorded on its own (ROLE.<ext>, same codecs, its native size, with
	// the watermarks), alongside the composite.
	PerParticipant string
	// Screenshots, when set, is a directory that receives a JPEG of the
	// composite (watermarks included) every ScreenshotEvery (default 10 s),
	// named shot_00000.jpg, shot_00001.jpg, ... in time order.
	Screenshots     string
	ScreenshotEvery time.Duration
	// Watermarks drawn on the composite (and the per-participant files).
	Watermarks *watermark.Set
}

const audioRate = 48000

func (o *Output) defaults(canvas Size) {
	if o.Container == "" {
		o.Container = ContainerMP4
	}
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = canvas.Width, canvas.Height
	}
	if o.FPS == 0 {
		o.FPS = 25
	}
	if o.Preset == "" {
		o.Preset = "veryfast"
	}
	if o.Bitrate == 0 && o.CRF == 0 {
		o.Bitrate = 1500
	}
	if o.GOP == 0 {
		o.GOP = 2 * o.FPS
	}
	if o.AudioBitrate == 0 {
		o.AudioBitrate = 96000
	}
	if o.Fragment == 0 {
		o.Fragment = time.Second
	}
}

var presets = map[string]bool{"ultrafast": true, "superfast": true, "veryfast": true, "faster": true, "fast": true, "medium": true, "slow": true, "slower": true, "veryslow": true}

func (o *Output) validate() error {
	switch {
	case o.Path == "":
		return fmt.Errorf("%w: no output path", ErrOutput)
	case o.Container != ContainerMP4 && o.Container != ContainerMKV && o.Container != ContainerTS:
		return fmt.Errorf("%w: container %q (mp4, mkv or ts)", ErrOutput, o.Container)
	case o.Width < 180 || o.Height < 180 || o.Width > 1920 || o.Height > 1920 || min(o.Width, o.Height) > 1080 || o.Width%2 != 0 || o.Height%2 != 0:
		return fmt.Errorf("%w: size %dx%d (180p to 1080p, even)", ErrOutput, o.Width, o.Height)
	case o.FPS < 7 || o.FPS > 30:
		return fmt.Errorf("%w: %d fps (7 to 30)", ErrOutput, o.FPS)
	case !presets[o.Preset]:
		return fmt.Errorf("%w: x264 preset %q", ErrOutput, o.Preset)
	case o.Bitrate < 0 || o.Bitrate > 50000 || o.CRF < 0 || o.CRF > 51:
		return fmt.Errorf("%w: bitrate %d kbit/s / crf %d", ErrOutput, o.Bitrate, o.CRF)
	case o.GOP < 1 || o.Fragment < 100*time.Millisecond || o.Segment < 0 || (o.Segment > 0 && o.Segment < time.Second):
		return fmt.Errorf("%w: gop %d, fragment %v, segment %v", ErrOutput, o.GOP, o.Fragment, o.Segment)
	}
	return nil
}

// partPath is where the muxer writes while recording: Path+".part", or a
// splitmuxsink pattern of .part files when segmenting.
func (o *Output) partPath() string {
	if o.Segment > 0 {
		ext := filepath.Ext(o.Path)
		return strings.TrimSuffix(o.Path, ext) + "_%05d" + ext + ".part"
	}
	return o.Path + ".part"
}

// videoEncoder is the x264 fragment.
func (o *Output) videoEncoder() string {
	rc := fmt.Sprintf("bitrate=%d", o.Bitrate)
	if o.Bitrate == 0 {
		rc = fmt.Sprintf("pass=qual quantizer=%d", o.CRF)
	}
	tune := ""
	if o.LowLatency {
		tune = " tune=zerolatency"
	}
	return fmt.Sprintf("x264enc speed-preset=%s %s key-int-max=%d%s ! video/x-h264,profile=high ! h264parse", o.Preset, rc, o.GOP, tune)
}

func (o *Output) audioEncoder() string {
	return fmt.Sprintf("audioconvert ! audioresample ! avenc_aac bitrate=%d ! aacparse", o.AudioBitrate)
}

// muxer returns the muxer/sink fragment named name writing location, and
// the pad prefixes to link video and audio into.
func (o *Output) muxer(name, location string) (frag, vpad, apad string) {
	var factory, props string
	switch o.Container {
	case ContainerMKV:
		factory = "matroskamux"
	case ContainerTS:
		factory = "mpegtsmux"
	default:
		factory = "mp4mux"
		props = fmt.Sprintf("fragment-duration=%d", o.Fragment.Milliseconds())
	}
	if o.Segment > 0 {
		mp := ""
		if props != "" {
			mp = fmt.Sprintf(" muxer-properties=%s", watermark.Quote("properties,"+props))
		}
		return fmt.Sprintf("splitmuxsink name=%s location=%s max-size-time=%d muxer-factory=%s%s",
			name, watermark.Quote(location), o.Segment.Nanoseconds(), factory, mp), name + ".video", name + ".audio_%u"
	}
	sink := ""
	if o.LowLatency {
		// filesink buffers 64 KiB by default: at low bitrates that is
		// seconds of recording a kill would lose. Unbuffered, each
		// finished fragment reaches the file at once.
		sink = " buffer-mode=unbuffered"
	}
	return fmt.Sprintf("%s name=%s %s ! filesink%s location=%s", factory, name, props, sink, watermark.Quote(location)), name + ".", name + "."
}
