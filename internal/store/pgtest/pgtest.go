// Package pgtest starts a real, throw-away PostgreSQL server for tests:
// the Debian postgresql-15 binaries, initdb into a temporary directory and
// pg_ctl on a random loopback port. As root the server runs as the
// postgres user (PostgreSQL refuses to run as root).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// BinDir is where the PostgreSQL binaries are looked for.
var BinDir = "/usr/lib/postgresql/15/bin"

// ErrUnavailable means the binaries are absent; tests skip on it.
var ErrUnavailable = errors.New("PostgreSQL binaries not found")

// Server is a running throw-away PostgreSQL.
type Server struct {
	dir  string
	port int
	run  []string // command prefix (runuser as root)
	seq  atomic.Int64
}

// Start initialises a cluster and starts it. The caller must Stop it.
func Start() (*Server, error) {
	if _, err := os.Stat(filepath.Join(BinDir, "initdb")); err != nil {
		return nil, fmt.Errorf("%w in %s (apt-get install postgresql)", ErrUnavailable, BinDir)
	}
	dir, err := os.MkdirTemp("", "witness-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.run = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.cmd("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v: %s", err, out)
	}
	// The port is free when picked; another process could take it before
	// postgres binds, so retry a few times.
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", s.port, dir)
		out, err := s.cmd("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		lastErr = fmt.Errorf("pgtest: pg_ctl start: %v: %s %s", err, out, log)
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	full := append(append(append([]string{}, s.run...), filepath.Join(BinDir, name)), args...)
	return exec.Command(full[0], full[1:]...)
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	_ = s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	os.RemoveAll(s.dir)
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// NewDatabase creates an empty database and returns its DSN.
func (s *Server) NewDatabase() (string, error) {
	name := fmt.Sprintf("t%d_%d", time.Now().UnixNano()%1e9, s.seq.Add(1))
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name), nil
}
