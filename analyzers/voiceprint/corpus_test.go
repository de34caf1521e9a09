package voiceprint

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

const sphinx = "/usr/share/pocketsphinx/test/data"

// utterance is one recording of one speaker.
type utterance struct {
	speaker string
	name    string
	pcm     []float32 // 16 kHz mono
}

// readWAV reads a 16-bit PCM WAV (any rate, mono or stereo) to 16 kHz mono.
func readWAV(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%s: not a WAV file", path)
	}
	var rate, ch, bits int
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8 : min(len(b), p+8+n)]
		switch id {
		case "fmt ":
			ch, rate, bits = int(binary.LittleEndian.Uint16(body[2:])), int(binary.LittleEndian.Uint32(body[4:])), int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 || ch == 0 {
				return nil, fmt.Errorf("%s: %d-bit %d channels, want 16-bit PCM", path, bits, ch)
			}
			return Mono16k(s16(body), rate, ch), nil
		}
		p += 8 + n + n%2
	}
	return nil, fmt.Errorf("%s: no data chunk", path)
}

func s16(b []byte) []float32 {
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return out
}

// Sentences for the synthetic speakers: different words in every utterance.
var sentences = []string{
	"Please state your full name and the purpose of this account opening today.",
	"I confirm that I have read the terms and conditions of the investment product.",
	"The weather in the mountains was colder than anyone had expected last winter.",
	"My identity card was issued in the city where I was born many years ago.",
	"We agreed to transfer the funds on the first working day of next month.",
	"Seven large boxes of old books were carried up the narrow stairs by hand.",
	"The advisor explained the risks and I understand that I may lose money.",
	"Her brother plays the violin every evening after dinner in the garden.",
}

// synthVoices are espeak-ng voice variants used as synthetic speakers.
var synthVoices = []string{"en-us+m1", "en-us+m2", "en-us+m3", "en-us+m4", "en-us+m5", "en-us+m6", "en-us+m7",
	"en-us+f1", "en-us+f2", "en-us+f3", "en-us+f4", "en-us+f5", "en-gb+m3", "en-gb+f2"}

// trainSpeakers is the training half of the split (background statistics
// and calibration); every other speaker is held out for the EER.
var trainSpeakers = map[string]bool{
	"librivox": true, "en-us+m1": true, "en-us+m2": true, "en-us+m3": true, "en-us+f1": true, "en-us+f2": true, "en-gb+m3": true,
}

var (
	corpusOnce sync.Once
	corpus     []utterance
	corpusErr  error
)

