package store

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/witness-media/witness/internal/tenant"
	"slices"
	"strings"
)

// Tenant levels: a province union (省联社) sees everything below it; a
// legal-entity bank (法人行) sees itself and its branches; a branch (网点)
// sees itself.
const (
	LevelProvince = "province"
	LevelBank     = "bank"
	LevelBranch   = "branch"
)

// Scope is the set of tenants a caller may see. The zero value sees
// nothing.
type Scope struct {
	all     bool
	tenants []string // sorted
	home    string
}

// System is the scope of the platform itself (background jobs, the first
// admin bootstrap): every tenant. Never derive it from a request.
func System() Scope { return Scope{all: true} }

// All reports whether the scope covers every tenant (province level).
func (sc Scope) All() bool { return sc.all }

// Home is the tenant the scope was made for ("" for System).
func (sc Scope) Home() string { return sc.home }

// Contains reports whether tenant is visible in the scope.
func (sc Scope) Contains(tenant string) bool {
	if sc.all {
		return true
	}
	_, ok := slices.BinarySearch(sc.tenants, tenant)
	return ok
}

// Tenants lists the visible tenants (nil when All).
func (sc Scope) Tenants() []string { return slices.Clone(sc.tenants) }

// cond returns the SQL condition restricting col to the scope and its
// arguments. An empty scope yields a condition that is never true.
func (sc Scope) cond(col string) (string, []any) {
	if sc.all {
		return "1=1", nil
	}
	if len(sc.tenants) == 0 {
		return "1=0", nil
	}
	args := make([]any, len(sc.tenants))
	for i, t := range sc.tenants {
		args[i] = t
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(args)), ",") + ")", args
}

// Scope builds the scope of a user whose home tenant is tenantID: all
// tenants for a province, else the tenant and its descendants.
func (s *DB) Scope(ctx context.Context, tenantID string) (Scope, error) {
	rows, err := s.query(ctx, `SELECT id, parent_id, level FROM tenants`)
	if err != nil {
		return Scope{}, fmt.Errorf("store: scope: %w", err)
	}
	defer rows.Close()
	children := map[string][]string{}
	level := ""
	found := false
	for rows.Next() {
		var id, parent, lvl string
		if err := rows.Scan(&id, &parent, &lvl); err != nil {
			return Scope{}, err
		}
		children[parent] = append(children[parent], id)
		if id == tenantID {
			found, level = true, lvl
		}
	}
	if err := rows.Err(); err != nil {
		return Scope{}, err
	}
	if !found {
		return Scope{}, fmt.Errorf("store: scope of tenant %q: %w", tenantID, ErrNotFound)
	}
	if level == LevelProvince {
		return Scope{all: true, home: tenantID}, nil
	}
	sc := Scope{home: tenantID}
	stack := []string{tenantID}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		sc.tenants = append(sc.tenants, t)
		stack = append(stack, children[t]...)
	}
	slices.Sort(sc.tenants)
	return sc, nil
}

// Tenant is one 法人 level node with its settings.
type Tenant struct {
	ID          string         `json:"id"`
	ParentID    string         `json:"parent_id"`
	Name        string         `json:"name"`
	Level       string         `json:"level"`
	Whitelisted bool           `json:"whitelisted"` // only whitelisted tenants may sign in and take calls
	Settings    TenantSettings `json:"settings"`
}

// TenantSettings are a tenant's catalogue, hours and quotas.
type TenantSettings = tenant.Settings

// CreateTenant adds a tenant under parent (which must be in sc, unless sc
// is System and the tenant is the root province).
func (s *DB) CreateTenant(ctx context.Context, sc Scope, t Tenant) error {
	if t.ID == "" || t.Name == "" {
		return fmt.Errorf("store: tenant needs id and name: %w", ErrInvalid)
	}
	switch t.Level {
	case LevelProvince, LevelBank, LevelBranch:
	default:
		return fmt.Errorf("store: tenant level %q: %w", t.Level, ErrInvalid)
	}
	if t.ParentID == "" {
		if !sc.all || t.Level != LevelProvince {
			return fmt.Errorf("store: root tenant %q: %w", t.ID, ErrForbidden)
		}
	} else if !sc.Contains(t.ParentID) {
		return fmt.Errorf("store: tenant %q under %q: %w", t.ID, t.ParentID, ErrForbidden)
	}
	settings, _ := json.Marshal(t.Settings)
	_, err := s.exec(ctx, `INSERT INTO tenants (id, parent_id, name, level, whitelisted, settings, created_at) VALUES (?,?,?,?,?,?,?)`,
		t.ID, t.ParentID, t.Name, t.Level, b2i(t.Whitelisted), string(settings), ms(s.now()))
	if isUnique(err) {
		return fmt.Errorf("store: tenant %q: %w", t.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create tenant: %w", err)
	}
	return nil
}

// Tenant returns one tenant in sc.
func (s *DB) Tenant(ctx context.Context, sc Scope, id string) (Tenant, error) {
	c, args := sc.cond("id")
	row := s.queryRow(ctx, `SELECT id, parent_id, name, level, whitelisted, settings FROM tenants WHERE id=? AND `+c, append([]any{id}, args...)...)
	t, err := scanTenant(row)
	if err != nil {
		return Tenant{}, fmt.Errorf("store: tenant %q: %w", id, err)
	}
	return t, nil
}

// Tenants lists the tenants in sc.
func (s *DB) Tenants(ctx context.Context, sc Scope) ([]Tenant, error) {
	c, args := sc.cond("id")
	rows, err := s.query(ctx, `SELECT id, parent_id, name, level, whitelisted, settings FROM tenants WHERE `+c+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTenant replaces name, whitelist flag and settings of a tenant in sc.
func (s *DB) UpdateTenant(ctx context.Context, sc Scope, t Tenant) error {
	c, args := sc.cond("id")
	settings, _ := json.Marshal(t.Settings)
	res, err := s.exec(ctx, `UPDATE tenants SET name=?, whitelisted=?, settings=? WHERE id=? AND `+c,
		append([]any{t.Name, b2i(t.Whitelisted), string(settings), t.ID}, args...)...)
	return affected(res, err, "tenant "+t.ID)
}

type scanner interface{ Scan(...any) error }

func scanTenant(r scanner) (Tenant, error) {
	var (
		t        Tenant
		wl       int
		settings string
	)
	if err := r.Scan(&t.ID, &t.ParentID, &t.Name, &t.Level, &wl, &settings); err != nil {
		return Tenant{}, notFound(err)
	}
	t.Whitelisted = wl != 0
	if err := json.Unmarshal([]byte(settings), &t.Settings); err != nil {
		return Tenant{}, fmt.Errorf("store: tenant %s settings: %w", t.ID, err)
	}
	return t, nil
}
