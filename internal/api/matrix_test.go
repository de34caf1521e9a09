package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/store"
)

// probe is how the matrix calls one route aiming at tenant B's objects.
type probe struct {
	path string // with B's ids substituted
	body string
}

// probes must cover every route (TestMatrixCoversEveryRoute): a new route
// without a probe fails the build of the matrix.
func probes(ticketB, apptB string) map[string]probe {
	return map[string]probe{
		"POST /api/v1/auth/login":                  {"/api/v1/auth/login", `{"username":"nobody","password":"wrong"}`},
		"POST /api/v1/auth/logout":                 {"/api/v1/auth/logout", ``},
		"GET /api/v1/me":                           {"/api/v1/me", ``},
		"POST /api/v1/me/password":                 {"/api/v1/me/password", `{"old":"x","new":"y"}`},
		"POST /api/v1/me/totp":                     {"/api/v1/me/totp", ``},
		"POST /api/v1/me/totp/confirm":             {"/api/v1/me/totp/confirm", `{"code":"000000","pending":"x"}`},
		"GET /api/v1/tenants":                      {"/api/v1/tenants", ``},
		"POST /api/v1/tenants":                     {"/api/v1/tenants", `{"id":"evil","parent_id":"tenB","name":"evil","level":"branch","whitelisted":true}`},
		"GET /api/v1/tenants/{id}":                 {"/api/v1/tenants/tenB", ``},
		"PUT /api/v1/tenants/{id}":                 {"/api/v1/tenants/tenB", `{"name":"hacked","whitelisted":false}`},
		"POST /api/v1/tenants/{id}/quota-raise":    {"/api/v1/tenants/tenB/quota-raise", `{"calls":99,"recordings":99,"until":"2099-01-01T00:00:00Z"}`},
		"PUT /api/v1/tenants/{id}/queues":          {"/api/v1/tenants/tenB/queues", `{"queues":[{"name":"x"}],"routes":[{"queue":"x"}]}`},
		"GET /api/v1/users":                        {"/api/v1/users?tenant=tenB", ``},
		"POST /api/v1/users":                       {"/api/v1/users", `{"tenant_id":"tenB","username":"evil-admin","role":"tenant_admin"}`},
		"GET /api/v1/users/{id}":                   {"/api/v1/users/agent-B", ``},
		"POST /api/v1/users/{id}/freeze":           {"/api/v1/users/agent-B/freeze", ``},
		"POST /api/v1/users/{id}/unfreeze":         {"/api/v1/users/agent-B/unfreeze", ``},
		"POST /api/v1/users/{id}/reset-password":   {"/api/v1/users/agent-B/reset-password", ``},
		"POST /api/v1/customers":                   {"/api/v1/customers", `{"id":"custB","tenant_id":"tenB","name":"hacked"}`},
		"GET /api/v1/customers/{id}":               {"/api/v1/customers/custB", ``},
		"POST /api/v1/queue/join":                  {"/api/v1/queue/join", `{"tenant_id":"tenB","customer_id":"walkin","channel":"app","business":"open","vip":true}`},
		"GET /api/v1/queue/tickets/{id}":           {"/api/v1/queue/tickets/" + ticketB, ``},
		"GET /api/v1/queue/tickets/{id}/events":    {"/api/v1/queue/tickets/" + ticketB + "/events", ``},
		"POST /api/v1/queue/tickets/{id}/rating":   {"/api/v1/queue/tickets/" + ticketB + "/rating", `{"rating":1}`},
		"POST /api/v1/records/{id}/items":          {"/api/v1/records/recB/items", `{"chat":[{"from":"x","text":"hacked"}]}`},
		"POST /api/v1/queue/tickets/{id}/leave":    {"/api/v1/queue/tickets/" + ticketB + "/leave", ``},
		"GET /api/v1/console/tickets":              {"/api/v1/console/tickets", ``},
		"POST /api/v1/console/tickets/{id}/assign": {"/api/v1/console/tickets/" + ticketB + "/assign", `{"agent_id":"agent-B"}`},
		"POST /api/v1/console/tickets/{id}/cut-in": {"/api/v1/console/tickets/" + ticketB + "/cut-in", ``},
		"GET /api/v1/console/agents":               {"/api/v1/console/agents", ``},
		"PUT /api/v1/console/agents/{id}/state":    {"/api/v1/console/agents/agent-B/state", `{"state":"paused"}`},
		"GET /api/v1/console/agents/{id}/history":  {"/api/v1/console/agents/agent-B/history", ``},
		"POST /api/v1/agent/sign-in":               {"/api/v1/agent/sign-in", `{"queues":["qB"]}`},
		"PUT /api/v1/agent/state":                  {"/api/v1/agent/state", `{"state":"idle"}`},
		"POST /api/v1/agent/answer":                {"/api/v1/agent/answer", `{"ticket_id":"` + ticketB + `"}`},
		"POST /api/v1/agent/decline":               {"/api/v1/agent/decline", `{"ticket_id":"` + ticketB + `"}`},
		"POST /api/v1/agent/end":                   {"/api/v1/agent/end", `{"ticket_id":"` + ticketB + `"}`},
		"GET /api/v1/agent/events":                 {"/api/v1/agent/events?window=150ms", ``},
		"GET /api/v1/console/events":               {"/api/v1/console/events?window=150ms", ``},
		"GET /api/v1/agent/pool":                   {"/api/v1/agent/pool", ``},
		"POST /api/v1/agent/grab":                  {"/api/v1/agent/grab", `{"ticket_id":"` + ticketB + `"}`},
		"POST /api/v1/appointments":                {"/api/v1/appointments", `{"tenant_id":"tenB","customer_id":"x","business":"open","at":"2099-01-01T02:00:00Z"}`},
		"GET /api/v1/appointments":                 {"/api/v1/appointments", ``},
		"DELETE /api/v1/appointments/{id}":         {"/api/v1/appointments/" + apptB, ``},
		"GET /api/v1/records":                      {"/api/v1/records?tenant=tenB", ``},
		"GET /api/v1/records/{id}":                 {"/api/v1/records/recB", ``},
		"PUT /api/v1/records/{id}/summary":         {"/api/v1/records/recB/summary", `{"summary":"hacked","rating":1}`},
		"GET /api/v1/audit":                        {"/api/v1/audit", ``},
		"POST /api/v1/jobs/qc":                     {"/api/v1/jobs/qc", `{"record_id":"recB","path":"/etc/passwd"}`},
		"GET /api/v1/jobs":                         {"/api/v1/jobs?subject=recB", ``},

		// Recordings (a block of its own, so gofmt's alignment of the
		// lines above does not change).
		"GET /api/v1/records/{id}/qc":                 {"/api/v1/records/recB/qc", ``},
		"GET /api/v1/records/{id}/events":             {"/api/v1/records/recB/events", ``},
		"POST /api/v1/records/{id}/files/{name}/link": {"/api/v1/records/recB/files/recB_001.mp4/link", `{"purpose":"download"}`},
		"GET /api/v1/records/{id}/files/{name}":       {"/api/v1/records/recB/files/recB_001.mp4", ``},
		// reports.go
		"GET /api/v1/reports/{kind}":                       {"/api/v1/reports/branches?tenant=tenB", ``},
		"GET /api/v1/reports/{kind}/xlsx":                  {"/api/v1/reports/branches/xlsx?tenant=tenB", ``},
		"GET /api/v1/templates/catalog":                    {"/api/v1/templates/catalog", ``},
		"GET /api/v1/tenants/{id}/templates":               {"/api/v1/tenants/tenB/templates", ``},
		"PUT /api/v1/tenants/{id}/templates/{business}":    {"/api/v1/tenants/tenB/templates/openB", `{"layout":"pip"}`},
		"DELETE /api/v1/tenants/{id}/templates/{business}": {"/api/v1/tenants/tenB/templates/openB", ``},
		"PUT /api/v1/users/{id}/skills":                    {"/api/v1/users/agent-B/skills", `{"skills":{"hacked":1}}`},
		"PUT /api/v1/users/{id}":                           {"/api/v1/users/agent-B", `{"display_name":"hacked","role":"tenant_admin"}`},
	}
}

