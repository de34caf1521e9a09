package signaling_test

import (
	"fmt"
	"testing"
)

// TestRooms forwards generated media in 1:1, 1:3 and 4:4 rooms; every
// receiver decodes every track and checks its colour / tone against the
// publisher's.
func TestRooms(t *testing.T) {
	for _, tc := range []struct {
		name       string
		publishers int
		listeners  int
	}{
		{"1to1", 2, 0},
		{"1to3", 1, 3},
		{"4to4", 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newServer(t, nil)
			room := "room-" + tc.name
			var pubs, all []*peer
			for i := range tc.publishers {
				role := "customer"
				if i == 0 {
					role = "agent"
				}
				p := join(t, ts, room, fmt.Sprintf("p%d", i), role, nil, nil)
				pubs = append(pubs, p)
				all = append(all, p)
			}
			for i := range tc.listeners {
				all = append(all, join(t, ts, room, fmt.Sprintf("l%d", i), "guest", nil, nil))
			}
			for i, p := range pubs {
				p.publish(t, palette[i], true, true)
			}
			for _, rx := range all {
				for i, p := range pubs {
					if p != rx {
						checkMedia(t, rx, p.ID(), palette[i], true, true)
					}
				}
			}
		})
	}
}
