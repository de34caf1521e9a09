package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/witness-media/witness/internal/platform"
	"github.com/witness-media/witness/internal/rtcmount"
)

func init() {
	register("serve", command{
		summary: "run the platform: REST API, queues, agents, tenants, audit, job workers (SQLite+embedded NATS+local disk by default)",
		run:     runServe,
	})
}

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("serve")
	cfgPath := fs.String("config", "", "config file (YAML)")
	listen := fs.String("listen", "", "HTTP address (default control.listen)")
	roles := fs.String("roles", "", "all, or a comma list of control, media, signaling (default control.roles)")
	dataDir := fs.String("data", "", "data directory (default data_dir)")
	database := fs.String("database", "", "sqlite:PATH or postgres://... (default control.database)")
	natsURL := fs.String("nats", "", "NATS cluster URL (default control.nats_url; empty runs one in-process)")
	natsListen := fs.String("nats-listen", "", "in-process NATS client address (default control.nats_listen)")
	testCall := fs.Bool("test-call", false, "print agent and customer page links (with 12h tokens) for a test room of the root tenant")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, log, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{{*listen, &cfg.Control.Listen}, {*roles, &cfg.Control.Roles}, {*dataDir, &cfg.DataDir}, {*database, &cfg.Control.Database},
		{*natsURL, &cfg.Control.NATSURL}, {*natsListen, &cfg.Control.NATSListen}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	// Flags are checked by the same rules as the file.
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	p, err := platform.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	u := p.URL()
	fmt.Fprintf(stdout, "witness serve: roles %s, data in %s\n", cfg.Control.Roles, cfg.DataDir)
	if p.API != nil {
		// The web console is mounted with the control role (console/web).
		fmt.Fprintf(stdout, "  console  %s/  (customer queue page %s/h5?tenant=...&business=...)\n", u, u)
		fmt.Fprintf(stdout, "  API      %s/api/v1\n  OpenAPI  %s/openapi.json\n", u, u)
	}
	if p.Has(platform.RoleSignaling) {
		fmt.Fprintf(stdout, "  agent    %s%sagent.html#token=...\n  customer %s%scustomer.html#token=...\n"+
			"           (tokens: POST %s%scalls/{ticket}/tokens as the agent who answered; WebSocket %s%sws)\n",
			u, rtcmount.Prefix, u, rtcmount.Prefix, u, rtcmount.Prefix, strings.Replace(u, "http", "ws", 1), rtcmount.Prefix)
		fmt.Fprintf(stdout, "  rooms    recordings spooled in %s, then uploaded and checked\n", cfg.SignalingDir())
		if *testCall {
			a, c, err := rtcmount.TestCall(p, "", 12*time.Hour)
			if err != nil {
				p.Close()
				return err
			}
			fmt.Fprintf(stdout, "  test call (agent):    %s\n  test call (customer): %s\n", a, c)
		}
	}
	if p.API != nil {
		fmt.Fprintf(stdout, "  markers  %s%srecordings/{record}/markers\n", u, rtcmount.MarkersPrefix)
	}
	fmt.Fprintf(stdout, "  metrics  %s/metrics\n  health   %s/healthz  %s/readyz\n  NATS     %s\n  database %s\n  storage  %s\n",
		u, u, u, p.Bus.URL(), p.DB.Dialect(), p.Blob)
	if p.FirstAdmin != "" {
		fmt.Fprintf(stdout, "  first admin login: %s / %s  (written once to %s; change it at first sign-in)\n", p.FirstAdmin, p.FirstAdminPassword(), p.FirstAdminFile)
	}
	fmt.Fprintln(stdout, "witness serve: ready")
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	return p.Run(ctx)
}
