package signaling

import (
	"fmt"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

const (
	stateConnected    = "connected"
	stateReconnecting = "reconnecting"
)

// participant is owned by its room's goroutine, except the two peer
// connections (pion is safe for concurrent use) and what is atomic.
type participant struct {
	id, identity, role, name, session string
	claims                            *Claims
	hidden                            bool
	room                              *room
	conn                              *conn
	joined                            time.Time

	pub *webrtc.PeerConnection // client → server (client offers)
	sub *webrtc.PeerConnection // server → client (server offers)

	pubStats, subStats stats.Getter // per-SSRC RTP stats of pub and sub (statsTap)

	audioMuted, videoMuted bool
	sources                map[string]string     // client track id → source (from publish)
	downs                  map[string]*downTrack // by published track id
	negotiating, renego    bool
	restartWanted          bool
	state                  string
	awaySince              time.Time
	left                   bool
	resumeTimer            *time.Timer
	prev                   map[string]*prevCounters // stats goroutine only (statsBusy serialises it)
}

func newParticipant(r *room, c *conn, cl *Claims, name string) (*participant, error) {
	if name == "" {
		name = cl.Name
	}
	p := &participant{id: newID("PA_"), identity: cl.Identity, role: cl.Role, name: name, session: newID("SE_"),
		claims: cl, hidden: cl.Hidden, room: r, conn: c, joined: time.Now(), state: stateConnected,
		sources: map[string]string{}, downs: map[string]*downTrack{}}
	var ice []webrtc.ICEServer
	if len(r.s.cfg.ICEServers) > 0 {
		ice = []webrtc.ICEServer{{URLs: r.s.cfg.ICEServers}}
	}
	var err error
	if p.pub, p.pubStats, err = r.s.newPeerConnection(webrtc.Configuration{ICEServers: ice}); err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	if p.sub, p.subStats, err = r.s.newPeerConnection(webrtc.Configuration{ICEServers: ice}); err != nil {
		_ = p.pub.Close()
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	for target, pc := range map[string]*webrtc.PeerConnection{"pub": p.pub, "sub": p.sub} {
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil {
				return
			}
			ci := c.ToJSON()
			_ = r.do(func() {
				r.send(p, TCandidate, "", Candidate{Target: target, Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex})
			})
		})
		pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
			_ = r.do(func() { r.iceState(p, target, st) })
		})
	}
	p.pub.OnTrack(func(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		go r.attachRemote(p, t, recv)
	})
	return p, nil
}

// iceState turns ICE interruptions into room events and recording gaps;
// the client restarts ICE, the server only waits (up to the resume window
// for a failed connection).
func (r *room) iceState(p *participant, target string, st webrtc.ICEConnectionState) {
	r.log.Debug("ice state", "participant", p.identity, "pc", target, "state", st.String())
	if p.left {
		return
	}
	switch st {
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed:
		r.markAway(p, "ice "+target+" "+st.String())
		if st == webrtc.ICEConnectionStateFailed {
			window := r.s.cfg.ResumeWindow
			pc := p.pub
			if target == "sub" {
				pc = p.sub
			}
			time.AfterFunc(window, func() {
				_ = r.do(func() {
					if !p.left && pc.ICEConnectionState() == webrtc.ICEConnectionStateFailed {
						r.remove(p, fmt.Sprintf("connection not restored within %s", window), false)
					}
				})
			})
		}
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		other := p.sub
		if target == "sub" {
			other = p.pub
		}
		// Back only when neither connection is still interrupted.
		if s := other.ICEConnectionState(); s != webrtc.ICEConnectionStateDisconnected && s != webrtc.ICEConnectionStateFailed {
			r.markBack(p, "ice")
		}
	}
}

func (p *participant) info() ParticipantInfo {
	return ParticipantInfo{ID: p.id, Identity: p.identity, Name: p.name, Role: p.role, AudioOff: p.audioMuted, VideoOff: p.videoMuted, State: p.state}
}

func (p *participant) addCandidate(c *Candidate) error {
	pc := p.pub
	if c.Target == "sub" {
		pc = p.sub
	}
	if err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}); err != nil {
		return &ProtocolError{Code: CodeInvalid, Msg: "candidate: " + err.Error()}
	}
	return nil
}

// closePCs closes both connections off the room goroutine (Close waits
// for pion's own goroutines).
func (p *participant) closePCs() {
	pub, sub := p.pub, p.sub
	s := p.room.s
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = pub.Close()
		_ = sub.Close()
	}()
}
