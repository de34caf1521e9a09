package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reports (requirements §4.3.3) are aggregates over service records and
// agent state history, computed in SQL under the caller's scope so that no
// other tenant's rows ever reach the process. Periods select records by
// the time the customer queued (queued_at), which is what a business day
// means to a branch; agent states by the time the state began.

// ReportFilter selects a period; zero times leave that end open. ByDay
// splits the business and queue reports into calendar days of Zone
// (default Asia/Shanghai), using the zone's offset at the period's start
// (exact for zones without daylight saving, such as China's).
type ReportFilter struct {
	From, To time.Time
	ByDay    bool
	Zone     *time.Location
}

// Location is the zone the report's days and times are in: Zone, else
// Asia/Shanghai (UTC where the zone database lacks it).
func (f ReportFilter) Location() *time.Location {
	if f.Zone != nil {
		return f.Zone
	}
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.UTC
}

// dayExpr is the SQL day number (days since 1970-01-01 in the zone) of
// queued_at, and the function turning one back into a date. The offset
// is an integer this code computed, written into the SQL so that both
// databases see the same expression in SELECT and GROUP BY.
func (f ReportFilter) dayExpr() (string, func(string) string) {
	zone := f.Location()
	at := f.From
	if at.IsZero() {
		at = time.Now()
	}
	_, off := at.In(zone).Zone()
	expr := fmt.Sprintf("CAST((queued_at + %d) / 86400000 AS BIGINT)", int64(off)*1000)
	return expr, func(d string) string {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return d
		}
		return time.Unix(n*86400, 0).UTC().Format("2006-01-02")
	}
}

// Outcome classes of a record, as SQL conditions.
const (
	condAnswered = `answered_at<>0`
	// missed: the customer left, timed out or the platform stopped before
	// anyone answered. Records still queued or ringing are neither.
	condMissed = `answered_at=0 AND status IN ('abandoned','timeout','interrupted')`
)

// sums are the additive figures every record report shares; averages and
// rates derive from them in Go so both databases give the same numbers.
type sums struct {
	Calls, Answered, Missed, Abandoned, Timeout int64
	WaitSum, TalkSum, MaxWait                   int64
	QCChecked, QCPassed                         int64
	Rated, RatingSum                            int64
}

const sumCols = `COUNT(*),
	CAST(COALESCE(SUM(CASE WHEN ` + condAnswered + ` THEN 1 ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN ` + condMissed + ` THEN 1 ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN status='abandoned' THEN 1 ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN status='timeout' THEN 1 ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN ` + condAnswered + ` THEN wait_ms ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN ` + condAnswered + ` THEN talk_ms ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(MAX(wait_ms),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN qc_verdict<>'' THEN 1 ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN qc_verdict='pass' THEN 1 ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN rating>0 THEN 1 ELSE 0 END),0) AS BIGINT),
	CAST(COALESCE(SUM(rating),0) AS BIGINT)`

func (m *sums) dest() []any {
	return []any{&m.Calls, &m.Answered, &m.Missed, &m.Abandoned, &m.Timeout, &m.WaitSum, &m.TalkSum, &m.MaxWait,
		&m.QCChecked, &m.QCPassed, &m.Rated, &m.RatingSum}
}

// ratio is n/d rounded to 4 places (0 when d is 0).
func ratio(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(d)*1e4) / 1e4
}

// avg is n/d rounded to one decimal (0 when d is 0).
func avg(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(d)*10) / 10
}

// BusinessRow is one business type's figures.
type BusinessRow struct {
	Day         string  `json:"day,omitempty"` // YYYY-MM-DD with ByDay
	Business    string  `json:"business"`
	Channel     string  `json:"channel"`
	Calls       int64   `json:"calls"`
	Answered    int64   `json:"answered"`
	AnswerRate  float64 `json:"answer_rate"`
	Abandoned   int64   `json:"abandoned"` // the customer left the queue (排队取消)
	AbandonRate float64 `json:"abandon_rate"`
	Missed      int64   `json:"missed"` // not answered: left, timed out or interrupted (呼损)
	MissedRate  float64 `json:"missed_rate"`
	AvgWaitMS   float64 `json:"avg_wait_ms"` // of answered calls
	AvgTalkMS   float64 `json:"avg_talk_ms"` // of answered calls
	QCChecked   int64   `json:"qc_checked"`
	QCPassed    int64   `json:"qc_passed"`
	QCPassRate  float64 `json:"qc_pass_rate"` // passed / checked
}

