package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/store/pgtest"
	"github.com/witness-media/witness/internal/tenant"
)

var (
	pg    *pgtest.Server
	pgErr error
)

func TestMain(m *testing.M) {
	pg, pgErr = pgtest.Start()
	code := m.Run()
	if pg != nil {
		pg.Stop()
	}
	os.Exit(code)
}

// backends runs fn against a fresh SQLite file and a fresh PostgreSQL
// database.
func backends(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "w.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		if pgErr != nil {
			if errors.Is(pgErr, pgtest.ErrUnavailable) {
				t.Skipf("PostgreSQL tests skipped: %v", pgErr)
			}
			t.Fatal(pgErr)
		}
		dsn, err := pg.NewDatabase()
		if err != nil {
			t.Fatal(err)
		}
		db, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect() != Postgres {
			t.Fatalf("dialect %v", db.Dialect())
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
}

// tree makes province P, banks A and B, branch A1 under A.
func tree(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	for _, tn := range []Tenant{
		{ID: "P", Name: "省联社", Level: LevelProvince, Whitelisted: true},
		{ID: "A", ParentID: "P", Name: "甲银行", Level: LevelBank, Whitelisted: true},
		{ID: "A1", ParentID: "A", Name: "甲银行一支行", Level: LevelBranch, Whitelisted: true},
		{ID: "B", ParentID: "P", Name: "乙银行", Level: LevelBank, Whitelisted: true},
	} {
		if err := db.CreateTenant(ctx, System(), tn); err != nil {
			t.Fatal(err)
		}
	}
}

func scope(t *testing.T, db *DB, tenant string) Scope {
	t.Helper()
	sc, err := db.Scope(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestScopes(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		tree(t, db)
		if sc := scope(t, db, "P"); !sc.All() {
			t.Fatal("province scope must see all")
		}
		a := scope(t, db, "A")
		if got := strings.Join(a.Tenants(), ","); got != "A,A1" {
			t.Fatalf("bank A scope = %s, want A,A1", got)
		}
		if got := strings.Join(scope(t, db, "A1").Tenants(), ","); got != "A1" {
			t.Fatalf("branch scope = %s", got)
		}
		ts, err := db.Tenants(context.Background(), a)
		if err != nil || len(ts) != 2 {
			t.Fatalf("tenants in A: %v %v", ts, err)
		}
		if _, err := db.Tenant(context.Background(), a, "B"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("A reading B: %v", err)
		}
		if _, err := db.Tenants(context.Background(), Scope{}); err != nil {
			t.Fatal(err)
		}
		if ts, _ := db.Tenants(context.Background(), Scope{}); len(ts) != 0 {
			t.Fatalf("zero scope saw %d tenants", len(ts))
		}
		if err := db.CreateTenant(context.Background(), a, Tenant{ID: "B2", ParentID: "B", Name: "x", Level: LevelBranch}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("A creating under B: %v", err)
		}
		tn, _ := db.Tenant(context.Background(), a, "A")
		tn.Settings.Quotas.MaxCalls = 7
		tn.Settings.Hours = tenant.Hours{Open: "09:00", Close: "17:00", Holidays: []string{"2026-10-01"}, HalfDays: map[string]string{"2026-09-30": "12:00"}}
		if err := db.UpdateTenant(context.Background(), a, tn); err != nil {
			t.Fatal(err)
		}
		got, _ := db.Tenant(context.Background(), System(), "A")
		if got.Settings.Quotas.MaxCalls != 7 || got.Settings.Hours.HalfDays["2026-09-30"] != "12:00" {
			t.Fatalf("settings not stored: %+v", got.Settings)
		}
		tb, _ := db.Tenant(context.Background(), System(), "B")
		if err := db.UpdateTenant(context.Background(), a, tb); !errors.Is(err, ErrNotFound) {
			t.Fatalf("A updating B: %v", err)
		}
	})
}

