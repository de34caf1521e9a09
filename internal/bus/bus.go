// Package bus connects Witness processes over NATS: an in-process NATS
// server with JetStream on the data directory for a single machine, or a
// NATS cluster given by URL. Everything else talks to a *Bus and does not
// care which.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrStart means the embedded server did not come up.
var ErrStart = errors.New("NATS server did not start")

// Options select an external cluster (URL) or the embedded server.
type Options struct {
	URL     string // nats://host:port[,..]; "" = run a server in this process
	DataDir string // embedded: JetStream files go to DataDir/nats
	Listen  string // embedded: client address, e.g. 127.0.0.1:4222 ("127.0.0.1:0" = random port)
	Name    string // connection name shown by the server
	Log     *slog.Logger
}

// Bus is a NATS connection with JetStream, and the embedded server if any.
type Bus struct {
	srv *server.Server
	NC  *nats.Conn
	JS  jetstream.JetStream
	url string
}

// Start connects (and starts the embedded server first when URL is "").
func Start(ctx context.Context, o Options) (*Bus, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	b := &Bus{url: o.URL}
	if o.URL == "" {
		host, portS, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("bus: listen %q: %w", o.Listen, err)
		}
		port, err := strconv.Atoi(portS)
		if err != nil {
			return nil, fmt.Errorf("bus: listen %q: %w", o.Listen, err)
		}
		if port == 0 {
			port = server.RANDOM_PORT
		}
		srv, err := server.NewServer(&server.Options{ServerName: "witness", Host: host, Port: port, JetStream: true,
			StoreDir: filepath.Join(o.DataDir, "nats"), NoSigs: true, NoLog: true, MaxPayload: 8 << 20})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrStart, err)
		}
		go srv.Start()
		if !srv.ReadyForConnections(30 * time.Second) {
			srv.Shutdown()
			return nil, fmt.Errorf("%w within 30s on %s", ErrStart, o.Listen)
		}
		b.srv, b.url = srv, srv.ClientURL()
	}
	nc, err := nats.Connect(b.url, nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Log.Warn("nats disconnected", "err", err)
			}
		}))
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("bus: connect %s: %w", b.url, err)
	}
	b.NC = nc
	js, err := jetstream.New(nc)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	b.JS = js
	return b, nil
}

// URL is the client URL (the embedded server's address when embedded), so
// worker processes can be pointed at it.
func (b *Bus) URL() string { return b.url }

// Embedded reports whether this process runs the server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Ready checks the connection and JetStream answer.
func (b *Bus) Ready(ctx context.Context) error {
	if b.NC == nil || !b.NC.IsConnected() {
		return errors.New("nats: not connected")
	}
	if _, err := b.JS.AccountInfo(ctx); err != nil {
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	return nil
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() {
	if b.NC != nil {
		_ = b.NC.Drain()
		b.NC.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}
