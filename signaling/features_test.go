package signaling_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

func TestChatRecallPush(t *testing.T) {
	ts, _ := recordingServer(t, &hooks{}, nil)
	a := join(t, ts, "c1", "agent1", "agent", nil, nil)
	c := join(t, ts, "c1", "cust1", "customer", nil, nil)
	g := join(t, ts, "c1", "guest1", "guest", nil, nil)
	m, err := c.Request(ctx(t), signaling.TChat, signaling.ChatReq{Text: "你好 👋 can you hear me?"})
	if err != nil {
		t.Fatal(err)
	}
	var sent signaling.ChatMessage
	_ = json.Unmarshal(m.Data, &sent)
	if _, err := a.WaitMessage(ctx(t), signaling.TChat, client.Contains("👋")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(ctx(t), signaling.TRecall, signaling.RecallReq{MessageID: sent.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitMessage(ctx(t), signaling.TChat, client.Contains(`"recall":"`+sent.ID)); err != nil {
		t.Fatal("recall not delivered:", err)
	}
	var er *client.ErrorReply
	if _, err := a.Request(ctx(t), signaling.TRecall, signaling.RecallReq{MessageID: sent.ID}); !errors.As(err, &er) {
		t.Fatal("recalling someone else's message must fail")
	}
	// A link to the customer only.
	if _, err := a.Request(ctx(t), signaling.TPush, signaling.PushReq{To: c.ID(), URL: "https://bank.example/form", Title: "风险揭示书"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitMessage(ctx(t), signaling.TChat, client.Contains("bank.example/form")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	for _, msg := range g.Messages(signaling.TChat) {
		if strings.Contains(string(msg.Data), "bank.example") {
			t.Fatal("a private push reached the guest")
		}
	}
	// The log keeps everything, the recalled message marked.
	log := apiGet(t, ts, "/api/rooms/c1/messages", ts.token(t, "c1", "sup", "supervisor", nil))
	if !strings.Contains(log, "👋") || !strings.Contains(log, `"recalled": true`) || !strings.Contains(log, "bank.example") {
		t.Fatalf("message log:\n%s", log)
	}
}

func sendFile(t *testing.T, p *peer, name, mime string, data []byte, to string, pauseAt int) signaling.FileInfo {
	t.Helper()
	sum := sha256.Sum256(data)
	m, err := p.Request(ctx(t), signaling.TFileOffer, signaling.FileOffer{Name: name, Mime: mime, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), To: to})
	if err != nil {
		t.Fatalf("offer %s: %v", name, err)
	}
	var fi signaling.FileInfo
	_ = json.Unmarshal(m.Data, &fi)
	const chunk = 1000
	for off := 0; off < len(data); off += chunk {
		if off == pauseAt && pauseAt > 0 {
			if _, err := p.Request(ctx(t), signaling.TFileCtl, signaling.FileCtl{FileID: fi.ID, Action: "pause"}); err != nil {
				t.Fatal(err)
			}
			var er *client.ErrorReply
			if _, err := p.Request(ctx(t), signaling.TFileChunk, signaling.FileChunk{FileID: fi.ID, Offset: int64(off), Data: base64.StdEncoding.EncodeToString(data[off:min(off+chunk, len(data))])}); !errors.As(err, &er) {
				t.Fatal("a chunk of a paused transfer was accepted")
			}
			// Resume as after a reconnect: the server says where to go on.
			m, err := p.Request(ctx(t), signaling.TFileOffer, signaling.FileOffer{FileID: fi.ID, Name: name, Mime: mime, Size: int64(len(data))})
			if err != nil {
				t.Fatal(err)
			}
			var st signaling.FileInfo
			_ = json.Unmarshal(m.Data, &st)
			if st.Received != int64(off) || st.State != "uploading" {
				t.Fatalf("resume: %+v, want uploading from %d", st, off)
			}
		}
		m, err := p.Request(ctx(t), signaling.TFileChunk, signaling.FileChunk{FileID: fi.ID, Offset: int64(off), Data: base64.StdEncoding.EncodeToString(data[off:min(off+chunk, len(data))])})
		if err != nil {
			t.Fatalf("chunk at %d: %v", off, err)
		}
		if m.Type == signaling.TFile {
			_ = json.Unmarshal(m.Data, &fi)
		}
	}
	return fi
}

func TestFiles(t *testing.T) {
	ts, _ := recordingServer(t, &hooks{}, nil)
	a := join(t, ts, "f1", "agent1", "agent", nil, nil)
	c := join(t, ts, "f1", "cust1", "customer", nil, nil)
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0123456789abcdef\n"), 300)...)
	fi := sendFile(t, a, "合同.pdf", "application/pdf", pdf, c.ID(), 2000)
	if fi.State != "done" || fi.URL == "" {
		t.Fatalf("agent's PDF: %+v", fi)
	}
	if _, err := c.WaitMessage(ctx(t), signaling.TChat, client.Contains(fi.ID)); err != nil {
		t.Fatal(err)
	}
	req, _ := newRequest(ts.Base+fi.URL, ts.token(t, "f1", "cust1", "customer", nil))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, pdf) {
		t.Fatalf("download: %d bytes, status %d", len(got), resp.StatusCode)
	}
	// Customer → agent: images only, checked by content too.
	var er *client.ErrorReply
	if _, err := c.Request(ctx(t), signaling.TFileOffer, signaling.FileOffer{Name: "x.pdf", Mime: "application/pdf", Size: 10}); !errors.As(err, &er) || er.Code != signaling.CodeForbidden {
		t.Fatalf("customer PDF: %v, want forbidden", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var pngBuf bytes.Buffer
	_ = png.Encode(&pngBuf, img)
	if fi := sendFile(t, c, "id-card.png", "image/png", pngBuf.Bytes(), "", 0); fi.State != "done" {
		t.Fatalf("customer PNG: %+v", fi)
	}
	// A "PNG" that is not one is refused at its first chunk.
	m, err := c.Request(ctx(t), signaling.TFileOffer, signaling.FileOffer{Name: "fake.png", Mime: "image/png", Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	var fake signaling.FileInfo
	_ = json.Unmarshal(m.Data, &fake)
	if _, err := c.Request(ctx(t), signaling.TFileChunk, signaling.FileChunk{FileID: fake.ID, Data: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("MZ"), 50))}); !errors.As(err, &er) || er.Code != signaling.CodeForbidden {
		t.Fatalf("disguised file: %v, want forbidden", err)
	}
	// Cancel.
	m, _ = a.Request(ctx(t), signaling.TFileOffer, signaling.FileOffer{Name: "b.pdf", Mime: "application/pdf", Size: 5000})
	var cf signaling.FileInfo
	_ = json.Unmarshal(m.Data, &cf)
	if _, err := a.Request(ctx(t), signaling.TFileCtl, signaling.FileCtl{FileID: cf.ID, Action: "cancel"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Request(ctx(t), signaling.TFileChunk, signaling.FileChunk{FileID: cf.ID, Data: base64.StdEncoding.EncodeToString(pdf[:100])}); !errors.As(err, &er) {
		t.Fatal("chunk after cancel accepted")
	}
}

func TestHoldStatsAndRequests(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "h1", "agent1", "agent", nil, nil)
	c := join(t, ts, "h1", "cust1", "customer", nil, nil)
	a.publish(t, palette[0], true, true)
	c.publish(t, palette[1], true, true)
	checkMedia(t, a, c.ID(), palette[1], true, false)
	checkMedia(t, c, a.ID(), palette[0], true, false)
	// Stats reach the clients with real figures.
	m, err := a.WaitMessage(ctx(t), signaling.TStats, func(b json.RawMessage) bool {
		var s signaling.StatsMsg
		_ = json.Unmarshal(b, &s)
		// Up: our own counters; the ICE round trip and the down track's
		// round trip come from the ICE transport and the stats
		// interceptor's receiver reports (statsTap).
		var up, rtt, down bool
		for _, p := range s.Participants {
			for _, u := range p.Up {
				if p.ID == c.ID() && u.Kind == "video" && u.BitrateKbps > 1 && u.FPS > 5 && u.Width == 320 {
					up = true
				}
			}
			if p.ID == c.ID() && p.RTTMS > 0 {
				rtt = true
			}
			for _, d := range p.Down {
				if p.ID == c.ID() && d.From == a.ID() && d.Kind == "video" && d.RTTMS > 0 && d.BitrateKbps > 1 {
					down = true
				}
			}
		}
		return up && rtt && down
	})
	if err != nil {
		if ms := a.Messages(signaling.TStats); len(ms) > 0 {
			t.Logf("last stats: %s", ms[len(ms)-1].Data)
		}
		t.Fatal("no stats with the customer's video bitrate, fps and size, ICE round trip and down-track round trip:", err)
	}
	t.Logf("stats: %.300s", m.Data)
	// Hold stops both directions.
	if _, err := a.Request(ctx(t), signaling.THold, signaling.HoldReq{On: true}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, a.from(c.ID(), "audio"), "customer audio on hold")
	waitStopped(t, c.from(a.ID(), "video"), "agent video on hold")
	if _, err := c.WaitMessage(ctx(t), signaling.THoldState, client.Contains(`"on":true`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Request(ctx(t), signaling.THold, signaling.HoldReq{On: false}); err != nil {
		t.Fatal(err)
	}
	waitFlowing(t, c.from(a.ID(), "video"), "agent video after hold")
	// Resolution / frame-rate requests go to the publisher, validated.
	if _, err := a.Request(ctx(t), signaling.TSetVideo, signaling.VideoReq{Participant: c.ID(), Height: 360, FPS: 15}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitMessage(ctx(t), signaling.TVideoRequest, client.Contains(`"height":360`)); err != nil {
		t.Fatal(err)
	}
	var er *client.ErrorReply
	if _, err := c.Request(ctx(t), signaling.TSetVideo, signaling.VideoReq{Participant: a.ID(), Height: 720, FPS: 30}); !errors.As(err, &er) || er.Code != signaling.CodeForbidden {
		t.Fatalf("customer asking the agent: %v", err)
	}
	// Per-subscriber control: the customer turns the agent's video off for
	// itself only.
	off := false
	vid := c.from(a.ID(), "video").info.ID
	if _, err := c.Request(ctx(t), signaling.TSubscribe, signaling.SubscribeReq{Participant: a.ID(), TrackID: vid, Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, c.from(a.ID(), "video"), "unsubscribed video")
	if !flowing(c.from(a.ID(), "audio"), time.Second) {
		t.Fatal("audio stopped with the video subscription")
	}
}

func TestInviteAndTransfer(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "t1", "agent1", "agent", nil, nil)
	c := join(t, ts, "t1", "cust1", "customer", nil, nil)
	c.publish(t, palette[1], true, true)
	m, err := a.Request(ctx(t), signaling.TInvite, signaling.InviteReq{Identity: "expert", Role: "guest"})
	if err != nil {
		t.Fatal(err)
	}
	var inv signaling.InviteReply
	_ = json.Unmarshal(m.Data, &inv)
	if _, err := client.Join(ctx(t), client.Options{URL: ts.URL, Token: inv.Token}); err != nil {
		t.Fatal("invited guest cannot join:", err)
	}
	m, err = a.Request(ctx(t), signaling.TTransfer, signaling.TransferReq{Identity: "agent2"})
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(m.Data, &inv)
	b, err := client.Join(ctx(t), client.Options{URL: ts.URL, Token: inv.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.WaitMessage(ctx(t), signaling.TKicked, client.Contains("transferred")); err != nil {
		t.Fatal("transferring agent not released:", err)
	}
	info, _ := ts.Room("t1")
	for _, p := range info.Participants {
		if p.Identity == "agent1" {
			t.Fatal("agent1 still in the room")
		}
	}
	if !strings.Contains(roomEvents(t, ts, "t1"), `"transferred"`) {
		t.Fatal("no transferred event")
	}
}
