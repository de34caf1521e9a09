package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/store"
)

func TestCallFlowRecordsAndSSE(t *testing.T) {
	e := newEnv(t)
	// Agent signs in and gets ready.
	if code, body := e.as("agent-A", "POST", "/api/v1/agent/sign-in", `{"queues":["qA"]}`); code != 200 {
		t.Fatalf("sign in: %d %s", code, body)
	}
	// Two customers join from different channels; the agent is not ready.
	_, body := e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenA","customer_id":"c1","channel":"app","business":"open"}`)
	var j1, j2 struct {
		Ticket   console.Ticket
		Token    string
		Position console.Position
	}
	must(t, json.Unmarshal(body, &j1))
	_, body = e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenA","customer_id":"c2","channel":"mini","business":"open"}`)
	must(t, json.Unmarshal(body, &j2))
	if j2.Position.Position != 2 || j2.Position.QueueLength != 2 {
		t.Fatalf("c2 position %+v", j2.Position)
	}
	if code, _ := e.do("", "GET", "/api/v1/queue/tickets/"+j2.Ticket.ID+"?token=wrong", nil); code != 404 {
		t.Fatalf("wrong ticket token: %d", code)
	}
	if code, _ := e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenA","customer_id":"c3","channel":"app","business":"open","vip":true}`); code != 403 {
		t.Fatalf("customer promoting itself to VIP: %d", code)
	}
	// c2 watches its position over SSE.
	req, _ := http.NewRequest("GET", e.hs.URL+"/api/v1/queue/tickets/"+j2.Ticket.ID+"/events?token="+j2.Token, nil)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE content type %q", resp.Header.Get("Content-Type"))
	}
	events := make(chan console.Position, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var p console.Position
				json.Unmarshal([]byte(d), &p)
				events <- p
			}
		}
		close(events)
	}()
	next := func() console.Position {
		select {
		case p := <-events:
			return p
		case <-time.After(20 * time.Second):
			t.Fatal("no SSE event")
		}
		return console.Position{}
	}
	if p := next(); p.Position != 2 {
		t.Fatalf("first SSE position %+v", p)
	}
	// Agent ready -> c1 rings -> position of c2 becomes 1, pushed.
	e.as("agent-A", "PUT", "/api/v1/agent/state", `{"state":"idle"}`)
	for p := next(); p.Position != 1; p = next() {
	}
	code, body := e.as("agent-A", "POST", "/api/v1/agent/answer", `{"ticket_id":"`+j1.Ticket.ID+`"}`)
	if code != 200 {
		t.Fatalf("answer: %d %s", code, body)
	}
	if code, body := e.as("agent-A", "POST", "/api/v1/agent/end", `{"ticket_id":"`+j1.Ticket.ID+`"}`); code != 200 {
		t.Fatalf("end: %d %s", code, body)
	}
	if code, body := e.as("agent-A", "PUT", "/api/v1/records/"+j1.Ticket.ID+"/summary", `{"summary":"开户完成","summary_options":["done"],"customer_tags":["new"],"rating":5}`); code != 204 {
		t.Fatalf("summary: %d %s", code, body)
	}
	if code, body := e.as("agent-A", "POST", "/api/v1/records/"+j1.Ticket.ID+"/items", `{"chat":[{"from":"agent","text":"请出示身份证"}],"files":["tenA/id-front.jpg"],"markers":[{"at_ms":1500,"kind":"consent","label":"客户确认"}]}`); code != 204 {
		t.Fatalf("items: %d %s", code, body)
	}
	// The customer rates the ended call with the ticket token.
	if code, _ := e.do("", "POST", "/api/v1/queue/tickets/"+j1.Ticket.ID+"/rating?token=bad", `{"rating":4}`); code != 404 {
		t.Fatalf("rating with a wrong token: %d", code)
	}
	if code, body := e.do("", "POST", "/api/v1/queue/tickets/"+j1.Ticket.ID+"/rating?token="+j1.Token, `{"rating":4}`); code != 204 {
		t.Fatalf("rating: %d %s", code, body)
	}
	// c2 leaves while ringing at the agent; the SSE stream says gone.
	if code, _ := e.do("", "POST", "/api/v1/queue/tickets/"+j2.Ticket.ID+"/leave?token="+j2.Token, nil); code != 204 {
		t.Fatalf("leave: %d", code)
	}
	for range events {
	}
	e.waitRecords()
	code, body = e.as("supervisor-A", "GET", "/api/v1/records/"+j1.Ticket.ID, nil)
	var rec store.Record
	must(t, json.Unmarshal(body, &rec))
	if code != 200 || rec.Status != "ended" || rec.AgentID != "agent-A" || rec.Channel != "app" || rec.Summary != "开户完成" || rec.Rating != 4 ||
		len(rec.Chat) != 1 || len(rec.Files) != 1 || len(rec.Markers) != 1 || rec.Markers[0].Kind != "consent" || rec.AnsweredAt.IsZero() || rec.EndedAt.IsZero() {
		t.Fatalf("record: %d %+v", code, rec)
	}
	_, body = e.as("supervisor-A", "GET", "/api/v1/records/"+j2.Ticket.ID, nil)
	must(t, json.Unmarshal(body, &rec))
	if rec.Status != "abandoned" || rec.Channel != "mini" {
		t.Fatalf("left customer's record: %+v", rec)
	}
	// Agents see only their own records.
	if code, _ := e.as("agent-A", "GET", "/api/v1/records/recA", nil); code != 200 {
		t.Fatalf("agent-A own record: %d", code)
	}
	code, body = e.as("supervisor-A", "GET", "/api/v1/console/agents/agent-A/history", nil)
	var hist struct{ States []store.AgentState }
	must(t, json.Unmarshal(body, &hist))
	var seq []string
	for _, s := range hist.States {
		seq = append(seq, s.State)
	}
	if code != 200 || strings.Join(seq, ",") != "signed_out,signed_in,idle,ringing,in_call,idle,ringing" {
		t.Fatalf("agent history: %d %v", code, seq)
	}
	// Every action is in the audit chain, which verifies.
	n, err := e.db.VerifyAudit(context.Background())
	if err != nil || n < 10 {
		t.Fatalf("audit: %d %v", n, err)
	}
	es, _ := e.db.Audit(context.Background(), store.System(), 0, 0)
	actions := map[string]bool{}
	for _, a := range es {
		actions[a.Action] = true
	}
	for _, want := range []string{"auth.login", "agent.sign_in", "agent.state", "agent.answer", "agent.end", "record.summary"} {
		if !actions[want] {
			t.Errorf("audit lacks %s", want)
		}
	}
}

