package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf is a goroutine-safe writer for the command's stdout.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSFUCommand(t *testing.T) {
	if err := runSFU(context.Background(), []string{"--token", "no-colons"}, io.Discard); !errors.Is(err, errUsage) {
		t.Fatalf("bad --token: %v, want a usage error", err)
	}
	if err := runSFU(context.Background(), []string{"--token", "r:alice:pilot"}, io.Discard); !errors.Is(err, errUsage) {
		t.Fatalf("bad role: %v, want a usage error", err)
	}
	t.Setenv("WITNESS_DATA_DIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuf{}
	done := make(chan error, 1)
	go func() { done <- runSFU(ctx, []string{"--listen", "127.0.0.1:0", "--token", "r1:bob:customer"}, out) }()
	re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/customer\.html#token=\S+`)
	var base string
	for end := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "listening") {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no link printed: %q", out.String())
	}
	resp, err := http.Get(base + "/customer.html")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "witnessPage(\"customer\")") {
		t.Fatalf("customer page not served: %d %.200s", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sfu exit: %v", err)
	}
}
