// Package console is the call centre: one queue entry for every channel
// (app, H5, mini-program, PC), routing to queues by channel, business and
// product, per-queue distribution strategies, priorities, ringing with
// timeouts, agent states, appointments and a grab pool (抢单).
//
// The Engine keeps its state in memory behind one mutex: every operation
// is a short critical section and queries (a customer's live position) need
// synchronous answers, which a request/reply actor would only slow down.
// Time comes from an injectable Clock and timers are evaluated by Tick, so
// tests drive time by hand; Run calls Tick on a real ticker. Events are
// collected under the lock and delivered to the handler after it is
// released, in order.
package console

import (
	"errors"
	"sync"
	"time"
)

// Sentinel errors; the API maps them to HTTP statuses.
var (
	ErrNoRoute       = errors.New("no queue for this channel, business and product")
	ErrClosed        = errors.New("outside service hours")
	ErrQueueFull     = errors.New("queue is full")
	ErrQuota         = errors.New("tenant concurrency quota reached")
	ErrNotFound      = errors.New("not found")
	ErrState         = errors.New("not allowed in the current state")
	ErrTaken         = errors.New("already taken by another agent")
	ErrNotQualified  = errors.New("agent does not serve this queue")
	ErrSlotFull      = errors.New("appointment slot is full")
	ErrTenantBlocked = errors.New("tenant is not on the whitelist")
	ErrInvalid       = errors.New("invalid request")
)

// Clock is the engine's time source.
type Clock interface{ Now() time.Time }

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// FakeClock is a clock moved by hand (tests, simulations).
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock starts a fake clock at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *FakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Channel is where a customer comes from.
type Channel string

// Channels served by the unified queue entry.
const (
	ChannelApp  Channel = "app"
	ChannelH5   Channel = "h5"
	ChannelMini Channel = "mini"
	ChannelPC   Channel = "pc"
)

// Strategy picks an agent for the customer at the head of a queue.
type Strategy string

// Distribution strategies.
const (
	LongestIdle Strategy = "longest-idle" // the agent idle the longest
	LeastCalls  Strategy = "least-calls"  // the agent with the fewest calls since sign-in
	RoundRobin  Strategy = "round-robin"  // agents in turn
	Random      Strategy = "random"
	Preferred   Strategy = "preferred" // the agent who last served this customer, else longest-idle
	SkillBased  Strategy = "skill"     // highest proficiency in the queue's skill group, then longest-idle
	Grab        Strategy = "grab"      // nobody is pushed: agents take customers from the pool (抢单)
)

// QueueConfig configures one queue of a tenant.
type QueueConfig struct {
	Name           string        `json:"name"`
	TenantID       string        `json:"tenant_id"`
	Strategy       Strategy      `json:"strategy"`
	Skill          string        `json:"skill,omitempty"`           // required skill group
	MinProficiency int           `json:"min_proficiency,omitempty"` // least proficiency in Skill (default 1)
	MaxLength      int           `json:"max_length,omitempty"`      // waiting customers; 0 = unlimited
	MaxWait        time.Duration `json:"max_wait,omitempty"`        // waiting longer ends the wait (timeout); 0 = no limit
	RingTimeout    time.Duration `json:"ring_timeout,omitempty"`    // default 20s
	RingBoost      int           `json:"ring_boost,omitempty"`      // priority added each time a ring times out; default 1000 (back to the head)
	VIPPriority    int           `json:"vip_priority,omitempty"`    // priority of VIP customers; default 100
	AgeBoost       int           `json:"age_boost,omitempty"`       // priority added per AgeStep waited
	AgeStep        time.Duration `json:"age_step,omitempty"`
	WrapUp         time.Duration `json:"wrap_up,omitempty"`         // wrap-up time after a call; 0 = straight back to idle
	SlotCapacity   int           `json:"slot_capacity,omitempty"`   // appointments per slot; default 1
	SlotLength     time.Duration `json:"slot_length,omitempty"`     // default 30m
	AvgHandle      time.Duration `json:"avg_handle,omitempty"`      // initial handle-time estimate; default 3m
	NoAnswerState  AgentState    `json:"no_answer_state,omitempty"` // agent state after a ring timeout; default busy
}

func (q *QueueConfig) defaults() {
	if q.Strategy == "" {
		q.Strategy = LongestIdle
	}
	if q.RingTimeout <= 0 {
		q.RingTimeout = 20 * time.Second
	}
	if q.RingBoost == 0 {
		q.RingBoost = 1000
	}
	if q.VIPPriority == 0 {
		q.VIPPriority = 100
	}
	if q.MinProficiency <= 0 {
		q.MinProficiency = 1
	}
	if q.SlotCapacity <= 0 {
		q.SlotCapacity = 1
	}
	if q.SlotLength <= 0 {
		q.SlotLength = 30 * time.Minute
	}
	if q.AvgHandle <= 0 {
		q.AvgHandle = 3 * time.Minute
	}
	if q.NoAnswerState == "" {
		q.NoAnswerState = StateBusy
	}
}

// Route maps channel + business + product to a queue; "" matches any.
// The most specific matching route wins.
type Route struct {
	TenantID string  `json:"tenant_id"`
	Channel  Channel `json:"channel,omitempty"`
	Business string  `json:"business,omitempty"`
	Product  string  `json:"product,omitempty"`
	Queue    string  `json:"queue"`
}

// AgentState is an agent's state.
type AgentState string

