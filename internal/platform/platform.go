// Package platform assembles `witness serve`: store, bus, blob storage,
// console engine, REST API, job workers and mounted servers, by role.
//
// Other areas plug in through RegisterMount: a mount is built once the
// platform's parts exist and is served under its path prefix on the same
// listener (same metrics and response-time alerting), with its Run and
// Close tied to the platform's lifetime. The signaling/SFU server
// (signaling.Server: an http.Handler with Run(ctx)/Close()) is meant to be
// registered this way under the "signaling" role.
package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/witness-media/witness/console"
	"github.com/witness-media/witness/internal/api"
	"github.com/witness-media/witness/internal/auth"
	"github.com/witness-media/witness/internal/blob"
	"github.com/witness-media/witness/internal/bus"
	"github.com/witness-media/witness/internal/config"
	"github.com/witness-media/witness/internal/jobs"
	"github.com/witness-media/witness/internal/secure"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/qc"
)

// Roles a process can take.
const (
	RoleControl   = "control"   // REST API, queues, agents, record writing
	RoleMedia     = "media"     // job workers: finalise, upload, QC
	RoleSignaling = "signaling" // mounted signaling/SFU servers
)

// Mount is a server another area serves inside `witness serve`.
type Mount struct {
	Name   string
	Prefix string // path prefix, e.g. "/rtc/"
	Role   string // the role that runs it (RoleSignaling for the SFU)
	// Build makes the handler once the platform's parts exist. run (may
	// be nil) runs until ctx ends; closeFn (may be nil) releases it.
	Build func(ctx context.Context, p *Platform) (h http.Handler, run func(ctx context.Context) error, closeFn func(), err error)
}

var (
	mountsMu sync.Mutex
	mounts   []Mount
)

// RegisterMount adds a mount (call from init).
func RegisterMount(m Mount) {
	mountsMu.Lock()
	defer mountsMu.Unlock()
	mounts = append(mounts, m)
}

// Platform is a running `witness serve`.
type Platform struct {
	Cfg    config.Config
	Log    *slog.Logger
	Roles  []string
	DB     *store.DB
	Bus    *bus.Bus
	Blob   blob.Store
	Queue  *jobs.Queue
	Engine *console.Engine // nil without the control role
	API    *api.Server     // nil without the control role
	Reg    *prometheus.Registry

	// FirstAdmin is set when this start created the first administrator.
	FirstAdmin, FirstAdminFile, firstPassword string

	ln      net.Listener
	srv     *http.Server
	runs    []func(ctx context.Context) error
	closers []func()
}

// Has reports whether the process has role r.
func (p *Platform) Has(r string) bool {
	return slices.Contains(p.Roles, "all") || slices.Contains(p.Roles, r)
}

// FirstAdminPassword is the generated password of a first administrator
// created by this start ("" otherwise).
func (p *Platform) FirstAdminPassword() string { return p.firstPassword }

// URL is the HTTP base URL.
func (p *Platform) URL() string { return "http://" + p.ln.Addr().String() }

