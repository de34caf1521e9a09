package console

import (
	"fmt"
	"slices"
	"time"
)

// AgentInfo registers an agent at sign-in.
type AgentInfo struct {
	ID       string         `json:"id"`
	TenantID string         `json:"tenant_id"`
	Queues   []string       `json:"queues"`
	Skills   map[string]int `json:"skills,omitempty"`
	// Name is shown on supervisors' seat maps (they may not list users).
	Name string `json:"name,omitempty"`
}

// SignIn signs an agent in (state signed_in, not yet taking calls) or
// updates the queues and skills of one already signed in.
func (e *Engine) SignIn(info AgentInfo) (Agent, error) {
	if info.ID == "" || info.TenantID == "" {
		return Agent{}, fmt.Errorf("sign in needs agent and tenant: %w", ErrInvalid)
	}
	e.mu.Lock()
	defer e.unlock()
	ts := e.tenants[info.TenantID]
	if ts == nil || !ts.whitelisted {
		return Agent{}, fmt.Errorf("tenant %s: %w", info.TenantID, ErrTenantBlocked)
	}
	a := e.agents[info.ID]
	if a == nil {
		a = &Agent{ID: info.ID, TenantID: info.TenantID, State: StateSignedOut, Since: e.opts.Clock.Now()}
		e.agents[info.ID] = a
	}
	if a.TenantID != info.TenantID {
		return Agent{}, fmt.Errorf("agent %s: %w", info.ID, ErrInvalid)
	}
	a.Queues, a.Skills, a.Name = slices.Clone(info.Queues), info.Skills, info.Name
	if a.State == StateSignedOut {
		a.Calls = 0
		e.setState(a, StateSignedIn, "sign in", "")
	}
	e.dispatchAll()
	return e.copyAgent(a), nil
}

func (e *Engine) copyAgent(a *Agent) Agent {
	c := *a
	c.Queues = slices.Clone(a.Queues)
	return c
}

// SetState changes an agent's own state. Ringing and in-call belong to the
// engine; an agent who is ringing or in a call must answer, decline or end
// it first.
func (e *Engine) SetState(agentID string, to AgentState, reason string) (Agent, error) {
	return e.changeState(agentID, to, reason, "")
}

// Force changes an agent's state on a supervisor's order (recorded with
// the supervisor's id). A ringing customer goes back to the head of the
// queue; a call in progress cannot be forced.
func (e *Engine) Force(agentID string, to AgentState, by string) (Agent, error) {
	if by == "" {
		return Agent{}, fmt.Errorf("force needs the supervisor: %w", ErrInvalid)
	}
	return e.changeState(agentID, to, "forced", by)
}

func (e *Engine) changeState(agentID string, to AgentState, reason, by string) (Agent, error) {
	if !manualStates[to] {
		return Agent{}, fmt.Errorf("state %q: %w", to, ErrInvalid)
	}
	e.mu.Lock()
	defer e.unlock()
	a := e.agents[agentID]
	if a == nil {
		return Agent{}, fmt.Errorf("agent %s: %w", agentID, ErrNotFound)
	}
	switch a.State {
	case StateInCall:
		return Agent{}, fmt.Errorf("agent %s is in a call: %w", agentID, ErrState)
	case StateRinging:
		if by == "" {
			return Agent{}, fmt.Errorf("agent %s is ringing: answer or decline: %w", agentID, ErrState)
		}
		if t := e.tickets[a.TicketID]; t != nil {
			e.returnTicket(t, "agent forced to "+string(to))
		}
	case StateSignedOut:
		if to != StateSignedOut && to != StateSignedIn {
			return Agent{}, fmt.Errorf("agent %s is signed out: sign in first: %w", agentID, ErrState)
		}
	}
	if a.State == to {
		return e.copyAgent(a), nil
	}
	a.wrapEnd = time.Time{}
	if to == StateWrapUp {
		// A manual wrap-up has no timer: the agent ends it.
		a.wrapEnd = time.Time{}
	}
	e.setState(a, to, reason, by)
	e.dispatchAll()
	return e.copyAgent(a), nil
}

// Agent returns one agent.
func (e *Engine) Agent(id string) (Agent, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.agents[id]
	if a == nil {
		return Agent{}, false
	}
	return e.copyAgent(a), true
}

// Agents lists agents of the tenants inScope accepts, by id.
func (e *Engine) Agents(inScope func(tenant string) bool) []Agent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Agent
	for _, a := range e.sortedAgents() {
		if inScope(a.TenantID) {
			out = append(out, e.copyAgent(a))
		}
	}
	return out
}

// Pool lists the customers an agent may grab: waiting tickets of the grab
// queues the agent serves, in queue order.
func (e *Engine) Pool(agentID string) ([]Ticket, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.agents[agentID]
	if a == nil {
		return nil, fmt.Errorf("agent %s: %w", agentID, ErrNotFound)
	}
	now := e.opts.Clock.Now()
	var out []Ticket
	for _, k := range e.queueKeys() {
		q := e.queues[k]
		if q.cfg.Strategy != Grab || !e.qualified(q, a) {
			continue
		}
		for _, t := range q.ordered(now) {
			out = append(out, e.copyTicket(t))
		}
	}
	return out, nil
}

// Grab takes a customer from the pool: the first agent wins and is
// connected at once; later ones get ErrTaken.
func (e *Engine) Grab(agentID, ticketID string) (Ticket, error) {
	e.mu.Lock()
	defer e.unlock()
	a, t := e.agents[agentID], e.tickets[ticketID]
	if a == nil {
		return Ticket{}, fmt.Errorf("agent %s: %w", agentID, ErrNotFound)
	}
	if t == nil || t.TenantID != a.TenantID {
		return Ticket{}, fmt.Errorf("grab %s: %w", ticketID, ErrTaken)
	}
	if t.State != TicketWaiting {
		return Ticket{}, fmt.Errorf("grab %s: %w", ticketID, ErrTaken)
	}
	q := e.queues[qkey(t.TenantID, t.Queue)]
	if q == nil || q.cfg.Strategy != Grab || !e.qualified(q, a) {
		return Ticket{}, fmt.Errorf("grab %s by %s: %w", ticketID, agentID, ErrNotQualified)
	}
	if a.State != StateIdle {
		return Ticket{}, fmt.Errorf("grab by %s (%s): %w", agentID, a.State, ErrState)
	}
	if !e.quotaLeft(t.TenantID) {
		return Ticket{}, fmt.Errorf("grab %s: %w", ticketID, ErrQuota)
	}
	q.remove(t)
	e.connect(a, t, "grabbed")
	e.notify(q)
	return e.copyTicket(t), nil
}

// AcquireRecording reserves one of the tenant's simultaneous recordings;
// call release when the recording ends. ErrQuota when none is left.
func (e *Engine) AcquireRecording(tenantID string) (release func(), err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.tenants[tenantID]
	if ts == nil {
		return nil, fmt.Errorf("tenant %s: %w", tenantID, ErrNotFound)
	}
	if lim := ts.quotas.Recordings(e.opts.Clock.Now()); lim > 0 && ts.recordings >= lim {
		return nil, fmt.Errorf("tenant %s recordings (%d of %d): %w", tenantID, ts.recordings, lim, ErrQuota)
	}
	ts.recordings++
	released := false
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !released {
			released = true
			ts.recordings--
		}
	}, nil
}
