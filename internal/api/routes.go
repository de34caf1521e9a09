package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/secure"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/internal/tenant"
)

// Request bodies (also the OpenAPI schemas).
type (
	loginReq struct {
		Username string `json:"username"`
		Password string `json:"password"`
		TOTP     string `json:"totp,omitempty"`
	}
	passwordReq struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	codeReq struct {
		Code string `json:"code"`
	}
	tenantReq struct {
		ID          string          `json:"id"`
		ParentID    string          `json:"parent_id"`
		Name        string          `json:"name"`
		Level       string          `json:"level"`
		Whitelisted bool            `json:"whitelisted"`
		Settings    tenant.Settings `json:"settings"`
	}
	queuesReq struct {
		Queues []console.QueueConfig `json:"queues"`
		Routes []console.Route       `json:"routes"`
	}
	raiseReq struct {
		Calls      int       `json:"calls"`
		Recordings int       `json:"recordings"`
		Until      time.Time `json:"until"`
	}
	userReq struct {
		ID          string         `json:"id"`
		TenantID    string         `json:"tenant_id"`
		Username    string         `json:"username"`
		DisplayName string         `json:"display_name"`
		Role        string         `json:"role"`
		Skills      map[string]int `json:"skills,omitempty"`
	}
	customerReq struct {
		ID         string   `json:"id"`
		TenantID   string   `json:"tenant_id"`
		Name       string   `json:"name"`
		IDNumber   string   `json:"id_number"`
		CardNumber string   `json:"card_number"`
		Phone      string   `json:"phone"`
		Tags       []string `json:"tags"`
	}
	ticketReq struct {
		TicketID string `json:"ticket_id"`
	}
	assignReq struct {
		AgentID string `json:"agent_id"`
	}
	stateReq struct {
		State  console.AgentState `json:"state"`
		Reason string             `json:"reason,omitempty"`
	}
	signInReq struct {
		Queues []string `json:"queues"`
	}
	ratingReq struct {
		Rating int `json:"rating"`
	}
	qcReq struct {
		RecordID string `json:"record_id"`
		Path     string `json:"path"`
	}
)

