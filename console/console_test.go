package console

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/tenant"
)

// A Monday 10:00 in Shanghai.
var t0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

type rig struct {
	t      *testing.T
	clk    *FakeClock
	e      *Engine
	mu     sync.Mutex
	events []Event
}

func newRig(t *testing.T, queues []QueueConfig, routes []Route) *rig {
	t.Helper()
	r := &rig{t: t, clk: NewFakeClock(t0)}
	r.e = New(Options{Clock: r.clk, Rand: rand.New(rand.NewPCG(1, 2)), Handler: func(ev Event) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
	}})
	if err := r.e.SetTenant("A", true, tenant.Settings{}); err != nil {
		t.Fatal(err)
	}
	if routes == nil {
		routes = []Route{{Queue: queues[0].Name}}
	}
	if err := r.e.Configure("A", queues, routes); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) agent(id string, queues []string, skills map[string]int) {
	r.t.Helper()
	if _, err := r.e.SignIn(AgentInfo{ID: id, TenantID: "A", Queues: queues, Skills: skills}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) idle(id string) {
	r.t.Helper()
	if _, err := r.e.SetState(id, StateIdle, ""); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) join(cust string, vip bool, prio int) Ticket {
	r.t.Helper()
	tk, err := r.e.Join(JoinRequest{TenantID: "A", CustomerID: cust, Channel: ChannelApp, Business: "open", VIP: vip, Priority: prio})
	if err != nil {
		r.t.Fatal(err)
	}
	return tk
}

func (r *rig) state(id string) AgentState {
	a, _ := r.e.Agent(id)
	return a.State
}

// ringingFor returns the customer ringing at agent id ("" if none).
func (r *rig) ringingFor(id string) string {
	a, _ := r.e.Agent(id)
	if a.State != StateRinging {
		return ""
	}
	t, _ := r.e.Ticket(a.TicketID)
	return t.CustomerID
}

func (r *rig) answerAndEnd(id string) string {
	r.t.Helper()
	a, _ := r.e.Agent(id)
	if a.State != StateRinging {
		r.t.Fatalf("agent %s is %s, not ringing", id, a.State)
	}
	t, err := r.e.Answer(id, a.TicketID)
	if err != nil {
		r.t.Fatal(err)
	}
	r.clk.Advance(time.Minute)
	if _, err := r.e.End(t.ID); err != nil {
		r.t.Fatal(err)
	}
	return t.CustomerID
}

func (r *rig) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EventKind
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func q(name string, s Strategy) QueueConfig {
	return QueueConfig{Name: name, Strategy: s, RingTimeout: 15 * time.Second}
}

func TestLongestIdle(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	for _, id := range []string{"a1", "a2", "a3"} {
		r.agent(id, []string{"q"}, nil)
	}
	r.idle("a2")
	r.clk.Advance(time.Second)
	r.idle("a3")
	r.clk.Advance(time.Second)
	r.idle("a1")
	r.join("c1", false, 0)
	r.join("c2", false, 0)
	if r.ringingFor("a2") != "c1" || r.ringingFor("a3") != "c2" || r.state("a1") != StateIdle {
		t.Fatalf("longest idle: a2=%q a3=%q a1=%s", r.ringingFor("a2"), r.ringingFor("a3"), r.state("a1"))
	}
}

func TestLeastCalls(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LeastCalls)}, nil)
	r.agent("a1", []string{"q"}, nil)
	r.agent("a2", []string{"q"}, nil)
	r.idle("a1")
	// a1 takes two calls alone.
	for i := range 2 {
		r.join(fmt.Sprint("x", i), false, 0)
		r.answerAndEnd("a1")
	}
	r.idle("a2") // a2 became idle last but has 0 calls
	r.join("c", false, 0)
	if r.ringingFor("a2") != "c" {
		t.Fatalf("least calls: a2 rings %q, a1 %s", r.ringingFor("a2"), r.state("a1"))
	}
}

