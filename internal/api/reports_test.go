package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/witness-media/witness/internal/store"
)

var repDay = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// seedReportRecords writes records of known outcome in A and B on repDay.
func seedReportRecords(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	sys := store.System()
	at := func(h int) time.Time { return repDay.Add(time.Duration(h) * time.Hour) }
	for _, r := range []store.Record{
		{ID: "ra1", TenantID: "tenA", Channel: "h5", Business: "open", Queue: "qA", AgentID: "agent-A", Status: "ended", QueuedAt: at(9), AnsweredAt: at(9), WaitMS: 12000, TalkMS: 60000, QCVerdict: "pass", Rating: 5},
		{ID: "ra2", TenantID: "tenA", Channel: "h5", Business: "open", Queue: "qA", AgentID: "agent-A", Status: "ended", QueuedAt: at(10), AnsweredAt: at(10), WaitMS: 18000, TalkMS: 90000, QCVerdict: "warn", Rating: 4},
		{ID: "ra3", TenantID: "tenA", Channel: "h5", Business: "open", Queue: "qA", Status: "abandoned", QueuedAt: at(11), WaitMS: 45000},
		{ID: "ra4", TenantID: "tenA", Channel: "app", Business: "loan", Queue: "qA", Status: "timeout", QueuedAt: at(12), WaitMS: 60000},
		{ID: "rb1", TenantID: "tenB", Business: "openMARKB", Queue: "qMARKB", AgentID: "agent-B", Status: "ended", QueuedAt: at(9), AnsweredAt: at(9), WaitMS: 2222, TalkMS: 2222, QCVerdict: "pass", Rating: 1},
	} {
		must(t, e.db.PutRecord(ctx, sys, r))
	}
}

func dayQuery() string {
	return "from=" + url.QueryEscape(repDay.Format(time.RFC3339)) + "&to=" + url.QueryEscape(repDay.Add(24*time.Hour).Format(time.RFC3339))
}

type reportJSON struct {
	Kind    string
	Columns []column
	Rows    []map[string]any
}

