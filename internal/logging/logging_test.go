package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// leaks are values that must never reach the output.
var leaks = []string{"hunter2", "s3cr3t", "tok-123", "AKIAEXAMPLE", "pgpass", "sigvalue", "cookieval", "grp-pass"}

func logEverything(l *slog.Logger) {
	l.Info("connect",
		"password", "hunter2",
		"DB_Password", "hunter2",
		"client_secret", "s3cr3t",
		"Authorization", "Bearer tok-123",
		"refresh_token", "tok-123",
		"apiKey", "tok-123",
		"api_key", "tok-123",
		"access_key", "AKIAEXAMPLE",
		"secretKey", "s3cr3t",
		"credentials", "AKIAEXAMPLE",
		"set_cookie", "cookieval",
		"dsn", "postgres://witness:pgpass@db:5432/witness?sslmode=disable",
		"url", "https://bucket.s3.amazonaws.com/rec.mp4?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=sigvalue&part=1",
		"err", errors.New("dial host=db user=witness password=pgpass: refused"),
		"pass", Secret("hunter2"),
		slog.Group("db_credentials", "user", "witness", "pass", "grp-pass"),
		// Not secret: these must pass through unchanged.
		"keyframe", true,
		"key_frames", 12,
		"room", "r-1",
		"monkey", "banana",
		"host", "db:5432",
	)
}

func TestMaskingText(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "info", "text")
	if err != nil {
		t.Fatal(err)
	}
	logEverything(l)
	out := buf.String()
	for _, s := range leaks {
		if strings.Contains(out, s) {
			t.Errorf("%q leaked:\n%s", s, out)
		}
	}
	for _, want := range []string{
		"password=***", "DB_Password=***", "client_secret=***", "Authorization=***",
		"refresh_token=***", "apiKey=***", "api_key=***", "access_key=***",
		"secretKey=***", "credentials=***", "set_cookie=***", "pass=***",
		"db_credentials.user=***", "db_credentials.pass=***",
		`dsn="postgres://***@db:5432/witness?sslmode=disable"`,
		"X-Amz-Credential=***&X-Amz-Signature=***&part=1",
		// An unquoted value runs to the next space: the ":" goes with it,
		// which errs towards hiding.
		`err="dial host=db user=witness password=*** refused"`,
		"keyframe=true", "key_frames=12", "room=r-1", "monkey=banana", "host=db:5432",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestMaskingJSON(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	logEverything(l)
	out := buf.String()
	for _, s := range leaks {
		if strings.Contains(out, s) {
			t.Errorf("%q leaked:\n%s", s, out)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	for k, want := range map[string]any{
		"msg":        "connect",
		"level":      "INFO",
		"password":   "***",
		"access_key": "***",
		"pass":       "***",
		"dsn":        "postgres://***@db:5432/witness?sslmode=disable",
		"keyframe":   true,
		"key_frames": float64(12),
		"room":       "r-1",
	} {
		if rec[k] != want {
			t.Errorf("%s = %#v, want %#v", k, rec[k], want)
		}
	}
	grp, _ := rec["db_credentials"].(map[string]any)
	if grp["user"] != "***" || grp["pass"] != "***" {
		t.Errorf("group members not masked: %#v", rec["db_credentials"])
	}
}

// Attributes added with With and groups opened with WithGroup go through the
// same masking.
func TestMaskingWithAndWithGroup(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "info", "text")
	if err != nil {
		t.Fatal(err)
	}
	l.With("token", "tok-123").WithGroup("secrets").Info("x", "value", "s3cr3t")
	out := buf.String()
	if strings.Contains(out, "tok-123") || strings.Contains(out, "s3cr3t") {
		t.Fatalf("leaked: %s", out)
	}
}

func TestMaskingMessage(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("cannot reach postgres://witness:pgpass@db/witness")
	if out := buf.String(); strings.Contains(out, "pgpass") || !strings.Contains(out, "postgres://***@db/witness") {
		t.Fatalf("got %s", out)
	}
}

func TestSensitiveKey(t *testing.T) {
	for key, want := range map[string]bool{
		"password": true, "PASSWORD": true, "db_passwd": true, "secret": true,
		"x-api-key": true, "apikey": true, "API_KEY": true, "authorization": true,
		"aws_credentials": true, "id_token": true, "access_key": true, "secret-key": true,
		"sse.key": true, "accessKey": true, "privateKey": true, "accesskey": true,
		"keyframe": false, "key_frames": false, "keyframes": false, "key": false,
		"Key": false, "monkey": false, "turkey": false, "room": false, "host": false,
		"user": false, "frame_key_interval": false,
	} {
		if got := SensitiveKey(key); got != want {
			t.Errorf("SensitiveKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://witness:pw@db:5432/witness?sslmode=disable": "postgres://***@db:5432/witness?sslmode=disable",
		"postgresql://user@db/witness":                          "postgresql://***@db/witness",
		"s3://AKIAEXAMPLE:s3cr3t@minio:9000/recordings":         "s3://***@minio:9000/recordings",
		"nats://u:p@ss@nats:4222":                               "nats://***@nats:4222",
		"https://example.com/a?b=c":                             "https://example.com/a?b=c",
		"https://example.com/a?token=t1&x=2#frag":               "https://example.com/a?token=***&x=2#frag",
		"mailto-ish https://example.com/?email=a@b.c":           "mailto-ish https://example.com/?email=a@b.c",
		"host=db port=5432 user=w password='p q' dbname=x":      "host=db port=5432 user=w password=*** dbname=x",
		"Server=db;User ID=w;Password=p;":                       "Server=db;User ID=w;Password=***;",
		"dial tcp mysql://root:toor@10.0.0.1:3306/x: refused":   "dial tcp mysql://***@10.0.0.1:3306/x: refused",
		"no credentials here":                                   "no credentials here",
	} {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestSecretInFmt(t *testing.T) {
	s := Secret("hunter2")
	for _, f := range []string{"%v", "%s", "%q", "%#v", "%+v"} {
		if out := fmt.Sprintf(f, s); strings.Contains(out, "hunter2") {
			t.Errorf("%s leaked: %s", f, out)
		}
	}
	if string(s) != "hunter2" {
		t.Fatal("conversion must keep the value")
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "verbose", "text"); !errors.Is(err, ErrLevel) {
		t.Errorf("level: got %v", err)
	}
	if _, err := New(&bytes.Buffer{}, "info", "xml"); !errors.Is(err, ErrFormat) {
		t.Errorf("format: got %v", err)
	}
	if err := CheckFormat("json"); err != nil {
		t.Error(err)
	}
}

func TestLevelFilters(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "warn", "text")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
		t.Fatalf("got %q", out)
	}
}