func TestRoundRobin(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", RoundRobin)}, nil)
	for _, id := range []string{"a1", "a2", "a3"} {
		r.agent(id, []string{"q"}, nil)
		r.idle(id)
	}
	var got []string
	for i := range 5 {
		r.join(fmt.Sprint("c", i), false, 0)
		for _, id := range []string{"a1", "a2", "a3"} {
			if r.ringingFor(id) != "" {
				got = append(got, id)
				r.answerAndEnd(id)
			}
		}
	}
	if want := []string{"a1", "a2", "a3", "a1", "a2"}; !slices.Equal(got, want) {
		t.Fatalf("round robin %v, want %v", got, want)
	}
}

func TestRandom(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", Random)}, nil)
	for _, id := range []string{"a1", "a2", "a3"} {
		r.agent(id, []string{"q"}, nil)
		r.idle(id)
	}
	seen := map[string]int{}
	for i := range 60 {
		r.join(fmt.Sprint("c", i), false, 0)
		for _, id := range []string{"a1", "a2", "a3"} {
			if r.ringingFor(id) != "" {
				seen[id]++
				r.answerAndEnd(id)
			}
		}
	}
	if len(seen) != 3 || seen["a1"]+seen["a2"]+seen["a3"] != 60 {
		t.Fatalf("random spread %v", seen)
	}
	for id, n := range seen {
		if n < 8 {
			t.Fatalf("random never favours one agent this much: %s got %d of 60 (%v)", id, n, seen)
		}
	}
}

func TestPreferredAgent(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", Preferred)}, nil)
	r.agent("a1", []string{"q"}, nil)
	r.agent("a2", []string{"q"}, nil)
	r.idle("a2")
	r.join("vip-wang", false, 0)
	r.answerAndEnd("a2")
	r.idle("a1") // both idle; a2 idle since the call ended, a1 just now
	r.clk.Advance(time.Second)
	// a1 has been idle for less time but a2 served this customer last:
	// make a1 the longest idle to prove preference beats longest-idle.
	r.e.SetState("a2", StateBusy, "")
	r.clk.Advance(time.Second)
	r.idle("a2")
	r.join("vip-wang", false, 0)
	if r.ringingFor("a2") != "vip-wang" {
		t.Fatalf("preferred: a2 rings %q, a1 %q", r.ringingFor("a2"), r.ringingFor("a1"))
	}
	// A new customer goes by longest idle: a1.
	r.join("new", false, 0)
	if r.ringingFor("a1") != "new" {
		t.Fatalf("fallback: a1 rings %q", r.ringingFor("a1"))
	}
}

func TestSkillGroup(t *testing.T) {
	cfg := q("loans", SkillBased)
	cfg.Skill, cfg.MinProficiency = "loan", 3
	r := newRig(t, []QueueConfig{cfg}, nil)
	r.agent("novice", []string{"loans"}, map[string]int{"loan": 2})
	r.agent("mid", []string{"loans"}, map[string]int{"loan": 5})
	r.agent("expert", []string{"loans"}, map[string]int{"loan": 9})
	r.agent("other", []string{"loans"}, map[string]int{"fx": 9})
	for _, id := range []string{"novice", "mid", "expert", "other"} {
		r.idle(id)
	}
	r.join("c1", false, 0)
	r.join("c2", false, 0)
	r.join("c3", false, 0)
	if r.ringingFor("expert") != "c1" || r.ringingFor("mid") != "c2" {
		t.Fatalf("skill: expert=%q mid=%q", r.ringingFor("expert"), r.ringingFor("mid"))
	}
	if r.ringingFor("novice") != "" || r.ringingFor("other") != "" {
		t.Fatal("an agent below the minimum proficiency or without the skill was rung")
	}
	if p, _ := r.e.Position(r.e.Tickets(func(string) bool { return true })[0].ID); p.Position != 1 {
		t.Fatalf("c3 should wait first in line: %+v", p)
	}
}

