package console

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/witness-media/witness/internal/tenant"
)

// Options configure an Engine.
type Options struct {
	Clock Clock
	// Handler receives every event, outside the engine's lock, in order
	// per call. It must not block for long (hand off to a queue).
	Handler func(Event)
	// Rand seeds the random strategy (tests pass a fixed source).
	Rand *rand.Rand
	// ReminderLead is how long before an appointment its reminder fires
	// (default 15m); AppointmentBoost is the priority an appointment's
	// customer enters the queue with (default 50).
	ReminderLead     time.Duration
	AppointmentBoost int
	// NewID makes ticket and appointment ids (default: a counter with a
	// prefix).
	NewID func(prefix string) string
}

type queueState struct {
	cfg       QueueConfig
	waiting   []*Ticket // unordered; ordered on demand by rank
	lastRR    string
	avgHandle time.Duration
	watchers  map[*watcher]struct{}
}

type tenantState struct {
	businesses  []string // catalogue codes; empty = any business
	whitelisted bool
	hours       tenant.Hours
	quotas      tenant.Quotas
	recordings  int
}

type watcher struct{ ch chan struct{} }

// Engine is the queueing and routing engine. Its methods are safe for
// concurrent use.
type Engine struct {
	opts    Options
	mu      sync.Mutex
	seq     int64
	tenants map[string]*tenantState
	queues  map[string]*queueState // tenant/name
	routes  map[string][]Route     // by tenant
	tickets map[string]*Ticket     // live tickets (waiting, ringing, connected)
	agents  map[string]*Agent
	last    map[string]string // tenant/customer -> agent who last served
	appts   map[string]*Appointment
	pending []Event
	// delivering serialises handler calls so events arrive in order.
	deliver sync.Mutex
}

// New returns an engine with no tenants, queues or agents.
func New(opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	}
	if opts.ReminderLead <= 0 {
		opts.ReminderLead = 15 * time.Minute
	}
	if opts.AppointmentBoost == 0 {
		opts.AppointmentBoost = 50
	}
	e := &Engine{opts: opts, tenants: map[string]*tenantState{}, queues: map[string]*queueState{}, routes: map[string][]Route{},
		tickets: map[string]*Ticket{}, agents: map[string]*Agent{}, last: map[string]string{}, appts: map[string]*Appointment{}}
	if e.opts.NewID == nil {
		e.opts.NewID = func(prefix string) string { return fmt.Sprintf("%s%d", prefix, e.seq) }
	}
	return e
}

// Run evaluates timers (ring timeouts, wrap-up, max wait, appointments)
// every interval until ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			e.Tick()
		}
	}
}

func qkey(tenantID, name string) string { return tenantID + "/" + name }

// unlock releases the lock and delivers the events collected under it.
func (e *Engine) unlock() {
	evs := e.pending
	e.pending = nil
	// Queue watchers are signalled without blocking (a one-slot channel).
	e.deliver.Lock()
	e.mu.Unlock()
	defer e.deliver.Unlock()
	if e.opts.Handler != nil {
		for _, ev := range evs {
			e.opts.Handler(ev)
		}
	}
}

func (e *Engine) emit(ev Event) {
	ev.At = e.opts.Clock.Now()
	if ev.Ticket != nil {
		c := *ev.Ticket
		c.declined = nil
		ev.Ticket = &c
	}
	if ev.Appointment != nil {
		c := *ev.Appointment
		ev.Appointment = &c
	}
	e.pending = append(e.pending, ev)
}

// SetTenant installs or replaces a tenant's settings.
func (e *Engine) SetTenant(id string, whitelisted bool, s tenant.Settings) error {
	if err := s.Hours.Validate(); err != nil {
		return fmt.Errorf("tenant %s: %w: %v", id, ErrInvalid, err)
	}
	e.mu.Lock()
	defer e.unlock()
	ts := e.tenants[id]
	if ts == nil {
		ts = &tenantState{}
		e.tenants[id] = ts
	}
	ts.whitelisted, ts.hours, ts.quotas = whitelisted, s.Hours, s.Quotas
	ts.businesses = ts.businesses[:0]
	for _, b := range s.Businesses {
		ts.businesses = append(ts.businesses, b.Code)
	}
	e.dispatchAll()
	return nil
}

