//go:build race

package audio

// raceEnabled: the SI-SDR measurement is arithmetic over whole clips (no
// concurrency) and takes minutes under the race detector; it runs in the
// plain test pass, the stage paths it uses are raced by the other tests.
const raceEnabled = true
