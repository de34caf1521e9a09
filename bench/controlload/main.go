// Command controlload is the load generator of bench/control.sh: against a
// running `witness serve` it signs in AGENTS agents, queues CUSTOMERS
// customers who each hold a live position stream (SSE), then drives a mix
// of position polls, agent state changes and queue join/leave at
// increasing target rates and prints the achieved rate and latency
// percentiles of each step.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}, Timeout: 30 * time.Second}

func call(base, method, path, tok string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, nil
}

// status sends a request and reads only the status (the load loop does
// not need the body; decoding it would take CPU from the server, which
// shares the machine).
func status(base, method, path, tok string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func mustCall(base, method, path, tok string, body any, want int) map[string]any {
	code, m, err := call(base, method, path, tok, body)
	if err != nil || code != want {
		fmt.Fprintf(os.Stderr, "controlload: %s %s: %d %v %v\n", method, path, code, err, m)
		os.Exit(1)
	}
	return m
}

type ticket struct{ id, token string }

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "witness serve base URL")
	adminPW := flag.String("admin-password", "", "first admin password")
	agents := flag.Int("agents", 200, "agents signed in")
	customers := flag.Int("customers", 200, "waiting customers with live SSE position streams")
	rates := flag.String("rates", "1000,2000,5000,8000,0", "target request rates per step (0 = as fast as possible)")
	step := flag.Duration("step", 10*time.Second, "duration of each step")
	workers := flag.Int("workers", 128, "concurrent requests in flight at most")
	flag.Parse()

	b := *base
	pw := "bench-admin-pass-2026"
	m := mustCall(b, "POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": *adminPW}, 200)
	admin := m["token"].(string)
	mustCall(b, "POST", "/api/v1/me/password", admin, map[string]string{"old": *adminPW, "new": pw}, 204)
	mustCall(b, "POST", "/api/v1/tenants", admin, map[string]any{"id": "bench", "parent_id": "province", "name": "Bench Bank", "level": "bank", "whitelisted": true}, 201)
	mustCall(b, "PUT", "/api/v1/tenants/bench/queues", admin, map[string]any{"queues": []map[string]any{{"name": "general", "strategy": "longest-idle"}}, "routes": []map[string]any{{"queue": "general"}}}, 200)

	// Agents: created by the admin, first sign-in, password change, queue
	// sign-in. They stay "busy" so the 200 customers keep waiting.
	start := time.Now()
	toks := make([]string, *agents)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range *agents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("agent%03d", i)
			m := mustCall(b, "POST", "/api/v1/users", admin, map[string]any{"tenant_id": "bench", "username": name, "role": "agent"}, 201)
			init := m["initial_password"].(string)
			m = mustCall(b, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": init}, 200)
			tok := m["token"].(string)
			mustCall(b, "POST", "/api/v1/me/password", tok, map[string]string{"old": init, "new": "agent-pass-2026-" + name}, 204)
			mustCall(b, "POST", "/api/v1/agent/sign-in", tok, map[string]any{"queues": []string{"general"}}, 200)
			mustCall(b, "PUT", "/api/v1/agent/state", tok, map[string]any{"state": "busy"}, 200)
			toks[i] = tok
		}()
	}
	wg.Wait()
	fmt.Printf("setup: %d agents signed in (%.1fs)\n", *agents, time.Since(start).Seconds())

	tickets := make([]ticket, *customers)
	var streams atomic.Int64
	for i := range *customers {
		m := mustCall(b, "POST", "/api/v1/queue/join", "", map[string]any{"tenant_id": "bench", "customer_id": fmt.Sprintf("cust%03d", i), "channel": []string{"app", "h5", "mini", "pc"}[i%4], "business": "open"}, 201)
		t := ticket{id: m["ticket"].(map[string]any)["id"].(string), token: m["token"].(string)}
		tickets[i] = t
		go func() {
			resp, err := client.Get(b + "/api/v1/queue/tickets/" + t.id + "/events?token=" + t.token)
			if err != nil {
				return
			}
			streams.Add(1)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			streams.Add(-1)
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); streams.Load() < int64(*customers) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("setup: %d customers waiting, %d position streams open\n", *customers, streams.Load())

	states := [][]byte{[]byte(`{"state":"busy"}`), []byte(`{"state":"break"}`), []byte(`{"state":"meeting"}`), []byte(`{"state":"paused"}`), []byte(`{"state":"meal"}`)}
	var seq atomic.Int64
	op := func() (string, error) {
		n := seq.Add(1)
		switch r := n % 10; {
		case r < 6: // position poll
			t := tickets[n%int64(len(tickets))]
			code, err := status(b, "GET", "/api/v1/queue/tickets/"+t.id+"?token="+t.token, "", nil)
			return check("poll", code, 200, err)
		case r < 9: // agent state change
			tok := toks[n%int64(len(toks))]
			code, err := status(b, "PUT", "/api/v1/agent/state", tok, states[n%int64(len(states))])
			return check("state", code, 200, err)
		default: // a new customer joins and leaves
			code, m, err := call(b, "POST", "/api/v1/queue/join", "", map[string]any{"tenant_id": "bench", "customer_id": fmt.Sprintf("walk%d", n), "channel": "h5", "business": "open"})
			if _, err := check("join", code, 201, err); err != nil {
				return "join", err
			}
			id := m["ticket"].(map[string]any)["id"].(string)
			code, err = status(b, "POST", "/api/v1/queue/tickets/"+id+"/leave?token="+m["token"].(string), "", nil)
			return check("join", code, 204, err)
		}
	}

	fmt.Printf("%-8s %10s %10s %9s %9s %9s %7s\n", "target", "achieved", "requests", "p50_ms", "p99_ms", "max_ms", "errors")
	for _, rs := range strings.Split(*rates, ",") {
		var target int
		fmt.Sscan(rs, &target)
		runStep(op, target, *step, *workers, streams.Load())
	}
}

