package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeFile writes a config file under t.TempDir and returns its path.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "witness.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The checked-in sample is the config reference; it must not drift from the
// code defaults (mediamtx's TestDefaultConfFile).
func TestSampleConfigMatchesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "witness.sample.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(cfg, want) {
		t.Fatalf("witness.sample.yaml differs from Default():\n got %+v\nwant %+v", cfg, want)
	}
}

// The sample must also mention every key, so it stays a complete reference
// (a key missing from it would still load as its default).
func TestSampleConfigListsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "witness.sample.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range envFields() {
		leaf := f.key[strings.LastIndex(f.key, ".")+1:]
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(leaf) + `:`).Match(data) {
			t.Errorf("witness.sample.yaml does not set %s", f.key)
		}
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

// Every field needs exactly a snake_case `yaml:"name"` tag: egress once
// shipped a `ymal:` typo that made a field unsettable from the file, with no
// error anywhere. Leaf types must be ones the env layer can parse.
func TestConfigTags(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var walk func(tp reflect.Type, path string)
	walk = func(tp reflect.Type, path string) {
		seen := map[string]bool{}
		for i := range tp.NumField() {
			f := tp.Field(i)
			where := path + f.Name
			name, ok := f.Tag.Lookup("yaml")
			if !ok || string(f.Tag) != `yaml:"`+name+`"` {
				t.Errorf("%s: tag %q, want exactly yaml:\"snake_case_name\"", where, f.Tag)
				continue
			}
			if !snake.MatchString(name) {
				t.Errorf("%s: yaml name %q is not snake_case", where, name)
			}
			if seen[name] {
				t.Errorf("%s: yaml name %q used twice", where, name)
			}
			seen[name] = true
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, where+".")
				continue
			}
			if err := setFromString(reflect.New(f.Type).Elem(), "1"); err != nil && strings.Contains(err.Error(), "unsupported") {
				t.Errorf("%s: type %s cannot be set from the environment", where, f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "Config.")
}

func TestEnvNames(t *testing.T) {
	got := map[string]string{}
	for _, f := range envFields() {
		got[f.name] = f.key
	}
	for name, key := range map[string]string{
		"WITNESS_LOG_LEVEL":               "log.level",
		"WITNESS_LOG_FORMAT":              "log.format",
		"WITNESS_DATA_DIR":                "data_dir",
		"WITNESS_MODELS_DIR":              "models.dir",
		"WITNESS_MODELS_ORT_LIBRARY":      "models.ort_library",
		"WITNESS_MODELS_INTRA_OP_THREADS": "models.intra_op_threads",
		"WITNESS_PIPELINE_QUEUE_SIZE":     "pipeline.queue_size",
		"WITNESS_PIPELINE_STATE_TIMEOUT":  "pipeline.state_timeout",
		"WITNESS_PIPELINE_EOS_TIMEOUT":    "pipeline.eos_timeout",
		"WITNESS_DEMO_WIDTH":              "demo.width",
		"WITNESS_DEMO_HEIGHT":             "demo.height",
		"WITNESS_DEMO_FPS":                "demo.fps",
		"WITNESS_DEMO_DURATION":           "demo.duration",
		"WITNESS_DEMO_OUTPUT":             "demo.output",
		"WITNESS_CONTROL_LISTEN":          "control.listen",
		"WITNESS_CONTROL_DATABASE":        "control.database",
		"WITNESS_CONTROL_NATS_URL":        "control.nats_url",
		"WITNESS_CONTROL_S3_ENDPOINT":     "control.s3.endpoint",
		"WITNESS_CONTROL_S3_SECRET_KEY":   "control.s3.secret_key",
		"WITNESS_ANALYZERS_PROFILE":       "analyzers.profile",
		"WITNESS_ANALYZERS_ONNX_DIR":      "analyzers.onnx_dir",
		"WITNESS_SIGNALING_LISTEN":        "signaling.listen",
		"WITNESS_SIGNALING_RECORDING_DIR": "signaling.recording.dir",
	} {
		if got[name] != key {
			t.Errorf("%s -> %q, want %q", name, got[name], key)
		}
	}
	if len(got) != 54 {
		t.Errorf("%d variables, want 54 (update this test with new keys): %v", len(got), got)
	}
	for alias, target := range envAliases {
		if _, ok := got[target]; !ok {
			t.Errorf("alias %s points at unknown %s", alias, target)
		}
	}
}

func TestLoadNoFile(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("got %+v", cfg)
	}
}

