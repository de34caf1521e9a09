package signaling

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// room is an actor: run owns every field below ops; other goroutines post
// closures with do (fire and forget) or call (wait).
type room struct {
	s       *Server
	id      string
	tenant  string
	created time.Time
	log     *slog.Logger
	ops     chan func()
	quit    chan struct{} // closed when run has returned
	hold    atomic.Bool   // read by forwarders

	ending    bool
	parts     map[string]*participant // by participant id
	sessions  map[string]*participant // by resume key
	tracks    map[string]*pubTrack
	events    []RoomEvent
	seq       int
	chat      []ChatMessage
	files     map[string]*fileXfer
	lastStats *StatsMsg
	transfers map[string]string // new agent identity → participant id of the agent handing over
	rec       *recorder
	recSeq    int
	statsBusy bool
	an        analysis // live analyzers (analyze.go)
}

// RoomEvent is one entry of the room's event log (also in the session
// record written when the room ends).
type RoomEvent struct {
	Seq         int            `json:"seq"`
	Time        time.Time      `json:"time"`
	Type        string         `json:"type"` // joined, left, published, unpublished, muted, unmuted, camera_off, camera_on, hold, unhold, reconnecting, reconnected, kicked, ...
	Participant string         `json:"participant,omitempty"`
	Identity    string         `json:"identity,omitempty"`
	Data        map[string]any `json:"data,omitempty"`
}

const maxEvents = 20000

func newRoom(s *Server, id, tenant string) *room {
	return &room{s: s, id: id, tenant: tenant, created: time.Now(), log: s.log.With("room", id),
		ops: make(chan func(), 1024), quit: make(chan struct{}),
		parts: map[string]*participant{}, sessions: map[string]*participant{}, tracks: map[string]*pubTrack{},
		files: map[string]*fileXfer{}, transfers: map[string]string{}}
}

// do posts fn to the room goroutine.
func (r *room) do(fn func()) error {
	select {
	case <-r.quit:
		return ErrClosed
	default:
	}
	select {
	case r.ops <- fn:
		return nil
	case <-r.quit:
		return ErrClosed
	}
}

// call runs fn on the room goroutine and waits. Never from the room
// goroutine itself.
func (r *room) call(fn func()) error {
	done := make(chan struct{})
	if err := r.do(func() { fn(); close(done) }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-r.quit:
		select {
		case <-done:
			return nil
		default:
			return ErrClosed
		}
	}
}

// close ends the room and waits for it.
func (r *room) close(reason string) {
	if r.do(func() { r.end(reason) }) == nil {
		<-r.quit
	}
}

func (r *room) run() {
	defer close(r.quit)
	tick := time.NewTicker(r.s.cfg.StatsInterval)
	defer tick.Stop()
	gapTick := time.NewTicker(gapCheck)
	defer gapTick.Stop()
	r.event("room_created", nil, nil)
	if r.s.cfg.Recording.Auto {
		r.startRecording(nil)
	}
	for !r.ending {
		select {
		case fn := <-r.ops:
			fn()
		case <-tick.C:
			r.collectStats()
		case <-gapTick.C:
			if r.rec != nil {
				r.rec.checkGaps()
			}
		}
	}
	// Ops posted after the end (pion callbacks of closed connections) are
	// dropped: do/call see quit and report ErrClosed.
}

// end closes every participant and finalises the recording and the
// session record. Runs on the room goroutine.
func (r *room) end(reason string) {
	if r.ending {
		return
	}
	for _, p := range r.sortedParts() {
		r.remove(p, reason, false)
	}
	if r.rec != nil {
		r.stopRecording()
	}
	r.event("room_closed", nil, map[string]any{"reason": reason})
	r.writeSessionRecord()
	r.ending = true
}

func (r *room) sortedParts() []*participant {
	ps := make([]*participant, 0, len(r.parts))
	for _, p := range r.parts {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].joined.Before(ps[j].joined) })
	return ps
}

