package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/store"
)

// join is the one queue entry for every channel. Customers are not
// accounts: the channel (app, H5, mini-program, PC) passes the tenant and
// its customer id, and the answer carries a token that is the customer's
// only capability on the ticket. VIP, priority and a fixed queue are only
// honoured from a signed-in caller allowed to route (queue.route), so a
// customer cannot promote themself.
func (s *Server) join(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req console.JoinRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.VIP || req.Priority != 0 || req.Queue != "" {
		c, err := s.authenticate(r)
		if err != nil || !c.can(auth.PermQueueRoute) || !c.scope.Contains(req.TenantID) {
			return fmt.Errorf("%w: vip, priority and queue need a supervisor of the tenant", errForbidden)
		}
	}
	switch req.Channel {
	case console.ChannelApp, console.ChannelH5, console.ChannelMini, console.ChannelPC:
	default:
		return fmt.Errorf("%w: channel %q: want app, h5, mini or pc", errBadRequest, req.Channel)
	}
	t, err := s.eng.Join(req)
	if err != nil {
		return err
	}
	p, _ := s.eng.Position(t.ID)
	writeJSON(w, 201, map[string]any{"ticket": t, "token": s.ticketToken(t.ID), "position": p})
	return nil
}

func (s *Server) position(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := s.checkTicketToken(r, id); err != nil {
		return err
	}
	p, err := s.eng.Position(id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, p)
	return nil
}

// positionEvents streams the ticket's position as server-sent events: one
// "position" event now and after every change in its queue, a comment
// every 15 s to keep proxies from closing the stream, and a final "gone"
// event when the ticket has ended (served, left, timed out).
func (s *Server) positionEvents(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := s.checkTicketToken(r, id); err != nil {
		return err
	}
	wake, stop, err := s.eng.Watch(id)
	if err != nil {
		return err
	}
	defer stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	send := func() bool {
		p, err := s.eng.Position(id)
		if err != nil {
			fmt.Fprintf(w, "event: gone\ndata: {\"ticket_id\":%q}\n\n", id)
			_ = rc.Flush()
			return false
		}
		b, _ := json.Marshal(p)
		fmt.Fprintf(w, "event: position\ndata: %s\n\n", b)
		return rc.Flush() == nil
	}
	if !send() {
		return nil
	}
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	last := time.Now()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-wake:
			// At most one update per sseMinInterval: a busy queue changes
			// many times a second, and a customer's screen needs none of
			// the intermediate positions. Changes during the pause are
			// coalesced by the one-slot wake channel.
			if wait := sseMinInterval - time.Since(last); wait > 0 {
				select {
				case <-r.Context().Done():
					return nil
				case <-time.After(wait):
				}
			}
			last = time.Now()
			if !send() {
				return nil
			}
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			if rc.Flush() != nil {
				return nil
			}
		}
	}
}

// sseMinInterval is the shortest time between two position events on one
// stream.
const sseMinInterval = 250 * time.Millisecond

