package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/witness-media/witness/internal/store"
)

func init() {
	register("audit", command{
		summary: "check the audit log's hash chain (audit verify [--config FILE] [--database DSN])",
		run:     runAudit,
	})
}

func runAudit(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: want: witness audit verify [--config FILE] [--database DSN]", errUsage)
	}
	fs := newFlags("audit verify")
	cfgPath := fs.String("config", "", "config file (YAML)")
	database := fs.String("database", "", "sqlite:PATH or postgres://... (default control.database, else sqlite:<data_dir>/witness.db)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, _, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	dsn := *database
	if dsn == "" {
		dsn = cfg.Control.Database
	}
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(cfg.DataDir, "witness.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("%w (%d entries verified before it)", err, n)
	}
	_, err = fmt.Fprintf(stdout, "audit chain ok: %d entries\n", n)
	return err
}