func (s *Server) routeTable() []route {
	P := func(p auth.Perm) auth.Perm { return p }
	rs := []route{
		{Method: "POST", Path: "/api/v1/auth/login", Public: true, Summary: "Sign in with password (+ TOTP code when enrolled); returns a bearer token", Body: loginReq{}, h: s.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Summary: "End this session", h: s.logout},
		{Method: "GET", Path: "/api/v1/me", Summary: "The signed-in user", h: s.me},
		{Method: "POST", Path: "/api/v1/me/password", Summary: "Change own password", Body: passwordReq{}, h: s.changePassword},
		{Method: "POST", Path: "/api/v1/me/totp", Summary: "Start TOTP enrolment: returns secret and otpauth URL", h: s.totpStart},
		{Method: "POST", Path: "/api/v1/me/totp/confirm", Summary: "Confirm TOTP enrolment with a code", Body: codeReq{}, h: s.totpConfirm},

		{Method: "GET", Path: "/api/v1/tenants", Perm: P(auth.PermTenantRead), Summary: "Tenants in scope", h: s.listTenants},
		{Method: "POST", Path: "/api/v1/tenants", Perm: P(auth.PermTenantWrite), Summary: "Create a tenant under one in scope", Body: tenantReq{}, h: s.createTenant},
		{Method: "GET", Path: "/api/v1/tenants/{id}", Perm: P(auth.PermTenantRead), Summary: "One tenant", h: s.getTenant},
		{Method: "PUT", Path: "/api/v1/tenants/{id}", Perm: P(auth.PermTenantWrite), Summary: "Update name, whitelist, catalogue, hours, quotas", Body: tenantReq{}, h: s.putTenant},
		{Method: "POST", Path: "/api/v1/tenants/{id}/quota-raise", Perm: P(auth.PermTenantWrite), Summary: "Raise concurrency quotas until a time", Body: raiseReq{}, h: s.raiseQuota},
		{Method: "PUT", Path: "/api/v1/tenants/{id}/queues", Perm: P(auth.PermQueueConfig), Summary: "Replace queues and routing", Body: queuesReq{}, h: s.putQueues},

		{Method: "GET", Path: "/api/v1/users", Perm: P(auth.PermUserRead), Summary: "Users in scope", h: s.listUsers},
		{Method: "POST", Path: "/api/v1/users", Perm: P(auth.PermUserWrite), Summary: "Create a user; the initial password is returned once", Body: userReq{}, h: s.createUser},
		{Method: "GET", Path: "/api/v1/users/{id}", Perm: P(auth.PermUserRead), Summary: "One user", h: s.getUser},
		{Method: "POST", Path: "/api/v1/users/{id}/freeze", Perm: P(auth.PermUserWrite), Summary: "Freeze an account (ends its sessions)", h: s.freezeUser(true)},
		{Method: "POST", Path: "/api/v1/users/{id}/unfreeze", Perm: P(auth.PermUserWrite), Summary: "Unfreeze an account", h: s.freezeUser(false)},
		{Method: "POST", Path: "/api/v1/users/{id}/reset-password", Perm: P(auth.PermUserWrite), Summary: "Reset a password; the temporary one is returned once", h: s.resetPassword},

		{Method: "POST", Path: "/api/v1/customers", Perm: P(auth.PermCustomerEdit), Summary: "Create or update a customer (sensitive fields encrypted at rest)", Body: customerReq{}, h: s.putCustomer},
		{Method: "GET", Path: "/api/v1/customers/{id}", Perm: P(auth.PermCustomerRead), Summary: "One customer; ID, card and phone masked without customer.pii", h: s.getCustomer},

		{Method: "POST", Path: "/api/v1/queue/join", Public: true, Summary: "Customer joins the queue (any channel); returns ticket, token and position", Body: console.JoinRequest{}, h: s.join},
		{Method: "GET", Path: "/api/v1/queue/tickets/{id}", Public: true, Summary: "Customer's live position, queue length and estimated wait (?token=)", h: s.position},
		{Method: "GET", Path: "/api/v1/queue/tickets/{id}/events", Public: true, Summary: "Server-sent events with the position on every change (?token=)", h: s.positionEvents},
		{Method: "POST", Path: "/api/v1/queue/tickets/{id}/rating", Public: true, Summary: "Customer rates the service 1-5 after the call (?token=)", Body: ratingReq{}, h: s.rate},
		{Method: "POST", Path: "/api/v1/queue/tickets/{id}/leave", Public: true, Summary: "Customer leaves the queue (?token=)", h: s.leave},

		{Method: "GET", Path: "/api/v1/console/tickets", Perm: P(auth.PermQueueRead), Summary: "Live tickets in scope, in queue order", h: s.listTickets},
		{Method: "POST", Path: "/api/v1/console/tickets/{id}/assign", Perm: P(auth.PermQueueRoute), Summary: "Manually route a waiting customer to an idle agent", Body: assignReq{}, h: s.assign},
		{Method: "POST", Path: "/api/v1/console/tickets/{id}/cut-in", Perm: P(auth.PermQueueRoute), Summary: "Move a customer ahead of the queue", h: s.cutIn},
		{Method: "GET", Path: "/api/v1/console/events", Perm: P(auth.PermQueueRead), Summary: "Server-sent events of every console change in your tenants (?window=)", h: s.consoleEvents},
		{Method: "GET", Path: "/api/v1/console/agents", Perm: P(auth.PermAgentRead), Summary: "Agents in scope with live state", h: s.listAgents},
		{Method: "PUT", Path: "/api/v1/console/agents/{id}/state", Perm: P(auth.PermAgentForce), Summary: "Force an agent's state", Body: stateReq{}, h: s.forceState},
		{Method: "GET", Path: "/api/v1/console/agents/{id}/history", Perm: P(auth.PermAgentRead), Summary: "An agent's state history with durations", h: s.agentHistory},

		{Method: "POST", Path: "/api/v1/agent/sign-in", Perm: P(auth.PermAgentSelf), Summary: "Agent signs in to queues", Body: signInReq{}, h: s.agentSignIn},
		{Method: "PUT", Path: "/api/v1/agent/state", Perm: P(auth.PermAgentSelf), Summary: "Agent changes own state", Body: stateReq{}, h: s.agentState},
		{Method: "POST", Path: "/api/v1/agent/answer", Perm: P(auth.PermAgentSelf), Summary: "Answer the ringing customer", Body: ticketReq{}, h: s.agentAnswer},
		{Method: "POST", Path: "/api/v1/agent/decline", Perm: P(auth.PermAgentSelf), Summary: "Decline the ringing customer", Body: ticketReq{}, h: s.agentDecline},
		{Method: "POST", Path: "/api/v1/agent/end", Perm: P(auth.PermAgentSelf), Summary: "End the current call", Body: ticketReq{}, h: s.agentEnd},
		{Method: "GET", Path: "/api/v1/agent/events", Perm: P(auth.PermAgentSelf), Summary: "Server-sent events for the signed-in agent: offers, calls, own state (?window=)", h: s.agentEvents},
		{Method: "GET", Path: "/api/v1/agent/pool", Perm: P(auth.PermAgentSelf), Summary: "Customers in the grab pool", h: s.agentPool},
		{Method: "POST", Path: "/api/v1/agent/grab", Perm: P(auth.PermAgentSelf), Summary: "Grab a customer from the pool", Body: ticketReq{}, h: s.agentGrab},

		{Method: "POST", Path: "/api/v1/appointments", Perm: P(auth.PermApptWrite), Summary: "Book an appointment slot", Body: console.BookRequest{}, h: s.book},
		{Method: "GET", Path: "/api/v1/appointments", Perm: P(auth.PermApptRead), Summary: "Appointments in scope", h: s.listAppointments},
		{Method: "DELETE", Path: "/api/v1/appointments/{id}", Perm: P(auth.PermApptWrite), Summary: "Cancel an appointment", h: s.cancelAppointment},

		{Method: "GET", Path: "/api/v1/records", Perm: P(auth.PermRecordRead), Summary: "Service records in scope (filters: tenant (exactly), within (a tenant and its branches), agent, business, channel, status, qc (pass, warn, fail, none), from, to, limit)", h: s.listRecords},
		{Method: "GET", Path: "/api/v1/records/{id}", Perm: P(auth.PermRecordRead), Summary: "One service record", h: s.getRecord},
		{Method: "GET", Path: "/api/v1/records/{id}/qc", Perm: P(auth.PermRecordRead), Summary: "The record's QC verdict and the reports of its QC jobs (findings with times)", h: s.recordQC},
		{Method: "GET", Path: "/api/v1/records/{id}/events", Perm: P(auth.PermRecordRead), Summary: "Analyzer and recorder events on the record's recording files (from the linked .markers.json files), with media times", h: s.recordEvents},
		{Method: "POST", Path: "/api/v1/records/{id}/files/{name}/link", Perm: P(auth.PermRecordRead), Summary: "A signed link (1 h) to one recording file of the record, for a player (purpose play) or a download; audited as record.play / record.download", Body: fileLinkReq{}, h: s.recordFileLink},
		{Method: "GET", Path: "/api/v1/records/{id}/files/{name}", Public: true, Summary: "Stream one recording file (HTTP Range; ETag and X-Content-SHA256 = the record's sha256) with a signed link from …/link, or with a bearer token (record.read; each request audited as record.download)", h: s.recordFile},
		{Method: "PUT", Path: "/api/v1/records/{id}/summary", Perm: P(auth.PermRecordWrite), Summary: "Service summary, preset options, customer tags, rating (0 or absent keeps the stored rating)", Body: store.RecordSummary{}, h: s.putSummary},

		{Method: "POST", Path: "/api/v1/records/{id}/items", Perm: P(auth.PermRecordWrite), Summary: "Append chat lines, file references and timeline markers", Body: store.RecordItems{}, h: s.putItems},
		{Method: "GET", Path: "/api/v1/audit", Perm: P(auth.PermAuditRead), Summary: "Audit entries in scope: after= oldest first; or newest first with before, tenant, actor, action (prefix), from, to, limit", h: s.listAuditQuery},
		{Method: "POST", Path: "/api/v1/jobs/qc", Perm: P(auth.PermJobSubmit), Summary: "Queue a QC job for a record's recording", Body: qcReq{}, h: s.submitQC},
		{Method: "GET", Path: "/api/v1/jobs", Perm: P(auth.PermJobRead), Summary: "Job results in scope (?subject=record id)", h: s.listJobs},
	}
	return append(rs, s.reportRoutes()...) // reports.go
}

