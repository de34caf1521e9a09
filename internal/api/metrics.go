package api

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/witness-media/witness/console"
)

type metrics struct {
	latency    *prometheus.HistogramVec
	slow       *prometheus.CounterVec
	alertLevel prometheus.Gauge
	events     *prometheus.CounterVec
	recordsErr prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "witness_http_request_duration_seconds",
			Help: "API response time by route and status class.", Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 3, 5, 10}},
			[]string{"route", "code"}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "witness_http_slow_responses_total",
			Help: "Responses slower than the yellow threshold (3 s), by route."}, []string{"route"}),
		alertLevel: prometheus.NewGauge(prometheus.GaugeOpts{Name: "witness_http_alert_level",
			Help: "Response-time alert: 0 green, 1 yellow (a request over 3 s), 2 red (5 consecutive)."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "witness_console_events_total",
			Help: "Console engine events by kind."}, []string{"kind"}),
		recordsErr: prometheus.NewCounter(prometheus.CounterOpts{Name: "witness_record_write_errors_total",
			Help: "Service record or agent state writes that failed (logged)."}),
	}
	reg.MustRegister(m.latency, m.slow, m.alertLevel, m.events, m.recordsErr)
	if s.eng != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "witness_queue_waiting", Help: "Customers waiting in all queues."},
			func() float64 {
				n := 0
				for _, t := range s.eng.Tickets(func(string) bool { return true }) {
					if t.State == console.TicketWaiting {
						n++
					}
				}
				return float64(n)
			}))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "witness_agents_idle", Help: "Agents idle now."},
			func() float64 {
				n := 0
				for _, a := range s.eng.Agents(func(string) bool { return true }) {
					if a.State == console.StateIdle {
						n++
					}
				}
				return float64(n)
			}))
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func promHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// alerter turns response times into the yellow/red alert: one request over
// the threshold is yellow; RedAfter consecutive ones are red; a fast
// response resets the run (and the level to green).
type alerter struct {
	slow     time.Duration
	redAfter int
	met      *metrics
	log      *slog.Logger
	mu       sync.Mutex
	run      int
	level    int
}

// Level is the current alert level (0 green, 1 yellow, 2 red).
func (a *alerter) Level() int { a.mu.Lock(); defer a.mu.Unlock(); return a.level }

func (a *alerter) observe(route string, d time.Duration) {
	a.mu.Lock()
	prev := a.level
	if d > a.slow {
		a.run++
		a.level = 1
		if a.run >= a.redAfter {
			a.level = 2
		}
	} else {
		a.run, a.level = 0, 0
	}
	level, run := a.level, a.run
	a.mu.Unlock()
	if d > a.slow {
		a.met.slow.WithLabelValues(route).Inc()
	}
	a.met.alertLevel.Set(float64(level))
	switch {
	case level == 2 && prev != 2:
		a.log.Error("response-time alert RED", "event", "alert.red", "route", route, "duration", d, "consecutive", run)
	case level == 1 && d > a.slow:
		a.log.Warn("response-time alert YELLOW", "event", "alert.yellow", "route", route, "duration", d, "consecutive", run)
	case level == 0 && prev != 0:
		a.log.Info("response-time alert cleared", "event", "alert.green", "route", route)
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// Flush lets server-sent events through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack lets WebSocket upgrades of mounted servers (signaling) through
// the wrapper; gorilla/websocket asserts http.Hijacker directly.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("api: %T cannot be hijacked", w.ResponseWriter)
	}
	w.code = http.StatusSwitchingProtocols
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// timed measures a handler for the latency histogram and the alerter.
// Streams (SSE) are excluded from alerting: they are long by design.
func (s *Server) timed(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		s.met.latency.WithLabelValues(route, codeClass(sw.code)).Observe(d.Seconds())
		if sw.Header().Get("Content-Type") != "text/event-stream" && !isFileStream(sw.Header()) {
			s.alerts.observe(route, d)
		}
	})
}

func codeClass(c int) string {
	return [...]string{"0xx", "1xx", "2xx", "3xx", "4xx", "5xx"}[min(c/100, 5)]
}
