package pipeline

import (
	"bytes"
	"fmt"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"
)

// Params carries a stage's or analyzer's configuration as decoded from YAML.
type Params map[string]any

// Decode copies the params into dst (a pointer to a struct with yaml tags)
// strictly: an unknown key is an error naming it, so a typo in a business
// template never silently falls back to a default.
func (p Params) Decode(dst any) error {
	if len(p) == 0 {
		return nil
	}
	raw, err := yaml.Marshal(map[string]any(p))
	if err != nil {
		return fmt.Errorf("params: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	return nil
}

// Registry maps names to factories. It is safe for concurrent use; factories
// are usually registered from init functions, like database/sql drivers.
type Registry[F any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]F
}

// NewRegistry returns an empty registry; kind names it in errors ("stage").
func NewRegistry[F any](kind string) *Registry[F] {
	return &Registry[F]{kind: kind, m: map[string]F{}}
}

// Register adds a factory. Registering a name twice is a programming error
// caught at start-up, so it panics like database/sql.Register.
func (r *Registry[F]) Register(name string, f F) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		panic(fmt.Sprintf("witness: %s registered with empty name", r.kind))
	}
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("witness: %v: %s %q", ErrDuplicateStage, r.kind, name))
	}
	r.m[name] = f
}

// Lookup returns the factory for name or an error wrapping ErrUnknownStage
// that lists what is registered.
func (r *Registry[F]) Lookup(name string) (F, error) {
	r.mu.RLock()
	f, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		var zero F
		return zero, fmt.Errorf("%w: %s %q (registered: %v)", ErrUnknownStage, r.kind, name, r.Names())
	}
	return f, nil
}

// Names lists registered names in order.
func (r *Registry[F]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// StageFactory builds a stage from its params.
type StageFactory func(p Params) (Stage, error)

var stages = NewRegistry[StageFactory]("stage")

// Register makes a stage factory available by name to graphs built from
// configuration. Integrators call it from an init function.
func Register(name string, f StageFactory) { stages.Register(name, f) }

// NewStage builds a registered stage.
func NewStage(name string, p Params) (Stage, error) {
	f, err := stages.Lookup(name)
	if err != nil {
		return nil, err
	}
	s, err := f(p)
	if err != nil {
		return nil, fmt.Errorf("stage %q: %w", name, err)
	}
	return s, nil
}

// StageNames lists the registered stages.
func StageNames() []string { return stages.Names() }
