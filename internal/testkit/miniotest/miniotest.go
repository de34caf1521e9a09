// Package miniotest runs a real MinIO server for tests (the binary built
// by deploy/setup.sh; AGPL, a test dependency only, never imported).
package miniotest

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Credentials of the servers Start runs.
const (
	AccessKey = "witness"
	SecretKey = "witness-secret-1"
)

// Binary finds the minio binary on PATH or in GOPATH/bin, ~/go/bin; the
// test is skipped, saying so, without one.
func Binary(t testing.TB) string {
	t.Helper()
	if bin, err := exec.LookPath("minio"); err == nil {
		return bin
	}
	home, _ := os.UserHomeDir()
	for _, p := range []string{filepath.Join(os.Getenv("GOPATH"), "bin", "minio"), filepath.Join(home, "go", "bin", "minio")} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("MinIO test skipped: no minio binary on PATH or in ~/go/bin (deploy/setup.sh installs it)")
	return ""
}

// Start runs MinIO on a random loopback port with an empty data dir and
// waits until it is ready. It is stopped when the test ends.
func Start(t testing.TB) (endpoint string) {
	t.Helper()
	endpoint = FreeAddr(t)
	StartAt(t, endpoint)
	return endpoint
}

// FreeAddr returns a loopback address nothing listens on (a dead object
// store, until StartAt runs one there).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// StartAt runs MinIO at endpoint with an empty data dir and waits until
// it is ready. stop kills it (a store that dies mid-test); it also runs
// when the test ends.
func StartAt(t testing.TB, endpoint string) (stop func()) {
	t.Helper()
	bin := Binary(t)
	cmd := exec.Command(bin, "server", "--quiet", "--address", endpoint, "--console-address", "127.0.0.1:0", t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+AccessKey, "MINIO_ROOT_PASSWORD="+SecretKey, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(stop)
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get("http://" + endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio did not become ready: %s", logBuf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
