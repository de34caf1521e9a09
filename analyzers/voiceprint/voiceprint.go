// Package voiceprint is the built-in voiceprint analyzer ("voiceprint"):
// it enrols the customer's voice from the first seconds of speech (Silero
// VAD selects speech) and checks every later stretch of speech against it,
// raising voice.mismatch when another voice speaks for the customer.
//
// Two scorers:
//   - the default classical baseline (MFCC statistics, calibrated cosine;
//     see baseline.go and docs/analyzers.md for its measured EER);
//   - an ONNX slot for an operator-supplied speaker-embedding model
//     (ECAPA-style: 16 kHz 80-band log-mel fbank [1, T, 80] in, embedding
//     out, compared by cosine). None ships: no such model is published in
//     the package registries.
package voiceprint

import (
	"fmt"
	"math"
	"time"

	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/models"
	"github.com/witness-media/witness/pipeline"
)

func init() { analyzers.Register("voiceprint", New) }

// Event kinds.
const (
	KindEnrolled = "voice.enrolled"
	KindMismatch = "voice.mismatch"
)

// Params configure the analyzer.
type Params struct {
	Enrol        time.Duration `yaml:"enrol"`         // speech to enrol from; default 8s
	Segment      time.Duration `yaml:"segment"`       // speech per check; default 4s
	SameAbove    float64       `yaml:"same_above"`    // baseline: calibrated P(same) under which it is another voice; default 0.5
	VADThreshold float64       `yaml:"vad_threshold"` // Silero speech probability; default 0.5
	// Model is an operator's ONNX speaker-embedding model; empty uses the
	// baseline.
	Model          string  `yaml:"model"`
	ModelMels      int     `yaml:"model_mels"`      // fbank bands the model expects; default 80
	ModelThreshold float64 `yaml:"model_threshold"` // cosine under which it is another voice; default 0.5
}

func (p *Params) defaults() error {
	if p.Enrol == 0 {
		p.Enrol = 8 * time.Second
	}
	if p.Segment == 0 {
		p.Segment = 4 * time.Second
	}
	if p.SameAbove == 0 {
		p.SameAbove = 0.5
	}
	if p.VADThreshold == 0 {
		p.VADThreshold = 0.5
	}
	if p.ModelMels == 0 {
		p.ModelMels = 80
	}
	if p.ModelThreshold == 0 {
		p.ModelThreshold = 0.5
	}
	if p.Enrol < 1500*time.Millisecond || p.Segment < 1500*time.Millisecond {
		return fmt.Errorf("voiceprint: enrol and segment need at least 1.5s of speech")
	}
	if p.SameAbove <= 0 || p.SameAbove >= 1 || p.VADThreshold <= 0 || p.VADThreshold >= 1 {
		return fmt.Errorf("voiceprint: same_above and vad_threshold in (0,1)")
	}
	return nil
}

type analyzer struct {
	analyzers.NoOp
	p        Params
	vad      *VAD
	model    *models.Session // nil: baseline
	fe       *frontEnd
	speech   []float32
	segStart time.Duration // media time of the first speech of the current stretch
	pos      time.Duration // media time of the next 16 kHz sample fed to the VAD
	enrolled Voiceprint
	enrolEmb []float32
	mismatch *analyzers.Alert
}

// New builds a voiceprint analyzer.
func New(_ analyzers.Session, raw pipeline.Params) (analyzers.Analyzer, error) {
	var p Params
	if err := raw.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.defaults(); err != nil {
		return nil, err
	}
	vad, err := NewVAD()
	if err != nil {
		return nil, err
	}
	a := &analyzer{p: p, vad: vad, segStart: -1,
		mismatch: analyzers.NewAlert(KindMismatch, pipeline.SeverityCritical, 0, p.Segment)}
	if p.Model != "" {
		s, err := models.OpenONNX(p.Model)
		if err != nil {
			return nil, fmt.Errorf("voiceprint model: %w", err)
		}
		in := s.Inputs()
		if len(in) != 1 || len(in[0].Shape) != 3 || (in[0].Shape[2] != -1 && in[0].Shape[2] != int64(p.ModelMels)) {
			s.Close()
			return nil, fmt.Errorf("voiceprint model %s: want one input [1, T, %d] (fbank), got %v", p.Model, p.ModelMels, in)
		}
		a.model, a.fe = s, newFrontEnd(p.ModelMels)
	}
	return a, nil
}

// WantsAudio tells the offline runner to decode audio.
func (a *analyzer) WantsAudio() bool { return true }

