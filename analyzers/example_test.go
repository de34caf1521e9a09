package analyzers_test

import (
	"fmt"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/pipeline"
)

// tooLong is an integrator's Go analyzer: it raises "custom.long_call" once
// when the call passes a limit. A real one lives in its own package and
// registers from init.
type tooLong struct {
	analyzers.NoOp
	limit time.Duration
	done  bool
}

func (a *tooLong) Video(f *pipeline.VideoFrame, emit func(pipeline.Event)) error {
	if !a.done && f.PTS >= a.limit {
		a.done = true
		emit(pipeline.Event{Kind: "custom.long_call", Severity: pipeline.SeverityInfo, MediaTime: f.PTS})
	}
	return nil
}

// Integrators add an analyzer by implementing Analyzer and calling Register;
// it is then available by name in business profiles and witness analyze.
func ExampleRegister() {
	analyzers.Register("custom-long-call", func(_ analyzers.Session, p pipeline.Params) (analyzers.Analyzer, error) {
		var cfg struct {
			Limit time.Duration `yaml:"limit"`
		}
		if err := p.Decode(&cfg); err != nil {
			return nil, err
		}
		return &tooLong{limit: cfg.Limit}, nil
	})
	a, err := analyzers.New("custom-long-call", analyzers.Session{Room: "r"}, pipeline.Params{"limit": "2s"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 4; i++ {
		f := &pipeline.VideoFrame{PTS: time.Duration(i) * time.Second}
		_ = a.Video(f, func(e pipeline.Event) { fmt.Println(e.Kind, e.MediaTime) })
	}
	// Output: custom.long_call 2s
}