// Routes lists METHOD PATH of every API route (for tests and docs).
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = r.Method + " " + r.Path
	}
	return out
}

// inScope is a console filter for c's tenants.
func (c *caller) inScope(t string) bool { return c.scope.Contains(t) }

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req loginReq
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	u, err := s.db.UserByName(ctx, req.Username)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Spend the same time as a real check so timing does not reveal
			// which usernames exist.
			_, _ = auth.CheckPassword(dummyHash, req.Password)
			return auth.ErrBadCredentials
		}
		return err
	}
	sys := store.System()
	ok, err := auth.CheckPassword(u.PasswordHash, req.Password)
	if err != nil {
		return err
	}
	if ok && u.TOTPSecret != "" {
		secret, derr := s.opts.Cipher.Decrypt("totp", u.TOTPSecret)
		if derr != nil {
			return derr
		}
		ok = auth.CheckTOTP(secret, req.TOTP, s.opts.Now())
	}
	if !ok {
		n := u.FailedLogins + 1
		up := store.UserUpdate{FailedLogins: &n}
		if n >= 5 {
			frozen := true
			up.Frozen = &frozen
		}
		_ = s.db.UpdateUser(ctx, sys, u.ID, up)
		s.audit(ctx, &caller{user: u}, u.TenantID, "auth.login", u.ID, nil, map[string]int{"failed_logins": n}, auth.ErrBadCredentials)
		return auth.ErrBadCredentials
	}
	if u.Frozen {
		return fmt.Errorf("%w: account frozen", errUnauthorized)
	}
	t, err := s.db.Tenant(ctx, sys, u.TenantID)
	if err != nil {
		return err
	}
	if !t.Whitelisted {
		return fmt.Errorf("%w: tenant %s is not whitelisted", errForbidden, t.ID)
	}
	if u.FailedLogins != 0 {
		zero := 0
		_ = s.db.UpdateUser(ctx, sys, u.ID, store.UserUpdate{FailedLogins: &zero})
	}
	tok, hash := auth.NewToken()
	now := s.opts.Now()
	if err := s.db.CreateSession(ctx, store.Session{TokenHash: hash, UserID: u.ID, TenantID: u.TenantID, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}); err != nil {
		return err
	}
	s.audit(ctx, &caller{user: u}, u.TenantID, "auth.login", u.ID, nil, nil, nil)
	writeJSON(w, 200, map[string]any{"token": tok, "expires_at": now.Add(s.opts.SessionTTL), "user": u, "must_change_password": u.MustChange})
	return nil
}

