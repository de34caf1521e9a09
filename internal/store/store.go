// Package store is the control plane's persistence: tenants, users, sessions,
// customers, service records, agent state history, the audit chain and job
// results, on SQLite (pure Go, modernc.org/sqlite) or PostgreSQL (pgx).
//
// Tenant isolation lives here, not in the API: every method that touches
// tenant-owned rows takes a [Scope], and its SQL always carries the scope's
// tenant condition. A zero Scope matches nothing, so forgetting to pass the
// caller's scope fails closed. Scopes are only made by [DB.Scope] (from the
// tenant tree) or [System] (background jobs), never assembled by hand.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Sentinel errors; callers test with errors.Is.
var (
	ErrNotFound  = errors.New("not found")           // no such row in the caller's scope
	ErrForbidden = errors.New("outside your tenant") // a write aimed at a tenant outside the scope
	ErrConflict  = errors.New("already exists")
	ErrDSN       = errors.New("bad database DSN")
	// ErrContended: a row kept changing under a compare-and-swap update.
	ErrContended = errors.New("changed concurrently too often")
)

// Dialect is the SQL flavour of the connected database.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is the store. It is safe for concurrent use. A DB made by WithTx
// runs its statements in that transaction.
type DB struct {
	*core
	x execer // the pool, or the transaction of WithTx
}

type core struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
	audit   auditCommitter
	// stmts caches prepared statements by query text: parsing SQL was
	// the largest single cost of a busy control plane (SQLite parses
	// every unprepared statement).
	stmtMu  sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

// maxStmts bounds the cache; queries beyond it run unprepared.
const maxStmts = 512

// stmt returns a prepared statement for query in this DB's connection or
// transaction, or nil to run it unprepared.
func (s *DB) stmt(ctx context.Context, query string) *sql.Stmt {
	tx, inTx := s.x.(*sql.Tx)
	// stmtMu is never held while waiting for a connection: SQLite has one,
	// and a transaction holding it may itself be waiting for stmtMu here
	// (that deadlock hung a restarted `witness serve` on its first read).
	s.stmtMu.Lock()
	st, ok := s.stmts[query]
	room := len(s.stmts) < maxStmts
	schedule := !ok && inTx && room && !s.pending[query]
	if schedule {
		if s.pending == nil {
			s.pending = map[string]bool{}
		}
		s.pending[query] = true
	}
	s.stmtMu.Unlock()
	if schedule {
		// Inside a transaction the pool may have no free connection (SQLite
		// has one, held by the transaction), so the statement is prepared
		// on the pool once the transaction lets go; this run goes
		// unprepared.
		go func() {
			st, err := s.db.PrepareContext(context.Background(), query)
			if err != nil {
				return
			}
			s.keep(query, st)
		}()
	}
	if !ok && !inTx && room {
		if prepared, err := s.db.PrepareContext(ctx, query); err == nil {
			st = s.keep(query, prepared)
		}
	}
	if st == nil {
		return nil
	}
	if inTx {
		return tx.StmtContext(ctx, st)
	}
	return st
}

// keep caches a freshly prepared statement and returns the cached one (a
// concurrent caller may have prepared the same query first).
func (s *DB) keep(query string, st *sql.Stmt) *sql.Stmt {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if cur := s.stmts[query]; cur != nil {
		st.Close()
		return cur
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st
}

// execer is what *sql.DB and *sql.Tx have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// WithTx runs fn with a DB whose statements share one transaction,
// committed when fn returns nil (batch writers use it: one commit for
// many rows).
func (s *DB) WithTx(ctx context.Context, fn func(tx *DB) error) error {
	if _, nested := s.x.(*sql.Tx); nested {
		return fn(s)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(&DB{core: s.core, x: tx}); err != nil {
		tx.Rollback() //nolint:errcheck
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Open connects to dsn: "sqlite:PATH" (a file; created if missing),
// "sqlite::memory:" or "postgres://user@host:port/db?..." and creates or
// upgrades the schema.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		driver, src string
		dialect     Dialect
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		driver, dialect = "sqlite", SQLite
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("%w: %q has no path", ErrDSN, dsn)
		}
		// WAL lets readers run beside the one writer; busy_timeout makes a
		// second process (a worker) wait for the lock instead of failing.
		src = "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		driver, src, dialect = "pgx", dsn, Postgres
	default:
		return nil, fmt.Errorf("%w: %q: want sqlite:PATH or postgres://URL", ErrDSN, redactDSN(dsn))
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	if dialect == SQLite {
		// One connection avoids SQLITE_BUSY between this process's own
		// writers; SQLite serialises writes anyway.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(32)
	}
	s := &DB{core: &core{db: db, dialect: dialect, now: time.Now}, x: db}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect %s: %w", redactDSN(dsn), err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// redactDSN hides a password in a DSN for error messages.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	cred := dsn[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return dsn[:scheme+3] + cred[:i] + ":***" + dsn[at:]
	}
	return dsn
}

// Dialect reports the connected database's flavour.
func (s *DB) Dialect() Dialect { return s.dialect }

// Close closes the connection pool.
func (s *DB) Close() error { s.audit.stop(); return s.db.Close() }

// Ping checks the database answers (for /readyz).
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// SetClock replaces the time source (tests).
func (s *DB) SetClock(now func() time.Time) { s.now = now }

// q rewrites ? placeholders to $n for PostgreSQL. Queries in this package
// never contain a literal '?'.
func (s *DB) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (s *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	q := s.q(query)
	if st := s.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.x.ExecContext(ctx, q, args...)
}

func (s *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q := s.q(query)
	if st := s.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.x.QueryContext(ctx, q, args...)
}

func (s *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	q := s.q(query)
	if st := s.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.x.QueryRowContext(ctx, q, args...)
}

// isUnique reports a unique-constraint violation in either dialect.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint") || strings.Contains(m, "SQLSTATE 23505") || strings.Contains(m, "duplicate key")
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ErrInvalid marks a value the store refuses (missing id, unknown level).
var ErrInvalid = errors.New("invalid")

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// affected turns "no row updated" into ErrNotFound: the row does not exist
// or lies outside the caller's scope, which the caller must not learn.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}