func TestPriorityOrder(t *testing.T) {
	cfg := q("q", LongestIdle)
	r := newRig(t, []QueueConfig{cfg}, nil)
	r.agent("a", []string{"q"}, nil)
	plain1 := r.join("plain1", false, 0)
	r.clk.Advance(time.Second)
	vip := r.join("vip", true, 0)
	r.clk.Advance(time.Second)
	plain2 := r.join("plain2", false, 0)
	r.clk.Advance(time.Second)
	cut := r.join("cut", false, 0)
	if err := r.e.CutIn(cut.ID); err != nil {
		t.Fatal(err)
	}
	order := func() []string {
		var out []string
		for _, tk := range r.e.Tickets(func(string) bool { return true }) {
			out = append(out, tk.CustomerID)
		}
		return out
	}
	if got, want := order(), []string{"cut", "vip", "plain1", "plain2"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i, tk := range []Ticket{cut, vip, plain1, plain2} {
		p, _ := r.e.Position(tk.ID)
		if p.Position != i+1 || p.QueueLength != 4 {
			t.Fatalf("%s position %+v, want %d of 4", tk.CustomerID, p, i+1)
		}
	}
	// Served in that order.
	r.idle("a")
	var served []string
	for range 4 {
		served = append(served, r.answerAndEnd("a"))
	}
	if want := []string{"cut", "vip", "plain1", "plain2"}; !slices.Equal(served, want) {
		t.Fatalf("served %v", served)
	}
}

func TestAgeBoost(t *testing.T) {
	cfg := q("q", LongestIdle)
	cfg.AgeBoost, cfg.AgeStep = 10, time.Minute
	r := newRig(t, []QueueConfig{cfg}, nil)
	old := r.join("old", false, 0)
	r.clk.Advance(3 * time.Minute)
	hi := r.join("hi", false, 25) // priority 25 beats 3 min * 10 = 30? no
	p, _ := r.e.Position(old.ID)
	if p.Position != 1 {
		t.Fatalf("old customer aged to 30 should lead priority 25: %+v", p)
	}
	p, _ = r.e.Position(hi.ID)
	if p.Position != 2 {
		t.Fatalf("hi: %+v", p)
	}
}

func TestRingTimeoutReturnsToHeadAndNextAgent(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	r.agent("a1", []string{"q"}, nil)
	r.agent("a2", []string{"q"}, nil)
	r.idle("a1")
	first := r.join("first", false, 0)
	r.join("second", false, 0)
	r.join("third", false, 0)
	if r.ringingFor("a1") != "first" {
		t.Fatal("a1 should ring for first")
	}
	r.clk.Advance(14 * time.Second)
	r.e.Tick()
	if r.ringingFor("a1") != "first" {
		t.Fatal("rang out before the timeout")
	}
	r.clk.Advance(time.Second)
	r.e.Tick()
	// first is back, at the head with the boost, even ahead of those who
	// joined with it.
	tk, _ := r.e.Ticket(first.ID)
	p, _ := r.e.Position(first.ID)
	if tk.State != TicketWaiting || tk.RingTimeouts != 1 || p.Position != 1 {
		t.Fatalf("after ring timeout: %+v %+v", tk, p)
	}
	if r.state("a1") != StateBusy {
		t.Fatalf("agent who did not answer is %s, want busy", r.state("a1"))
	}
	// The next free qualified agent gets it.
	r.idle("a2")
	if r.ringingFor("a2") != "first" {
		t.Fatalf("a2 rings %q, want first", r.ringingFor("a2"))
	}
	if !slices.Contains(r.kinds(), EvReturned) {
		t.Fatal("no ticket.returned event")
	}
}

func TestMaxWaitAndMaxLength(t *testing.T) {
	cfg := q("q", LongestIdle)
	cfg.MaxWait, cfg.MaxLength = 5*time.Minute, 2
	r := newRig(t, []QueueConfig{cfg}, nil)
	a := r.join("a", false, 0)
	r.clk.Advance(2 * time.Minute)
	b := r.join("b", false, 0)
	if _, err := r.e.Join(JoinRequest{TenantID: "A", CustomerID: "c", Channel: ChannelH5, Business: "open"}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third join: %v", err)
	}
	r.clk.Advance(3 * time.Minute)
	r.e.Tick()
	if _, ok := r.e.Ticket(a.ID); ok {
		t.Fatal("a waited 5 min and should have timed out")
	}
	if p, err := r.e.Position(b.ID); err != nil || p.Position != 1 {
		t.Fatalf("b: %+v %v", p, err)
	}
	if !slices.Contains(r.kinds(), EvTimeout) {
		t.Fatal("no timeout event")
	}
}

func TestLeaveAndJoinIdempotent(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	a := r.join("a", false, 0)
	if again := r.join("a", false, 0); again.ID != a.ID {
		t.Fatal("second join made a new ticket")
	}
	b := r.join("b", false, 0)
	if err := r.e.Leave(a.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.e.Position(b.ID); p.Position != 1 || p.QueueLength != 1 {
		t.Fatalf("after a left: %+v", p)
	}
	if err := r.e.Leave(a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second leave: %v", err)
	}
}

func TestRouting(t *testing.T) {
	r := newRig(t, []QueueConfig{q("general", LongestIdle), q("wealth", LongestIdle), q("wealth-app-gold", LongestIdle)}, []Route{
		{Queue: "general"},
		{Business: "wealth", Queue: "wealth"},
		{Channel: ChannelApp, Business: "wealth", Product: "gold", Queue: "wealth-app-gold"},
	})
	for _, c := range []struct {
		ch             Channel
		business, prod string
		want           string
	}{
		{ChannelH5, "open", "", "general"},
		{ChannelMini, "wealth", "fund", "wealth"},
		{ChannelPC, "wealth", "gold", "wealth"},
		{ChannelApp, "wealth", "gold", "wealth-app-gold"},
	} {
		tk, err := r.e.Join(JoinRequest{TenantID: "A", CustomerID: string(c.ch) + c.business + c.prod, Channel: c.ch, Business: c.business, Product: c.prod})
		if err != nil || tk.Queue != c.want {
			t.Errorf("%s/%s/%s -> %q (%v), want %s", c.ch, c.business, c.prod, tk.Queue, err, c.want)
		}
	}
	if err := r.e.Configure("A", []QueueConfig{q("only", LongestIdle)}, []Route{{Business: "x", Queue: "only"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Join(JoinRequest{TenantID: "A", CustomerID: "z", Business: "y"}); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("unrouted: %v", err)
	}
}

func TestServiceHoursClosed(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	hours := tenant.Hours{Zone: "Asia/Shanghai", WorkDays: []int{1, 2, 3, 4, 5}, Open: "09:00", Close: "17:00",
		Holidays: []string{"2026-06-02"}, HalfDays: map[string]string{"2026-06-03": "12:00"}, Extra: []string{"2026-06-06"}}
	if err := r.e.SetTenant("A", true, tenant.Settings{Hours: hours}); err != nil {
		t.Fatal(err)
	}
	try := func(at time.Time) error {
		r.clk = NewFakeClock(at)
		r.e.opts.Clock = r.clk
		_, err := r.e.Join(JoinRequest{TenantID: "A", CustomerID: at.String(), Business: "open"})
		return err
	}
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{t0, true},                                                // Monday 10:00
		{t0.Add(-90 * time.Minute), false},                        // 08:30
		{t0.Add(7 * time.Hour), false},                            // 17:00
		{t0.Add(24 * time.Hour), false},                           // Tuesday: holiday
		{t0.Add(48*time.Hour + time.Hour), true},                  // Wednesday 11:00, half day
		{t0.Add(48*time.Hour + 2*time.Hour + time.Minute), false}, // Wednesday 12:01
		{t0.Add(6 * 24 * time.Hour), false},                       // Sunday
		{t0.Add(5 * 24 * time.Hour), true},                        // Saturday worked (调休)
	} {
		err := try(c.at)
		if c.open && err != nil || !c.open && !errors.Is(err, ErrClosed) {
			t.Errorf("%s: open=%v err=%v", c.at.Format("Mon 15:04"), c.open, err)
		}
	}
}

func TestQuota(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	if err := r.e.SetTenant("A", true, tenant.Settings{Quotas: tenant.Quotas{MaxCalls: 1, MaxRecordings: 1}}); err != nil {
		t.Fatal(err)
	}
	r.agent("a1", []string{"q"}, nil)
	r.agent("a2", []string{"q"}, nil)
	r.idle("a1")
	r.idle("a2")
	r.join("c1", false, 0)
	c2 := r.join("c2", false, 0)
	ringing := 0
	for _, id := range []string{"a1", "a2"} {
		if r.ringingFor(id) != "" {
			ringing++
		}
	}
	if ringing != 1 {
		t.Fatalf("quota 1 call but %d ringing", ringing)
	}
	if p, _ := r.e.Position(c2.ID); p.State != TicketWaiting {
		t.Fatalf("c2 should wait for quota: %+v", p)
	}
	// Manual routing is refused too.
	idleAgent := "a1"
	if r.state("a1") != StateIdle {
		idleAgent = "a2"
	}
	if err := r.e.Assign(c2.ID, idleAgent, "sup"); !errors.Is(err, ErrQuota) {
		t.Fatalf("assign over quota: %v", err)
	}
	rel, err := r.e.AcquireRecording("A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.AcquireRecording("A"); !errors.Is(err, ErrQuota) {
		t.Fatalf("second recording: %v", err)
	}
	// A temporary raise lets c2 through and expires by itself.
	if err := r.e.RaiseQuota("A", 2, 2, r.clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r.ringingFor(idleAgent) != "c2" {
		t.Fatal("raised quota did not dispatch c2")
	}
	rel2, err := r.e.AcquireRecording("A")
	if err != nil {
		t.Fatalf("raised recording quota: %v", err)
	}
	rel()
	rel2()
	// Both calls answered; the raise expires during them.
	for _, id := range []string{"a1", "a2"} {
		a, _ := r.e.Agent(id)
		if _, err := r.e.Answer(id, a.TicketID); err != nil {
			t.Fatal(err)
		}
	}
	r.clk.Advance(2 * time.Hour)
	a1, _ := r.e.Agent("a1")
	if _, err := r.e.End(a1.TicketID); err != nil {
		t.Fatal(err)
	}
	c3 := r.join("c3", false, 0)
	r.e.Tick()
	if p, _ := r.e.Position(c3.ID); p.State != TicketWaiting || r.state("a1") != StateIdle {
		t.Fatalf("expired raise: one call active and quota back to 1, c3 must wait: %+v a1=%s", p, r.state("a1"))
	}
	a2, _ := r.e.Agent("a2")
	r.e.End(a2.TicketID)
	if r.ringingFor("a1") != "c3" {
		t.Fatal("c3 not dispatched once under quota")
	}
}

func TestAppointments(t *testing.T) {
	cfg := q("q", LongestIdle)
	cfg.SlotCapacity, cfg.SlotLength = 1, 30*time.Minute
	r := newRig(t, []QueueConfig{cfg}, nil)
	at := t0.Add(2 * time.Hour)
	ap, err := r.e.Book(BookRequest{TenantID: "A", CustomerID: "booked", Business: "open", At: at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Book(BookRequest{TenantID: "A", CustomerID: "other", Business: "open", At: at.Add(10 * time.Minute)}); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("second in slot: %v", err)
	}
	if _, err := r.e.Book(BookRequest{TenantID: "A", CustomerID: "past", Business: "open", At: t0.Add(-time.Hour)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("past: %v", err)
	}
	walkIn := r.join("walk-in", false, 0)
	r.clk.Advance(time.Hour + 44*time.Minute)
	r.e.Tick()
	if slices.Contains(r.kinds(), EvApptRemind) {
		t.Fatal("reminder too early")
	}
	r.clk.Advance(time.Minute)
	r.e.Tick()
	if !slices.Contains(r.kinds(), EvApptRemind) {
		t.Fatal("no reminder 15 min before")
	}
	if slices.Contains(r.kinds(), EvApptDue) {
		t.Fatal("queued before its time")
	}
	r.clk.Advance(15 * time.Minute)
	r.e.Tick()
	got, _ := r.e.Appointment(ap.ID)
	if got.Status != "queued" || got.TicketID == "" {
		t.Fatalf("appointment at its time: %+v", got)
	}
	// The appointment customer is served before the walk-in who waited 2h
	// (appointment priority).
	p, _ := r.e.Position(got.TicketID)
	pw, _ := r.e.Position(walkIn.ID)
	if p.Position != 1 || pw.Position != 2 {
		t.Fatalf("appointment %+v walk-in %+v", p, pw)
	}
	ap2, _ := r.e.Book(BookRequest{TenantID: "A", CustomerID: "x", Business: "open", At: r.clk.Now().Add(time.Hour)})
	if err := r.e.CancelAppointment(ap2.ID); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(2 * time.Hour)
	r.e.Tick()
	if a, _ := r.e.Appointment(ap2.ID); a.Status != "cancelled" || a.TicketID != "" {
		t.Fatalf("cancelled appointment queued: %+v", a)
	}
}

func TestGrabPool(t *testing.T) {
	r := newRig(t, []QueueConfig{q("pool", Grab)}, nil)
	r.agent("a1", []string{"pool"}, nil)
	r.agent("a2", []string{"pool"}, nil)
	r.agent("x", []string{"other"}, nil)
	r.idle("a1")
	r.idle("a2")
	r.idle("x")
	c := r.join("c", false, 0)
	if r.ringingFor("a1") != "" || r.ringingFor("a2") != "" {
		t.Fatal("grab queue pushed a customer")
	}
	pool, _ := r.e.Pool("a2")
	if len(pool) != 1 || pool[0].ID != c.ID {
		t.Fatalf("pool %+v", pool)
	}
	if _, err := r.e.Grab("x", c.ID); !errors.Is(err, ErrNotQualified) {
		t.Fatalf("unqualified grab: %v", err)
	}
	// Two agents race for it: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{"a1", "a2"} {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = r.e.Grab(id, c.ID) }()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, ErrTaken) {
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d agents won the grab", won)
	}
	tk, _ := r.e.Ticket(c.ID)
	if tk.State != TicketConnected || r.state(tk.AgentID) != StateInCall {
		t.Fatalf("grabbed ticket %+v", tk)
	}
}

func TestAgentStatesRecorded(t *testing.T) {
	cfg := q("q", LongestIdle)
	cfg.WrapUp = 30 * time.Second
	r := newRig(t, []QueueConfig{cfg}, nil)
	r.agent("a", []string{"q"}, nil)
	r.clk.Advance(10 * time.Second)
	r.idle("a")
	r.clk.Advance(5 * time.Second)
	tk := r.join("c", false, 0)
	r.clk.Advance(3 * time.Second)
	if _, err := r.e.SetState("a", StateBreak, ""); !errors.Is(err, ErrState) {
		t.Fatalf("break while ringing: %v", err)
	}
	if _, err := r.e.Answer("a", tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Force("a", StateMeal, "sup"); !errors.Is(err, ErrState) {
		t.Fatalf("force during call: %v", err)
	}
	r.clk.Advance(2 * time.Minute)
	if _, err := r.e.End(tk.ID); err != nil {
		t.Fatal(err)
	}
	if r.state("a") != StateWrapUp {
		t.Fatalf("after call: %s", r.state("a"))
	}
	r.clk.Advance(30 * time.Second)
	r.e.Tick()
	if r.state("a") != StateIdle {
		t.Fatalf("after wrap-up timer: %s", r.state("a"))
	}
	for _, s := range []AgentState{StateBreak, StateMeeting, StateMeal, StatePaused, StateBusy} {
		r.clk.Advance(time.Minute)
		if _, err := r.e.SetState("a", s, ""); err != nil {
			t.Fatal(err)
		}
	}
	r.clk.Advance(time.Minute)
	if _, err := r.e.Force("a", StateIdle, "sup-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.SetState("a", StateRinging, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("agent set ringing: %v", err)
	}
	r.clk.Advance(time.Minute)
	r.e.SetState("a", StateSignedOut, "")
	var changes []StateChange
	r.mu.Lock()
	for _, ev := range r.events {
		if ev.Kind == EvAgentState {
			changes = append(changes, *ev.Change)
		}
	}
	r.mu.Unlock()
	type tr struct {
		from, to AgentState
		d        time.Duration
	}
	want := []tr{
		{StateSignedOut, StateSignedIn, 0}, {StateSignedIn, StateIdle, 10 * time.Second}, {StateIdle, StateRinging, 5 * time.Second},
		{StateRinging, StateInCall, 3 * time.Second}, {StateInCall, StateWrapUp, 2 * time.Minute}, {StateWrapUp, StateIdle, 30 * time.Second},
		{StateIdle, StateBreak, time.Minute}, {StateBreak, StateMeeting, time.Minute}, {StateMeeting, StateMeal, time.Minute},
		{StateMeal, StatePaused, time.Minute}, {StatePaused, StateBusy, time.Minute}, {StateBusy, StateIdle, time.Minute},
		{StateIdle, StateSignedOut, time.Minute},
	}
	if len(changes) != len(want) {
		t.Fatalf("%d transitions, want %d: %+v", len(changes), len(want), changes)
	}
	for i, w := range want {
		c := changes[i]
		if c.From != w.from || c.To != w.to || c.Duration != w.d {
			t.Errorf("transition %d: %s->%s %v, want %s->%s %v", i, c.From, c.To, c.Duration, w.from, w.to, w.d)
		}
	}
	if changes[11].ForcedBy != "sup-1" {
		t.Errorf("forced transition lost the supervisor: %+v", changes[11])
	}
}

func TestForceRingingAndManualAssign(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle), q("vipq", LongestIdle)}, nil)
	r.agent("a1", []string{"q"}, nil)
	r.agent("a2", []string{"vipq"}, nil) // does not serve q
	r.idle("a1")
	c := r.join("c", false, 0)
	if _, err := r.e.Force("a1", StatePaused, "sup"); err != nil {
		t.Fatal(err)
	}
	if tk, _ := r.e.Ticket(c.ID); tk.State != TicketWaiting {
		t.Fatalf("forcing the ringing agent should return the customer: %+v", tk)
	}
	r.idle("a2")
	if err := r.e.Assign(c.ID, "a2", "sup"); err != nil {
		t.Fatal(err)
	}
	if r.ringingFor("a2") != "c" {
		t.Fatal("manual routing did not ring a2")
	}
}

func TestEstimatedWaitAndWatch(t *testing.T) {
	cfg := q("q", LongestIdle)
	cfg.AvgHandle = 4 * time.Minute
	r := newRig(t, []QueueConfig{cfg}, nil)
	r.agent("a1", []string{"q"}, nil)
	r.agent("a2", []string{"q"}, nil) // signed in but busy: serving, not free
	var tks []Ticket
	for i := range 5 {
		tks = append(tks, r.join(fmt.Sprint("c", i), false, 0))
	}
	p, _ := r.e.Position(tks[4].ID)
	if p.Position != 5 || p.EstimatedWait != 3*4*time.Minute {
		t.Fatalf("5th of 5 with 2 agents at 4 min: %+v", p)
	}
	ch, stop, err := r.e.Watch(tks[4].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := r.e.Leave(tks[0].ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("watcher not woken by a change in its queue")
	}
	if p, _ := r.e.Position(tks[4].ID); p.Position != 4 {
		t.Fatalf("after one left: %+v", p)
	}
}

func TestWhitelist(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	r.e.SetTenant("A", false, tenant.Settings{})
	if _, err := r.e.Join(JoinRequest{TenantID: "A", CustomerID: "c", Business: "open"}); !errors.Is(err, ErrTenantBlocked) {
		t.Fatalf("blocked tenant join: %v", err)
	}
	if _, err := r.e.Join(JoinRequest{TenantID: "Z", CustomerID: "c"}); !errors.Is(err, ErrTenantBlocked) {
		t.Fatalf("unknown tenant: %v", err)
	}
}

func TestBusinessCatalogue(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.e.SetTenant("A", true, tenant.Settings{Businesses: []tenant.Business{{Code: "open", Name: "开户"}}}))
	if _, err := r.e.Join(JoinRequest{TenantID: "A", CustomerID: "x", Business: "loan"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("business outside the catalogue: %v", err)
	}
	r.join("y", false, 0)
}

// TestAgentName: the name given at sign-in is in the agents list (a
// supervisor's seat map shows it without listing users) and follows a
// new sign-in.
func TestAgentName(t *testing.T) {
	r := newRig(t, []QueueConfig{q("q", LongestIdle)}, nil)
	name := func() string {
		for _, a := range r.e.Agents(func(string) bool { return true }) {
			if a.ID == "a1" {
				return a.Name
			}
		}
		return "(absent)"
	}
	if _, err := r.e.SignIn(AgentInfo{ID: "a1", TenantID: "A", Queues: []string{"q"}, Name: "王坐席"}); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "王坐席" {
		t.Fatalf("name %q", got)
	}
	if _, err := r.e.SignIn(AgentInfo{ID: "a1", TenantID: "A", Queues: []string{"q"}, Name: "王二"}); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "王二" {
		t.Fatalf("name after a new sign-in %q", got)
	}
}