var dummyHash, _ = auth.HashPassword("timing-equaliser-0")

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.db.DeleteSessions(r.Context(), c.user.ID, c.token); err != nil {
		return err
	}
	s.cache.dropUser(c.user.ID)
	s.audit(r.Context(), c, c.user.TenantID, "auth.logout", c.user.ID, nil, nil, nil)
	w.WriteHeader(204)
	return nil
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request, c *caller) error {
	writeJSON(w, 200, map[string]any{"user": c.user, "province": c.scope.All(), "tenants": c.scope.Tenants()})
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req passwordReq
	if err := decode(r, &req); err != nil {
		return err
	}
	ok, err := auth.CheckPassword(c.user.PasswordHash, req.Old)
	if err != nil {
		return err
	}
	if !ok {
		return auth.ErrBadCredentials
	}
	if err := auth.CheckStrength(req.New); err != nil {
		return err
	}
	h, err := auth.HashPassword(req.New)
	if err != nil {
		return err
	}
	f := false
	err = s.db.UpdateUser(r.Context(), store.System(), c.user.ID, store.UserUpdate{PasswordHash: &h, MustChange: &f})
	s.cache.dropUser(c.user.ID)
	return s.auditedDone(w, r.Context(), c, c.user.TenantID, "user.password", c.user.ID, nil, nil, err)
}

