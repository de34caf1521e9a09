package signaling

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one WebSocket. It reads and decodes messages on its own
// goroutine and posts them to the room; a writer goroutine drains a
// bounded queue, so a stalled client never blocks the room (a full queue
// closes the connection; the participant may resume).
type conn struct {
	s      *Server
	ws     *websocket.Conn
	remote string
	out    chan []byte
	once   sync.Once
	done   chan struct{}
	p      *participant // set once joined (by the room goroutine, read by serve after call returns)
}

const (
	sendQueue    = 512
	writeTimeout = 5 * time.Second
	pongWait     = 20 * time.Second
)

func newConn(s *Server, ws *websocket.Conn, r *http.Request) *conn {
	return &conn{s: s, ws: ws, remote: r.RemoteAddr, out: make(chan []byte, sendQueue), done: make(chan struct{})}
}

// send queues a message; false when the queue is full or closed (the
// connection is then closed).
func (c *conn) send(b []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- b:
		return true
	default:
		c.s.log.Warn("signaling client too slow, closing its connection", "remote", c.remote)
		c.close()
		return false
	}
}

// closeAfterFlush closes the connection once what is queued is written.
func (c *conn) closeAfterFlush() {
	select {
	case c.out <- nil:
	default:
		c.close()
	}
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

func (c *conn) writer() {
	ping := time.NewTicker(pongWait / 2)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			if b == nil { // closeAfterFlush
				_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
				_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				c.close()
				return
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		case <-ping.C:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.close()
				return
			}
		}
	}
}

func (c *conn) replyErr(ref, code, msg string) {
	if b, err := Encode(TError, ref, ErrorReply{Code: code, Message: msg}); err == nil {
		c.send(b)
	}
}

// serve runs until the socket closes. The first valid message must be a
// join; every later one goes to the participant's room.
func (c *conn) serve() {
	go c.writer()
	defer c.close()
	// Up to 4x the message limit is read and answered with an error; past
	// that the socket is closed (a client cannot make the server buffer
	// unbounded input).
	c.ws.SetReadLimit(4 * MaxMessageBytes)
	_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, raw, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.replyErr("", CodeBadMessage, "message too large")
			}
			break
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
		m, err := Decode(raw)
		if err != nil {
			ref := ""
			if m != nil {
				ref = m.ID
			}
			c.replyErr(ref, err.(*ProtocolError).Code, err.Error())
			continue
		}
		data, err := DecodeData(m)
		if err != nil {
			c.replyErr(m.ID, err.(*ProtocolError).Code, err.Error())
			continue
		}
		if m.Type == TPing {
			if b, err := Encode(TPong, m.ID, nil); err == nil {
				c.send(b)
			}
			continue
		}
		if c.p == nil {
			if m.Type != TJoin {
				c.replyErr(m.ID, CodeState, "join first")
				continue
			}
			c.join(m, data.(*JoinReq))
			continue
		}
		p := c.p
		if err := p.room.do(func() { p.room.handle(p, c, m, data) }); err != nil {
			c.replyErr(m.ID, CodeState, "room closed")
			break
		}
		if m.Type == TLeave {
			break
		}
	}
	if p := c.p; p != nil {
		_ = p.room.do(func() { p.room.connLost(p, c) })
	}
}

// join verifies the token and enters (or resumes in) the room.
func (c *conn) join(m *Message, req *JoinReq) {
	claims, err := Verify(c.s.cfg.Secret, req.Token, time.Now())
	if err != nil {
		c.replyErr(m.ID, CodeAuth, err.Error())
		return
	}
	// A room that is just ending (its last participant left) refuses the
	// call; the next attempt gets a fresh room.
	for range 3 {
		rm := c.s.room(claims.Room, claims.Tenant, true)
		if rm == nil {
			c.replyErr(m.ID, CodeState, "server closing")
			return
		}
		if rm.tenant != claims.Tenant {
			c.replyErr(m.ID, CodeForbidden, "room belongs to another tenant")
			return
		}
		var p *participant
		if err := rm.call(func() { p = rm.join(c, m.ID, claims, req) }); err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c.p = p // nil when join was refused (the room replied)
		return
	}
	c.replyErr(m.ID, CodeState, "room closed")
}