func (r *room) event(typ string, p *participant, data map[string]any) {
	r.seq++
	ev := RoomEvent{Seq: r.seq, Time: time.Now().UTC(), Type: typ, Data: data}
	if p != nil {
		ev.Participant, ev.Identity = p.id, p.identity
	}
	if len(r.events) >= maxEvents {
		r.events = r.events[1:]
	}
	r.events = append(r.events, ev)
	r.log.Debug("room event", "type", typ, "participant", ev.Participant)
}

// send queues a message for p (dropped while p has no connection: on
// resume p gets a fresh snapshot and a new offer).
func (r *room) send(p *participant, typ, ref string, data any) {
	if p.conn == nil {
		return
	}
	b, err := Encode(typ, ref, data)
	if err != nil {
		r.log.Error("encode", "type", typ, "err", err)
		return
	}
	p.conn.send(b)
}

func (r *room) replyErr(p *participant, ref, code, msg string) {
	r.send(p, TError, ref, ErrorReply{Code: code, Message: msg})
}

// broadcast sends to every participant except skip; hidden monitors get
// everything, but messages about hidden participants go only to hidden
// ones (about == nil: about nobody in particular).
func (r *room) broadcast(skip *participant, about *participant, typ string, data any) {
	for _, q := range r.parts {
		if q == skip || (about != nil && about.hidden && !q.hidden) {
			continue
		}
		r.send(q, typ, "", data)
	}
}

func (r *room) info(withHidden bool) RoomInfo {
	ri := RoomInfo{ID: r.id, Tenant: r.tenant, Created: r.created, Hold: r.hold.Load(), Participants: []ParticipantInfo{}, Tracks: []TrackInfo{}}
	for _, p := range r.sortedParts() {
		if p.hidden {
			if withHidden {
				ri.Hidden = append(ri.Hidden, p.info())
			}
			continue
		}
		ri.Participants = append(ri.Participants, p.info())
	}
	ri.Tracks = r.trackInfos(nil)
	if r.rec != nil {
		ri.Recording = r.rec.info()
	}
	return ri
}

