// Package jobs runs the control plane's background work — recording
// finalisation, upload and QC — as JetStream work-queue jobs.
//
// A job is a message on jobs.<kind> in a work-queue stream; each kind has
// one durable pull consumer shared by all workers, so a job goes to one
// worker at a time. The worker heartbeats (InProgress) while it works and
// acks only after the result is stored. A worker that dies mid-job never
// acks, so JetStream redelivers the job after AckWait to another worker.
// Results are written once per job id (store.PutJobResult ignores a second
// write), so a job that ran twice still has exactly one result. Failures
// are retried with backoff up to MaxDeliver attempts, then the job is
// dead-lettered: its last error is stored as a "dead" result and the
// message is copied to dlq.<kind>.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/witness-media/witness/internal/store"
)

// Stream and subject names.
const (
	StreamJobs = "WITNESS_JOBS"
	StreamDLQ  = "WITNESS_DLQ"
)

// Job kinds.
const (
	KindFinalize = "finalize"
	KindUpload   = "upload"
	KindQC       = "qc"
)

// Kinds lists every job kind.
var Kinds = []string{KindFinalize, KindUpload, KindQC}

// ErrPermanent marks a failure retrying cannot fix (bad input): the job is
// dead-lettered at once.
var ErrPermanent = errors.New("permanent job failure")

// Job is one unit of work.
type Job struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	TenantID string `json:"tenant_id"`
	RecordID string `json:"record_id"`
	Path     string `json:"path"`          // the file the job is about
	Key      string `json:"key,omitempty"` // blob key (upload)
	// SHA256, when set, is the file's checksum when it was finalised (the
	// recorder's): finalise and upload refuse a file that no longer has it.
	SHA256 string `json:"sha256,omitempty"`
}

// Config tunes delivery.
type Config struct {
	AckWait    time.Duration // redelivery after a silent worker (default 30s)
	MaxDeliver int           // attempts before dead-lettering (default 5)
	Backoff    time.Duration // delay before a retry after an error, doubled each time (default 2s)
}

func (c *Config) defaults() {
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 2 * time.Second
	}
}

// Setup creates or updates the streams and consumers.
func Setup(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	cfg.defaults()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: StreamJobs, Subjects: []string{"jobs.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute}); err != nil {
		return fmt.Errorf("jobs: stream %s: %w", StreamJobs, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: StreamDLQ, Subjects: []string{"dlq.>"},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, MaxAge: 30 * 24 * time.Hour}); err != nil {
		return fmt.Errorf("jobs: stream %s: %w", StreamDLQ, err)
	}
	for _, k := range Kinds {
		if _, err := js.CreateOrUpdateConsumer(ctx, StreamJobs, jetstream.ConsumerConfig{Durable: "workers-" + k, FilterSubject: "jobs." + k,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver, MaxAckPending: 1000}); err != nil {
			return fmt.Errorf("jobs: consumer %s: %w", k, err)
		}
	}
	return nil
}

// Queue submits jobs.
type Queue struct {
	JS    jetstream.JetStream
	NewID func() string
}

// Submit publishes a job. The job id is the message id, so submitting the
// same job twice within the dedupe window queues it once.
func (q *Queue) Submit(ctx context.Context, j Job) (string, error) {
	if j.ID == "" {
		j.ID = q.NewID()
	}
	b, _ := json.Marshal(j)
	msg := &nats.Msg{Subject: "jobs." + j.Kind, Data: b, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, j.ID)
	if _, err := q.JS.PublishMsg(ctx, msg); err != nil {
		return "", fmt.Errorf("jobs: submit %s %s: %w", j.Kind, j.ID, err)
	}
	return j.ID, nil
}

// SubmitQC queues a QC job for a record's recording (api.JobSubmitter).
func (q *Queue) SubmitQC(ctx context.Context, tenantID, recordID, path string) (string, error) {
	return q.Submit(ctx, Job{Kind: KindQC, TenantID: tenantID, RecordID: recordID, Path: path})
}

// Handler does one job and returns its result.
type Handler func(ctx context.Context, j Job) (json.RawMessage, error)

// Worker consumes jobs of the kinds it has handlers for.
type Worker struct {
	JS       jetstream.JetStream
	DB       *store.DB
	Name     string
	Handlers map[string]Handler
	Config   Config
	Log      *slog.Logger
}

