// Package api is the control plane's REST API: sign-in, tenants, users,
// the queue entry for customers, agent and supervisor actions, service
// records, audit and jobs, with an OpenAPI 3 document generated from the
// same route table, Prometheus metrics and response-time alerting.
//
// Every route declares its permission; the handler gets the caller's
// tenant Scope and passes it to the store, which enforces isolation. Live
// objects held by the console engine (tickets, agents) are checked against
// the scope here, and a miss is always 404, so a caller never learns that
// another tenant's object exists.
package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/blob"
	"github.com/witness-media/witness/internal/secure"
	"github.com/witness-media/witness/internal/store"
)

// JobSubmitter queues background jobs (internal/jobs implements it).
type JobSubmitter interface {
	SubmitQC(ctx context.Context, tenantID, recordID, path string) (jobID string, err error)
}

// Options build a Server.
type Options struct {
	DB     *store.DB
	Engine *console.Engine
	Cipher *secure.FieldCipher
	Jobs   JobSubmitter // nil: job routes answer 503
	// Blobs holds the recordings (nil: recording downloads answer 503).
	Blobs blob.Store
	Log   *slog.Logger
	// TicketKey signs customers' ticket tokens (random per process when
	// empty, which invalidates tokens on restart).
	TicketKey []byte
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// Slow is the response time that raises a yellow alert (default 3s);
	// RedAfter consecutive slow responses raise red (default 5).
	Slow     time.Duration
	RedAfter int
	// Registry receives the metrics (default a new registry).
	Registry *prometheus.Registry
	// Ready reports readiness beyond the database (e.g. the bus).
	Ready func(ctx context.Context) error
	Now   func() time.Time
}

// Server serves the API. Build with New, then use Handler.
type Server struct {
	opts   Options
	db     *store.DB
	eng    *console.Engine
	log    *slog.Logger
	mux    *http.ServeMux
	routes []route
	mounts []mount
	met    *metrics
	cache  sessionCache
	alerts *alerter
	rw     *RecordWriter // nil until NewRecordWriter
	hub    *hub
	// linkKey signs recording links (random per process: links die with
	// it, and each control-plane process signs its own).
	linkKey []byte
}

type mount struct {
	prefix string
	h      http.Handler
}

// New builds the server and its routes.
func New(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.Slow <= 0 {
		opts.Slow = 3 * time.Second
	}
	if opts.RedAfter <= 0 {
		opts.RedAfter = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.TicketKey) == 0 {
		opts.TicketKey = []byte(auth.RandomPassword() + auth.RandomPassword())
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &Server{opts: opts, db: opts.DB, eng: opts.Engine, log: opts.Log, mux: http.NewServeMux()}
	s.cache.m = map[string]cachedSession{}
	s.linkKey = []byte(auth.RandomPassword() + auth.RandomPassword())
	s.met = newMetrics(opts.Registry, s)
	s.hub = newHub(opts.Registry)
	s.alerts = &alerter{slow: opts.Slow, redAfter: opts.RedAfter, met: s.met, log: opts.Log}
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	s.mux.HandleFunc("GET /openapi.json", s.serveOpenAPI)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.mux.HandleFunc("GET /readyz", s.ready)
	return s
}

// Mount serves h under prefix (e.g. "/rtc/" for the signaling server).
// Call before Handler. Mounted handlers get the same metrics and
// response-time alerting but do their own authentication.
func (s *Server) Mount(prefix string, h http.Handler) {
	s.mounts = append(s.mounts, mount{prefix, h})
}

// Handler returns the root handler: the API, /metrics, /openapi.json,
// /healthz, /readyz and the mounts.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	var root http.Handler = s.mux
	mux.Handle("GET /metrics", promHandler(s.opts.Registry))
	for _, m := range s.mounts {
		if m.prefix == "/" {
			// A mount at the root (the web console) gets what no API route
			// matches; /api/ always stays the API's so that an unknown API
			// path answers a JSON 404, not a page.
			root = s.rootFallback(m.h)
			continue
		}
		mux.Handle(m.prefix, s.timed(m.prefix, m.h))
	}
	mux.Handle("/", root)
	return mux
}

