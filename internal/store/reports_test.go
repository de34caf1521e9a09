package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reportDay is the period every report test reads.
var reportDay = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// seedReports writes known records and agent states into tree's tenants
// (A, A1 and B) whose aggregates TestReports checks exactly.
func seedReports(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	sys := System()
	at := func(h int) time.Time { return reportDay.Add(time.Duration(h) * time.Hour) }
	for _, u := range []User{
		{ID: "a1", TenantID: "A", Username: "a1", DisplayName: "Agent One", Role: "agent", PasswordHash: "x"},
		{ID: "a2", TenantID: "A1", Username: "a2", Role: "agent", PasswordHash: "x"},
		{ID: "b1", TenantID: "B", Username: "b1", DisplayName: "Agent B", Role: "agent", PasswordHash: "x"},
	} {
		if err := db.CreateUser(ctx, sys, u); err != nil {
			t.Fatal(err)
		}
	}
	recs := []Record{
		{ID: "r1", TenantID: "A", Business: "open", Queue: "qA", AgentID: "a1", Status: "ended", QueuedAt: at(9), AnsweredAt: at(9), WaitMS: 10000, TalkMS: 60000, QCVerdict: "pass", Rating: 5},
		{ID: "r2", TenantID: "A", Business: "open", Queue: "qA", AgentID: "a1", Status: "ended", QueuedAt: at(10), AnsweredAt: at(10), WaitMS: 20000, TalkMS: 120000, QCVerdict: "fail", Rating: 3},
		{ID: "r3", TenantID: "A", Business: "open", Queue: "qA", Status: "abandoned", QueuedAt: at(11), WaitMS: 30000},
		{ID: "r4", TenantID: "A1", Business: "loan", Queue: "qA1", AgentID: "a2", Status: "ended", QueuedAt: at(12), AnsweredAt: at(12), WaitMS: 5000, TalkMS: 30000, QCVerdict: "pass"},
		{ID: "r5", TenantID: "A1", Business: "loan", Queue: "qA1", Status: "timeout", QueuedAt: at(13), WaitMS: 90000},
		{ID: "r6", TenantID: "A", Business: "open", Queue: "qA", Status: "queued", QueuedAt: at(14)},
		// The day before: outside the period.
		{ID: "r7", TenantID: "A", Business: "open", Queue: "qA", AgentID: "a1", Status: "ended", QueuedAt: at(-2), AnsweredAt: at(-2), WaitMS: 1, TalkMS: 1, QCVerdict: "pass", Rating: 1},
		// Another bank.
		{ID: "r8", TenantID: "B", Business: "open", Queue: "qB", AgentID: "b1", Status: "ended", QueuedAt: at(9), AnsweredAt: at(9), WaitMS: 1000, TalkMS: 1000, QCVerdict: "pass", Rating: 1},
	}
	for _, r := range recs {
		if err := db.PutRecord(ctx, sys, r); err != nil {
			t.Fatal(err)
		}
	}
	st := func(tenant, agent, state string, h int, d time.Duration) AgentState {
		return AgentState{TenantID: tenant, AgentID: agent, State: state, StartedAt: at(h), EndedAt: at(h).Add(d), Duration: d}
	}
	if err := db.AddAgentStates(ctx, sys, []AgentState{
		st("A", "a1", "wrap_up", 9, 10*time.Second), st("A", "a1", "idle", 8, 50*time.Second),
		st("A1", "a2", "wrap_up", 12, 4*time.Second), st("A", "a1", "idle", -3, time.Hour),
		st("B", "b1", "idle", 9, 7*time.Second),
	}); err != nil {
		t.Fatal(err)
	}
}

