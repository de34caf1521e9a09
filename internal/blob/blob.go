// Package blob stores recordings: on local disk for a single machine, or
// in S3-compatible object storage (MinIO, Ceph RGW, cloud S3) via minio-go.
//
// Recordings are evidence. Upload verifies what the store holds (size and
// SHA-256) before reporting success, retries transient failures, and never
// deletes the local spooled file unless the copy verified; a dead object
// store gives ErrUnavailable and the file stays where it was.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrUnavailable = errors.New("object store unavailable")
	ErrChecksum    = errors.New("stored object does not match the file")
	ErrNotFound    = errors.New("object not found")
	ErrKey         = errors.New("bad object key")
)

// Info describes a stored object.
type Info struct {
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Store is a place recordings are kept.
type Store interface {
	// Put stores the file at path under key, recording its SHA-256.
	Put(ctx context.Context, key, path string, sum string) error
	// Stat returns what is stored under key (SHA-256 as recorded at Put).
	Stat(ctx context.Context, key string) (Info, error)
	// Get writes the object to w.
	Get(ctx context.Context, key string, w io.Writer) error
	// Open opens the object for reading at any offset (HTTP Range
	// requests: a player seeks without the whole object being read or
	// held in memory). Info carries the size and the SHA-256 recorded at
	// Put, not a fresh hash. The caller closes the reader.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error)
	// String names the store for messages.
	String() string
}

// CheckKey refuses keys that could escape a directory or confuse S3.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") || strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("%w: %q", ErrKey, key)
	}
	return nil
}

// FileSHA256 hashes a file.
func FileSHA256(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// Uploader copies spooled recordings into a Store with retries and
// verification.
type Uploader struct {
	Store    Store
	Attempts int           // tries per upload (default 4)
	Backoff  time.Duration // first retry delay, doubled each time (default 500ms)
	// RemoveSpooled deletes the local file after a verified upload.
	RemoveSpooled bool
}

// Upload stores the file at path under key and verifies the stored copy.
// On failure the local file is untouched and the error names the store,
// the key and the last cause.
func (u *Uploader) Upload(ctx context.Context, key, path string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	sum, size, err := FileSHA256(path)
	if err != nil {
		return Info{}, fmt.Errorf("blob: read spooled %s: %w", path, err)
	}
	attempts, backoff := u.Attempts, u.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return Info{}, fmt.Errorf("blob: upload %s to %s: %w (last error: %v)", key, u.Store, ctx.Err(), last)
			case <-time.After(backoff << (i - 1)):
			}
		}
		if last = u.Store.Put(ctx, key, path, sum); last != nil {
			continue
		}
		info, err := u.Store.Stat(ctx, key)
		if err != nil {
			last = err
			continue
		}
		if info.Size != size || info.SHA256 != sum {
			last = fmt.Errorf("%w: %s holds %d bytes sha256 %s, file has %d bytes sha256 %s", ErrChecksum, key, info.Size, info.SHA256, size, sum)
			continue
		}
		if u.RemoveSpooled {
			if err := os.Remove(path); err != nil {
				return info, fmt.Errorf("blob: uploaded %s but could not remove spooled %s: %w", key, path, err)
			}
		}
		return info, nil
	}
	if errors.Is(last, ErrChecksum) || errors.Is(last, ErrKey) {
		return Info{}, fmt.Errorf("blob: upload %s to %s after %d attempts: %w (spooled file kept: %s)", key, u.Store, attempts, last, path)
	}
	return Info{}, fmt.Errorf("blob: upload %s to %s after %d attempts: %w: %v (spooled file kept: %s)", key, u.Store, attempts, ErrUnavailable, last, path)
}

// Local keeps objects as files under Root.
type Local struct{ Root string }

func (l Local) String() string { return "local disk " + l.Root }

func (l Local) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.Root, filepath.FromSlash(key)), nil
}

// Put copies the file in (temp file, fsync, rename) and writes the
// SHA-256 beside it.
func (l Local) Put(ctx context.Context, key, path, sum string) error {
	dst, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(dst+".sha256", []byte(sum+"\n"), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// Stat re-hashes the stored file, so a damaged copy is caught.
func (l Local) Stat(_ context.Context, key string) (Info, error) {
	p, err := l.path(key)
	if err != nil {
		return Info{}, err
	}
	sum, size, err := FileSHA256(p)
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return Info{}, err
	}
	return Info{Key: key, Size: size, SHA256: sum}, nil
}

// Get copies the stored file to w.
func (l Local) Get(_ context.Context, key string, w io.Writer) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Open opens the stored file; the SHA-256 is the one recorded at Put.
func (l Local) Open(_ context.Context, key string) (io.ReadSeekCloser, Info, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, Info{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	sum, _ := os.ReadFile(p + ".sha256")
	return f, Info{Key: key, Size: st.Size(), SHA256: strings.TrimSpace(string(sum))}, nil
}