func (s *Server) rootFallback(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); pattern != "" || strings.HasPrefix(r.URL.Path, "/api/") {
			s.mux.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		writeJSON(w, 503, map[string]string{"status": "database: " + err.Error()})
		return
	}
	if s.opts.Ready != nil {
		if err := s.opts.Ready(ctx); err != nil {
			writeJSON(w, 503, map[string]string{"status": err.Error()})
			return
		}
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

// caller is the signed-in user of a request.
type caller struct {
	user  store.User
	scope store.Scope
	token string // hash
}

func (c *caller) can(p auth.Perm) bool { return auth.Can(c.user.Role, p) }

// handler is a route's body; an error becomes the response.
type handler func(w http.ResponseWriter, r *http.Request, c *caller) error

type route struct {
	Method, Path string
	Perm         auth.Perm // required permission; "" = any signed-in user
	Public       bool      // no sign-in (sign-in itself, the customer's queue entry)
	Summary      string
	Body         any // example request body type for the OpenAPI document
	h            handler
}

func (s *Server) wrap(rt route) http.Handler {
	return s.timed(rt.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *caller
		if !rt.Public {
			var err error
			c, err = s.authenticate(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if c.user.MustChange && !mayBeforePasswordChange[rt.Path] {
				s.fail(w, r, fmt.Errorf("%w: change your password first (POST /api/v1/me/password)", errForbidden))
				return
			}
			if rt.Perm != "" && !c.can(rt.Perm) {
				s.fail(w, r, fmt.Errorf("%w: role %s lacks %s", errForbidden, c.user.Role, rt.Perm))
				return
			}
		}
		if err := rt.h(w, r, c); err != nil {
			s.fail(w, r, err)
		}
	}))
}

// mayBeforePasswordChange are the routes open to a user who must change a
// generated password first.
var mayBeforePasswordChange = map[string]bool{"/api/v1/me": true, "/api/v1/me/password": true, "/api/v1/auth/logout": true}

var (
	errUnauthorized = errors.New("sign in required")
	errForbidden    = errors.New("forbidden")
	errBadRequest   = errors.New("bad request")
	errUnavailable  = errors.New("unavailable")
)

type cachedSession struct {
	c   caller
	exp time.Time
}

// sessionCache keeps recently checked sessions for a few seconds so an
// agent's frequent calls do not each cost two queries. Changes made in
// this process (freeze, logout, role) invalidate at once; another control
// plane process sees them within the TTL.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

const sessionCacheTTL = 10 * time.Second

func (sc *sessionCache) get(hash string, now time.Time) (caller, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	e, ok := sc.m[hash]
	if !ok || now.After(e.exp) {
		return caller{}, false
	}
	return e.c, true
}

func (sc *sessionCache) put(hash string, c caller, now time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.m) > 100000 {
		clear(sc.m)
	}
	sc.m[hash] = cachedSession{c, now.Add(sessionCacheTTL)}
}

func (sc *sessionCache) dropUser(userID string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for k, v := range sc.m {
		if v.c.user.ID == userID {
			delete(sc.m, k)
		}
	}
}

func (s *Server) authenticate(r *http.Request) (*caller, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return nil, errUnauthorized
	}
	hash := auth.TokenHash(tok)
	now := s.opts.Now()
	if c, ok := s.cache.get(hash, now); ok {
		return &c, nil
	}
	_, u, err := s.db.SessionByHash(r.Context(), hash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errUnauthorized
		}
		return nil, err
	}
	c, err := s.callerOf(r.Context(), u)
	if err != nil {
		return nil, err
	}
	c.token = hash
	s.cache.put(hash, *c, now)
	return c, nil
}

// callerOf checks that u may act now (not frozen, tenant whitelisted) and
// returns it with its scope.
func (s *Server) callerOf(ctx context.Context, u store.User) (*caller, error) {
	if u.Frozen {
		return nil, fmt.Errorf("%w: account frozen", errUnauthorized)
	}
	// A tenant taken off the whitelist loses its sessions too.
	if t, err := s.db.Tenant(ctx, store.System(), u.TenantID); err != nil || !t.Whitelisted {
		return nil, fmt.Errorf("%w: tenant %s is not whitelisted", errUnauthorized, u.TenantID)
	}
	sc, err := s.db.Scope(ctx, u.TenantID)
	if err != nil {
		return nil, err
	}
	return &caller{user: u, scope: sc}, nil
}