func TestReports(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		tree(t, db)
		seedReports(t, db)
		ctx := context.Background()
		day := ReportFilter{From: reportDay, To: reportDay.Add(24 * time.Hour)}
		a := scope(t, db, "A")

		biz, err := db.BusinessReport(ctx, a, day)
		if err != nil {
			t.Fatal(err)
		}
		wantBiz := []BusinessRow{
			{Business: "loan", Calls: 2, Answered: 1, AnswerRate: 0.5, Missed: 1, MissedRate: 0.5, AvgWaitMS: 5000, AvgTalkMS: 30000, QCChecked: 1, QCPassed: 1, QCPassRate: 1},
			{Business: "open", Calls: 4, Answered: 2, AnswerRate: 0.5, Abandoned: 1, AbandonRate: 0.25, Missed: 1, MissedRate: 0.25, AvgWaitMS: 15000, AvgTalkMS: 90000, QCChecked: 2, QCPassed: 1, QCPassRate: 0.5},
		}
		if !reflect.DeepEqual(biz, wantBiz) {
			t.Errorf("business report:\n got %+v\nwant %+v", biz, wantBiz)
		}

		qs, err := db.QueueReport(ctx, a, day)
		if err != nil {
			t.Fatal(err)
		}
		wantQ := []QueueRow{
			{TenantID: "A", Queue: "qA", Offered: 4, Answered: 2, Abandoned: 1, AvgWaitMS: 15000, MaxWaitMS: 30000, AnswerRate: 0.5},
			{TenantID: "A1", Queue: "qA1", Offered: 2, Answered: 1, Timeout: 1, AvgWaitMS: 5000, MaxWaitMS: 90000, AnswerRate: 0.5},
		}
		if !reflect.DeepEqual(qs, wantQ) {
			t.Errorf("queue report:\n got %+v\nwant %+v", qs, wantQ)
		}

		br, err := db.BranchReport(ctx, a, day)
		if err != nil {
			t.Fatal(err)
		}
		wantB := []BranchRow{
			{TenantID: "A", Name: "甲银行", Level: LevelBank, ParentID: "P", Calls: 4, Answered: 2, Missed: 1, AvgWaitMS: 15000, AvgTalkMS: 90000, QCPassRate: 0.5, AvgRating: 4},
			{TenantID: "A1", Name: "甲银行一支行", Level: LevelBranch, ParentID: "A", Calls: 2, Answered: 1, Missed: 1, AvgWaitMS: 5000, AvgTalkMS: 30000, QCPassRate: 1},
		}
		if !reflect.DeepEqual(br, wantB) {
			t.Errorf("branch report:\n got %+v\nwant %+v", br, wantB)
		}

		ag, err := db.AgentReport(ctx, a, day)
		if err != nil {
			t.Fatal(err)
		}
		wantA := []AgentRow{
			{AgentID: "a1", TenantID: "A", Name: "Agent One", Calls: 2, TalkMS: 180000, AvgTalkMS: 90000, AvgHandleMS: 95000, Rated: 2, AvgRating: 4,
				Ratings: [6]int64{3: 1, 5: 1}, StateMS: map[string]int64{"wrap_up": 10000, "idle": 50000}, LoggedMS: 60000},
			{AgentID: "a2", TenantID: "A1", Name: "a2", Calls: 1, TalkMS: 30000, AvgTalkMS: 30000, AvgHandleMS: 34000, StateMS: map[string]int64{"wrap_up": 4000}, LoggedMS: 4000},
		}
		if !reflect.DeepEqual(ag, wantA) {
			t.Errorf("agent report:\n got %+v\nwant %+v", ag, wantA)
		}

		// The branch's own scope and a sub-scope of A see only A1.
		sub, err := db.SubScope(ctx, a, "A1")
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range []Scope{sub, scope(t, db, "A1")} {
			br, err := db.BranchReport(ctx, sc, day)
			if err != nil || len(br) != 1 || br[0].TenantID != "A1" || br[0].Calls != 2 {
				t.Errorf("A1 branch report: %+v %v", br, err)
			}
			biz, err := db.BusinessReport(ctx, sc, day)
			if err != nil || len(biz) != 1 || biz[0].Business != "loan" {
				t.Errorf("A1 business report: %+v %v", biz, err)
			}
		}
		if _, err := db.SubScope(ctx, a, "B"); !errors.Is(err, ErrNotFound) {
			t.Errorf("A narrowing to B: %v, want not found", err)
		}

		// Nothing of B reaches A's reports; the province sees B too.
		for _, v := range []any{biz, qs, br, ag} {
			b, _ := json.Marshal(v)
			for _, m := range []string{`"B"`, "qB", "b1", "Agent B", "乙银行"} {
				if strings.Contains(string(b), m) {
					t.Errorf("A's report carries B's %s: %s", m, b)
				}
			}
		}
		pq, err := db.QueueReport(ctx, System(), day)
		if err != nil || len(pq) != 3 || pq[2].Queue != "qB" || pq[2].Offered != 1 {
			t.Errorf("province queue report: %+v %v", pq, err)
		}
		// By day: the record of the evening before is its own UTC day, but
		// the same day in China (22:00 UTC = 06:00 CST).
		utc := ReportFilter{ByDay: true, Zone: time.UTC}
		byDay, err := db.BusinessReport(ctx, a, utc)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range byDay {
			got = append(got, fmt.Sprintf("%s %s %d", r.Day, r.Business, r.Calls))
		}
		if want := "2026-11-29 open 1|2026-11-30 loan 2|2026-11-30 open 4"; strings.Join(got, "|") != want {
			t.Errorf("business by UTC day: %s, want %s", strings.Join(got, "|"), want)
		}
		cst, _ := time.LoadLocation("Asia/Shanghai")
		qd, err := db.QueueReport(ctx, a, ReportFilter{ByDay: true, Zone: cst})
		if err != nil || len(qd) != 2 || qd[0].Day != "2026-11-30" || qd[0].Queue != "qA" || qd[0].Offered != 5 || qd[1].Queue != "qA1" {
			t.Errorf("queues by China day: %+v %v", qd, err)
		}
		// An open period includes the day before.
		all, err := db.BusinessReport(ctx, a, ReportFilter{})
		if err != nil || len(all) != 2 || all[1].Calls != 5 {
			t.Errorf("open period: %+v %v", all, err)
		}
	})
}

