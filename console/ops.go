package console

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Tick evaluates every timer at the clock's current time: ring timeouts,
// wrap-up ends, max waits, appointment reminders and due appointments.
func (e *Engine) Tick() {
	e.mu.Lock()
	defer e.unlock()
	now := e.opts.Clock.Now()
	// Ring timeouts, in ticket order for determinism.
	var ringing []*Ticket
	for _, t := range e.tickets {
		if t.State == TicketRinging && !now.Before(t.ringDeadline) {
			ringing = append(ringing, t)
		}
	}
	sort.Slice(ringing, func(i, j int) bool { return ringing[i].seq < ringing[j].seq })
	for _, t := range ringing {
		e.returnTicket(t, "ring timeout")
	}
	for _, a := range e.sortedAgents() {
		if a.State == StateWrapUp && !a.wrapEnd.IsZero() && !now.Before(a.wrapEnd) {
			a.wrapEnd = time.Time{}
			e.setState(a, StateIdle, "wrap-up ended", "")
		}
	}
	for _, k := range e.queueKeys() {
		q := e.queues[k]
		if q.cfg.MaxWait <= 0 {
			continue
		}
		for _, t := range slices.Clone(q.waiting) {
			if now.Sub(t.JoinedAt) >= q.cfg.MaxWait {
				q.remove(t)
				t.State, t.EndedAt = TicketTimeout, now
				delete(e.tickets, t.ID)
				e.emit(Event{Kind: EvTimeout, TenantID: t.TenantID, Ticket: t, Wait: now.Sub(t.JoinedAt), Reason: "max wait"})
				e.notify(q)
			}
		}
	}
	e.tickAppointments(now)
	e.dispatchAll()
}

