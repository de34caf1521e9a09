package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts every Witness environment variable.
const envPrefix = "WITNESS_"

// envAliases maps variables that other packages read directly to the config
// variable they stand for. The models package reads WITNESS_ORT_LIB itself
// (WITNESS_MODELS_DIR already is the generated name of models.dir), so the
// config must honour it too, or the two would disagree about which library
// is loaded.
var envAliases = map[string]string{
	"WITNESS_ORT_LIB": "WITNESS_MODELS_ORT_LIBRARY",
}

// envNotConfig lists WITNESS_<SECTION>_* variables that are read by other
// code and are not config keys. Any other variable under a section prefix
// that matches no key is an error, as a misspelt override would otherwise be
// silently ignored. Add a name here when a package starts reading one.
var envNotConfig = map[string]bool{}

// envField is one configurable leaf field and its generated variable name.
type envField struct {
	name  string // WITNESS_PIPELINE_QUEUE_SIZE
	key   string // pipeline.queue_size
	index []int  // for reflect.Value.FieldByIndex
	typ   reflect.Type
}

// envFields lists the variables for every leaf of Config, in struct order:
// WITNESS_ followed by the upper-cased yaml path joined with "_".
func envFields() []envField {
	var out []envField
	var walk func(t reflect.Type, index []int, path []string)
	walk = func(t reflect.Type, index []int, path []string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			idx := append(slices.Clone(index), i)
			p := append(slices.Clone(path), name)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx, p)
				continue
			}
			out = append(out, envField{
				name:  envPrefix + strings.ToUpper(strings.Join(p, "_")),
				key:   strings.Join(p, "."),
				index: idx,
				typ:   f.Type,
			})
		}
	}
	walk(reflect.TypeFor[Config](), nil, nil)
	return out
}

// envSectionPrefixes are WITNESS_LOG_, WITNESS_MODELS_, …: a variable
// starting with one of them is meant as a config key.
func envSectionPrefixes() []string {
	var out []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Type.Kind() == reflect.Struct && yamlName(f) != "" {
			out = append(out, envPrefix+strings.ToUpper(yamlName(f))+"_")
		}
	}
	return out
}

// applyEnv overrides cfg from env ("KEY=value" entries). As with os.Getenv,
// the first entry for a name wins, and an empty value counts as unset, the
// way the models package treats its variables.
func applyEnv(cfg *Config, env []string) error {
	vals := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" || !strings.HasPrefix(k, envPrefix) {
			continue
		}
		if _, dup := vals[k]; !dup {
			vals[k] = v
		}
	}
	if len(vals) == 0 {
		return nil
	}

	fields := envFields()
	known := map[string]bool{}
	var problems []error
	root := reflect.ValueOf(cfg).Elem()
	for _, f := range fields {
		known[f.name] = true
		name := f.name
		raw, ok := vals[name]
		for alias, target := range envAliases {
			if target != f.name {
				continue
			}
			araw, aok := vals[alias]
			switch {
			case aok && ok && araw != raw:
				problems = append(problems, fmt.Errorf("env %s and %s: %w: both set, to different values", name, alias, ErrInvalid))
			case aok && !ok:
				name, raw, ok = alias, araw, true
			}
		}
		if !ok {
			continue
		}
		if err := setFromString(root.FieldByIndex(f.index), raw); err != nil {
			problems = append(problems, fmt.Errorf("env %s (%s): %w value %q: want %s", name, f.key, ErrInvalid, raw, want(f.typ)))
		}
	}

	var unknown []string
	for k := range vals {
		if known[k] || envNotConfig[k] || envAliases[k] != "" {
			continue
		}
		for _, p := range envSectionPrefixes() {
			if strings.HasPrefix(k, p) {
				unknown = append(unknown, k)
				break
			}
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		problems = append(problems, fmt.Errorf("env %s: %w%s", k, ErrUnknownKey, suggestEnv(k, fields)))
	}
	return errors.Join(problems...)
}

// setFromString parses raw into v according to v's type. Every leaf type in
// Config must be handled here; TestConfigTags checks that.
func setFromString(v reflect.Value, raw string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// suggestEnv returns ` (did you mean X?)` for a near miss of a known name.
func suggestEnv(name string, fields []envField) string {
	best, bestD := "", 3
	for _, f := range fields {
		if d := editDistance(name, f.name); d < bestD {
			best, bestD = f.name, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}
