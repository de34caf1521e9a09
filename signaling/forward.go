package signaling

import (
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// pubTrack is one published track (all its simulcast layers). Its layer
// readers forward every packet to a copy-on-write list of downTracks;
// the room goroutine replaces the list.
type pubTrack struct {
	id, clientID string
	owner        *participant
	room         *room
	kind, source string
	codec        webrtc.RTPCodecCapability
	muted        atomic.Bool

	downs atomic.Pointer[[]*downTrack]
	last  atomic.Int64           // unix nanos of the last packet of any layer (gap watchdog)
	tap   atomic.Pointer[rtpTap] // the recorder's input, nil when not recorded
	atap  atomic.Pointer[rtpTap] // the live analysis decoder's input (analyze.go)

	mu      sync.Mutex // guards layers, lastPLI
	layers  map[string]*layer
	lastPLI map[string]time.Time
	ended   int // layers whose reader ended (room goroutine)
}

// rtpTap receives the packets of one layer of a track (the recorder).
type rtpTap struct {
	layer string
	push  func(*rtp.Packet)
}

// layer is one simulcast encoding ("" without simulcast).
type layer struct {
	rid    string
	ssrc   uint32
	remote *webrtc.TrackRemote
	st     trackCounters
}

// trackCounters are updated by the layer reader and read by stats.
type trackCounters struct {
	packets, bytes, frames atomic.Uint64
	width, height          atomic.Uint32
}

func (t *pubTrack) info() TrackInfo {
	return TrackInfo{ID: t.id, Participant: t.owner.id, Kind: t.kind, Source: t.source, Codec: strings.TrimPrefix(strings.ToLower(t.codec.MimeType), t.kind+"/"),
		Muted: t.muted.Load(), Layers: t.layerNames(), StreamID: t.owner.id}
}

func (t *pubTrack) layerNames() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for rid := range t.layers {
		if rid != "" {
			out = append(out, rid)
		}
	}
	sort.Strings(out)
	return out
}

// bestLayer is the highest-quality layer present: f > h > q by
// convention, otherwise the only one.
func (t *pubTrack) bestLayer() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rid := range []string{"f", "h", "q", ""} {
		if t.layers[rid] != nil {
			return rid
		}
	}
	for rid := range t.layers {
		return rid
	}
	return ""
}

// layerFor picks the largest layer whose height fits maxHeight (by the
// heights parsed from keyframes; without them by convention f/h/q =
// 1, 1/2, 1/4 of the full height).
func (t *pubTrack) layerFor(maxHeight int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	best, bestH, smallest, smallestH := "", -1, "", 1<<30
	full := 0
	for _, l := range t.layers {
		full = max(full, int(l.st.height.Load()))
	}
	for rid, l := range t.layers {
		h := int(l.st.height.Load())
		if h == 0 {
			h = map[string]int{"f": full, "h": full / 2, "q": full / 4}[rid]
		}
		if h <= maxHeight && h > bestH {
			best, bestH = rid, h
		}
		if h < smallestH {
			smallest, smallestH = rid, h
		}
	}
	if bestH < 0 {
		return smallest
	}
	return best
}

// requestKeyframe sends a PLI to the publisher for one layer (""= all),
// at most every 300 ms per layer.
func (t *pubTrack) requestKeyframe(rid string) {
	if t.kind != "video" {
		return
	}
	t.mu.Lock()
	var pkts []rtcp.Packet
	for r, l := range t.layers {
		if rid != "" && r != rid {
			continue
		}
		if time.Since(t.lastPLI[r]) < 300*time.Millisecond {
			continue
		}
		t.lastPLI[r] = time.Now()
		pkts = append(pkts, &rtcp.PictureLossIndication{MediaSSRC: l.ssrc})
	}
	t.mu.Unlock()
	if len(pkts) > 0 {
		_ = t.owner.pub.WriteRTCP(pkts)
	}
}

