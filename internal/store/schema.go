package store

import (
	"context"
	"fmt"
	"strings"
)

// schema is portable SQL: times are Unix milliseconds (BIGINT), JSON is
// TEXT, booleans are INTEGER 0/1. {{serial}} becomes the dialect's
// auto-increment key.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS tenants (
		id TEXT PRIMARY KEY,
		parent_id TEXT NOT NULL DEFAULT '',
		name TEXT NOT NULL,
		level TEXT NOT NULL,
		whitelisted INTEGER NOT NULL DEFAULT 1,
		settings TEXT NOT NULL DEFAULT '{}',
		created_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS users (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		username TEXT NOT NULL UNIQUE,
		display_name TEXT NOT NULL DEFAULT '',
		role TEXT NOT NULL,
		password_hash TEXT NOT NULL,
		totp_secret TEXT NOT NULL DEFAULT '',
		frozen INTEGER NOT NULL DEFAULT 0,
		failed_logins INTEGER NOT NULL DEFAULT 0,
		must_change INTEGER NOT NULL DEFAULT 0,
		skills TEXT NOT NULL DEFAULT '{}',
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS users_tenant ON users(tenant_id)`,
	`CREATE TABLE IF NOT EXISTS sessions (
		token_hash TEXT PRIMARY KEY,
		user_id TEXT NOT NULL REFERENCES users(id),
		tenant_id TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS customers (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		name TEXT NOT NULL DEFAULT '',
		id_number TEXT NOT NULL DEFAULT '',
		card_number TEXT NOT NULL DEFAULT '',
		phone TEXT NOT NULL DEFAULT '',
		tags TEXT NOT NULL DEFAULT '[]',
		created_at BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS customers_tenant ON customers(tenant_id)`,
	`CREATE TABLE IF NOT EXISTS service_records (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		business TEXT NOT NULL DEFAULT '',
		channel TEXT NOT NULL DEFAULT '',
		queue TEXT NOT NULL DEFAULT '',
		agent_id TEXT NOT NULL DEFAULT '',
		customer_id TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL,
		queued_at BIGINT NOT NULL DEFAULT 0,
		answered_at BIGINT NOT NULL DEFAULT 0,
		ended_at BIGINT NOT NULL DEFAULT 0,
		wait_ms BIGINT NOT NULL DEFAULT 0,
		talk_ms BIGINT NOT NULL DEFAULT 0,
		recordings TEXT NOT NULL DEFAULT '[]',
		qc_verdict TEXT NOT NULL DEFAULT '',
		chat TEXT NOT NULL DEFAULT '[]',
		files TEXT NOT NULL DEFAULT '[]',
		markers TEXT NOT NULL DEFAULT '[]',
		summary TEXT NOT NULL DEFAULT '',
		summary_options TEXT NOT NULL DEFAULT '[]',
		customer_tags TEXT NOT NULL DEFAULT '[]',
		rating INTEGER NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS records_tenant ON service_records(tenant_id, created_at)`,
	`CREATE TABLE IF NOT EXISTS agent_states (
		id {{serial}},
		tenant_id TEXT NOT NULL,
		agent_id TEXT NOT NULL,
		state TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		forced_by TEXT NOT NULL DEFAULT '',
		started_at BIGINT NOT NULL,
		ended_at BIGINT NOT NULL,
		duration_ms BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS agent_states_agent ON agent_states(tenant_id, agent_id, started_at)`,
	`CREATE TABLE IF NOT EXISTS audit (
		seq BIGINT PRIMARY KEY,
		at BIGINT NOT NULL,
		tenant_id TEXT NOT NULL,
		actor TEXT NOT NULL,
		role TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL,
		before_json TEXT NOT NULL,
		after_json TEXT NOT NULL,
		result TEXT NOT NULL,
		prev_hash TEXT NOT NULL,
		hash TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS job_results (
		job_id TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		tenant_id TEXT NOT NULL,
		subject TEXT NOT NULL,
		status TEXT NOT NULL,
		result TEXT NOT NULL,
		worker TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		created_at BIGINT NOT NULL)`,
}

// appendOnly makes the database itself refuse to rewrite the audit chain,
// so an UPDATE or DELETE fails even from a SQL console.
var appendOnly = map[Dialect][]string{
	SQLite: {
		`CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END`,
		`CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END`,
	},
	Postgres: {
		`CREATE OR REPLACE FUNCTION witness_audit_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$ LANGUAGE plpgsql`,
		`DROP TRIGGER IF EXISTS audit_append_only ON audit`,
		`CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION witness_audit_append_only()`,
	},
}

func (s *DB) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	serial := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.dialect == Postgres {
		serial = "BIGSERIAL PRIMARY KEY"
		// Several processes may start at once against one database; the
		// session lock lives on this one connection.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727001)`); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(727001)`) //nolint:errcheck
	}
	stmts := append(append([]string{}, schema...), appendOnly[s.dialect]...)
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, strings.ReplaceAll(st, "{{serial}}", serial)); err != nil {
			return fmt.Errorf("store: migrate %s: %w", firstLine(st), err)
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