func (r *room) trackInfos(skipOwner *participant) []TrackInfo {
	out := []TrackInfo{}
	for _, t := range r.tracks {
		if t.owner != skipOwner {
			out = append(out, t.info())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// join admits a participant (or resumes its session) and replies.
func (r *room) join(c *conn, ref string, cl *Claims, req *JoinReq) *participant {
	if r.ending {
		c.replyErr(ref, CodeState, "room closed")
		return nil
	}
	if req.Resume != "" {
		p := r.sessions[req.Resume]
		if p == nil || p.identity != cl.Identity || p.left {
			c.replyErr(ref, CodeState, "no session to resume (expired or unknown); join again")
			return nil
		}
		r.resume(p, c, ref)
		return p
	}
	for _, q := range r.parts {
		if q.identity == cl.Identity {
			// The same person joining again (a new tab, a crashed page):
			// the new session wins.
			r.remove(q, "replaced by a new session", true)
		}
	}
	if len(r.parts) >= r.s.cfg.MaxParticipants {
		c.replyErr(ref, CodeState, fmt.Sprintf("room is full (%d participants)", r.s.cfg.MaxParticipants))
		return nil
	}
	p, err := newParticipant(r, c, cl, req.Name)
	if err != nil {
		c.replyErr(ref, CodeInternal, err.Error())
		return nil
	}
	r.parts[p.id] = p
	r.sessions[p.session] = p
	r.send(p, TJoined, ref, r.joinedFor(p, false))
	if !p.hidden {
		r.broadcast(p, p, TParticipant, p.info())
	}
	r.event("joined", p, map[string]any{"role": p.role, "hidden": p.hidden, "tenant": cl.Tenant})
	if p.claims.Can(PermSubscribe) {
		for _, t := range r.tracks {
			r.subscribe(p, t)
		}
		r.negotiate(p, false)
	}
	if old, ok := r.transfers[p.identity]; ok && p.role == RoleAgent {
		delete(r.transfers, p.identity)
		if q := r.parts[old]; q != nil {
			r.event("transferred", q, map[string]any{"to": p.identity})
			r.remove(q, "call transferred to "+p.identity, true)
		}
	}
	if r.rec != nil {
		r.rec.participantJoined(p)
	}
	return p
}

func (r *room) joinedFor(p *participant, resumed bool) Joined {
	ri := r.info(p.hidden)
	parts := []ParticipantInfo{}
	for _, x := range ri.Participants {
		if x.ID != p.id {
			parts = append(parts, x)
		}
	}
	return Joined{Participant: p.id, Session: p.session, Room: r.id, Role: p.role, Hidden: p.hidden, Resumed: resumed,
		Participants: parts, Tracks: r.trackInfos(p), ICEServers: r.s.cfg.ICEServers, Hold: r.hold.Load()}
}

// resume reattaches a participant's new WebSocket: media connections were
// kept, so nothing is re-published; the client gets a fresh snapshot and
// (if its subscriber connection needs it) a new offer.
func (r *room) resume(p *participant, c *conn, ref string) {
	if p.conn != nil && p.conn != c {
		p.conn.close()
	}
	p.conn = c
	if p.resumeTimer != nil {
		p.resumeTimer.Stop()
		p.resumeTimer = nil
	}
	wasAway := p.state != stateConnected
	p.state = stateConnected
	r.send(p, TJoined, ref, r.joinedFor(p, true))
	p.negotiating = false // an offer in flight was lost with the socket
	r.negotiate(p, false)
	if wasAway {
		r.event("reconnected", p, map[string]any{"via": "resume", "away_ms": time.Since(p.awaySince).Milliseconds()})
		if !p.hidden {
			r.broadcast(p, p, TParticipant, p.info())
		}
	}
}

// connLost: the WebSocket of p ended without a leave. The participant is
// kept for the resume window.
func (r *room) connLost(p *participant, c *conn) {
	if p.conn != c || p.left {
		return
	}
	p.conn = nil
	r.markAway(p, "signaling")
	window := r.s.cfg.ResumeWindow
	p.resumeTimer = time.AfterFunc(window, func() {
		_ = r.do(func() {
			if p.conn == nil && !p.left {
				r.remove(p, fmt.Sprintf("did not resume within %s", window), false)
			}
		})
	})
}

func (r *room) markAway(p *participant, why string) {
	if p.state == stateConnected {
		p.state = stateReconnecting
		p.awaySince = time.Now()
		r.event("reconnecting", p, map[string]any{"cause": why})
		if !p.hidden {
			r.broadcast(p, p, TParticipant, p.info())
		}
	}
}

func (r *room) markBack(p *participant, why string) {
	if p.state == stateReconnecting && p.conn != nil {
		p.state = stateConnected
		r.event("reconnected", p, map[string]any{"via": why, "away_ms": time.Since(p.awaySince).Milliseconds()})
		if !p.hidden {
			r.broadcast(p, p, TParticipant, p.info())
		}
	}
}

// remove takes p out of the room: its tracks are unpublished, its
// connections closed, the others told. notify sends p a kicked message
// first.
func (r *room) remove(p *participant, reason string, notify bool) {
	if p.left {
		return
	}
	p.left = true
	if p.resumeTimer != nil {
		p.resumeTimer.Stop()
	}
	for _, t := range r.tracks {
		if t.owner == p {
			r.dropTrack(t, "owner left")
		}
	}
	delete(r.parts, p.id)
	delete(r.sessions, p.session)
	if notify {
		r.send(p, TKicked, "", ParticipantRef{ID: p.id, Reason: reason})
	}
	if p.conn != nil {
		p.conn.closeAfterFlush()
		p.conn = nil
	}
	p.closePCs()
	if !p.hidden {
		r.broadcast(p, p, TLeft, ParticipantRef{ID: p.id, Reason: reason})
	}
	r.event("left", p, map[string]any{"reason": reason})
	if r.rec != nil {
		r.rec.participantLeft(p)
	}
	r.stopWatch(p)
	if len(r.parts) == 0 && !r.ending {
		// Nobody left (and nobody waiting to resume: they are in parts):
		// the call is over.
		r.end("everyone left")
	}
}

// handle runs one decoded client message.
func (r *room) handle(p *participant, c *conn, m *Message, data any) {
	if p.left || p.conn != c {
		c.replyErr(m.ID, CodeState, "session no longer active")
		return
	}
	need := map[string]string{TOffer: PermPublish, TPublish: PermPublish, TUnpublish: PermPublish, TKick: PermModerate,
		THold: PermModerate, TInvite: PermInvite, TTransfer: PermInvite, TBargeIn: PermMonitor, TRecord: PermRecord,
		TChat: PermChat, TRecall: PermChat, TPush: PermChat, TFileOffer: PermChat, TFileChunk: PermChat, TFileCtl: PermChat, TGetEvents: PermModerate}
	if perm, ok := need[m.Type]; ok && !p.claims.Can(perm) {
		r.replyErr(p, m.ID, CodeForbidden, fmt.Sprintf("%s needs the %s permission", m.Type, perm))
		return
	}
	if p.hidden && (m.Type == TOffer || m.Type == TPublish || m.Type == TChat || m.Type == TPush || m.Type == TFileOffer) {
		r.replyErr(p, m.ID, CodeForbidden, "a silent monitor must barge_in before publishing or chatting")
		return
	}
	var err error
	switch m.Type {
	case TLeave:
		r.remove(p, "left", false)
		return
	case TOffer:
		err = r.onOffer(p, m.ID, data.(*SDP))
	case TAnswer:
		err = r.onAnswer(p, data.(*SDP))
	case TCandidate:
		err = p.addCandidate(data.(*Candidate))
	case TPublish:
		for _, t := range data.(*PublishReq).Tracks {
			p.sources[t.TrackID] = t.Source
		}
	case TUnpublish:
		t := r.trackOf(p, data.(*TrackReq).TrackID)
		if t == nil {
			r.replyErr(p, m.ID, CodeNotFound, "no such track of yours")
			return
		}
		r.dropTrack(t, "unpublished")
	case TSubscribe:
		err = r.onSubscribe(p, data.(*SubscribeReq))
	case TMute:
		err = r.onMute(p, data.(*MuteReq))
	case TSetVideo:
		err = r.onSetVideo(p, data.(*VideoReq))
	case THold:
		r.setHold(p, data.(*HoldReq).On)
	case TKick:
		req := data.(*TargetReq)
		q := r.parts[req.Participant]
		if q == nil || (q.hidden && !p.hidden) {
			r.replyErr(p, m.ID, CodeNotFound, "no such participant in this room")
			return
		}
		r.event("kicked", q, map[string]any{"by": p.identity, "reason": req.Reason})
		r.remove(q, "removed by "+p.identity, true)
	case TInvite:
		req := data.(*InviteReq)
		r.invite(p, m.ID, req.Identity, req.Role, req.TTL)
		return
	case TTransfer:
		req := data.(*TransferReq)
		if p.role != RoleAgent {
			r.replyErr(p, m.ID, CodeForbidden, "only an agent can transfer the call")
			return
		}
		r.transfers[req.Identity] = p.id
		r.event("transfer_requested", p, map[string]any{"to": req.Identity})
		r.invite(p, m.ID, req.Identity, RoleAgent, "")
		return
	case TBargeIn:
		if !p.hidden {
			r.replyErr(p, m.ID, CodeState, "not a silent monitor")
			return
		}
		p.hidden = false
		r.broadcast(p, p, TParticipant, p.info())
		r.event("barge_in", p, nil)
	case TICERestart:
		// The client restarts ICE because its side saw the connection
		// drop, possibly before the server's own disconnect timeout: the
		// participant is away from now until ICE is connected again.
		r.markAway(p, "ice restart requested")
		p.negotiating = false
		r.negotiate(p, true)
	case TRecord:
		if data.(*RecordReq).Action == "start" {
			err = r.startRecording(p)
		} else {
			err = r.stopRecording()
		}
	case TGetEvents:
		r.send(p, TGetEvents, m.ID, r.events)
		return
	case TChat, TRecall, TPush, TFileOffer, TFileChunk, TFileCtl:
		r.handleChat(p, m, data)
		return
	case TStatsReport:
	}
	if err != nil {
		code := CodeInvalid
		if pe, ok := err.(*ProtocolError); ok {
			code = pe.Code
		}
		r.replyErr(p, m.ID, code, err.Error())
		return
	}
	if m.ID != "" && m.Type != TOffer {
		r.send(p, TOK, m.ID, nil)
	}
}

func notFound(format string, a ...any) error {
	return &ProtocolError{Code: CodeNotFound, Msg: fmt.Sprintf(format, a...)}
}

func (r *room) trackOf(p *participant, id string) *pubTrack {
	for _, t := range r.tracks {
		if t.owner == p && (t.id == id || t.clientID == id) {
			return t
		}
	}
	return nil
}

// onOffer answers the publisher connection's offer.
func (r *room) onOffer(p *participant, ref string, o *SDP) error {
	if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	ans, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if err := p.pub.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	r.send(p, TAnswer, ref, SDP{SDP: ans.SDP})
	return nil
}

func (r *room) onAnswer(p *participant, a *SDP) error {
	if p.sub.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return &ProtocolError{Code: CodeState, Msg: "no offer outstanding"}
	}
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP}); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	p.negotiating = false
	if p.renego {
		p.renego = false
		r.negotiate(p, p.restartWanted)
	}
	return nil
}