// pendingTOTP holds secrets between enrolment start and confirm, stored
// encrypted in the user row only once confirmed.
func (s *Server) totpStart(w http.ResponseWriter, r *http.Request, c *caller) error {
	secret, url, err := auth.NewTOTP("Witness", c.user.Username)
	if err != nil {
		return err
	}
	enc, err := s.opts.Cipher.Encrypt("totp-pending", secret)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]string{"secret": secret, "url": url, "pending": enc})
	return nil
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req struct {
		Code    string `json:"code"`
		Pending string `json:"pending"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	secret, err := s.opts.Cipher.Decrypt("totp-pending", req.Pending)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if !auth.CheckTOTP(secret, req.Code, s.opts.Now()) {
		return auth.ErrBadCredentials
	}
	enc, err := s.opts.Cipher.Encrypt("totp", secret)
	if err != nil {
		return err
	}
	err = s.db.UpdateUser(r.Context(), store.System(), c.user.ID, store.UserUpdate{TOTPSecret: &enc})
	s.cache.dropUser(c.user.ID)
	return s.auditedDone(w, r.Context(), c, c.user.TenantID, "user.totp_enrol", c.user.ID, nil, nil, err)
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request, c *caller) error {
	ts, err := s.db.Tenants(r.Context(), c.scope)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"tenants": nonNil(ts)})
	return nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req tenantReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := req.Settings.Hours.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	t := store.Tenant(req)
	err := s.db.CreateTenant(r.Context(), c.scope, t)
	s.audit(r.Context(), c, t.ParentID, "tenant.create", t.ID, nil, t, err)
	if err != nil {
		return err
	}
	if err := s.eng.SetTenant(t.ID, t.Whitelisted, t.Settings); err != nil {
		return err
	}
	s.invalidateScopes()
	writeJSON(w, 201, t)
	return nil
}

// invalidateScopes drops cached sessions: the tenant tree changed, so
// scopes must be rebuilt.
func (s *Server) invalidateScopes() {
	s.cache.mu.Lock()
	clear(s.cache.m)
	s.cache.mu.Unlock()
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.db.Tenant(r.Context(), c.scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, t)
	return nil
}

func (s *Server) putTenant(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req tenantReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := req.Settings.Hours.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	id := r.PathValue("id")
	before, err := s.db.Tenant(r.Context(), c.scope, id)
	if err != nil {
		return err
	}
	if id == c.user.TenantID && !c.scope.All() && req.Whitelisted != before.Whitelisted {
		return fmt.Errorf("%w: a tenant cannot change its own whitelisting", errForbidden)
	}
	after := before
	after.Name, after.Whitelisted, after.Settings = req.Name, req.Whitelisted, req.Settings
	// Queues and routes are managed by PUT .../queues; keep them.
	after.Settings.Routing = before.Settings.Routing
	err = s.db.UpdateTenant(r.Context(), c.scope, after)
	s.audit(r.Context(), c, id, "tenant.update", id, before, after, err)
	if err != nil {
		return err
	}
	if err := s.eng.SetTenant(id, after.Whitelisted, after.Settings); err != nil {
		return err
	}
	s.invalidateScopes() // whitelist changes take effect on open sessions at once
	writeJSON(w, 200, after)
	return nil
}

func (s *Server) raiseQuota(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req raiseReq
	if err := decode(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	t, err := s.db.Tenant(r.Context(), c.scope, id)
	if err != nil {
		return err
	}
	before := t.Settings.Quotas
	t.Settings.Quotas.RaisedCalls, t.Settings.Quotas.RaisedRecs, t.Settings.Quotas.RaisedUntil = req.Calls, req.Recordings, req.Until
	err = s.db.UpdateTenant(r.Context(), c.scope, t)
	if err == nil {
		err = s.eng.RaiseQuota(id, req.Calls, req.Recordings, req.Until)
	}
	s.audit(r.Context(), c, id, "tenant.quota_raise", id, before, t.Settings.Quotas, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, t.Settings.Quotas)
	return nil
}

func (s *Server) putQueues(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req queuesReq
	if err := decode(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	t, err := s.db.Tenant(r.Context(), c.scope, id)
	if err != nil {
		return err
	}
	before := t.Settings.Routing
	err = s.eng.Configure(id, req.Queues, req.Routes)
	if err == nil {
		// Persisted in the tenant's settings so a restart restores it.
		t.Settings.Routing, _ = json.Marshal(req)
		err = s.db.UpdateTenant(r.Context(), c.scope, t)
	}
	s.audit(r.Context(), c, id, "queue.configure", id, before, req, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, req)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	us, err := s.db.Users(r.Context(), c.scope, r.URL.Query().Get("tenant"), r.URL.Query().Get("role"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"users": nonNil(us)})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req userReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if !auth.MayGrant(c.user.Role, req.Role) {
		return fmt.Errorf("%w: %s may not create %q users", errForbidden, c.user.Role, req.Role)
	}
	if req.Role == auth.RoleProvinceAdmin {
		if t, err := s.db.Tenant(r.Context(), c.scope, req.TenantID); err != nil || t.Level != store.LevelProvince {
			return fmt.Errorf("%w: province admins belong to a province tenant", errForbidden)
		}
	}
	pw := auth.RandomPassword()
	h, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	if req.ID == "" {
		req.ID = "u-" + req.Username
	}
	u := store.User{ID: req.ID, TenantID: req.TenantID, Username: req.Username, DisplayName: req.DisplayName, Role: req.Role,
		PasswordHash: h, MustChange: true, Skills: req.Skills}
	err = s.db.CreateUser(r.Context(), c.scope, u)
	s.audit(r.Context(), c, req.TenantID, "user.create", u.ID, nil, u, err)
	if err != nil {
		return err
	}
	writeJSON(w, 201, map[string]any{"user": u, "initial_password": pw})
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := s.db.User(r.Context(), c.scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, u)
	return nil
}

// target loads a user c may administer (in scope and of a role c may grant).
func (s *Server) target(r *http.Request, c *caller) (store.User, error) {
	u, err := s.db.User(r.Context(), c.scope, r.PathValue("id"))
	if err != nil {
		return store.User{}, err
	}
	if !auth.MayGrant(c.user.Role, u.Role) {
		return store.User{}, fmt.Errorf("%w: %s may not manage %s users", errForbidden, c.user.Role, u.Role)
	}
	return u, nil
}

func (s *Server) freezeUser(freeze bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		u, err := s.target(r, c)
		if err != nil {
			return err
		}
		zero := 0
		err = s.db.UpdateUser(r.Context(), c.scope, u.ID, store.UserUpdate{Frozen: &freeze, FailedLogins: &zero})
		if err == nil && freeze {
			err = s.db.DeleteSessions(r.Context(), u.ID, "")
		}
		s.cache.dropUser(u.ID)
		action := map[bool]string{true: "user.freeze", false: "user.unfreeze"}[freeze]
		return s.auditedDone(w, r.Context(), c, u.TenantID, action, u.ID, map[string]bool{"frozen": u.Frozen}, map[string]bool{"frozen": freeze}, err)
	}
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := s.target(r, c)
	if err != nil {
		return err
	}
	pw := auth.RandomPassword()
	h, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	t := true
	err = s.db.UpdateUser(r.Context(), c.scope, u.ID, store.UserUpdate{PasswordHash: &h, MustChange: &t})
	if err == nil {
		err = s.db.DeleteSessions(r.Context(), u.ID, "")
	}
	s.cache.dropUser(u.ID)
	s.audit(r.Context(), c, u.TenantID, "user.reset_password", u.ID, nil, nil, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]string{"temporary_password": pw})
	return nil
}

var piiFields = []string{"id_number", "card_number", "phone"}

func (s *Server) putCustomer(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req customerReq
	if err := decode(r, &req); err != nil {
		return err
	}
	cu := store.Customer{ID: req.ID, TenantID: req.TenantID, Name: req.Name, Tags: req.Tags}
	plain := []string{req.IDNumber, req.CardNumber, req.Phone}
	dst := []*string{&cu.IDNumber, &cu.CardNumber, &cu.Phone}
	for i, f := range piiFields {
		enc, err := s.opts.Cipher.Encrypt(f, plain[i])
		if err != nil {
			return err
		}
		*dst[i] = enc
	}
	err := s.db.PutCustomer(r.Context(), c.scope, cu)
	// The audit trail keeps masked values only.
	s.audit(r.Context(), c, req.TenantID, "customer.put", req.ID, nil, s.maskedCustomer(req), err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, s.viewCustomer(c, cu))
	return nil
}

func (s *Server) maskedCustomer(req customerReq) customerReq {
	req.IDNumber, req.CardNumber, req.Phone = secure.Mask("id_number", req.IDNumber), secure.Mask("card_number", req.CardNumber), secure.Mask("phone", req.Phone)
	return req
}

// viewCustomer decrypts a customer and masks what c may not see.
func (s *Server) viewCustomer(c *caller, cu store.Customer) customerReq {
	out := customerReq{ID: cu.ID, TenantID: cu.TenantID, Name: cu.Name, Tags: nonNil(cu.Tags)}
	src := []string{cu.IDNumber, cu.CardNumber, cu.Phone}
	dst := []*string{&out.IDNumber, &out.CardNumber, &out.Phone}
	for i, f := range piiFields {
		v, err := s.opts.Cipher.Decrypt(f, src[i])
		if err != nil {
			s.log.Error("customer field does not decrypt", "customer", cu.ID, "field", f, "err", err)
			v = ""
		}
		if !c.can(auth.PermCustomerPII) {
			v = secure.Mask(f, v)
		}
		*dst[i] = v
	}
	return out
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request, c *caller) error {
	cu, err := s.db.Customer(r.Context(), c.scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, s.viewCustomer(c, cu))
	return nil
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	f := store.RecordFilter{TenantID: q.Get("tenant"), Within: q.Get("within"), AgentID: q.Get("agent"), CustomerID: q.Get("customer"), Business: q.Get("business"), Channel: q.Get("channel"),
		Status: q.Get("status"), QCVerdict: q.Get("qc")}
	switch f.QCVerdict {
	case "", "pass", "warn", "fail", "none":
	default:
		return fmt.Errorf("%w: qc %q: want pass, warn, fail or none", errBadRequest, f.QCVerdict)
	}
	if c.user.Role == auth.RoleAgent {
		f.AgentID = c.user.ID // agents see their own service records
	}
	var err error
	for _, p := range []struct {
		k string
		t *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.k); v != "" {
			if *p.t, err = time.Parse(time.RFC3339, v); err != nil {
				return fmt.Errorf("%w: %s: want RFC 3339", errBadRequest, p.k)
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("%w: limit", errBadRequest)
		}
	}
	rs, err := s.db.Records(r.Context(), c.scope, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"records": nonNil(rs)})
	return nil
}

// visibleRecord reads record id in the caller's scope. An agent sees only
// the records of its own calls; another agent's answers as not found, so
// that ids cannot be probed.
func (s *Server) visibleRecord(ctx context.Context, c *caller, id string) (store.Record, error) {
	rec, err := s.db.Record(ctx, c.scope, id)
	if err != nil {
		return rec, err
	}
	if c.user.Role == auth.RoleAgent && rec.AgentID != c.user.ID {
		return store.Record{}, fmt.Errorf("record %s: %w", id, store.ErrNotFound)
	}
	return rec, nil
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	rec, err := s.visibleRecord(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, rec)
	return nil
}

func (s *Server) putSummary(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req store.RecordSummary
	if err := decode(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if s.rw != nil {
		// The call's end may still be queued for writing.
		s.rw.Sync()
	}
	rec, err := s.visibleRecord(r.Context(), c, id)
	if err != nil {
		return err
	}
	err = s.db.SetRecordSummary(r.Context(), c.scope, id, req)
	return s.auditedDone(w, r.Context(), c, rec.TenantID, "record.summary", id, store.RecordSummary{Summary: rec.Summary, SummaryOptions: rec.SummaryOptions, CustomerTags: rec.CustomerTags, Rating: rec.Rating}, req, err)
}

func (s *Server) putItems(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req store.RecordItems
	if err := decode(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if s.rw != nil {
		s.rw.Sync()
	}
	rec, err := s.visibleRecord(r.Context(), c, id)
	if err != nil {
		return err
	}
	for i := range req.Chat {
		if req.Chat[i].At.IsZero() {
			req.Chat[i].At = s.opts.Now().UTC()
		}
	}
	err = s.db.AppendRecordItems(r.Context(), c.scope, id, req)
	return s.auditedDone(w, r.Context(), c, rec.TenantID, "record.items", id, nil, map[string]int{"chat": len(req.Chat), "files": len(req.Files), "markers": len(req.Markers)}, err)
}

// rate takes the customer's rating. The ticket token is the customer's
// capability; the record is found under the system scope because the
// customer has no account (the token proves which record it is).
func (s *Server) rate(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := s.checkTicketToken(r, id); err != nil {
		return err
	}
	var req ratingReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if s.rw != nil {
		s.rw.Sync()
	}
	rec, err := s.db.Record(r.Context(), store.System(), id)
	if err != nil {
		return err
	}
	if rec.Status != "ended" {
		return fmt.Errorf("record %s is %s: rate after the call: %w", id, rec.Status, store.ErrConflict)
	}
	err = s.db.SetRecordRating(r.Context(), store.System(), id, req.Rating)
	return s.auditedDone(w, r.Context(), nil, rec.TenantID, "record.rating", id, map[string]int{"rating": rec.Rating}, req, err)
}

func (s *Server) submitQC(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req qcReq
	if err := decode(r, &req); err != nil {
		return err
	}
	rec, err := s.db.Record(r.Context(), c.scope, req.RecordID)
	if err != nil {
		return err
	}
	if s.opts.Jobs == nil {
		return fmt.Errorf("%w: no job queue in this process", errUnavailable)
	}
	id, err := s.opts.Jobs.SubmitQC(r.Context(), rec.TenantID, rec.ID, req.Path)
	s.audit(r.Context(), c, rec.TenantID, "job.qc_submit", rec.ID, nil, map[string]string{"job_id": id, "path": req.Path}, err)
	if err != nil {
		return err
	}
	writeJSON(w, 202, map[string]string{"job_id": id})
	return nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, c *caller) error {
	js, err := s.db.JobResults(r.Context(), c.scope, r.URL.Query().Get("subject"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"jobs": nonNil(js)})
	return nil
}
