package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// StoreHarness makes the stores TestStore checks. A backend's test wires it
// up in one line:
//
//	func TestConformance(t *testing.T) { conformance.TestStore(t, harness{}) }
//
// Optional capabilities are found by type assertion: StoreDumper (the
// "no token in the clear at rest" check), StoreLocator (several OS processes
// at once) and StoreClock (lease expiry without sleeping).
type StoreHarness interface {
	// MakeStore returns a fresh, empty store, isolated from every other
	// store it returns (its own file, schema or key prefix), so that
	// subtests can run in parallel. TestStore closes the store; the harness
	// removes what it created with t.Cleanup.
	MakeStore(ctx context.Context, t testing.TB) (store.Store, error)
}

// StoreDumper is implemented by a StoreHarness that can read every byte its
// backend holds for a store made by MakeStore: every column of every row of
// every table, every value under a key prefix, or the database file itself.
// TestStore then checks that a record whose Secret is sealed leaves no
// plaintext token at rest, and (as a control) that an unsealed marker is
// found, so that a dump that misses the Secret cannot pass.
type StoreDumper interface {
	RawValues(ctx context.Context, t testing.TB, s store.Store) ([][]byte, error)
}

// StoreLocator is implemented by a StoreHarness whose stores other processes
// can open. TestStore then starts several copies of the test binary at once
// (see StoreHelperProcess), each incrementing a counter under the lease
// lock, and checks that no increment is lost.
type StoreLocator interface {
	// Location returns an OAuthSettingsLocation that store.Open, in this
	// process or another, opens to the same data as s.
	Location(t testing.TB, s store.Store) string
}

// StoreClock is implemented by a StoreHarness that controls the clock of the
// stores it makes. TestStore then moves time forward instead of sleeping to
// let leases expire. Without it TestStore sleeps a little longer than
// StoreShortTTL.
type StoreClock interface {
	// Advance moves the clock of s forward by d.
	Advance(t testing.TB, s store.Store, d time.Duration)
}

// StoreShortTTL is the lease TTL TestStore uses where it wants a lease to
// expire. Backends must honour TTLs of this size to the millisecond.
const StoreShortTTL = 250 * time.Millisecond

// storeLongTTL is a TTL no check outlives.
const storeLongTTL = time.Minute

// storeCheck is one rule of the Store contract. run returns nil when the
// store keeps the rule, and an error saying how it broke it otherwise; the
// self-test calls checks directly against known-broken stores.
type storeCheck struct {
	name string
	run  func(ctx context.Context, e *storeEnv) error
}

// storeChecks lists every check, in the order TestStore runs them.
var storeChecks = []storeCheck{
	{"GetMissing", storeCheckGetMissing},
	{"PutCreate", storeCheckPutCreate},
	{"RoundTrip", storeCheckRoundTrip},
	{"NULKeptOrRefused", storeCheckNULKeptOrRefused},
	{"PutStaleVersion", storeCheckPutStaleVersion},
	{"PutCreateExisting", storeCheckPutCreateExisting},
	{"PutMissingWithVersion", storeCheckPutMissingWithVersion},
	{"VersionsIncrease", storeCheckVersionsIncrease},
	{"Timestamps", storeCheckTimestamps},
	{"ListSorted", storeCheckListSorted},
	{"Delete", storeCheckDelete},
	{"DeleteMissing", storeCheckDeleteMissing},
	{"DeleteReleasesLease", storeCheckDeleteReleasesLease},
	{"NoAliasing", storeCheckNoAliasing},
	{"LockExclusive", storeCheckLockExclusive},
	{"LockReadsRecord", storeCheckLockReadsRecord},
	{"LockedReadsRecord", storeCheckLockedReadsRecord},
	{"TryLockIsLock", storeCheckTryLockIsLock},
	{"LeaseExpiry", storeCheckLeaseExpiry},
	{"FencesIncrease", storeCheckFencesIncrease},
	{"UnlockReleases", storeCheckUnlockReleases},
	{"UnlockStale", storeCheckUnlockStale},
	{"Fencing", storeCheckFencing},
	{"FencingOnCreate", storeCheckFencingOnCreate},
	{"PutUnlockReleases", storeCheckPutUnlockReleases},
	{"PutUnlockStaleVersion", storeCheckPutUnlockStaleVersion},
	{"PutUnlockFenced", storeCheckPutUnlockFenced},
	{"PutUnlockFencesIncrease", storeCheckPutUnlockFencesIncrease},
	{"ConcurrentGoroutines", storeCheckConcurrentGoroutines},
	{"ConcurrentProcesses", storeCheckConcurrentProcesses},
	{"SealedRoundTrip", storeCheckSealedRoundTrip},
	{"TamperedRefused", storeCheckTamperedRefused},
	{"MovedRefused", storeCheckMovedRefused},
	{"KeyRotation", storeCheckKeyRotation},
	{"NoncesUnique", storeCheckNoncesUnique},
	{"NoPlaintextAtRest", storeCheckNoPlaintextAtRest},
	{"ClaimOnce", storeCheckClaimOnce},
	{"ClaimExpiry", storeCheckClaimExpiry},
	{"ClaimConcurrent", storeCheckClaimConcurrent},
	{"ClaimsDoNotPile", storeCheckClaimsDoNotPile},
	{"DueOrder", storeCheckDueOrder},
	{"DueLimit", storeCheckDueLimit},
	{"DueUpdates", storeCheckDueUpdates},
	{"DueDelete", storeCheckDueDelete},
}

