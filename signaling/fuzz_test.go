package signaling_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

// FuzzDecode: no input makes the decoder panic, and whatever it accepts
// re-encodes to a valid message of the same type.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"join","id":"1","data":{"token":"x.y"}}`,
		`{"v":1,"type":"offer","id":"2","data":{"sdp":"v=0\r\n"}}`,
		`{"v":1,"type":"candidate","data":{"target":"pub","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"v":1,"type":"mute","data":{"kind":"audio","muted":true}}`,
		`{"v":1,"type":"set_video","data":{"height":720,"fps":15}}`,
		`{"v":1,"type":"subscribe","data":{"participant":"PA_1","layer":"h","max_height":360}}`,
		`{"v":1,"type":"chat","data":{"text":"你好 😀"}}`,
		`{"v":1,"type":"file_offer","data":{"name":"a.pdf","mime":"application/pdf","size":10}}`,
		`{"v":1,"type":"file_chunk","data":{"file_id":"F","offset":0,"data":"AAAA"}}`,
		`{"v":1,"type":"push","data":{"url":"https://example.com/x"}}`,
		`{"v":1,"type":"leave"}`,
		`{"v":2,"type":"join"}`, `{"v":1,"type":"mute","data":{"kind":5}}`, `{"v":1,"type":"nope"}`,
		`{"v":1,"type":"mute","data":{"kind":"audio","extra":1}}`, `[]`, `null`, `{`, ``, `{"v":1,"type":"join","data":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := signaling.Decode(raw)
		if err != nil {
			var pe *signaling.ProtocolError
			if !errors.As(err, &pe) || pe.Code == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		data, err := signaling.DecodeData(m)
		if err != nil {
			return
		}
		b, err := json.Marshal(signaling.Message{V: 1, Type: m.Type, ID: m.ID, Data: mustJSON(t, data)})
		if err != nil {
			t.Fatal(err)
		}
		m2, err := signaling.Decode(b)
		if err != nil || m2.Type != m.Type {
			t.Fatalf("accepted message does not re-decode: %v", err)
		}
		if _, err := signaling.DecodeData(m2); err != nil {
			t.Fatalf("accepted data does not re-decode: %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileMessages: malformed, oversized, mistyped and cross-room
// messages get error replies; the sender stays connected and the others'
// call goes on.
func TestHostileMessages(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "A", "agentA", "agent", nil, nil)
	c := join(t, ts, "A", "custA", "customer", nil, nil)
	b := join(t, ts, "B", "agentB", "agent", nil, nil)
	a.publish(t, palette[0], true, false)
	checkMedia(t, c, a.ID(), palette[0], true, false)
	errs := func(raw string, code string) {
		t.Helper()
		before := len(c.Messages(signaling.TError))
		if err := c.SendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "an error reply to "+trunc(raw), func() bool { return len(c.Messages(signaling.TError)) > before })
		last := c.Messages(signaling.TError)[before]
		if !strings.Contains(string(last.Data), `"code":"`+code+`"`) {
			t.Errorf("%s: reply %s, want code %s", trunc(raw), last.Data, code)
		}
	}
	errs(`not json`, signaling.CodeBadMessage)
	errs(`{"v":1,"type":"mute","data":{"kind":5,"muted":"yes"}}`, signaling.CodeBadMessage)
	errs(`{"v":1,"type":"mute","data":{"kind":"audio","muted":true,"evil":1}}`, signaling.CodeBadMessage)
	errs(`{"v":9,"type":"mute"}`, signaling.CodeVersion)
	errs(`{"v":1,"type":"launch_missiles"}`, signaling.CodeUnknown)
	errs(`{"v":1,"type":"set_video","data":{"height":4320,"fps":120}}`, signaling.CodeInvalid)
	errs(`{"v":1,"type":"chat","data":{"text":"`+strings.Repeat("x", signaling.MaxMessageBytes)+`"}}`, signaling.CodeBadMessage)
	// Another room's ids: not found here, nothing happens there.
	errs(`{"v":1,"type":"mute","data":{"kind":"audio","muted":true,"participant":"`+b.ID()+`"}}`, signaling.CodeForbidden)
	var er *client.ErrorReply
	for _, req := range []struct {
		typ  string
		data any
		code string
	}{
		{signaling.TKick, signaling.TargetReq{Participant: b.ID()}, signaling.CodeNotFound},
		{signaling.TMute, signaling.MuteReq{Kind: "audio", Muted: true, Participant: b.ID()}, signaling.CodeNotFound},
		{signaling.TSubscribe, signaling.SubscribeReq{Participant: b.ID()}, signaling.CodeNotFound},
		{signaling.TChat, signaling.ChatReq{Text: "hi", To: b.ID()}, signaling.CodeNotFound},
		{signaling.TAnswer, signaling.SDP{SDP: "garbage"}, signaling.CodeState},
	} {
		if _, err := a.Request(ctx(t), req.typ, req.data); !errors.As(err, &er) || er.Code != req.code {
			t.Errorf("%s with room B's id: %v, want %s", req.typ, err, req.code)
		}
	}
	if _, err := c.Request(ctx(t), signaling.TOffer, signaling.SDP{SDP: "v=0 garbage"}); !errors.As(err, &er) {
		t.Errorf("garbage offer: %v, want an error reply", err)
	}
	// The sender is still in the call, the others unaffected.
	if _, err := c.Request(ctx(t), signaling.TPing, nil); err != nil {
		t.Fatal("hostile client lost its session:", err)
	}
	if !flowing(c.from(a.ID(), "video"), time.Second) {
		t.Fatal("media stopped")
	}
	if info, _ := ts.Room("B"); len(info.Participants) != 1 {
		t.Fatal("room B affected")
	}
	if _, err := b.Request(ctx(t), signaling.TPing, nil); err != nil {
		t.Fatal(err)
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