// bState is everything of tenant B the matrix must leave untouched.
func bState(t *testing.T, e *env, ticketB, apptB string) string {
	ctx := context.Background()
	sys := store.System()
	tn, _ := e.db.Tenant(ctx, sys, "tenB")
	u, _ := e.db.User(ctx, sys, "agent-B")
	cu, _ := e.db.Customer(ctx, sys, "custB")
	r, _ := e.db.Record(ctx, sys, "recB")
	tk, _ := e.eng.Ticket(ticketB)
	ap, _ := e.eng.Appointment(apptB)
	ag, _ := e.eng.Agent("agent-B")
	users, _ := e.db.Users(ctx, sys, "tenB", "")
	tenants, _ := e.db.Tenants(ctx, sys)
	jobs, _ := e.db.JobResults(ctx, sys, "")
	tpls, _ := e.db.Templates(ctx, sys, "tenB")
	b, _ := json.Marshal([]any{tn, u.Frozen, u.PasswordHash, cu, r.Summary, r.Rating, r.Chat, tk.State, tk.CutIn, tk.AgentID, ap.Status, ag.State, len(users), len(tenants), len(jobs),
		tpls, u.Skills, u.Role, u.DisplayName})
	return string(b)
}

// bMarkers appear only in tenant B's data. An error response may echo the
// id the caller asked for, so errors are checked to be nothing but an
// error message.
var bMarkers = []string{"MARKB", "custB", "recB", "agent-B", "tenant_admin-B", "supervisor-B", "jobB", "2222"}