// negotiate sends a new offer on p's subscriber connection (or queues one
// while an offer is outstanding).
func (r *room) negotiate(p *participant, iceRestart bool) {
	if p.left || p.conn == nil {
		return
	}
	if p.negotiating {
		p.renego = true
		p.restartWanted = p.restartWanted || iceRestart
		return
	}
	if len(p.sub.GetTransceivers()) == 0 {
		return // nothing to receive yet
	}
	if p.sub.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		// A lost offer (socket dropped): roll it back first.
		_ = p.sub.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
	}
	offer, err := p.sub.CreateOffer(&webrtc.OfferOptions{ICERestart: iceRestart})
	if err == nil {
		err = p.sub.SetLocalDescription(offer)
	}
	if err != nil {
		r.log.Warn("subscriber offer failed", "participant", p.id, "err", err)
		return
	}
	p.restartWanted = false
	p.negotiating = true
	r.send(p, TOffer, "", SDP{SDP: offer.SDP})
}

func (r *room) onSubscribe(p *participant, req *SubscribeReq) error {
	n := 0
	for _, t := range r.tracks {
		if t.owner.id != req.Participant || (req.TrackID != "" && t.id != req.TrackID) {
			continue
		}
		if t.owner.hidden && !p.hidden {
			continue
		}
		d := p.downs[t.id]
		if d == nil {
			continue
		}
		n++
		if req.Enabled != nil {
			d.setEnabled(*req.Enabled)
		}
		if t.kind == "video" {
			layer := req.Layer
			if layer == "" && (req.MaxHeight > 0 || req.MaxFPS > 0) {
				layer = t.layerFor(req.MaxHeight)
			}
			if layer != "" {
				if !slices.Contains(t.layerNames(), layer) {
					return &ProtocolError{Code: CodeInvalid, Msg: fmt.Sprintf("track %s has no layer %q (layers: %v)", t.id, layer, t.layerNames())}
				}
				d.setLayer(layer)
			}
			d.setMaxFPS(req.MaxFPS)
			t.requestKeyframe(d.wantLayer())
		}
	}
	if n == 0 {
		return notFound("no such track of participant %q in this room", req.Participant)
	}
	return nil
}

