package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The reports and administration tables and indexes, added to the shared
// schema list here so this area does not edit schema.go.
func init() {
	schema = append(schema,
		`CREATE INDEX IF NOT EXISTS records_tenant_queued ON service_records(tenant_id, queued_at)`,
		`CREATE INDEX IF NOT EXISTS records_tenant_customer ON service_records(tenant_id, customer_id, created_at)`,
		`CREATE INDEX IF NOT EXISTS audit_tenant_seq ON audit(tenant_id, seq)`,
		`CREATE TABLE IF NOT EXISTS business_templates (
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		business TEXT NOT NULL,
		layout TEXT NOT NULL,
		watermark TEXT NOT NULL DEFAULT '{}',
		analyzers TEXT NOT NULL DEFAULT '[]',
		qc_policy TEXT NOT NULL DEFAULT '',
		updated_by TEXT NOT NULL DEFAULT '',
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (tenant_id, business))`)
}

// TemplateWatermark is the text a business's recordings carry.
type TemplateWatermark struct {
	Text      string  `json:"text"`                // may contain {tenant} {agent} {business}
	Position  string  `json:"position"`            // top-left, top-right, bottom-left, bottom-right
	Timestamp bool    `json:"timestamp"`           // add the wall-clock time
	Opacity   float64 `json:"opacity,omitempty"`   // 0..1; 0 = default
	FontSize  int     `json:"font_size,omitempty"` // pixels; 0 = default
}

