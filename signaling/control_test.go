package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// flowing reports whether r receives packets over the next window.
func flowing(r *received, window time.Duration) bool {
	before := r.packets.Load()
	time.Sleep(window)
	return r.packets.Load() > before
}

// waitStopped waits until r has received nothing for a whole second.
func waitStopped(t *testing.T, r *received, what string) {
	t.Helper()
	waitFor(t, 10*time.Second, what+" to stop", func() bool { return !flowing(r, time.Second) })
}

func waitFlowing(t *testing.T, r *received, what string) {
	t.Helper()
	waitFor(t, 10*time.Second, what+" to flow", func() bool { return flowing(r, 500*time.Millisecond) })
}

func TestMuteAndCameraOff(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "r", "agent1", "agent", nil, nil)
	c := join(t, ts, "r", "cust1", "customer", nil, nil)
	c.publish(t, palette[1], true, true)
	checkMedia(t, a, c.ID(), palette[1], true, true)
	aud, vid := a.from(c.ID(), "audio"), a.from(c.ID(), "video")

	if _, err := c.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "audio", Muted: true}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, aud, "muted audio")
	if !flowing(vid, time.Second) {
		t.Fatal("video stopped when only audio was muted")
	}
	if _, err := c.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "video", Muted: true}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, vid, "video with the camera off")
	// The agent is told, and the event log has it.
	if _, err := a.WaitMessage(ctx(t), signaling.TParticipant, client.Contains(`"video_muted":true`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "audio", Muted: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "video", Muted: false}); err != nil {
		t.Fatal(err)
	}
	waitFlowing(t, aud, "unmuted audio")
	waitFlowing(t, vid, "video with the camera on")

	// A moderator (the agent) may mute the customer; the customer may not
	// mute the agent.
	if _, err := a.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "audio", Muted: true, Participant: c.ID()}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, aud, "audio muted by the agent")
	var er *client.ErrorReply
	if _, err := c.Request(ctx(t), signaling.TMute, signaling.MuteReq{Kind: "audio", Muted: true, Participant: a.ID()}); !errors.As(err, &er) || er.Code != signaling.CodeForbidden {
		t.Fatalf("customer muting the agent: %v, want forbidden", err)
	}
	evs := roomEvents(t, ts, "r")
	for _, want := range []string{"muted", "camera_off", "unmuted", "camera_on"} {
		if !strings.Contains(evs, `"type": "`+want+`"`) {
			t.Errorf("event log lacks %s", want)
		}
	}
}

// roomEvents fetches the room's event log through the HTTP API.
func roomEvents(t *testing.T, ts *testServer, room string) string {
	t.Helper()
	return apiGet(t, ts, "/api/rooms/"+room+"/events", ts.token(t, room, "sup", "supervisor", nil))
}

func TestKick(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "r", "agent1", "agent", nil, nil)
	c := join(t, ts, "r", "cust1", "customer", nil, nil)
	g := join(t, ts, "r", "guest1", "guest", nil, nil)
	a.publish(t, palette[0], true, true)
	c.publish(t, palette[1], true, true)
	checkMedia(t, c, a.ID(), palette[0], true, false)
	checkMedia(t, a, c.ID(), palette[1], true, false)
	checkMedia(t, g, c.ID(), palette[1], true, false)

	// Only a moderator may kick.
	var er *client.ErrorReply
	if _, err := c.Request(ctx(t), signaling.TKick, signaling.TargetReq{Participant: a.ID()}); !errors.As(err, &er) || er.Code != signaling.CodeForbidden {
		t.Fatalf("customer kicking: %v, want forbidden", err)
	}
	if _, err := a.Request(ctx(t), signaling.TKick, signaling.TargetReq{Participant: c.ID(), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitMessage(ctx(t), signaling.TKicked, nil); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, c.from(a.ID(), "video"), "the kicked customer's incoming video")
	waitStopped(t, a.from(c.ID(), "video"), "the kicked customer's video at the agent")
	waitStopped(t, g.from(c.ID(), "video"), "the kicked customer's video at the guest")
	// The others are unaffected.
	if !flowing(g.from(a.ID(), "video"), time.Second) {
		t.Fatal("the guest lost the agent's video")
	}
	info, _ := ts.Room("r")
	for _, p := range info.Participants {
		if p.ID == c.ID() {
			t.Fatal("kicked participant still listed")
		}
	}
	if _, err := g.WaitMessage(ctx(t), signaling.TLeft, client.Contains(c.ID())); err != nil {
		t.Fatal(err)
	}
}

func TestSilentMonitor(t *testing.T) {
	ts := newServer(t, nil)
	a := join(t, ts, "r", "agent1", "agent", nil, nil)
	c := join(t, ts, "r", "cust1", "customer", nil, nil)
	a.publish(t, palette[0], true, true)
	c.publish(t, palette[1], true, true)
	m := join(t, ts, "r", "boss", "supervisor", func(cl *signaling.Claims) { cl.Hidden = true }, nil)
	checkMedia(t, m, a.ID(), palette[0], true, true)
	checkMedia(t, m, c.ID(), palette[1], true, true)
	if j := m.Joined(); !j.Hidden || len(j.Participants) != 2 {
		t.Fatalf("monitor's view: hidden=%v participants=%d, want hidden and both", j.Hidden, len(j.Participants))
	}
	// Nobody is told about the monitor; a newcomer does not see it either.
	for _, p := range []*peer{a, c} {
		for _, msg := range p.Messages(signaling.TParticipant) {
			if strings.Contains(string(msg.Data), m.ID()) {
				t.Fatalf("%s was told about the monitor: %s", p.name, msg.Data)
			}
		}
	}
	g := join(t, ts, "r", "guest1", "guest", nil, nil)
	for _, p := range g.Joined().Participants {
		if p.ID == m.ID() {
			t.Fatal("a newcomer sees the monitor")
		}
	}
	info, _ := ts.Room("r")
	if len(info.Hidden) != 1 || len(info.Participants) != 3 {
		t.Fatalf("room: %d visible, %d hidden; want 3 and 1", len(info.Participants), len(info.Hidden))
	}
	// The monitor cannot speak until it barges in.
	var er *client.ErrorReply
	if _, err := m.Request(ctx(t), signaling.TPublish, signaling.PublishReq{}); !errors.As(err, &er) || er.Code != signaling.CodeForbidden {
		t.Fatalf("monitor publishing: %v, want forbidden", err)
	}
	if _, err := m.Request(ctx(t), signaling.TBargeIn, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitMessage(ctx(t), signaling.TParticipant, client.Contains(m.ID())); err != nil {
		t.Fatal("barge-in not announced:", err)
	}
	m.publish(t, palette[3], false, true)
	checkMedia(t, c, m.ID(), palette[3], false, true)
}

func apiGet(t *testing.T, ts *testServer, path, tok string) string {
	t.Helper()
	req, _ := newRequest(ts.Base+path, tok)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
