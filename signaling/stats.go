package signaling

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// statsTap hands each new peer connection the stats getter that the stats
// interceptor creates for it. pion builds a connection's interceptors
// inside NewPeerConnection, on the caller's goroutine, so creating
// connections one at a time under mu pairs each getter with its
// connection.
type statsTap struct {
	mu   sync.Mutex
	last stats.Getter
}

func (t *statsTap) created(_ string, g stats.Getter) { t.last = g } // under mu (newPeerConnection)

// newPeerConnection creates a peer connection and returns its stats getter.
func (s *Server) newPeerConnection(c webrtc.Configuration) (*webrtc.PeerConnection, stats.Getter, error) {
	s.tap.mu.Lock()
	defer s.tap.mu.Unlock()
	s.tap.last = nil
	pc, err := s.api.NewPeerConnection(c)
	if err != nil {
		return nil, nil, err
	}
	if s.tap.last == nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("%w: no stats interceptor was built for a peer connection", ErrConfig)
	}
	return pc, s.tap.last, nil
}

// StatsMsg is the room's quality snapshot, pushed to clients every
// StatsInterval and served by GET /api/rooms/{room}/stats.
type StatsMsg struct {
	Time         time.Time          `json:"time"`
	IntervalMS   int64              `json:"interval_ms"`
	Participants []ParticipantStats `json:"participants"`
}

// ParticipantStats is one participant's connection quality.
type ParticipantStats struct {
	ID       string       `json:"id"`
	Identity string       `json:"identity"`
	State    string       `json:"state"`
	RTTMS    float64      `json:"rtt_ms"` // round trip: the largest of the down tracks' (receiver reports)
	Up       []TrackStats `json:"up"`     // what it publishes, as the server receives it
	Down     []TrackStats `json:"down"`   // what it receives, as the server sends it and the client reports back
	hidden   bool
}

// TrackStats is one track in one direction.
type TrackStats struct {
	Track       string  `json:"track"`
	From        string  `json:"from,omitempty"` // publisher (down only)
	Kind        string  `json:"kind"`
	Source      string  `json:"source"`
	Layer       string  `json:"layer,omitempty"`
	BitrateKbps float64 `json:"bitrate_kbps"`
	Packets     uint64  `json:"packets"`
	PacketsLost int64   `json:"packets_lost"`
	LossPct     float64 `json:"loss_pct"`
	JitterMS    float64 `json:"jitter_ms"`
	RTTMS       float64 `json:"rtt_ms,omitempty"`
	FPS         float64 `json:"fps,omitempty"`
	Width       int     `json:"width,omitempty"`
	Height      int     `json:"height,omitempty"`
}

// statsSource is what collectStats reads off the room goroutine.
type statsSource struct {
	p      *participant
	info   ParticipantInfo
	tracks []*pubTrack
	downs  []*downTrack
}

type prevCounters struct {
	bytes, frames uint64
}

// collectStats snapshots who is where on the room goroutine, then asks
// the stats interceptors for their counters on another goroutine (they take locks that media
// paths use) and posts the result back.
func (r *room) collectStats() {
	if r.statsBusy || len(r.parts) == 0 {
		return
	}
	r.statsBusy = true
	var src []statsSource
	for _, p := range r.sortedParts() {
		s := statsSource{p: p, info: p.info()}
		for _, t := range r.tracks {
			if t.owner == p {
				s.tracks = append(s.tracks, t)
			}
		}
		for _, d := range p.downs {
			s.downs = append(s.downs, d)
		}
		src = append(src, s)
	}
	interval := r.s.cfg.StatsInterval
	go func() {
		msg := buildStats(src, interval)
		_ = r.do(func() {
			r.statsBusy = false
			r.lastStats = msg
			visible := &StatsMsg{Time: msg.Time, IntervalMS: msg.IntervalMS}
			for _, ps := range msg.Participants {
				if !ps.hidden {
					visible.Participants = append(visible.Participants, ps)
				}
			}
			for _, p := range r.parts {
				if p.hidden {
					r.send(p, TStats, "", msg)
				} else {
					r.send(p, TStats, "", visible)
				}
			}
		})
	}()
}

func buildStats(src []statsSource, interval time.Duration) *StatsMsg {
	msg := &StatsMsg{Time: time.Now().UTC(), IntervalMS: interval.Milliseconds()}
	secs := interval.Seconds()
	for _, s := range src {
		ps := ParticipantStats{ID: s.p.id, Identity: s.p.identity, State: s.info.State, hidden: s.p.hidden, Up: []TrackStats{}, Down: []TrackStats{}}
		for _, t := range s.tracks {
			t.mu.Lock()
			layers := make([]*layer, 0, len(t.layers))
			for _, l := range t.layers {
				layers = append(layers, l)
			}
			t.mu.Unlock()
			for _, l := range layers {
				ts := TrackStats{Track: t.id, Kind: t.kind, Source: t.source, Layer: l.rid,
					Packets: l.st.packets.Load(), Width: int(l.st.width.Load()), Height: int(l.st.height.Load())}
				b, f := l.st.bytes.Load(), l.st.frames.Load()
				prev := s.p.prevUp(t.id + "/" + l.rid)
				ts.BitrateKbps = float64(b-prev.bytes) * 8 / 1000 / secs
				if t.kind == "video" {
					ts.FPS = float64(f-prev.frames) / secs
				}
				prev.bytes, prev.frames = b, f
				if st := s.p.pubStats.Get(l.ssrc); st != nil {
					in := st.InboundRTPStreamStats
					ts.PacketsLost = in.PacketsLost
					ts.JitterMS = in.Jitter * 1000
					if tot := float64(in.PacketsReceived) + float64(in.PacketsLost); tot > 0 {
						ts.LossPct = 100 * float64(in.PacketsLost) / tot
					}
				}
				ps.Up = append(ps.Up, ts)
			}
		}
		for _, d := range s.downs {
			t := d.track
			ts := TrackStats{Track: t.id, From: t.owner.id, Kind: t.kind, Source: t.source, Layer: d.wantLayer()}
			sent := d.sent.Load()
			prev := s.p.prevUp("down/" + t.id)
			ts.BitrateKbps = float64(sent-prev.bytes) * 8 / 1000 / secs
			prev.bytes = sent
			var ssrc uint32
			if enc := d.sender.GetParameters().Encodings; len(enc) > 0 {
				ssrc = uint32(enc[0].SSRC)
			}
			if st := s.p.subStats.Get(ssrc); ssrc != 0 && st != nil {
				ri := st.RemoteInboundRTPStreamStats
				ts.PacketsLost = ri.PacketsLost
				ts.LossPct = ri.FractionLost * 100
				ts.JitterMS = ri.Jitter * 1000
				ts.RTTMS = float64(ri.RoundTripTime) / float64(time.Millisecond)
			}
			ps.Down = append(ps.Down, ts)
			// The participant's round trip: the largest of its down
			// tracks' (from receiver reports). The ICE pair's own RTT is
			// not read: pion's ICETransport getters race with its start.
			ps.RTTMS = max(ps.RTTMS, ts.RTTMS)
		}
		msg.Participants = append(msg.Participants, ps)
	}
	return msg
}

// prevUp returns the counters at the last snapshot (only the stats
// goroutine of the room touches them; one runs at a time).
func (p *participant) prevUp(key string) *prevCounters {
	if p.prev == nil {
		p.prev = map[string]*prevCounters{}
	}
	c := p.prev[key]
	if c == nil {
		c = &prevCounters{}
		p.prev[key] = c
	}
	return c
}
