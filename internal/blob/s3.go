package blob

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configure an S3-compatible store.
type S3Options struct {
	Endpoint  string // host:port
	Bucket    string
	AccessKey string
	SecretKey string
	UseSSL    bool
	Region    string
	// Timeout bounds one request (default 60s) so a hung store fails
	// instead of holding a job forever.
	Timeout time.Duration
}

// S3 keeps objects in a bucket. The SHA-256 recorded at Put is stored as
// object metadata and the upload carries Content-MD5, so the server itself
// refuses a body damaged in transit.
type S3 struct {
	c      *minio.Client
	bucket string
	name   string
}

// NewS3 connects (lazily: nothing is sent until the first call).
func NewS3(o S3Options) (*S3, error) {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:    o.UseSSL,
		Region:    o.Region,
		Transport: &http.Transport{ResponseHeaderTimeout: o.Timeout, Proxy: nil},
		// The Uploader retries with its own backoff; minio-go's internal
		// retries would multiply the wait on a dead store.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3 %s: %w", o.Endpoint, err)
	}
	return &S3{c: c, bucket: o.Bucket, name: fmt.Sprintf("s3://%s/%s", o.Endpoint, o.Bucket)}, nil
}

func (s *S3) String() string { return s.name }

// EnsureBucket creates the bucket if it does not exist.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: %s: %w: %v", s.name, ErrUnavailable, err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("blob: make bucket %s: %w", s.name, err)
	}
	return nil
}

const shaMeta = "Witness-Sha256"

// Put uploads the file with its SHA-256 as metadata.
func (s *S3) Put(ctx context.Context, key, path, sum string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	_, err := s.c.FPutObject(ctx, s.bucket, key, path, minio.PutObjectOptions{
		ContentType:    "application/octet-stream",
		UserMetadata:   map[string]string{shaMeta: sum},
		SendContentMd5: true,
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Stat returns the stored size and recorded SHA-256.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	st, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return Info{}, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return Info{Key: key, Size: st.Size, SHA256: st.UserMetadata[shaMeta]}, nil
}

// Get streams the object to w.
func (s *S3) Get(ctx context.Context, key string, w io.Writer) error {
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	defer o.Close()
	if _, err := io.Copy(w, o); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return fmt.Errorf("get %s: %w", key, err)
	}
	return nil
}

// Open stats the object, then returns minio-go's lazy reader: each read
// after a seek is a ranged GET, so nothing is buffered whole.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, fmt.Errorf("get %s: %w", key, err)
	}
	return o, info, nil
}
