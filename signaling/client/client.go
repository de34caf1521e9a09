// Package client is a Go (pion) participant for the Witness signaling
// protocol: tests, the load benchmark and server-to-server integrations
// (a bot that joins a call) use it. It keeps the two connections of the
// protocol: "pub" (this client offers and sends) and "sub" (the server
// offers and this client receives).
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/witness-media/witness/signaling"
)

// Options configure a client.
type Options struct {
	URL   string // ws://host:port/ws
	Token string
	// OnTrack is called (on pion's goroutine) for each received track, with
	// the server's description of it.
	OnTrack func(*webrtc.TrackRemote, signaling.TrackInfo)
	// RewriteCandidate may change a server ICE candidate before it is used
	// (tests route media through a lossy relay with it); "" drops it.
	RewriteCandidate func(string) string
	// RewriteOwnCandidate does the same to this client's candidates
	// before they are sent.
	RewriteOwnCandidate func(string) string
	// AutoRestart restarts ICE on both connections when either is
	// disconnected for a moment (as the browser page does).
	AutoRestart bool
	Log         *slog.Logger
}

// Client is one participant.
type Client struct {
	opts Options
	api  *webrtc.API
	log  *slog.Logger

	wmu sync.Mutex // serialises WebSocket writes
	ws  *websocket.Conn

	mu         sync.Mutex
	seq        int
	pending    map[string]chan *signaling.Message
	tracks     map[string]signaling.TrackInfo // by track id
	msgs       []*signaling.Message
	notify     chan struct{}
	joined     signaling.Joined
	closed     bool
	restarting bool

	Pub, Sub *webrtc.PeerConnection
	subMu    sync.Mutex // serialises sub renegotiation
	// Candidates that arrive before their connection's remote description
	// are held until it is set (AddICECandidate would fail).
	candMu sync.Mutex
	early  map[*webrtc.PeerConnection][]webrtc.ICECandidateInit
	// offers counts sub offers received but not yet applied: candidates
	// that arrive meanwhile belong to the new offer (an ICE restart's new
	// ufrag), so they wait for it instead of going to the old description.
	offers  int
	offerMu sync.Mutex // applies sub offers one at a time, in arrival order
	offerQ  []*signaling.Message
	done    chan struct{}
}

// NewAPI returns a pion API with the codecs the server uses and the
// default interceptors; loopback candidates only (tests, benchmarks).
func NewAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// Simulcast needs the mid / rid header extensions.
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, err
	}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICETimeouts(1500*time.Millisecond, 30*time.Second, 500*time.Millisecond)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Join connects, joins and prepares both connections. Media is published
// with Publish.
func Join(ctx context.Context, opts Options) (*Client, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	api, err := NewAPI()
	if err != nil {
		return nil, err
	}
	c := &Client{opts: opts, api: api, log: opts.Log, pending: map[string]chan *signaling.Message{}, tracks: map[string]signaling.TrackInfo{},
		notify: make(chan struct{}), done: make(chan struct{})}
	if c.Pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	if c.Sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	for target, pc := range map[string]*webrtc.PeerConnection{"pub": c.Pub, "sub": c.Sub} {
		pc.OnICECandidate(func(ca *webrtc.ICECandidate) {
			if ca == nil {
				return
			}
			j := ca.ToJSON()
			if opts.RewriteOwnCandidate != nil {
				if j.Candidate = opts.RewriteOwnCandidate(j.Candidate); j.Candidate == "" {
					return
				}
			}
			_ = c.Send("candidate", signaling.Candidate{Target: target, Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex})
		})
		pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
			if opts.AutoRestart && (s == webrtc.ICEConnectionStateDisconnected || s == webrtc.ICEConnectionStateFailed) {
				go c.restartSoon()
			}
		})
	}
	c.Sub.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		// Read the receiver's RTCP: the interceptors (receiver reports
		// with the sender-report echo the server's round trip needs) only
		// see what is read.
		go func() {
			for {
				if _, _, err := r.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		if opts.OnTrack != nil {
			opts.OnTrack(t, c.TrackInfo(t.ID()))
		}
	})
	if err := c.dial(ctx, ""); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) dial(ctx context.Context, resume string) error {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, c.opts.URL, nil)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	c.ws = ws
	c.wmu.Unlock()
	go c.read(ws)
	m, err := c.Request(ctx, signaling.TJoin, signaling.JoinReq{Token: c.opts.Token, Resume: resume})
	if err != nil {
		return err
	}
	var j signaling.Joined
	if err := json.Unmarshal(m.Data, &j); err != nil {
		return err
	}
	c.mu.Lock()
	c.joined = j
	for _, t := range j.Tracks {
		c.tracks[t.ID] = t
	}
	c.mu.Unlock()
	return nil
}

