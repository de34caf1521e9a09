package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/witness-media/witness/signaling"
)

func init() {
	register("sfu", command{
		summary: "run the live-call server (signaling + SFU + room recording) standalone; test pages at /agent.html, /customer.html",
		run:     runSFU,
	})
}

// runSFU: witness sfu [--config FILE] [--listen ADDR] [--token ROOM:IDENTITY:ROLE]...
func runSFU(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("sfu")
	cfgPath := fs.String("config", "", "config file (YAML)")
	listen := fs.String("listen", "", "HTTP/WebSocket address (default signaling.listen)")
	var tokens []string
	fs.Func("token", "print a join token and page link for ROOM:IDENTITY:ROLE (repeatable; role agent, customer, supervisor or guest)", func(s string) error {
		if len(strings.Split(s, ":")) != 3 {
			return fmt.Errorf("want ROOM:IDENTITY:ROLE")
		}
		tokens = append(tokens, s)
		return nil
	})
	ttl := fs.Duration("token-ttl", 12*time.Hour, "validity of printed tokens")
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
	if *listen != "" {
		cfg.Signaling.Listen = *listen
	}
	sc, err := signaling.ConfigFrom(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Signaling.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Signaling.Listen, err)
	}
	base := sc.PublicURL
	if base == "" {
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		if host == "::" || host == "0.0.0.0" || host == "" {
			host = "localhost"
		}
		base = "http://" + net.JoinHostPort(host, port)
		sc.PublicURL = base
	}
	srv, err := signaling.NewServer(sc)
	if err != nil {
		ln.Close()
		return err
	}
	for _, t := range tokens {
		f := strings.Split(t, ":")
		tok, err := srv.Token(signaling.Claims{Room: f[0], Identity: f[1], Role: f[2], Tenant: "default", Expires: time.Now().Add(*ttl).Unix(),
			Hidden: f[2] == signaling.RoleSupervisor})
		if err != nil {
			ln.Close()
			_ = srv.Close()
			return fmt.Errorf("%w: --token %s: %w", errUsage, t, err)
		}
		page := "customer.html"
		if f[2] != signaling.RoleCustomer && f[2] != signaling.RoleGuest {
			page = "agent.html"
		}
		fmt.Fprintf(stdout, "%s %s (%s): %s/%s#token=%s\n", f[0], f[1], f[2], base, page, tok)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "witness sfu listening on %s (recordings in %s)\n", ln.Addr(), sc.Recording.Dir)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// Close the server first: rooms end and recordings are finalised
	// before the process exits.
	cerr := srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return cerr
}
