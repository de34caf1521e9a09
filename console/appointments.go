package console

import (
	"fmt"
	"sort"
	"time"
)

// BookRequest books an appointment slot.
type BookRequest struct {
	TenantID   string    `json:"tenant_id"`
	CustomerID string    `json:"customer_id"`
	Channel    Channel   `json:"channel"`
	Business   string    `json:"business"`
	Product    string    `json:"product,omitempty"`
	At         time.Time `json:"at"`
}

// Book reserves a slot: the time must be in the future and within service
// hours, and the queue's slot must have room. A reminder event fires
// ReminderLead before; at the time the customer enters the queue with the
// appointment priority.
func (e *Engine) Book(r BookRequest) (Appointment, error) {
	e.mu.Lock()
	defer e.unlock()
	now := e.opts.Clock.Now()
	ts := e.tenants[r.TenantID]
	if ts == nil || !ts.whitelisted {
		return Appointment{}, fmt.Errorf("tenant %s: %w", r.TenantID, ErrTenantBlocked)
	}
	if r.CustomerID == "" || !r.At.After(now) {
		return Appointment{}, fmt.Errorf("appointment needs a customer and a future time: %w", ErrInvalid)
	}
	if !ts.hours.IsOpen(r.At) {
		return Appointment{}, fmt.Errorf("appointment at %s: %w", r.At.Format(time.RFC3339), ErrClosed)
	}
	q, err := e.route(r.TenantID, r.Channel, r.Business, r.Product)
	if err != nil {
		return Appointment{}, err
	}
	slot := r.At.Truncate(q.cfg.SlotLength)
	n := 0
	for _, a := range e.appts {
		if a.TenantID == r.TenantID && a.Queue == q.cfg.Name && a.Status == "booked" && a.At.Truncate(q.cfg.SlotLength).Equal(slot) {
			n++
		}
	}
	if n >= q.cfg.SlotCapacity {
		return Appointment{}, fmt.Errorf("slot %s (%d booked): %w", slot.Format(time.RFC3339), n, ErrSlotFull)
	}
	e.seq++
	a := &Appointment{ID: e.opts.NewID("A"), TenantID: r.TenantID, CustomerID: r.CustomerID, Channel: r.Channel,
		Business: r.Business, Product: r.Product, Queue: q.cfg.Name, At: r.At, Status: "booked"}
	e.appts[a.ID] = a
	e.emit(Event{Kind: EvApptBooked, TenantID: a.TenantID, Appointment: a})
	return *a, nil
}

// CancelAppointment cancels a booked appointment.
func (e *Engine) CancelAppointment(id string) error {
	e.mu.Lock()
	defer e.unlock()
	a := e.appts[id]
	if a == nil || a.Status != "booked" {
		return fmt.Errorf("appointment %s: %w", id, ErrNotFound)
	}
	a.Status = "cancelled"
	e.emit(Event{Kind: EvApptCancel, TenantID: a.TenantID, Appointment: a})
	return nil
}

// Appointments lists appointments of tenants inScope accepts, by time.
func (e *Engine) Appointments(inScope func(string) bool) []Appointment {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Appointment
	for _, a := range e.appts {
		if inScope(a.TenantID) {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].At.Before(out[j].At) || (out[i].At.Equal(out[j].At) && out[i].ID < out[j].ID)
	})
	return out
}

// Appointment returns one appointment.
func (e *Engine) Appointment(id string) (Appointment, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.appts[id]
	if a == nil {
		return Appointment{}, false
	}
	return *a, true
}

func (e *Engine) tickAppointments(now time.Time) {
	var due []*Appointment
	for _, a := range e.appts {
		if a.Status != "booked" {
			continue
		}
		if !a.Reminded && !now.Before(a.At.Add(-e.opts.ReminderLead)) {
			a.Reminded = true
			e.emit(Event{Kind: EvApptRemind, TenantID: a.TenantID, Appointment: a})
		}
		if !now.Before(a.At) {
			due = append(due, a)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		return due[i].At.Before(due[j].At) || (due[i].At.Equal(due[j].At) && due[i].ID < due[j].ID)
	})
	for _, a := range due {
		t, err := e.join(JoinRequest{TenantID: a.TenantID, CustomerID: a.CustomerID, Channel: a.Channel, Business: a.Business,
			Product: a.Product, Priority: e.opts.AppointmentBoost, Queue: a.Queue}, a.ID)
		if err != nil {
			a.Status = "missed"
			e.emit(Event{Kind: EvApptMissed, TenantID: a.TenantID, Appointment: a, Reason: err.Error()})
			continue
		}
		a.Status, a.TicketID = "queued", t.ID
		e.emit(Event{Kind: EvApptDue, TenantID: a.TenantID, Appointment: a, Ticket: t})
	}
}
