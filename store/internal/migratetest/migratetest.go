// Package migratetest helps the store packages' migration tests check a
// store opened on a schema an older version wrote: the lease row that
// schema left on a connection keeps its fence counter (Lock hands out the
// old fence plus one), Claim takes a new key, a claim made before the
// migration still holds, and a Put under the lease with the fields the
// newer versions added (App, Namespace, Ref, Tags) comes back from Get as
// written. Before that, every connection the old schema held must read
// back as it was, and after it a second open must change nothing. Each
// backend plants its own old schema and checks its own tables; this
// package holds only what every backend must do through the store.Store
// contract, and the values every backend plants.
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
	// Records are the connections the old schema holds, as the current
	// code must read them: as written, each token sealed from Token(ID),
	// with no App, Namespace, Ref or Tags.
	Records []*store.Record
	// Due is the id of the one record of Records that Due finds at DueAt:
	// the active one with an expiry before then.
	Due string
	// Leased is the id of a connection with a lease row, and Fence the
	// fence that row holds.
	Leased string
	Fence  int64
	// Claim is the key of an unexpired claim made before the migration,
	// or "" where the old schema had no claims.
	Claim string
}

// OldFence is the fence every backend plants in the old store's lease row.
const OldFence = 7

// OldClaim is the key of the unexpired claim every backend plants in an
// old store whose schema had claims.
const OldClaim = "state:old"

// NewClaim is the key CheckMigrated claims: one the old store does not hold.
const NewClaim = "state:new"

// DueAt is the time at which CheckOldRecords asks Due for the connections
// to refresh: after the expiry of Old.Due.
var DueAt = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

// Token is the token every backend seals, in the old store, for the
// connection id.
func Token(id string) string { return "token-of-" + id }

// CheckOldRecords checks s, just opened on an old store that holds old and
// not yet written to: Get of the id of each of old.Records gives that
// record (an empty slice and a nil one alike) with Tags nil and a token
// that opens, with the keyring of s, to Token(id); List has exactly
// len(old.Records) records; and Due (of store.DueLister, which s must
// implement) at DueAt finds old.Due alone. It stops the test where what
// follows cannot run (no keyring, a failed Get).
func CheckOldRecords(t *testing.T, s interface {
	store.Store
	store.DueLister
}, old Old) {
	t.Helper()
	ctx := context.Background()
	keys, err := store.KeyringFor(s)
	if err != nil {
		t.Fatalf("the keyring of the store after migration: %v", err)
	}
	for _, want := range old.Records {
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("Get(%q) after migration: %v", want.ID, err)
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("Get(%q) after migration (-want +got):\n%s", want.ID, d)
		}
		if got.Tags != nil {
			t.Errorf("Get(%q).Tags = %#v, want nil", want.ID, got.Tags)
		}
		if pt, err := keys.Open(want.ID, got.Secret); err != nil || string(pt) != Token(want.ID) {
			t.Errorf("token of %q = %q, %v; want it to open to %q", want.ID, pt, err, Token(want.ID))
		}
	}
	if all, err := s.List(ctx); err != nil || len(all) != len(old.Records) {
		t.Errorf("List after migration: %d records, %v; want %d", len(all), err, len(old.Records))
	}
	due, err := s.Due(ctx, DueAt, 0)
	if err != nil || len(due) != 1 || due[0].ID != old.Due {
		t.Errorf("Due(%v) after migration = %v, %v; want the active %s alone", DueAt, due, err, old.Due)
	}
}

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

// CheckReopened checks a second open of the store that CheckMigrated
// returned read from, closed since: reopen succeeds and Get of read.ID
// gives read unchanged. It closes the reopened store when the test ends.
// That the second open migrated nothing (the backend's own tables) is the
// caller's to check.
func CheckReopened(t *testing.T, reopen func() (store.Store, error), read *store.Record) {
	t.Helper()
	s, err := reopen()
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	again, err := s.Get(context.Background(), read.ID)
	if err != nil {
		t.Fatalf("Get(%q) after a second Open: %v", read.ID, err)
	}
	if d := cmp.Diff(read, again); d != "" {
		t.Errorf("Get(%q) after a second Open (-want +got):\n%s", read.ID, d)
	}
}