// BusinessTemplate is how one business type of a tenant is recorded and
// checked: the composite layout, the watermark, the live analyzers and the
// QC policy (YAML in qc.Policy's format, empty = the default policy). The
// API validates the names against what this build knows.
type BusinessTemplate struct {
	TenantID  string            `json:"tenant_id"`
	Business  string            `json:"business"`
	Layout    string            `json:"layout"`
	Watermark TemplateWatermark `json:"watermark"`
	Analyzers []string          `json:"analyzers"`
	QCPolicy  string            `json:"qc_policy"`
	UpdatedBy string            `json:"updated_by"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// PutTemplate creates or replaces a template of a tenant in sc.
func (s *DB) PutTemplate(ctx context.Context, sc Scope, t BusinessTemplate) error {
	if t.TenantID == "" || t.Business == "" || t.Layout == "" {
		return fmt.Errorf("store: template needs tenant, business and layout: %w", ErrInvalid)
	}
	if !sc.Contains(t.TenantID) {
		return fmt.Errorf("store: template of tenant %q: %w", t.TenantID, ErrNotFound)
	}
	wm, _ := json.Marshal(t.Watermark)
	an, _ := json.Marshal(nonNil(t.Analyzers))
	_, err := s.exec(ctx, `INSERT INTO business_templates (tenant_id, business, layout, watermark, analyzers, qc_policy, updated_by, updated_at) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT (tenant_id, business) DO UPDATE SET layout=excluded.layout, watermark=excluded.watermark, analyzers=excluded.analyzers,
		qc_policy=excluded.qc_policy, updated_by=excluded.updated_by, updated_at=excluded.updated_at`,
		t.TenantID, t.Business, t.Layout, string(wm), string(an), t.QCPolicy, t.UpdatedBy, ms(s.now()))
	if err != nil {
		return fmt.Errorf("store: put template: %w", err)
	}
	return nil
}

// Templates lists the templates in sc (of one tenant when tenant is set).
func (s *DB) Templates(ctx context.Context, sc Scope, tenant string) ([]BusinessTemplate, error) {
	cond, args := sc.cond("tenant_id")
	q := `SELECT tenant_id, business, layout, watermark, analyzers, qc_policy, updated_by, updated_at FROM business_templates WHERE ` + cond
	if tenant != "" {
		q += ` AND tenant_id=?`
		args = append(args, tenant)
	}
	rows, err := s.query(ctx, q+` ORDER BY tenant_id, business`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: templates: %w", err)
	}
	defer rows.Close()
	var out []BusinessTemplate
	for rows.Next() {
		var (
			t      BusinessTemplate
			wm, an string
			at     int64
		)
		if err := rows.Scan(&t.TenantID, &t.Business, &t.Layout, &wm, &an, &t.QCPolicy, &t.UpdatedBy, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(wm), &t.Watermark); err != nil {
			return nil, fmt.Errorf("store: template %s/%s: %w", t.TenantID, t.Business, err)
		}
		if err := json.Unmarshal([]byte(an), &t.Analyzers); err != nil {
			return nil, fmt.Errorf("store: template %s/%s: %w", t.TenantID, t.Business, err)
		}
		t.UpdatedAt = fromMS(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Template returns one template in sc.
func (s *DB) Template(ctx context.Context, sc Scope, tenant, business string) (BusinessTemplate, error) {
	ts, err := s.Templates(ctx, sc, tenant)
	if err != nil {
		return BusinessTemplate{}, err
	}
	for _, t := range ts {
		if t.Business == business {
			return t, nil
		}
	}
	return BusinessTemplate{}, fmt.Errorf("store: template %s/%s: %w", tenant, business, ErrNotFound)
}

// DeleteTemplate removes a template in sc.
func (s *DB) DeleteTemplate(ctx context.Context, sc Scope, tenant, business string) error {
	cond, args := sc.cond("tenant_id")
	res, err := s.exec(ctx, `DELETE FROM business_templates WHERE tenant_id=? AND business=? AND `+cond, append([]any{tenant, business}, args...)...)
	return affected(res, err, "template "+tenant+"/"+business)
}

// AuditQuery selects audit entries for the viewer: newest first, paged by
// sequence number (Before = the last page's smallest Seq).
type AuditQuery struct {
	TenantID string // that tenant only
	Actor    string
	Action   string // prefix: "user." matches user.create, user.freeze ...
	From, To time.Time
	Before   int64 // only entries with seq < Before; 0 = from the newest
	Limit    int   // default 50, at most 500
}

// AuditPage returns one page of audit entries in sc, newest first.
func (s *DB) AuditPage(ctx context.Context, sc Scope, q AuditQuery) ([]AuditEntry, error) {
	cond, args := sc.cond("tenant_id")
	sql := `SELECT ` + auditCols + ` FROM audit WHERE ` + cond
	if q.TenantID != "" {
		sql += ` AND tenant_id=?`
		args = append(args, q.TenantID)
	}
	if q.Actor != "" {
		sql += ` AND actor=?`
		args = append(args, q.Actor)
	}
	if q.Action != "" {
		sql += ` AND action LIKE ? ESCAPE '\'`
		args = append(args, strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Action)+"%")
	}
	if !q.From.IsZero() {
		sql += ` AND at>=?`
		args = append(args, ms(q.From))
	}
	if !q.To.IsZero() {
		sql += ` AND at<?`
		args = append(args, ms(q.To))
	}
	if q.Before > 0 {
		sql += ` AND seq<?`
		args = append(args, q.Before)
	}
	lim := q.Limit
	if lim <= 0 {
		lim = 50
	}
	lim = min(lim, 500)
	rows, err := s.query(ctx, sql+fmt.Sprintf(` ORDER BY seq DESC LIMIT %d`, lim), args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit page: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// TemplateFor returns the template a call of business in tenant uses: the
// tenant's own, else the nearest parent's (a branch uses its bank's until
// it has its own). ErrNotFound when there is none up to the root.
func (s *DB) TemplateFor(ctx context.Context, tenant, business string) (BusinessTemplate, error) {
	for id, hops := tenant, 0; id != "" && hops < 8; hops++ {
		t, err := s.Template(ctx, System(), id, business)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return t, err
		}
		tn, err := s.Tenant(ctx, System(), id)
		if err != nil {
			return BusinessTemplate{}, err
		}
		id = tn.ParentID
	}
	return BusinessTemplate{}, fmt.Errorf("store: no template for %s in %s or above: %w", business, tenant, ErrNotFound)
}

// RecordTemplate returns a service record and the template its call uses
// (TemplateFor its tenant and business). ErrNotFound when there is no such
// record or no template for it.
func (s *DB) RecordTemplate(ctx context.Context, recordID string) (Record, BusinessTemplate, error) {
	rec, err := s.Record(ctx, System(), recordID)
	if err != nil {
		return Record{}, BusinessTemplate{}, err
	}
	tpl, err := s.TemplateFor(ctx, rec.TenantID, rec.Business)
	return rec, tpl, err
}