// attachRemote registers a remote track (or a simulcast layer of one) on
// the room goroutine, then reads and forwards its packets until it ends.
func (r *room) attachRemote(p *participant, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	var t *pubTrack
	var l *layer
	if err := r.call(func() { t, l = r.publishLayer(p, remote) }); err != nil || t == nil {
		return
	}
	buf := make([]byte, 1500)
	pkt := &rtp.Packet{}
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			break
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		t.forward(l, pkt)
	}
	_ = r.do(func() {
		t.ended++
		if r.tracks[t.id] == t && t.ended >= len(t.layers) {
			r.dropTrack(t, "ended")
		}
	})
}

func (r *room) publishLayer(p *participant, remote *webrtc.TrackRemote) (*pubTrack, *layer) {
	if p.left {
		return nil, nil
	}
	var t *pubTrack
	for _, x := range r.tracks {
		if x.owner == p && x.clientID == remote.ID() {
			t = x
		}
	}
	isNew := t == nil
	if isNew {
		kind := remote.Kind().String()
		src := p.sources[remote.ID()]
		if src == "" {
			src = map[string]string{"audio": SourceMicrophone, "video": SourceCamera}[kind]
		}
		t = &pubTrack{id: newID("TR_"), clientID: remote.ID(), owner: p, room: r, kind: kind, source: src,
			codec: remote.Codec().RTPCodecCapability, layers: map[string]*layer{}, lastPLI: map[string]time.Time{}}
		t.codec.RTCPFeedback = nil
		t.downs.Store(&[]*downTrack{})
		if (kind == "audio" && p.audioMuted) || (kind == "video" && p.videoMuted) {
			t.muted.Store(true)
		}
	}
	l := &layer{rid: remote.RID(), ssrc: uint32(remote.SSRC()), remote: remote}
	t.mu.Lock()
	t.layers[l.rid] = l
	t.mu.Unlock()
	if isNew {
		r.tracks[t.id] = t
		r.event("published", p, map[string]any{"track": t.id, "kind": t.kind, "source": t.source, "codec": t.codec.MimeType})
		r.broadcast(p, p, TTrack, t.info())
		for _, q := range r.parts {
			if q != p && q.claims.Can(PermSubscribe) {
				r.subscribe(q, t)
				r.negotiate(q, false)
			}
		}
		if r.rec != nil {
			r.rec.trackAdded(t)
		}
		r.analyse(t)
	} else {
		r.broadcast(p, p, TTrack, t.info())
	}
	return t, l
}

// dropTrack unpublishes t: subscribers' senders are removed and they get a
// new offer.
func (r *room) dropTrack(t *pubTrack, why string) {
	if r.tracks[t.id] != t {
		return
	}
	delete(r.tracks, t.id)
	downs := *t.downs.Swap(&[]*downTrack{})
	for _, d := range downs {
		q := d.sub
		delete(q.downs, t.id)
		if !q.left {
			_ = q.sub.RemoveTrack(d.sender)
			r.negotiate(q, false)
		}
	}
	if r.rec != nil {
		r.rec.trackRemoved(t)
	}
	r.unanalyse(t)
	r.broadcast(t.owner, t.owner, TTrackGone, t.info())
	r.event("unpublished", t.owner, map[string]any{"track": t.id, "kind": t.kind, "reason": why})
}

// subscribe adds a forwarded copy of t to q's subscriber connection
// (negotiated by the caller).
func (r *room) subscribe(q *participant, t *pubTrack) {
	if q.downs[t.id] != nil || (t.owner.hidden && !q.hidden) {
		return
	}
	local, err := webrtc.NewTrackLocalStaticRTP(t.codec, t.id, t.owner.id)
	if err != nil {
		r.log.Error("subscriber track", "err", err)
		return
	}
	sender, err := q.sub.AddTrack(local)
	if err != nil {
		r.log.Warn("subscriber track", "participant", q.id, "err", err)
		return
	}
	d := &downTrack{sub: q, track: t, local: local, sender: sender}
	d.enabled.Store(true)
	q.downs[t.id] = d
	old := *t.downs.Load()
	nl := append(slices.Clip(old), d)
	t.downs.Store(&nl)
	go d.readRTCP()
	t.requestKeyframe("")
}