// QueueRow is one queue's figures.
type QueueRow struct {
	Day        string  `json:"day,omitempty"`
	TenantID   string  `json:"tenant_id"`
	Queue      string  `json:"queue"`
	Offered    int64   `json:"offered"`
	Answered   int64   `json:"answered"`
	Abandoned  int64   `json:"abandoned"`
	Timeout    int64   `json:"timeout"`
	AvgWaitMS  float64 `json:"avg_wait_ms"` // of answered calls
	MaxWaitMS  int64   `json:"max_wait_ms"` // of every call
	AnswerRate float64 `json:"answer_rate"` // answered / offered
}

// BranchRow is one tenant's figures.
type BranchRow struct {
	TenantID   string  `json:"tenant_id"`
	Name       string  `json:"name"`
	Level      string  `json:"level"`
	ParentID   string  `json:"parent_id"`
	Calls      int64   `json:"calls"`
	Answered   int64   `json:"answered"`
	Missed     int64   `json:"missed"`
	AvgWaitMS  float64 `json:"avg_wait_ms"`
	AvgTalkMS  float64 `json:"avg_talk_ms"`
	QCPassRate float64 `json:"qc_pass_rate"`
	AvgRating  float64 `json:"avg_rating"`
}

// AgentRow is one agent's figures. StateMS sums the finished state
// stretches begun in the period (idle, busy, wrap_up ...).
type AgentRow struct {
	AgentID     string           `json:"agent_id"`
	TenantID    string           `json:"tenant_id"`
	Name        string           `json:"name"`
	Calls       int64            `json:"calls"` // answered calls
	TalkMS      int64            `json:"talk_ms"`
	AvgTalkMS   float64          `json:"avg_talk_ms"`
	AvgHandleMS float64          `json:"avg_handle_ms"` // (talk + wrap-up) / calls
	Rated       int64            `json:"rated"`
	AvgRating   float64          `json:"avg_rating"`
	Ratings     [6]int64         `json:"ratings"` // [n] calls rated n (1 very dissatisfied .. 5 very satisfied); [0] unused
	StateMS     map[string]int64 `json:"state_ms"`
	LoggedMS    int64            `json:"logged_ms"` // every state but signed_out
}

// period adds the filter's bounds on col.
func (f ReportFilter) period(col string, q string, args []any) (string, []any) {
	if !f.From.IsZero() {
		q += " AND " + col + ">=?"
		args = append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		q += " AND " + col + "<?"
		args = append(args, ms(f.To))
	}
	return q, args
}

// groupSums runs the shared aggregate grouped by the key expressions over
// sc's records; each row's keys come back as strings.
func (s *DB) groupSums(ctx context.Context, sc Scope, f ReportFilter, keys ...string) ([][]string, []sums, error) {
	cond, args := sc.cond("tenant_id")
	kl := strings.Join(keys, ", ")
	q, args := f.period("queued_at", `SELECT `+kl+`, `+sumCols+` FROM service_records WHERE `+cond, args)
	// Sorted here, not by ORDER BY: the two databases collate differently.
	rows, err := s.query(ctx, q+` GROUP BY `+kl, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: report by %s: %w", kl, err)
	}
	defer rows.Close()
	var (
		out []sums
		ks  [][]string
	)
	for rows.Next() {
		var m sums
		k := make([]string, len(keys))
		dest := make([]any, 0, len(keys)+12)
		for i := range k {
			dest = append(dest, &k[i])
		}
		if err := rows.Scan(append(dest, m.dest()...)...); err != nil {
			return nil, nil, fmt.Errorf("store: report by %s: %w", kl, err)
		}
		ks, out = append(ks, k), append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	idx := make([]int, len(ks))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return slices.Compare(ks[a], ks[b]) })
	sk, so := make([][]string, len(ks)), make([]sums, len(ks))
	for i, j := range idx {
		sk[i], so[i] = ks[j], out[j]
	}
	return sk, so, nil
}