func (s *Server) leave(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := s.checkTicketToken(r, id); err != nil {
		return err
	}
	if err := s.eng.Leave(id); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func (s *Server) listTickets(w http.ResponseWriter, _ *http.Request, c *caller) error {
	writeJSON(w, 200, map[string]any{"tickets": nonNil(s.eng.Tickets(c.inScope))})
	return nil
}

// scopedTicket returns a live ticket of c's scope (404 otherwise).
func (s *Server) scopedTicket(c *caller, id string) (console.Ticket, error) {
	t, ok := s.eng.Ticket(id)
	if !ok || !c.scope.Contains(t.TenantID) {
		return console.Ticket{}, fmt.Errorf("ticket %s: %w", id, console.ErrNotFound)
	}
	return t, nil
}

func (s *Server) scopedAgent(c *caller, id string) (console.Agent, error) {
	a, ok := s.eng.Agent(id)
	if !ok || !c.scope.Contains(a.TenantID) {
		return console.Agent{}, fmt.Errorf("agent %s: %w", id, console.ErrNotFound)
	}
	return a, nil
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req assignReq
	if err := decode(r, &req); err != nil {
		return err
	}
	t, err := s.scopedTicket(c, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := s.scopedAgent(c, req.AgentID); err != nil {
		return err
	}
	err = s.eng.Assign(t.ID, req.AgentID, c.user.ID)
	return s.auditedDone(w, r.Context(), c, t.TenantID, "queue.assign", t.ID, nil, req, err)
}

func (s *Server) cutIn(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.scopedTicket(c, r.PathValue("id"))
	if err != nil {
		return err
	}
	err = s.eng.CutIn(t.ID)
	return s.auditedDone(w, r.Context(), c, t.TenantID, "queue.cut_in", t.ID, nil, nil, err)
}

func (s *Server) listAgents(w http.ResponseWriter, _ *http.Request, c *caller) error {
	writeJSON(w, 200, map[string]any{"agents": nonNil(s.eng.Agents(c.inScope))})
	return nil
}

func (s *Server) forceState(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req stateReq
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := s.scopedAgent(c, r.PathValue("id"))
	if err != nil {
		return err
	}
	after, err := s.eng.Force(a.ID, req.State, c.user.ID)
	s.audit(r.Context(), c, a.TenantID, "agent.force_state", a.ID, map[string]any{"state": a.State}, map[string]any{"state": req.State}, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, after)
	return nil
}

func (s *Server) agentHistory(w http.ResponseWriter, r *http.Request, c *caller) error {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	u, err := s.db.User(r.Context(), c.scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	st, err := s.db.AgentStates(r.Context(), c.scope, u.ID, limit)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"states": nonNil(st)})
	return nil
}

func (s *Server) agentSignIn(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req signInReq
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := s.eng.SignIn(console.AgentInfo{ID: c.user.ID, TenantID: c.user.TenantID, Queues: req.Queues, Skills: c.user.Skills, Name: cmp.Or(c.user.DisplayName, c.user.Username)})
	s.audit(r.Context(), c, c.user.TenantID, "agent.sign_in", c.user.ID, nil, req, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, a)
	return nil
}

func (s *Server) agentState(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req stateReq
	if err := decode(r, &req); err != nil {
		return err
	}
	before, _ := s.eng.Agent(c.user.ID)
	a, err := s.eng.SetState(c.user.ID, req.State, req.Reason)
	s.audit(r.Context(), c, c.user.TenantID, "agent.state", c.user.ID, map[string]any{"state": before.State}, req, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, a)
	return nil
}

func (s *Server) agentTicket(w http.ResponseWriter, r *http.Request, c *caller, action string, do func(id string) (any, error)) error {
	var req ticketReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if t, ok := s.eng.Ticket(req.TicketID); !ok || t.TenantID != c.user.TenantID {
		return fmt.Errorf("ticket %s: %w", req.TicketID, console.ErrNotFound)
	}
	out, err := do(req.TicketID)
	s.audit(r.Context(), c, c.user.TenantID, action, req.TicketID, nil, nil, err)
	if err != nil {
		return err
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Server) agentAnswer(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.agentTicket(w, r, c, "agent.answer", func(id string) (any, error) { return s.eng.Answer(c.user.ID, id) })
}

func (s *Server) agentDecline(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.agentTicket(w, r, c, "agent.decline", func(id string) (any, error) {
		return map[string]string{"ticket_id": id}, s.eng.Decline(c.user.ID, id)
	})
}

func (s *Server) agentEnd(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.agentTicket(w, r, c, "agent.end", func(id string) (any, error) {
		if t, _ := s.eng.Ticket(id); t.AgentID != c.user.ID {
			return nil, fmt.Errorf("ticket %s is not your call: %w", id, console.ErrState)
		}
		return s.eng.End(id)
	})
}

func (s *Server) agentPool(w http.ResponseWriter, _ *http.Request, c *caller) error {
	p, err := s.eng.Pool(c.user.ID)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"tickets": nonNil(p)})
	return nil
}

func (s *Server) agentGrab(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.agentTicket(w, r, c, "agent.grab", func(id string) (any, error) { return s.eng.Grab(c.user.ID, id) })
}

func (s *Server) book(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req console.BookRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if !c.scope.Contains(req.TenantID) {
		return fmt.Errorf("tenant %s: %w", req.TenantID, store.ErrNotFound)
	}
	a, err := s.eng.Book(req)
	s.audit(r.Context(), c, req.TenantID, "appointment.book", a.ID, nil, req, err)
	if err != nil {
		return err
	}
	writeJSON(w, 201, a)
	return nil
}

func (s *Server) listAppointments(w http.ResponseWriter, _ *http.Request, c *caller) error {
	writeJSON(w, 200, map[string]any{"appointments": nonNil(s.eng.Appointments(c.inScope))})
	return nil
}

func (s *Server) cancelAppointment(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	a, ok := s.eng.Appointment(id)
	if !ok || !c.scope.Contains(a.TenantID) {
		return fmt.Errorf("appointment %s: %w", id, console.ErrNotFound)
	}
	err := s.eng.CancelAppointment(id)
	return s.auditedDone(w, r.Context(), c, a.TenantID, "appointment.cancel", id, a, nil, err)
}