// RaiseQuota raises a tenant's call and recording limits until the given
// time (a temporary raise for a campaign).
func (e *Engine) RaiseQuota(tenantID string, calls, recordings int, until time.Time) error {
	e.mu.Lock()
	defer e.unlock()
	ts := e.tenants[tenantID]
	if ts == nil {
		return fmt.Errorf("tenant %s: %w", tenantID, ErrNotFound)
	}
	ts.quotas.RaisedCalls, ts.quotas.RaisedRecs, ts.quotas.RaisedUntil = calls, recordings, until
	e.dispatchAll()
	return nil
}

// Configure replaces a tenant's queues and routes. Waiting customers of a
// removed queue stay where they are until served or gone.
func (e *Engine) Configure(tenantID string, queues []QueueConfig, routes []Route) error {
	names := map[string]bool{}
	for i := range queues {
		q := &queues[i]
		if q.Name == "" {
			return fmt.Errorf("queue without a name: %w", ErrInvalid)
		}
		switch q.Strategy {
		case "", LongestIdle, LeastCalls, RoundRobin, Random, Preferred, SkillBased, Grab:
		default:
			return fmt.Errorf("queue %s: strategy %q: %w", q.Name, q.Strategy, ErrInvalid)
		}
		if q.Strategy == SkillBased && q.Skill == "" {
			return fmt.Errorf("queue %s: skill strategy needs a skill group: %w", q.Name, ErrInvalid)
		}
		q.TenantID = tenantID
		q.defaults()
		names[q.Name] = true
	}
	for _, r := range routes {
		if !names[r.Queue] {
			return fmt.Errorf("route to unknown queue %q: %w", r.Queue, ErrInvalid)
		}
	}
	e.mu.Lock()
	defer e.unlock()
	if e.tenants[tenantID] == nil {
		e.tenants[tenantID] = &tenantState{whitelisted: true}
	}
	for _, q := range queues {
		k := qkey(tenantID, q.Name)
		if qs := e.queues[k]; qs != nil {
			qs.cfg = q
		} else {
			e.queues[k] = &queueState{cfg: q, avgHandle: q.AvgHandle, watchers: map[*watcher]struct{}{}}
		}
	}
	rs := slices.Clone(routes)
	for i := range rs {
		rs[i].TenantID = tenantID
	}
	e.routes[tenantID] = rs
	e.dispatchAll()
	return nil
}

