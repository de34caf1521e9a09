package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/signaling/client"
)

// TestServePrintsLiveCallLinks: `witness serve --test-call` prints the
// page addresses and two links whose tokens join the same room through
// the mounted WebSocket.
func TestServePrintsLiveCallLinks(t *testing.T) {
	base, out, _ := serveProc(t, t.TempDir(), "--test-call")
	for _, want := range []string{"  agent    " + base + "/rtc/agent.html", "  customer " + base + "/rtc/customer.html",
		"WebSocket ws://" + strings.TrimPrefix(base, "http://") + "/rtc/ws", "  markers  " + base + "/api/v1/markers/", "first admin login: admin / "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("serve output lacks %q:\n%s", want, out)
		}
	}
	for _, p := range []string{"/rtc/agent.html", "/rtc/customer.html", "/rtc/witness.js"} {
		if code, _ := call(t, "GET", base+p, "", ""); code != 200 {
			t.Fatalf("GET %s: %d", p, code)
		}
	}
	links := regexp.MustCompile(`test call \((agent|customer)\):\s+(\S+)#token=(\S+)`).FindAllStringSubmatch(out.String(), -1)
	if len(links) != 2 || !strings.HasPrefix(links[0][2], base+"/rtc/") {
		t.Fatalf("test call links: %q\n%s", links, out)
	}
	ws := "ws://" + strings.TrimPrefix(base, "http://") + "/rtc/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rooms []string
	for _, l := range links {
		c, err := client.Join(ctx, client.Options{URL: ws, Token: l[3]})
		if err != nil {
			t.Fatalf("join with the printed %s token: %v", l[1], err)
		}
		rooms = append(rooms, c.Joined().Room)
		defer c.Close()
	}
	if rooms[0] == "" || rooms[0] != rooms[1] {
		t.Fatalf("printed tokens join rooms %q", rooms)
	}
}