func TestLoadEmptyAndCommentOnly(t *testing.T) {
	for _, text := range []string{"", "\n", "# nothing here\n# at all\n", "---\n", "~\n"} {
		cfg, err := Load(writeFile(t, text), nil)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Fatalf("%q: got %+v", text, cfg)
		}
	}
}

func TestLoadOverrides(t *testing.T) {
	p := writeFile(t, `
log:
  level: debug
data_dir: /srv/witness
pipeline:
  queue_size: 16
  eos_timeout: 1m30s
models:
  dir:
`)
	cfg, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Log.Level = "debug"
	want.DataDir = "/srv/witness"
	want.Pipeline.QueueSize = 16
	want.Pipeline.EOSTimeout = 90 * time.Second
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestLoadUnknownKey(t *testing.T) {
	p := writeFile(t, "log:\n  level: info\npipline:\n  queue_size: 4\n")
	_, err := Load(p, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("want ErrUnknownKey, got %v", err)
	}
	msg := err.Error()
	if want := "config " + p + `: line 3: unknown key "pipline" (did you mean "pipeline"?)`; msg != want {
		t.Fatalf("message\n got %q\nwant %q", msg, want)
	}
}

// Keys merged in through YAML anchors are checked like written ones.
func TestLoadUnknownKeyInMerge(t *testing.T) {
	_, err := Load(writeFile(t, "log:\n  <<: {levle: debug}\n"), nil)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `line 2: unknown key "log.levle"`) {
		t.Fatalf("got %v", err)
	}
}

// A typo inside a section names the full dotted key, and every typo in the
// file is reported at once, each on its own line.
func TestLoadNestedTypos(t *testing.T) {
	p := writeFile(t, `pipeline:
  queue_size: 4
  state_timout: 10s
demo:
  fps: 10
  colour: red
`)
	_, err := Load(p, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("want ErrUnknownKey, got %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"config " + p + `: line 3: unknown key "pipeline.state_timout" (did you mean "pipeline.state_timeout"?)`,
		"config " + p + `: line 6: unknown key "demo.colour"`,
	}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadWrongType(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"pipeline:\n  queue_size: lots\n", `line 2: pipeline.queue_size: invalid value "lots": want an integer`},
		{"pipeline:\n  queue_size: 1.5\n", `line 2: pipeline.queue_size: invalid value "1.5": want an integer`},
		{"pipeline:\n  state_timeout: 15\n", `line 2: pipeline.state_timeout: invalid value "15": want a duration such as "15s" or "1m30s"`},
		{"log: debug\n", `line 1: log: invalid value: want a mapping of keys`},
		{"demo:\n  output: [a, b]\n", `line 2: demo.output: invalid value (a list): want a string`},
		{"- a\n- b\n", `line 1: the file: invalid value: want a mapping of keys`},
		{"log:\n  level: info\n  level: debug\n", `line 3: log.level: invalid: key repeated, first set at line 2`},
		{"log:\n  level: [\n", `invalid YAML: `},
		{"log: {}\n---\nlog: {}\n", `invalid YAML: more than one document`},
	} {
		_, err := Load(writeFile(t, tc.text), nil)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: want ErrInvalid, got %v", tc.text, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %q, want one line containing %q", tc.text, err, tc.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want ErrNotExist, got %v", err)
	}
}

