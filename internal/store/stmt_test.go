package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestStmtCacheNoDeadlock: a transaction holding SQLite's one connection
// prepares a statement while another goroutine prepares a new query on the
// pool. The statement cache once held its lock while waiting for the
// connection, and the transaction then waited for that lock: both hung
// forever (seen as a restarted `witness serve` not answering its first
// GET /api/v1/records).
func TestStmtCacheNoDeadlock(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inTx := make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- db.WithTx(ctx, func(tx *DB) error {
			close(inTx)
			// Let the other goroutine reach the pool and wait for the
			// connection this transaction holds.
			time.Sleep(300 * time.Millisecond)
			_, err := tx.exec(ctx, `SELECT 1 WHERE 1=?`, 1)
			return err
		})
	}()
	<-inTx
	readDone := make(chan error, 1)
	go func() {
		rows, err := db.query(ctx, `SELECT 2 WHERE 2=?`, 2)
		if err == nil {
			err = rows.Close()
		}
		readDone <- err
	}()
	for _, ch := range []chan error{txDone, readDone} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("deadlock: the transaction and the new prepared statement wait for each other")
		}
	}
}
