package gst

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// TestSinkPull: a stage can run a small filter inline: push into an
// appsrc, pull synchronously from the appsink, then EOS reads as ErrEOS.
func TestSinkPull(t *testing.T) {
	p, err := NewFromLaunch("pull", "appsrc name=in format=time ! audioconvert ! volume volume=0.5 ! "+
		"audio/x-raw,format=S16LE,layout=interleaved ! appsink name=out sync=false", Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	src, err := p.Src("in", 0)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := p.Sink("out")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := sink.Pull(0); ok || err != nil {
		t.Fatalf("pull before any input: ok %v err %v", ok, err)
	}
	got := 0
	for i := 0; i < 5; i++ {
		a := &pipeline.AudioFrame{Format: pipeline.SampleS16, SampleRate: 16000, Channels: 1,
			S16: make([]int16, 160), PTS: time.Duration(i) * 10 * time.Millisecond}
		for k := range a.S16 {
			a.S16[k] = 1000
		}
		if err := src.PushAudio(a); err != nil {
			t.Fatal(err)
		}
		pkt, ok, err := sink.Pull(10 * time.Second)
		if err != nil || !ok {
			t.Fatalf("frame %d: ok %v err %v", i, ok, err)
		}
		if v := pkt.Audio.S16[80]; v != 500 {
			t.Fatalf("frame %d: sample %d, want 500", i, v)
		}
		got += pkt.Audio.Samples()
	}
	if err := src.EndStream(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, err := sink.Pull(100 * time.Millisecond)
		if errors.Is(err, ErrEOS) {
			break
		}
		if err != nil || ok || time.Now().After(deadline) {
			t.Fatalf("after EndStream: ok %v err %v", ok, err)
		}
	}
	if got != 800 || sink.Frames() != 5 {
		t.Fatalf("%d samples in %d frames", got, sink.Frames())
	}
}
