package signaling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ProtocolVersion is the version of the WebSocket JSON protocol
// (docs/signaling.md). A client sends it in every message ("v"); a message
// with another version is refused with an error reply, so an old page
// talking to a new server fails loudly instead of half-working.
const ProtocolVersion = 1

// MaxMessageBytes bounds one signaling message. SDP with many tracks stays
// well under it; file chunks are limited to MaxChunkBytes of base64.
const MaxMessageBytes = 256 << 10

// Message is the envelope of every signaling message, both directions:
// {"v":1,"type":"join","id":"c7","data":{...}}. ID is chosen by the
// sender of a request and echoed in the reply ("ref"), so a client can
// match replies and errors to requests.
type Message struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Ref  string          `json:"ref,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Client → server message types.
const (
	TJoin        = "join"        // JoinReq
	TLeave       = "leave"       // no data
	TOffer       = "offer"       // SDP (publisher connection: client offers)
	TAnswer      = "answer"      // SDP (subscriber connection: server offers)
	TCandidate   = "candidate"   // Candidate
	TPublish     = "publish"     // PublishReq: names the tracks of the next offer
	TUnpublish   = "unpublish"   // TrackReq
	TSubscribe   = "subscribe"   // SubscribeReq
	TMute        = "mute"        // MuteReq (camera off = video muted)
	TSetVideo    = "set_video"   // VideoReq: a participant's published resolution / frame rate
	THold        = "hold"        // HoldReq
	TKick        = "kick"        // TargetReq
	TInvite      = "invite"      // InviteReq → InviteReply
	TTransfer    = "transfer"    // TransferReq → InviteReply
	TBargeIn     = "barge_in"    // no data: a silent monitor becomes a visible participant
	TChat        = "chat"        // ChatReq
	TRecall      = "recall"      // RecallReq
	TPush        = "push"        // PushReq: a link or a finished file to one or all
	TFileOffer   = "file_offer"  // FileOffer
	TFileChunk   = "file_chunk"  // FileChunk
	TFileCtl     = "file_ctl"    // FileCtl: pause, resume, cancel
	TICERestart  = "ice_restart" // no data: restart the subscriber connection's ICE
	TRecord      = "record"      // RecordReq: start / stop a recording segment
	TPing        = "ping"
	TGetEvents   = "get_events" // the room event log
	TStatsReport = "stats"      // client → server: optional client-side stats (ignored beyond logging)
)

// Server → client message types (besides replies to the above).
const (
	TJoined       = "joined"
	TError        = "error"
	TOK           = "ok"
	TParticipant  = "participant"   // Participant joined or changed
	TLeft         = "left"          // ParticipantRef
	TTrack        = "track"         // TrackInfo published or changed
	TTrackGone    = "track_gone"    // TrackInfo unpublished
	TKicked       = "kicked"        // you were removed
	TVideoRequest = "video_request" // to a publisher: please send this resolution / rate
	THoldState    = "hold_state"    // HoldReq echoed to everyone
	TStats        = "stats"         // Stats, every 2 s
	TFile         = "file"          // FileInfo (state change)
	TRecording    = "recording"     // RecordingInfo
	TPong         = "pong"
)

// Error codes in error replies.
const (
	CodeBadMessage = "bad_message" // not JSON, wrong types, unknown fields, oversized
	CodeVersion    = "version"     // unsupported protocol version
	CodeUnknown    = "unknown_type"
	CodeAuth       = "unauthorized" // bad or expired token
	CodeForbidden  = "forbidden"    // the token's permissions do not allow this
	CodeState      = "state"        // not joined, already joined, ...
	CodeNotFound   = "not_found"    // no such participant / track / message in this room
	CodeInvalid    = "invalid"      // a value out of range
	CodeInternal   = "internal"
)

// ErrorReply is the data of an error message.
type ErrorReply struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// JoinReq opens a session. Resume, when set, reattaches to a session that
// lost its WebSocket less than the resume window ago (no re-join: the
// media connections and the recording carry on).
type JoinReq struct {
	Token  string `json:"token"`
	Resume string `json:"resume,omitempty"`
	Name   string `json:"name,omitempty"` // display name
}

// Joined is the reply to join.
type Joined struct {
	Participant  string            `json:"participant"`
	Session      string            `json:"session"` // the resume key
	Room         string            `json:"room"`
	Role         string            `json:"role"`
	Hidden       bool              `json:"hidden,omitempty"`
	Resumed      bool              `json:"resumed,omitempty"`
	Participants []ParticipantInfo `json:"participants"`
	Tracks       []TrackInfo       `json:"tracks"`
	ICEServers   []string          `json:"ice_servers,omitempty"`
	Hold         bool              `json:"hold,omitempty"`
}

// SDP carries an offer or an answer.
type SDP struct {
	SDP string `json:"sdp"`
}

// Candidate is a trickled ICE candidate for one of the two connections:
// "pub" (the client publishes, client offers) or "sub" (the client
// receives, server offers).
type Candidate struct {
	Target        string  `json:"target"`
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
}

// PublishReq names the tracks of the publisher offer that follows (or
// preceded) it: WebRTC track id → source.
type PublishReq struct {
	Tracks []PublishTrack `json:"tracks"`
}

// PublishTrack is one track a client publishes.
type PublishTrack struct {
	TrackID string `json:"track_id"`
	Source  string `json:"source"` // camera, microphone, screen, screen_audio
}

// Track sources.
const (
	SourceCamera      = "camera"
	SourceMicrophone  = "microphone"
	SourceScreen      = "screen"
	SourceScreenAudio = "screen_audio"
)

// TrackReq names a track.
type TrackReq struct {
	TrackID string `json:"track_id"`
}

// SubscribeReq controls what this participant receives from one
// publisher's track (or all its tracks when TrackID is empty): on/off and,
// for video, the layer (simulcast rid) or the largest size and frame rate
// wanted; the server picks the best layer within the limits.
type SubscribeReq struct {
	Participant string `json:"participant"`
	TrackID     string `json:"track_id,omitempty"`
	Enabled     *bool  `json:"enabled,omitempty"`
	Layer       string `json:"layer,omitempty"` // simulcast rid: q, h, f
	MaxHeight   int    `json:"max_height,omitempty"`
	MaxFPS      int    `json:"max_fps,omitempty"`
}

// MuteReq mutes or unmutes this participant's audio ("audio") or turns
// the camera off/on ("video"). A moderator may set Participant to mute
// someone else.
type MuteReq struct {
	Kind        string `json:"kind"`
	Muted       bool   `json:"muted"`
	Participant string `json:"participant,omitempty"`
}

// VideoReq asks a publisher (itself, or another participant with the
// moderate permission) for a resolution and frame rate: height 180..1080,
// fps 7..30. The server validates and forwards it to the publisher as a
// video_request; the publisher's client applies it (browser:
// applyConstraints).
type VideoReq struct {
	Participant string `json:"participant,omitempty"`
	Height      int    `json:"height"`
	FPS         int    `json:"fps"`
}

// HoldReq puts the whole call on hold (nothing is forwarded either way;
// the recording shows a hold card) or takes it off.
type HoldReq struct {
	On bool   `json:"on"`
	By string `json:"by,omitempty"`
}

// TargetReq names a participant.
type TargetReq struct {
	Participant string `json:"participant"`
	Reason      string `json:"reason,omitempty"`
}

// InviteReq asks the server for a join token for someone new in this room.
type InviteReq struct {
	Identity string `json:"identity"`
	Role     string `json:"role"`
	TTL      string `json:"ttl,omitempty"` // Go duration; default 10m
}

// TransferReq hands the call to another agent: a token for Identity is
// issued and, once that agent has joined, the transferring agent is
// removed.
type TransferReq struct {
	Identity string `json:"identity"`
}

// InviteReply carries the issued token and a page link.
type InviteReply struct {
	Token string `json:"token"`
	URL   string `json:"url"`
}

// ChatReq sends a text (emoji included) message to one participant or
// everyone (To empty).
type ChatReq struct {
	To   string `json:"to,omitempty"`
	Text string `json:"text"`
}

// RecallReq withdraws a message this participant sent.
type RecallReq struct {
	MessageID string `json:"message_id"`
}

// PushReq pushes a link or an already transferred file to one participant
// or all.
type PushReq struct {
	To     string `json:"to,omitempty"`
	URL    string `json:"url,omitempty"`
	FileID string `json:"file_id,omitempty"`
	Title  string `json:"title,omitempty"`
}

// RecordReq starts or stops a recording segment of the room.
type RecordReq struct {
	Action string `json:"action"` // start | stop
}

// ParticipantInfo is what others see of a participant.
type ParticipantInfo struct {
	ID       string `json:"id"`
	Identity string `json:"identity"`
	Name     string `json:"name,omitempty"`
	Role     string `json:"role"`
	AudioOff bool   `json:"audio_muted,omitempty"`
	VideoOff bool   `json:"video_muted,omitempty"`
	State    string `json:"state,omitempty"` // connected | reconnecting
}

// ParticipantRef names a participant that left.
type ParticipantRef struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// TrackInfo describes a published track. StreamID and TrackID are those
// the subscriber sees in its WebRTC ontrack event.
type TrackInfo struct {
	ID          string   `json:"id"` // server track id (also the forwarded WebRTC track id)
	Participant string   `json:"participant"`
	Kind        string   `json:"kind"` // audio | video
	Source      string   `json:"source"`
	Codec       string   `json:"codec"`
	Muted       bool     `json:"muted,omitempty"`
	Layers      []string `json:"layers,omitempty"`
	StreamID    string   `json:"stream_id"`
}

// decoder limits: everything a client can name is bounded.
const (
	maxIDLen   = 128
	maxTextLen = 4000
)

// Decode parses one client message: size, JSON syntax, envelope fields,
// version and (through decodeData) the data of known types, strictly:
// unknown fields and wrong types are errors. It never panics on any input
// (FuzzDecode).
func Decode(raw []byte) (*Message, error) {
	if len(raw) > MaxMessageBytes {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: fmt.Sprintf("message of %d bytes exceeds %d", len(raw), MaxMessageBytes)}
	}
	var m Message
	if err := strictUnmarshal(raw, &m); err != nil {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: "envelope: " + err.Error()}
	}
	if m.V != ProtocolVersion {
		return &m, &ProtocolError{Code: CodeVersion, Msg: fmt.Sprintf("protocol version %d not supported (this server speaks %d)", m.V, ProtocolVersion)}
	}
	if m.Type == "" || len(m.Type) > 32 || len(m.ID) > maxIDLen {
		return &m, &ProtocolError{Code: CodeBadMessage, Msg: "missing or oversized type / id"}
	}
	if _, ok := dataTypes[m.Type]; !ok {
		return &m, &ProtocolError{Code: CodeUnknown, Msg: fmt.Sprintf("unknown message type %q", trunc(m.Type, 32))}
	}
	return &m, nil
}

// dataTypes maps each client message type to a constructor of its data
// (nil: no data expected).
var dataTypes = map[string]func() any{
	TJoin:        func() any { return new(JoinReq) },
	TLeave:       nil,
	TOffer:       func() any { return new(SDP) },
	TAnswer:      func() any { return new(SDP) },
	TCandidate:   func() any { return new(Candidate) },
	TPublish:     func() any { return new(PublishReq) },
	TUnpublish:   func() any { return new(TrackReq) },
	TSubscribe:   func() any { return new(SubscribeReq) },
	TMute:        func() any { return new(MuteReq) },
	TSetVideo:    func() any { return new(VideoReq) },
	THold:        func() any { return new(HoldReq) },
	TKick:        func() any { return new(TargetReq) },
	TInvite:      func() any { return new(InviteReq) },
	TTransfer:    func() any { return new(TransferReq) },
	TBargeIn:     nil,
	TChat:        func() any { return new(ChatReq) },
	TRecall:      func() any { return new(RecallReq) },
	TPush:        func() any { return new(PushReq) },
	TFileOffer:   func() any { return new(FileOffer) },
	TFileChunk:   func() any { return new(FileChunk) },
	TFileCtl:     func() any { return new(FileCtl) },
	TICERestart:  nil,
	TRecord:      func() any { return new(RecordReq) },
	TPing:        nil,
	TGetEvents:   nil,
	TStatsReport: func() any { return new(json.RawMessage) },
}

// DecodeData decodes the message's data into the type for m.Type and
// checks its lengths. The result is one of the *…Req types above (nil for
// types without data).
func DecodeData(m *Message) (any, error) {
	mk := dataTypes[m.Type]
	if mk == nil {
		return nil, nil
	}
	v := mk()
	data := m.Data
	if len(data) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: m.Type + ": missing data"}
	}
	if err := strictUnmarshal(data, v); err != nil {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: m.Type + ": " + err.Error()}
	}
	if err := checkLengths(v); err != nil {
		return nil, &ProtocolError{Code: CodeInvalid, Msg: m.Type + ": " + err.Error()}
	}
	return v, nil
}

func checkLengths(v any) error {
	long := func(name, s string, n int) error {
		if len(s) > n {
			return fmt.Errorf("%s longer than %d bytes", name, n)
		}
		return nil
	}
	switch x := v.(type) {
	case *JoinReq:
		return firstErr(long("token", x.Token, 4096), long("resume", x.Resume, maxIDLen), long("name", x.Name, maxIDLen))
	case *Candidate:
		if x.Target != "pub" && x.Target != "sub" {
			return fmt.Errorf("target must be pub or sub")
		}
		return long("candidate", x.Candidate, 1024)
	case *PublishReq:
		if len(x.Tracks) > 8 {
			return fmt.Errorf("at most 8 tracks")
		}
		for _, t := range x.Tracks {
			switch t.Source {
			case SourceCamera, SourceMicrophone, SourceScreen, SourceScreenAudio:
			default:
				return fmt.Errorf("unknown source %q", trunc(t.Source, 32))
			}
			if err := long("track_id", t.TrackID, maxIDLen); err != nil {
				return err
			}
		}
	case *TrackReq:
		return long("track_id", x.TrackID, maxIDLen)
	case *SubscribeReq:
		return firstErr(long("participant", x.Participant, maxIDLen), long("track_id", x.TrackID, maxIDLen), long("layer", x.Layer, 8))
	case *MuteReq:
		if x.Kind != "audio" && x.Kind != "video" {
			return fmt.Errorf("kind must be audio or video")
		}
	case *VideoReq:
		if x.Height < 180 || x.Height > 1080 {
			return fmt.Errorf("height %d out of 180..1080", x.Height)
		}
		if x.FPS < 7 || x.FPS > 30 {
			return fmt.Errorf("fps %d out of 7..30", x.FPS)
		}
	case *TargetReq:
		return firstErr(long("participant", x.Participant, maxIDLen), long("reason", x.Reason, 256))
	case *InviteReq:
		return firstErr(long("identity", x.Identity, maxIDLen), validRole(x.Role))
	case *TransferReq:
		return long("identity", x.Identity, maxIDLen)
	case *ChatReq:
		if strings.TrimSpace(x.Text) == "" {
			return fmt.Errorf("empty text")
		}
		return firstErr(long("text", x.Text, maxTextLen), long("to", x.To, maxIDLen))
	case *PushReq:
		if (x.URL == "") == (x.FileID == "") {
			return fmt.Errorf("exactly one of url and file_id")
		}
		if x.URL != "" && !strings.HasPrefix(x.URL, "https://") && !strings.HasPrefix(x.URL, "http://") {
			return fmt.Errorf("url must be http(s)")
		}
		return firstErr(long("url", x.URL, 2048), long("title", x.Title, 256), long("to", x.To, maxIDLen))
	case *RecordReq:
		if x.Action != "start" && x.Action != "stop" {
			return fmt.Errorf("action must be start or stop")
		}
	case *FileOffer:
		return x.check()
	case *FileChunk:
		return firstErr(long("file_id", x.FileID, maxIDLen), long("data", x.Data, MaxChunkBytes*4/3+4))
	case *FileCtl:
		switch x.Action {
		case "pause", "resume", "cancel":
		default:
			return fmt.Errorf("action must be pause, resume or cancel")
		}
		return long("file_id", x.FileID, maxIDLen)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ProtocolError is a bad message; it becomes an error reply and never
// affects the session beyond that.
type ProtocolError struct {
	Code string
	Msg  string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Msg }

// Encode builds a server message.
func Encode(typ, ref string, data any) ([]byte, error) {
	m := Message{V: ProtocolVersion, Type: typ, Ref: ref}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		m.Data = b
	}
	return json.Marshal(m)
}