func TestAccounts(t *testing.T) {
	e := newEnv(t)
	// A tenant admin creates an agent; the one-time password works once
	// changed; province-admin creation is refused.
	code, body := e.as("tenant_admin-A", "POST", "/api/v1/users", `{"tenant_id":"tenA","username":"new-agent","role":"agent"}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var cr struct {
		InitialPassword string `json:"initial_password"`
	}
	json.Unmarshal(body, &cr)
	if code, _ := e.as("tenant_admin-A", "POST", "/api/v1/users", `{"tenant_id":"tenA","username":"boss","role":"province_admin"}`); code != 403 {
		t.Fatalf("tenant admin creating province admin: %d", code)
	}
	if code, _ := e.as("supervisor-A", "POST", "/api/v1/users", `{"tenant_id":"tenA","username":"x","role":"agent"}`); code != 403 {
		t.Fatalf("supervisor creating users: %d", code)
	}
	tok := e.login("new-agent", cr.InitialPassword, "")
	if tok == "" {
		t.Fatal("initial password does not sign in")
	}
	if code, _ := e.do(tok, "GET", "/api/v1/agent/pool", nil); code != 403 {
		t.Fatalf("generated password not changed yet, but agent routes open: %d", code)
	}
	if code, _ := e.do(tok, "POST", "/api/v1/me/password", `{"old":"`+cr.InitialPassword+`","new":"short"}`); code != 400 {
		t.Fatalf("weak password: %d", code)
	}
	if code, _ := e.do(tok, "POST", "/api/v1/me/password", `{"old":"`+cr.InitialPassword+`","new":"a-much-better-pass-2026"}`); code != 204 {
		t.Fatalf("change password: %d", code)
	}
	// TOTP enrolment, then sign-in needs the code.
	_, body = e.do(tok, "POST", "/api/v1/me/totp", nil)
	var en struct{ Secret, URL, Pending string }
	json.Unmarshal(body, &en)
	c, _ := auth.TOTPCode(en.Secret, time.Now())
	if code, body := e.do(tok, "POST", "/api/v1/me/totp/confirm", `{"code":"`+c+`","pending":"`+en.Pending+`"}`); code != 204 {
		t.Fatalf("totp confirm: %d %s", code, body)
	}
	if e.login("new-agent", "a-much-better-pass-2026", "") != "" {
		t.Fatal("signed in without the TOTP code")
	}
	c, _ = auth.TOTPCode(en.Secret, time.Now())
	if e.login("new-agent", "a-much-better-pass-2026", c) == "" {
		t.Fatal("password + TOTP refused")
	}
	// Freeze ends sessions at once; unfreeze and reset give a new password.
	if code, _ := e.as("tenant_admin-A", "POST", "/api/v1/users/u-new-agent/freeze", nil); code != 204 {
		t.Fatal("freeze")
	}
	if code, _ := e.do(tok, "GET", "/api/v1/me", nil); code != 401 {
		t.Fatalf("frozen session still works: %d", code)
	}
	e.as("tenant_admin-A", "POST", "/api/v1/users/u-new-agent/unfreeze", nil)
	_, body = e.as("tenant_admin-A", "POST", "/api/v1/users/u-new-agent/reset-password", nil)
	var rp struct {
		Temp string `json:"temporary_password"`
	}
	json.Unmarshal(body, &rp)
	c, _ = auth.TOTPCode(en.Secret, time.Now())
	if e.login("new-agent", rp.Temp, c) == "" {
		t.Fatal("reset password does not sign in")
	}
	// Five wrong passwords freeze the account.
	for range 5 {
		e.login("agent-A", "wrong", "")
	}
	if e.login("agent-A", e.pw["agent-A"], "") != "" {
		t.Fatal("account not frozen after 5 failures")
	}
}

func TestCustomerPIIMasking(t *testing.T) {
	e := newEnv(t)
	code, body := e.as("agent-A", "POST", "/api/v1/customers", `{"id":"c9","tenant_id":"tenA","name":"王小明","id_number":"110101199003079999","card_number":"6222021234567890123","phone":"13812345678"}`)
	if code != 200 || !strings.Contains(string(body), "13812345678") {
		t.Fatalf("agent put customer: %d %s", code, body)
	}
	raw, _ := e.db.Customer(context.Background(), store.System(), "c9")
	if strings.Contains(raw.Phone+raw.IDNumber+raw.CardNumber, "1234") || !strings.HasPrefix(raw.Phone, "sm4-gcm:") {
		t.Fatalf("stored in clear: %+v", raw)
	}
	for role, clear := range map[string]bool{"agent": true, "auditor": true, "supervisor": false, "tenant_admin": false} {
		_, body := e.as(role+"-A", "GET", "/api/v1/customers/c9", nil)
		var cu customerReq
		json.Unmarshal(body, &cu)
		if clear && (cu.Phone != "13812345678" || cu.IDNumber != "110101199003079999") {
			t.Errorf("%s should see PII: %+v", role, cu)
		}
		if !clear && (cu.Phone != "138****5678" || cu.IDNumber != "110101********9999" || cu.CardNumber != "622202*********0123") {
			t.Errorf("%s should see masks: %+v", role, cu)
		}
	}
	// The audit trail holds masked values only.
	es, _ := e.db.Audit(context.Background(), store.System(), 0, 0)
	for _, a := range es {
		if strings.Contains(string(a.After), "13812345678") {
			t.Fatalf("audit holds a clear phone number: %s", a.After)
		}
	}
}

func TestOpenAPIMetricsAlerts(t *testing.T) {
	e := newEnv(t)
	slow := make(chan struct{}, 100)
	e.srv.Mount("/slow/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fast") == "" {
			time.Sleep(60 * time.Millisecond) // above the test's 50 ms yellow threshold
		}
		slow <- struct{}{}
		w.WriteHeader(204)
	}))
	e.hs.Config.Handler = e.srv.Handler()
	_, body := e.do("", "GET", "/openapi.json", nil)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	must(t, json.Unmarshal(body, &doc))
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	for _, rt := range e.srv.Routes() {
		m, p, _ := strings.Cut(rt, " ")
		if doc.Paths[p][strings.ToLower(m)] == nil {
			t.Errorf("OpenAPI lacks %s", rt)
		}
	}
	get := func(q string) {
		resp, err := http.Get(e.hs.URL + "/slow/x" + q)
		must(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 5 {
		get("")
	}
	_, b := e.do("", "GET", "/metrics", nil)
	for _, want := range []string{"witness_http_slow_responses_total{route=\"/slow/\"} 5", "witness_http_request_duration_seconds_bucket", "witness_queue_waiting", "witness_http_alert_level"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, _ := e.do("", "GET", "/readyz", nil); code != 200 {
		t.Fatal("readyz")
	}
}

// TestAlertLevels drives the alerter with given response times: one slow
// response is yellow, five in a row red, a fast one clears.
func TestAlertLevels(t *testing.T) {
	e := newEnv(t)
	a := e.srv.alerts
	slow, fast := a.slow+time.Millisecond, a.slow/2
	steps := []struct {
		d    time.Duration
		want int
	}{{fast, 0}, {slow, 1}, {fast, 0}, {slow, 1}, {slow, 1}, {slow, 1}, {slow, 1}, {slow, 2}, {slow, 2}, {fast, 0}}
	for i, s := range steps {
		a.observe("/x", s.d)
		if a.Level() != s.want {
			t.Fatalf("step %d (%v): level %d, want %d", i, s.d, a.Level(), s.want)
		}
	}
	_, b := e.do("", "GET", "/metrics", nil)
	if !strings.Contains(string(b), `witness_http_slow_responses_total{route="/x"} 7`) {
		t.Fatal("slow responses not counted")
	}
}

// TestEventStreams: an agent's stream carries the offer ringing at them;
// a supervisor's wallboard carries its tenant's events and none of
// another tenant's.
func TestEventStreams(t *testing.T) {
	e := newEnv(t)
	open := func(user, path string) <-chan string {
		req, _ := http.NewRequest("GET", e.hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens[user])
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", user, path, resp.StatusCode)
		}
		lines := make(chan string, 256)
		go func() {
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// The comment line says the subscription is in place.
		if l := <-lines; !strings.HasPrefix(l, ": connected") {
			t.Fatalf("stream start %q", l)
		}
		return lines
	}
	e.as("agent-A", "POST", "/api/v1/agent/sign-in", `{"queues":["qA"]}`)
	agent := open("agent-A", "/api/v1/agent/events?window=20s")
	wall := open("supervisor-A", "/api/v1/console/events?window=3s")
	e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenB","customer_id":"custB","channel":"app","business":"open"}`)
	e.as("agent-A", "PUT", "/api/v1/agent/state", `{"state":"idle"}`)
	_, body := e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenA","customer_id":"cA","channel":"app","business":"open"}`)
	var j struct{ Ticket console.Ticket }
	must(t, json.Unmarshal(body, &j))
	deadline := time.After(20 * time.Second)
	for got := false; !got; {
		select {
		case l := <-agent:
			got = strings.HasPrefix(l, "data: ") && strings.Contains(l, `"kind":"ticket.ringing"`) && strings.Contains(l, j.Ticket.ID)
		case <-deadline:
			t.Fatal("agent stream did not carry the offer")
		}
	}
	var all []string
	for l := range wall {
		all = append(all, l)
	}
	text := strings.Join(all, "\n")
	if !strings.Contains(text, j.Ticket.ID) || strings.Contains(text, "tenB") || strings.Contains(text, "custB") {
		t.Fatalf("wallboard of A: %s", text)
	}
}