// Joined is the server's join reply (participant id, session, others).
func (c *Client) Joined() signaling.Joined {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joined
}

// ID is this participant's id.
func (c *Client) ID() string { return c.Joined().Participant }

// TrackInfo returns what the server said about a track.
func (c *Client) TrackInfo(id string) signaling.TrackInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tracks[id]
}

func (c *Client) read(ws *websocket.Conn) {
	for {
		_, raw, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var m signaling.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			continue
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, &m)
		close(c.notify)
		c.notify = make(chan struct{})
		if m.Type == signaling.TTrack || m.Type == signaling.TTrackGone {
			var t signaling.TrackInfo
			if json.Unmarshal(m.Data, &t) == nil {
				c.tracks[t.ID] = t
			}
		}
		ch := c.pending[m.Ref]
		if m.Ref != "" && ch != nil && m.Type != signaling.TOffer {
			delete(c.pending, m.Ref)
		} else {
			ch = nil
		}
		c.mu.Unlock()
		if ch != nil {
			ch <- &m
			continue
		}
		switch m.Type {
		case signaling.TOffer:
			c.candMu.Lock()
			c.offers++
			c.candMu.Unlock()
			c.offerMu.Lock()
			c.offerQ = append(c.offerQ, &m)
			c.offerMu.Unlock()
			go c.nextOffer()
		case signaling.TCandidate:
			var ca signaling.Candidate
			if json.Unmarshal(m.Data, &ca) == nil {
				c.addCandidate(ca)
			}
		}
	}
}

func (c *Client) addCandidate(ca signaling.Candidate) {
	cand := ca.Candidate
	if c.opts.RewriteCandidate != nil {
		if cand = c.opts.RewriteCandidate(cand); cand == "" {
			return
		}
	}
	pc := c.Pub
	if ca.Target == "sub" {
		pc = c.Sub
	}
	init := webrtc.ICECandidateInit{Candidate: cand, SDPMid: ca.SDPMid, SDPMLineIndex: ca.SDPMLineIndex}
	c.candMu.Lock()
	defer c.candMu.Unlock()
	if c.holdCandidates(pc) {
		if c.early == nil {
			c.early = map[*webrtc.PeerConnection][]webrtc.ICECandidateInit{}
		}
		c.early[pc] = append(c.early[pc], init)
		return
	}
	_ = pc.AddICECandidate(init)
}

// setRemote sets a remote description and adds the candidates that came
// before it.
func (c *Client) setRemote(pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	c.candMu.Lock()
	defer c.candMu.Unlock()
	if pc == c.Sub && d.Type == webrtc.SDPTypeOffer {
		c.offers--
	}
	err := pc.SetRemoteDescription(d)
	c.flushEarly(pc)
	return err
}

// holdCandidates reports whether the server's candidates for pc must wait
// (under candMu): no remote description yet, a sub offer not yet applied,
// or our pub offer's answer not yet applied. The server sends an answer
// before the candidates it gathers for it, but the answer is applied on
// the requesting goroutine while candidates arrive on the read loop, so
// after an ICE restart they could reach the old description and be lost.
func (c *Client) holdCandidates(pc *webrtc.PeerConnection) bool {
	return pc.RemoteDescription() == nil || (pc == c.Sub && c.offers > 0) ||
		(pc == c.Pub && pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer)
}

// flushEarly adds the held candidates once no newer offer is pending
// (ones for an older ufrag are refused by pion, harmlessly); under candMu.
func (c *Client) flushEarly(pc *webrtc.PeerConnection) {
	if c.holdCandidates(pc) {
		return
	}
	for _, ca := range c.early[pc] {
		_ = pc.AddICECandidate(ca)
	}
	delete(c.early, pc)
}

