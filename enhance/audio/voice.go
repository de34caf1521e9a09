package audio

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
)

func init() {
	pipeline.Register("voice", func(p pipeline.Params) (pipeline.Stage, error) {
		var o VoiceOptions
		if err := p.Decode(&o); err != nil {
			return nil, err
		}
		return NewVoice(o)
	})
}

// VoiceOptions are the voice effects (all off at zero values). They run
// as one GStreamer chain: equaliser, then pitch, then reverb.
type VoiceOptions struct {
	// Reverb is the wet level 0..1 of a Freeverb room; Room is its size
	// 0..1 (default 0.5).
	Reverb float64 `yaml:"reverb"`
	Room   float64 `yaml:"room"`
	// Pitch shifts the voice by this many semitones (-12..12) keeping its
	// tempo (SoundTouch).
	Pitch float64 `yaml:"pitch"`
	// EQ is an equaliser preset: phone, warm, bright or radio.
	EQ string `yaml:"eq"`
}

// EQPresets are the equaliser presets: gains in dB of equalizer-10bands'
// bands at 29, 59, 119, 237, 474, 947, 1889, 3770, 7523 and 15011 Hz.
var EQPresets = map[string][10]float64{
	"phone":  {-24, -24, -18, -6, 0, 2, 2, 0, -18, -24}, // 300-3400 Hz band
	"warm":   {0, 2, 4, 3, 0, 0, -1, -2, -3, -4},
	"bright": {-2, -2, -1, 0, 0, 1, 2, 4, 5, 4},
	"radio":  {-24, -12, -6, 0, 3, 4, 3, 0, -6, -12},
}

// EQNames lists the presets.
func EQNames() []string {
	var n []string
	for k := range EQPresets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// NewVoice builds the voice effects stage.
func NewVoice(o VoiceOptions) (*Stage, error) {
	if o.Room == 0 {
		o.Room = 0.5
	}
	if o.Reverb < 0 || o.Reverb > 1 || o.Room < 0 || o.Room > 1 {
		return nil, fmt.Errorf("%w: reverb %v room %v (0..1)", ErrParams, o.Reverb, o.Room)
	}
	if o.Pitch < -12 || o.Pitch > 12 {
		return nil, fmt.Errorf("%w: pitch %v semitones (-12..12)", ErrParams, o.Pitch)
	}
	bands, ok := EQPresets[o.EQ]
	if o.EQ != "" && !ok {
		return nil, fmt.Errorf("%w: eq %q (%s)", ErrParams, o.EQ, strings.Join(EQNames(), ", "))
	}
	s := &Stage{name: "voice", settings: map[string]any{}}
	var chain []string
	require := []string{"appsrc", "appsink", "audioconvert", "audioresample"}
	if o.EQ != "" {
		var b strings.Builder
		b.WriteString("equalizer-10bands")
		for i, g := range bands {
			fmt.Fprintf(&b, " band%d=%g", i, g)
		}
		chain = append(chain, b.String())
		require = append(require, "equalizer-10bands")
		s.settings["eq"] = o.EQ
	}
	if o.Pitch != 0 {
		chain = append(chain, fmt.Sprintf("pitch pitch=%g", math.Pow(2, o.Pitch/12)))
		require = append(require, "pitch")
		s.settings["pitch"] = o.Pitch
	}
	if o.Reverb > 0 {
		chain = append(chain, fmt.Sprintf("freeverb room-size=%g damping=0.5 level=%g", o.Room, o.Reverb))
		require = append(require, "freeverb")
		s.settings["reverb"], s.settings["room"] = o.Reverb, o.Room
	}
	if len(chain) == 0 {
		return s, nil
	}
	s.active = true
	s.steps = []proc{gstStep{&gstFilter{
		name:    "voice",
		filter:  "audioconvert ! " + strings.Join(chain, " ! audioconvert ! ") + " ! audioconvert",
		rates:   []int{8000, 16000, 22050, 24000, 32000, 44100, 48000},
		require: require,
		hold:    100 * time.Millisecond, // SoundTouch works on blocks of tens of ms
	}}}
	return s, nil
}