func (e *Engine) sortedAgents() []*Agent {
	out := make([]*Agent, 0, len(e.agents))
	for _, a := range e.agents {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (e *Engine) queueKeys() []string {
	keys := make([]string, 0, len(e.queues))
	for k := range e.queues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// returnTicket puts a ringing ticket back at the head of its queue with a
// raised priority; the agent who did not answer goes to the queue's
// no-answer state (busy by default) so the next free agent gets it.
func (e *Engine) returnTicket(t *Ticket, reason string) {
	q := e.queues[qkey(t.TenantID, t.Queue)]
	if a := e.agents[t.AgentID]; a != nil && a.TicketID == t.ID {
		a.TicketID = ""
		next := StateBusy
		if q != nil {
			next = q.cfg.NoAnswerState
		}
		e.setState(a, next, reason+" "+t.ID, "")
	}
	if t.declined == nil {
		t.declined = map[string]bool{}
	}
	t.declined[t.AgentID] = true
	t.RingTimeouts++
	t.State, t.AgentID = TicketWaiting, ""
	if q == nil {
		delete(e.tickets, t.ID)
		return
	}
	q.waiting = append(q.waiting, t)
	e.emit(Event{Kind: EvReturned, TenantID: t.TenantID, Ticket: t, Reason: reason})
	e.notify(q)
}

// Answer connects the ticket ringing at agentID.
func (e *Engine) Answer(agentID, ticketID string) (Ticket, error) {
	e.mu.Lock()
	defer e.unlock()
	a, t := e.agents[agentID], e.tickets[ticketID]
	if a == nil || t == nil {
		return Ticket{}, fmt.Errorf("answer %s by %s: %w", ticketID, agentID, ErrNotFound)
	}
	if t.State != TicketRinging || t.AgentID != agentID || a.State != StateRinging {
		return Ticket{}, fmt.Errorf("answer %s (%s) by %s (%s): %w", ticketID, t.State, agentID, a.State, ErrState)
	}
	e.connect(a, t, "answered")
	return e.copyTicket(t), nil
}

func (e *Engine) connect(a *Agent, t *Ticket, reason string) {
	now := e.opts.Clock.Now()
	t.State, t.AgentID, t.AnsweredAt = TicketConnected, a.ID, now
	a.TicketID = t.ID
	a.Calls++
	e.last[t.TenantID+"/"+t.CustomerID] = a.ID
	e.setState(a, StateInCall, reason+" "+t.ID, "")
	e.emit(Event{Kind: EvAnswered, TenantID: t.TenantID, Ticket: t, Wait: now.Sub(t.JoinedAt)})
	// The customer's position stream shows the answer.
	if q := e.queues[qkey(t.TenantID, t.Queue)]; q != nil {
		e.notify(q)
	}
}

// Decline sends a ringing ticket back (the agent refused it).
func (e *Engine) Decline(agentID, ticketID string) error {
	e.mu.Lock()
	defer e.unlock()
	t := e.tickets[ticketID]
	if t == nil || t.State != TicketRinging || t.AgentID != agentID {
		return fmt.Errorf("decline %s by %s: %w", ticketID, agentID, ErrState)
	}
	e.returnTicket(t, "declined")
	e.dispatchAll()
	return nil
}

// End ends a connected call; the agent goes to wrap-up (or idle when the
// queue has no wrap-up time).
func (e *Engine) End(ticketID string) (Ticket, error) {
	e.mu.Lock()
	defer e.unlock()
	t := e.tickets[ticketID]
	if t == nil {
		return Ticket{}, fmt.Errorf("end %s: %w", ticketID, ErrNotFound)
	}
	if t.State != TicketConnected {
		return Ticket{}, fmt.Errorf("end %s (%s): %w", ticketID, t.State, ErrState)
	}
	now := e.opts.Clock.Now()
	t.State, t.EndedAt = TicketEnded, now
	delete(e.tickets, t.ID)
	q := e.queues[qkey(t.TenantID, t.Queue)]
	if q != nil {
		// Exponential moving average of handle time for wait estimates.
		q.avgHandle = (q.avgHandle*7 + now.Sub(t.AnsweredAt) + q.cfg.WrapUp) / 8
	}
	if a := e.agents[t.AgentID]; a != nil && a.TicketID == t.ID {
		a.TicketID = ""
		if q != nil && q.cfg.WrapUp > 0 {
			a.wrapEnd = now.Add(q.cfg.WrapUp)
			e.setState(a, StateWrapUp, "call ended "+t.ID, "")
		} else {
			e.setState(a, StateIdle, "call ended "+t.ID, "")
		}
	}
	e.emit(Event{Kind: EvEnded, TenantID: t.TenantID, Ticket: t})
	if q != nil {
		e.notify(q) // the customer's stream ends ("gone")
	}
	e.dispatchAll()
	return e.copyTicket(t), nil
}

// Leave removes a waiting or ringing customer (they gave up).
func (e *Engine) Leave(ticketID string) error {
	e.mu.Lock()
	defer e.unlock()
	t := e.tickets[ticketID]
	if t == nil {
		return fmt.Errorf("leave %s: %w", ticketID, ErrNotFound)
	}
	if t.State == TicketConnected {
		return fmt.Errorf("leave %s: in a call, end it instead: %w", ticketID, ErrState)
	}
	now := e.opts.Clock.Now()
	q := e.queues[qkey(t.TenantID, t.Queue)]
	if t.State == TicketRinging {
		if a := e.agents[t.AgentID]; a != nil && a.TicketID == t.ID {
			a.TicketID = ""
			e.setState(a, StateIdle, "customer left "+t.ID, "")
		}
	} else if q != nil {
		q.remove(t)
	}
	t.State, t.EndedAt = TicketLeft, now
	delete(e.tickets, t.ID)
	e.emit(Event{Kind: EvLeft, TenantID: t.TenantID, Ticket: t, Wait: now.Sub(t.JoinedAt)})
	if q != nil {
		e.notify(q)
	}
	e.dispatchAll()
	return nil
}

// Assign rings a specific idle agent for a waiting ticket (manual routing
// by a supervisor). The agent need not serve the ticket's queue but must
// belong to its tenant; the tenant's quota still applies.
func (e *Engine) Assign(ticketID, agentID, by string) error {
	e.mu.Lock()
	defer e.unlock()
	t, a := e.tickets[ticketID], e.agents[agentID]
	if t == nil || a == nil || a.TenantID != t.TenantID {
		return fmt.Errorf("assign %s to %s: %w", ticketID, agentID, ErrNotFound)
	}
	if t.State != TicketWaiting || a.State != StateIdle {
		return fmt.Errorf("assign %s (%s) to %s (%s): %w", ticketID, t.State, agentID, a.State, ErrState)
	}
	if !e.quotaLeft(t.TenantID) {
		return fmt.Errorf("assign %s: %w", ticketID, ErrQuota)
	}
	q := e.queues[qkey(t.TenantID, t.Queue)]
	e.ring(q, t, a, by)
	e.notify(q)
	return nil
}

// CutIn moves a waiting ticket ahead of everyone not cut in (插队).
func (e *Engine) CutIn(ticketID string) error {
	e.mu.Lock()
	defer e.unlock()
	t := e.tickets[ticketID]
	if t == nil || t.State != TicketWaiting {
		return fmt.Errorf("cut in %s: %w", ticketID, ErrNotFound)
	}
	t.CutIn = true
	q := e.queues[qkey(t.TenantID, t.Queue)]
	e.notify(q)
	e.dispatch(q)
	return nil
}

// Ticket returns a live ticket.
func (e *Engine) Ticket(id string) (Ticket, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tickets[id]
	if t == nil {
		return Ticket{}, false
	}
	return e.copyTicket(t), true
}

// Tickets lists a tenant's live tickets in queue order (waiting first, by
// queue), for supervisors.
func (e *Engine) Tickets(inScope func(tenant string) bool) []Ticket {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Clock.Now()
	var out []Ticket
	for _, k := range e.queueKeys() {
		q := e.queues[k]
		if !inScope(q.cfg.TenantID) {
			continue
		}
		for _, t := range q.ordered(now) {
			out = append(out, e.copyTicket(t))
		}
	}
	var other []Ticket
	for _, t := range e.tickets {
		if t.State != TicketWaiting && inScope(t.TenantID) {
			other = append(other, e.copyTicket(t))
		}
	}
	sort.Slice(other, func(i, j int) bool { return other[i].seq < other[j].seq })
	return append(out, other...)
}

// Position tells a customer where they stand.
func (e *Engine) Position(ticketID string) (Position, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tickets[ticketID]
	if t == nil {
		return Position{}, fmt.Errorf("ticket %s: %w", ticketID, ErrNotFound)
	}
	q := e.queues[qkey(t.TenantID, t.Queue)]
	p := Position{TicketID: t.ID, State: t.State, AgentID: t.AgentID}
	if q == nil {
		return p, nil
	}
	p.QueueLength = len(q.waiting)
	if t.State != TicketWaiting {
		return p, nil
	}
	now := e.opts.Clock.Now()
	mine := q.rank(t, now)
	// Count who is ahead without sorting the queue: same order as ordered.
	pos := 1
	for _, o := range q.waiting {
		if o == t {
			continue
		}
		if o.CutIn != t.CutIn {
			if o.CutIn {
				pos++
			}
			continue
		}
		r := q.rank(o, now)
		if r > mine || (r == mine && o.seq < t.seq) {
			pos++
		}
	}
	p.Position = pos
	serving := 0
	for _, a := range e.agents {
		if a.State != StateSignedOut && e.qualified(q, a) {
			serving++
		}
	}
	serving = max(serving, 1)
	p.EstimatedWait = time.Duration((pos+serving-1)/serving) * q.avgHandle
	return p, nil
}

// Watch returns a channel that receives (coalesced) whenever the ticket's
// queue changes, and a function to stop watching. The receiver calls
// Position to read the new state.
func (e *Engine) Watch(ticketID string) (<-chan struct{}, func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tickets[ticketID]
	if t == nil {
		return nil, nil, fmt.Errorf("ticket %s: %w", ticketID, ErrNotFound)
	}
	q := e.queues[qkey(t.TenantID, t.Queue)]
	if q == nil {
		return nil, nil, fmt.Errorf("queue of %s: %w", ticketID, ErrNotFound)
	}
	w := &watcher{ch: make(chan struct{}, 1)}
	q.watchers[w] = struct{}{}
	return w.ch, func() {
		e.mu.Lock()
		delete(q.watchers, w)
		e.mu.Unlock()
	}, nil
}
