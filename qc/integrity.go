package qc

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
	"github.com/witness-media/witness/pipeline/av"
)

// streamTimes follows the timestamps of one decoded stream.
type streamTimes struct {
	stream           int
	kind             av.MediaType
	seen             bool
	first, last, end time.Duration
	frames           int64
	gaps, jumps      []span
	// nominal caps video frame durations: in MP4 a frame's duration is the
	// distance to the next one, so a hole would hide inside a long frame.
	nominal time.Duration
}

// observe records one frame at pts lasting dur. A frame starting more than
// maxGap after the previous one ended leaves a gap; one starting before the
// previous one did (or, for audio, overlapping it by more than maxGap) is a
// jump backwards.
func (s *streamTimes) observe(pts, dur time.Duration, maxGap time.Duration) {
	s.frames++
	if s.nominal > 0 && dur > s.nominal {
		dur = s.nominal
	}
	if !s.seen {
		s.seen, s.first, s.last, s.end = true, pts, pts, pts+max(dur, 0)
		return
	}
	switch {
	case pts-s.end > maxGap:
		s.gaps = append(s.gaps, span{start: s.end, end: pts, max: (pts - s.end).Seconds()})
	case pts < s.last || (s.kind == av.MediaAudio && s.end-pts > maxGap):
		back := max(s.last, s.end) - pts
		s.jumps = append(s.jumps, span{start: pts, end: pts, max: back.Seconds()})
	}
	s.last = pts
	s.end = max(s.end, pts+max(dur, 0))
}

// integrity adds the container and timestamp findings, merging the corrupt
// regions found by the video pass with the decode errors in the stats.
func (p *pass) integrity(damaged []Finding) {
	rep, st, ip := p.rep, p.rep.Decode, &p.pol.Integrity
	for _, t := range p.times {
		rep.Duration = max(rep.Duration, t.end)
	}
	if st.PrematureEnd {
		end := max(st.Duration, st.Reached)
		rep.Findings = append(rep.Findings, Finding{Kind: KindTruncated, Severity: pipeline.SeverityCritical,
			Start: st.Reached, End: end, Stream: noStream, Value: st.Reached.Seconds(), Threshold: st.Duration.Seconds(),
			Unit: unitSeconds, Message: "recording ends early: " + st.EndReason})
	}
	for i := range st.Streams {
		s := &st.Streams[i]
		if s.Skipped != "" {
			rep.Findings = append(rep.Findings, Finding{Kind: KindUndecodable, Severity: pipeline.SeverityCritical,
				Stream: s.Index, Message: fmt.Sprintf("%s stream %d (%s) cannot be decoded: %s", s.Type, s.Index, s.Codec, s.Skipped)})
		}
	}

	// Decode errors, clustered per stream.
	regions := map[int][]Finding{}
	for _, f := range damaged {
		regions[f.Stream] = append(regions[f.Stream], f)
	}
	for _, e := range st.Errors {
		regions[e.Stream] = append(regions[e.Stream], Finding{Kind: KindCorrupt, Severity: pipeline.SeverityCritical,
			Start: e.PTS, End: e.PTS, Stream: e.Stream, Value: 1, Unit: "errors", Message: e.Err})
	}
	streams := make([]int, 0, len(regions))
	for s := range regions {
		streams = append(streams, s)
	}
	slices.Sort(streams)
	for _, s := range streams {
		rep.Findings = append(rep.Findings, mergeCorrupt(regions[s], ip.CorruptMerge)...)
	}
	if extra := st.ErrorCount - len(st.Errors); extra > 0 {
		rep.Findings = append(rep.Findings, Finding{Kind: KindCorrupt, Severity: pipeline.SeverityCritical,
			Start: st.Reached, End: st.Reached, Stream: noStream, Value: float64(extra), Unit: "errors",
			Message: fmt.Sprintf("%d more decode errors not located (only the first %d are kept)", extra, len(st.Errors))})
	}
	for i := range st.Streams {
		s := &st.Streams[i]
		if len(regions[s.Index]) > 0 || s.Index != p.vIdx && s.Index != p.aIdx {
			continue
		}
		// Damage the decoder concealed without flagging a frame or failing
		// a packet: known to exist, not where.
		if n := s.CorruptPackets + int64(s.FFmpegErrors); n > 0 {
			rep.Findings = append(rep.Findings, Finding{Kind: KindCorrupt, Severity: pipeline.SeverityWarning,
				Start: 0, End: s.End, Stream: s.Index, Value: float64(n), Unit: "errors",
				Message: fmt.Sprintf("%d corrupt packets and %d decoder error lines in %s stream %d (position not known)",
					s.CorruptPackets, s.FFmpegErrors, s.Type, s.Index)})
		}
	}

	p.missingStreams(p.vIdx >= 0, p.aIdx >= 0)

	// Timestamps of the streams that were checked.
	for _, idx := range []int{p.vIdx, p.aIdx} {
		t := p.times[idx]
		if idx < 0 || t == nil {
			continue
		}
		name := string(t.kind)
		for _, g := range t.gaps {
			rep.Findings = append(rep.Findings, Finding{Kind: KindGap, Severity: pipeline.SeverityWarning,
				Start: g.start, End: g.end, Stream: idx, Value: round3(g.max), Threshold: gapLimit(t.kind, ip).Seconds(),
				Unit: unitSeconds, Message: fmt.Sprintf("no %s for %.3fs (timestamps jump forward)", name, g.max)})
		}
		for _, j := range t.jumps {
			rep.Findings = append(rep.Findings, Finding{Kind: KindJump, Severity: pipeline.SeverityWarning,
				Start: j.start, End: j.end, Stream: idx, Value: round3(j.max), Unit: unitSeconds,
				Message: fmt.Sprintf("%s timestamps go back by %.3fs", name, j.max)})
		}
		if t.first > ip.MaxStartOffset {
			rep.Findings = append(rep.Findings, Finding{Kind: KindStartOffset, Severity: pipeline.SeverityWarning,
				Start: 0, End: t.first, Stream: idx, Value: round3(t.first.Seconds()), Threshold: ip.MaxStartOffset.Seconds(),
				Unit: unitSeconds, Message: fmt.Sprintf("%s starts %.3fs after the file", name, t.first.Seconds())})
		}
	}
	if tv, ta := p.times[p.vIdx], p.times[p.aIdx]; p.vIdx >= 0 && p.aIdx >= 0 && tv != nil && ta != nil {
		if d := absDur(tv.end - ta.end); d > ip.MaxEndMismatch {
			first, which := min(tv.end, ta.end), "video"
			if ta.end < tv.end {
				which = "audio"
			}
			rep.Findings = append(rep.Findings, Finding{Kind: KindEndMismatch, Severity: pipeline.SeverityWarning,
				Start: first, End: max(tv.end, ta.end), Stream: noStream, Value: round3(d.Seconds()),
				Threshold: ip.MaxEndMismatch.Seconds(), Unit: unitSeconds,
				Message: fmt.Sprintf("%s ends %.3fs before the other stream", which, d.Seconds())})
		}
	}
}

