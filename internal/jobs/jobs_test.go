package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/blob"
	"github.com/witness-media/witness/internal/bus"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/internal/tenant"
	"github.com/witness-media/witness/qc"
)

// The test binary doubles as a worker process: re-executed with
// WITNESS_JOBS_CHILD set, it runs a QC worker against the parent's NATS
// server and database. With WITNESS_JOBS_STALL set it stops inside the
// decode (at the first progress report) and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("WITNESS_JOBS_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

var testConfig = Config{AckWait: 2 * time.Second, MaxDeliver: 3, Backoff: 100 * time.Millisecond}

func child() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := bus.Start(ctx, bus.Options{URL: os.Getenv("WITNESS_JOBS_NATS"), Name: "child"})
	if err != nil {
		log.Error("child bus", "err", err)
		return 1
	}
	defer b.Close()
	db, err := store.Open(ctx, os.Getenv("WITNESS_JOBS_DB"))
	if err != nil {
		log.Error("child db", "err", err)
		return 1
	}
	defer db.Close()
	var progress func(done, total time.Duration)
	if marker := os.Getenv("WITNESS_JOBS_STALL"); marker != "" {
		progress = func(done, total time.Duration) {
			if done > 0 && done < total {
				os.WriteFile(marker, []byte(fmt.Sprint(done)), 0o600)
				select {} // mid-decode; the parent kills this process
			}
		}
	}
	w := &Worker{JS: b.JS, DB: db, Name: os.Getenv("WITNESS_JOBS_NAME"), Config: testConfig, Log: log,
		Handlers: map[string]Handler{KindQC: QCHandler(db, qc.DefaultPolicy(), progress)}}
	go func() {
		// Exit when the parent closes stdin.
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		cancel()
	}()
	if err := w.Run(ctx); err != nil {
		log.Error("child worker", "err", err)
		return 1
	}
	return 0
}

