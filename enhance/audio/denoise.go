package audio

import (
	"fmt"
	"time"

	"github.com/witness-media/witness/pipeline"
)

func init() {
	pipeline.Register("denoise", func(p pipeline.Params) (pipeline.Stage, error) {
		var o DenoiseOptions
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewDenoise(o)
	})
}

// Engines of the denoise stage.
const (
	EngineWebRTC   = "webrtc"   // WebRTC noise suppression (GStreamer webrtcdsp)
	EngineSpectral = "spectral" // Go STFT Wiener suppressor
	EngineONNX     = "onnx"     // operator-supplied streaming model
	EngineNone     = "none"     // no stationary suppressor (transient only)
)

// WebRTC suppression levels (webrtcdsp noise-suppression-level).
var webrtcLevels = map[string]bool{"low": true, "moderate": true, "high": true, "very-high": true}

// DenoiseOptions configure the denoise stage. The default is the Go
// spectral suppressor followed by the Go transient (keyboard click)
// suppressor: on the measured office mixtures (docs/enhance.md) it beats
// WebRTC's suppressor on SI-SDR, which gates low-level speech.
type DenoiseOptions struct {
	Engine string `yaml:"engine"`
	// Level is webrtcdsp's noise-suppression-level.
	Level string `yaml:"level"`
	// Transient adds the click suppressor after the engine (default true).
	Transient *bool `yaml:"transient"`
	// Spectral tunes the Go suppressor (engine spectral, and the transient
	// part's thresholds for every engine).
	Spectral SpectralOptions `yaml:"spectral"`
	// ONNX declares an operator-supplied model (engine onnx).
	ONNX *ONNXOptions `yaml:"onnx"`
}

// Validate checks the options after defaults.
func (o *DenoiseOptions) Validate() error {
	if o.Engine == "" {
		o.Engine = EngineSpectral
	}
	if o.Level == "" {
		o.Level = "high"
	}
	if o.Transient == nil {
		t := true
		o.Transient = &t
	}
	o.Spectral.defaults()
	switch o.Engine {
	case EngineWebRTC, EngineSpectral, EngineNone:
	case EngineONNX:
		if o.ONNX == nil {
			return fmt.Errorf("%w: engine onnx needs an onnx block", ErrParams)
		}
		if err := o.ONNX.Validate(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: engine %q (webrtc, spectral, onnx, none)", ErrParams, o.Engine)
	}
	if !webrtcLevels[o.Level] {
		return fmt.Errorf("%w: level %q (low, moderate, high, very-high)", ErrParams, o.Level)
	}
	return o.Spectral.Validate()
}

// NewDenoise builds a denoise stage for one stream.
func NewDenoise(o DenoiseOptions) (*Stage, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Stage{name: "denoise", active: o.Engine != EngineNone || *o.Transient,
		settings: map[string]any{"engine": o.Engine, "transient": *o.Transient}}
	switch o.Engine {
	case EngineWebRTC:
		s.settings["level"] = o.Level
		s.steps = append(s.steps, gstStep{webrtcFilter(o.Level)})
	case EngineSpectral:
		// One STFT for both parts: 30 ms latency instead of 40, one
		// transform pair instead of two.
		sp := o.Spectral
		sp.Stationary, sp.Transient = true, *o.Transient
		s.steps = append(s.steps, spectralStep(sp))
	case EngineONNX:
		st, err := newONNXStep(*o.ONNX)
		if err != nil {
			return nil, err
		}
		s.settings["model"] = o.ONNX.Model
		s.steps = append(s.steps, st)
	}
	if *o.Transient && o.Engine != EngineSpectral {
		sp := o.Spectral
		sp.Stationary, sp.Transient = false, true
		s.steps = append(s.steps, spectralStep(sp))
	}
	return s, nil
}

// webrtcFilter is WebRTC's noise suppressor alone: echo cancellation needs
// the far-end signal (a webrtcechoprobe) and gain control changes levels,
// which evidence recordings must not do, so both are off.
func webrtcFilter(level string) *gstFilter {
	return &gstFilter{
		name: "denoise-webrtc",
		filter: "webrtcdsp echo-cancel=false gain-control=false high-pass-filter=false " +
			"noise-suppression=true noise-suppression-level=" + level,
		rates:   []int{8000, 16000, 32000, 48000},
		require: []string{"webrtcdsp", "audioconvert", "audioresample", "appsrc", "appsink"},
		hold:    30 * time.Millisecond,
		delay:   map[int]int64{8000: 48, 16000: 96, 32000: 196, 48000: 334},
	}
}