func (r *room) onMute(p *participant, req *MuteReq) error {
	target := p
	if req.Participant != "" && req.Participant != p.id {
		if !p.claims.Can(PermModerate) {
			return &ProtocolError{Code: CodeForbidden, Msg: "muting others needs the moderate permission"}
		}
		if target = r.parts[req.Participant]; target == nil || (target.hidden && !p.hidden) {
			return notFound("no such participant %q", req.Participant)
		}
	}
	if req.Kind == "audio" {
		target.audioMuted = req.Muted
	} else {
		target.videoMuted = req.Muted
	}
	for _, t := range r.tracks {
		if t.owner == target && t.kind == req.Kind {
			t.muted.Store(req.Muted)
			if !req.Muted && t.kind == "video" {
				t.requestKeyframe("")
			}
			r.broadcast(nil, target, TTrack, t.info())
		}
	}
	typ := map[[2]bool]string{{true, true}: "muted", {true, false}: "unmuted", {false, true}: "camera_off", {false, false}: "camera_on"}[[2]bool{req.Kind == "audio", req.Muted}]
	r.event(typ, target, map[string]any{"by": p.identity})
	r.broadcast(nil, target, TParticipant, target.info())
	if r.rec != nil {
		r.rec.muted(target, req.Kind, req.Muted)
	}
	return nil
}

