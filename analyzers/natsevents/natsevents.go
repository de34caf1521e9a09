// Package natsevents publishes analyzer events on NATS for agents and other
// services, and gives the signaling server a small interface to push them
// to the agent's connection.
//
// Subject: witness.events.<tenant>.<room>; payload: the pipeline.Event as
// JSON (kind, severity, source, media_time_ns, wall_time, room,
// participant, data). Tokens are sanitised: NATS subject tokens cannot hold
// '.', '*', '>' or white space.
package natsevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/witness-media/witness/pipeline"
)

// SubjectPrefix is the root of event subjects.
const SubjectPrefix = "witness.events"

// ErrPublish wraps publishing failures.
var ErrPublish = errors.New("publishing event")

// Token makes s safe as one subject token.
func Token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// Subject is the subject of a room's events.
func Subject(tenant, room string) string {
	return SubjectPrefix + "." + Token(tenant) + "." + Token(room)
}

// Publisher publishes events on a connection it does not own.
type Publisher struct {
	nc *nats.Conn
}

// NewPublisher wraps a connection (from internal/bus's embedded server or
// an external one).
func NewPublisher(nc *nats.Conn) *Publisher { return &Publisher{nc: nc} }

// Publish sends one event. NATS core publish is asynchronous (buffered in
// the client); Flush when a caller needs to know it reached the server.
func (p *Publisher) Publish(tenant string, e pipeline.Event) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrPublish, err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPublish, err)
	}
	if err := p.nc.Publish(Subject(tenant, e.Room), b); err != nil {
		return fmt.Errorf("%w: %w", ErrPublish, err)
	}
	return nil
}

// Sink returns a Host sink that publishes the tenant's events and reports
// failures to onErr (which may be nil).
func (p *Publisher) Sink(tenant string, onErr func(error)) func(pipeline.Event) {
	return func(e pipeline.Event) {
		if err := p.Publish(tenant, e); err != nil && onErr != nil {
			onErr(err)
		}
	}
}

// AlertPusher is implemented by the signaling server: push one alert to
// the agents connected to a room (over their WebSocket/data channel).
type AlertPusher interface {
	PushAlert(ctx context.Context, tenant, room string, e pipeline.Event) error
}

// Decode parses an event message.
func Decode(m *nats.Msg) (pipeline.Event, error) {
	var e pipeline.Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return e, fmt.Errorf("event on %s: %w", m.Subject, err)
	}
	return e, nil
}

// Forward subscribes to a tenant's events (all rooms, or one room if room
// is not empty) and hands each to the pusher. Push errors and malformed
// messages go to onErr (may be nil). Unsubscribe the returned subscription
// to stop. The handler runs on the subscription's goroutine, so alerts of
// one tenant arrive in order.
func Forward(ctx context.Context, nc *nats.Conn, tenant, room string, p AlertPusher, onErr func(error)) (*nats.Subscription, error) {
	subj := SubjectPrefix + "." + Token(tenant) + ".>"
	if room != "" {
		subj = Subject(tenant, room)
	}
	return nc.Subscribe(subj, func(m *nats.Msg) {
		e, err := Decode(m)
		if err == nil {
			err = p.PushAlert(ctx, tenant, e.Room, e)
		}
		if err != nil && onErr != nil {
			onErr(err)
		}
	})
}
