package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/testkit/miniotest"
)

func testFile(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "rec.mp4")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLocalUploadVerifies(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	u := &Uploader{Store: Local{Root: root}, RemoveSpooled: true, Backoff: time.Millisecond}
	src := testFile(t, 300_000)
	want, _ := os.ReadFile(src)
	info, err := u.Upload(ctx, "tenA/2026/rec-1.mp4", src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatal("spooled file not removed after a verified upload")
	}
	var got bytes.Buffer
	if err := u.Store.Get(ctx, info.Key, &got); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("round trip: %v", err)
	}
	checkOpen(t, u.Store, info, want)
	// Damage the stored copy: Stat's re-hash notices.
	p := filepath.Join(root, "tenA/2026/rec-1.mp4")
	os.WriteFile(p, append(want[:len(want)-1], want[len(want)-1]^1), 0o600)
	if st, _ := u.Store.Stat(ctx, info.Key); st.SHA256 == info.SHA256 {
		t.Fatal("damaged copy has the same hash")
	}
	for _, bad := range []string{"../x", "/abs", "", "a\\b"} {
		if _, err := u.Upload(ctx, bad, src); !errors.Is(err, ErrKey) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
}

// startMinIO runs a real MinIO server on a random loopback port.
func startMinIO(t *testing.T) (endpoint string, stop func()) {
	t.Helper()
	endpoint = miniotest.FreeAddr(t)
	return endpoint, miniotest.StartAt(t, endpoint)
}

func TestS3MinIO(t *testing.T) {
	endpoint, stop := startMinIO(t)
	ctx := context.Background()
	s, err := NewS3(S3Options{Endpoint: endpoint, Bucket: "recordings", AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// MinIO may answer "Server not initialized yet" just after its
	// readiness probe said ready: poll.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := s.EnsureBucket(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	u := &Uploader{Store: s, Attempts: 3, Backoff: 50 * time.Millisecond, RemoveSpooled: true}
	src := testFile(t, 6<<20)
	want, _ := os.ReadFile(src)
	info, err := u.Upload(ctx, "tenA/rec-1.mp4", src)
	if err != nil {
		t.Fatal(err)
	}
	sum, _, _ := FileSHA256Bytes(want)
	if info.SHA256 != sum || info.Size != int64(len(want)) {
		t.Fatalf("stat %+v", info)
	}
	var got bytes.Buffer
	if err := s.Get(ctx, "tenA/rec-1.mp4", &got); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("get: %v", err)
	}
	checkOpen(t, s, info, want)
	if _, err := s.Stat(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	// A store that records a different checksum than the file: refused,
	// spool kept.
	src2 := testFile(t, 1000)
	bad := &Uploader{Store: lyingStore{s}, Attempts: 2, Backoff: time.Millisecond, RemoveSpooled: true}
	if _, err := bad.Upload(ctx, "tenA/rec-2.mp4", src2); !errors.Is(err, ErrChecksum) {
		t.Fatalf("checksum mismatch: %v", err)
	}
	if _, err := os.Stat(src2); err != nil {
		t.Fatal("spool removed after a failed verification")
	}
	// The object store dies: clear error, spool kept.
	stop()
	src3 := testFile(t, 1000)
	_, err = u.Upload(ctx, "tenA/rec-3.mp4", src3)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "spooled file kept") || !strings.Contains(err.Error(), endpoint) {
		t.Fatalf("dead store: %v", err)
	}
	if _, err := os.Stat(src3); err != nil {
		t.Fatal("spooled file lost when the store was down")
	}
	t.Logf("dead store error: %v", err)
}

// lyingStore records a wrong checksum, like a store that corrupted data.
type lyingStore struct{ *S3 }

func (l lyingStore) Put(ctx context.Context, key, path, sum string) error {
	return l.S3.Put(ctx, key, path, fmt.Sprintf("%064d", 0))
}

func FileSHA256Bytes(b []byte) (string, int64, error) {
	p := filepath.Join(os.TempDir(), fmt.Sprintf("witness-sha-%d", time.Now().UnixNano()))
	os.WriteFile(p, b, 0o600)
	defer os.Remove(p)
	return FileSHA256(p)
}

// checkOpen reads the stored object through Open at a few offsets, as an
// HTTP Range request does, and checks a missing key is ErrNotFound.
func checkOpen(t *testing.T, st Store, info Info, want []byte) {
	t.Helper()
	ctx := context.Background()
	r, got, err := st.Open(ctx, info.Key)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	if got.Size != int64(len(want)) || got.SHA256 != info.SHA256 {
		t.Fatalf("open info %+v, want %d bytes sha256 %s", got, len(want), info.SHA256)
	}
	for _, off := range []int64{int64(len(want)) - 100, 0, int64(len(want)) / 2} {
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 100)
		if _, err := io.ReadFull(r, b); err != nil || !bytes.Equal(b, want[off:off+100]) {
			t.Fatalf("bytes at %d: %v", off, err)
		}
	}
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(want)) {
		t.Fatalf("seek end: %d %v", end, err)
	}
	if _, _, err := st.Open(ctx, "tenA/nope.mp4"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open missing: %v", err)
	}
}
