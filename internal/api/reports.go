package api

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/qc"
)

// Reports (§4.3.3), business templates, user skills and the audit viewer's
// query: the routes the web console's reports and administration pages use.

type userEditReq struct {
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
}

type skillsReq struct {
	Skills map[string]int `json:"skills"`
}

type templateReq struct {
	Layout    string                  `json:"layout"`
	Watermark store.TemplateWatermark `json:"watermark"`
	Analyzers []string                `json:"analyzers"`
	QCPolicy  string                  `json:"qc_policy"`
}

func (s *Server) reportRoutes() []route {
	return []route{
		{Method: "GET", Path: "/api/v1/reports/{kind}", Perm: auth.PermReportRead, Summary: "Report in scope: business, agents, queues, branches or concurrency (from, to: RFC 3339; tenant: that tenant and its sub-tenants; by=day for business and queues, in tz, default Asia/Shanghai)", h: s.report},
		{Method: "GET", Path: "/api/v1/reports/{kind}/xlsx", Perm: auth.PermReportRead, Summary: "The same report as an Excel workbook (lang=zh|en for the headers); audited", h: s.reportXLSX},
		{Method: "GET", Path: "/api/v1/templates/catalog", Perm: auth.PermTenantRead, Summary: "Layouts, analyzers and watermark positions business templates may name", h: s.templateCatalog},
		{Method: "GET", Path: "/api/v1/tenants/{id}/templates", Perm: auth.PermTenantRead, Summary: "A tenant's business templates", h: s.listTemplates},
		{Method: "PUT", Path: "/api/v1/tenants/{id}/templates/{business}", Perm: auth.PermTenantWrite, Summary: "Create or replace a business template (layout, watermark, analyzers, QC policy YAML), validated", Body: templateReq{}, h: s.putTemplate},
		{Method: "DELETE", Path: "/api/v1/tenants/{id}/templates/{business}", Perm: auth.PermTenantWrite, Summary: "Delete a business template", h: s.deleteTemplate},
		{Method: "PUT", Path: "/api/v1/users/{id}", Perm: auth.PermUserWrite, Summary: "Change a user's display name and role (roles the caller may grant; not one's own role)", Body: userEditReq{}, h: s.putUser},
		{Method: "PUT", Path: "/api/v1/users/{id}/skills", Perm: auth.PermUserWrite, Summary: "Replace a user's skills (skill group -> proficiency 1..10); effective at the agent's next sign-in", Body: skillsReq{}, h: s.putSkills},
	}
}

// reportKinds are the reports by path name.
var reportKinds = []string{"business", "agents", "queues", "branches", "concurrency"}

// column is one report column: its JSON key and its zh/en titles.
type column struct {
	Key string `json:"key"`
	ZH  string `json:"zh"`
	EN  string `json:"en"`
}

