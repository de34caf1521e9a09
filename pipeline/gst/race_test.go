//go:build race

package gst

// raceEnabled: the race detector's shadow memory makes RSS measurements
// meaningless, so the leak test runs only in the plain test pass.
const raceEnabled = true
