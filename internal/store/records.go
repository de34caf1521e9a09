package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Customer holds a customer's identity. IDNumber, CardNumber and Phone are
// ciphertext produced by the caller's field cipher (internal/secure); the
// store never sees them in clear.
type Customer struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id"`
	Name       string    `json:"name"`
	IDNumber   string    `json:"id_number"`
	CardNumber string    `json:"card_number"`
	Phone      string    `json:"phone"`
	Tags       []string  `json:"tags"`
	CreatedAt  time.Time `json:"created_at"`
}

// PutCustomer creates or replaces a customer of sc.
func (s *DB) PutCustomer(ctx context.Context, sc Scope, c Customer) error {
	if c.ID == "" {
		return fmt.Errorf("store: customer needs an id: %w", ErrInvalid)
	}
	if !sc.Contains(c.TenantID) {
		return fmt.Errorf("store: customer in tenant %q: %w", c.TenantID, ErrForbidden)
	}
	tags, _ := json.Marshal(nonNil(c.Tags))
	cond, args := sc.cond("tenant_id")
	res, err := s.exec(ctx, `UPDATE customers SET name=?, id_number=?, card_number=?, phone=?, tags=? WHERE id=? AND tenant_id=? AND `+cond,
		append([]any{c.Name, c.IDNumber, c.CardNumber, c.Phone, string(tags), c.ID, c.TenantID}, args...)...)
	if err != nil {
		return fmt.Errorf("store: put customer: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = s.exec(ctx, `INSERT INTO customers (id, tenant_id, name, id_number, card_number, phone, tags, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		c.ID, c.TenantID, c.Name, c.IDNumber, c.CardNumber, c.Phone, string(tags), ms(s.now()))
	if isUnique(err) {
		// The id exists in another tenant: do not say so.
		return fmt.Errorf("store: customer %q: %w", c.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: put customer: %w", err)
	}
	return nil
}

// Customer returns a customer of sc.
func (s *DB) Customer(ctx context.Context, sc Scope, id string) (Customer, error) {
	cond, args := sc.cond("tenant_id")
	var (
		c       Customer
		tags    string
		created int64
	)
	err := s.queryRow(ctx, `SELECT id, tenant_id, name, id_number, card_number, phone, tags, created_at FROM customers WHERE id=? AND `+cond,
		append([]any{id}, args...)...).Scan(&c.ID, &c.TenantID, &c.Name, &c.IDNumber, &c.CardNumber, &c.Phone, &tags, &created)
	if err != nil {
		return Customer{}, fmt.Errorf("store: customer %q: %w", id, notFound(err))
	}
	_ = json.Unmarshal([]byte(tags), &c.Tags)
	c.CreatedAt = fromMS(created)
	return c, nil
}

// Record is a service record: one customer session from queueing to the
// end of the call, with its evidence and outcome.
type Record struct {
	ID             string            `json:"id"` // serial number
	TenantID       string            `json:"tenant_id"`
	Business       string            `json:"business"`
	Channel        string            `json:"channel"`
	Queue          string            `json:"queue"`
	AgentID        string            `json:"agent_id"`
	CustomerID     string            `json:"customer_id"`
	Status         string            `json:"status"` // queued, ringing, in_call, ended, abandoned, timeout
	QueuedAt       time.Time         `json:"queued_at"`
	AnsweredAt     time.Time         `json:"answered_at"`
	EndedAt        time.Time         `json:"ended_at"`
	WaitMS         int64             `json:"wait_ms"`
	TalkMS         int64             `json:"talk_ms"`
	Recordings     []RecordingLink   `json:"recordings"`
	QCVerdict      string            `json:"qc_verdict"`
	Chat           []ChatMessage     `json:"chat"`
	Files          []string          `json:"files"`
	Markers        []Marker          `json:"markers"`
	Summary        string            `json:"summary"`
	SummaryOptions []string          `json:"summary_options"`
	CustomerTags   []string          `json:"customer_tags"`
	Rating         int               `json:"rating"`
	Extra          map[string]string `json:"-"`
}

// RecordingLink points at a recording in the blob store.
type RecordingLink struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// ChatMessage is one line of in-call chat.
type ChatMessage struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	Text string    `json:"text"`
}

// Marker is a point of interest on the recording's timeline.
type Marker struct {
	AtMS  int64  `json:"at_ms"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
}

const recordCols = `id, tenant_id, business, channel, queue, agent_id, customer_id, status, queued_at, answered_at, ended_at, wait_ms, talk_ms, recordings, qc_verdict, chat, files, markers, summary, summary_options, customer_tags, rating`

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (r Record) args() []any {
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	return []any{r.ID, r.TenantID, r.Business, r.Channel, r.Queue, r.AgentID, r.CustomerID, r.Status,
		ms(r.QueuedAt), ms(r.AnsweredAt), ms(r.EndedAt), r.WaitMS, r.TalkMS, j(nonNil(r.Recordings)), r.QCVerdict,
		j(nonNil(r.Chat)), j(nonNil(r.Files)), j(nonNil(r.Markers)), r.Summary, j(nonNil(r.SummaryOptions)), j(nonNil(r.CustomerTags)), r.Rating}
}

func scanRecord(row scanner) (Record, error) {
	var (
		r                                  Record
		q, a, e                            int64
		recs, chat, files, marks, opts, tg string
	)
	if err := row.Scan(&r.ID, &r.TenantID, &r.Business, &r.Channel, &r.Queue, &r.AgentID, &r.CustomerID, &r.Status,
		&q, &a, &e, &r.WaitMS, &r.TalkMS, &recs, &r.QCVerdict, &chat, &files, &marks, &r.Summary, &opts, &tg, &r.Rating); err != nil {
		return Record{}, notFound(err)
	}
	r.QueuedAt, r.AnsweredAt, r.EndedAt = fromMS(q), fromMS(a), fromMS(e)
	for _, p := range []struct {
		s string
		v any
	}{{recs, &r.Recordings}, {chat, &r.Chat}, {files, &r.Files}, {marks, &r.Markers}, {opts, &r.SummaryOptions}, {tg, &r.CustomerTags}} {
		if err := json.Unmarshal([]byte(p.s), p.v); err != nil {
			return Record{}, fmt.Errorf("store: record %s: %w", r.ID, err)
		}
	}
	return r, nil
}

// PutRecord creates or replaces a service record of sc.
func (s *DB) PutRecord(ctx context.Context, sc Scope, r Record) error {
	if r.ID == "" || r.Status == "" {
		return fmt.Errorf("store: record needs id and status: %w", ErrInvalid)
	}
	if !sc.Contains(r.TenantID) {
		return fmt.Errorf("store: record in tenant %q: %w", r.TenantID, ErrForbidden)
	}
	now := ms(s.now())
	cond, cargs := sc.cond("tenant_id")
	args := r.args()
	res, err := s.exec(ctx, `UPDATE service_records SET business=?, channel=?, queue=?, agent_id=?, customer_id=?, status=?, queued_at=?, answered_at=?, ended_at=?, wait_ms=?, talk_ms=?, recordings=?, qc_verdict=?, chat=?, files=?, markers=?, summary=?, summary_options=?, customer_tags=?, rating=?, updated_at=? WHERE id=? AND tenant_id=? AND `+cond,
		append(append(append([]any{}, args[2:]...), now, r.ID, r.TenantID), cargs...)...)
	if err != nil {
		return fmt.Errorf("store: put record: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = s.exec(ctx, `INSERT INTO service_records (`+recordCols+`, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		append(args, now, now)...)
	if isUnique(err) {
		return fmt.Errorf("store: record %q: %w", r.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: put record: %w", err)
	}
	return nil
}

// Record returns a service record of sc.
func (s *DB) Record(ctx context.Context, sc Scope, id string) (Record, error) {
	cond, args := sc.cond("tenant_id")
	r, err := scanRecord(s.queryRow(ctx, `SELECT `+recordCols+` FROM service_records WHERE id=? AND `+cond, append([]any{id}, args...)...))
	if err != nil {
		return Record{}, fmt.Errorf("store: record %q: %w", id, err)
	}
	return r, nil
}

// RecordFilter narrows Records; zero fields match everything.
type RecordFilter struct {
	TenantID   string
	AgentID    string
	CustomerID string // a customer's previous services (the desk's history)
	Business   string
	Channel    string
	Status     string
	// QCVerdict is pass, warn or fail; "none" for records without one.
	QCVerdict string
	// Within keeps records of this tenant and its descendants (a bank and
	// its branches); TenantID is one tenant exactly.
	Within   string
	From, To time.Time // created between
	Limit    int       // default 100, at most 1000
}

// Records lists service records of sc, newest first.
func (s *DB) Records(ctx context.Context, sc Scope, f RecordFilter) ([]Record, error) {
	cond, args := sc.cond("tenant_id")
	q := `SELECT ` + recordCols + ` FROM service_records WHERE ` + cond
	add := func(col, v string) {
		if v != "" {
			q += " AND " + col + "=?"
			args = append(args, v)
		}
	}
	add("tenant_id", f.TenantID)
	add("agent_id", f.AgentID)
	add("customer_id", f.CustomerID)
	add("business", f.Business)
	add("channel", f.Channel)
	add("status", f.Status)
	if f.QCVerdict == "none" {
		q += " AND qc_verdict=''"
	} else {
		add("qc_verdict", f.QCVerdict)
	}
	if f.Within != "" {
		sub, err := s.Scope(ctx, f.Within)
		if errors.Is(err, ErrNotFound) || (err == nil && !sc.all && !sc.Contains(f.Within)) {
			// An unknown tenant, or one outside the caller's scope: no
			// records, the same answer either way.
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		c, a := sub.cond("tenant_id")
		q += " AND " + c
		args = append(args, a...)
	}
	if !f.From.IsZero() {
		q += " AND created_at>=?"
		args = append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		q += " AND created_at<?"
		args = append(args, ms(f.To))
	}
	lim := f.Limit
	if lim <= 0 {
		lim = 100
	}
	lim = min(lim, 1000)
	rows, err := s.query(ctx, q+fmt.Sprintf(" ORDER BY created_at DESC, id LIMIT %d", lim), args...)
	if err != nil {
		return nil, fmt.Errorf("store: records: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AgentState is one finished stretch of an agent in a state.
type AgentState struct {
	TenantID  string        `json:"tenant_id"`
	AgentID   string        `json:"agent_id"`
	State     string        `json:"state"`
	Reason    string        `json:"reason,omitempty"`
	ForcedBy  string        `json:"forced_by,omitempty"`
	StartedAt time.Time     `json:"started_at"`
	EndedAt   time.Time     `json:"ended_at"`
	Duration  time.Duration `json:"duration_ns"`
}

// AddAgentStates records finished state stretches (written by the console
// engine's state sink, in batches).
func (s *DB) AddAgentStates(ctx context.Context, sc Scope, states []AgentState) error {
	if len(states) == 0 {
		return nil
	}
	for _, a := range states {
		if !sc.Contains(a.TenantID) {
			return fmt.Errorf("store: agent state in tenant %q: %w", a.TenantID, ErrForbidden)
		}
	}
	return s.WithTx(ctx, func(tx *DB) error {
		for _, a := range states {
			if _, err := tx.exec(ctx, `INSERT INTO agent_states (tenant_id, agent_id, state, reason, forced_by, started_at, ended_at, duration_ms) VALUES (?,?,?,?,?,?,?,?)`,
				a.TenantID, a.AgentID, a.State, a.Reason, a.ForcedBy, ms(a.StartedAt), ms(a.EndedAt), a.Duration.Milliseconds()); err != nil {
				return fmt.Errorf("store: agent states: %w", err)
			}
		}
		return nil
	})
}

// AgentStates lists an agent's state history in sc, oldest first.
func (s *DB) AgentStates(ctx context.Context, sc Scope, agentID string, limit int) ([]AgentState, error) {
	cond, args := sc.cond("tenant_id")
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT tenant_id, agent_id, state, reason, forced_by, started_at, ended_at, duration_ms FROM agent_states WHERE agent_id=? AND `+cond+fmt.Sprintf(` ORDER BY id LIMIT %d`, limit),
		append([]any{agentID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: agent states: %w", err)
	}
	defer rows.Close()
	var out []AgentState
	for rows.Next() {
		var (
			a         AgentState
			st, en, d int64
		)
		if err := rows.Scan(&a.TenantID, &a.AgentID, &a.State, &a.Reason, &a.ForcedBy, &st, &en, &d); err != nil {
			return nil, err
		}
		a.StartedAt, a.EndedAt, a.Duration = fromMS(st), fromMS(en), time.Duration(d)*time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// JobResult is the one stored outcome of a job.
type JobResult struct {
	JobID     string          `json:"job_id"`
	Kind      string          `json:"kind"`
	TenantID  string          `json:"tenant_id"`
	Subject   string          `json:"subject"` // what the job was about (record id, blob key)
	Status    string          `json:"status"`  // done, failed, dead
	Result    json.RawMessage `json:"result"`
	Worker    string          `json:"worker"`
	Attempts  int             `json:"attempts"`
	CreatedAt time.Time       `json:"created_at"`
}

// PutJobResult stores a job's result once: a second write for the same job
// id (a redelivered job finishing twice) is ignored and reports
// stored=false, so exactly one result exists per job.
func (s *DB) PutJobResult(ctx context.Context, r JobResult) (stored bool, err error) {
	if r.JobID == "" {
		return false, fmt.Errorf("store: job result needs a job id: %w", ErrInvalid)
	}
	if len(r.Result) == 0 {
		r.Result = json.RawMessage("null")
	}
	res, err := s.exec(ctx, `INSERT INTO job_results (job_id, kind, tenant_id, subject, status, result, worker, attempts, created_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (job_id) DO NOTHING`,
		r.JobID, r.Kind, r.TenantID, r.Subject, r.Status, string(r.Result), r.Worker, r.Attempts, ms(s.now()))
	if err != nil {
		return false, fmt.Errorf("store: job result %s: %w", r.JobID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// JobResults lists job results in sc (optionally of one subject).
func (s *DB) JobResults(ctx context.Context, sc Scope, subject string) ([]JobResult, error) {
	cond, args := sc.cond("tenant_id")
	q := `SELECT job_id, kind, tenant_id, subject, status, result, worker, attempts, created_at FROM job_results WHERE ` + cond
	if subject != "" {
		q += ` AND subject=?`
		args = append(args, subject)
	}
	rows, err := s.query(ctx, q+` ORDER BY created_at, job_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: job results: %w", err)
	}
	defer rows.Close()
	var out []JobResult
	for rows.Next() {
		var (
			j       JobResult
			res     string
			created int64
		)
		if err := rows.Scan(&j.JobID, &j.Kind, &j.TenantID, &j.Subject, &j.Status, &res, &j.Worker, &j.Attempts, &created); err != nil {
			return nil, err
		}
		j.Result, j.CreatedAt = json.RawMessage(res), fromMS(created)
		out = append(out, j)
	}
	return out, rows.Err()
}

// RecordFlow is the part of a service record the call flow writes
// (queueing, ringing, answer, end); UpsertRecordFlow never touches the
// summary, chat, files, recordings or QC fields that others write.
type RecordFlow struct {
	ID, TenantID, Business, Channel, Queue, AgentID, CustomerID, Status string
	QueuedAt, AnsweredAt, EndedAt                                       time.Time
	WaitMS, TalkMS                                                      int64
}

// UpsertRecordFlow creates the record or updates its flow fields. Zero
// times and empty agent keep what is stored.
func (s *DB) UpsertRecordFlow(ctx context.Context, sc Scope, f RecordFlow) error {
	if !sc.Contains(f.TenantID) {
		return fmt.Errorf("store: record in tenant %q: %w", f.TenantID, ErrForbidden)
	}
	now := ms(s.now())
	cond, cargs := sc.cond("tenant_id")
	res, err := s.exec(ctx, `UPDATE service_records SET status=?,
		agent_id=CASE WHEN ?<>'' THEN ? ELSE agent_id END,
		answered_at=CASE WHEN CAST(? AS BIGINT)<>0 THEN ? ELSE answered_at END,
		ended_at=CASE WHEN CAST(? AS BIGINT)<>0 THEN ? ELSE ended_at END,
		wait_ms=CASE WHEN CAST(? AS BIGINT)<>0 THEN ? ELSE wait_ms END,
		talk_ms=CASE WHEN CAST(? AS BIGINT)<>0 THEN ? ELSE talk_ms END,
		updated_at=? WHERE id=? AND tenant_id=? AND `+cond,
		append([]any{f.Status, f.AgentID, f.AgentID, ms(f.AnsweredAt), ms(f.AnsweredAt), ms(f.EndedAt), ms(f.EndedAt),
			f.WaitMS, f.WaitMS, f.TalkMS, f.TalkMS, now, f.ID, f.TenantID}, cargs...)...)
	if err != nil {
		return fmt.Errorf("store: record flow %s: %w", f.ID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	r := Record{ID: f.ID, TenantID: f.TenantID, Business: f.Business, Channel: f.Channel, Queue: f.Queue, AgentID: f.AgentID,
		CustomerID: f.CustomerID, Status: f.Status, QueuedAt: f.QueuedAt, AnsweredAt: f.AnsweredAt, EndedAt: f.EndedAt, WaitMS: f.WaitMS, TalkMS: f.TalkMS}
	_, err = s.exec(ctx, `INSERT INTO service_records (`+recordCols+`, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		append(r.args(), now, now)...)
	if isUnique(err) {
		return fmt.Errorf("store: record %q: %w", f.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: record flow %s: %w", f.ID, err)
	}
	return nil
}

// RecordSummary is what the agent fills in after the call.
type RecordSummary struct {
	Summary        string   `json:"summary"`
	SummaryOptions []string `json:"summary_options"`
	CustomerTags   []string `json:"customer_tags"`
	Rating         int      `json:"rating"` // customer satisfaction 1..5; 0 = not rated (on write: keep the stored one)
}

// SetRecordSummary writes summary, preset options, tags and, when given
// (1..5), the rating. A zero rating keeps the stored one: the agent's
// wrap-up must not erase a rating the customer gave meanwhile.
func (s *DB) SetRecordSummary(ctx context.Context, sc Scope, id string, sum RecordSummary) error {
	if sum.Rating < 0 || sum.Rating > 5 {
		return fmt.Errorf("store: rating %d: %w", sum.Rating, ErrInvalid)
	}
	j := func(v []string) string { b, _ := json.Marshal(nonNil(v)); return string(b) }
	cond, cargs := sc.cond("tenant_id")
	res, err := s.exec(ctx, `UPDATE service_records SET summary=?, summary_options=?, customer_tags=?, rating=CASE WHEN ? > 0 THEN ? ELSE rating END, updated_at=? WHERE id=? AND `+cond,
		append([]any{sum.Summary, j(sum.SummaryOptions), j(sum.CustomerTags), sum.Rating, sum.Rating, ms(s.now()), id}, cargs...)...)
	return affected(res, err, "record summary "+id)
}

// AddRecordRecording appends a recording link (idempotent per key).
func (s *DB) AddRecordRecording(ctx context.Context, sc Scope, id string, link RecordingLink) error {
	return s.swapRecord(ctx, sc, id, []string{"recordings"}, func(old []string) ([]any, error) {
		var links []RecordingLink
		if err := json.Unmarshal([]byte(old[0]), &links); err != nil {
			return nil, fmt.Errorf("store: record %q recordings: %w", id, err)
		}
		for _, l := range links {
			if l.Key == link.Key {
				return nil, nil
			}
		}
		b, _ := json.Marshal(append(links, link))
		return []any{string(b)}, nil
	})
}

// swapRecord rewrites columns of record id from their current values:
// fn gets them and returns the new ones (nil: nothing to change). The
// update applies only if nobody changed the columns since they were read,
// else they are read again. Writers of one record run concurrently
// (uploads of segments and per-participant files on several workers,
// chat items), and a read-modify-write, even in a PostgreSQL
// read-committed transaction, let one writer's addition overwrite
// another's: an uploaded recording left unlinked.
func (s *DB) swapRecord(ctx context.Context, sc Scope, id string, cols []string, fn func(old []string) ([]any, error)) error {
	cond, cargs := sc.cond("tenant_id")
	for range 50 {
		old := make([]string, len(cols))
		dst := make([]any, len(cols))
		for i := range old {
			dst[i] = &old[i]
		}
		if err := s.queryRow(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM service_records WHERE id=? AND `+cond, append([]any{id}, cargs...)...).Scan(dst...); err != nil {
			return fmt.Errorf("store: record %q: %w", id, notFound(err))
		}
		vals, err := fn(old)
		if err != nil || vals == nil {
			return err
		}
		set, where := make([]string, len(cols)), make([]string, len(cols))
		args := append([]any{}, vals...)
		args = append(args, ms(s.now()), id)
		for i, c := range cols {
			set[i], where[i] = c+"=?", c+"=?"
			args = append(args, old[i])
		}
		res, err := s.exec(ctx, `UPDATE service_records SET `+strings.Join(set, ", ")+`, updated_at=? WHERE id=? AND `+strings.Join(where, " AND ")+` AND `+cond, append(args, cargs...)...)
		if err != nil {
			return fmt.Errorf("store: record %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("store: record %s: %w", id, ErrContended)
}

// SetRecordQC folds one check's verdict (pass, warn or fail) into the
// record's: the worst of all its files' checks, in one statement so
// concurrent checks of a record's segments cannot overwrite each other. A
// record with a failed segment stays failed when a later segment (or a
// later check) passes: every check's own report stays listed with the
// record, and a compliance officer must not read "pass" over a failure.
func (s *DB) SetRecordQC(ctx context.Context, sc Scope, id, verdict string) error {
	switch verdict {
	case "pass", "warn", "fail":
	default:
		return fmt.Errorf("store: verdict %q: %w", verdict, ErrInvalid)
	}
	cond, cargs := sc.cond("tenant_id")
	res, err := s.exec(ctx, `UPDATE service_records SET qc_verdict=CASE
		WHEN qc_verdict='fail' OR ?='fail' THEN 'fail'
		WHEN qc_verdict='warn' OR ?='warn' THEN 'warn'
		ELSE 'pass' END, updated_at=? WHERE id=? AND `+cond, append([]any{verdict, verdict, ms(s.now()), id}, cargs...)...)
	return affected(res, err, "record qc "+id)
}

// JobResultByID returns the stored result of a job (workers check it
// before running a redelivered job).
func (s *DB) JobResultByID(ctx context.Context, id string) (JobResult, error) {
	var (
		j       JobResult
		res     string
		created int64
	)
	err := s.queryRow(ctx, `SELECT job_id, kind, tenant_id, subject, status, result, worker, attempts, created_at FROM job_results WHERE job_id=?`, id).
		Scan(&j.JobID, &j.Kind, &j.TenantID, &j.Subject, &j.Status, &res, &j.Worker, &j.Attempts, &created)
	if err != nil {
		return JobResult{}, fmt.Errorf("store: job %s: %w", id, notFound(err))
	}
	j.Result, j.CreatedAt = json.RawMessage(res), fromMS(created)
	return j, nil
}

// MarkInterrupted closes service records left queued, ringing or in a call
// by a control plane that stopped (the live queue is in memory), so no
// record claims a wait that no longer exists. Returns how many.
func (s *DB) MarkInterrupted(ctx context.Context) (int64, error) {
	now := ms(s.now())
	res, err := s.exec(ctx, `UPDATE service_records SET status='interrupted', ended_at=?, updated_at=? WHERE status IN ('queued','ringing','in_call')`, now, now)
	if err != nil {
		return 0, fmt.Errorf("store: mark interrupted: %w", err)
	}
	return res.RowsAffected()
}

// RecordItems are additions to a record's chat, files and markers.
type RecordItems struct {
	Chat    []ChatMessage `json:"chat,omitempty"`
	Files   []string      `json:"files,omitempty"`
	Markers []Marker      `json:"markers,omitempty"`
}

// AppendRecordItems appends chat lines, file references and timeline
// markers to a record of sc.
func (s *DB) AppendRecordItems(ctx context.Context, sc Scope, id string, it RecordItems) error {
	return s.swapRecord(ctx, sc, id, []string{"chat", "files", "markers"}, func(old []string) ([]any, error) {
		var r Record
		for i, dst := range []any{&r.Chat, &r.Files, &r.Markers} {
			if err := json.Unmarshal([]byte(old[i]), dst); err != nil {
				return nil, fmt.Errorf("store: record %q items: %w", id, err)
			}
		}
		j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		return []any{j(append(nonNil(r.Chat), it.Chat...)), j(append(nonNil(r.Files), it.Files...)), j(append(nonNil(r.Markers), it.Markers...))}, nil
	})
}

// SetRecordRating stores the customer's satisfaction rating (1..5).
func (s *DB) SetRecordRating(ctx context.Context, sc Scope, id string, rating int) error {
	if rating < 1 || rating > 5 {
		return fmt.Errorf("store: rating %d: want 1..5: %w", rating, ErrInvalid)
	}
	cond, cargs := sc.cond("tenant_id")
	res, err := s.exec(ctx, `UPDATE service_records SET rating=?, updated_at=? WHERE id=? AND `+cond, append([]any{rating, ms(s.now()), id}, cargs...)...)
	return affected(res, err, "record rating "+id)
}
