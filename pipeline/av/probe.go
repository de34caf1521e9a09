package av

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/asticode/go-astiav"
)

// MediaType is the kind of a stream.
type MediaType string

// Media types, named as ffprobe names them.
const (
	MediaVideo      MediaType = "video"
	MediaAudio      MediaType = "audio"
	MediaSubtitle   MediaType = "subtitle"
	MediaData       MediaType = "data"
	MediaAttachment MediaType = "attachment"
	MediaUnknown    MediaType = "unknown"
)

func mediaType(t astiav.MediaType) MediaType {
	switch t {
	case astiav.MediaTypeVideo:
		return MediaVideo
	case astiav.MediaTypeAudio:
		return MediaAudio
	case astiav.MediaTypeSubtitle:
		return MediaSubtitle
	case astiav.MediaTypeData:
		return MediaData
	case astiav.MediaTypeAttachment:
		return MediaAttachment
	}
	return MediaUnknown
}

// Info describes a media file as the container declares it. Durations are
// nanoseconds in JSON (like pipeline.Event); zero means unknown.
type Info struct {
	Path       string            `json:"path"`
	Format     string            `json:"format"`      // demuxer, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	FormatLong string            `json:"format_long"` // e.g. "QuickTime / MOV"
	Size       int64             `json:"size_bytes"`
	Duration   time.Duration     `json:"duration_ns"`
	StartTime  time.Duration     `json:"start_time_ns"`
	BitRate    int64             `json:"bit_rate"` // bits per second, overall
	Streams    []StreamInfo      `json:"streams"`
	Tags       map[string]string `json:"tags,omitempty"`
}

// StreamInfo describes one stream. Video and audio fields are zero for the
// other kinds.
type StreamInfo struct {
	Index    int       `json:"index"`
	Type     MediaType `json:"type"`
	Codec    string    `json:"codec"`             // e.g. "h264", "aac"
	Profile  string    `json:"profile,omitempty"` // e.g. "High", "LC"
	TimeBase string    `json:"time_base"`         // e.g. "1/12800"
	// Duration and StartTime are in the stream's own time base converted to
	// time; zero when the container does not say.
	Duration  time.Duration `json:"duration_ns"`
	StartTime time.Duration `json:"start_time_ns"`
	BitRate   int64         `json:"bit_rate,omitempty"`
	Frames    int64         `json:"frames,omitempty"` // declared frame (packet) count, 0 if unknown

	Width         int     `json:"width,omitempty"`
	Height        int     `json:"height,omitempty"`
	PixelFormat   string  `json:"pixel_format,omitempty"`
	FrameRate     float64 `json:"frame_rate,omitempty"`     // average frames per second
	AttachedImage bool    `json:"attached_image,omitempty"` // cover art, not a video track

	SampleRate    int    `json:"sample_rate,omitempty"`
	Channels      int    `json:"channels,omitempty"`
	ChannelLayout string `json:"channel_layout,omitempty"`
	SampleFormat  string `json:"sample_format,omitempty"`

	Tags map[string]string `json:"tags,omitempty"`
}

// Probe opens path, reads what the container declares and closes it again.
// It decodes nothing beyond what FFmpeg needs to fill in stream parameters.
func Probe(path string) (*Info, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.close()
	info := buildInfo(in, path)
	if len(info.Streams) == 0 {
		return nil, fmt.Errorf("%s: %w: %w", path, ErrNotMedia, ErrNoStreams)
	}
	return info, nil
}

func buildInfo(in *input, path string) *Info {
	fc := in.fc
	info := &Info{
		Path:      path,
		Size:      in.size,
		Duration:  avTime(fc.Duration()),
		StartTime: avTime(fc.StartTime()),
		BitRate:   fc.BitRate(),
		Tags:      tags(fc.Metadata()),
	}
	if f := fc.InputFormat(); f != nil {
		info.Format, info.FormatLong = f.Name(), f.LongName()
	}
	for _, s := range fc.Streams() {
		info.Streams = append(info.Streams, streamInfo(in, s))
	}
	return info
}

