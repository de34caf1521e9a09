package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/store"
)

// Caller is the signed-in user of a request to a handler mounted next to
// the API (signaling tokens, markers), with the tenant scope the store
// enforces.
type Caller struct {
	User  store.User
	Scope store.Scope
}

// Can reports whether the caller's role grants p.
func (c *Caller) Can(p auth.Perm) bool { return auth.Can(c.User.Role, p) }

// Authenticate checks a request's bearer token by the API's rules (a
// generated password must be changed first) and that the role grants
// perm ("" = any signed-in user).
func (s *Server) Authenticate(r *http.Request, perm auth.Perm) (*Caller, error) {
	c, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	if c.user.MustChange {
		return nil, fmt.Errorf("%w: change your password first (POST /api/v1/me/password)", errForbidden)
	}
	if perm != "" && !c.can(perm) {
		return nil, fmt.Errorf("%w: role %s lacks %s", errForbidden, c.user.Role, perm)
	}
	return &Caller{User: c.user, Scope: c.scope}, nil
}

// Fail writes err as the API does (status from the sentinel in its chain,
// JSON body, internal errors logged and not shown).
func (s *Server) Fail(w http.ResponseWriter, r *http.Request, err error) { s.fail(w, r, err) }

// CheckTicketToken checks a customer's ticket token (?token= or
// X-Ticket-Token) for ticketID; a mismatch reads as an unknown ticket.
func (s *Server) CheckTicketToken(r *http.Request, ticketID string) error {
	return s.checkTicketToken(r, ticketID)
}

// VisibleRecord reads a service record as the API's record routes do: in
// the caller's scope, and for an agent only the records of its own calls
// (anything else is store.ErrNotFound).
func (s *Server) VisibleRecord(ctx context.Context, c *Caller, id string) (store.Record, error) {
	return s.visibleRecord(ctx, &caller{user: c.User, scope: c.Scope}, id)
}