// Run consumes until ctx ends. Each kind is fetched one job at a time, so
// a worker process holds at most one job per kind.
func (w *Worker) Run(ctx context.Context) error {
	w.Config.defaults()
	if w.Log == nil {
		w.Log = slog.Default()
	}
	errc := make(chan error, len(w.Handlers))
	n := 0
	for kind, h := range w.Handlers {
		cons, err := w.JS.Consumer(ctx, StreamJobs, "workers-"+kind)
		if err != nil {
			return fmt.Errorf("jobs: consumer %s: %w", kind, err)
		}
		n++
		go func() { errc <- w.loop(ctx, kind, cons, h) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (w *Worker) loop(ctx context.Context, kind string, cons jetstream.Consumer, h Handler) error {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.Log.Warn("job fetch", "kind", kind, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for msg := range batch.Messages() {
			w.handle(ctx, kind, msg, h)
		}
	}
	return nil
}

func (w *Worker) handle(ctx context.Context, kind string, msg jetstream.Msg, h Handler) {
	var j Job
	if err := json.Unmarshal(msg.Data(), &j); err != nil || j.ID == "" {
		w.Log.Error("undecodable job dead-lettered", "kind", kind, "err", err)
		w.deadLetter(ctx, kind, msg, Job{ID: "undecodable", Kind: kind}, 0, fmt.Errorf("%w: undecodable job: %v", ErrPermanent, err))
		return
	}
	meta, _ := msg.Metadata()
	attempt := 1
	if meta != nil {
		attempt = int(meta.NumDelivered)
	}
	// A redelivered job whose result is already stored (the worker died
	// between storing and acking) is simply acked.
	if _, err := w.DB.JobResultByID(ctx, j.ID); err == nil {
		_ = msg.Ack()
		return
	}
	log := w.Log.With("job", j.ID, "kind", kind, "attempt", attempt, "worker", w.Name)
	log.Info("job started")
	jctx, cancel := context.WithCancel(ctx)
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		t := time.NewTicker(w.Config.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	res, err := h(jctx, j)
	cancel()
	<-beat
	if ctx.Err() != nil {
		// Shutting down: leave the job for redelivery.
		_ = msg.Nak()
		return
	}
	if err != nil {
		if errors.Is(err, ErrPermanent) || attempt >= w.Config.MaxDeliver {
			log.Error("job dead-lettered", "err", err)
			w.deadLetter(ctx, kind, msg, j, attempt, err)
			return
		}
		delay := w.Config.Backoff << (attempt - 1)
		log.Warn("job failed, will retry", "err", err, "in", delay)
		_ = msg.NakWithDelay(delay)
		return
	}
	stored, serr := w.DB.PutJobResult(ctx, store.JobResult{JobID: j.ID, Kind: kind, TenantID: j.TenantID, Subject: j.RecordID,
		Status: "done", Result: res, Worker: w.Name, Attempts: attempt})
	if serr != nil {
		log.Error("job result not stored; job will be redelivered", "err", serr)
		_ = msg.NakWithDelay(w.Config.Backoff)
		return
	}
	if err := msg.DoubleAck(ctx); err != nil {
		log.Warn("job ack", "err", err)
	}
	log.Info("job done", "stored", stored)
}

func (w *Worker) deadLetter(ctx context.Context, kind string, msg jetstream.Msg, j Job, attempt int, cause error) {
	body, _ := json.Marshal(map[string]any{"job": j, "error": cause.Error(), "attempts": attempt, "worker": w.Name})
	if _, err := w.JS.Publish(ctx, "dlq."+kind, body); err != nil {
		w.Log.Error("dead-letter publish failed; job left for redelivery", "job", j.ID, "err", err)
		_ = msg.NakWithDelay(w.Config.Backoff)
		return
	}
	if j.ID != "undecodable" {
		if _, err := w.DB.PutJobResult(ctx, store.JobResult{JobID: j.ID, Kind: kind, TenantID: j.TenantID, Subject: j.RecordID,
			Status: "dead", Result: body, Worker: w.Name, Attempts: attempt}); err != nil {
			w.Log.Error("dead job result not stored", "job", j.ID, "err", err)
		}
	}
	_ = msg.Term()
}
