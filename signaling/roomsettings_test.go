package signaling_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/watermark"
)

// A room's settings come from Config.RoomSettings once, at creation: the
// layout (the customer has no slot in "single": recording_no_slot names
// it) and the analyzers (one instead of the profile's three). Unusable
// settings (unknown layout and analyzer) fall back to the server's.
func TestRoomSettings(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	h := &hooks{}
	ts, _ := recordingServer(t, h, func(c *signaling.Config) {
		c.Recording.PerParticipant, c.Recording.ScreenshotInterval = false, 0
		c.Analysis = signaling.AnalysisConfig{Profile: signaling.DefaultProfile(), Width: 320, Height: 180}
		c.RoomSettings = func(room, tenant string) (signaling.RoomSettings, error) {
			mu.Lock()
			asked[room+"/"+tenant]++
			mu.Unlock()
			if room == "tpl" {
				wm, err := watermark.Parse([]byte("watermarks:\n  - {type: text, text: 开户业务 bank1, position: top-right}\n"))
				return signaling.RoomSettings{Layout: "single", Analyzers: []string{"light"}, Watermarks: wm}, err
			}
			return signaling.RoomSettings{Layout: "nope", Analyzers: []string{"nope"}}, nil
		}
	})
	for _, room := range []string{"tpl", "bad"} {
		a := join(t, ts, room, "agent1", "agent", nil, nil)
		c := join(t, ts, room, "cust1", "customer", nil, nil)
		a.publish(t, palette[0], true, false)
		c.publish(t, palette[1], true, false)
		var evs string
		waitFor(t, 20*time.Second, room+": analysis started", func() bool {
			evs = strings.ReplaceAll(roomEvents(t, ts, room), " ", "")
			return strings.Contains(evs, `"analysis_started"`)
		})
		noSlot := strings.Contains(evs, `"recording_no_slot"`) && strings.Contains(evs, `"layout":"single"`)
		want := map[string]struct {
			analyzers string
			noSlot    bool
		}{"tpl": {`"analyzers":1`, true}, "bad": {`"analyzers":3`, false}}[room]
		if !strings.Contains(evs, want.analyzers) || noSlot != want.noSlot {
			t.Errorf("%s: want %s and no-slot %v in the events:\n%s", room, want.analyzers, want.noSlot, evs)
		}
		a.Close()
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked["tpl/bank1"] != 1 || asked["bad/bank1"] != 1 {
		t.Errorf("settings asked %v, want once per room", asked)
	}
}
