package enhance

import (
	"context"
	"testing"

	"github.com/witness-media/witness/pipeline"
)

type fake struct {
	pipeline.StageFunc
	a Applied
}

func (f fake) Enhancement() Applied { return f.a }

func TestReport(t *testing.T) {
	pass := pipeline.StageFunc(func(_ context.Context, in pipeline.Packet, emit pipeline.Emit) error { emit(in); return nil })
	got := Report(
		fake{pass, Applied{Stage: "sharpen", Active: true, Settings: map[string]any{"amount": 0.5}}},
		pass, // not an enhancer
		fake{pass, Applied{Stage: "beauty", Active: false}},
		fake{pass, Applied{Stage: "adjust", Active: true}},
	)
	if len(got) != 2 || got[0].Stage != "adjust" || got[1].Stage != "sharpen" || got[1].Settings["amount"] != 0.5 {
		t.Fatalf("report: %+v", got)
	}
	if r := Report(); r != nil {
		t.Fatalf("empty report: %+v", r)
	}
}