func (r *room) onSetVideo(p *participant, req *VideoReq) error {
	target := p
	if req.Participant != "" && req.Participant != p.id {
		if !p.claims.Can(PermModerate) {
			// Anyone may ask what they receive: that is per-subscriber
			// (subscribe max_height); changing what someone sends is a
			// moderator's call.
			return &ProtocolError{Code: CodeForbidden, Msg: "asking another participant for a resolution needs the moderate permission"}
		}
		if target = r.parts[req.Participant]; target == nil || target.hidden {
			return notFound("no such participant %q", req.Participant)
		}
	}
	r.send(target, TVideoRequest, "", VideoReq{Participant: target.id, Height: req.Height, FPS: req.FPS})
	r.event("video_requested", target, map[string]any{"height": req.Height, "fps": req.FPS, "by": p.identity})
	return nil
}

// setHold stops (or restarts) forwarding in both directions for everyone;
// the recording shows the hold card meanwhile.
func (r *room) setHold(p *participant, on bool) {
	if r.hold.Load() == on {
		return
	}
	r.hold.Store(on)
	typ := "unhold"
	if on {
		typ = "hold"
	}
	r.event(typ, p, nil)
	r.broadcast(nil, nil, THoldState, HoldReq{On: on, By: p.id})
	if !on {
		for _, t := range r.tracks {
			t.requestKeyframe("")
		}
	}
	if r.rec != nil {
		r.rec.setHold(on)
	}
}

func (r *room) invite(p *participant, ref, identity, role, ttl string) {
	d := 10 * time.Minute
	if ttl != "" {
		v, err := time.ParseDuration(ttl)
		if err != nil || v <= 0 || v > 24*time.Hour {
			r.replyErr(p, ref, CodeInvalid, "ttl must be a duration up to 24h")
			return
		}
		d = v
	}
	if role == "" {
		role = RoleGuest
	}
	if err := validRole(role); err != nil || role == RoleSupervisor && !p.claims.Can(PermMonitor) {
		r.replyErr(p, ref, CodeForbidden, "cannot invite with role "+role)
		return
	}
	tok, err := Sign(r.s.cfg.Secret, Claims{Room: r.id, Identity: identity, Role: role, Tenant: r.tenant, Expires: time.Now().Add(d).Unix()})
	if err != nil {
		r.replyErr(p, ref, CodeInvalid, err.Error())
		return
	}
	page := "customer.html"
	if role == RoleAgent || role == RoleSupervisor {
		page = "agent.html"
	}
	r.event("invited", p, map[string]any{"identity": identity, "role": role})
	r.send(p, TOK, ref, InviteReply{Token: tok, URL: r.s.cfg.PublicURL + r.s.cfg.BasePath + "/" + page + "#token=" + tok})
}

// writeSessionRecord keeps the room's event log, chat and file list next
// to its recordings (the session record).
func (r *room) writeSessionRecord() {
	dir := r.s.cfg.Recording.Dir
	if dir == "" {
		return
	}
	rec := map[string]any{"room": r.id, "tenant": r.tenant, "created": r.created, "ended": time.Now().UTC(),
		"events": r.events, "messages": r.chat, "files": r.fileInfos()}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err == nil {
		p := filepath.Join(dir, safeName(r.id), "session.json")
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = writeAtomic(p, b)
		}
	}
	if err != nil {
		r.log.Error("session record not written", "err", err)
	}
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".part"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