// Start builds everything and starts listening. Call Run to serve.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (p *Platform, err error) {
	p = &Platform{Cfg: cfg, Log: log, Reg: prometheus.NewRegistry()}
	for _, r := range strings.Split(cfg.Control.Roles, ",") {
		p.Roles = append(p.Roles, strings.TrimSpace(r))
	}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("serve: data dir: %w", err)
	}
	dsn := cfg.Control.Database
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(cfg.DataDir, "witness.db")
	}
	if p.DB, err = store.Open(ctx, dsn); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { p.DB.Close() })

	if cfg.Control.NATSURL == "" && !p.Has(RoleControl) {
		return nil, errors.New("serve: without the control role, control.nats_url must point at the control plane's NATS")
	}
	if p.Bus, err = bus.Start(ctx, bus.Options{URL: cfg.Control.NATSURL, DataDir: cfg.DataDir, Listen: cfg.Control.NATSListen, Name: "witness-" + cfg.Control.Roles, Log: log}); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.Bus.Close)
	jcfg := jobs.Config{AckWait: cfg.Control.JobAckWait, MaxDeliver: cfg.Control.JobMaxDeliver}
	if err := jobs.Setup(ctx, p.Bus.JS, jcfg); err != nil {
		return nil, err
	}
	p.Queue = &jobs.Queue{JS: p.Bus.JS, NewID: func() string { return newID("J") }}

	if s3 := cfg.Control.S3; s3.Endpoint != "" {
		st, err := blob.NewS3(blob.S3Options{Endpoint: s3.Endpoint, Bucket: s3.Bucket, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, UseSSL: s3.UseSSL, Region: s3.Region})
		if err != nil {
			return nil, err
		}
		if err := st.EnsureBucket(ctx); err != nil {
			// Not fatal: uploads keep their spool and retry until the store
			// is back.
			log.Error("object store not reachable at start; uploads will retry", "store", st.String(), "err", err)
		}
		p.Blob = st
	} else {
		p.Blob = blob.Local{Root: filepath.Join(cfg.DataDir, "recordings")}
	}

	mux := http.NewServeMux()
	if p.Has(RoleControl) {
		if err := p.startControl(ctx); err != nil {
			return nil, err
		}
	} else {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
		mux.Handle("GET /metrics", promHTTP(p.Reg))
	}
	if p.Has(RoleMedia) {
		p.startMedia()
	}
	mountsMu.Lock()
	ms := slices.Clone(mounts)
	mountsMu.Unlock()
	for _, m := range ms {
		if !p.Has(m.Role) {
			continue
		}
		h, run, closeFn, err := m.Build(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("serve: mount %s: %w", m.Name, err)
		}
		if p.API != nil {
			p.API.Mount(m.Prefix, h)
		} else {
			mux.Handle(m.Prefix, h)
		}
		if run != nil {
			p.runs = append(p.runs, run)
		}
		if closeFn != nil {
			p.closers = append(p.closers, closeFn)
		}
		log.Info("mounted", "name", m.Name, "prefix", m.Prefix)
	}
	var handler http.Handler = mux
	if p.API != nil {
		handler = p.API.Handler()
	}
	if p.ln, err = net.Listen("tcp", cfg.Control.Listen); err != nil {
		return nil, fmt.Errorf("serve: listen %s: %w", cfg.Control.Listen, err)
	}
	p.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return p, nil
}

func (p *Platform) startControl(ctx context.Context) error {
	cipher, err := p.fieldCipher()
	if err != nil {
		return err
	}
	var rw *api.RecordWriter
	p.Engine = console.New(console.Options{Handler: func(ev console.Event) { rw.Handle(ev) }, NewID: newID})
	p.API = api.New(api.Options{DB: p.DB, Engine: p.Engine, Cipher: cipher, Jobs: p.Queue, Blobs: p.Blob, Log: p.Log, SessionTTL: p.Cfg.Control.SessionTTL,
		Registry: p.Reg, Ready: p.Bus.Ready})
	rw = p.API.NewRecordWriter(10000)
	// Console events go on the bus too, so processes of other roles (a
	// signaling server in its own process) follow the call flow:
	// witness.console.<tenant>.<kind>, e.g. witness.console.bank1.ticket.ringing.
	rw.OnEvent = func(ev console.Event) {
		b, err := json.Marshal(ev)
		if err != nil {
			return
		}
		// Publish only buffers; a slow or absent bus never blocks the engine.
		_ = p.Bus.NC.Publish(EventSubject(ev), b)
	}
	if err := p.API.LoadTenants(ctx); err != nil {
		return err
	}
	// Live queues are held in memory by this one control-plane process;
	// what the previous run left open did not survive it.
	if n, err := p.DB.MarkInterrupted(ctx); err != nil {
		return err
	} else if n > 0 {
		p.Log.Warn("service records left open by the previous run marked interrupted", "count", n)
	}
	if err := p.bootstrap(ctx); err != nil {
		return err
	}
	p.runs = append(p.runs, rw.Run, func(ctx context.Context) error { return p.Engine.Run(ctx, 200*time.Millisecond) })
	return nil
}