// nextOffer applies the oldest queued sub offer (one goroutine per
// offer, serialised by subMu, so they apply in arrival order).
func (c *Client) nextOffer() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.offerMu.Lock()
	m := c.offerQ[0]
	c.offerQ = c.offerQ[1:]
	c.offerMu.Unlock()
	c.onOffer(m)
}

// onOffer answers a sub offer; called under subMu.
func (c *Client) onOffer(m *signaling.Message) {
	applied := false
	defer func() {
		if !applied { // the offer failed: stop holding candidates for it
			c.candMu.Lock()
			c.offers--
			c.flushEarly(c.Sub)
			c.candMu.Unlock()
		}
	}()
	var sdp signaling.SDP
	if json.Unmarshal(m.Data, &sdp) != nil {
		return
	}
	applied = true
	if err := c.setRemote(c.Sub, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp.SDP}); err != nil {
		c.log.Warn("client: sub offer", "err", err)
		return
	}
	ans, err := c.Sub.CreateAnswer(nil)
	if err == nil {
		err = c.Sub.SetLocalDescription(ans)
	}
	if err != nil {
		c.log.Warn("client: sub answer", "err", err)
		return
	}
	_ = c.Send(signaling.TAnswer, signaling.SDP{SDP: ans.SDP})
}

// Send sends a message without waiting for a reply.
func (c *Client) Send(typ string, data any) error {
	_, err := c.send(typ, data, false)
	return err
}

func (c *Client) send(typ string, data any, wait bool) (chan *signaling.Message, error) {
	m := signaling.Message{V: signaling.ProtocolVersion, Type: typ}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		m.Data = b
	}
	var ch chan *signaling.Message
	c.mu.Lock()
	c.seq++
	m.ID = fmt.Sprintf("g%d", c.seq)
	if wait {
		ch = make(chan *signaling.Message, 1)
		c.pending[m.ID] = ch
	}
	c.mu.Unlock()
	b, _ := json.Marshal(m)
	return ch, c.SendRaw(b)
}

// SendRaw writes bytes as one WebSocket message (fuzz / hostile tests).
func (c *Client) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.ws == nil {
		return errors.New("client: not connected")
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// ErrorReply is a server error reply as a Go error.
type ErrorReply struct{ signaling.ErrorReply }

func (e *ErrorReply) Error() string { return e.Code + ": " + e.Message }

// Request sends and waits for the reply; an error reply is an *ErrorReply.
func (c *Client) Request(ctx context.Context, typ string, data any) (*signaling.Message, error) {
	ch, err := c.send(typ, data, true)
	if err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Type == signaling.TError {
			var e ErrorReply
			_ = json.Unmarshal(m.Data, &e.ErrorReply)
			return m, &e
		}
		return m, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("client: %s: %w", typ, ctx.Err())
	}
}

// Track is a local track to publish with its source.
type Track struct {
	Track  webrtc.TrackLocal
	Source string
}

// Publish adds tracks to the publisher connection and negotiates. It
// returns the senders (read their RTCP to see PLIs).
func (c *Client) Publish(ctx context.Context, tracks ...Track) ([]*webrtc.RTPSender, error) {
	req := signaling.PublishReq{}
	var senders []*webrtc.RTPSender
	for _, t := range tracks {
		req.Tracks = append(req.Tracks, signaling.PublishTrack{TrackID: t.Track.ID(), Source: t.Source})
		s, err := c.Pub.AddTrack(t.Track)
		if err != nil {
			return nil, err
		}
		senders = append(senders, s)
	}
	if _, err := c.Request(ctx, signaling.TPublish, req); err != nil {
		return nil, err
	}
	return senders, c.negotiatePub(ctx, false)
}