// status maps an error to an HTTP status.
func status(err error) int {
	switch {
	case errors.Is(err, errUnauthorized), errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden), errors.Is(err, store.ErrForbidden), errors.Is(err, console.ErrTenantBlocked),
		errors.Is(err, console.ErrNotQualified):
		return http.StatusForbidden
	case errors.Is(err, store.ErrNotFound), errors.Is(err, console.ErrNotFound), errors.Is(err, console.ErrNoRoute):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, console.ErrState), errors.Is(err, console.ErrTaken),
		errors.Is(err, console.ErrSlotFull):
		return http.StatusConflict
	case errors.Is(err, errBadRequest), errors.Is(err, store.ErrInvalid), errors.Is(err, console.ErrInvalid),
		errors.Is(err, auth.ErrWeakPassword):
		return http.StatusBadRequest
	case errors.Is(err, console.ErrQuota), errors.Is(err, console.ErrQueueFull):
		return http.StatusTooManyRequests
	case errors.Is(err, console.ErrClosed), errors.Is(err, errUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: unknown fields are a 400.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", errBadRequest, err)
	}
	return nil
}

// ticketToken is the customer's capability for one ticket.
func (s *Server) ticketToken(ticketID string) string {
	m := hmac.New(sha256.New, s.opts.TicketKey)
	m.Write([]byte(ticketID))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

func (s *Server) checkTicketToken(r *http.Request, ticketID string) error {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		tok = r.Header.Get("X-Ticket-Token")
	}
	if !hmac.Equal([]byte(tok), []byte(s.ticketToken(ticketID))) {
		// Same answer as a ticket that does not exist.
		return fmt.Errorf("ticket %s: %w", ticketID, console.ErrNotFound)
	}
	return nil
}

// auditedDone audits a change and answers 204 No Content when it
// succeeded; a failure is audited too and returned for the error mapping.
func (s *Server) auditedDone(w http.ResponseWriter, ctx context.Context, c *caller, tenantID, action, target string, before, after any, err error) error {
	s.audit(ctx, c, tenantID, action, target, before, after, err)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// audit appends an audit entry for an action by c; failures to audit are
// logged loudly but do not undo the action already done.
func (s *Server) audit(ctx context.Context, c *caller, tenantID, action, target string, before, after any, err error) {
	result := "ok"
	if err != nil {
		result = "error: " + err.Error()
	}
	actor, role := "anonymous", ""
	if c != nil {
		actor, role = c.user.ID, c.user.Role
	}
	enc := func(v any) json.RawMessage {
		if v == nil {
			return nil
		}
		b, _ := json.Marshal(v)
		return b
	}
	if _, aerr := s.db.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{TenantID: tenantID, Actor: actor, Role: role, Action: action,
		Target: target, Before: enc(before), After: enc(after), Result: result}); aerr != nil {
		s.log.Error("audit append failed", "action", action, "target", target, "err", aerr)
	}
}

// LoadTenants installs every tenant's settings, queues and routes from the
// store into the engine (at start-up).
func (s *Server) LoadTenants(ctx context.Context) error {
	ts, err := s.db.Tenants(ctx, store.System())
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := s.eng.SetTenant(t.ID, t.Whitelisted, t.Settings); err != nil {
			return fmt.Errorf("tenant %s: %w", t.ID, err)
		}
		if len(t.Settings.Routing) > 0 {
			var q queuesReq
			if err := json.Unmarshal(t.Settings.Routing, &q); err != nil {
				return fmt.Errorf("tenant %s routing: %w", t.ID, err)
			}
			if err := s.eng.Configure(t.ID, q.Queues, q.Routes); err != nil {
				return fmt.Errorf("tenant %s routing: %w", t.ID, err)
			}
		}
	}
	return nil
}
