package rtcmount

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/witness-media/witness/analyzers/natsevents"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/platform"
)

// AlertsPrefix serves the live risk alerts of the caller's tenants to the
// supervisors' monitor: GET /api/v1/live-alerts/stream (server-sent
// events, "event: alert"). The console event stream carries queue and
// agent changes only; analyzer events travel on NATS
// (witness.events.<tenant>.<room>, natsevents), so this reads them there
// and works whichever process runs the analysis.
const AlertsPrefix = "/api/v1/live-alerts/"

// liveAlert is one streamed alert: the analyzer event as published, with
// the tenant and room its subject named.
type liveAlert struct {
	Tenant string          `json:"tenant"`
	Room   string          `json:"room"`
	Event  json.RawMessage `json:"event"`
}

func buildAlerts(_ context.Context, p *platform.Platform) (http.Handler, func(context.Context) error, func(), error) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != AlertsPrefix+"stream" {
			http.NotFound(w, r)
			return
		}
		c, err := p.API.Authenticate(r, auth.PermQueueRead)
		if err != nil {
			p.API.Fail(w, r, err)
			return
		}
		if p.Bus == nil {
			http.Error(w, "live alerts: no message bus in this process", http.StatusServiceUnavailable)
			return
		}
		// A bounded channel: a monitor that cannot keep up loses alerts
		// (NATS counts them as a slow consumer's), never slows the bus.
		ch := make(chan *nats.Msg, 256)
		sub, err := p.Bus.NC.ChanSubscribe(natsevents.SubjectPrefix+".>", ch)
		if err != nil {
			p.API.Fail(w, r, fmt.Errorf("live alerts: subscribe: %w", err))
			return
		}
		defer func() { _ = sub.Unsubscribe() }()
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, ": connected\n\n")
		if rc.Flush() != nil {
			return
		}
		keep := time.NewTicker(15 * time.Second)
		defer keep.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-keep.C:
				fmt.Fprint(w, ": keep-alive\n\n")
			case m := <-ch:
				// witness.events.<tenant>.<room>
				parts := strings.SplitN(strings.TrimPrefix(m.Subject, natsevents.SubjectPrefix+"."), ".", 2)
				if len(parts) != 2 || !c.Scope.Contains(parts[0]) || !json.Valid(m.Data) {
					continue
				}
				b, _ := json.Marshal(liveAlert{Tenant: parts[0], Room: parts[1], Event: m.Data})
				fmt.Fprintf(w, "event: alert\ndata: %s\n\n", b)
			}
			if rc.Flush() != nil {
				return
			}
		}
	})
	return h, nil, nil, nil
}
