package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/secure"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/internal/tenant"
)

func init() { auth.SetFastHashing() }

type env struct {
	t      *testing.T
	db     *store.DB
	eng    *console.Engine
	srv    *Server
	rw     *RecordWriter
	hs     *httptest.Server
	tokens map[string]string // username -> token
	pw     map[string]string
}

// newEnv builds province P with banks A and B, a user of every role in A
// and B, a province admin, customers, records, queues and live tickets.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cipher, err := secure.NewFieldCipher(secure.SM4GCM, bytes.Repeat([]byte{1}, 16))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, tokens: map[string]string{}, pw: map[string]string{}}
	e.eng = console.New(console.Options{Handler: func(ev console.Event) { e.rw.Handle(ev) }})
	e.srv = New(Options{DB: db, Engine: e.eng, Cipher: cipher, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Slow: 50 * time.Millisecond})
	e.rw = e.srv.NewRecordWriter(1000)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.rw.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	e.hs = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.hs.Close)

	sys := store.System()
	for _, tn := range []store.Tenant{
		{ID: "P", Name: "province-union", Level: store.LevelProvince, Whitelisted: true},
		{ID: "tenA", ParentID: "P", Name: "bank-alpha", Level: store.LevelBank, Whitelisted: true},
		{ID: "tenB", ParentID: "P", Name: "bank-beta-MARKB", Level: store.LevelBank, Whitelisted: true},
	} {
		must(t, db.CreateTenant(ctx, sys, tn))
		must(t, e.eng.SetTenant(tn.ID, true, tenant.Settings{}))
	}
	e.user("padmin", "P", auth.RoleProvinceAdmin)
	for _, tn := range []string{"A", "B"} {
		for _, role := range auth.Roles[1:] {
			e.user(role+"-"+tn, "ten"+tn, role)
		}
		must(t, e.eng.Configure("ten"+tn, []console.QueueConfig{{Name: "q" + tn}, {Name: "pool" + tn, Strategy: console.Grab}},
			[]console.Route{{Queue: "q" + tn}, {Business: "grab", Queue: "pool" + tn}}))
		enc, _ := cipher.Encrypt("id_number", "11010119900307"+map[string]string{"A": "1111", "B": "2222"}[tn])
		must(t, db.PutCustomer(ctx, sys, store.Customer{ID: "cust" + tn, TenantID: "ten" + tn, Name: "name-" + tn + "-MARK" + tn, IDNumber: enc}))
		must(t, db.PutRecord(ctx, sys, store.Record{ID: "rec" + tn, TenantID: "ten" + tn, Status: "ended", AgentID: "agent-" + tn, Summary: "summary-MARK" + tn}))
		_, err := db.PutJobResult(ctx, store.JobResult{JobID: "job" + tn, Kind: "qc", TenantID: "ten" + tn, Subject: "rec" + tn, Status: "done", Result: json.RawMessage(`{"m":"MARK` + tn + `"}`)})
		must(t, err)
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) user(name, tenantID, role string) {
	e.t.Helper()
	pw := "pass-" + name + "-123"
	h, _ := auth.HashPassword(pw)
	must(e.t, e.db.CreateUser(context.Background(), store.System(), store.User{ID: name, TenantID: tenantID, Username: name, Role: role, PasswordHash: h,
		Skills: map[string]int{"open": 5}}))
	e.pw[name] = pw
	e.tokens[name] = e.login(name, pw, "")
}

func (e *env) login(name, pw, code string) string {
	e.t.Helper()
	code2, body := e.do("", "POST", "/api/v1/auth/login", map[string]string{"username": name, "password": pw, "totp": code})
	if code2 != 200 {
		return ""
	}
	var out struct{ Token string }
	json.Unmarshal(body, &out)
	return out.Token
}

// do sends a request as the user whose token is tok ("" = anonymous).
func (e *env) do(tok, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.hs.URL+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (e *env) as(user, method, path string, body any) (int, []byte) {
	return e.do(e.tokens[user], method, path, body)
}

// waitRecords waits until the record writer has written everything queued.
func (e *env) waitRecords() { e.rw.Sync() }
