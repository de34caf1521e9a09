package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/witness-media/witness/console"
)

// hub fans console events out to live streams (agents' desks,
// supervisors' wallboards). Each stream has a bounded buffer; a stream
// that falls behind loses events (counted) rather than slowing the
// engine — the stream's client re-reads the state it needs over REST.
type hub struct {
	mu      sync.Mutex
	subs    map[*sub]struct{}
	dropped prometheus.Counter
}

type sub struct {
	ch     chan console.Event
	filter func(console.Event) bool
}

func newHub(reg *prometheus.Registry) *hub {
	h := &hub{subs: map[*sub]struct{}{}, dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "witness_event_stream_dropped_total",
		Help: "Console events dropped because a live stream was too slow."})}
	reg.MustRegister(h.dropped)
	return h
}

func (h *hub) publish(ev console.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if !s.filter(ev) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			h.dropped.Inc()
		}
	}
}

func (h *hub) subscribe(filter func(console.Event) bool) (*sub, func()) {
	s := &sub{ch: make(chan console.Event, 64), filter: filter}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}
}

// stream serves matching events as server-sent events until the client
// goes, or for ?window=DURATION (clients behind proxies reconnect).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, filter func(console.Event) bool) error {
	window := time.Duration(0)
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%w: window %q: want a duration such as 30s", errBadRequest, v)
		}
		window = d
	}
	sb, stop := s.hub.subscribe(filter)
	defer stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	fmt.Fprint(w, ": connected\n\n")
	if rc.Flush() != nil {
		return nil
	}
	var end <-chan time.Time
	if window > 0 {
		t := time.NewTimer(window)
		defer t.Stop()
		end = t.C
	}
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-end:
			return nil
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev := <-sb.ch:
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Kind, b)
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}

// agentEvents streams the signed-in agent's own events: offers ringing at
// them, answered/ended calls, their state changes.
func (s *Server) agentEvents(w http.ResponseWriter, r *http.Request, c *caller) error {
	me := c.user.ID
	return s.stream(w, r, func(ev console.Event) bool {
		return ev.TenantID == c.user.TenantID && ((ev.Ticket != nil && ev.Ticket.AgentID == me) || (ev.Change != nil && ev.Change.AgentID == me))
	})
}

// consoleEvents streams every console event of the caller's tenants (a
// supervisor's wallboard).
func (s *Server) consoleEvents(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.stream(w, r, func(ev console.Event) bool { return c.scope.Contains(ev.TenantID) })
}