func TestTemplatesAndAuditPage(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		tree(t, db)
		ctx := context.Background()
		a, b := scope(t, db, "A"), scope(t, db, "B")
		tp := BusinessTemplate{TenantID: "A", Business: "open", Layout: "side-by-side", Analyzers: []string{"face"},
			Watermark: TemplateWatermark{Text: "{tenant}", Position: "top-left", Timestamp: true}, QCPolicy: "name: strict\n"}
		if err := db.PutTemplate(ctx, a, tp); err != nil {
			t.Fatal(err)
		}
		tp.Layout = "pip"
		if err := db.PutTemplate(ctx, a, tp); err != nil {
			t.Fatal(err)
		}
		if err := db.PutTemplate(ctx, b, tp); !errors.Is(err, ErrNotFound) {
			t.Fatalf("B writing A's template: %v", err)
		}
		got, err := db.Template(ctx, a, "A", "open")
		if err != nil || got.Layout != "pip" || got.Watermark != tp.Watermark || !reflect.DeepEqual(got.Analyzers, []string{"face"}) || got.QCPolicy != tp.QCPolicy {
			t.Fatalf("template: %+v %v", got, err)
		}
		if ts, err := db.Templates(ctx, b, ""); err != nil || len(ts) != 0 {
			t.Fatalf("B sees templates %+v %v", ts, err)
		}
		if err := db.DeleteTemplate(ctx, b, "A", "open"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("B deleting A's template: %v", err)
		}
		if err := db.DeleteTemplate(ctx, a, "A", "open"); err != nil {
			t.Fatal(err)
		}

		for i, e := range []AuditEntry{
			{TenantID: "A", Actor: "u1", Action: "user.create", Target: "x"},
			{TenantID: "A1", Actor: "u2", Action: "user.freeze", Target: "y"},
			{TenantID: "A", Actor: "u1", Action: "tenant.update", Target: "A"},
			{TenantID: "B", Actor: "u9", Action: "user.create", Target: "z"},
			{TenantID: "A", Actor: "u1", Action: "user_x.odd", Target: "w"},
		} {
			if _, err := db.AppendAudit(ctx, e); err != nil {
				t.Fatal(i, err)
			}
		}
		page, err := db.AuditPage(ctx, a, AuditQuery{Action: "user."})
		if err != nil || len(page) != 2 || page[0].Action != "user.freeze" || page[1].Action != "user.create" || page[0].Seq < page[1].Seq {
			t.Fatalf("user. actions in A, newest first: %+v %v", page, err)
		}
		// "_" is not a wildcard.
		if p, err := db.AuditPage(ctx, a, AuditQuery{Action: "user_"}); err != nil || len(p) != 1 || p[0].Action != "user_x.odd" {
			t.Fatalf("user_ prefix: %+v %v", p, err)
		}
		p1, err := db.AuditPage(ctx, a, AuditQuery{Limit: 2})
		if err != nil || len(p1) != 2 {
			t.Fatal(p1, err)
		}
		p2, err := db.AuditPage(ctx, a, AuditQuery{Limit: 2, Before: p1[1].Seq})
		if err != nil || len(p2) != 2 || p2[0].Seq >= p1[1].Seq {
			t.Fatalf("second page %+v %v", p2, err)
		}
		for _, e := range append(p1, p2...) {
			if e.TenantID == "B" {
				t.Fatalf("A sees B's audit entry %+v", e)
			}
		}
		if p, err := db.AuditPage(ctx, a, AuditQuery{TenantID: "A1", Actor: "u2"}); err != nil || len(p) != 1 {
			t.Fatalf("tenant+actor filter: %+v %v", p, err)
		}
		if p, err := db.AuditPage(ctx, a, AuditQuery{From: time.Now().Add(time.Hour)}); err != nil || len(p) != 0 {
			t.Fatalf("future from: %+v %v", p, err)
		}
	})
}

