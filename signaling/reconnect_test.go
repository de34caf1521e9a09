package signaling_test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

// relay is a UDP proxy between a client and the server's ICE ports that
// can cut the network (drop everything, both ways).
type relay struct {
	t    *testing.T
	cut  atomic.Bool
	mu   sync.Mutex
	byTo map[string]string // server addr → relay addr
}

// rewrite routes a host candidate (the server's, or the client's own)
// through a relay port, so every packet between them crosses the relay.
func (r *relay) rewrite(cand string) string {
	f := strings.Fields(cand)
	if len(f) < 8 || f[2] != "udp" {
		return "" // TCP or odd: not routed, so not used
	}
	server := net.JoinHostPort(f[4], f[5])
	r.mu.Lock()
	defer r.mu.Unlock()
	addr, ok := r.byTo[server]
	if !ok {
		addr = r.start(server)
		r.byTo[server] = addr
	}
	_, port, _ := net.SplitHostPort(addr)
	f[5] = port
	return strings.Join(f, " ")
}

func (r *relay) start(server string) string {
	front, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { front.Close() })
	dst, _ := net.ResolveUDPAddr("udp4", server)
	backs := map[string]*net.UDPConn{}
	var mu sync.Mutex
	go func() {
		buf := make([]byte, 1600)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			if r.cut.Load() {
				continue
			}
			mu.Lock()
			back := backs[from.String()]
			if back == nil {
				back, err = net.DialUDP("udp4", nil, dst)
				if err != nil {
					mu.Unlock()
					continue
				}
				backs[from.String()] = back
				r.t.Cleanup(func() { back.Close() })
				go func(client net.Addr) {
					b := make([]byte, 1600)
					for {
						n, err := back.Read(b)
						if err != nil {
							return
						}
						if !r.cut.Load() {
							_, _ = front.WriteTo(b[:n], client)
						}
					}
				}(from)
			}
			mu.Unlock()
			_, _ = back.Write(buf[:n])
		}
	}()
	return front.LocalAddr().String()
}

// TestReconnect cuts the customer's network for 3 s: both directions
// stop, the room marks the customer reconnecting, the call resumes by
// itself (ICE restart, no re-join) within 5 s of the network's return,
// and the recording is one file with the gap marked. Then the customer's
// WebSocket is dropped and the session resumed.
func TestReconnect(t *testing.T) {
	h := &hooks{}
	ts, _ := recordingServer(t, h, func(c *signaling.Config) { c.Recording.PerParticipant = false; c.Recording.ScreenshotInterval = 0 })
	rl := &relay{t: t, byTo: map[string]string{}}
	a := join(t, ts, "net1", "agent1", "agent", nil, nil)
	c := join(t, ts, "net1", "cust1", "customer", nil, func(o *client.Options) {
		o.RewriteCandidate = rl.rewrite
		o.RewriteOwnCandidate = rl.rewrite
		o.AutoRestart = true
	})
	a.publish(t, palette[0], true, true)
	c.publish(t, palette[1], true, true)
	checkMedia(t, a, c.ID(), palette[1], true, false)
	checkMedia(t, c, a.ID(), palette[0], true, false)
	id := c.ID()
	time.Sleep(2 * time.Second)

	rl.cut.Store(true)
	cutAt := time.Now()
	waitStopped(t, a.from(id, "video"), "the customer's video at the agent during the cut")
	waitFor(t, 5*time.Second, "the room to mark the customer reconnecting", func() bool {
		return strings.Contains(roomEvents(t, ts, "net1"), `"reconnecting"`)
	})
	time.Sleep(time.Until(cutAt.Add(3 * time.Second)))
	rl.cut.Store(false)
	back := time.Now()
	// The resume time is when the first packet after the network's return
	// arrives in each direction (polled every 50 ms), not when a check
	// window ends; wait longer than the bound so a slow run reports its
	// figure instead of a timeout.
	var took [2]time.Duration
	waitFor(t, 15*time.Second, "media both ways after the network's return", func() bool {
		for i, r := range []*received{a.from(id, "video"), c.from(a.ID(), "video")} {
			if took[i] == 0 && r.last.Load() > back.UnixNano() {
				took[i] = time.Since(back)
			}
		}
		return took[0] > 0 && took[1] > 0
	})
	resumed := max(took[0], took[1])
	t.Logf("media resumed %v after the network returned (cut 3 s; agent got the customer's video after %v, customer the agent's after %v)",
		resumed.Round(10*time.Millisecond), took[0].Round(10*time.Millisecond), took[1].Round(10*time.Millisecond))
	if resumed > 5*time.Second {
		t.Fatalf("media resumed %v after the network returned, want within 5 s", resumed)
	}
	waitFlowing(t, a.from(id, "video"), "the customer's video at the agent after the resume")
	waitFlowing(t, c.from(a.ID(), "video"), "the agent's video at the customer after the resume")
	if c.ID() != id {
		t.Fatal("participant id changed: re-joined")
	}
	evs := roomEvents(t, ts, "net1")
	if !strings.Contains(evs, `"reconnected"`) || strings.Contains(evs, `"left"`) {
		t.Fatalf("event log: want reconnected and no left:\n%s", evs)
	}

	// Signaling drop: resume the session on a new WebSocket.
	if err := c.Resume(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if j := c.Joined(); !j.Resumed || j.Participant != id {
		t.Fatalf("resume: %+v", j)
	}
	// A WebSocket resume does not touch the peer connections.
	waitFlowing(t, a.from(id, "video"), "the customer's video after the signaling resume")
	// A client-side ICE restart on a healthy network (e.g. a switch from
	// Wi-Fi to 4G) marks the customer away and back again, not stuck.
	before := strings.Count(roomEvents(t, ts, "net1"), `"reconnected"`)
	if err := c.RestartICE(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the room to mark the customer back after a client ICE restart", func() bool {
		return strings.Count(roomEvents(t, ts, "net1"), `"reconnected"`) > before
	})
	waitFlowing(t, a.from(id, "video"), "the customer's video after the client's ICE restart")
	time.Sleep(time.Second)
	if _, err := a.Request(ctx(t), signaling.TRecord, signaling.RecordReq{Action: "stop"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the recording", func() bool { return len(h.kind("composite")) == 1 && len(h.kind("markers")) == 1 })
	if n := len(h.kind("composite")); n != 1 {
		t.Fatalf("%d composite files, want one", n)
	}
	mb, _ := os.ReadFile(h.kind("markers")[0].Path)
	if !strings.Contains(string(mb), "participant.gap_start") || !strings.Contains(string(mb), "participant.gap_end") {
		t.Fatalf("markers lack the gap:\n%s", mb)
	}
	// The file's timeline shows the gap: the customer's slot has the
	// placeholder for about the cut's length, green before and after.
	frames := compositeFrames(t, h.kind("composite")[0].Path)
	var seq strings.Builder
	gap, green := 0, 0
	for _, f := range frames {
		switch {
		case near(f.right, [3]uint8{0x30, 0x30, 0x30}, 12):
			gap++
			seq.WriteByte('_')
		case colourClose(f.right, palette[1].RGB):
			green++
			seq.WriteByte('G')
		default:
			seq.WriteByte('.')
		}
	}
	t.Logf("customer slot over time (G green, _ placeholder): %s", seq.String())
	if gap < 15 || green < 60 || !strings.Contains(seq.String(), fmt.Sprintf("G%s", strings.Repeat("_", 10))) {
		t.Errorf("recording timeline: %d placeholder frames, %d green; want a marked gap between green stretches", gap, green)
	}
}