// PublishSimulcast publishes one video track as several encodings
// (tracks made with webrtc.WithRTPStreamID: "f", "h", "q"), highest
// first. pion does not put the mid / rid header extensions on packets
// itself: the caller writes them (see the simulcast test).
func (c *Client) PublishSimulcast(ctx context.Context, source string, layers ...webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	if len(layers) == 0 {
		return nil, errors.New("client: no layers")
	}
	s, err := c.Pub.AddTrack(layers[0])
	if err != nil {
		return nil, err
	}
	for _, l := range layers[1:] {
		if err := s.AddEncoding(l); err != nil {
			return nil, err
		}
	}
	if _, err := c.Request(ctx, signaling.TPublish, signaling.PublishReq{Tracks: []signaling.PublishTrack{{TrackID: layers[0].ID(), Source: source}}}); err != nil {
		return nil, err
	}
	return s, c.negotiatePub(ctx, false)
}

func (c *Client) negotiatePub(ctx context.Context, restart bool) error {
	offer, err := c.Pub.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err != nil {
		return err
	}
	if err := c.Pub.SetLocalDescription(offer); err != nil {
		return err
	}
	var ans signaling.SDP
	m, err := c.Request(ctx, signaling.TOffer, signaling.SDP{SDP: offer.SDP})
	if err == nil {
		err = json.Unmarshal(m.Data, &ans)
	}
	if err != nil {
		// No answer: back to the last stable description, and the
		// candidates held for the answer go to it.
		c.candMu.Lock()
		_ = c.Pub.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		c.flushEarly(c.Pub)
		c.candMu.Unlock()
		return err
	}
	return c.setRemote(c.Pub, webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP})
}

// RestartICE restarts ICE on both connections (the network changed or
// was cut) without leaving the call.
func (c *Client) RestartICE(ctx context.Context) error {
	if err := c.negotiatePub(ctx, true); err != nil {
		return err
	}
	_, err := c.Request(ctx, signaling.TICERestart, nil)
	return err
}

// restartSoon restarts ICE until both connections are back: a restart
// made while the network is still down fails (its checks run out), so it
// is repeated every 2 s for as long as the resume window allows.
func (c *Client) restartSoon() {
	c.mu.Lock()
	if c.closed || c.restarting {
		c.mu.Unlock()
		return
	}
	c.restarting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.restarting = false
		c.mu.Unlock()
	}()
	up := func() bool {
		for _, pc := range []*webrtc.PeerConnection{c.Pub, c.Sub} {
			if s := pc.ICEConnectionState(); s != webrtc.ICEConnectionStateConnected && s != webrtc.ICEConnectionStateCompleted && s != webrtc.ICEConnectionStateNew {
				return false
			}
		}
		return true
	}
	time.Sleep(300 * time.Millisecond)
	for range 15 {
		if up() || c.isClosed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.RestartICE(ctx); err != nil {
			c.log.Debug("client: ice restart", "err", err)
		}
		cancel()
		for range 20 {
			if up() {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Resume drops the WebSocket and reattaches to the same session (what a
// page does after a network change), without re-joining.
func (c *Client) Resume(ctx context.Context) error {
	c.wmu.Lock()
	if c.ws != nil {
		_ = c.ws.Close()
	}
	c.wmu.Unlock()
	return c.dial(ctx, c.Joined().Session)
}

// Messages returns the server messages of one type received so far.
func (c *Client) Messages(typ string) []*signaling.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*signaling.Message
	for _, m := range c.msgs {
		if typ == "" || m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// WaitMessage waits for a server message of type typ whose data
// satisfies match (nil: any).
func (c *Client) WaitMessage(ctx context.Context, typ string, match func(json.RawMessage) bool) (*signaling.Message, error) {
	seen := 0
	for {
		c.mu.Lock()
		msgs, ch := c.msgs[seen:], c.notify
		seen = len(c.msgs)
		c.mu.Unlock()
		for _, m := range msgs {
			if m.Type == typ && (match == nil || match(m.Data)) {
				return m, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("client: waiting for %s: %w", typ, ctx.Err())
		}
	}
}

// Close leaves and closes everything.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	_ = c.Send(signaling.TLeave, nil)
	c.wmu.Lock()
	if c.ws != nil {
		_ = c.ws.Close()
	}
	c.wmu.Unlock()
	_ = c.Pub.Close()
	_ = c.Sub.Close()
}

// Contains is a helper for WaitMessage matchers.
func Contains(sub string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool { return strings.Contains(string(b), sub) }
}