// loadCorpus gathers real speech from Debian's pocketsphinx-testdata (a
// speaker per collection: the LibriVox reader, the "cards" speaker, the
// AN4-style prompts, the TIDIGITS speaker) and synthesises 4 utterances
// per espeak-ng voice.
func loadCorpus(t testing.TB) []utterance {
	t.Helper()
	corpusOnce.Do(func() {
		add := func(spk, path string) {
			var pcm []float32
			var err error
			if strings.HasSuffix(path, ".raw") {
				var b []byte
				if b, err = os.ReadFile(path); err == nil {
					pcm = s16(b)
				}
			} else {
				pcm, err = readWAV(path)
			}
			if err != nil && corpusErr == nil {
				corpusErr = err
			}
			corpus = append(corpus, utterance{speaker: spk, name: filepath.Base(path), pcm: pcm})
		}
		lib, _ := filepath.Glob(sphinx + "/librivox/*.wav")
		cards, _ := filepath.Glob(sphinx + "/cards/*.wav")
		if len(lib) == 0 || len(cards) == 0 {
			corpusErr = fmt.Errorf("real speech missing: apt-get install pocketsphinx-testdata")
			return
		}
		for _, p := range lib {
			add("librivox", p)
		}
		for _, p := range cards {
			add("cards", p)
		}
		for _, n := range []string{"goforward.raw", "numbers.raw", "something.raw"} {
			add("an4", filepath.Join(sphinx, n))
		}
		add("tidigits", filepath.Join(sphinx, "tidigits/dhd.2934z.raw"))
		dir, err := os.MkdirTemp("", "voices-")
		if err != nil {
			corpusErr = err
			return
		}
		defer os.RemoveAll(dir)
		for vi, v := range synthVoices {
			for k := 0; k < 4; k++ {
				s := sentences[(vi+k*2)%len(sentences)]
				out := filepath.Join(dir, fmt.Sprintf("%d-%d.wav", vi, k))
				if b, err := exec.Command("espeak-ng", "-v", v, "-s", fmt.Sprint(150+10*(k%3)), "-w", out, s).CombinedOutput(); err != nil {
					corpusErr = fmt.Errorf("espeak-ng -v %s: %v: %s", v, err, b)
					return
				}
				add(v, out)
			}
		}
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpus
}

// voiceprints runs the VAD and extracts every utterance's voiceprint.
func voiceprints(t testing.TB, us []utterance) ([]Voiceprint, []string) {
	t.Helper()
	var vps []Voiceprint
	var spk []string
	for _, u := range us {
		sp, err := Speech(u.pcm, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		v := Extract(sp)
		if v == nil {
			t.Logf("%s/%s: too little speech (%d samples)", u.speaker, u.name, len(sp))
			continue
		}
		vps = append(vps, v)
		spk = append(spk, u.speaker)
	}
	return vps, spk
}

func trials(m *Model, vps []Voiceprint, spk []string, keep func(a, b string) bool) (tar, non []float64) {
	for i := range vps {
		for j := i + 1; j < len(vps); j++ {
			if keep != nil && !keep(spk[i], spk[j]) {
				continue
			}
			s := m.Score(vps[i], vps[j])
			if spk[i] == spk[j] {
				tar = append(tar, s)
			} else {
				non = append(non, s)
			}
		}
	}
	return tar, non
}

func real(s string) bool { return !strings.HasPrefix(s, "en-") }

// TestBaselineEER measures the baseline on the held-out speakers and
// checks that the shipped model (DefaultModel) is the one fitted here.
func TestBaselineEER(t *testing.T) {
	us := loadCorpus(t)
	var train, test []utterance
	for _, u := range us {
		if trainSpeakers[u.speaker] {
			train = append(train, u)
		} else {
			test = append(test, u)
		}
	}
	trv, trs := voiceprints(t, train)
	tev, tes := voiceprints(t, test)
	fitted := Fit(trv, trs)
	report := func(name string, m *Model) float64 {
		tar, non := trials(m, tev, tes, nil)
		eer, thr := EER(tar, non)
		rt, rn := trials(m, tev, tes, func(a, b string) bool { return real(a) && real(b) })
		reer, _ := EER(rt, rn)
		st, sn := trials(m, tev, tes, func(a, b string) bool { return !real(a) && !real(b) })
		seer, _ := EER(st, sn)
		fmt.Printf("voiceprint baseline (%s model): held-out EER %.1f%% at P(same)=%.2f over %d target / %d non-target trials; real speech only %.1f%% (%d/%d); espeak-ng only %.1f%% (%d/%d)\n",
			name, 100*eer, thr, len(tar), len(non), 100*reer, len(rt), len(rn), 100*seer, len(st), len(sn))
		return eer
	}
	eerFit := report("fitted", fitted)
	eerShip := report("shipped", DefaultModel)
	if os.Getenv("VOICEPRINT_PRINT_MODEL") != "" {
		fmt.Printf("var DefaultModel = &Model{\n\tMean: %#v,\n\tStd: %#v,\n\tA: %v, B: %v,\n}\n", fitted.Mean, fitted.Std, fitted.A, fitted.B)
	}
	if eerFit > 0.3 {
		t.Errorf("held-out EER %.1f%%: the baseline is broken (expected well under 30%%)", 100*eerFit)
	}
	if eerShip > eerFit+0.02 {
		t.Errorf("shipped model EER %.1f%% vs %.1f%% refitted: regenerate DefaultModel (VOICEPRINT_PRINT_MODEL=1)", 100*eerShip, 100*eerFit)
	}
	spks := map[string]int{}
	for _, s := range append(append([]string{}, trs...), tes...) {
		spks[s]++
	}
	names := make([]string, 0, len(spks))
	for s := range spks {
		names = append(names, s)
	}
	sort.Strings(names)
	t.Logf("speakers (utterances): %v", spks)
}