func (a *analyzer) Audio(f *pipeline.AudioFrame, emit func(pipeline.Event)) error {
	if err := f.Validate(); err != nil {
		return err
	}
	var inter []float32
	if f.Format == pipeline.SampleF32 {
		inter = f.F32
	} else {
		inter = make([]float32, len(f.S16))
		for i, v := range f.S16 {
			inter[i] = float32(v) / 32768
		}
	}
	x := Mono16k(inter, f.SampleRate, f.Channels)
	if a.pos == 0 || f.PTS > a.pos+time.Second || f.PTS < a.pos-time.Second {
		// First audio, or a jump: media time follows the frames.
		a.pos = f.PTS - time.Duration(len(a.vad.pending))*time.Second/Rate
	}
	var err error
	perr := a.vad.Push(x, func(win []float32, p float32) {
		t := a.pos
		a.pos += vadWin * time.Second / Rate
		if err != nil || float64(p) < a.p.VADThreshold {
			return
		}
		if a.segStart < 0 {
			a.segStart = t
		}
		a.speech = append(a.speech, win...)
		err = a.maybeScore(t, emit)
	})
	if perr != nil {
		return perr
	}
	return err
}

func samples(d time.Duration) int { return int(d.Seconds() * Rate) }

func (a *analyzer) maybeScore(t time.Duration, emit func(pipeline.Event)) error {
	if a.enrolled == nil && a.enrolEmb == nil {
		if len(a.speech) < samples(a.p.Enrol) {
			return nil
		}
		if err := a.enrol(); err != nil {
			return err
		}
		ev := pipeline.Event{Kind: KindEnrolled, Severity: pipeline.SeverityInfo, MediaTime: a.segStart}
		ev.Data = []byte(fmt.Sprintf(`{"speech_s":%.1f,"scorer":%q}`, float64(len(a.speech))/Rate, a.scorer()))
		emit(ev)
		a.speech, a.segStart = nil, -1
		return nil
	}
	if len(a.speech) < samples(a.p.Segment) {
		return nil
	}
	score, same, err := a.check()
	if err != nil {
		return err
	}
	start := a.segStart
	a.mismatch.Update(start, !same, func() any {
		return map[string]any{"score": score, "scorer": a.scorer(), "segment_from_s": start.Seconds(), "segment_to_s": t.Seconds()}
	}, emit)
	a.speech, a.segStart = nil, -1
	return nil
}

func (a *analyzer) scorer() string {
	if a.model != nil {
		return "onnx:" + a.p.Model
	}
	return "mfcc-baseline"
}

func (a *analyzer) enrol() error {
	if a.model != nil {
		e, err := a.embed(a.speech)
		a.enrolEmb = e
		return err
	}
	a.enrolled = Extract(a.speech)
	if a.enrolled == nil {
		return fmt.Errorf("voiceprint: enrolment speech too short")
	}
	return nil
}

func (a *analyzer) check() (score float64, same bool, err error) {
	if a.model != nil {
		e, err := a.embed(a.speech)
		if err != nil {
			return 0, false, err
		}
		c := cosine32(a.enrolEmb, e)
		return c, c >= a.p.ModelThreshold, nil
	}
	v := Extract(a.speech)
	if v == nil {
		return 0, true, nil
	}
	s := DefaultModel.Score(a.enrolled, v)
	return s, s >= a.p.SameAbove, nil
}

// embed runs the operator's model on mean-normalised log-mel fbank.
func (a *analyzer) embed(x []float32) ([]float32, error) {
	fb := a.fe.logMel(x)
	if len(fb) == 0 {
		return nil, fmt.Errorf("voiceprint: no frames")
	}
	m := a.p.ModelMels
	mean := make([]float64, m)
	for _, r := range fb {
		for j, v := range r {
			mean[j] += v / float64(len(fb))
		}
	}
	in := make([]float32, 0, len(fb)*m)
	for _, r := range fb {
		for j, v := range r {
			in = append(in, float32(v-mean[j]))
		}
	}
	out, err := a.model.Run([]models.Tensor{models.Float32Tensor(in, 1, int64(len(fb)), int64(m))})
	if err != nil {
		return nil, fmt.Errorf("voiceprint model: %w", err)
	}
	return out[0].Float32, nil
}

func cosine32(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		if i >= len(b) {
			break
		}
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return d / math.Sqrt(na*nb)
}

func (a *analyzer) Close() error {
	if a.model != nil {
		return a.model.Close()
	}
	return nil
}
