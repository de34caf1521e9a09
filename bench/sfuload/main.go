// Command sfuload drives N concurrent 1:1 calls through a running
// `witness sfu` (bench/sfu.sh): each call has two pion participants that
// publish a looped VP8 file (720p ~1.5 Mbit/s) and an Opus file and
// receive each other's. It prints one line of JSON: packets sent and
// received per direction, and forwarding loss from RTP sequence gaps.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/signaling/client"
)

type counters struct {
	sentV, sentA         atomic.Int64 // samples written
	recvV, recvA         atomic.Int64 // packets received
	expectV, expectA     atomic.Int64 // packets expected from sequence numbers
	bytesV               atomic.Int64
	joinFail, publishErr atomic.Int64
}

func main() {
	url := flag.String("url", "ws://127.0.0.1:7880/ws", "witness sfu WebSocket URL")
	secret := flag.String("secret", os.Getenv("WITNESS_SIGNALING_SECRET"), "token secret (as the server's)")
	calls := flag.Int("calls", 1, "concurrent 1:1 calls")
	dur := flag.Duration("duration", 20*time.Second, "measured time after all calls are up")
	ivf := flag.String("video", "", "VP8 IVF file to loop")
	ogg := flag.String("audio", "", "Opus Ogg file to loop (20 ms pages)")
	fps := flag.Int("fps", 30, "video frame rate of the IVF")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	var c counters
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var clients []*client.Client
	var mu sync.Mutex
	for i := range *calls {
		for _, role := range []string{signaling.RoleAgent, signaling.RoleCustomer} {
			tok, err := signaling.Sign([]byte(*secret), signaling.Claims{Room: fmt.Sprintf("load%d", i), Identity: role, Role: role, Tenant: "bench", Expires: time.Now().Add(time.Hour).Unix()})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
			cl, err := client.Join(jctx, client.Options{URL: *url, Token: tok, OnTrack: func(t *webrtc.TrackRemote, _ signaling.TrackInfo) { receive(t, &c) }})
			jcancel()
			if err != nil {
				c.joinFail.Add(1)
				continue
			}
			mu.Lock()
			clients = append(clients, cl)
			mu.Unlock()
			vt, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "s")
			at, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "s")
			pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
			senders, err := cl.Publish(pctx, client.Track{Track: vt, Source: signaling.SourceCamera}, client.Track{Track: at, Source: signaling.SourceMicrophone})
			pcancel()
			if err != nil {
				c.publishErr.Add(1)
				continue
			}
			for _, s := range senders {
				go func() {
					b := make([]byte, 1500)
					for {
						if _, _, err := s.Read(b); err != nil {
							return
						}
					}
				}()
			}
			wg.Add(2)
			go func() { defer wg.Done(); loopIVF(ctx, vt, *ivf, *fps, &c.sentV) }()
			go func() { defer wg.Done(); loopOgg(ctx, at, *ogg, &c.sentA) }()
		}
	}
	// Warm up (ICE, first keyframes), then measure a window.
	time.Sleep(3 * time.Second)
	s0 := snapshot(&c)
	start := time.Now()
	time.Sleep(*dur)
	s1 := snapshot(&c)
	el := time.Since(start).Seconds()
	cancel()
	loss := func(recv, exp int64) float64 {
		if exp <= 0 {
			return 0
		}
		return 100 * float64(exp-recv) / float64(exp)
	}
	out := map[string]any{
		"calls": *calls, "seconds": el, "join_failures": c.joinFail.Load(), "publish_failures": c.publishErr.Load(),
		"video_packets_received": s1.recvV - s0.recvV, "audio_packets_received": s1.recvA - s0.recvA,
		"video_loss_pct": loss(s1.recvV-s0.recvV, s1.expV-s0.expV), "audio_loss_pct": loss(s1.recvA-s0.recvA, s1.expA-s0.expA),
		"video_mbps_received_per_stream": float64(s1.bytesV-s0.bytesV) * 8 / 1e6 / el / float64(max(1, 2**calls)),
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	for _, cl := range clients {
		cl.Close()
	}
}

type snap struct{ recvV, recvA, expV, expA, bytesV int64 }

func snapshot(c *counters) snap {
	return snap{c.recvV.Load(), c.recvA.Load(), c.expectV.Load(), c.expectA.Load(), c.bytesV.Load()}
}

// receive counts packets and the sequence-number span (expected packets).
func receive(t *webrtc.TrackRemote, c *counters) {
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	var last uint16
	first := true
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		exp := int64(1)
		if !first {
			d := int64(int16(p.SequenceNumber - last))
			if d <= 0 { // reordered or duplicate (retransmission): counted, not expected again
				exp = 0
			} else {
				exp = d
			}
		}
		if exp > 0 || first {
			last = p.SequenceNumber
		}
		first = false
		if video {
			c.recvV.Add(1)
			c.expectV.Add(exp)
			c.bytesV.Add(int64(len(p.Payload)))
		} else {
			c.recvA.Add(1)
			c.expectA.Add(exp)
		}
	}
}

func loopIVF(ctx context.Context, t *webrtc.TrackLocalStaticSample, path string, fps int, n *atomic.Int64) {
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		r, _, err := ivfreader.NewWith(f)
		for err == nil && ctx.Err() == nil {
			var b []byte
			if b, _, err = r.ParseNextFrame(); err != nil {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
			if t.WriteSample(media.Sample{Data: b, Duration: time.Second / time.Duration(fps)}) == nil {
				n.Add(1)
			}
		}
		f.Close()
		if err != nil && err != io.EOF {
			return
		}
	}
}

func loopOgg(ctx context.Context, t *webrtc.TrackLocalStaticSample, path string, n *atomic.Int64) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		r, _, err := oggreader.NewWith(f)
		for err == nil && ctx.Err() == nil {
			var page []byte
			if page, _, err = r.ParseNextPage(); err != nil {
				break
			}
			if len(page) >= 8 && string(page[:8]) == "OpusTags" {
				continue
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
			if t.WriteSample(media.Sample{Data: page, Duration: 20 * time.Millisecond}) == nil {
				n.Add(1)
			}
		}
		f.Close()
	}
}
