// Package enhance holds the optional media enhancement stages (audio
// denoise, virtual background, beauty and image enhancement, voice effects)
// and the bookkeeping a recording's report needs: which enhancement stages
// were switched on and with what settings. Recordings are evidence, so every
// stage is off unless a business template enables it by name.
//
// The stages themselves live in sub-packages (enhance/audio, enhance/video)
// and register with pipeline.Register from init functions.
package enhance

import (
	"sort"

	"github.com/witness-media/witness/pipeline"
)

// Enhancer is implemented by every enhancement stage so that a recording's
// report can say what altered the media.
type Enhancer interface {
	// Enhancement names the stage and its effective settings; Active is
	// false when the settings make the stage an identity (all strengths 0).
	Enhancement() Applied
}

// Applied describes one enhancement stage as configured.
type Applied struct {
	Stage    string         `json:"stage"`
	Active   bool           `json:"active"`
	Settings map[string]any `json:"settings,omitempty"`
}

// Report lists the enhancement stages among stages that change the media
// (Active), sorted by name, for the recording's report. Stages that are not
// enhancers, or enhancers configured as identities, are left out.
func Report(stages ...pipeline.Stage) []Applied {
	var out []Applied
	for _, s := range stages {
		e, ok := s.(Enhancer)
		if !ok {
			continue
		}
		if a := e.Enhancement(); a.Active {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out
}