// errStoreNotApplicable is returned by a check whose capability the harness
// lacks (no StoreLocator for ConcurrentProcesses, no StoreDumper for
// NoPlaintextAtRest), or whose optional interface the store lacks
// (store.Claimer for the claim checks, store.DueLister for the due
// checks). TestStore skips the check.
var errStoreNotApplicable = errors.New("not applicable")

// TestStore checks that the stores h makes keep every rule of the
// store.Store contract, each in its own parallel subtest with a fresh store:
//
//   - Get of a missing record is NotFound; Put creates with version 1, and a
//     stale version, version 0 on an existing record or a version on a
//     missing one is Conflict and changes nothing; every field round-trips
//     (App, Namespace, Ref and Tags with '/', ':' and unicode; no Tags come
//     back nil), ids with '/' and ':' included; a NUL byte in a text field
//     is kept exactly or the Put refused, never cut;
//     CreatedAt is kept and UpdatedAt moves; List is sorted by ID (bytewise);
//     Delete removes the record and its lease, and a missing one is NotFound;
//     the store keeps no reference to the caller's slices.
//   - TryLock is exclusive until the lease expires; an expired lease is taken
//     over; fences strictly increase across unlocks, takeovers and deletes;
//     Unlock releases, and Unlock of a stale lease leaves the new holder's
//     lease alone; a Put with the fence of a lapsed lease is Conflict once a
//     newer lease was granted, whatever the version.
//   - 50 goroutines doing lock → get → put(version, fence) → unlock lose no
//     increment; with a StoreLocator, so do 4 processes × 25.
//   - Through a Keyring: sealed secrets round-trip; a tampered ciphertext or
//     one moved to another connection does not open; rows under an old key
//     open after a rotation and are re-sealed under the new key on their
//     next write; 10,000 seals never repeat a nonce; with a StoreDumper, no
//     plaintext token is at rest.
//   - If the store implements store.Claimer (else these are skipped): a
//     first Claim succeeds and a second within its ttl is Conflict; once it
//     has expired the key can be claimed again; of 32 goroutines claiming
//     one key at once exactly one succeeds; with a StoreClaimCounter, or a
//     StoreDumper whose dump shows claim keys, 20 expired claims held fewer
//     after one more Claim than before (claims do not pile up).
//   - If the store implements store.DueLister (else these are skipped): Due
//     returns exactly the Active records with an expiry at or before its
//     time — not those without an expiry, a later one, or another status —
//     each as Get returns it, by expiry then id (bytewise; ties included),
//     at most limit of them (the most urgent; all for a limit <= 0); an
//     expiry moved past the time or cleared, or a status other than Active,
//     takes a record out, and moved back it returns in its place; a deleted
//     record is not returned, and one created again under its id is.
//
// Backends whose test binary runs the processes check must also call
// StoreHelperProcess from a test named TestHelperStoreProcess.
//
// The suite should not give false positives, but, like every test of
// concurrency, may miss a race in one run: run it under the race detector
// and more than once.
func TestStore(t *testing.T, h StoreHarness) {
	t.Helper()
	if _, ok := h.(StoreLocator); !ok {
		t.Log("ConcurrentProcesses not run: the harness has no Location (an in-process store)")
	}
	if _, ok := h.(StoreDumper); !ok {
		t.Log("NoPlaintextAtRest not run: the harness has no RawValues")
	}
	for _, c := range storeChecks {
		if !storeApplicable(c.name, h) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			storeSkipOrFail(t, c.run(ctx, &storeEnv{t: t, h: h}))
		})
	}
}

// storeApplicable reports whether h has what check name needs.
func storeApplicable(name string, h StoreHarness) bool {
	switch name {
	case "ConcurrentProcesses":
		_, ok := h.(StoreLocator)
		return ok
	case "NoPlaintextAtRest":
		_, ok := h.(StoreDumper)
		return ok
	}
	return true
}

// storeEnv is what a check runs with: the test (for cleanups and the
// harness) and the harness.
type storeEnv struct {
	t testing.TB
	h StoreHarness
}

// fresh returns a new store from the harness, closed when the test ends.
func (e *storeEnv) fresh(ctx context.Context) (store.Store, error) {
	s, err := e.h.MakeStore(ctx, e.t)
	if err != nil {
		return nil, fmt.Errorf("harness MakeStore: %w", err)
	}
	if s == nil {
		return nil, errors.New("harness MakeStore returned a nil store")
	}
	e.t.Cleanup(func() { _ = s.Close() })
	return s, nil
}

// pass lets d go by for s: through the harness's clock when it has one,
// else by sleeping a margin longer.
func (e *storeEnv) pass(s store.Store, d time.Duration) {
	if c, ok := e.h.(StoreClock); ok {
		c.Advance(e.t, s, d)
		return
	}
	time.Sleep(d + d/2 + 20*time.Millisecond)
}

// storeLock is Lock without the record.
func storeLock(ctx context.Context, s store.Store, id string, ttl time.Duration) (*store.Lease, error) {
	l, _, err := s.Lock(ctx, id, ttl)
	return l, err
}

// storeWantErr checks that err is the sentinel want (errors.Is), and that
// its Code, where it has one, is the sentinel's (store.CodeOf).
func storeWantErr(err, want error, op string) error {
	if err == nil {
		return fmt.Errorf("%s: got no error, want %v", op, want)
	}
	if !errors.Is(err, want) {
		return fmt.Errorf("%s: got %v, want an error that is %q (errors.Is)", op, err, want)
	}
	if got, code := driver.CodeOf(err), store.CodeOf(want); got != driver.Unknown && got != code {
		return fmt.Errorf("%s: got %v with code %s, want code %s for %q", op, err, got, code, want)
	}
	return nil
}

// storeNoErr wraps err as the failure of op.
func storeNoErr(err error, op string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
