package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/connector-go/connector/store"
)

// TestDurabilityPerPool checks what makes a refresh one fsync: the pool
// that takes leases commits with synchronous=NORMAL (1), the pool of every
// other write with FULL (2), both in WAL mode, and that Lock and Unlock run
// on the first and PutUnlock on the second (docs/stores.md, Durability).
func TestDurabilityPerPool(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "connector.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name     string
		pool     func() querier
		wantSync int
	}{
		{"lease pool", func() querier { return s.ldb }, 1},
		{"write pool", func() querier { return s.db }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sync int
			var mode string
			if err := tt.pool().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if err := tt.pool().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if sync != tt.wantSync || mode != "wal" {
				t.Errorf("synchronous = %d, journal_mode = %q; want %d and wal", sync, mode, tt.wantSync)
			}
		})
	}
	// Which pool each call prepares its statements on.
	l, _, err := s.Lock(ctx, "c", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutUnlock(ctx, &store.Record{ID: "c", Provider: "p", Status: store.Active}, l); err != nil {
		t.Fatal(err)
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	for _, c := range []struct {
		query string
		db    any
	}{{lockQuery, s.ldb}, {getQuery, s.ldb}, {unlockQuery, s.db}} {
		found := false
		for k := range s.stmts {
			if k.query == c.query && any(k.db) == c.db {
				found = true
			}
		}
		if !found {
			t.Errorf("no statement %.40q prepared on the expected pool", c.query)
		}
	}
}