// BusinessReport has one row per business type and channel in sc (per
// day first with f.ByDay).
func (s *DB) BusinessReport(ctx context.Context, sc Scope, f ReportFilter) ([]BusinessRow, error) {
	keys := []string{"business", "channel"}
	day, date := f.dayExpr()
	if f.ByDay {
		keys = append([]string{day}, keys...)
	}
	ks, sm, err := s.groupSums(ctx, sc, f, keys...)
	if err != nil {
		return nil, err
	}
	out := make([]BusinessRow, len(ks))
	for i, m := range sm {
		k := ks[i]
		r := BusinessRow{Calls: m.Calls, Answered: m.Answered, AnswerRate: ratio(m.Answered, m.Calls), Abandoned: m.Abandoned,
			AbandonRate: ratio(m.Abandoned, m.Calls), Missed: m.Missed, MissedRate: ratio(m.Missed, m.Calls),
			AvgWaitMS: avg(m.WaitSum, m.Answered), AvgTalkMS: avg(m.TalkSum, m.Answered),
			QCChecked: m.QCChecked, QCPassed: m.QCPassed, QCPassRate: ratio(m.QCPassed, m.QCChecked)}
		if f.ByDay {
			r.Day, k = date(k[0]), k[1:]
		}
		r.Business, r.Channel = k[0], k[1]
		out[i] = r
	}
	return out, nil
}

// QueueReport has one row per tenant and queue in sc (per day first with
// f.ByDay).
func (s *DB) QueueReport(ctx context.Context, sc Scope, f ReportFilter) ([]QueueRow, error) {
	keys := []string{"tenant_id", "queue"}
	day, date := f.dayExpr()
	if f.ByDay {
		keys = append([]string{day}, keys...)
	}
	ks, sm, err := s.groupSums(ctx, sc, f, keys...)
	if err != nil {
		return nil, err
	}
	out := make([]QueueRow, len(ks))
	for i, m := range sm {
		k := ks[i]
		r := QueueRow{Offered: m.Calls, Answered: m.Answered, Abandoned: m.Abandoned, Timeout: m.Timeout,
			AvgWaitMS: avg(m.WaitSum, m.Answered), MaxWaitMS: m.MaxWait, AnswerRate: ratio(m.Answered, m.Calls)}
		if f.ByDay {
			r.Day, k = date(k[0]), k[1:]
		}
		r.TenantID, r.Queue = k[0], k[1]
		out[i] = r
	}
	return out, nil
}

// BranchReport has one row per tenant in sc, including tenants without
// calls, so a quiet branch shows as zeros rather than missing.
func (s *DB) BranchReport(ctx context.Context, sc Scope, f ReportFilter) ([]BranchRow, error) {
	ts, err := s.Tenants(ctx, sc)
	if err != nil {
		return nil, err
	}
	ks, sm, err := s.groupSums(ctx, sc, f, "tenant_id")
	if err != nil {
		return nil, err
	}
	by := map[string]sums{}
	for i, k := range ks {
		by[k[0]] = sm[i]
	}
	out := make([]BranchRow, 0, len(ts))
	for _, t := range ts {
		m := by[t.ID]
		out = append(out, BranchRow{TenantID: t.ID, Name: t.Name, Level: t.Level, ParentID: t.ParentID,
			Calls: m.Calls, Answered: m.Answered, Missed: m.Missed, AvgWaitMS: avg(m.WaitSum, m.Answered), AvgTalkMS: avg(m.TalkSum, m.Answered),
			QCPassRate: ratio(m.QCPassed, m.QCChecked), AvgRating: avg(m.RatingSum, m.Rated)})
	}
	return out, nil
}

// ratingCounts counts ratings 1..5 in order.
var ratingCounts = func() string {
	var b []string
	for n := 1; n <= 5; n++ {
		b = append(b, fmt.Sprintf("CAST(COALESCE(SUM(CASE WHEN rating=%d THEN 1 ELSE 0 END),0) AS BIGINT)", n))
	}
	return strings.Join(b, ", ")
}()

