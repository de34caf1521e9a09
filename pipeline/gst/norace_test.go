//go:build !race

package gst

const raceEnabled = false