// TestConcurrencyReport: peaks of overlapping calls per tenant and with
// its sub-tenants, clipped to the period; a call still going counts up to
// now; calls that end as another is answered do not overlap.
func TestConcurrencyReport(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tree(t, db)
		day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
		at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
		db.SetClock(func() time.Time { return at(11, 0) })
		ta, _ := db.Tenant(ctx, System(), "A")
		ta.Settings.Quotas.MaxCalls = 4
		must(t, db.UpdateTenant(ctx, System(), ta))
		for i, c := range []struct {
			tenant, status string
			from, to       time.Time
		}{
			{"A", "ended", at(9, 0), at(9, 10)},
			{"A", "ended", at(9, 5), at(9, 20)},
			{"A", "ended", at(9, 20), at(9, 30)}, // answered as the previous ends
			{"A1", "ended", at(9, 6), at(9, 8)},
			{"B", "ended", at(9, 6), at(9, 9)},
			{"A1", "in_call", at(10, 30), time.Time{}}, // still connected at 11:00
			{"A", "abandoned", time.Time{}, time.Time{}},
		} {
			r := Record{ID: fmt.Sprint("cc", i), TenantID: c.tenant, Status: c.status, QueuedAt: c.from, AnsweredAt: c.from, EndedAt: c.to}
			if !c.to.IsZero() {
				r.TalkMS = c.to.Sub(c.from).Milliseconds()
			}
			must(t, db.PutRecord(ctx, System(), r))
		}
		rows, err := db.ConcurrencyReport(ctx, scope(t, db, "P"), ReportFilter{From: day, To: day.Add(24 * time.Hour)})
		must(t, err)
		by := map[string]ConcurrencyRow{}
		for _, r := range rows {
			by[r.TenantID] = r
		}
		check := func(id string, own, tree int, ownAt, treeAt time.Time, ownMin, treeMin float64, quota int) {
			t.Helper()
			r, ok := by[id]
			if !ok {
				t.Fatalf("no row for %s", id)
			}
			if r.Own.Peak != own || r.Tree.Peak != tree || !r.OwnPeakAt.Equal(ownAt) || !r.TreePeakAt.Equal(treeAt) ||
				r.Own.Talk.Minutes() != ownMin || r.Tree.Talk.Minutes() != treeMin || r.Quota != quota {
				t.Errorf("%s: %+v", id, r)
			}
		}
		check("A", 2, 3, at(9, 5), at(9, 6), 35, 67, 4) // A1's 9:06 call adds to A's tree; A1's 30 live minutes too
		check("A1", 1, 1, at(9, 6), at(9, 6), 32, 32, 0)
		check("P", 0, 4, time.Time{}, at(9, 6), 0, 70, 0)
		check("B", 1, 1, at(9, 6), at(9, 6), 3, 3, 0)
		// A bank sees itself and its branch only; a period clips the calls.
		rows, err = db.ConcurrencyReport(ctx, scope(t, db, "A"), ReportFilter{From: at(9, 12), To: at(10, 0)})
		must(t, err)
		if len(rows) != 2 || rows[0].TenantID != "A" || rows[0].Own.Peak != 1 || rows[0].Own.Talk != 18*time.Minute || rows[0].OwnCalls != 2 {
			t.Errorf("A from 9:12 to 10:00: %+v", rows)
		}
	})
}
