package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load builds the configuration: [Default], then the YAML file at path (if
// path is not ""), then WITNESS_* variables from env (os.Environ() format,
// "KEY=value"), then [Config.Validate]. Every problem of the failing layer is
// reported, one line each, joined with errors.Join and wrapping
// [ErrUnknownKey] or [ErrInvalid]; on error the returned Config is the zero
// value so that nobody runs with half a configuration.
//
// An empty or comment-only file is valid and means "all defaults"; a key
// present with an empty value (`dir:`) keeps its default.
func Load(path string, env []string) (Config, error) {
	cfg := Default()
	label := "config"
	if path != "" {
		label = "config " + path
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(data, &cfg, label); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return Config{}, prefixAll(label, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, prefixAll(label, err)
	}
	return cfg, nil
}

// prefixAll puts label in front of every error joined in err, so that each
// line of a multi-problem error says where it comes from.
func prefixAll(label string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s: %w", label, e)
	}
	return errors.Join(out...)
}

// decodeYAML decodes data over cfg. It first walks the document against the
// struct (checkNode) to report every unknown key with its dotted path, line
// and a suggestion, and every mistyped value with the key it belongs to;
// yaml.v3's own errors name neither the section nor, for type errors, the
// key. The decode itself then runs with KnownFields(true), so the walk can
// only improve messages, never let an unknown key through.
func decodeYAML(data []byte, cfg *Config, label string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty or comment-only: all defaults
		}
		return fmt.Errorf("%s: %w YAML: %s", label, ErrInvalid, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		// A second document would otherwise be silently ignored.
		return fmt.Errorf("%s: %w YAML: more than one document (---)", label, ErrInvalid)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil // a document that is only "~"
	}
	var problems []error
	checkNode(root, reflect.TypeFor[Config](), "", &problems)
	if len(problems) > 0 {
		return prefixAll(label, errors.Join(problems...))
	}

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				problems = append(problems, fmt.Errorf("%w YAML: %s", ErrInvalid, msg))
			}
			return prefixAll(label, errors.Join(problems...))
		}
		return fmt.Errorf("%s: %w YAML: %s", label, ErrInvalid, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

// checkNode checks that n fits struct type t: a mapping whose keys are yaml
// tags of t, each value decodable into its field. prefix is the dotted path
// of n ("" at the root).
func checkNode(n *yaml.Node, t reflect.Type, prefix string, problems *[]error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		what := "the file"
		if prefix != "" {
			what = prefix
		}
		*problems = append(*problems, fmt.Errorf("line %d: %s: %w value: want a mapping of keys", n.Line, what, ErrInvalid))
		return
	}
	fields := yamlFields(t)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" {
			// Merge key (<<: *anchor): the merged mappings must fit the
			// same section, so check them as if written here.
			checkMerge(v, t, prefix, problems)
			continue
		}
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			*problems = append(*problems, fmt.Errorf("line %d: %s: %w: key repeated, first set at line %d", k.Line, key, ErrInvalid, first))
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fields[k.Value]
		if !ok {
			*problems = append(*problems, fmt.Errorf("line %d: %w %q%s", k.Line, ErrUnknownKey, key, suggest(k.Value, prefix, fields)))
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			checkNode(v, f.Type, key, problems)
			continue
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if isNull(v) {
			continue // empty value keeps the default
		}
		if !scalarFits(v, f.Type) {
			*problems = append(*problems, fmt.Errorf("line %d: %s: %w value %s: want %s", v.Line, key, ErrInvalid, shortValue(v), want(f.Type)))
		}
	}
}

// checkMerge checks the value of a merge key: a mapping, or a list of them.
func checkMerge(v *yaml.Node, t reflect.Type, prefix string, problems *[]error) {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			checkNode(m, t, prefix, problems)
		}
		return
	}
	checkNode(v, t, prefix, problems)
}

// scalarFits reports whether v decodes into type t without loss. yaml.v3
// alone would truncate 1.5 into an int field, so integers and booleans must
// also be written as such.
func scalarFits(v *yaml.Node, t reflect.Type) bool {
	if v.Kind != yaml.ScalarNode || v.Decode(reflect.New(t).Interface()) != nil {
		return false
	}
	if t == durationType {
		return true // decoded from a string by time.ParseDuration
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.ShortTag() == "!!int"
	case reflect.Bool:
		return v.ShortTag() == "!!bool"
	}
	return true
}

// yamlFields maps the yaml names of t's fields to the fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			m[name] = f
		}
	}
	return m
}

// yamlName is the key of f in YAML and env names, "" when f is not
// configurable (no tag, "-" or unexported).
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// shortValue renders a bad value for an error message, cut so that a stray
// block of text does not flood the one-line error.
func shortValue(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "(a mapping)"
	case yaml.SequenceNode:
		return "(a list)"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}

// want describes the values a field of type t accepts.
func want(t reflect.Type) string {
	if t == durationType {
		return `a duration such as "15s" or "1m30s"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.String()
}

// suggest returns ` (did you mean "x"?)` when name is a small typo of one of
// the known keys, which is what most unknown keys are.
func suggest(name, prefix string, fields map[string]reflect.StructField) string {
	best, bestD := "", 3 // suggest only within edit distance 2
	for k := range fields {
		if d := editDistance(name, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	if prefix != "" {
		best = prefix + "." + best
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b (bytes; keys are
// ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