// forward sends one packet of one layer to every subscriber (and the
// recorder). Called by that layer's reader goroutine only.
func (t *pubTrack) forward(l *layer, pkt *rtp.Packet) {
	t.last.Store(time.Now().UnixNano())
	l.st.packets.Add(1)
	l.st.bytes.Add(uint64(len(pkt.Payload) + 12))
	key := false
	if t.kind == "video" {
		if pkt.Marker {
			l.st.frames.Add(1)
		}
		var w, h int
		key, w, h = keyframeStart(t.codec.MimeType, pkt.Payload)
		if w > 0 {
			l.st.width.Store(uint32(w))
			l.st.height.Store(uint32(h))
		}
	}
	if t.muted.Load() || t.room.hold.Load() {
		return
	}
	if tap := t.tap.Load(); tap != nil && tap.layer == l.rid {
		tap.push(pkt)
	}
	if tap := t.atap.Load(); tap != nil && tap.layer == l.rid {
		tap.push(pkt)
	}
	for _, d := range *t.downs.Load() {
		d.write(l.rid, pkt, key)
	}
}

// downTrack is one subscriber's copy of a published track: on/off, the
// simulcast layer it wants and the rewriting that makes a layer switch
// look like one continuous stream.
type downTrack struct {
	sub     *participant
	track   *pubTrack
	local   *webrtc.TrackLocalStaticRTP
	sender  *webrtc.RTPSender
	enabled atomic.Bool
	sent    atomic.Uint64 // bytes

	mu       sync.Mutex
	want     string // wanted layer; "" = the best
	cur      string
	started  bool
	needKey  bool
	seqOff   uint16
	tsOff    uint32
	lastSeq  uint16
	lastTS   uint32
	lastWall time.Time
	maxFPS   int
	lastFrm  time.Time
	dropping bool
	midFrame bool // the previous packet did not end a frame
	keyAsked time.Time
}

func (d *downTrack) setEnabled(on bool) {
	d.mu.Lock()
	if on && !d.enabled.Load() {
		d.needKey = true
	}
	d.mu.Unlock()
	d.enabled.Store(on)
}

func (d *downTrack) setLayer(rid string) {
	d.mu.Lock()
	d.want = rid
	d.mu.Unlock()
}

func (d *downTrack) setMaxFPS(fps int) {
	d.mu.Lock()
	d.maxFPS = fps
	d.mu.Unlock()
}

func (d *downTrack) wantLayer() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.want == "" {
		return d.track.bestLayer()
	}
	return d.want
}

// write forwards pkt if it belongs to the layer this subscriber receives,
// switching layers only at a keyframe, with sequence numbers and
// timestamps continued across the switch.
func (d *downTrack) write(rid string, pkt *rtp.Packet, key bool) {
	if !d.enabled.Load() {
		return
	}
	d.mu.Lock()
	want := d.want
	if want == "" {
		want = d.track.bestLayer()
	}
	video := d.track.kind == "video"
	switch {
	case !d.started:
		if rid != want || (video && !key) {
			d.skipped(video, want)
			return
		}
		d.started, d.cur, d.needKey = true, rid, false
		d.seqOff, d.tsOff = 0, 0
	case rid != d.cur:
		if rid != want || !key {
			if want != d.cur {
				d.skipped(true, want) // a layer switch waits for want's keyframe
			} else {
				d.mu.Unlock()
			}
			return
		}
		// Switch: continue numbering from the last packet sent.
		d.cur, d.needKey = rid, false
		d.seqOff = d.lastSeq + 1 - pkt.SequenceNumber
		gap := uint32(time.Since(d.lastWall).Seconds()*float64(d.track.codec.ClockRate)) + 1
		d.tsOff = d.lastTS + gap - pkt.Timestamp
	case d.needKey && video:
		if !key {
			d.skipped(true, want)
			return
		}
		d.needKey = false
	}
	start := !d.midFrame
	d.midFrame = !pkt.Marker
	// Frame-rate cap: drop whole frames (only safe between keyframes for
	// codecs whose frames reference the previous one, so a dropped frame
	// makes the decoder wait for the next keyframe: the cap is coarse and
	// honest, used for thumbnails).
	if video && d.maxFPS > 0 && d.maxFPS < 30 {
		if start {
			d.dropping = !key && time.Since(d.lastFrm) < time.Second/time.Duration(d.maxFPS)
			if !d.dropping {
				d.lastFrm = time.Now()
			}
		}
		if d.dropping {
			d.mu.Unlock()
			return
		}
	}
	out := *pkt
	out.Header.Extension = false
	out.Header.Extensions = nil
	out.SequenceNumber = pkt.SequenceNumber + d.seqOff
	out.Timestamp = pkt.Timestamp + d.tsOff
	d.lastSeq, d.lastTS, d.lastWall = out.SequenceNumber, out.Timestamp, time.Now()
	d.mu.Unlock()
	if err := d.local.WriteRTP(&out); err == nil {
		d.sent.Add(uint64(len(out.Payload) + 12))
	}
}

