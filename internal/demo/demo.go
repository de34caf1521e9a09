// Package demo runs Witness's end-to-end demonstration job: two synthetic
// participants (agent and customer) are generated and composited in
// GStreamer, their frames and audio flow through the Go pipeline core (graph,
// queues, an analyzer), and are encoded back into a fragmented H.264/AAC MP4.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/light" // registers "light"
	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/gst"
)

// Options of the demo job.
type Options struct {
	Width, Height int
	FPS           int
	Duration      time.Duration
	Output        string
	QueueSize     int
	GST           gst.Options
}

// Result says what the job produced.
type Result struct {
	Output      string
	VideoFrames uint64
	AudioBlocks uint64
	Events      []pipeline.Event
	Stats       []pipeline.NodeStats
}

// ErrOptions reports invalid demo options.
var ErrOptions = errors.New("invalid demo options")

const audioRate = 48000

func (o Options) validate() error {
	if o.Width < 64 || o.Height < 64 || o.Width%4 != 0 || o.Height%2 != 0 {
		return fmt.Errorf("%w: size %dx%d (width a multiple of 4, height even, both >= 64)", ErrOptions, o.Width, o.Height)
	}
	if o.FPS < 1 || o.FPS > 60 {
		return fmt.Errorf("%w: fps %d", ErrOptions, o.FPS)
	}
	if o.Duration < 200*time.Millisecond {
		return fmt.Errorf("%w: duration %v (at least 200ms)", ErrOptions, o.Duration)
	}
	if o.Output == "" {
		return fmt.Errorf("%w: no output path", ErrOptions)
	}
	return nil
}

// captureLaunch generates the two participants: agent (colour bars, 440 Hz)
// on the left and customer (a ball on black, 660 Hz) on the right, labelled
// in Chinese and English to exercise CJK text rendering.
func captureLaunch(o Options) string {
	frames := int(o.Duration.Seconds() * float64(o.FPS))
	const block = 960 // 20 ms of audio at 48 kHz
	blocks := int(o.Duration / (20 * time.Millisecond))
	half := o.Width / 2
	cam := func(pattern, label string, pad int) string {
		return fmt.Sprintf("videotestsrc pattern=%s num-buffers=%d ! video/x-raw,width=%d,height=%d,framerate=%d/1 ! "+
			"textoverlay text=%q valignment=bottom halignment=left font-desc=\"Noto Sans CJK SC 14\" ! mix.sink_%d ",
			pattern, frames, half, o.Height, o.FPS, label, pad)
	}
	mic := func(freq int) string {
		return fmt.Sprintf("audiotestsrc freq=%d volume=0.25 samplesperbuffer=%d num-buffers=%d ! audio/x-raw,rate=%d,channels=1 ! amix. ",
			freq, block, blocks, audioRate)
	}
	return fmt.Sprintf("compositor name=mix background=black sink_1::xpos=%d ! video/x-raw,width=%d,height=%d ! videoconvert ! video/x-raw,format=RGBA ! appsink name=video sync=false max-buffers=4 ", half, o.Width, o.Height) +
		cam("smpte", "坐席 Agent", 0) + cam("ball", "客户 Customer", 1) +
		fmt.Sprintf("audiomixer name=amix ! audioconvert ! audio/x-raw,format=F32LE,layout=interleaved,rate=%d,channels=2 ! appsink name=audio sync=false max-buffers=8 ", audioRate) +
		mic(440) + mic(660)
}

// encodeLaunch writes fragmented MP4 (1 s fragments): a crash loses at most
// the last fragment instead of the whole file.
func encodeLaunch(o Options) string {
	return fmt.Sprintf("appsrc name=v format=time ! queue ! videoconvert ! video/x-raw,format=I420 ! "+
		"x264enc speed-preset=veryfast bitrate=1000 key-int-max=%d ! h264parse ! queue ! mux.video_0 "+
		"appsrc name=a format=time ! queue ! audioconvert ! audioresample ! avenc_aac bitrate=96000 ! aacparse ! queue ! mux.audio_0 "+
		"mp4mux name=mux fragment-duration=1000 ! filesink location=%q", 2*o.FPS, o.Output)
}

