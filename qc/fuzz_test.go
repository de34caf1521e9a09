package qc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// FuzzCheck feeds corrupted and truncated recordings to the QC entry point:
// whatever the bytes, Check returns a report that renders (JSON and HTML)
// or a one-line error naming the file, and never panics or aborts (an
// abort in FFmpeg would kill the fuzzing process and fail the run). The
// seeds are a tiny generated MP4 and MKV, cut and with bytes flipped;
// `go test` runs them, `go test -fuzz FuzzCheck ./qc/` explores.
func FuzzCheck(f *testing.F) {
	for _, name := range []string{"tiny.mp4", "tiny.mkv"} {
		b, err := os.ReadFile(fixture(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:min(len(b), 200)])
		for _, at := range []int{len(b) / 3, len(b) / 2, len(b) * 3 / 4} {
			c := bytes.Clone(b)
			for i := at; i < min(len(c), at+64); i++ {
				c[i] ^= 0x5a
			}
			f.Add(c)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("not a recording"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.mp4")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// A watchdog: a check that ignores its context is a hang; show
		// where it is stuck and keep the input.
		stuck := time.AfterFunc(40*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			keep := filepath.Join(os.TempDir(), fmt.Sprintf("qc-fuzz-hang-%x.bin", sha256.Sum256(data)))
			_ = os.WriteFile(keep, data, 0o644)
			panic(fmt.Sprintf("Check still running after 40s (input kept in %s):\n%s", keep, buf[:n]))
		})
		defer stuck.Stop()
		start := time.Now()
		rep, err := CheckWith(ctx, path, DefaultPolicy(), Options{Threads: 1})
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("Check of %d bytes took %v (err %v)", len(data), took, err)
		}
		if err != nil {
			if errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error: %v", err)
			}
			return
		}
		switch rep.Verdict {
		case Pass, Warn, Fail:
		default:
			t.Fatalf("verdict %q", rep.Verdict)
		}
		if len(rep.SHA256) != 64 || rep.Size != int64(len(data)) {
			t.Fatalf("sha256 %q size %d", rep.SHA256, rep.Size)
		}
		if len(data) < 100 && rep.Verdict != Fail {
			t.Fatalf("%d bytes passed QC", len(data))
		}
		b, err := rep.JSON()
		if err != nil || !json.Valid(b) {
			t.Fatalf("JSON: %v", err)
		}
		if err := rep.WriteHTML(&bytes.Buffer{}); err != nil {
			t.Fatalf("HTML: %v", err)
		}
	})
}
