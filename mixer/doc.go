// Package mixer composes several participants' video into one picture and
// mixes their audio, for the regulator's composite recording of a session
// (双录). Layouts are declarative YAML templates (built-in or from a file);
// their geometry is computed in pure Go (Place) and turned into GStreamer
// compositor pad properties; a Mix builds the whole GStreamer pipeline
// (decode or live sources → compositor/audiomixer → watermarks → H.264/AAC →
// fragmented MP4, MKV or MPEG-TS, optionally segmented and with
// per-participant files alongside) and runs it.
//
// Every slot has a placeholder ("摄像头已关闭 camera off") underneath its
// source: compositor stops drawing a pad at EOS, so a source that is missing
// or has ended shows the placeholder, never a frozen frame. Layout switches
// change pad properties from the owner goroutine (live) or are scheduled at
// exact media times (offline); see switch.go.
package mixer