func TestEnvOverride(t *testing.T) {
	p := writeFile(t, "log:\n  level: debug\npipeline:\n  queue_size: 4\n")
	cfg, err := Load(p, []string{
		"PATH=/usr/bin",
		"WITNESS_LOG_LEVEL=warn", // env beats the file
		"WITNESS_DATA_DIR=/var/lib/witness",
		"WITNESS_PIPELINE_STATE_TIMEOUT=2s",
		"WITNESS_DEMO_FPS=30",
		"WITNESS_DEMO_FPS=10",  // first wins, as with os.Getenv
		"WITNESS_DEMO_OUTPUT=", // empty counts as unset
		"WITNESS_ORT_LIB=/opt/ort/libonnxruntime.so",
		"WITNESS_CONFIG=whatever", // not under a section: not a config key, ignored
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Log.Level = "warn"
	want.DataDir = "/var/lib/witness"
	want.Pipeline.QueueSize = 4
	want.Pipeline.StateTimeout = 2 * time.Second
	want.Demo.FPS = 30
	want.Models.ORTLibrary = "/opt/ort/libonnxruntime.so"
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestEnvAliasConflict(t *testing.T) {
	_, err := Load("", []string{"WITNESS_ORT_LIB=/a.so", "WITNESS_MODELS_ORT_LIBRARY=/b.so"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "WITNESS_ORT_LIB") {
		t.Fatalf("want a conflict naming WITNESS_ORT_LIB, got %v", err)
	}
	if _, err := Load("", []string{"WITNESS_ORT_LIB=/a.so", "WITNESS_MODELS_ORT_LIBRARY=/a.so"}); err != nil {
		t.Fatalf("same value twice: %v", err)
	}
}

func TestEnvBadValue(t *testing.T) {
	_, err := Load("", []string{"WITNESS_PIPELINE_QUEUE_SIZE=many", "WITNESS_PIPELINE_EOS_TIMEOUT=30"})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	want := `config: env WITNESS_PIPELINE_QUEUE_SIZE (pipeline.queue_size): invalid value "many": want an integer` + "\n" +
		`config: env WITNESS_PIPELINE_EOS_TIMEOUT (pipeline.eos_timeout): invalid value "30": want a duration such as "15s" or "1m30s"`
	if err.Error() != want {
		t.Fatalf("got\n%s\nwant\n%s", err, want)
	}
}

func TestEnvUnknownKey(t *testing.T) {
	_, err := Load("", []string{"WITNESS_PIPELINE_QUEUE_SIZ=4"})
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("want ErrUnknownKey, got %v", err)
	}
	if want := "config: env WITNESS_PIPELINE_QUEUE_SIZ: unknown key (did you mean WITNESS_PIPELINE_QUEUE_SIZE?)"; err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}

	envNotConfig["WITNESS_PIPELINE_DEBUG_TAP"] = true
	defer delete(envNotConfig, "WITNESS_PIPELINE_DEBUG_TAP")
	if _, err := Load("", []string{"WITNESS_PIPELINE_DEBUG_TAP=1"}); err != nil {
		t.Fatalf("listed non-config variable: %v", err)
	}
}

func TestValidateCollectsAll(t *testing.T) {
	c := Default()
	c.Log.Level = "verbose"
	c.Log.Format = "xml"
	c.Pipeline.QueueSize = 0
	c.Pipeline.StateTimeout = 0
	c.Pipeline.EOSTimeout = -time.Second
	c.Demo.FPS = 60
	c.Demo.Width = 4096
	c.Demo.Height = 100
	c.Demo.Duration = 0
	c.Models.IntraOpThreads = 0
	err := c.Validate()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	want := []string{
		`log.level: invalid value "verbose": want debug, info, warn or error`,
		`log.format: invalid value "xml": want text or json`,
		`models.intra_op_threads: invalid value 0: want at least 1`,
		`pipeline.queue_size: invalid value 0: want at least 1`,
		`pipeline.state_timeout: invalid value 0s: want more than 0s`,
		`pipeline.eos_timeout: invalid value -1s: want more than 0s`,
		`demo.width: invalid value 4096: want 320 to 1920, a multiple of 4`,
		`demo.height: invalid value 100: want 180 to 1080, even`,
		`demo.fps: invalid value 60: want 7 to 30`,
		`demo.duration: invalid value 0s: want at least 200ms`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Load runs Validate and says where the config came from on every line.
func TestLoadValidates(t *testing.T) {
	p := writeFile(t, "demo:\n  fps: 5\n  width: 100\n")
	_, err := Load(p, nil)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "config "+p+": demo.") {
			t.Errorf("line %q lacks the file prefix", line)
		}
	}
}

// YAML output loads back to the same config, durations included.
func TestYAMLRoundTrip(t *testing.T) {
	c := Default()
	c.Pipeline.EOSTimeout = 90 * time.Second
	c.Demo.Output = "/tmp/out.mp4"
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "eos_timeout: 1m30s") {
		t.Errorf("durations should print as strings:\n%s", out)
	}
	back, err := Load(writeFile(t, string(out)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: got %+v want %+v", back, c)
	}
}

func TestDemoOutput(t *testing.T) {
	c := Default()
	if got, want := c.DemoOutput(), filepath.Join("data", "demo.mp4"); got != want {
		t.Errorf("got %q want %q", got, want)
	}
	c.Demo.Output = "/x.mp4"
	if got := c.DemoOutput(); got != "/x.mp4" {
		t.Errorf("got %q", got)
	}
}