// keyRetry is how often a down track that waits for a keyframe asks the
// publisher again. One request is not enough: the publisher may be
// throttled (requestKeyframe's 300 ms) just after a keyframe that this
// track had to skip, or the PLI may be lost, and browsers send no
// periodic keyframes, so the subscriber would get no video at all.
const keyRetry = time.Second

// skipped is called, with d.mu held, for a packet that write skips; it
// releases d.mu. A video track that waits for a keyframe asks for one
// again every keyRetry.
func (d *downTrack) skipped(waitKey bool, layer string) {
	ask := waitKey && time.Since(d.keyAsked) >= keyRetry
	if ask {
		d.keyAsked = time.Now()
	}
	d.mu.Unlock()
	if ask {
		d.track.requestKeyframe(layer)
	}
}

// readRTCP drains the subscriber's RTCP for this sender (which is what
// makes pion's NACK responder and reports work) and turns PLI/FIR into a
// keyframe request to the publisher.
func (d *downTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.track.requestKeyframe(d.wantLayer())
			}
		}
	}
}

// keyframeStart reports whether an RTP payload starts a keyframe, and
// for VP8 the picture size it declares.
func keyframeStart(mime string, b []byte) (bool, int, int) {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return vp8Keyframe(b)
	case "video/h264":
		return h264Keyframe(b), 0, 0
	}
	return false, 0, 0
}

// vp8Keyframe parses the VP8 payload descriptor (RFC 7741) and the frame
// header of a partition start.
func vp8Keyframe(b []byte) (bool, int, int) {
	if len(b) < 1 {
		return false, 0, 0
	}
	x, s, pid := b[0]&0x80 != 0, b[0]&0x10 != 0, b[0]&0x07
	i := 1
	if x {
		if len(b) < 2 {
			return false, 0, 0
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // PictureID
			if len(b) <= i {
				return false, 0, 0
			}
			if b[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 {
			i++
		}
		if ext&0x30 != 0 {
			i++
		}
	}
	if !s || pid != 0 || len(b) < i+10 {
		return false, 0, 0
	}
	h := b[i:]
	if h[0]&0x01 != 0 { // P bit: 0 = keyframe
		return false, 0, 0
	}
	if h[3] != 0x9d || h[4] != 0x01 || h[5] != 0x2a {
		return true, 0, 0
	}
	w := int(h[6]) | int(h[7]&0x3f)<<8
	ht := int(h[8]) | int(h[9]&0x3f)<<8
	return true, w, ht
}

// h264Keyframe: an IDR or SPS NAL unit, alone, in a STAP-A, or at the
// start of an FU-A.
func h264Keyframe(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch n := b[0] & 0x1f; {
	case n == 5 || n == 7:
		return true
	case n == 24: // STAP-A
		for i := 1; i+2 < len(b); {
			sz := int(b[i])<<8 | int(b[i+1])
			if i+2 >= len(b) {
				break
			}
			if t := b[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + sz
		}
	case n == 28: // FU-A
		return b[1]&0x80 != 0 && (b[1]&0x1f == 5 || b[1]&0x1f == 7)
	}
	return false
}