type rig struct {
	bus *bus.Bus
	db  *store.DB
	dsn string
	q   *Queue
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b, err := bus.Start(ctx, bus.Options{DataDir: dir, Listen: "127.0.0.1:0", Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := Setup(ctx, b.JS, testConfig); err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(dir, "w.db")
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateTenant(ctx, store.System(), store.Tenant{ID: "tenA", Name: "A", Level: store.LevelProvince, Whitelisted: true, Settings: tenant.Settings{}}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutRecord(ctx, store.System(), store.Record{ID: "rec1", TenantID: "tenA", Status: "ended"}); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	return &rig{bus: b, db: db, dsn: dsn, q: &Queue{JS: b.JS, NewID: func() string { return fmt.Sprintf("job-%d-%d", time.Now().UnixNano(), n.Add(1)) }}}
}

// media makes a small real recording with the ffmpeg CLI.
func media(t *testing.T, seconds int) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	p := filepath.Join(t.TempDir(), "call.mp4")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=320x240:rate=15:duration=%d", seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	return p
}

func (r *rig) worker(t *testing.T, name, stallMarker string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WITNESS_JOBS_CHILD=1", "WITNESS_JOBS_NATS="+r.bus.URL(), "WITNESS_JOBS_DB="+r.dsn, "WITNESS_JOBS_NAME="+name)
	if stallMarker != "" {
		cmd.Env = append(cmd.Env, "WITNESS_JOBS_STALL="+stallMarker)
	}
	stdin, _ := cmd.StdinPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkerKilledMidQC kills a real worker process in the middle of a QC
// decode; the job is redelivered to a second worker process and exactly
// one report is stored.
func TestWorkerKilledMidQC(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	path := media(t, 4)
	id, err := r.q.SubmitQC(ctx, "tenA", "rec1", path)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "started")
	w1 := r.worker(t, "w1", marker)
	waitFor(t, "worker 1 to be mid-QC", 60*time.Second, func() bool { _, err := os.Stat(marker); return err == nil })
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w1.Wait()
	if _, err := r.db.JobResultByID(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a result exists although the worker was killed: %v", err)
	}
	r.worker(t, "w2", "")
	var res store.JobResult
	waitFor(t, "the redelivered job's result", 90*time.Second, func() bool {
		res, err = r.db.JobResultByID(ctx, id)
		return err == nil
	})
	if res.Worker != "w2" || res.Attempts < 2 || res.Status != "done" {
		t.Fatalf("result %+v", res)
	}
	var qr QCResult
	if err := json.Unmarshal(res.Result, &qr); err != nil || qr.Verdict == "" || len(qr.SHA256) != 64 {
		t.Fatalf("QC result %s: %v", res.Result, err)
	}
	all, _ := r.db.JobResults(ctx, store.System(), "rec1")
	if len(all) != 1 {
		t.Fatalf("%d results for the record, want exactly 1", len(all))
	}
	rec, _ := r.db.Record(ctx, store.System(), "rec1")
	if rec.QCVerdict != qr.Verdict {
		t.Fatalf("record verdict %q, report %q", rec.QCVerdict, qr.Verdict)
	}
	// The work queue is empty: the job was acked, not left behind.
	waitFor(t, "the stream to drain", 20*time.Second, func() bool {
		st, err := r.bus.JS.Stream(ctx, StreamJobs)
		if err != nil {
			return false
		}
		info, err := st.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	t.Logf("job %s: redelivered to %s on attempt %d, verdict %s", id, res.Worker, res.Attempts, qr.Verdict)
}

// TestRetryAndDeadLetter: a handler failing transiently succeeds on retry;
// one failing every time is dead-lettered after MaxDeliver attempts; bad
// input is dead-lettered at once.
func TestRetryAndDeadLetter(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	w := &Worker{JS: r.bus.JS, DB: r.db, Name: "w", Config: testConfig, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Handlers: map[string]Handler{
			KindUpload: func(ctx context.Context, j Job) (json.RawMessage, error) {
				n := calls.Add(1)
				if j.Path == "flaky" && n < 2 {
					return nil, errors.New("store briefly down")
				}
				if j.Path == "always" {
					return nil, errors.New("store down")
				}
				return json.RawMessage(`{"ok":true}`), nil
			},
			KindQC: QCHandler(r.db, qc.DefaultPolicy(), nil),
		}}
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	flaky, _ := r.q.Submit(ctx, Job{Kind: KindUpload, TenantID: "tenA", RecordID: "rec1", Path: "flaky"})
	waitFor(t, "flaky job", 30*time.Second, func() bool { _, err := r.db.JobResultByID(ctx, flaky); return err == nil })
	if res, _ := r.db.JobResultByID(ctx, flaky); res.Status != "done" || res.Attempts != 2 {
		t.Fatalf("flaky: %+v", res)
	}
	always, _ := r.q.Submit(ctx, Job{Kind: KindUpload, TenantID: "tenA", RecordID: "rec1", Path: "always"})
	waitFor(t, "dead letter", 30*time.Second, func() bool { _, err := r.db.JobResultByID(ctx, always); return err == nil })
	res, _ := r.db.JobResultByID(ctx, always)
	if res.Status != "dead" || res.Attempts != testConfig.MaxDeliver || !strings.Contains(string(res.Result), "store down") {
		t.Fatalf("dead: %+v %s", res, res.Result)
	}
	missing, _ := r.q.SubmitQC(ctx, "tenA", "rec1", "/nonexistent/rec.mp4")
	waitFor(t, "permanent failure", 30*time.Second, func() bool { _, err := r.db.JobResultByID(ctx, missing); return err == nil })
	if res, _ := r.db.JobResultByID(ctx, missing); res.Status != "dead" || res.Attempts != 1 {
		t.Fatalf("unreadable file should be dead at once: %+v", res)
	}
	dlq, err := r.bus.JS.Stream(ctx, StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := dlq.Info(ctx)
	if info.State.Msgs != 2 {
		t.Fatalf("%d dead letters, want 2", info.State.Msgs)
	}
	cancel()
	<-done
	// Submitting the same job id twice queues it once.
	dup := Job{ID: "dup-1", Kind: KindUpload, TenantID: "tenA", Path: "x"}
	bg := context.Background()
	r.q.Submit(bg, dup)
	r.q.Submit(bg, dup)
	st, _ := r.bus.JS.Stream(bg, StreamJobs)
	if info, _ := st.Info(bg); info.State.Msgs != 1 {
		t.Fatalf("%d queued after submitting one job twice", info.State.Msgs)
	}
}

func TestFinalizeChainsUploadAndQC(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := media(t, 2)
	part := filepath.Join(t.TempDir(), "rec1.mp4.part")
	b, _ := os.ReadFile(src)
	os.WriteFile(part, b, 0o600)
	root := t.TempDir()
	w := &Worker{JS: r.bus.JS, DB: r.db, Name: "w", Config: testConfig, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Handlers: map[string]Handler{
			KindFinalize: FinalizeHandler(r.q),
			KindUpload:   UploadHandler(r.db, &blob.Uploader{Store: blob.Local{Root: root}}),
			KindQC:       QCHandler(r.db, qc.DefaultPolicy(), nil),
		}}
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	id, _ := r.q.Submit(ctx, Job{ID: "fin-1", Kind: KindFinalize, TenantID: "tenA", RecordID: "rec1", Path: part, Key: "tenA/rec1.mp4"})
	waitFor(t, "upload and qc", 60*time.Second, func() bool {
		rs, _ := r.db.JobResults(ctx, store.System(), "rec1")
		return len(rs) == 3
	})
	rec, _ := r.db.Record(ctx, store.System(), "rec1")
	if len(rec.Recordings) != 1 || rec.Recordings[0].Key != "tenA/rec1.mp4" || rec.QCVerdict == "" {
		t.Fatalf("record after finalize: %+v", rec)
	}
	if _, err := os.Stat(filepath.Join(root, "tenA/rec1.mp4")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Fatal(".part left behind")
	}
	_ = id
	cancel()
	<-done
}