// Agent states. Ringing and in-call are set by the engine only.
const (
	StateSignedOut AgentState = "signed_out"
	StateSignedIn  AgentState = "signed_in" // signed in, not yet ready
	StateIdle      AgentState = "idle"
	StateRinging   AgentState = "ringing"
	StateInCall    AgentState = "in_call"
	StateWrapUp    AgentState = "wrap_up"
	StateBusy      AgentState = "busy"
	StateBreak     AgentState = "break" // short break
	StateMeeting   AgentState = "meeting"
	StateMeal      AgentState = "meal"
	StatePaused    AgentState = "paused"
)

// manualStates are the states an agent (or supervisor) may choose.
var manualStates = map[AgentState]bool{
	StateSignedOut: true, StateIdle: true, StateBusy: true, StateBreak: true,
	StateMeeting: true, StateMeal: true, StatePaused: true, StateWrapUp: true, StateSignedIn: true,
}

// ValidState reports whether s is a known agent state.
func ValidState(s AgentState) bool {
	return manualStates[s] || s == StateRinging || s == StateInCall
}

// TicketState is a customer's place in the flow.
type TicketState string

// Ticket states.
const (
	TicketWaiting   TicketState = "waiting"
	TicketRinging   TicketState = "ringing"
	TicketConnected TicketState = "connected"
	TicketEnded     TicketState = "ended"
	TicketLeft      TicketState = "left"    // the customer gave up
	TicketTimeout   TicketState = "timeout" // waited past the queue's max wait
)

// Ticket is one customer's visit, from joining to the end of the call.
type Ticket struct {
	ID            string      `json:"id"`
	TenantID      string      `json:"tenant_id"`
	CustomerID    string      `json:"customer_id"`
	Channel       Channel     `json:"channel"`
	Business      string      `json:"business"`
	Product       string      `json:"product,omitempty"`
	Queue         string      `json:"queue"`
	VIP           bool        `json:"vip"`
	CutIn         bool        `json:"cut_in"`
	Priority      int         `json:"priority"`
	State         TicketState `json:"state"`
	AgentID       string      `json:"agent_id,omitempty"`
	JoinedAt      time.Time   `json:"joined_at"`
	AnsweredAt    time.Time   `json:"answered_at,omitzero"`
	EndedAt       time.Time   `json:"ended_at,omitzero"`
	RingTimeouts  int         `json:"ring_timeouts"`
	AppointmentID string      `json:"appointment_id,omitempty"`
	seq           int64
	ringDeadline  time.Time
	declined      map[string]bool
}

// Agent is an agent's live view.
type Agent struct {
	ID        string         `json:"id"`
	TenantID  string         `json:"tenant_id"`
	Name      string         `json:"name,omitempty"` // display name given at sign-in
	Queues    []string       `json:"queues"`
	Skills    map[string]int `json:"skills,omitempty"`
	State     AgentState     `json:"state"`
	Since     time.Time      `json:"since"`
	IdleSince time.Time      `json:"idle_since,omitzero"`
	Calls     int            `json:"calls"`
	TicketID  string         `json:"ticket_id,omitempty"`
	wrapEnd   time.Time
}

// Position is what a waiting customer sees.
type Position struct {
	TicketID      string        `json:"ticket_id"`
	State         TicketState   `json:"state"`
	Position      int           `json:"position"` // 1 = next; 0 when not waiting
	QueueLength   int           `json:"queue_length"`
	EstimatedWait time.Duration `json:"estimated_wait_ns"`
	AgentID       string        `json:"agent_id,omitempty"`
}

// EventKind names an engine event.
type EventKind string

// Event kinds.
const (
	EvJoined     EventKind = "ticket.joined"
	EvRinging    EventKind = "ticket.ringing"
	EvAnswered   EventKind = "ticket.answered"
	EvReturned   EventKind = "ticket.returned" // ring timed out or declined: back to the head
	EvLeft       EventKind = "ticket.left"
	EvTimeout    EventKind = "ticket.timeout"
	EvEnded      EventKind = "ticket.ended"
	EvAgentState EventKind = "agent.state"
	EvApptBooked EventKind = "appointment.booked"
	EvApptRemind EventKind = "appointment.reminder"
	EvApptDue    EventKind = "appointment.due"
	EvApptMissed EventKind = "appointment.missed" // due outside hours or queue refused
	EvApptCancel EventKind = "appointment.cancelled"
)

// Event is delivered to the engine's handler after each change.
type Event struct {
	Kind        EventKind     `json:"kind"`
	At          time.Time     `json:"at"`
	TenantID    string        `json:"tenant_id"`
	Ticket      *Ticket       `json:"ticket,omitempty"`
	Change      *StateChange  `json:"change,omitempty"`
	Appointment *Appointment  `json:"appointment,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	Wait        time.Duration `json:"wait_ns,omitempty"`
}

// StateChange is one agent state transition; Duration is how long the
// previous state lasted.
type StateChange struct {
	AgentID  string        `json:"agent_id"`
	TenantID string        `json:"tenant_id"`
	From     AgentState    `json:"from"`
	To       AgentState    `json:"to"`
	Since    time.Time     `json:"since"` // when From began
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration_ns"`
	Reason   string        `json:"reason,omitempty"`
	ForcedBy string        `json:"forced_by,omitempty"`
}

// Appointment is a booked slot; at its time the customer enters the queue.
type Appointment struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id"`
	CustomerID string    `json:"customer_id"`
	Channel    Channel   `json:"channel"`
	Business   string    `json:"business"`
	Product    string    `json:"product,omitempty"`
	Queue      string    `json:"queue"`
	At         time.Time `json:"at"`
	Reminded   bool      `json:"reminded"`
	TicketID   string    `json:"ticket_id,omitempty"`
	Status     string    `json:"status"` // booked, queued, missed, cancelled
}