func gapLimit(kind av.MediaType, ip *IntegrityPolicy) time.Duration {
	if kind == av.MediaAudio {
		return ip.MaxAudioGap
	}
	return ip.MaxGap
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// mergeCorrupt joins corrupt regions of one stream that are closer than
// gap, keeping the first thumbnail and adding up the counts.
func mergeCorrupt(fs []Finding, gap time.Duration) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmpDur(a.Start, b.Start) })
	var out []Finding
	for _, f := range fs {
		if n := len(out); n > 0 && f.Start-out[n-1].End <= gap {
			o := &out[n-1]
			o.End = max(o.End, f.End)
			if o.Thumbnail == nil {
				o.Thumbnail = f.Thumbnail
			}
			o.Value += f.Value
			if o.Unit != f.Unit {
				o.Unit = "frames+errors"
			}
			if !strings.Contains(o.Message, f.Message) && len(o.Message) < 300 {
				o.Message += "; " + f.Message
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

// missingStreams adds a finding for each required stream kind absent.
func (p *pass) missingStreams(hasVideo, hasAudio bool) {
	if p.pol.Require.Video && !hasVideo {
		p.fileFinding(KindMissingStream, pipeline.SeverityCritical, "no video stream (the policy requires one)")
	}
	if p.pol.Require.Audio && !hasAudio {
		p.fileFinding(KindMissingStream, pipeline.SeverityCritical, "no audio stream (the policy requires one)")
	}
}

// params compares the primary streams with the policy's expectations.
func (p *pass) params() {
	rep, ex := p.rep, &p.pol.Expect
	bad := func(kind string, stream int, value, threshold float64, unit, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Kind: kind, Severity: pipeline.SeverityCritical, Start: 0,
			End: rep.Duration, Stream: stream, Value: value, Threshold: threshold, Unit: unit,
			Message: fmt.Sprintf(format, args...)})
	}
	if d := rep.Duration; (ex.MinDuration > 0 && d < ex.MinDuration) || (ex.MaxDuration > 0 && d > ex.MaxDuration) {
		lim := ex.MinDuration
		if ex.MaxDuration > 0 && d > ex.MaxDuration {
			lim = ex.MaxDuration
		}
		bad(KindDuration, noStream, round3(d.Seconds()), lim.Seconds(), unitSeconds,
			"duration %.2fs outside the expected %s..%s", d.Seconds(), durOrAny(ex.MinDuration), durOrAny(ex.MaxDuration))
	}
	if p.vIdx >= 0 {
		s := &p.info.Streams[p.vIdx]
		v := &ex.Video
		if len(v.Codecs) > 0 && !slices.Contains(v.Codecs, s.Codec) {
			bad(KindVideoCodec, s.Index, 0, 0, "", "video codec %s, expected one of %s", s.Codec, strings.Join(v.Codecs, ", "))
		}
		if (v.Width > 0 && s.Width != v.Width) || (v.Height > 0 && s.Height != v.Height) {
			bad(KindResolution, s.Index, float64(s.Width*s.Height), float64(v.Width*v.Height), "pixels",
				"resolution %dx%d, expected %s", s.Width, s.Height, size(v.Width, v.Height))
		}
		fps := s.FrameRate
		if m := rep.Metrics.MeanIntervalMS; m > 0 {
			fps = 1000 / m // what was decoded, not what the header claims
		}
		if (v.MinFPS > 0 && fps < v.MinFPS*0.99) || (v.MaxFPS > 0 && fps > v.MaxFPS*1.01) {
			bad(KindFrameRate, s.Index, round2(fps), v.MinFPS, "fps", "frame rate %.2f fps, expected %s..%s",
				fps, numOrAny(v.MinFPS), numOrAny(v.MaxFPS))
		}
		if kbps, ok := p.bitrate(s); ok && ((v.MinKbps > 0 && kbps < float64(v.MinKbps)) || (v.MaxKbps > 0 && kbps > float64(v.MaxKbps))) {
			bad(KindVideoBitrate, s.Index, round2(kbps), float64(v.MinKbps), "kb/s", "video bitrate %.0f kb/s, expected %s..%s",
				kbps, numOrAny(float64(v.MinKbps)), numOrAny(float64(v.MaxKbps)))
		}
	}
	if p.aIdx >= 0 {
		s := &p.info.Streams[p.aIdx]
		a := &ex.Audio
		if len(a.Codecs) > 0 && !slices.Contains(a.Codecs, s.Codec) {
			bad(KindAudioCodec, s.Index, 0, 0, "", "audio codec %s, expected one of %s", s.Codec, strings.Join(a.Codecs, ", "))
		}
		if len(a.SampleRates) > 0 && !slices.Contains(a.SampleRates, s.SampleRate) {
			bad(KindSampleRate, s.Index, float64(s.SampleRate), float64(a.SampleRates[0]), "Hz",
				"sample rate %d Hz, expected %v", s.SampleRate, a.SampleRates)
		}
		if a.Channels > 0 && s.Channels != a.Channels {
			bad(KindChannels, s.Index, float64(s.Channels), float64(a.Channels), "channels",
				"%d audio channels, expected %d", s.Channels, a.Channels)
		}
		if kbps, ok := p.bitrate(s); ok && ((a.MinKbps > 0 && kbps < float64(a.MinKbps)) || (a.MaxKbps > 0 && kbps > float64(a.MaxKbps))) {
			bad(KindAudioBitrate, s.Index, round2(kbps), float64(a.MinKbps), "kb/s", "audio bitrate %.0f kb/s, expected %s..%s",
				kbps, numOrAny(float64(a.MinKbps)), numOrAny(float64(a.MaxKbps)))
		}
	}
}

// bitrate is the stream's bitrate in kb/s as the container declares it, or
// for the only stream of its file the file's average.
func (p *pass) bitrate(s *av.StreamInfo) (float64, bool) {
	if s.BitRate > 0 {
		return float64(s.BitRate) / 1000, true
	}
	if len(p.info.Streams) == 1 && p.rep.Duration > 0 {
		return float64(p.rep.Size*8) / p.rep.Duration.Seconds() / 1000, true
	}
	return 0, false
}

func durOrAny(d time.Duration) string {
	if d <= 0 {
		return "any"
	}
	return d.String()
}

func numOrAny(v float64) string {
	if v <= 0 {
		return "any"
	}
	return fmt.Sprintf("%g", v)
}

func size(w, h int) string {
	ws, hs := "any", "any"
	if w > 0 {
		ws = fmt.Sprint(w)
	}
	if h > 0 {
		hs = fmt.Sprint(h)
	}
	return ws + "x" + hs
}