// Run executes the demo and returns what it produced.
func Run(ctx context.Context, o Options, log *slog.Logger) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if err := gst.Require("videotestsrc", "audiotestsrc", "compositor", "audiomixer", "textoverlay", "x264enc", "avenc_aac", "mp4mux", "appsrc", "appsink"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(o.Output), 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	capture, err := gst.NewFromLaunch("capture", captureLaunch(o), o.GST, log)
	if err != nil {
		return nil, err
	}
	defer capture.Close()
	encode, err := gst.NewFromLaunch("encode", encodeLaunch(o), o.GST, log)
	if err != nil {
		return nil, err
	}
	defer encode.Close()

	video, err := capture.Sink("video")
	if err != nil {
		return nil, err
	}
	audio, err := capture.Sink("audio")
	if err != nil {
		return nil, err
	}
	vsrc, err := encode.Src("v", o.FPS)
	if err != nil {
		return nil, err
	}
	asrc, err := encode.Src("a", 0)
	if err != nil {
		return nil, err
	}
	sampler, err := pipeline.NewStage("sample", pipeline.Params{"fps": 5})
	if err != nil {
		return nil, err
	}
	// The customer's camera is the right half of the composite.
	sess := analyzers.Session{Room: "demo", Participant: "customer"}
	light, err := analyzers.New("light", sess, pipeline.Params{"roi": []float64{0.5, 0, 0.5, 1}})
	if err != nil {
		return nil, err
	}
	res := &Result{Output: o.Output}
	events := pipeline.StageFunc(func(_ context.Context, in pipeline.Packet, _ pipeline.Emit) error {
		if in.Event != nil {
			res.Events = append(res.Events, *in.Event)
			log.Info("event", "kind", in.Event.Kind, "media_time", in.Event.MediaTime, "participant", in.Event.Participant, "data", string(in.Event.Data))
		}
		return nil
	})

	// Recording edges block (nothing may be lost); analysis edges drop.
	q := o.QueueSize
	g := pipeline.NewGraph("demo", log)
	for _, step := range []error{
		g.AddSource("video", video),
		g.AddSource("audio", audio),
		g.AddStage("record-video", vsrc, pipeline.InputOptions{Size: q, Block: true}),
		g.AddStage("record-audio", asrc, pipeline.InputOptions{Size: q, Block: true}),
		g.AddStage("sample", sampler, pipeline.InputOptions{Size: q}),
		g.AddStage("light", analyzers.AsStage(light, sess), pipeline.InputOptions{Size: q}),
		g.AddStage("events", events, pipeline.InputOptions{Size: q, Block: true}),
		g.Connect("video", "record-video"),
		g.Connect("audio", "record-audio"),
		g.Connect("video", "sample"),
		g.Connect("sample", "light"),
		g.Connect("light", "events"),
	} {
		if step != nil {
			return nil, step
		}
	}
	if err := encode.Start(ctx); err != nil {
		return nil, err
	}
	if err := capture.Start(ctx); err != nil {
		return nil, err
	}
	if err := g.Run(ctx); err != nil || ctx.Err() != nil {
		// Interrupted or failed: still finalise what was recorded (EOS under
		// the watchdog) so the evidence file is complete up to this point.
		stopErr := encode.Stop(context.WithoutCancel(ctx))
		return nil, errors.Join(err, ctx.Err(), stopErr)
	}
	// The graph ended both appsrcs; wait for the muxer to finish the file.
	if err := encode.Wait(ctx); err != nil {
		return nil, err
	}
	if err := errors.Join(encode.Stop(ctx), capture.Stop(ctx)); err != nil {
		return nil, err
	}
	res.VideoFrames, res.AudioBlocks = video.Frames(), audio.Frames()
	res.Stats = g.Stats()
	return res, nil
}
