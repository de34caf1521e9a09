package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/witness-media/witness/analyzers"
	_ "github.com/witness-media/witness/analyzers/light" // one real analyzer for the template catalogue
	"github.com/witness-media/witness/internal/api"
	"github.com/witness-media/witness/mixer"
)

type adminResult struct {
	scriptRun
	Exports []struct {
		Kind, File, Name, Query string
	} `json:"exports"`
}

// TestBrowserAdmin drives headless Chromium through e2e/admin.mjs against
// a real `witness serve`: keyboard sign-in with the forced password
// change; a sub-tenant, a queue with a route, a user, a skill and a
// business template made through the pages; the audit viewer showing
// those actions; each report charted, tabled and exported. The Go side
// checks the server state the pages produced and opens every saved
// workbook with excelize, comparing sheets, headers and cells with the
// JSON API for the same query, and the figures of the known calls.
func TestBrowserAdmin(t *testing.T) {
	needBrowser(t)
	// What `witness serve` registers (cmd/witness/serve_templates.go).
	api.SetTemplateCatalog(mixer.Builtins(), analyzers.Names())
	p := start(t)
	first := p.FirstAdminPassword()
	if first == "" {
		t.Fatal("no first admin password")
	}
	shots := shotDir(t)
	dl := t.TempDir()
	const newPW = "Witness-admin-2026"
	var res adminResult
	runScript(t, "admin.mjs", p.URL(), 4*time.Minute, []string{"ADMIN_PASSWORD=" + first, "NEW_PASSWORD=" + newPW, "SHOT_DIR=" + shots, "DL_DIR=" + dl}, &res)

	tok := adminLogin(t, p.URL(), "admin", newPW)
	get := func(path string, v any) { t.Helper(); getJSON(t, p.URL(), tok, path, v) }

	// What the pages did, as the server stored it.
	var tn struct {
		ParentID    string `json:"parent_id"`
		Name, Level string
		Settings    struct {
			Hours      struct{ Open string }
			Businesses []struct {
				Code, Name string
				Products   []string
			}
			Routing struct {
				Queues []struct{ Name string }
				Routes []struct{ Business, Queue string }
			}
		}
	}
	get("/api/v1/tenants/e2e-bank", &tn)
	if tn.ParentID != "province" || tn.Name != "E2E 银行总行" || tn.Level != "bank" || tn.Settings.Hours.Open != "00:00" {
		t.Errorf("sub-tenant %+v", tn)
	}
	if b := tn.Settings.Businesses; len(b) != 1 || b[0].Code != "open" || b[0].Name != "开户" || !reflect.DeepEqual(b[0].Products, []string{"储蓄卡"}) {
		t.Errorf("business catalogue %+v", b)
	}
	if q := tn.Settings.Routing; len(q.Queues) != 1 || q.Queues[0].Name != "e2eq" || len(q.Routes) != 1 || q.Routes[0].Queue != "e2eq" || q.Routes[0].Business != "open" {
		t.Errorf("queues and routes %+v", q)
	}
	var users struct {
		Users []struct {
			U      string `json:"username"`
			D      string `json:"display_name"`
			R      string `json:"role"`
			Skills map[string]int
		}
	}
	get("/api/v1/users?tenant=e2e-bank", &users)
	if len(users.Users) != 1 || users.Users[0].U != "e2e-agent" || users.Users[0].R != "agent" || users.Users[0].D != "E2E 坐席甲" || users.Users[0].Skills["open"] != 5 {
		t.Errorf("users of e2e-bank %+v", users.Users)
	}
	var tpls struct {
		Templates []struct {
			Business, Layout string
			Analyzers        []string
			Watermark        struct{ Text, Position string }
		}
	}
	get("/api/v1/tenants/e2e-bank/templates", &tpls)
	if len(tpls.Templates) != 1 || tpls.Templates[0].Layout != "side-by-side" || tpls.Templates[0].Watermark.Position != "top-right" ||
		!reflect.DeepEqual(tpls.Templates[0].Analyzers, []string{"light"}) {
		t.Errorf("templates %+v", tpls.Templates)
	}

	// Every report was exported; each workbook matches the JSON API.
	kinds := map[string]bool{}
	for _, x := range res.Exports {
		kinds[x.Kind] = true
		var js struct {
			Columns []struct{ Key, ZH, EN string }
			Rows    []map[string]any
		}
		get("/api/v1/reports/"+x.Kind+"?"+x.Query, &js)
		if !strings.HasPrefix(x.Name, "witness-"+x.Kind+"-") || !strings.HasSuffix(x.Name, ".xlsx") {
			t.Errorf("%s download named %q", x.Kind, x.Name)
		}
		f, err := excelize.OpenFile(x.File)
		if err != nil {
			t.Fatalf("%s: %v", x.File, err)
		}
		sheet := map[string]string{"business": "业务报表", "agents": "坐席绩效", "queues": "队列报表", "branches": "网点报表", "concurrency": "并发资源报表"}[x.Kind]
		if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{sheet, "条件"}) {
			t.Errorf("%s sheets %v", x.Kind, got)
		}
		rows, err := f.GetRows(sheet)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(js.Rows)+1 || len(js.Rows) == 0 {
			t.Fatalf("%s: %d sheet rows for %d JSON rows", x.Kind, len(rows), len(js.Rows))
		}
		byKey := map[string]map[string]string{} // first column -> key -> cell
		for i, c := range js.Columns {
			if rows[0][i] != c.ZH {
				t.Errorf("%s header %d %q, want %q", x.Kind, i, rows[0][i], c.ZH)
			}
			for r, row := range js.Rows {
				want, got := jsonCell(row[c.Key]), sheetCell(rows, r+1, i)
				if got != want {
					t.Errorf("%s row %d %s: cell %q, JSON %q", x.Kind, r+1, c.Key, got, want)
				}
				if byKey[rows[r+1][0]] == nil {
					byKey[rows[r+1][0]] = map[string]string{}
				}
				byKey[rows[r+1][0]][c.Key] = got
			}
		}
		// The known calls: in e2e-bank, business open, queue e2eq, one
		// answered and rated 5 by the customer, one abandoned.
		want := map[string]map[string]map[string]string{
			"business": {"open": {"calls": "2", "answered": "1", "missed": "1"}},
			"queues": {"e2e-bank": {"queue": "e2eq", "offered": "2", "answered": "1", "abandoned": "1", "timeout": "0", "answer_rate": "50",
				"agents_now": "1", "idle_now": "1", "waiting_now": "0"}},
			"branches": {"e2e-bank": {"calls": "2", "answered": "1", "missed": "1", "avg_rating": "5", "agents_now": "1"}, "province": {"calls": "0"}},
			"agents":   {"u-e2e-agent": {"calls": "1", "rated": "1", "avg_rating": "5", "rating_5": "1", "unrated": "0"}},
			// One connected call: the bank's peak, and the province's with
			// its sub-tenants.
			"concurrency": {"e2e-bank": {"peak": "1", "calls": "1", "tree_peak": "1"}, "province": {"peak": "0", "tree_peak": "1", "tree_calls": "1"}},
		}[x.Kind]
		for row, cells := range want {
			for k, v := range cells {
				if byKey[row][k] != v {
					t.Errorf("%s %s %s = %q, want %q (sheet %v)", x.Kind, row, k, byKey[row][k], v, byKey)
				}
			}
		}
	}
	if len(kinds) != 5 {
		t.Errorf("exports of %v, want all five reports", kinds)
	}
	// Exports are audited.
	var au struct {
		Entries []struct{ Action, Actor, Target string }
	}
	get("/api/v1/audit?action=report.export&limit=50", &au)
	if len(au.Entries) != 5 || au.Entries[0].Actor != "admin" {
		t.Errorf("report.export audit entries %+v", au.Entries)
	}

	checkShots(t, res.Screenshots, 18, shots)
}

func adminLogin(t *testing.T, base, user, pw string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	r, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var m struct{ Token string }
	_ = json.NewDecoder(r.Body).Decode(&m)
	if r.StatusCode != 200 || m.Token == "" {
		t.Fatalf("sign-in of %s: %d", user, r.StatusCode)
	}
	return m.Token
}