// reportTable is a report as the API returns it: columns in order and rows
// keyed by column. The workbook is written from the same table, so the two
// cannot disagree.
type reportTable struct {
	Kind    string           `json:"kind"`
	From    *time.Time       `json:"from,omitempty"`
	To      *time.Time       `json:"to,omitempty"`
	Tenant  string           `json:"tenant,omitempty"`
	By      string           `json:"by,omitempty"`
	Columns []column         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

// agentStates are the state columns of the agent report, in display order.
var agentStates = []string{"idle", "busy", "break", "meeting", "meal", "paused", "wrap_up", "signed_in"}

var stateTitles = map[string][2]string{
	"idle": {"空闲", "idle"}, "busy": {"忙碌", "busy"}, "break": {"小休", "break"}, "meeting": {"会议", "meeting"},
	"meal": {"用餐", "meal"}, "paused": {"暂停", "paused"}, "wrap_up": {"话后处理", "wrap-up"}, "signed_in": {"签入未就绪", "signed in"},
}

func (s *Server) buildReport(r *http.Request, c *caller) (reportTable, error) {
	kind := r.PathValue("kind")
	if !slices.Contains(reportKinds, kind) {
		return reportTable{}, fmt.Errorf("report %q: %w (want one of %s)", kind, store.ErrNotFound, strings.Join(reportKinds, ", "))
	}
	q := r.URL.Query()
	var f store.ReportFilter
	var err error
	for _, p := range []struct {
		k string
		t *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.k); v != "" {
			if *p.t, err = time.Parse(time.RFC3339, v); err != nil {
				return reportTable{}, fmt.Errorf("%w: %s: want RFC 3339", errBadRequest, p.k)
			}
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return reportTable{}, fmt.Errorf("%w: to must be after from", errBadRequest)
	}
	switch q.Get("by") {
	case "":
	case "day":
		if kind != "business" && kind != "queues" {
			return reportTable{}, fmt.Errorf("%w: by=day: only the business and queue reports", errBadRequest)
		}
		f.ByDay = true
	default:
		return reportTable{}, fmt.Errorf("%w: by: want day or nothing", errBadRequest)
	}
	if z := q.Get("tz"); z != "" {
		if f.Zone, err = time.LoadLocation(z); err != nil {
			return reportTable{}, fmt.Errorf("%w: tz %q: %v", errBadRequest, z, err)
		}
	}
	sc, err := s.db.SubScope(r.Context(), c.scope, q.Get("tenant"))
	if err != nil {
		return reportTable{}, err
	}
	t := reportTable{Kind: kind, Tenant: q.Get("tenant"), By: q.Get("by")}
	if !f.From.IsZero() {
		t.From = &f.From
	}
	if !f.To.IsZero() {
		t.To = &f.To
	}
	ctx := r.Context()
	sec := func(ms float64) float64 { return float64(int64(ms/100+0.5)) / 10 } // ms -> s, one decimal
	pct := func(x float64) float64 { return float64(int64(x*1000+0.5)) / 10 }  // ratio -> percent, one decimal
	names := map[string]string{}
	if ts, err := s.db.Tenants(ctx, sc); err == nil {
		for _, x := range ts {
			names[x.ID] = x.Name
		}
	}
	live := s.liveCounts(sc)
	liveCols := []column{{"waiting_now", "当前排队", "Waiting now"}, {"agents_now", "当前签入坐席", "Agents signed in now"},
		{"idle_now", "当前空闲坐席", "Agents idle now"}, {"in_call_now", "当前通话坐席", "Agents in call now"}, {"wrap_up_now", "当前话后坐席", "Agents in wrap-up now"}}
	addLive := func(row map[string]any, l *liveCount) {
		if l == nil {
			l = &liveCount{}
		}
		row["waiting_now"], row["agents_now"], row["idle_now"], row["in_call_now"], row["wrap_up_now"] = l.Waiting, l.Agents, l.Idle, l.InCall, l.WrapUp
	}
	dayCol := []column{}
	if f.ByDay {
		dayCol = []column{{"day", "日期", "Day"}}
	}
	switch kind {
	case "business":
		rows, err := s.db.BusinessReport(ctx, sc, f)
		if err != nil {
			return t, err
		}
		t.Columns = append(dayCol, []column{{"business", "业务类型", "Business"}, {"channel", "进线渠道", "Channel"}, {"calls", "进线量", "Calls"},
			{"answered", "接听量", "Answered"}, {"answer_rate", "接通率(%)", "Answer rate (%)"}, {"abandoned", "排队取消量", "Abandoned in queue"},
			{"abandon_rate", "排队取消率(%)", "Abandon rate (%)"}, {"missed", "呼损量", "Missed"}, {"missed_rate", "呼损率(%)", "Missed rate (%)"},
			{"avg_wait_s", "平均等待(秒)", "Avg wait (s)"}, {"avg_talk_s", "平均通话(秒)", "Avg talk (s)"},
			{"qc_checked", "质检数", "QC checked"}, {"qc_pass_rate", "质检通过率(%)", "QC pass rate (%)"}}...)
		for _, x := range rows {
			row := map[string]any{"business": x.Business, "channel": x.Channel, "calls": x.Calls, "answered": x.Answered, "answer_rate": pct(x.AnswerRate),
				"abandoned": x.Abandoned, "abandon_rate": pct(x.AbandonRate), "missed": x.Missed, "missed_rate": pct(x.MissedRate),
				"avg_wait_s": sec(x.AvgWaitMS), "avg_talk_s": sec(x.AvgTalkMS), "qc_checked": x.QCChecked, "qc_pass_rate": pct(x.QCPassRate)}
			if f.ByDay {
				row["day"] = x.Day
			}
			t.Rows = append(t.Rows, row)
		}
	case "queues":
		rows, err := s.db.QueueReport(ctx, sc, f)
		if err != nil {
			return t, err
		}
		t.Columns = append(dayCol, []column{{"tenant_id", "机构编号", "Tenant"}, {"tenant_name", "营业厅名称", "Branch"}, {"queue", "队列", "Queue"},
			{"offered", "进线量", "Offered"}, {"answered", "接听量", "Answered"}, {"abandoned", "排队取消", "Abandoned"}, {"timeout", "超时", "Timed out"},
			{"avg_wait_s", "平均等待(秒)", "Avg wait (s)"}, {"max_wait_s", "最长等待(秒)", "Max wait (s)"}, {"answer_rate", "接通率(%)", "Answer rate (%)"}}...)
		if !f.ByDay {
			t.Columns = append(t.Columns, liveCols...)
		}
		seen := map[[2]string]bool{}
		for _, x := range rows {
			row := map[string]any{"tenant_id": x.TenantID, "tenant_name": names[x.TenantID], "queue": x.Queue, "offered": x.Offered, "answered": x.Answered,
				"abandoned": x.Abandoned, "timeout": x.Timeout, "avg_wait_s": sec(x.AvgWaitMS), "max_wait_s": sec(float64(x.MaxWaitMS)), "answer_rate": pct(x.AnswerRate)}
			if f.ByDay {
				row["day"] = x.Day
			} else {
				k := [2]string{x.TenantID, x.Queue}
				seen[k] = true
				addLive(row, live.queue[k])
			}
			t.Rows = append(t.Rows, row)
		}
		if !f.ByDay {
			// Queues busy now without calls in the period still show.
			for _, k := range live.queueKeys() {
				if !seen[k] {
					row := map[string]any{"tenant_id": k[0], "tenant_name": names[k[0]], "queue": k[1], "offered": 0, "answered": 0, "abandoned": 0, "timeout": 0,
						"avg_wait_s": 0.0, "max_wait_s": 0.0, "answer_rate": 0.0}
					addLive(row, live.queue[k])
					t.Rows = append(t.Rows, row)
				}
			}
		}
	case "branches":
		rows, err := s.db.BranchReport(ctx, sc, f)
		if err != nil {
			return t, err
		}
		t.Columns = append([]column{{"tenant_id", "机构编号", "Tenant"}, {"name", "营业厅名称", "Name"}, {"level", "层级", "Level"},
			{"parent_id", "上级机构", "Parent"}, {"calls", "进线量", "Calls"}, {"answered", "接听量", "Answered"}, {"answer_rate", "接通率(%)", "Answer rate (%)"},
			{"missed", "呼损量", "Missed"}, {"avg_wait_s", "平均等待(秒)", "Avg wait (s)"}, {"avg_talk_s", "平均通话(秒)", "Avg talk (s)"},
			{"qc_pass_rate", "质检通过率(%)", "QC pass rate (%)"}, {"avg_rating", "平均评价", "Avg rating"}}, liveCols...)
		for _, x := range rows {
			row := map[string]any{"tenant_id": x.TenantID, "name": x.Name, "level": x.Level, "parent_id": x.ParentID,
				"calls": x.Calls, "answered": x.Answered, "answer_rate": pct(ratioOf(x.Answered, x.Calls)), "missed": x.Missed,
				"avg_wait_s": sec(x.AvgWaitMS), "avg_talk_s": sec(x.AvgTalkMS), "qc_pass_rate": pct(x.QCPassRate), "avg_rating": x.AvgRating}
			addLive(row, live.tenant[x.TenantID])
			t.Rows = append(t.Rows, row)
		}
	case "agents":
		rows, err := s.db.AgentReport(ctx, sc, f)
		if err != nil {
			return t, err
		}
		t.Columns = []column{{"agent_id", "坐席工号", "Agent"}, {"name", "坐席名称", "Name"}, {"tenant_id", "营业厅", "Branch"},
			{"calls", "接听量", "Calls"}, {"talk_s", "总通话时长(秒)", "Talk total (s)"}, {"avg_talk_s", "平均通话(秒)", "Avg talk (s)"},
			{"avg_handle_s", "平均业务办理(秒)", "Avg handle (s)"}, {"logged_s", "总签入时长(秒)", "Signed in total (s)"},
			{"idle_rate", "空闲率(%)", "Idle rate (%)"}, {"talk_rate", "通话率(%)", "Talk rate (%)"},
			{"rated", "成功评价数", "Rated"}, {"unrated", "未评价数", "Not rated"}, {"avg_rating", "平均评价", "Avg rating"},
			{"rating_5", "非常满意", "Very satisfied"}, {"rating_4", "满意", "Satisfied"}, {"rating_3", "一般", "Neutral"},
			{"rating_2", "不满意", "Dissatisfied"}, {"rating_1", "非常不满意", "Very dissatisfied"}}
		for _, st := range agentStates {
			t.Columns = append(t.Columns, column{"state_" + st + "_s", stateTitles[st][0] + "(秒)", "In " + stateTitles[st][1] + " (s)"})
		}
		for _, x := range rows {
			row := map[string]any{"agent_id": x.AgentID, "name": x.Name, "tenant_id": x.TenantID, "calls": x.Calls, "talk_s": sec(float64(x.TalkMS)),
				"avg_talk_s": sec(x.AvgTalkMS), "avg_handle_s": sec(x.AvgHandleMS), "logged_s": sec(float64(x.LoggedMS)),
				"idle_rate": pct(ratioOf(x.StateMS["idle"], x.LoggedMS)), "talk_rate": pct(ratioOf(x.TalkMS, x.LoggedMS)),
				"rated": x.Rated, "unrated": x.Calls - x.Rated, "avg_rating": x.AvgRating}
			for n := 1; n <= 5; n++ {
				row["rating_"+strconv.Itoa(n)] = x.Ratings[n]
			}
			for _, st := range agentStates {
				row["state_"+st+"_s"] = sec(float64(x.StateMS[st]))
			}
			t.Rows = append(t.Rows, row)
		}
	case "concurrency":
		rows, err := s.db.ConcurrencyReport(ctx, sc, f)
		if err != nil {
			return t, err
		}
		zone := f.Location()
		at := func(x time.Time) string {
			if x.IsZero() {
				return ""
			}
			return x.In(zone).Format("2006-01-02 15:04:05")
		}
		t.Columns = []column{{"tenant_id", "机构编号", "Tenant"}, {"name", "机构名称", "Name"}, {"level", "层级", "Level"}, {"parent_id", "上级机构", "Parent"},
			{"quota", "并发配额", "Call quota"}, {"peak", "本机构峰值并发", "Peak concurrent calls"}, {"peak_at", "峰值时间", "Peak at"},
			{"peak_pct", "峰值占配额(%)", "Peak of quota (%)"}, {"calls", "本机构通话数", "Calls"}, {"talk_min", "本机构通话时长(分)", "Call time (min)"},
			{"tree_peak", "含下级峰值并发", "Peak incl. sub-tenants"}, {"tree_peak_at", "含下级峰值时间", "Peak incl. sub-tenants at"},
			{"tree_calls", "含下级通话数", "Calls incl. sub-tenants"}, {"tree_talk_min", "含下级通话时长(分)", "Call time incl. sub-tenants (min)"}}
		mins := func(d time.Duration) float64 { return float64(int64(d.Minutes()*10+0.5)) / 10 }
		for _, x := range rows {
			row := map[string]any{"tenant_id": x.TenantID, "name": x.Name, "level": x.Level, "parent_id": x.ParentID, "quota": x.Quota,
				"peak": x.Own.Peak, "peak_at": at(x.OwnPeakAt), "peak_pct": 0.0, "calls": x.OwnCalls, "talk_min": mins(x.Own.Talk),
				"tree_peak": x.Tree.Peak, "tree_peak_at": at(x.TreePeakAt), "tree_calls": x.TreeCalls, "tree_talk_min": mins(x.Tree.Talk)}
			if x.Quota > 0 {
				row["peak_pct"] = pct(float64(x.Own.Peak) / float64(x.Quota))
			}
			t.Rows = append(t.Rows, row)
		}
	}
	if t.Rows == nil {
		t.Rows = []map[string]any{}
	}
	return t, nil
}

// ratioOf is n/d (0 when d is 0).
func ratioOf(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// liveCount is what is happening now in a queue or tenant.
type liveCount struct{ Waiting, Agents, Idle, InCall, WrapUp int }

type liveCounts struct {
	queue  map[[2]string]*liveCount // (tenant, queue)
	tenant map[string]*liveCount
}

func (l liveCounts) queueKeys() [][2]string {
	var ks [][2]string
	for k := range l.queue {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b [2]string) int { return slices.Compare(a[:], b[:]) })
	return ks
}

// liveCounts counts the engine's waiting customers and signed-in agents
// (by state) per queue and per tenant in sc: the live columns of the
// queue and branch reports.
func (s *Server) liveCounts(sc store.Scope) liveCounts {
	l := liveCounts{queue: map[[2]string]*liveCount{}, tenant: map[string]*liveCount{}}
	get := func(tenant, queue string) (*liveCount, *liveCount) {
		if l.tenant[tenant] == nil {
			l.tenant[tenant] = &liveCount{}
		}
		k := [2]string{tenant, queue}
		if queue != "" && l.queue[k] == nil {
			l.queue[k] = &liveCount{}
		}
		return l.tenant[tenant], l.queue[k]
	}
	if s.eng == nil {
		return l
	}
	for _, tk := range s.eng.Tickets(sc.Contains) {
		if tk.State == console.TicketWaiting {
			tn, q := get(tk.TenantID, tk.Queue)
			tn.Waiting++
			q.Waiting++
		}
	}
	for _, a := range s.eng.Agents(sc.Contains) {
		if a.State == console.StateSignedOut {
			continue
		}
		tn, _ := get(a.TenantID, "")
		add := func(c *liveCount) {
			c.Agents++
			switch a.State {
			case console.StateIdle:
				c.Idle++
			case console.StateInCall, console.StateRinging:
				c.InCall++
			case console.StateWrapUp:
				c.WrapUp++
			}
		}
		add(tn)
		for _, qn := range a.Queues {
			_, q := get(a.TenantID, qn)
			add(q)
		}
	}
	return l
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.buildReport(r, c)
	s.audit(r.Context(), c, c.user.TenantID, "report.view", r.PathValue("kind"), nil, map[string]any{"query": r.URL.RawQuery, "rows": len(t.Rows)}, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, t)
	return nil
}

// sheetNames are the workbook's sheet names by report and language.
var sheetNames = map[string][2]string{
	"business": {"业务报表", "Business"}, "agents": {"坐席绩效", "Agents"}, "queues": {"队列报表", "Queues"}, "branches": {"网点报表", "Branches"},
	"concurrency": {"并发资源报表", "Concurrency"},
}

func (s *Server) reportXLSX(w http.ResponseWriter, r *http.Request, c *caller) error {
	lang := r.URL.Query().Get("lang")
	if lang == "" {
		lang = "zh"
	}
	if lang != "zh" && lang != "en" {
		return fmt.Errorf("%w: lang: want zh or en", errBadRequest)
	}
	t, err := s.buildReport(r, c)
	var data []byte
	if err == nil {
		data, err = reportWorkbook(t, lang, c.user.Username, s.opts.Now())
	}
	s.audit(r.Context(), c, c.user.TenantID, "report.export", t.Kind, nil, map[string]any{"query": r.URL.RawQuery, "rows": len(t.Rows), "bytes": len(data)}, err)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("witness-%s-%s.xlsx", t.Kind, s.opts.Now().UTC().Format("20060102-150405"))
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(200)
	_, _ = w.Write(data)
	return nil
}

// reportWorkbook writes the table on its sheet (row 1 headers, one row per
// table row, numbers as numbers) and a second sheet with the conditions.
func reportWorkbook(t reportTable, lang, user string, now time.Time) ([]byte, error) {
	li := 0
	if lang == "en" {
		li = 1
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := sheetNames[t.Kind][li]
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	for i, col := range t.Columns {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		title := col.ZH
		if li == 1 {
			title = col.EN
		}
		if err := f.SetCellValue(sheet, cell, title); err != nil {
			return nil, err
		}
	}
	for r, row := range t.Rows {
		for i, col := range t.Columns {
			cell, _ := excelize.CoordinatesToCellName(i+1, r+2)
			if err := f.SetCellValue(sheet, cell, row[col.Key]); err != nil {
				return nil, err
			}
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	info := [2]string{"条件", "Conditions"}[li]
	if _, err := f.NewSheet(info); err != nil {
		return nil, err
	}
	ts := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.UTC().Format(time.RFC3339)
	}
	for i, kv := range [][2]string{{[2]string{"报表", "Report"}[li], t.Kind}, {[2]string{"开始", "From"}[li], ts(t.From)},
		{[2]string{"结束", "To"}[li], ts(t.To)}, {[2]string{"机构", "Tenant"}[li], t.Tenant},
		{[2]string{"导出人", "Exported by"}[li], user}, {[2]string{"导出时间", "Exported at"}[li], now.UTC().Format(time.RFC3339)}} {
		_ = f.SetCellValue(info, fmt.Sprintf("A%d", i+1), kv[0])
		_ = f.SetCellValue(info, fmt.Sprintf("B%d", i+1), kv[1])
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Template catalogue: what templates may name. The platform binary
// registers the built-in mixer layouts and the registered analyzers
// (cmd/witness); a process that registered nothing accepts no layout, so
// a template can never name something this build cannot run.
var (
	catalogMu        sync.RWMutex
	catalogLayouts   []string
	catalogAnalyzers []string
)

// SetTemplateCatalog registers the layout and analyzer names business
// templates may use.
func SetTemplateCatalog(layouts, analyzers []string) {
	catalogMu.Lock()
	defer catalogMu.Unlock()
	catalogLayouts, catalogAnalyzers = slices.Sorted(slices.Values(layouts)), slices.Sorted(slices.Values(analyzers))
}

func templateCatalog() (layouts, analyzers []string) {
	catalogMu.RLock()
	defer catalogMu.RUnlock()
	return nonNil(slices.Clone(catalogLayouts)), nonNil(slices.Clone(catalogAnalyzers))
}

var watermarkPositions = []string{"top-left", "top-right", "bottom-left", "bottom-right"}

// businessCode is what a business code may look like (it appears in paths
// and routes).
var businessCode = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (s *Server) templateCatalog(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	l, a := templateCatalog()
	writeJSON(w, 200, map[string]any{"layouts": l, "analyzers": a, "positions": watermarkPositions})
	return nil
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if _, err := s.db.Tenant(r.Context(), c.scope, id); err != nil {
		return err
	}
	ts, err := s.db.Templates(r.Context(), c.scope, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"templates": nonNil(ts)})
	return nil
}

// validTemplate checks every name against the catalogue and the QC policy
// with the QC checker's own strict parser.
func validTemplate(req templateReq) error {
	layouts, analyzers := templateCatalog()
	var errs []string
	if !slices.Contains(layouts, req.Layout) {
		errs = append(errs, fmt.Sprintf("layout %q unknown (known: %s)", req.Layout, strings.Join(layouts, ", ")))
	}
	seen := map[string]bool{}
	for _, a := range req.Analyzers {
		if !slices.Contains(analyzers, a) {
			errs = append(errs, fmt.Sprintf("analyzer %q unknown (known: %s)", a, strings.Join(analyzers, ", ")))
		}
		if seen[a] {
			errs = append(errs, fmt.Sprintf("analyzer %q listed twice", a))
		}
		seen[a] = true
	}
	wm := req.Watermark
	if wm.Text != "" || wm.Timestamp {
		if !slices.Contains(watermarkPositions, wm.Position) {
			errs = append(errs, fmt.Sprintf("watermark position %q (want one of %s)", wm.Position, strings.Join(watermarkPositions, ", ")))
		}
	} else if wm.Position != "" {
		errs = append(errs, "watermark position without text or timestamp")
	}
	if len([]rune(wm.Text)) > 200 {
		errs = append(errs, "watermark text longer than 200 characters")
	}
	if wm.Opacity < 0 || wm.Opacity > 1 {
		errs = append(errs, fmt.Sprintf("watermark opacity %v: want 0..1", wm.Opacity))
	}
	if wm.FontSize < 0 || wm.FontSize > 200 {
		errs = append(errs, fmt.Sprintf("watermark font size %d: want 0..200", wm.FontSize))
	}
	if len(req.QCPolicy) > 64<<10 {
		errs = append(errs, "QC policy larger than 64 KiB")
	} else if strings.TrimSpace(req.QCPolicy) != "" {
		if _, err := qc.ParsePolicy([]byte(req.QCPolicy)); err != nil {
			errs = append(errs, "QC policy: "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: template: %s", errBadRequest, strings.Join(errs, "; "))
	}
	return nil
}

func (s *Server) putTemplate(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req templateReq
	if err := decode(r, &req); err != nil {
		return err
	}
	id, business := r.PathValue("id"), r.PathValue("business")
	if _, err := s.db.Tenant(r.Context(), c.scope, id); err != nil {
		return err
	}
	if !businessCode.MatchString(business) {
		return fmt.Errorf("%w: business code %q: letters, digits, . _ - (1..64)", errBadRequest, business)
	}
	if err := validTemplate(req); err != nil {
		return err
	}
	before, _ := s.db.Template(r.Context(), c.scope, id, business)
	t := store.BusinessTemplate{TenantID: id, Business: business, Layout: req.Layout, Watermark: req.Watermark,
		Analyzers: nonNil(req.Analyzers), QCPolicy: req.QCPolicy, UpdatedBy: c.user.ID}
	err := s.db.PutTemplate(r.Context(), c.scope, t)
	s.audit(r.Context(), c, id, "template.put", id+"/"+business, before, req, err)
	if err != nil {
		return err
	}
	t, err = s.db.Template(r.Context(), c.scope, id, business)
	if err != nil {
		return err
	}
	writeJSON(w, 200, t)
	return nil
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, business := r.PathValue("id"), r.PathValue("business")
	before, err := s.db.Template(r.Context(), c.scope, id, business)
	if err != nil {
		return err
	}
	err = s.db.DeleteTemplate(r.Context(), c.scope, id, business)
	return s.auditedDone(w, r.Context(), c, id, "template.delete", id+"/"+business, before, nil, err)
}

func (s *Server) putUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req userEditReq
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := s.target(r, c)
	if err != nil {
		return err
	}
	if req.Role != u.Role {
		if u.ID == c.user.ID {
			return fmt.Errorf("%w: you cannot change your own role", errForbidden)
		}
		if !auth.MayGrant(c.user.Role, req.Role) {
			return fmt.Errorf("%w: %s may not make %q users", errForbidden, c.user.Role, req.Role)
		}
		if req.Role == auth.RoleProvinceAdmin {
			if t, err := s.db.Tenant(r.Context(), c.scope, u.TenantID); err != nil || t.Level != store.LevelProvince {
				return fmt.Errorf("%w: province admins belong to a province tenant", errForbidden)
			}
		}
	}
	if len([]rune(req.DisplayName)) > 100 {
		return fmt.Errorf("%w: display name longer than 100 characters", errBadRequest)
	}
	err = s.db.UpdateUser(r.Context(), c.scope, u.ID, store.UserUpdate{DisplayName: &req.DisplayName, Role: &req.Role})
	s.cache.dropUser(u.ID) // a new role applies to open sessions at once
	s.audit(r.Context(), c, u.TenantID, "user.update", u.ID, userEditReq{u.DisplayName, u.Role}, req, err)
	if err != nil {
		return err
	}
	u, err = s.db.User(r.Context(), c.scope, u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, 200, u)
	return nil
}

func (s *Server) putSkills(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req skillsReq
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := s.target(r, c)
	if err != nil {
		return err
	}
	for k, v := range req.Skills {
		if !businessCode.MatchString(k) || v < 1 || v > 10 {
			return fmt.Errorf("%w: skill %q: %d: want a code (letters, digits, . _ -) and proficiency 1..10", errBadRequest, k, v)
		}
	}
	if req.Skills == nil {
		req.Skills = map[string]int{}
	}
	err = s.db.UpdateUser(r.Context(), c.scope, u.ID, store.UserUpdate{Skills: req.Skills})
	s.cache.dropUser(u.ID)
	s.audit(r.Context(), c, u.TenantID, "user.skills", u.ID, map[string]any{"skills": u.Skills}, req, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, req)
	return nil
}

// listAuditQuery serves GET /api/v1/audit. With after= (and nothing else)
// it keeps the original oldest-first paging for tools that follow the
// chain; otherwise it is the viewer's query: newest first, before=, and
// filters tenant, actor, action (prefix), from, to.
func (s *Server) listAuditQuery(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	viewer := false
	for _, k := range []string{"before", "tenant", "actor", "action", "from", "to", "order"} {
		if q.Has(k) {
			viewer = true
		}
	}
	if !viewer {
		after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
		es, err := s.db.Audit(r.Context(), c.scope, after, limit)
		if err != nil {
			return err
		}
		writeJSON(w, 200, map[string]any{"entries": nonNil(es)})
		return nil
	}
	aq := store.AuditQuery{TenantID: q.Get("tenant"), Actor: q.Get("actor"), Action: q.Get("action"), Limit: limit}
	var err error
	if v := q.Get("before"); v != "" {
		if aq.Before, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%w: before", errBadRequest)
		}
	}
	for _, p := range []struct {
		k string
		t *time.Time
	}{{"from", &aq.From}, {"to", &aq.To}} {
		if v := q.Get(p.k); v != "" {
			if *p.t, err = time.Parse(time.RFC3339, v); err != nil {
				return fmt.Errorf("%w: %s: want RFC 3339", errBadRequest, p.k)
			}
		}
	}
	es, err := s.db.AuditPage(r.Context(), c.scope, aq)
	if err != nil {
		return err
	}
	lim := aq.Limit
	if lim <= 0 {
		lim = 50
	}
	next := int64(0) // 0: no further page
	if n := len(es); n > 0 && n == min(lim, 500) {
		next = es[n-1].Seq
	}
	writeJSON(w, 200, map[string]any{"entries": nonNil(es), "next_before": next})
	return nil
}