func TestReportsAPI(t *testing.T) {
	e := newEnv(t)
	seedReportRecords(t, e)
	get := func(user, path string) reportJSON {
		t.Helper()
		code, body := e.as(user, "GET", path, nil)
		if code != 200 {
			t.Fatalf("%s %s: %d %s", user, path, code, body)
		}
		var r reportJSON
		must(t, json.Unmarshal(body, &r))
		return r
	}
	rows := func(r reportJSON) string { b, _ := json.Marshal(r.Rows); return string(b) }

	biz := get("tenant_admin-A", "/api/v1/reports/business?"+dayQuery())
	want := `[{"abandon_rate":0,"abandoned":0,"answer_rate":0,"answered":0,"avg_talk_s":0,"avg_wait_s":0,"business":"loan","calls":1,"channel":"app","missed":1,"missed_rate":100,"qc_checked":0,"qc_pass_rate":0},` +
		`{"abandon_rate":33.3,"abandoned":1,"answer_rate":66.7,"answered":2,"avg_talk_s":75,"avg_wait_s":15,"business":"open","calls":3,"channel":"h5","missed":1,"missed_rate":33.3,"qc_checked":2,"qc_pass_rate":50}]`
	if got := rows(biz); got != want {
		t.Errorf("business report:\n got %s\nwant %s", got, want)
	}
	// Live: agent-A signed in to qA (busy), one customer waiting there.
	if code, body := e.as("agent-A", "POST", "/api/v1/agent/sign-in", `{"queues":["qA"]}`); code != 200 {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	if code, body := e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenA","customer_id":"w1","channel":"h5","business":"open"}`); code != 200 && code != 201 {
		t.Fatalf("join: %d %s", code, body)
	}
	q := get("supervisor-A", "/api/v1/reports/queues?"+dayQuery())
	if got, want := rows(q), `[{"abandoned":1,"agents_now":1,"answer_rate":50,"answered":2,"avg_wait_s":15,"idle_now":0,"in_call_now":0,"max_wait_s":60,"offered":4,"queue":"qA","tenant_id":"tenA","tenant_name":"bank-alpha","timeout":1,"waiting_now":1,"wrap_up_now":0}]`; got != want {
		t.Errorf("queue report:\n got %s\nwant %s", got, want)
	}
	ag := get("auditor-A", "/api/v1/reports/agents?"+dayQuery())
	if len(ag.Rows) != 1 || ag.Rows[0]["agent_id"] != "agent-A" || ag.Rows[0]["calls"] != 2.0 || ag.Rows[0]["talk_s"] != 150.0 ||
		ag.Rows[0]["avg_rating"] != 4.5 || ag.Rows[0]["rated"] != 2.0 {
		t.Errorf("agent report: %s", rows(ag))
	}
	br := get("tenant_admin-A", "/api/v1/reports/branches?"+dayQuery())
	if len(br.Rows) != 1 || br.Rows[0]["tenant_id"] != "tenA" || br.Rows[0]["calls"] != 4.0 || br.Rows[0]["qc_pass_rate"] != 50.0 || br.Rows[0]["avg_rating"] != 4.5 ||
		br.Rows[0]["answer_rate"] != 50.0 || br.Rows[0]["waiting_now"] != 1.0 || br.Rows[0]["agents_now"] != 1.0 {
		t.Errorf("branch report: %s", rows(br))
	}
	// ra1 and ra2 (09:00 + 60 s, 10:00 + 90 s, no end time: their talk
	// time) never overlap: peak 1, first at 09:00 UTC = 17:00 in Shanghai.
	cc := get("tenant_admin-A", "/api/v1/reports/concurrency?"+dayQuery())
	if len(cc.Rows) != 1 || cc.Rows[0]["tenant_id"] != "tenA" || cc.Rows[0]["peak"] != 1.0 || cc.Rows[0]["peak_at"] != "2026-11-30 17:00:00" ||
		cc.Rows[0]["calls"] != 2.0 || cc.Rows[0]["talk_min"] != 2.5 || cc.Rows[0]["tree_peak"] != 1.0 {
		t.Errorf("concurrency report: %s", rows(cc))
	}
	if r := ag.Rows; len(r) != 1 || r[0]["rating_5"] != 1.0 || r[0]["rating_4"] != 1.0 || r[0]["rating_1"] != 0.0 || r[0]["unrated"] != 0.0 {
		t.Errorf("agent ratings: %s", rows(ag))
	}
	// By day, in a zone.
	bd := get("tenant_admin-A", "/api/v1/reports/business?by=day&tz=UTC&"+dayQuery())
	if bd.Columns[0].Key != "day" || len(bd.Rows) != 2 || bd.Rows[0]["day"] != "2026-11-30" || bd.Rows[1]["calls"] != 3.0 {
		t.Errorf("business by day: %s", rows(bd))
	}
	for _, bad := range []string{"/api/v1/reports/agents?by=day", "/api/v1/reports/business?by=week", "/api/v1/reports/business?by=day&tz=Mars/Base"} {
		if code, _ := e.as("tenant_admin-A", "GET", bad, nil); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	// Nothing of B in A's reports, filtered or not; B's tenant is not found.
	for _, kind := range reportKinds {
		for _, qs := range []string{dayQuery(), ""} {
			code, body := e.as("tenant_admin-A", "GET", "/api/v1/reports/"+kind+"?"+qs, nil)
			if code != 200 || strings.Contains(string(body), "MARKB") || strings.Contains(string(body), "2222") || strings.Contains(string(body), "agent-B") {
				t.Errorf("A's %s report: %d %s", kind, code, body)
			}
		}
		if code, _ := e.as("tenant_admin-A", "GET", "/api/v1/reports/"+kind+"?tenant=tenB", nil); code != 404 {
			t.Errorf("A asking for B's %s report: %d, want 404", kind, code)
		}
		if code, _ := e.as("agent-A", "GET", "/api/v1/reports/"+kind, nil); code != 403 {
			t.Errorf("agent reading the %s report: %d, want 403", kind, code)
		}
	}
	pb := get("padmin", "/api/v1/reports/business?tenant=tenB&"+dayQuery())
	if len(pb.Rows) != 1 || pb.Rows[0]["business"] != "openMARKB" {
		t.Errorf("province's report of B: %s", rows(pb))
	}
	for _, bad := range []string{"/api/v1/reports/nope", "/api/v1/reports/business?from=yesterday", "/api/v1/reports/business?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"} {
		if code, body := e.as("tenant_admin-A", "GET", bad, nil); code != 404 && code != 400 {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}

	// The workbook holds exactly the JSON table, in both languages.
	for _, kind := range reportKinds {
		for _, lang := range []string{"zh", "en"} {
			js := get("tenant_admin-A", "/api/v1/reports/"+kind+"?"+dayQuery())
			code, body := e.as("tenant_admin-A", "GET", "/api/v1/reports/"+kind+"/xlsx?lang="+lang+"&"+dayQuery(), nil)
			if code != 200 {
				t.Fatalf("xlsx %s: %d %s", kind, code, body)
			}
			checkWorkbook(t, body, js, lang)
		}
	}
	if code, _ := e.as("tenant_admin-A", "GET", "/api/v1/reports/business/xlsx?lang=fr", nil); code != 400 {
		t.Errorf("lang=fr: %d", code)
	}
	// Exports are audited with who and what.
	code, body := e.as("tenant_admin-A", "GET", "/api/v1/audit?action=report.export&limit=100", nil)
	var au struct{ Entries []store.AuditEntry }
	must(t, json.Unmarshal(body, &au))
	if code != 200 || len(au.Entries) != 2*len(reportKinds) || au.Entries[0].Actor != "tenant_admin-A" || !strings.Contains(string(au.Entries[0].After), "rows") {
		t.Errorf("export audit: %d %d entries %s", code, len(au.Entries), body)
	}
}

// checkWorkbook opens an exported workbook and compares it cell by cell
// with the report's JSON.
func checkWorkbook(t *testing.T, data []byte, js reportJSON, lang string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s workbook does not open: %v", js.Kind, err)
	}
	defer f.Close()
	li := map[string]int{"zh": 0, "en": 1}[lang]
	wantSheets := []string{sheetNames[js.Kind][li], [2]string{"条件", "Conditions"}[li]}
	if got := f.GetSheetList(); !reflect.DeepEqual(got, wantSheets) {
		t.Fatalf("%s sheets %v, want %v", js.Kind, got, wantSheets)
	}
	rows, err := f.GetRows(wantSheets[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(js.Rows)+1 {
		t.Fatalf("%s: %d sheet rows for %d report rows", js.Kind, len(rows), len(js.Rows))
	}
	for i, c := range js.Columns {
		title := map[string]string{"zh": c.ZH, "en": c.EN}[lang]
		if rows[0][i] != title {
			t.Errorf("%s header %d = %q, want %q", js.Kind, i, rows[0][i], title)
		}
		for r, row := range js.Rows {
			var want string
			switch v := row[c.Key].(type) {
			case float64:
				want = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				want = fmt.Sprint(v)
			}
			got := ""
			if i < len(rows[r+1]) {
				got = rows[r+1][i]
			}
			if got != want {
				t.Errorf("%s row %d %s = %q, want %q", js.Kind, r+1, c.Key, got, want)
			}
		}
	}
}

func TestTemplatesSkillsAuditAPI(t *testing.T) {
	e := newEnv(t)
	SetTemplateCatalog([]string{"side-by-side", "pip"}, []string{"face", "liveness"})
	t.Cleanup(func() { SetTemplateCatalog(nil, nil) })
	code, body := e.as("tenant_admin-A", "GET", "/api/v1/templates/catalog", nil)
	if code != 200 || !strings.Contains(string(body), `"layouts":["pip","side-by-side"]`) {
		t.Fatalf("catalog: %d %s", code, body)
	}
	good := `{"layout":"pip","watermark":{"text":"{tenant} 双录","position":"top-right","timestamp":true},"analyzers":["face"],"qc_policy":"require:\n  audio: true\n"}`
	if code, body := e.as("tenant_admin-A", "PUT", "/api/v1/tenants/tenA/templates/open", good); code != 200 {
		t.Fatalf("good template: %d %s", code, body)
	}
	if code, body := e.as("tenant_admin-A", "PUT", "/api/v1/tenants/tenA/templates/open", good); code != 200 {
		t.Fatalf("good template again: %d %s", code, body)
	}
	for body, want := range map[string]string{
		`{"layout":"mosaic"}`:                                                         `layout "mosaic" unknown`,
		`{"layout":"pip","analyzers":["ocr"]}`:                                        `analyzer "ocr" unknown`,
		`{"layout":"pip","analyzers":["face","face"]}`:                                `listed twice`,
		`{"layout":"pip","watermark":{"text":"x","position":"middle"}}`:               `watermark position "middle"`,
		`{"layout":"pip","watermark":{"text":"x","position":"top-left","opacity":2}}`: `opacity 2`,
		`{"layout":"pip","qc_policy":"require:\n  smell: true\n"}`:                    `QC policy`,
		`{"layout":"pip","colour":"red"}`:                                             `unknown field`,
	} {
		code, resp := e.as("tenant_admin-A", "PUT", "/api/v1/tenants/tenA/templates/open", body)
		var msg struct{ Error string }
		_ = json.Unmarshal(resp, &msg)
		if code != 400 || !strings.Contains(msg.Error, want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, code, resp, want)
		}
	}
	if code, _ := e.as("tenant_admin-A", "PUT", "/api/v1/tenants/tenA/templates/bad%20code", `{"layout":"pip"}`); code != 400 {
		t.Errorf("bad business code: %d", code)
	}
	code, body = e.as("supervisor-A", "GET", "/api/v1/tenants/tenA/templates", nil)
	var ts struct{ Templates []store.BusinessTemplate }
	must(t, json.Unmarshal(body, &ts))
	if code != 200 || len(ts.Templates) != 1 || ts.Templates[0].Layout != "pip" || ts.Templates[0].Watermark.Position != "top-right" || ts.Templates[0].UpdatedBy != "tenant_admin-A" {
		t.Fatalf("templates: %d %s", code, body)
	}
	if code, _ := e.as("supervisor-A", "PUT", "/api/v1/tenants/tenA/templates/open", good); code != 403 {
		t.Errorf("supervisor writing a template: %d", code)
	}
	if code, _ := e.as("tenant_admin-B", "GET", "/api/v1/tenants/tenA/templates", nil); code != 404 {
		t.Errorf("B reading A's templates: %d", code)
	}
	if code, _ := e.as("tenant_admin-A", "DELETE", "/api/v1/tenants/tenA/templates/open", nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := e.as("tenant_admin-A", "DELETE", "/api/v1/tenants/tenA/templates/open", nil); code != 404 {
		t.Errorf("delete twice: %d", code)
	}

	// Skills: replaced, validated, effective at the next sign-in.
	if code, body := e.as("tenant_admin-A", "PUT", "/api/v1/users/agent-A/skills", `{"skills":{"loan":7,"open":3}}`); code != 200 {
		t.Fatalf("skills: %d %s", code, body)
	}
	u, err := e.db.User(context.Background(), store.System(), "agent-A")
	if err != nil || !reflect.DeepEqual(u.Skills, map[string]int{"loan": 7, "open": 3}) {
		t.Fatalf("stored skills %v %v", u.Skills, err)
	}
	for _, bad := range []string{`{"skills":{"loan":0}}`, `{"skills":{"loan":11}}`, `{"skills":{"a b":1}}`} {
		if code, _ := e.as("tenant_admin-A", "PUT", "/api/v1/users/agent-A/skills", bad); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	e.as("agent-A", "POST", "/api/v1/agent/sign-in", `{"queues":["qA"]}`)
	if a, ok := e.eng.Agent("agent-A"); !ok || a.Skills["loan"] != 7 {
		t.Errorf("signed-in agent's skills %+v", a.Skills)
	}

	// Edit: display name and role, within what the caller may grant.
	if code, body := e.as("tenant_admin-A", "PUT", "/api/v1/users/agent-A", `{"display_name":"甲坐席","role":"supervisor"}`); code != 200 || !strings.Contains(string(body), `"role":"supervisor"`) {
		t.Fatalf("edit user: %d %s", code, body)
	}
	if code, _ := e.as("agent-A", "GET", "/api/v1/console/tickets", nil); code != 200 {
		t.Errorf("the new supervisor role does not apply to the open session: %d", code)
	}
	for body, want := range map[string]int{
		`{"display_name":"x","role":"province_admin"}`:  403, // a tenant admin cannot make province admins
		`{"display_name":"x","role":"wizard"}`:          403,
		`{"display_name":"x"}`:                          403, // role "" is not grantable
		`{"display_name":"x","role":"agent","extra":1}`: 400,
	} {
		if code, resp := e.as("tenant_admin-A", "PUT", "/api/v1/users/agent-A", body); code != want {
			t.Errorf("%s: %d %s, want %d", body, code, resp, want)
		}
	}
	if code, _ := e.as("tenant_admin-A", "PUT", "/api/v1/users/tenant_admin-A", `{"display_name":"me","role":"agent"}`); code != 403 {
		t.Errorf("changing one's own role: %d, want 403", code)
	}
	if code, _ := e.as("tenant_admin-A", "PUT", "/api/v1/users/tenant_admin-A", `{"display_name":"me","role":"tenant_admin"}`); code != 200 {
		t.Errorf("renaming oneself: %d, want 200", code)
	}

	// The audit viewer: newest first, filtered, paged, scoped.
	code, body = e.as("tenant_admin-A", "GET", "/api/v1/audit?action=template.&limit=2", nil)
	var page struct {
		Entries    []store.AuditEntry
		NextBefore int64 `json:"next_before"`
	}
	must(t, json.Unmarshal(body, &page))
	if code != 200 || len(page.Entries) != 2 || page.Entries[0].Action != "template.delete" || page.NextBefore != page.Entries[1].Seq {
		t.Fatalf("audit page 1: %d %s", code, body)
	}
	code, body = e.as("tenant_admin-A", "GET", fmt.Sprintf("/api/v1/audit?action=template.&limit=2&before=%d", page.NextBefore), nil)
	var page2 struct{ Entries []store.AuditEntry }
	must(t, json.Unmarshal(body, &page2))
	if code != 200 || len(page2.Entries) == 0 || page2.Entries[0].Seq >= page.NextBefore {
		t.Fatalf("audit page 2: %d %s", code, body)
	}
	code, body = e.as("tenant_admin-B", "GET", "/api/v1/audit?action=template.", nil)
	if code != 200 || strings.Contains(string(body), "tenA") {
		t.Errorf("B's audit view shows A: %s", body)
	}
	if code, _ := e.as("tenant_admin-A", "GET", "/api/v1/audit?from=nope", nil); code != 400 {
		t.Errorf("bad from: %d", code)
	}
}