func (p *Platform) startMedia() {
	name, _ := os.Hostname()
	up := &blob.Uploader{Store: p.Blob}
	w := &jobs.Worker{JS: p.Bus.JS, DB: p.DB, Name: fmt.Sprintf("%s-%d", name, os.Getpid()), Log: p.Log,
		Config: jobs.Config{AckWait: p.Cfg.Control.JobAckWait, MaxDeliver: p.Cfg.Control.JobMaxDeliver},
		Handlers: map[string]jobs.Handler{
			jobs.KindFinalize: jobs.FinalizeHandler(p.Queue),
			jobs.KindUpload:   jobs.UploadHandler(p.DB, up),
			jobs.KindQC:       jobs.QCHandler(p.DB, qc.DefaultPolicy(), nil),
		}}
	p.runs = append(p.runs, w.Run)
}

// fieldCipher loads the field key, creating it (0600) on first start.
func (p *Platform) fieldCipher() (*secure.FieldCipher, error) {
	path := p.Cfg.Control.KeyFile
	if path == "" {
		path = filepath.Join(p.Cfg.DataDir, "field.key")
	}
	alg := p.Cfg.Control.FieldCipher
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, secure.KeySize(alg))
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("serve: create field key: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		p.Log.Warn("created a new field encryption key; back it up", "file", path)
		return secure.NewFieldCipher(alg, key)
	}
	if err != nil {
		return nil, fmt.Errorf("serve: field key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("serve: field key %s: not hex: %w", path, err)
	}
	return secure.NewFieldCipher(alg, key)
}

// bootstrap creates the province tenant and the first administrator when
// the database has no users. The password is printed and written once to
// <data_dir>/first-admin.txt (0600).
func (p *Platform) bootstrap(ctx context.Context) error {
	sys := store.System()
	users, err := p.DB.Users(ctx, sys, "", "")
	if err != nil || len(users) > 0 {
		return err
	}
	ts, err := p.DB.Tenants(ctx, sys)
	if err != nil {
		return err
	}
	root := ""
	for _, t := range ts {
		if t.Level == store.LevelProvince {
			root = t.ID
		}
	}
	if root == "" {
		root = "province"
		t := store.Tenant{ID: root, Name: "Province", Level: store.LevelProvince, Whitelisted: true}
		if err := p.DB.CreateTenant(ctx, sys, t); err != nil {
			return err
		}
		if err := p.Engine.SetTenant(t.ID, true, t.Settings); err != nil {
			return err
		}
	}
	pw := auth.RandomPassword()
	h, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	file := filepath.Join(p.Cfg.DataDir, "first-admin.txt")
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("serve: first admin file: %w (remove it only after the admin has signed in)", err)
	}
	fmt.Fprintf(f, "username: admin\npassword: %s\n", pw)
	if err := f.Close(); err != nil {
		return err
	}
	if err := p.DB.CreateUser(ctx, sys, store.User{ID: "admin", TenantID: root, Username: "admin", DisplayName: "First administrator",
		Role: auth.RoleProvinceAdmin, PasswordHash: h, MustChange: true}); err != nil {
		return err
	}
	if _, err := p.DB.AppendAudit(ctx, store.AuditEntry{TenantID: root, Actor: "system", Action: "user.bootstrap", Target: "admin", Result: "ok"}); err != nil {
		return err
	}
	p.FirstAdmin, p.FirstAdminFile, p.firstPassword = "admin", file, pw
	return nil
}

// Run serves until ctx ends, then shuts down in order: HTTP, runners,
// closers.
func (p *Platform) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(p.runs)+1)
	var wg sync.WaitGroup
	for _, run := range p.runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(rctx); err != nil {
				errc <- err
			}
		}()
	}
	go func() {
		if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	_ = p.srv.Shutdown(sctx)
	cancel()
	wg.Wait()
	p.Close()
	return err
}

// Close releases everything (idempotent enough: closers run once).
func (p *Platform) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// EventSubject is the NATS subject a console event is published on.
func EventSubject(ev console.Event) string {
	t := strings.NewReplacer(".", "_", "*", "_", ">", "_", " ", "_").Replace(ev.TenantID)
	return "witness.console." + t + "." + string(ev.Kind)
}

var idSeq atomic.Int64

// newID makes serial numbers unique across processes and restarts:
// PREFIX + UTC timestamp + a process-random part + a counter.
var idSalt = func() string { b := make([]byte, 2); rand.Read(b); return hex.EncodeToString(b) }()

func newID(prefix string) string {
	return fmt.Sprintf("%s%s-%s%d", prefix, time.Now().UTC().Format("20060102150405"), idSalt, idSeq.Add(1))
}