// route finds the queue for a request: the matching route with the most
// specified fields.
func (e *Engine) route(tenantID string, ch Channel, business, product string) (*queueState, error) {
	best, bestScore := "", -1
	for _, r := range e.routes[tenantID] {
		if (r.Channel != "" && r.Channel != ch) || (r.Business != "" && r.Business != business) || (r.Product != "" && r.Product != product) {
			continue
		}
		score := 0
		for _, set := range []bool{r.Channel != "", r.Business != "", r.Product != ""} {
			if set {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = r.Queue, score
		}
	}
	q := e.queues[qkey(tenantID, best)]
	if q == nil {
		return nil, fmt.Errorf("%w (tenant %s, channel %s, business %s, product %s)", ErrNoRoute, tenantID, ch, business, product)
	}
	return q, nil
}

// JoinRequest is a customer entering the queue from any channel.
type JoinRequest struct {
	TenantID   string  `json:"tenant_id"`
	CustomerID string  `json:"customer_id"`
	Channel    Channel `json:"channel"`
	Business   string  `json:"business"`
	Product    string  `json:"product,omitempty"`
	VIP        bool    `json:"vip,omitempty"`
	Priority   int     `json:"priority,omitempty"`
	// Queue bypasses routing (manual routing by a supervisor).
	Queue string `json:"queue,omitempty"`
}

// Join puts a customer in the queue their request routes to and returns
// the ticket. A customer already waiting gets their existing ticket back.
func (e *Engine) Join(r JoinRequest) (Ticket, error) {
	e.mu.Lock()
	defer e.unlock()
	t, err := e.join(r, "")
	if err != nil {
		return Ticket{}, err
	}
	return e.copyTicket(t), nil
}

func (e *Engine) join(r JoinRequest, apptID string) (*Ticket, error) {
	if r.TenantID == "" || r.CustomerID == "" {
		return nil, fmt.Errorf("join needs tenant and customer: %w", ErrInvalid)
	}
	ts := e.tenants[r.TenantID]
	if ts == nil || !ts.whitelisted {
		return nil, fmt.Errorf("tenant %s: %w", r.TenantID, ErrTenantBlocked)
	}
	now := e.opts.Clock.Now()
	if !ts.hours.IsOpen(now) {
		return nil, fmt.Errorf("tenant %s at %s: %w", r.TenantID, now.Format(time.RFC3339), ErrClosed)
	}
	if len(ts.businesses) > 0 && !slices.Contains(ts.businesses, r.Business) {
		return nil, fmt.Errorf("business %q is not in tenant %s's catalogue: %w", r.Business, r.TenantID, ErrInvalid)
	}
	for _, t := range e.tickets {
		if t.TenantID == r.TenantID && t.CustomerID == r.CustomerID && t.State != TicketConnected {
			return t, nil
		}
	}
	var q *queueState
	var err error
	if r.Queue != "" {
		if q = e.queues[qkey(r.TenantID, r.Queue)]; q == nil {
			return nil, fmt.Errorf("queue %s: %w", r.Queue, ErrNotFound)
		}
	} else if q, err = e.route(r.TenantID, r.Channel, r.Business, r.Product); err != nil {
		return nil, err
	}
	if q.cfg.MaxLength > 0 && len(q.waiting) >= q.cfg.MaxLength {
		return nil, fmt.Errorf("queue %s (%d waiting): %w", q.cfg.Name, len(q.waiting), ErrQueueFull)
	}
	e.seq++
	t := &Ticket{ID: e.opts.NewID("T"), TenantID: r.TenantID, CustomerID: r.CustomerID, Channel: r.Channel, Business: r.Business,
		Product: r.Product, Queue: q.cfg.Name, VIP: r.VIP, Priority: r.Priority, State: TicketWaiting, JoinedAt: now,
		AppointmentID: apptID, seq: e.seq}
	e.tickets[t.ID] = t
	q.waiting = append(q.waiting, t)
	e.emit(Event{Kind: EvJoined, TenantID: t.TenantID, Ticket: t})
	e.dispatch(q)
	e.notify(q)
	return t, nil
}

func (e *Engine) copyTicket(t *Ticket) Ticket {
	c := *t
	c.declined = nil
	return c
}

// rank is a waiting ticket's effective priority at now.
func (q *queueState) rank(t *Ticket, now time.Time) int {
	p := t.Priority + t.RingTimeouts*q.cfg.RingBoost
	if t.VIP {
		p += q.cfg.VIPPriority
	}
	if q.cfg.AgeBoost != 0 && q.cfg.AgeStep > 0 {
		p += int(now.Sub(t.JoinedAt)/q.cfg.AgeStep) * q.cfg.AgeBoost
	}
	return p
}

// ordered returns the waiting tickets in service order: cut-ins first,
// then by effective priority, then first come first served.
func (q *queueState) ordered(now time.Time) []*Ticket {
	out := slices.Clone(q.waiting)
	ranks := make(map[*Ticket]int, len(out))
	for _, t := range out {
		ranks[t] = q.rank(t, now)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.CutIn != b.CutIn {
			return a.CutIn
		}
		if ranks[a] != ranks[b] {
			return ranks[a] > ranks[b]
		}
		return a.seq < b.seq
	})
	return out
}

func (q *queueState) remove(t *Ticket) {
	if i := slices.Index(q.waiting, t); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
	}
}

// activeCalls counts a tenant's ringing and connected tickets.
func (e *Engine) activeCalls(tenantID string) int {
	n := 0
	for _, t := range e.tickets {
		if t.TenantID == tenantID && (t.State == TicketRinging || t.State == TicketConnected) {
			n++
		}
	}
	return n
}

func (e *Engine) quotaLeft(tenantID string) bool {
	ts := e.tenants[tenantID]
	if ts == nil {
		return false
	}
	lim := ts.quotas.Calls(e.opts.Clock.Now())
	return lim == 0 || e.activeCalls(tenantID) < lim
}

func (e *Engine) dispatchAll() {
	keys := make([]string, 0, len(e.queues))
	for k := range e.queues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.dispatch(e.queues[k])
	}
}

