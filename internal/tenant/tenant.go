// Package tenant holds a tenant's (法人's) business settings shared by the
// store and the console: business catalogue, service hours and quotas.
package tenant

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Settings are a tenant's catalogue, hours and quotas.
type Settings struct {
	Businesses []Business `json:"businesses,omitempty"`
	Hours      Hours      `json:"hours"`
	Quotas     Quotas     `json:"quotas"`
	// Routing holds the tenant's queues and routes as the console
	// configures them (kept opaque here so this package stays a leaf).
	Routing json.RawMessage `json:"routing,omitempty"`
}

// Business is one catalogue entry (account opening, wealth-product double
// recording, loan interview ...).
type Business struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Products []string `json:"products,omitempty"`
}

// Hours are service hours: a weekly schedule plus dated exceptions. Times
// are "HH:MM" in Zone. The zero value is open all the time.
type Hours struct {
	Zone     string            `json:"zone,omitempty"`           // IANA zone; default Asia/Shanghai
	WorkDays []int             `json:"work_days,omitempty"`      // 0=Sunday..6; empty = every day
	Open     string            `json:"open,omitempty"`           // "" = from midnight
	Close    string            `json:"close,omitempty"`          // "" = to midnight
	Holidays []string          `json:"holidays,omitempty"`       // "2026-10-01": closed all day
	HalfDays map[string]string `json:"half_days,omitempty"`      // date -> closing time that day
	Extra    []string          `json:"extra_workdays,omitempty"` // weekend dates worked (调休)
}

var (
	zoneMu sync.Mutex
	zones  = map[string]*time.Location{}
)

func location(name string) (*time.Location, error) {
	if name == "" {
		name = "Asia/Shanghai"
	}
	zoneMu.Lock()
	defer zoneMu.Unlock()
	if l, ok := zones[name]; ok {
		return l, nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones[name] = l
	return l, nil
}

// Validate checks zone and time formats.
func (h Hours) Validate() error {
	if _, err := location(h.Zone); err != nil {
		return fmt.Errorf("hours: zone %q: %w", h.Zone, err)
	}
	for _, v := range append([]string{h.Open, h.Close}, values(h.HalfDays)...) {
		if _, err := minutes(v, 0); err != nil {
			return err
		}
	}
	for _, d := range append(append([]string{}, h.Holidays...), append(h.Extra, keys(h.HalfDays)...)...) {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			return fmt.Errorf("hours: date %q: want YYYY-MM-DD", d)
		}
	}
	return nil
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func minutes(hhmm string, def int) (int, error) {
	if hhmm == "" {
		return def, nil
	}
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return 0, fmt.Errorf("hours: time %q: want HH:MM", hhmm)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// IsOpen reports whether service is open at t.
func (h Hours) IsOpen(t time.Time) bool {
	loc, err := location(h.Zone)
	if err != nil {
		return false // an unusable calendar closes rather than opens
	}
	lt := t.In(loc)
	date := lt.Format("2006-01-02")
	if slices.Contains(h.Holidays, date) {
		return false
	}
	work := len(h.WorkDays) == 0 || slices.Contains(h.WorkDays, int(lt.Weekday())) || slices.Contains(h.Extra, date)
	if !work {
		return false
	}
	open, err1 := minutes(h.Open, 0)
	closing, err2 := minutes(h.Close, 24*60)
	if half, ok := h.HalfDays[date]; ok {
		closing, err2 = minutes(half, 24*60)
	}
	if err1 != nil || err2 != nil {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	return m >= open && m < closing
}

// Quotas limit what a tenant may run at once. A temporary raise carries
// its expiry, so a forgotten raise ends by itself.
type Quotas struct {
	MaxCalls      int       `json:"max_calls"`      // simultaneous calls (ringing or connected); 0 = unlimited
	MaxRecordings int       `json:"max_recordings"` // simultaneous recordings; 0 = unlimited
	RaisedCalls   int       `json:"raised_calls,omitempty"`
	RaisedRecs    int       `json:"raised_recordings,omitempty"`
	RaisedUntil   time.Time `json:"raised_until,omitzero"`
}

// Calls is the call limit in force at now (0 = unlimited).
func (q Quotas) Calls(now time.Time) int {
	if q.RaisedCalls > q.MaxCalls && q.MaxCalls > 0 && now.Before(q.RaisedUntil) {
		return q.RaisedCalls
	}
	return q.MaxCalls
}

// Recordings is the recording limit in force at now (0 = unlimited).
func (q Quotas) Recordings(now time.Time) int {
	if q.RaisedRecs > q.MaxRecordings && q.MaxRecordings > 0 && now.Before(q.RaisedUntil) {
		return q.RaisedRecs
	}
	return q.MaxRecordings
}
