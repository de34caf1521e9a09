package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrAuditBroken is returned by VerifyAudit when the chain does not verify.
var ErrAuditBroken = errors.New("audit chain broken")

// AuditEntry is one action: who did what to which object, the state
// before and after, and the result. Entries form a hash chain: each Hash is
// SHA-256 over the previous entry's hash and this entry's fields, so
// removing, reordering or editing any entry breaks every hash after it.
type AuditEntry struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	TenantID string          `json:"tenant_id"`
	Actor    string          `json:"actor"` // user id, or "system"
	Role     string          `json:"role"`
	Action   string          `json:"action"` // e.g. user.freeze, agent.state
	Target   string          `json:"target"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
	Result   string          `json:"result"` // ok, denied, error: ...
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// chainHash is the entry's hash given the previous one. The encoding is
// fixed field order JSON, so it is the same in every process and database.
func chainHash(e AuditEntry) string {
	body, _ := json.Marshal(struct {
		Seq      int64           `json:"seq"`
		At       int64           `json:"at"`
		TenantID string          `json:"tenant_id"`
		Actor    string          `json:"actor"`
		Role     string          `json:"role"`
		Action   string          `json:"action"`
		Target   string          `json:"target"`
		Before   json.RawMessage `json:"before"`
		After    json.RawMessage `json:"after"`
		Result   string          `json:"result"`
	}{e.Seq, e.At.UnixMilli(), e.TenantID, e.Actor, e.Role, e.Action, e.Target, orNull(e.Before), orNull(e.After), e.Result})
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// compactJSON normalises JSON so that the hash does not depend on how the
// database returns whitespace.
func compactJSON(b json.RawMessage) (json.RawMessage, error) {
	b = orNull(b)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// AppendAudit adds an entry at the end of the chain and returns it with
// Seq, At and the hashes filled in, once it is committed. Concurrent
// appends are group-committed: one goroutine takes whatever is waiting
// (up to 256 entries), chains them in order and commits them in one
// transaction, so the audit trail does not cap the request rate at one
// commit per action.
func (s *DB) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	var err error
	if e.Before, err = compactJSON(e.Before); err != nil {
		return AuditEntry{}, fmt.Errorf("store: audit before: %w", err)
	}
	if e.After, err = compactJSON(e.After); err != nil {
		return AuditEntry{}, fmt.Errorf("store: audit after: %w", err)
	}
	return s.audit.submit(ctx, s, e)
}

type auditReq struct {
	e    AuditEntry
	done chan auditRes
}

type auditRes struct {
	e   AuditEntry
	err error
}

// auditCommitter owns the tail of the chain in this process.
type auditCommitter struct {
	once    sync.Once
	ch      chan auditReq
	quit    chan struct{}
	stopped sync.Once
}

var errStoreClosed = errors.New("store closed")

func (a *auditCommitter) submit(ctx context.Context, s *DB, e AuditEntry) (AuditEntry, error) {
	a.once.Do(func() {
		a.ch, a.quit = make(chan auditReq, 1024), make(chan struct{})
		go a.loop(&DB{core: s.core, x: s.db})
	})
	req := auditReq{e: e, done: make(chan auditRes, 1)}
	select {
	case a.ch <- req:
	case <-a.quit:
		return AuditEntry{}, fmt.Errorf("store: audit: %w", errStoreClosed)
	case <-ctx.Done():
		return AuditEntry{}, ctx.Err()
	}
	// Once queued the entry will be committed or fail; wait for which.
	r := <-req.done
	return r.e, r.err
}

func (a *auditCommitter) stop() {
	a.once.Do(func() { a.quit = make(chan struct{}) }) // never started
	a.stopped.Do(func() { close(a.quit) })
}

func (a *auditCommitter) loop(s *DB) {
	for {
		var batch []auditReq
		select {
		case <-a.quit:
			// Fail what is still queued rather than leave callers waiting.
			for {
				select {
				case r := <-a.ch:
					r.done <- auditRes{err: fmt.Errorf("store: audit: %w", errStoreClosed)}
				default:
					return
				}
			}
		case r := <-a.ch:
			batch = append(batch, r)
		}
	more:
		for len(batch) < 256 {
			select {
			case r := <-a.ch:
				batch = append(batch, r)
			default:
				break more
			}
		}
		out, err := s.appendBatch(batch)
		for i, r := range batch {
			if err != nil {
				r.done <- auditRes{err: err}
			} else {
				r.done <- auditRes{e: out[i]}
			}
		}
	}
}

func (s *DB) appendBatch(batch []auditReq) ([]AuditEntry, error) {
	ctx := context.Background()
	out := make([]AuditEntry, len(batch))
	err := s.WithTx(ctx, func(tx *DB) error {
		if s.dialect == Postgres {
			// Other control-plane processes append too: one at a time.
			if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(727002)`); err != nil {
				return fmt.Errorf("store: audit lock: %w", err)
			}
		}
		var last sql.NullInt64
		var prev sql.NullString
		err := tx.queryRow(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: audit tail: %w", err)
		}
		seq, hash := last.Int64, prev.String
		at := time.UnixMilli(s.now().UnixMilli()).UTC()
		for i, r := range batch {
			e := r.e
			seq++
			e.Seq, e.PrevHash, e.At = seq, hash, at
			e.Hash = chainHash(e)
			hash = e.Hash
			if _, err := tx.exec(ctx, `INSERT INTO audit (seq, at, tenant_id, actor, role, action, target, before_json, after_json, result, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
				e.Seq, ms(e.At), e.TenantID, e.Actor, e.Role, e.Action, e.Target, string(e.Before), string(e.After), e.Result, e.PrevHash, e.Hash); err != nil {
				return fmt.Errorf("store: audit append: %w", err)
			}
			out[i] = e
		}
		return nil
	})
	return out, err
}

const auditCols = `seq, at, tenant_id, actor, role, action, target, before_json, after_json, result, prev_hash, hash`

func scanAudit(r scanner) (AuditEntry, error) {
	var (
		e             AuditEntry
		at            int64
		before, after string
	)
	if err := r.Scan(&e.Seq, &at, &e.TenantID, &e.Actor, &e.Role, &e.Action, &e.Target, &before, &after, &e.Result, &e.PrevHash, &e.Hash); err != nil {
		return AuditEntry{}, err
	}
	e.At, e.Before, e.After = fromMS(at), json.RawMessage(before), json.RawMessage(after)
	return e, nil
}

// Audit lists entries of sc after seq (paging), oldest first.
func (s *DB) Audit(ctx context.Context, sc Scope, afterSeq int64, limit int) ([]AuditEntry, error) {
	cond, args := sc.cond("tenant_id")
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT `+auditCols+` FROM audit WHERE seq>? AND `+cond+fmt.Sprintf(` ORDER BY seq LIMIT %d`, limit), append([]any{afterSeq}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
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

// VerifyAudit walks the whole chain and returns the number of entries, or
// an error wrapping ErrAuditBroken naming the first bad entry: a missing
// sequence number (deleted row), a hash that does not match its contents
// (edited row) or a link to the wrong predecessor (reordered rows).
func (s *DB) VerifyAudit(ctx context.Context) (int64, error) {
	rows, err := s.query(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("store: audit verify: %w", err)
	}
	defer rows.Close()
	var (
		n    int64
		prev string
	)
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return n, err
		}
		n++
		switch {
		case e.Seq != n:
			return n - 1, fmt.Errorf("%w: entry %d missing (next is %d)", ErrAuditBroken, n, e.Seq)
		case e.PrevHash != prev:
			return n - 1, fmt.Errorf("%w: entry %d does not link to entry %d", ErrAuditBroken, e.Seq, e.Seq-1)
		case chainHash(e) != e.Hash:
			return n - 1, fmt.Errorf("%w: entry %d (%s %s by %s) was altered", ErrAuditBroken, e.Seq, e.Action, e.Target, e.Actor)
		}
		prev = e.Hash
	}
	return n, rows.Err()
}
