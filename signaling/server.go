// Package signaling is Witness's live-call server: a WebSocket JSON
// signaling protocol (docs/signaling.md) in front of a selective
// forwarding unit built on pion/webrtc. Every room can be recorded on the
// server through the mixer (record.go).
//
// Concurrency: each room is an actor (room.go): one goroutine owns its
// participants, tracks, event log and chat, and everything else (WebSocket
// readers, pion callbacks, HTTP handlers) posts closures to it. Media
// packets never go through the room goroutine: one reader goroutine per
// published track forwards to a copy-on-write list of subscriber tracks.
package signaling

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

//go:embed web
var webFS embed.FS

// Config configures a Server. Zero values get defaults (defaults()).
type Config struct {
	Secret []byte // HMAC key for join tokens (>= 16 bytes)
	// PublicURL is the base URL that invite links use ("" = derived from
	// the request host).
	PublicURL string
	// BasePath is the path prefix the server is mounted under when it
	// shares a listener (witness serve: "/rtc"); it prefixes the URLs the
	// server hands out (file downloads). The handler itself expects the
	// prefix stripped (http.StripPrefix).
	BasePath string
	// UDPPort, when > 0, carries all ICE traffic on one UDP port (one
	// firewall rule); 0 uses an ephemeral port per connection.
	UDPPort int
	// IPs restricts ICE host candidates to these interface addresses
	// (empty: every interface except loopback). Loopback adds 127.0.0.1
	// (tests, benchmarks).
	IPs      []string
	Loopback bool
	// NAT1To1IPs are public addresses to advertise instead of the host's.
	NAT1To1IPs []string
	// ICEServers are STUN/TURN URLs handed to clients.
	ICEServers []string
	// ResumeWindow is how long a participant whose WebSocket or network
	// dropped is kept, media connections and recording slot included,
	// waiting to resume without re-joining.
	ResumeWindow time.Duration
	// ICEDisconnected is how long without ICE traffic before a connection
	// counts as interrupted (event "reconnecting").
	ICEDisconnected time.Duration
	StatsInterval   time.Duration // stats pushed to clients; default 2 s
	MaxParticipants int           // per room (visible and hidden); default 16
	Recording       RecordingConfig
	Analysis        AnalysisConfig // live analyzers and alerts (analyze.go); off without a profile
	Log             *slog.Logger
}

func (c *Config) defaults() {
	if c.ResumeWindow == 0 {
		c.ResumeWindow = 15 * time.Second
	}
	if c.ICEDisconnected == 0 {
		c.ICEDisconnected = 1500 * time.Millisecond
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = 2 * time.Second
	}
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 16
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.Recording.defaults()
	c.Analysis.defaults()
}

// Server is the signaling + SFU service: an http.Handler serving the
// WebSocket endpoint (/ws), the room API (/api/rooms/...) and the test
// pages (/agent.html, /customer.html).
type Server struct {
	cfg Config
	log *slog.Logger
	api *webrtc.API
	mux *http.ServeMux
	up  websocket.Upgrader

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // guards rooms and closed only; never held while calling out
	rooms  map[string]*room
	closed bool
	udp    net.PacketConn
	markMu sync.Mutex // serialises analysis marker files (analyze.go)
	tap    statsTap   // the stats getter of each new peer connection
}