func check(kind string, code, want int, err error) (string, error) {
	if err != nil {
		return kind, err
	}
	if code != want {
		return kind, fmt.Errorf("%s: status %d", kind, code)
	}
	return kind, nil
}

func runStep(op func() (string, error), target int, d time.Duration, workers int, streams int64) {
	tokens := make(chan struct{}, workers)
	stop := make(chan struct{})
	if target > 0 {
		go func() {
			// Paced by elapsed time (a loaded machine delays ticks).
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			acc, last := 0.0, time.Now()
			for {
				select {
				case <-stop:
					close(tokens)
					return
				case now := <-t.C:
					acc += float64(target) * now.Sub(last).Seconds()
					last = now
					for acc >= 1 {
						acc--
						select {
						case tokens <- struct{}{}:
						default: // all workers busy: the server is not keeping up
						}
					}
				}
			}
		}()
	}
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   int
		wg     sync.WaitGroup
		errMsg string
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			le := 0
			lm := ""
			for time.Now().Before(deadline) {
				if target > 0 {
					if _, ok := <-tokens; !ok {
						break
					}
				}
				t0 := time.Now()
				_, err := op()
				local = append(local, time.Since(t0))
				if err != nil {
					le++
					lm = err.Error()
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += le
			if lm != "" {
				errMsg = lm
			}
			mu.Unlock()
		}()
	}
	if target > 0 {
		time.Sleep(time.Until(deadline))
		close(stop)
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	tl := "max"
	if target > 0 {
		tl = fmt.Sprint(target)
	}
	fmt.Printf("%-8s %10.0f %10d %9.2f %9.2f %9.2f %7d\n", tl, float64(len(lat))/el.Seconds(), len(lat), pct(0.5), pct(0.99), pct(1), errs)
	if errMsg != "" {
		fmt.Printf("         last error: %s\n", errMsg)
	}
	_ = streams
}