func leaks(code int, body []byte) string {
	if code >= 400 {
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil || len(e) != 1 || e["error"] == nil {
			return "error response carries more than an error message"
		}
		if strings.Contains(string(body), "MARKB") || strings.Contains(string(body), "2222") {
			return "error message carries B's data"
		}
		return ""
	}
	for _, m := range bMarkers {
		if containsToken(string(body), m) {
			return "contains " + m
		}
	}
	return ""
}

// containsToken reports whether m occurs in s other than inside a longer run
// of base64/base32 characters: random secrets and ciphertexts in A's own
// responses (a TOTP secret, an SM4 blob) can contain "recB" or "2222" by
// chance, and B's ids never appear that way.
func containsToken(s, m string) bool {
	isB64 := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+'
	}
	for i := 0; ; {
		j := strings.Index(s[i:], m)
		if j < 0 {
			return false
		}
		j += i
		// Walk the surrounding run of base64 letters ('/' and '=' excluded so
		// that ids in paths like /records/recB/items still count).
		lo, hi := j, j+len(m)
		for lo > 0 && isB64(s[lo-1]) {
			lo--
		}
		for hi < len(s) && isB64(s[hi]) {
			hi++
		}
		if hi-lo < 16 {
			return true
		}
		i = j + 1
	}
}

