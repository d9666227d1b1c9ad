// Package migratetest helps the store packages' migration tests check a
// store opened on a schema an older version wrote: the lease row that
// schema left on a connection keeps its fence counter (Lock hands out the
// old fence plus one), Claim takes a new key, a claim made before the
// migration still holds, and a Put under the lease with the fields the
// newer versions added (App, Namespace, Ref, Tags) comes back from Get as
// written. Each backend plants its own old schema and checks its own
// tables; this package holds only what every backend must do through the
// store.Store contract.
package migratetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// Old is what the old schema left in the store, as the checks need it.
type Old struct {
	// Leased is the id of a connection with a lease row, and Fence the
	// fence that row holds.
	Leased string
	Fence  int64
	// Claim is the key of an unexpired claim made before the migration,
	// or "" where the old schema had no claims.
	Claim string
}

// NewClaim is the key CheckMigrated claims: one the old store does not hold.
const NewClaim = "state:new"

// CheckMigrated checks s, opened on an old store that holds old: Lock of
// old.Leased gives the fence old.Fence+1, Claim of NewClaim succeeds,
// Claim of old.Claim (if any) is a Conflict, and a Put under the lease of
// the connection with App, Namespace, Ref and Tags set is the next version
// and reads back as written (but for UpdatedAt). It stops the test where
// what follows cannot run (no lease, a failed Put). It returns the record
// it wrote and the one it read back, for the caller's further checks.
func CheckMigrated(t *testing.T, s store.Store, old Old) (written, read *store.Record) {
	t.Helper()
	ctx := context.Background()
	l, _, err := s.Lock(ctx, old.Leased, time.Minute)
	if err != nil || l.Fence != old.Fence+1 {
		t.Fatalf("Lock after migration = %+v, %v; want fence %d (the old row's %d, plus one)", l, err, old.Fence+1, old.Fence)
	}
	if err := s.Claim(ctx, NewClaim, time.Minute); err != nil {
		t.Errorf("Claim after migration: %v", err)
	}
	if old.Claim != "" {
		if err := s.Claim(ctx, old.Claim, time.Minute); driver.CodeOf(err) != driver.Conflict {
			t.Errorf("Claim of the claim made before the migration = %v, want Conflict", err)
		}
	}

	// A write with the new fields, under the lease.
	rec, err := s.Get(ctx, old.Leased)
	if err != nil {
		t.Fatalf("Get(%q) after migration: %v", old.Leased, err)
	}
	rec.App, rec.Namespace, rec.Ref, rec.Tags = "client/id:1", "ns", "customer/42:ü", []string{"blue", "eu:west"}
	v, err := s.Put(ctx, rec, l.Fence)
	if err != nil || v != rec.Version+1 {
		t.Fatalf("Put with the new fields = %d, %v; want version %d", v, err, rec.Version+1)
	}
	rec.Version = v
	got, err := s.Get(ctx, rec.ID)
	if err != nil {
		t.Fatalf("Get(%q) after a Put with the new fields: %v", rec.ID, err)
	}
	if d := cmp.Diff(rec, got, cmpopts.IgnoreFields(store.Record{}, "UpdatedAt")); d != "" {
		t.Errorf("after a Put with the new fields (-want +got):\n%s", d)
	}
	return rec, got
}