func TestWhitelistEndsSessions(t *testing.T) {
	e := newEnv(t)
	if code, _ := e.as("agent-B", "GET", "/api/v1/me", nil); code != 200 {
		t.Fatal("agent-B signed in")
	}
	if code, body := e.as("padmin", "PUT", "/api/v1/tenants/tenB", `{"name":"bank-beta","whitelisted":false}`); code != 200 {
		t.Fatalf("de-whitelist: %d %s", code, body)
	}
	if code, _ := e.as("agent-B", "GET", "/api/v1/me", nil); code != 401 {
		t.Fatalf("session of a de-whitelisted tenant still works: %d", code)
	}
	if e.login("agent-B", e.pw["agent-B"], "") != "" {
		t.Fatal("sign-in to a de-whitelisted tenant")
	}
	if code, _ := e.do("", "POST", "/api/v1/queue/join", `{"tenant_id":"tenB","customer_id":"x","channel":"app","business":"open"}`); code != 403 {
		t.Fatalf("join a de-whitelisted tenant: %d", code)
	}
	if code, _ := e.as("tenant_admin-A", "PUT", "/api/v1/tenants/tenA", `{"name":"a","whitelisted":false}`); code != 403 {
		t.Fatalf("a tenant de-whitelisting itself: %d", code)
	}
}