func streamInfo(in *input, s *astiav.Stream) StreamInfo {
	cp := s.CodecParameters()
	tb := s.TimeBase()
	si := StreamInfo{
		Index:     s.Index(),
		Type:      mediaType(cp.MediaType()),
		Codec:     cp.CodecID().Name(),
		Profile:   profileName(cp.CodecID(), cp.Profile()),
		TimeBase:  fmt.Sprintf("%d/%d", tb.Num(), tb.Den()),
		Duration:  tsDuration(s.Duration(), tb),
		StartTime: tsDuration(s.StartTime(), tb),
		BitRate:   cp.BitRate(),
		Frames:    s.NbFrames(),
		Tags:      tags(s.Metadata()),
	}
	if si.Duration == 0 {
		// Matroska keeps per-stream durations in a DURATION tag. FFmpeg's
		// muxer writes the end time there (mkvmerge the length); for the
		// usual start near 0 the two agree.
		if end := parseTagDuration(si.Tags["DURATION"]); end > si.StartTime {
			si.Duration = end - si.StartTime
		}
	}
	switch si.Type {
	case MediaVideo:
		si.Width, si.Height = cp.Width(), cp.Height()
		si.PixelFormat = cp.PixelFormat().Name()
		si.FrameRate = rate(s.AvgFrameRate())
		if si.FrameRate == 0 {
			si.FrameRate = rate(s.RFrameRate())
		}
		si.AttachedImage = streamDisposition(in.raw, si.Index)&dispositionAttachedPic != 0
	case MediaAudio:
		si.SampleRate = cp.SampleRate()
		si.Channels = streamChannels(in.raw, si.Index)
		if si.Channels == 0 {
			si.Channels = cp.Channels()
		}
		si.ChannelLayout = streamLayout(in.raw, si.Index)
		si.SampleFormat = cp.SampleFormat().Name()
	}
	return si
}

func rate(r astiav.Rational) float64 {
	if r.Num() <= 0 || r.Den() <= 0 {
		return 0
	}
	return float64(r.Num()) / float64(r.Den())
}

// tags copies an FFmpeg dictionary; nil when empty.
func tags(d *astiav.Dictionary) map[string]string {
	if d == nil {
		return nil
	}
	var m map[string]string
	var e *astiav.DictionaryEntry
	for {
		e = d.Get("", e, astiav.DictionaryFlags(astiav.DictionaryFlagIgnoreSuffix))
		if e == nil {
			return m
		}
		if m == nil {
			m = map[string]string{}
		}
		m[e.Key()] = e.Value()
	}
}

// parseTagDuration reads "HH:MM:SS.fffffffff" (Matroska DURATION tags).
func parseTagDuration(s string) time.Duration {
	var h, m int
	var sec float64
	if n, err := fmt.Sscanf(s, "%d:%d:%f", &h, &m, &sec); err != nil || n != 3 || h < 0 || m < 0 || sec < 0 {
		return 0
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second)+0.5)
}

// Summary is a compact human description: one line for the file, then one
// per stream, e.g.
//
//	clip.mp4: mov,mp4,m4a,3gp,3g2,mj2 3.00s 215.4 kB 574 kb/s
//	video #0 h264 640x360 yuv420p 25.00 fps 3.00s (High, 75 frames)
//	audio #1 aac 48000 Hz 1 ch fltp 3.00s (LC, mono)
func (i *Info) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s %s", filepath.Base(i.Path), i.Format, seconds(i.Duration), humanBytes(i.Size))
	if i.BitRate > 0 {
		fmt.Fprintf(&b, " %d kb/s", (i.BitRate+500)/1000)
	}
	for _, s := range i.Streams {
		b.WriteByte('\n')
		b.WriteString(s.Summary())
	}
	return b.String()
}

// Summary is one line describing the stream.
func (s *StreamInfo) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s #%d %s", s.Type, s.Index, s.Codec)
	var extra []string
	if s.Profile != "" {
		extra = append(extra, s.Profile)
	}
	switch s.Type {
	case MediaVideo:
		fmt.Fprintf(&b, " %dx%d %s", s.Width, s.Height, s.PixelFormat)
		if s.FrameRate > 0 {
			fmt.Fprintf(&b, " %.2f fps", s.FrameRate)
		}
		if s.Frames > 0 {
			extra = append(extra, fmt.Sprintf("%d frames", s.Frames))
		}
		if s.AttachedImage {
			extra = append(extra, "attached image")
		}
	case MediaAudio:
		fmt.Fprintf(&b, " %d Hz %d ch %s", s.SampleRate, s.Channels, s.SampleFormat)
		if s.ChannelLayout != "" {
			extra = append(extra, s.ChannelLayout)
		}
	}
	if s.Duration > 0 {
		fmt.Fprintf(&b, " %s", seconds(s.Duration))
	}
	if s.BitRate > 0 {
		extra = append(extra, fmt.Sprintf("%d kb/s", (s.BitRate+500)/1000))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
	}
	return b.String()
}

func seconds(d time.Duration) string {
	if d <= 0 {
		return "?s"
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
