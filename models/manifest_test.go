package models

import (
	"errors"
	"strings"
	"testing"
)

func TestEmbeddedManifest(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"onnxruntime", "ultraface-rfb320", "blazeface-front", "face-landmark-68",
		"face-embedding", "eye-state", "head-pose", "silero-vad"}
	for _, n := range want {
		if _, err := m.Lookup(n); err != nil {
			t.Error(err)
		}
	}
	if len(m.Artifacts) != len(want) {
		t.Errorf("%d artifacts, want %d", len(m.Artifacts), len(want))
	}
	lib, _ := m.Lookup("onnxruntime")
	if lib.Kind != KindLibrary || lib.Spec() != "onnxruntime-node@1.30.0" {
		t.Errorf("onnxruntime entry: kind %q spec %q", lib.Kind, lib.Spec())
	}
	for _, a := range m.Artifacts {
		if a.OpenCVOK != (a.Name == "blazeface-front") {
			t.Errorf("%s: opencv_ok = %v", a.Name, a.OpenCVOK)
		}
		if strings.HasPrefix(a.Package, "faceplugin") && !strings.Contains(a.Licence, "not stated") {
			t.Errorf("%s: licence %q must say the weights' origin is not stated", a.Name, a.Licence)
		}
	}
	// The parse is deterministic and cached.
	if m2, _ := Default(); m2 != m {
		t.Error("Default returned a different manifest on the second call")
	}
	if _, err := m.Lookup("nope"); !errors.Is(err, ErrUnknownModel) || !strings.Contains(err.Error(), "silero-vad") {
		t.Errorf("Lookup(nope) = %v, want ErrUnknownModel listing known names", err)
	}
}

const goodEntry = `schema: 1
artifacts:
  - name: tiny
    kind: model
    package: "@scope/tiny"
    version: 1.0.0
    path: package/tiny.onnx
    file: tiny.onnx
    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    size: 10
    licence: MIT
    provenance: made up for a test
    runtime: onnxruntime
    task: nothing
    inputs:
      - name: x
        shape: [1, -1]
        dtype: float32
        preprocessing: none
    outputs:
      - name: y
        shape: []
        dtype: int64
        meaning: none
`

func TestManifestGood(t *testing.T) {
	m, err := ParseManifest([]byte(goodEntry))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Artifacts[0]
	if a.Spec() != "@scope/tiny@1.0.0" || len(a.Inputs[0].Shape) != 2 || a.Inputs[0].Shape[1] != -1 || len(a.Outputs[0].Shape) != 0 {
		t.Errorf("parsed %+v", a)
	}
	if got := tarballName(a.Spec()); got != "scope-tiny-1.0.0.tgz" {
		t.Errorf("tarballName = %q", got)
	}
	if got := tarballName("faceplugin-face-recognition-js@0.0.1"); got != "faceplugin-face-recognition-js-0.0.1.tgz" {
		t.Errorf("tarballName = %q", got)
	}
}

func TestManifestErrors(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(goodEntry, old) {
			t.Fatalf("test bug: %q not in entry", old)
		}
		return strings.Replace(goodEntry, old, new, 1)
	}
	second := strings.SplitN(goodEntry, "artifacts:\n", 2)[1]
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", edit("    licence: MIT", "    licnse: MIT"), []string{`unknown key "licnse"`}},
		{"unknown io key", edit("        dtype: float32", "        dtype: float32\n        layout: nchw"), []string{`unknown key "layout"`}},
		{"unknown top key", "extra: 1\n" + goodEntry, []string{`unknown key "extra"`}},
		{"short sha", edit("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "0123"), []string{"tiny: sha256 must be 64 lowercase hex"}},
		{"upper sha", edit("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", strings.Repeat("A", 64)), []string{"sha256 must be 64 lowercase hex"}},
		{"duplicate name", goodEntry + strings.Replace(second, "file: tiny.onnx", "file: tiny2.onnx", 1), []string{"tiny: duplicate name"}},
		{"duplicate file", goodEntry + strings.Replace(second, "name: tiny", "name: tiny2", 1), []string{`tiny2: file "tiny.onnx" already used by tiny`}},
		{"schema", edit("schema: 1", "schema: 2"), []string{"schema: got 2, want 1"}},
		{"no artifacts", "schema: 1\nartifacts: []\n", []string{"no artifacts"}},
		{"empty", "", []string{"empty document"}},
		{"two documents", goodEntry + "---\nschema: 1\n", []string{"more than one YAML document"}},
		{"duplicate key", edit("    size: 10", "    size: 10\n    size: 11"), []string{`"size" already defined`}},
		{"bad kind", edit("kind: model", "kind: weights"), []string{`kind "weights"`}},
		{"range version", edit("version: 1.0.0", "version: ^1.0.0"), []string{"not an exact version"}},
		{"escaping path", edit("path: package/tiny.onnx", "path: ../etc/passwd"), []string{"clean relative path"}},
		{"file with slash", edit("file: tiny.onnx", "file: a/b.onnx"), []string{"plain file name"}},
		{"zero size", edit("size: 10", "size: 0"), []string{"size must be > 0"}},
		{"no provenance", edit("provenance: made up for a test", "provenance: \"\""), []string{"provenance is empty"}},
		{"bad runtime", edit("runtime: onnxruntime", "runtime: tflite"), []string{`runtime "tflite"`}},
		{"opencv dynamic", edit("runtime: onnxruntime", "runtime: opencv\n    opencv_ok: true"), []string{"opencv_ok needs static input shapes"}},
		{"opencv without ok", edit("runtime: onnxruntime", "runtime: opencv"), []string{"runtime opencv needs opencv_ok: true"}},
		{"bad dtype", edit("dtype: float32", "dtype: float16"), []string{`dtype "float16"`}},
		{"bad dim", edit("shape: [1, -1]", "shape: [1, 0]"), []string{"dimensions are > 0, or -1"}},
		{"no preprocessing", edit("preprocessing: none", "preprocessing: \"\""), []string{`input "x": preprocessing is empty`}},
		{"library with io", edit("kind: model", "kind: library"), []string{"a library has no runtime"}},
		{"wrong type", edit("size: 10", "size: ten"), []string{"cannot unmarshal"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(c.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrManifest) {
				t.Errorf("error %v does not wrap ErrManifest", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestManifestReportsAllProblems(t *testing.T) {
	y := strings.Replace(goodEntry, "size: 10", "size: 0", 1)
	y = strings.Replace(y, "licence: MIT", `licence: ""`, 1)
	_, err := ParseManifest([]byte(y))
	if err == nil || !strings.Contains(err.Error(), "size must be > 0") || !strings.Contains(err.Error(), "licence is empty") {
		t.Fatalf("want both problems reported, got %v", err)
	}
}
