// Package cpubench measures the CPU time a benchmark consumes across all
// threads (Go, OpenCV, ONNX Runtime, GStreamer streaming threads). On a
// shared machine wall time per operation swings with other load, while
// process CPU time per operation is what an operator budgets.
package cpubench

import (
	"syscall"
	"testing"
	"time"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Start returns a function that, called at the end of the benchmark loop,
// reports CPU milliseconds per operation as the "cpu-ms/op" metric.
func Start(b *testing.B) func() {
	t0 := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpu()-t0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		}
	}
}
