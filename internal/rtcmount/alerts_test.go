package rtcmount

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/analyzers/natsevents"
	"github.com/witness-media/witness/pipeline"
)

// TestLiveAlertsStream: analyzer events published on the platform's bus
// reach a supervisor's /api/v1/live-alerts/stream for the tenants in the
// supervisor's scope only; no sign-in is 401, an agent (no queue.read)
// 403.
func TestLiveAlertsStream(t *testing.T) {
	e := start(t, testConfig(t))
	admin := e.login("admin", e.p.FirstAdminPassword())
	e.must(e.call("POST", "/api/v1/tenants", admin, map[string]any{"id": "bank2", "parent_id": "province", "name": "Bank Two", "level": "bank", "whitelisted": true}, nil), 201, "tenant bank2")
	user := func(tenant, name, role string) string {
		var nu struct {
			InitialPassword string `json:"initial_password"`
		}
		e.must(e.call("POST", "/api/v1/users", admin, map[string]any{"tenant_id": tenant, "username": name, "display_name": name, "role": role}, &nu), 201, "create "+name)
		return e.login(name, nu.InitialPassword)
	}
	provSup, bankSup, agent := user("province", "sup-p", "supervisor"), user("bank2", "sup-b", "supervisor"), user("bank2", "agent-b", "agent")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := func(tok string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.base+AlertsPrefix+"stream", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return http.DefaultClient.Do(req)
	}
	for _, c := range []struct {
		tok  string
		want int
	}{{"", 401}, {agent, 403}} {
		r, err := open(c.tok)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != c.want {
			t.Errorf("stream with token %q: %d, want %d", c.tok, r.StatusCode, c.want)
		}
	}
	// stream reads alerts (rooms) until n arrived or the context ends.
	stream := func(tok string) (<-chan liveAlert, *bufio.Reader) {
		r, err := open(tok)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("stream: %v %v", r, err)
		}
		t.Cleanup(func() { r.Body.Close() })
		br := bufio.NewReader(r.Body)
		if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, ": connected") {
			t.Fatalf("stream starts with %q", l)
		}
		ch := make(chan liveAlert, 8)
		go func() {
			defer close(ch)
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if d, ok := strings.CutPrefix(strings.TrimSpace(l), "data: "); ok {
					var a liveAlert
					if json.Unmarshal([]byte(d), &a) == nil {
						ch <- a
					}
				}
			}
		}()
		return ch, br
	}
	prov, _ := stream(provSup)
	bank, _ := stream(bankSup)
	pub := natsevents.NewPublisher(e.p.Bus.NC)
	now := time.Now()
	for _, ev := range []struct{ tenant, room, kind string }{{"province", "T-prov", "face.missing"}, {"bank2", "T-bank", "face.multiple"}} {
		if err := pub.Publish(ev.tenant, pipeline.Event{Kind: ev.kind, Severity: pipeline.SeverityWarning, Source: pipeline.OriginAuto,
			MediaTime: time.Second, Room: ev.room, Participant: "PA_1", WallTime: now}); err != nil {
			t.Fatal(err)
		}
	}
	got := func(ch <-chan liveAlert, n int) []string {
		var rooms []string
		for len(rooms) < n {
			select {
			case a, ok := <-ch:
				if !ok {
					return rooms
				}
				var ev struct{ Kind string }
				_ = json.Unmarshal(a.Event, &ev)
				rooms = append(rooms, a.Tenant+"/"+a.Room+"/"+ev.Kind)
			case <-time.After(5 * time.Second):
				return rooms
			}
		}
		return rooms
	}
	// The province sees every tenant below it; the bank only its own.
	if r := got(prov, 2); strings.Join(r, ",") != "province/T-prov/face.missing,bank2/T-bank/face.multiple" {
		t.Errorf("province supervisor got %v", r)
	}
	if r := got(bank, 2); strings.Join(r, ",") != "bank2/T-bank/face.multiple" {
		t.Errorf("bank supervisor got %v, want only bank2's alert", r)
	}
}