// RecordWriter turns console events into service records and agent state
// history. Handle is the engine's event handler: it only queues (blocking
// when the writer is behind, so no record is lost); Run writes.
type RecordWriter struct {
	db  *store.DB
	met *metrics
	ch  chan rwItem
	log interface {
		Error(msg string, args ...any)
	}
	hub *hub
	// OnEvent, if set, also sees every event (after it is queued).
	OnEvent func(console.Event)
}

// NewRecordWriter makes a writer with a queue of n events.
func (s *Server) NewRecordWriter(n int) *RecordWriter {
	s.rw = &RecordWriter{db: s.db, met: s.met, ch: make(chan rwItem, n), log: s.log, hub: s.hub}
	return s.rw
}

// rwItem is an event to write, or a barrier (done != nil) for Sync.
type rwItem struct {
	ev   console.Event
	done chan struct{}
}

// Sync waits until every event queued before it is written.
func (rw *RecordWriter) Sync() {
	done := make(chan struct{})
	rw.ch <- rwItem{done: done}
	<-done
}

// Handle queues an event.
func (rw *RecordWriter) Handle(ev console.Event) {
	rw.met.events.WithLabelValues(string(ev.Kind)).Inc()
	rw.ch <- rwItem{ev: ev}
	rw.hub.publish(ev)
	if rw.OnEvent != nil {
		rw.OnEvent(ev)
	}
}

// Run writes queued events until ctx ends, then drains what is queued.
// Events waiting together are written in one transaction (up to 512), so
// a burst costs one commit.
func (rw *RecordWriter) Run(ctx context.Context) error {
	for {
		var batch []rwItem
		select {
		case it := <-rw.ch:
			batch = append(batch, it)
		case <-ctx.Done():
			for {
				select {
				case it := <-rw.ch:
					rw.writeBatch([]rwItem{it})
				default:
					return nil
				}
			}
		}
	more:
		for len(batch) < 512 {
			select {
			case it := <-rw.ch:
				batch = append(batch, it)
			default:
				break more
			}
		}
		rw.writeBatch(batch)
	}
}

func (rw *RecordWriter) writeBatch(batch []rwItem) {
	var barriers []chan struct{}
	err := rw.db.WithTx(context.Background(), func(tx *store.DB) error {
		for _, it := range batch {
			if it.done != nil {
				barriers = append(barriers, it.done)
				continue
			}
			if err := rw.write(tx, it.ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// One bad event must not lose the others: write them one by one.
		rw.log.Error("service record batch failed, retrying one by one", "events", len(batch), "err", err)
		for _, it := range batch {
			if it.done == nil {
				if err := rw.write(rw.db, it.ev); err != nil {
					rw.met.recordsErr.Inc()
					rw.log.Error("service record write failed", "event", it.ev.Kind, "err", err)
				}
			}
		}
	}
	for _, b := range barriers {
		close(b)
	}
}

func (rw *RecordWriter) write(db *store.DB, ev console.Event) error {
	ctx := context.Background()
	sys := store.System()
	switch {
	case ev.Change != nil:
		ch := ev.Change
		return db.AddAgentStates(ctx, sys, []store.AgentState{{TenantID: ch.TenantID, AgentID: ch.AgentID, State: string(ch.From),
			Reason: ch.Reason, ForcedBy: ch.ForcedBy, StartedAt: ch.Since, EndedAt: ch.At, Duration: ch.Duration}})
	case ev.Ticket != nil:
		t := ev.Ticket
		f := store.RecordFlow{ID: t.ID, TenantID: t.TenantID, Business: t.Business, Channel: string(t.Channel), Queue: t.Queue,
			CustomerID: t.CustomerID, AgentID: t.AgentID, QueuedAt: t.JoinedAt}
		switch ev.Kind {
		case console.EvJoined, console.EvReturned, console.EvApptDue:
			f.Status = "queued"
		case console.EvRinging:
			f.Status = "ringing"
		case console.EvAnswered:
			f.Status, f.AnsweredAt, f.WaitMS = "in_call", t.AnsweredAt, ev.Wait.Milliseconds()
		case console.EvEnded:
			f.Status, f.EndedAt, f.TalkMS = "ended", t.EndedAt, t.EndedAt.Sub(t.AnsweredAt).Milliseconds()
		case console.EvLeft:
			f.Status, f.EndedAt, f.WaitMS = "abandoned", t.EndedAt, ev.Wait.Milliseconds()
		case console.EvTimeout:
			f.Status, f.EndedAt, f.WaitMS = "timeout", t.EndedAt, ev.Wait.Milliseconds()
		default:
			return nil
		}
		return db.UpsertRecordFlow(ctx, sys, f)
	}
	return nil
}