// TestIsolation writes rows in A and B and checks that every read and
// write method confines a bank to its own tenants while the province sees
// both.
func TestIsolation(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		sys, a, b, p := System(), scope(t, db, "A"), scope(t, db, "B"), scope(t, db, "P")
		for _, tn := range []string{"A", "B"} {
			must(t, db.CreateUser(ctx, sys, User{ID: "u" + tn, TenantID: tn, Username: "agent-" + tn, Role: "agent", PasswordHash: "x"}))
			must(t, db.PutCustomer(ctx, sys, Customer{ID: "c" + tn, TenantID: tn, Name: "客户" + tn, Phone: "enc:" + tn}))
			must(t, db.PutRecord(ctx, sys, Record{ID: "r" + tn, TenantID: tn, CustomerID: "c" + tn, Status: "ended", Business: "open", Chat: []ChatMessage{{From: "agent", Text: "您好"}}}))
			must(t, db.AddAgentStates(ctx, sys, []AgentState{{TenantID: tn, AgentID: "u" + tn, State: "idle", StartedAt: time.Now(), EndedAt: time.Now(), Duration: time.Second}}))
			_, err := db.PutJobResult(ctx, JobResult{JobID: "j" + tn, Kind: "qc", TenantID: tn, Subject: "r" + tn, Status: "done", Result: json.RawMessage(`{"verdict":"pass"}`)})
			must(t, err)
		}
		// A cannot read B's rows ...
		if _, err := db.User(ctx, a, "uB"); !errors.Is(err, ErrNotFound) {
			t.Errorf("user: %v", err)
		}
		if _, err := db.Customer(ctx, a, "cB"); !errors.Is(err, ErrNotFound) {
			t.Errorf("customer: %v", err)
		}
		if _, err := db.Record(ctx, a, "rB"); !errors.Is(err, ErrNotFound) {
			t.Errorf("record: %v", err)
		}
		if rs, _ := db.Records(ctx, a, RecordFilter{}); len(rs) != 1 || rs[0].ID != "rA" {
			t.Errorf("records in A: %+v", rs)
		}
		if rs, _ := db.Records(ctx, a, RecordFilter{TenantID: "B"}); len(rs) != 0 {
			t.Errorf("A filtering for B got %d records", len(rs))
		}
		if rs, _ := db.Records(ctx, a, RecordFilter{CustomerID: "cA"}); len(rs) != 1 || rs[0].ID != "rA" {
			t.Errorf("A's records of customer cA: %+v", rs)
		}
		if rs, _ := db.Records(ctx, a, RecordFilter{CustomerID: "cB"}); len(rs) != 0 {
			t.Errorf("A filtering for B's customer got %d records", len(rs))
		}
		if us, _ := db.Users(ctx, a, "", ""); len(us) != 1 || us[0].ID != "uA" {
			t.Errorf("users in A: %+v", us)
		}
		if st, _ := db.AgentStates(ctx, a, "uB", 0); len(st) != 0 {
			t.Errorf("A saw B's agent states")
		}
		if js, _ := db.JobResults(ctx, a, ""); len(js) != 1 || js[0].TenantID != "A" {
			t.Errorf("job results in A: %+v", js)
		}
		// ... nor change them.
		frozen := true
		if err := db.UpdateUser(ctx, a, "uB", UserUpdate{Frozen: &frozen}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update user: %v", err)
		}
		if err := db.PutRecord(ctx, a, Record{ID: "rB", TenantID: "B", Status: "x"}); !errors.Is(err, ErrForbidden) {
			t.Errorf("put B record: %v", err)
		}
		// Claiming the id of B's record as A's own must not overwrite it.
		if err := db.PutRecord(ctx, a, Record{ID: "rB", TenantID: "A", Status: "hijack"}); !errors.Is(err, ErrConflict) {
			t.Errorf("hijack record: %v", err)
		}
		if err := db.PutCustomer(ctx, a, Customer{ID: "cB", TenantID: "A"}); !errors.Is(err, ErrConflict) {
			t.Errorf("hijack customer: %v", err)
		}
		if r, _ := db.Record(ctx, sys, "rB"); r.Status != "ended" || r.TenantID != "B" {
			t.Errorf("B's record changed: %+v", r)
		}
		if err := db.AddAgentStates(ctx, a, []AgentState{{TenantID: "B", AgentID: "x", State: "idle"}}); !errors.Is(err, ErrForbidden) {
			t.Errorf("agent states into B: %v", err)
		}
		if err := db.CreateUser(ctx, a, User{ID: "evil", TenantID: "B", Username: "evil", Role: "tenant_admin"}); !errors.Is(err, ErrForbidden) {
			t.Errorf("create user in B: %v", err)
		}
		// B symmetric spot check; province sees both.
		if _, err := db.Record(ctx, b, "rA"); !errors.Is(err, ErrNotFound) {
			t.Errorf("B read A: %v", err)
		}
		if rs, _ := db.Records(ctx, p, RecordFilter{}); len(rs) != 2 {
			t.Errorf("province saw %d records", len(rs))
		}
		if _, err := db.User(ctx, p, "uB"); err != nil {
			t.Errorf("province user: %v", err)
		}
		// A zero scope sees nothing at all.
		if rs, _ := db.Records(ctx, Scope{}, RecordFilter{}); len(rs) != 0 {
			t.Errorf("zero scope saw records")
		}
		r, err := db.Record(ctx, a, "rA")
		if err != nil || len(r.Chat) != 1 || r.Chat[0].Text != "您好" {
			t.Errorf("record round trip: %+v %v", r, err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestUsersAndSessions(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		a := scope(t, db, "A")
		must(t, db.CreateUser(ctx, a, User{ID: "u1", TenantID: "A1", Username: "li", Role: "agent", PasswordHash: "h", Skills: map[string]int{"loan": 8}}))
		if err := db.CreateUser(ctx, a, User{ID: "u2", TenantID: "A", Username: "li", Role: "agent"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate username: %v", err)
		}
		frozen, n := true, 3
		must(t, db.UpdateUser(ctx, a, "u1", UserUpdate{Frozen: &frozen, FailedLogins: &n}))
		u, err := db.UserByName(ctx, "li")
		if err != nil || !u.Frozen || u.FailedLogins != 3 || u.Skills["loan"] != 8 {
			t.Fatalf("user: %+v %v", u, err)
		}
		now := time.Now()
		must(t, db.CreateSession(ctx, Session{TokenHash: "h1", UserID: "u1", TenantID: "A1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		must(t, db.CreateSession(ctx, Session{TokenHash: "h2", UserID: "u1", TenantID: "A1", CreatedAt: now, ExpiresAt: now.Add(-time.Second)}))
		if _, su, err := db.SessionByHash(ctx, "h1"); err != nil || su.ID != "u1" {
			t.Fatalf("session: %v", err)
		}
		if _, _, err := db.SessionByHash(ctx, "h2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		must(t, db.DeleteSessions(ctx, "u1", ""))
		if _, _, err := db.SessionByHash(ctx, "h1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
	})
}

func TestJobResultOnce(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		// Racing writers for one job id: exactly one wins.
		var wg sync.WaitGroup
		wins := make(chan bool, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := db.PutJobResult(ctx, JobResult{JobID: "job-1", Kind: "qc", TenantID: "A", Subject: "r1", Status: "done", Worker: fmt.Sprint(i)})
				if err != nil {
					t.Error(err)
				}
				wins <- ok
			}()
		}
		wg.Wait()
		close(wins)
		n := 0
		for w := range wins {
			if w {
				n++
			}
		}
		js, _ := db.JobResults(ctx, System(), "r1")
		if n != 1 || len(js) != 1 {
			t.Fatalf("%d writers won, %d results stored; want 1 and 1", n, len(js))
		}
	})
}

func TestAuditChain(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		for i := range 5 {
			_, err := db.AppendAudit(ctx, AuditEntry{TenantID: []string{"A", "B"}[i%2], Actor: "u1", Role: "tenant_admin", Action: "user.freeze", Target: fmt.Sprint("u", i),
				Before: json.RawMessage(`{"frozen": false}`), After: json.RawMessage(`{"frozen":true}`), Result: "ok"})
			must(t, err)
		}
		n, err := db.VerifyAudit(ctx)
		if err != nil || n != 5 {
			t.Fatalf("verify: %d %v", n, err)
		}
		if es, _ := db.Audit(ctx, scope(t, db, "A"), 0, 0); len(es) != 3 {
			t.Fatalf("A sees %d audit entries, want 3", len(es))
		}
		// The database refuses edits and deletions.
		if _, err := db.exec(ctx, `UPDATE audit SET result='forged' WHERE seq=2`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update allowed: %v", err)
		}
		if _, err := db.exec(ctx, `DELETE FROM audit WHERE seq=2`); err == nil {
			t.Fatal("delete allowed")
		}
		// Someone with the database owner's power drops the trigger and
		// edits a row: verify finds it.
		if db.Dialect() == Postgres {
			_, err = db.exec(ctx, `ALTER TABLE audit DISABLE TRIGGER audit_append_only`)
		} else {
			_, err = db.exec(ctx, `DROP TRIGGER audit_no_update`)
		}
		must(t, err)
		_, err = db.exec(ctx, `UPDATE audit SET target='someone-else' WHERE seq=3`)
		must(t, err)
		if _, err := db.VerifyAudit(ctx); !errors.Is(err, ErrAuditBroken) || !strings.Contains(err.Error(), "entry 3") {
			t.Fatalf("tampering not found: %v", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(context.Background(), "mysql://x"); !errors.Is(err, ErrDSN) {
		t.Fatalf("bad scheme: %v", err)
	}
	_, err := Open(context.Background(), "postgres://u:secret@127.0.0.1:1/db?connect_timeout=1")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable postgres: %v", err)
	}
}

func TestRecordFlowAndSummary(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		a := scope(t, db, "A")
		q := time.UnixMilli(1_780_000_000_000)
		must(t, db.UpsertRecordFlow(ctx, a, RecordFlow{ID: "T1", TenantID: "A", Business: "open", Channel: "app", Queue: "q", CustomerID: "c", Status: "queued", QueuedAt: q}))
		must(t, db.SetRecordSummary(ctx, a, "T1", RecordSummary{Summary: "开户完成", SummaryOptions: []string{"done"}, CustomerTags: []string{"vip"}, Rating: 5}))
		must(t, db.UpsertRecordFlow(ctx, a, RecordFlow{ID: "T1", TenantID: "A", Status: "in_call", AgentID: "ag", AnsweredAt: q.Add(time.Minute), WaitMS: 60000}))
		must(t, db.UpsertRecordFlow(ctx, a, RecordFlow{ID: "T1", TenantID: "A", Status: "ended", EndedAt: q.Add(3 * time.Minute), TalkMS: 120000}))
		must(t, db.AddRecordRecording(ctx, a, "T1", RecordingLink{Key: "A/T1.mp4", SHA256: "ab", Size: 10}))
		must(t, db.AddRecordRecording(ctx, a, "T1", RecordingLink{Key: "A/T1.mp4", SHA256: "ab", Size: 10}))
		must(t, db.SetRecordQC(ctx, a, "T1", "pass"))
		r, err := db.Record(ctx, a, "T1")
		must(t, err)
		if r.Status != "ended" || r.AgentID != "ag" || r.WaitMS != 60000 || r.TalkMS != 120000 || r.Summary != "开户完成" || r.Rating != 5 ||
			len(r.Recordings) != 1 || r.QCVerdict != "pass" || !r.QueuedAt.Equal(q) || r.Business != "open" {
			t.Fatalf("record %+v", r)
		}
		// A wrap-up without a rating keeps the customer's.
		must(t, db.SetRecordSummary(ctx, a, "T1", RecordSummary{Summary: "开户完成，已复核"}))
		if r, _ := db.Record(ctx, a, "T1"); r.Rating != 5 || r.Summary != "开户完成，已复核" {
			t.Fatalf("summary without a rating: rating %d, summary %q", r.Rating, r.Summary)
		}
		if err := db.SetRecordSummary(ctx, scope(t, db, "B"), "T1", RecordSummary{Summary: "x"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("B summary on A's record: %v", err)
		}
		if err := db.UpsertRecordFlow(ctx, scope(t, db, "B"), RecordFlow{ID: "T1", TenantID: "B", Status: "x"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("B flow on A's record id: %v", err)
		}
	})
}

// TestRecordConcurrentWriters: a record's uploads, chat items and QC
// checks land from several workers at once; none may be lost, and the
// QC verdict is the worst of the checks whatever their order.
func TestRecordConcurrentWriters(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		a := scope(t, db, "A")
		must(t, db.UpsertRecordFlow(ctx, a, RecordFlow{ID: "T2", TenantID: "A", Business: "open", Status: "ended"}))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 4 {
					key := fmt.Sprintf("A/T2/seg%d_%d.mp4", g, i)
					if err := db.AddRecordRecording(ctx, a, "T2", RecordingLink{Key: key, SHA256: "00", Size: 1}); err != nil {
						t.Error(err)
					}
					if err := db.AppendRecordItems(ctx, a, "T2", RecordItems{Chat: []ChatMessage{{From: "agent", Text: key}}}); err != nil {
						t.Error(err)
					}
					v := []string{"pass", "warn", "pass", "pass"}[i]
					if g == 5 && i == 2 {
						v = "fail"
					}
					if err := db.SetRecordQC(ctx, a, "T2", v); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		r, err := db.Record(ctx, a, "T2")
		must(t, err)
		if len(r.Recordings) != 32 || len(r.Chat) != 32 {
			t.Fatalf("%d recording links and %d chat lines after 32 concurrent additions of each", len(r.Recordings), len(r.Chat))
		}
		if r.QCVerdict != "fail" {
			t.Fatalf("verdict %q after one failed check among passes", r.QCVerdict)
		}
		must(t, db.SetRecordQC(ctx, a, "T2", "pass"))
		if r, _ := db.Record(ctx, a, "T2"); r.QCVerdict != "fail" {
			t.Fatalf("a later pass cleared the failure: %q", r.QCVerdict)
		}
		must(t, db.UpsertRecordFlow(ctx, a, RecordFlow{ID: "T3", TenantID: "A", Business: "open", Status: "ended"}))
		for _, step := range []struct{ set, want string }{{"pass", "pass"}, {"warn", "warn"}, {"pass", "warn"}, {"fail", "fail"}} {
			must(t, db.SetRecordQC(ctx, a, "T3", step.set))
			if r, _ := db.Record(ctx, a, "T3"); r.QCVerdict != step.want {
				t.Fatalf("after %s: verdict %q, want %q", step.set, r.QCVerdict, step.want)
			}
		}
		if err := db.SetRecordQC(ctx, a, "T3", "great"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown verdict: %v", err)
		}
		if err := db.AddRecordRecording(ctx, scope(t, db, "B"), "T2", RecordingLink{Key: "x"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("B linking to A's record: %v", err)
		}
	})
}

func TestAuditConcurrentAppends(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		var wg sync.WaitGroup
		seqs := make(chan int64, 400)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					e, err := db.AppendAudit(ctx, AuditEntry{TenantID: "A", Actor: fmt.Sprint("g", g), Action: "agent.state", Target: fmt.Sprint(i), Result: "ok"})
					if err != nil {
						t.Error(err)
						return
					}
					seqs <- e.Seq
				}
			}()
		}
		wg.Wait()
		close(seqs)
		seen := map[int64]bool{}
		for s := range seqs {
			if seen[s] {
				t.Fatalf("sequence %d handed out twice", s)
			}
			seen[s] = true
		}
		n, err := db.VerifyAudit(ctx)
		if err != nil || n != 400 || len(seen) != 400 {
			t.Fatalf("verify %d entries (%d returned): %v", n, len(seen), err)
		}
	})
}