// dispatch rings free, qualified agents for waiting customers in order.
func (e *Engine) dispatch(q *queueState) {
	if q.cfg.Strategy == Grab || len(q.waiting) == 0 || !e.anyIdle(q) {
		// Nobody free: skip ordering the queue (the common case when
		// agents change between not-ready states).
		return
	}
	now := e.opts.Clock.Now()
	changed := false
	for _, t := range q.ordered(now) {
		if !e.quotaLeft(q.cfg.TenantID) {
			break
		}
		a := e.pick(q, t)
		if a == nil {
			if !e.anyIdle(q) {
				break
			}
			continue
		}
		e.ring(q, t, a, "")
		changed = true
	}
	if changed {
		e.notify(q)
	}
}

func (e *Engine) qualified(q *queueState, a *Agent) bool {
	if a.TenantID != q.cfg.TenantID || !slices.Contains(a.Queues, q.cfg.Name) {
		return false
	}
	return q.cfg.Skill == "" || a.Skills[q.cfg.Skill] >= q.cfg.MinProficiency
}

func (e *Engine) anyIdle(q *queueState) bool {
	for _, a := range e.agents {
		if a.State == StateIdle && e.qualified(q, a) {
			return true
		}
	}
	return false
}

// pick chooses an idle qualified agent for t by the queue's strategy.
// Agents who let this customer ring out are tried only when nobody else is
// free.
func (e *Engine) pick(q *queueState, t *Ticket) *Agent {
	var cands, declined []*Agent
	for _, a := range e.agents {
		if a.State != StateIdle || !e.qualified(q, a) {
			continue
		}
		if t.declined[a.ID] {
			declined = append(declined, a)
		} else {
			cands = append(cands, a)
		}
	}
	if len(cands) == 0 {
		cands = declined
	}
	if len(cands) == 0 {
		return nil
	}
	// Deterministic base order, then the strategy's criterion.
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	longestIdle := func(as []*Agent) *Agent {
		best := as[0]
		for _, a := range as[1:] {
			if a.IdleSince.Before(best.IdleSince) {
				best = a
			}
		}
		return best
	}
	switch q.cfg.Strategy {
	case LeastCalls:
		best := cands[0]
		for _, a := range cands[1:] {
			if a.Calls < best.Calls || (a.Calls == best.Calls && a.IdleSince.Before(best.IdleSince)) {
				best = a
			}
		}
		return best
	case RoundRobin:
		for _, a := range cands {
			if a.ID > q.lastRR {
				q.lastRR = a.ID
				return a
			}
		}
		q.lastRR = cands[0].ID
		return cands[0]
	case Random:
		return cands[e.opts.Rand.IntN(len(cands))]
	case Preferred:
		if id, ok := e.last[t.TenantID+"/"+t.CustomerID]; ok {
			for _, a := range cands {
				if a.ID == id {
					return a
				}
			}
		}
		return longestIdle(cands)
	case SkillBased:
		best := cands[0]
		for _, a := range cands[1:] {
			pa, pb := a.Skills[q.cfg.Skill], best.Skills[q.cfg.Skill]
			if pa > pb || (pa == pb && a.IdleSince.Before(best.IdleSince)) {
				best = a
			}
		}
		return best
	default:
		return longestIdle(cands)
	}
}

func (e *Engine) ring(q *queueState, t *Ticket, a *Agent, by string) {
	now := e.opts.Clock.Now()
	q.remove(t)
	t.State, t.AgentID, t.ringDeadline = TicketRinging, a.ID, now.Add(q.cfg.RingTimeout)
	a.TicketID = t.ID
	e.setState(a, StateRinging, "offer "+t.ID, by)
	e.emit(Event{Kind: EvRinging, TenantID: t.TenantID, Ticket: t})
}

// setState moves an agent to a state and records the transition.
func (e *Engine) setState(a *Agent, to AgentState, reason, by string) {
	now := e.opts.Clock.Now()
	ch := StateChange{AgentID: a.ID, TenantID: a.TenantID, From: a.State, To: to, Since: a.Since, At: now, Duration: now.Sub(a.Since), Reason: reason, ForcedBy: by}
	a.State, a.Since = to, now
	if to == StateIdle {
		a.IdleSince = now
	}
	e.emit(Event{Kind: EvAgentState, TenantID: a.TenantID, Change: &ch})
}

// notify wakes the queue's watchers (customers' position streams).
func (e *Engine) notify(q *queueState) {
	for w := range q.watchers {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}