// NewServer builds the pion API (codecs, interceptors, ICE settings) and
// the HTTP routes. Run is not needed for serving; it ties the server's
// life to a context.
func NewServer(cfg Config) (*Server, error) {
	cfg.defaults()
	if len(cfg.Secret) < 16 {
		return nil, fmt.Errorf("%w: secret shorter than 16 bytes", ErrConfig)
	}
	if err := cfg.Recording.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Analysis.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Log.With("component", "sfu"), rooms: map[string]*room{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	api, udp, err := newAPI(&s.cfg, &s.tap)
	if err != nil {
		return nil, err
	}
	s.api, s.udp = api, udp
	s.up = websocket.Upgrader{ReadBufferSize: 16 << 10, WriteBufferSize: 16 << 10,
		// Pages on other origins (the integrator's desk) connect too; the
		// token, not the origin, is the credential.
		CheckOrigin: func(*http.Request) bool { return true }}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /api/rooms", s.apiRooms)
	s.mux.HandleFunc("GET /api/rooms/{room}/events", s.apiEvents)
	s.mux.HandleFunc("GET /api/rooms/{room}/stats", s.apiStats)
	s.mux.HandleFunc("GET /api/rooms/{room}/messages", s.apiMessages)
	s.mux.HandleFunc("GET /api/files/{room}/{file}", s.apiFile)
	sub, _ := fs.Sub(webFS, "web")
	s.mux.Handle("GET /", http.FileServer(http.FS(sub)))
	return s, nil
}

// newAPI configures codecs (VP8, H.264 constrained baseline, Opus), the
// default interceptors (NACK both ways, RTCP reports, TWCC, REMB-free) plus
// a PLI interval, and ICE (timeouts short enough to notice a network cut
// within ~1.5 s; ports; candidates).
func newAPI(cfg *Config, tap *statsTap) (*webrtc.API, net.PacketConn, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	codecs := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: fb}, PayloadType: 102},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, err
		}
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	// Simulcast needs the rid / mid header extensions.
	for _, ext := range []string{"urn:ietf:params:rtp-hdrext:sdes:mid", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ext}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, err
		}
	}
	// pion's default set, except that our own stats interceptor replaces
	// pion's: PeerConnection.GetStats reads a field that pion's close
	// writes without a lock (v4.2.20), so the room reads the interceptor's
	// per-SSRC stats directly (statsTap) and never calls GetStats.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, nil, err
	}
	// Stats before the RTCP reports: a writer bound later wraps the ones
	// bound earlier, so only this order lets the stats see our sender
	// reports, which the round trip from receiver reports needs.
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, nil, err
	}
	sf.OnNewPeerConnection(tap.created)
	ir.Add(sf)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICETimeouts(cfg.ICEDisconnected, 30*time.Second, 500*time.Millisecond)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	if len(cfg.IPs) > 0 || cfg.Loopback {
		allowed := append([]string(nil), cfg.IPs...)
		if cfg.Loopback {
			allowed = append(allowed, "127.0.0.1")
		}
		se.SetIPFilter(func(ip net.IP) bool {
			for _, a := range allowed {
				if ip.String() == a {
					return true
				}
			}
			return false
		})
	}
	if len(cfg.NAT1To1IPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			return nil, nil, fmt.Errorf("%w: nat_1to1_ips: %w", ErrConfig, err)
		}
	}
	var udp net.PacketConn
	if cfg.UDPPort > 0 {
		var err error
		udp, err = net.ListenUDP("udp4", &net.UDPAddr{Port: cfg.UDPPort})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: udp port %d: %w", ErrConfig, cfg.UDPPort, err)
		}
		se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, udp))
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), udp, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Run serves until ctx ends, then closes every room (recordings are
// finalised).
func (s *Server) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	return s.Close()
}

// Close ends every room: participants are disconnected and recordings
// finalised (their hooks run) before it returns.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.close("server closing")
	}
	s.cancel()
	s.wg.Wait()
	if s.udp != nil {
		_ = s.udp.Close()
	}
	return nil
}

// Token signs a join token with the server's secret (tests, `witness sfu
// --token`, invites).
func (s *Server) Token(c Claims) (string, error) {
	if c.Expires == 0 {
		c.Expires = time.Now().Add(time.Hour).Unix()
	}
	return Sign(s.cfg.Secret, c)
}

// room returns the room, creating it (create=true) unless the server is
// closed.
func (s *Server) room(id, tenant string, create bool) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil || !create || s.closed {
		return r
	}
	r := newRoom(s, id, tenant)
	s.rooms[id] = r
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.run()
		s.mu.Lock()
		if s.rooms[id] == r {
			delete(s.rooms, id)
		}
		s.mu.Unlock()
	}()
	return r
}