// AgentReport has one row per agent with calls or state history in the
// period in sc, named from the users table.
func (s *DB) AgentReport(ctx context.Context, sc Scope, f ReportFilter) ([]AgentRow, error) {
	rows := map[string]*AgentRow{}
	get := func(id, tenant string) *AgentRow {
		r := rows[id]
		if r == nil {
			r = &AgentRow{AgentID: id, TenantID: tenant, StateMS: map[string]int64{}}
			rows[id] = r
		}
		return r
	}
	cond, args := sc.cond("tenant_id")
	q, args := f.period("queued_at", `SELECT agent_id, MIN(tenant_id), COUNT(*), CAST(COALESCE(SUM(talk_ms),0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN rating>0 THEN 1 ELSE 0 END),0) AS BIGINT), CAST(COALESCE(SUM(rating),0) AS BIGINT),
		`+ratingCounts+`
		FROM service_records WHERE agent_id<>'' AND `+condAnswered+` AND `+cond, args)
	rs, err := s.query(ctx, q+` GROUP BY agent_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: agent report: %w", err)
	}
	ratingSums := map[string]int64{}
	for rs.Next() {
		var (
			id, tenant           string
			calls, talk, n, sumR int64
		)
		var dist [6]int64
		if err := rs.Scan(&id, &tenant, &calls, &talk, &n, &sumR, &dist[1], &dist[2], &dist[3], &dist[4], &dist[5]); err != nil {
			rs.Close()
			return nil, fmt.Errorf("store: agent report: %w", err)
		}
		r := get(id, tenant)
		r.Ratings = dist
		r.Calls, r.TalkMS, r.Rated = calls, talk, n
		ratingSums[id] = sumR
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		return nil, err
	}
	rs.Close()

	cond, args = sc.cond("tenant_id")
	q, args = f.period("started_at", `SELECT agent_id, MIN(tenant_id), state, CAST(COALESCE(SUM(duration_ms),0) AS BIGINT) FROM agent_states WHERE `+cond, args)
	rs, err = s.query(ctx, q+` GROUP BY agent_id, state`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: agent states report: %w", err)
	}
	for rs.Next() {
		var (
			id, tenant, state string
			d                 int64
		)
		if err := rs.Scan(&id, &tenant, &state, &d); err != nil {
			rs.Close()
			return nil, fmt.Errorf("store: agent states report: %w", err)
		}
		r := get(id, tenant)
		r.StateMS[state] = d
		if state != "signed_out" {
			r.LoggedMS += d
		}
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		return nil, err
	}
	rs.Close()

	users, err := s.Users(ctx, sc, "", "")
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.DisplayName
		if names[u.ID] == "" {
			names[u.ID] = u.Username
		}
	}
	out := make([]AgentRow, 0, len(rows))
	for id, r := range rows {
		r.Name = names[id]
		r.AvgTalkMS = avg(r.TalkMS, r.Calls)
		r.AvgHandleMS = avg(r.TalkMS+r.StateMS["wrap_up"], r.Calls)
		r.AvgRating = avg(ratingSums[id], r.Rated)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b AgentRow) int { return strings.Compare(a.AgentID, b.AgentID) })
	return out, nil
}

// SubScope narrows sc to tenant and its descendants; a tenant outside sc
// is not found (the caller must not learn it exists). An empty tenant
// returns sc.
func (s *DB) SubScope(ctx context.Context, sc Scope, tenant string) (Scope, error) {
	if tenant == "" {
		return sc, nil
	}
	if !sc.Contains(tenant) {
		return Scope{}, fmt.Errorf("store: tenant %q: %w", tenant, ErrNotFound)
	}
	sub, err := s.Scope(ctx, tenant)
	if err != nil {
		return Scope{}, err
	}
	if !sub.all || sc.all {
		return sub, nil
	}
	return sc, nil // cannot happen: a province is only in an all-scope
}

// ConcurrencyRow is one tenant's use of concurrent call resources in a
// period, the basis for charging each legal-person bank for its share
// (requirements §3: 法人级并发资源使用报表). Own counts its own calls
// (what its quota limits); Tree adds its sub-tenants' (a bank with its
// branches: peaks of overlapping calls, not a sum of the branches' peaks).
type ConcurrencyRow struct {
	TenantID, Name, Level, ParentID string
	// Quota is the tenant's simultaneous-call limit (0: none), its raise
	// not counted.
	Quota                 int
	Own, Tree             ConcurrencyUse
	OwnPeakAt, TreePeakAt time.Time
	OwnCalls, TreeCalls   int64 // connected calls that overlap the period
}

// ConcurrencyUse is a peak of connected calls and the call time.
type ConcurrencyUse struct {
	Peak int
	Talk time.Duration // connected time inside the period
}

// ConcurrencyReport has one row per tenant in sc: the most calls
// connected at once (answer to end; a call still going counts up to
// now) within the period, and the connected time, for the tenant alone
// and with its sub-tenants.
func (s *DB) ConcurrencyReport(ctx context.Context, sc Scope, f ReportFilter) ([]ConcurrencyRow, error) {
	ts, err := s.Tenants(ctx, sc)
	if err != nil {
		return nil, err
	}
	cond, args := sc.cond("tenant_id")
	q := `SELECT tenant_id, status, answered_at, ended_at, talk_ms FROM service_records WHERE ` + cond + ` AND answered_at<>0`
	if !f.To.IsZero() {
		q += ` AND answered_at<?`
		args = append(args, ms(f.To))
	}
	if !f.From.IsZero() {
		q += ` AND (ended_at=0 OR ended_at>?)`
		args = append(args, ms(f.From))
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: concurrency report: %w", err)
	}
	defer rows.Close()
	type span struct{ from, to int64 }
	own := map[string][]span{}
	now := ms(s.now())
	for rows.Next() {
		var (
			tn, status     string
			from, to, talk int64
		)
		if err := rows.Scan(&tn, &status, &from, &to, &talk); err != nil {
			return nil, fmt.Errorf("store: concurrency report: %w", err)
		}
		switch {
		case to == 0 && status == "in_call":
			to = now // still connected
		case to == 0:
			to = from + talk // ended without an end time: its talk time
		}
		to = min(to, now)
		if !f.From.IsZero() {
			from = max(from, ms(f.From))
		}
		if !f.To.IsZero() {
			to = min(to, ms(f.To))
		}
		if to > from {
			own[tn] = append(own[tn], span{from, to})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// peak sweeps the spans: ends before starts at the same instant, so a
	// call that ends as another is answered is not counted twice.
	peak := func(sp []span) (ConcurrencyUse, time.Time) {
		type ev struct {
			at int64
			d  int
		}
		evs := make([]ev, 0, 2*len(sp))
		var talk int64
		for _, x := range sp {
			evs = append(evs, ev{x.from, 1}, ev{x.to, -1})
			talk += x.to - x.from
		}
		slices.SortFunc(evs, func(a, b ev) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.d, b.d)) })
		n, best, at := 0, 0, int64(0)
		for _, e := range evs {
			if n += e.d; n > best {
				best, at = n, e.at
			}
		}
		u := ConcurrencyUse{Peak: best, Talk: time.Duration(talk) * time.Millisecond}
		if best == 0 {
			return u, time.Time{}
		}
		return u, fromMS(at)
	}
	parent := map[string]string{}
	for _, t := range ts {
		parent[t.ID] = t.ParentID
	}
	tree := map[string][]span{}
	for tn, sp := range own {
		// Up the tree while the tenant is in scope (cycles cannot happen:
		// a tenant's parent is fixed at creation).
		for id, hops := tn, 0; id != "" && hops < 64; id, hops = parent[id], hops+1 {
			if _, ok := parent[id]; !ok {
				break
			}
			tree[id] = append(tree[id], sp...)
		}
	}
	out := make([]ConcurrencyRow, 0, len(ts))
	for _, t := range ts {
		r := ConcurrencyRow{TenantID: t.ID, Name: t.Name, Level: t.Level, ParentID: t.ParentID, Quota: t.Settings.Quotas.MaxCalls,
			OwnCalls: int64(len(own[t.ID])), TreeCalls: int64(len(tree[t.ID]))}
		r.Own, r.OwnPeakAt = peak(own[t.ID])
		r.Tree, r.TreePeakAt = peak(tree[t.ID])
		out = append(out, r)
	}
	return out, nil
}