func TestIsolationRBACMatrix(t *testing.T) {
	e := newEnv(t)
	// Live state in B: an agent signed in (busy, so the ticket waits), a
	// waiting customer and a booked appointment.
	must(t, json.Unmarshal(must2(e.as("agent-B", "POST", "/api/v1/agent/sign-in", `{"queues":["qB","poolB"]}`)), new(any)))
	_, body := e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenB","customer_id":"custB","channel":"h5","business":"open"}`)
	var joined struct {
		Ticket console.Ticket
		Token  string
	}
	must(t, json.Unmarshal(body, &joined))
	ticketB := joined.Ticket.ID
	code, body := e.as("supervisor-B", "POST", "/api/v1/appointments", fmt.Sprintf(`{"tenant_id":"tenB","customer_id":"custB","business":"open","at":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
	if code != 201 {
		t.Fatalf("book in B: %d %s", code, body)
	}
	var ap console.Appointment
	must(t, json.Unmarshal(body, &ap))
	must(t, e.db.PutTemplate(context.Background(), store.System(), store.BusinessTemplate{TenantID: "tenB", Business: "openB", Layout: "pip", QCPolicy: "name: MARKB\n"}))
	e.waitRecords()

	pr := probes(ticketB, ap.ID)
	before := bState(t, e, ticketB, ap.ID)
	roles := append([]string{}, auth.Roles[1:]...)
	checked := 0
	for _, rt := range e.srv.Routes() {
		p, ok := pr[rt]
		if !ok {
			t.Fatalf("route %s has no isolation probe", rt)
		}
		method := strings.SplitN(rt, " ", 2)[0]
		for _, role := range roles {
			user := role + "-A"
			code, body := e.as(user, method, p.path, p.body)
			checked++
			if rt == "POST /api/v1/auth/logout" {
				e.tokens[user] = e.login(user, e.pw[user], "")
			}
			if l := leaks(code, body); l != "" {
				t.Errorf("%s as %s of A: response (%d) %s: %.200s", rt, role, code, l, body)
			}
			if strings.Contains(rt, "{id}") && code != 403 && code != 404 {
				t.Errorf("%s as %s of A on B's object: status %d, want 403 or 404: %.200s", rt, role, code, body)
			}
			if code >= 500 {
				t.Errorf("%s as %s: %d %s", rt, role, code, body)
			}
		}
		// Anonymous callers reach only public routes, and those only with
		// the ticket token.
		code, body := e.do("", method, p.path, p.body)
		if l := leaks(code, body); l != "" {
			t.Errorf("%s anonymous: response (%d) %s", rt, code, l)
		}
		if strings.Contains(rt, "{id}") && code != 401 && code != 404 {
			t.Errorf("%s anonymous: status %d", rt, code)
		}
	}
	e.waitRecords()
	if after := bState(t, e, ticketB, ap.ID); after != before {
		t.Fatalf("tenant A's users changed tenant B:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("%d route x role probes", checked)

	// The province sees and manages B.
	for _, path := range []string{"/api/v1/tenants/tenB", "/api/v1/users/agent-B", "/api/v1/customers/custB", "/api/v1/records/recB",
		"/api/v1/records?tenant=tenB", "/api/v1/console/tickets", "/api/v1/console/agents", "/api/v1/appointments", "/api/v1/jobs?subject=recB",
		"/api/v1/users?tenant=tenB", "/api/v1/tenants", "/api/v1/reports/branches?tenant=tenB", "/api/v1/tenants/tenB/templates"} {
		code, body := e.as("padmin", "GET", path, nil)
		if code != 200 || !strings.Contains(string(body), "B") || !(strings.Contains(string(body), "MARKB") || strings.Contains(string(body), "agent-B") ||
			strings.Contains(string(body), "recB") || strings.Contains(string(body), "custB") || strings.Contains(string(body), "tenB")) {
			t.Errorf("province GET %s: %d %.200s", path, code, body)
		}
	}
	if code, body := e.as("padmin", "PUT", "/api/v1/console/agents/agent-B/state", `{"state":"meeting"}`); code != 200 {
		t.Errorf("province forcing B's agent: %d %s", code, body)
	}
	if code, body := e.as("padmin", "POST", "/api/v1/console/tickets/"+ticketB+"/cut-in", nil); code != 204 {
		t.Errorf("province cut-in in B: %d %s", code, body)
	}
	// B's own admin manages B.
	if code, body := e.as("tenant_admin-B", "POST", "/api/v1/users/agent-B/freeze", nil); code != 204 {
		t.Errorf("B admin freezing B agent: %d %s", code, body)
	}
}

func must2(code int, body []byte) []byte { _ = code; return body }

func TestMatrixCoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	pr := probes("T", "A")
	for _, rt := range e.srv.Routes() {
		if _, ok := pr[rt]; !ok {
			t.Errorf("route %s has no probe in the isolation matrix", rt)
		}
	}
	if len(pr) != len(e.srv.Routes()) {
		t.Errorf("%d probes for %d routes: stale probes", len(pr), len(e.srv.Routes()))
	}
}