// CloseRoom ends a room now (participants disconnected with reason, the
// recording finalised, hooks run) and reports whether it existed: the
// control plane closes a call's room when the call ends.
func (s *Server) CloseRoom(id, reason string) bool {
	r := s.room(id, "", false)
	if r == nil {
		return false
	}
	r.close(reason)
	return true
}

// Room returns a snapshot of a room's state (tests, API), or false.
func (s *Server) Room(id string) (RoomInfo, bool) {
	r := s.room(id, "", false)
	if r == nil {
		return RoomInfo{}, false
	}
	var info RoomInfo
	if err := r.call(func() { info = r.info(true) }); err != nil {
		return RoomInfo{}, false
	}
	return info, true
}

// RoomInfo is a room's state for the API.
type RoomInfo struct {
	ID           string            `json:"id"`
	Tenant       string            `json:"tenant"`
	Created      time.Time         `json:"created"`
	Hold         bool              `json:"hold"`
	Participants []ParticipantInfo `json:"participants"`
	Hidden       []ParticipantInfo `json:"hidden,omitempty"` // silent monitors (API only)
	Tracks       []TrackInfo       `json:"tracks"`
	Recording    *RecordingInfo    `json:"recording,omitempty"`
}

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// serveWS upgrades and runs one WebSocket connection: its first message
// must be join (or a join with resume).
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has replied
	}
	c := newConn(s, ws, r)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.serve()
	}()
}

// authorize checks an API request's bearer token: a token for that room
// with the moderate or monitor permission.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, room string) bool {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	c, err := Verify(s.cfg.Secret, tok, time.Now())
	if err != nil || (room != "" && c.Room != room) || !(c.Can(PermModerate) || c.Can(PermMonitor)) {
		http.Error(w, "unauthorized: a moderator token for this room is required", http.StatusUnauthorized)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) apiRooms(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	c, err := Verify(s.cfg.Secret, tok, time.Now())
	if err != nil || !c.Can(PermModerate) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.rooms))
	for id, rm := range s.rooms {
		if rm.tenant == c.Tenant { // tenants never see each other's rooms
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	out := []RoomInfo{}
	for _, id := range ids {
		if info, ok := s.Room(id); ok {
			out = append(out, info)
		}
	}
	writeJSON(w, out)
}

func (s *Server) withRoom(w http.ResponseWriter, r *http.Request, fn func(rm *room)) {
	id := r.PathValue("room")
	if !s.authorize(w, r, id) {
		return
	}
	rm := s.room(id, "", false)
	if rm == nil {
		http.Error(w, "no such room (rooms are kept while they have participants)", http.StatusNotFound)
		return
	}
	if err := rm.call(func() { fn(rm) }); err != nil {
		http.Error(w, err.Error(), http.StatusGone)
	}
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	var ev []RoomEvent
	s.withRoom(w, r, func(rm *room) { ev = append([]RoomEvent(nil), rm.events...) })
	if ev != nil {
		if t := r.URL.Query().Get("type"); t != "" {
			var f []RoomEvent
			for _, e := range ev {
				if e.Type == t {
					f = append(f, e)
				}
			}
			ev = f
		}
		writeJSON(w, ev)
	}
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	var st *StatsMsg
	s.withRoom(w, r, func(rm *room) { st = rm.lastStats })
	if st != nil {
		writeJSON(w, st)
	} else {
		writeJSON(w, StatsMsg{})
	}
}

func (s *Server) apiMessages(w http.ResponseWriter, r *http.Request) {
	var msgs []ChatMessage
	ok := false
	s.withRoom(w, r, func(rm *room) { msgs, ok = append([]ChatMessage{}, rm.chat...), true })
	if ok {
		writeJSON(w, msgs)
	}
}
