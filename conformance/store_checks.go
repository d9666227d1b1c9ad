package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/store"
)

// storeSample returns a record with every field set.
func storeSample(id string) *store.Record {
	return &store.Record{
		ID:        id,
		Provider:  "jumpseller",
		App:       "client/app:1",
		Namespace: "tenant-eu",
		Ref:       "workspace/" + id + ":ü",
		Tags:      []string{"blue", "eu:west", "plan/pro"},
		Account:   "acct-" + id,
		Scopes:    []string{"read_orders", "write_products"},
		Status:    store.Active,
		Expiry:    time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC),
		Secret:    []byte("opaque-secret-of-" + id),
	}
}

// storeRecordDiff compares the fields a caller sets, ignoring Version and
// the store-set timestamps. Times compare to the microsecond (PostgreSQL's
// precision) and nil equals empty, except that no Tags must come back as
// nil ("nil when none").
func storeRecordDiff(want, got *store.Record) string {
	if want == nil || got == nil {
		return cmp.Diff(want, got)
	}
	// The secret on its own: cmp is slow on large byte slices.
	var secret string
	if !bytes.Equal(want.Secret, got.Secret) {
		secret = fmt.Sprintf("Secret: want %d bytes %s, got %d bytes %s\n",
			len(want.Secret), storeShortHex(want.Secret), len(got.Secret), storeShortHex(got.Secret))
	}
	if len(want.Tags) == 0 && got.Tags != nil {
		secret += fmt.Sprintf("Tags: want nil (no tags), got %#v\n", got.Tags)
	}
	w, g := *want, *got
	w.Secret, g.Secret = nil, nil
	return secret + cmp.Diff(w, g,
		cmpopts.EquateEmpty(),
		cmpopts.EquateApproxTime(time.Microsecond),
		cmpopts.IgnoreFields(store.Record{}, "Version", "CreatedAt", "UpdatedAt"))
}

func storeShortHex(b []byte) string {
	if len(b) > 24 {
		return hex.EncodeToString(b[:24]) + "…"
	}
	return hex.EncodeToString(b)
}

// storeGetEqual gets id and compares it with want, including want.Version.
func storeGetEqual(ctx context.Context, s store.Store, want *store.Record, op string) error {
	got, err := s.Get(ctx, want.ID)
	if err != nil {
		return fmt.Errorf("%s: Get(%q): %w", op, want.ID, err)
	}
	if got == nil {
		return fmt.Errorf("%s: Get(%q) returned a nil record and no error", op, want.ID)
	}
	if d := storeRecordDiff(want, got); d != "" {
		return fmt.Errorf("%s: Get(%q) mismatch (-want +got):\n%s", op, want.ID, d)
	}
	if got.Version != want.Version {
		return fmt.Errorf("%s: Get(%q).Version = %d, want %d", op, want.ID, got.Version, want.Version)
	}
	return nil
}

// storeCreate puts rec as new and checks the returned version is 1.
func storeCreate(ctx context.Context, s store.Store, rec *store.Record) error {
	v, err := s.Put(ctx, rec, 0)
	if err != nil {
		return fmt.Errorf("Put(%q, version 0) to create: %w", rec.ID, err)
	}
	if v != 1 {
		return fmt.Errorf("Put(%q, version 0) to create returned version %d, want 1", rec.ID, v)
	}
	rec.Version = 1
	return nil
}

func storeCheckGetMissing(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec, err := s.Get(ctx, "missing")
	if err := storeWantErr(err, store.ErrNotFound, `Get("missing") on an empty store`); err != nil {
		return err
	}
	if rec != nil {
		return errors.New(`Get("missing") returned a record with its NotFound error`)
	}
	all, err := s.List(ctx)
	if err != nil {
		return storeNoErr(err, "List of an empty store")
	}
	if len(all) != 0 {
		return fmt.Errorf("List of an empty store returned %d records", len(all))
	}
	return nil
}

func storeCheckPutCreate(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("c1")
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	if err := storeGetEqual(ctx, s, rec, "after create"); err != nil {
		return err
	}
	got, _ := s.Get(ctx, rec.ID)
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		return fmt.Errorf("after create: CreatedAt=%v UpdatedAt=%v, want both set", got.CreatedAt, got.UpdatedAt)
	}
	if got.UpdatedAt.Before(got.CreatedAt) {
		return fmt.Errorf("after create: UpdatedAt %v is before CreatedAt %v", got.UpdatedAt, got.CreatedAt)
	}
	return nil
}

func storeCheckRoundTrip(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	large := make([]byte, 64<<10)
	_, _ = rand.Read(large)
	var many, manyTags []string
	for i := range 50 {
		many = append(many, fmt.Sprintf("scope_%02d", i))
		manyTags = append(manyTags, fmt.Sprintf("tag/%02d:ü", i))
	}
	zone := time.FixedZone("UTC-3", -3*3600)
	recs := []*store.Record{
		{
			ID: "ünï/cødé:1 two", Provider: "shopline",
			App: "client/ünï:42", Namespace: "ns/eu:1 'q'", Ref: "客户/42:workspace ✓ \"double\" %_",
			Tags:    []string{"a:b", "blue", "c/d", "plan pro", "ünï"},
			Account: "商店-42 'quoted' \"double\"",
			Scopes:  []string{"products", "orders", "read_store"}, Status: store.NeedsReauth,
			Reason: "invalid_grant: the refresh token was revoked; 100% sure\n(second line)",
			Expiry: time.Date(2031, 6, 7, 8, 9, 10, 987654000, zone), Secret: every,
		},
		{ID: "minimal", Status: store.Revoked},
		{
			ID: "large", Provider: "jumpseller", App: strings.Repeat("a", 255), Namespace: strings.Repeat("n", 255),
			Ref: strings.Repeat("r/:", 1000), Tags: manyTags,
			Account: "a", Scopes: many, Status: store.Active,
			Expiry: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), Secret: large,
		},
		// An id as the engine makes them: namespace/client id/provider:account.
		{
			ID: "ns/client-id/shopline:merchant-42", Provider: "shopline", App: "client-id", Namespace: "ns",
			Ref: "customer:42", Tags: []string{"one"}, Account: "merchant-42", Status: store.Active,
		},
		// No tags given as an empty slice come back nil.
		{ID: "empty-tags", App: "client-id", Tags: []string{}, Status: store.Active},
	}
	for _, r := range recs {
		if err := storeCreate(ctx, s, r); err != nil {
			return err
		}
	}
	for _, r := range recs {
		if err := storeGetEqual(ctx, s, r, "round trip"); err != nil {
			return err
		}
	}
	return nil
}

// storeCheckNULKeptOrRefused puts records with a NUL byte in each text
// field: a backend that can hold it returns it exactly; one that cannot
// (PostgreSQL text) refuses the Put and stores nothing. A value cut at the
// NUL, or stored without it, fails.
func storeCheckNULKeptOrRefused(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	const nul = "before\x00after"
	fields := []struct {
		name string
		set  func(r *store.Record)
	}{
		{"Provider", func(r *store.Record) { r.Provider = nul }},
		{"App", func(r *store.Record) { r.App = nul }},
		{"Namespace", func(r *store.Record) { r.Namespace = nul }},
		{"Ref", func(r *store.Record) { r.Ref = nul }},
		{"Tags", func(r *store.Record) { r.Tags = []string{"a", nul} }},
		{"Account", func(r *store.Record) { r.Account = nul }},
		{"Scopes", func(r *store.Record) { r.Scopes = []string{nul, "z"} }},
		{"Reason", func(r *store.Record) { r.Reason = nul }},
	}
	kept := 0
	for _, f := range fields {
		rec := storeSample("nul-" + strings.ToLower(f.name))
		f.set(rec)
		v, err := s.Put(ctx, rec, 0)
		if err != nil {
			if _, gerr := s.Get(ctx, rec.ID); !errors.Is(gerr, store.ErrNotFound) {
				return fmt.Errorf("Put with a NUL byte in %s failed (%v), but Get then gave %v, want NotFound: a refused Put must store nothing", f.name, err, gerr)
			}
			continue
		}
		kept++
		rec.Version = v
		if err := storeGetEqual(ctx, s, rec, "a NUL byte in "+f.name+" (kept, so it must come back exactly)"); err != nil {
			return err
		}
	}
	if all, err := s.List(ctx); err != nil {
		return storeNoErr(err, "List of the records kept with a NUL byte")
	} else if len(all) != kept {
		return fmt.Errorf("List: %d records, want the %d Put kept", len(all), kept)
	}
	return nil
}

func storeCheckPutStaleVersion(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("cas")
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	second := rec.Clone()
	second.Account = "second"
	v, err := s.Put(ctx, second, 0)
	if err != nil {
		return storeNoErr(err, "Put with the current version 1")
	}
	if v != 2 {
		return fmt.Errorf("Put with version 1 returned version %d, want 2", v)
	}
	second.Version = 2
	stale := rec.Clone() // still version 1
	stale.Account = "stale"
	_, err = s.Put(ctx, stale, 0)
	if err := storeWantErr(err, store.ErrConflict, "Put with the stale version 1 after version 2 was written"); err != nil {
		return err
	}
	future := rec.Clone()
	future.Version = 7
	future.Account = "future"
	_, err = s.Put(ctx, future, 0)
	if err := storeWantErr(err, store.ErrConflict, "Put with version 7 on a record at version 2"); err != nil {
		return err
	}
	return storeGetEqual(ctx, s, second, "after refused stale writes (nothing may change)")
}

func storeCheckPutCreateExisting(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("exists")
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	again := storeSample("exists")
	again.Account = "overwritten"
	_, err = s.Put(ctx, again, 0)
	if err := storeWantErr(err, store.ErrConflict, "Put with version 0 on an existing record"); err != nil {
		return err
	}
	return storeGetEqual(ctx, s, rec, "after a refused create (nothing may change)")
}

func storeCheckPutMissingWithVersion(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("ghost")
	rec.Version = 3
	_, err = s.Put(ctx, rec, 0)
	if err := storeWantErr(err, store.ErrConflict, "Put with version 3 on a missing record"); err != nil {
		return err
	}
	_, err = s.Get(ctx, rec.ID)
	return storeWantErr(err, store.ErrNotFound, "Get after a refused Put on a missing record")
}

func storeCheckVersionsIncrease(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("v")
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	for want := int64(2); want <= 6; want++ {
		rec.Account = "acct-" + strconv.FormatInt(want, 10)
		v, err := s.Put(ctx, rec, 0)
		if err != nil {
			return storeNoErr(err, fmt.Sprintf("Put with version %d", rec.Version))
		}
		if v != want {
			return fmt.Errorf("Put with version %d returned %d, want %d", rec.Version, v, want)
		}
		rec.Version = v
	}
	return storeGetEqual(ctx, s, rec, "after 5 updates")
}

func storeCheckTimestamps(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("ts")
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	g1, err := s.Get(ctx, rec.ID)
	if err != nil {
		return storeNoErr(err, "Get after create")
	}
	e.pass(s, 20*time.Millisecond)
	rec.Account = "later"
	if _, err := s.Put(ctx, rec, 0); err != nil {
		return storeNoErr(err, "Put update")
	}
	g2, err := s.Get(ctx, rec.ID)
	if err != nil {
		return storeNoErr(err, "Get after update")
	}
	if d := g2.CreatedAt.Sub(g1.CreatedAt); d < -time.Microsecond || d > time.Microsecond {
		return fmt.Errorf("CreatedAt changed on update: %v, then %v", g1.CreatedAt, g2.CreatedAt)
	}
	if !g2.UpdatedAt.After(g1.UpdatedAt) {
		return fmt.Errorf("UpdatedAt did not move on update: %v, then %v", g1.UpdatedAt, g2.UpdatedAt)
	}
	return nil
}

func storeCheckListSorted(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	// Byte order differs from most collations on these.
	ids := []string{"b", "B", "a", "_x", "Z1", "é", "a b", "a-b", "a/b", "10", "9", "a:b", "ab"}
	for _, id := range ids {
		if err := storeCreate(ctx, s, storeSample(id)); err != nil {
			return err
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		return storeNoErr(err, "List")
	}
	want := append([]string(nil), ids...)
	sort.Strings(want)
	var got []string
	for _, r := range all {
		got = append(got, r.ID)
	}
	if d := cmp.Diff(want, got); d != "" {
		return fmt.Errorf("List IDs not sorted bytewise (-want +got):\n%s", d)
	}
	for _, r := range all {
		w := storeSample(r.ID)
		if d := storeRecordDiff(w, r); d != "" {
			return fmt.Errorf("List record %q mismatch (-want +got):\n%s", r.ID, d)
		}
		if r.Version != 1 {
			return fmt.Errorf("List record %q has version %d, want 1", r.ID, r.Version)
		}
	}
	return nil
}

func storeCheckDelete(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	for _, id := range []string{"keep", "gone"} {
		if err := storeCreate(ctx, s, storeSample(id)); err != nil {
			return err
		}
	}
	if err := s.Delete(ctx, "gone"); err != nil {
		return storeNoErr(err, `Delete("gone")`)
	}
	_, err = s.Get(ctx, "gone")
	if err := storeWantErr(err, store.ErrNotFound, "Get after Delete"); err != nil {
		return err
	}
	all, err := s.List(ctx)
	if err != nil {
		return storeNoErr(err, "List after Delete")
	}
	if len(all) != 1 || all[0].ID != "keep" {
		var ids []string
		for _, r := range all {
			ids = append(ids, r.ID)
		}
		return fmt.Errorf("List after Delete = %q, want [keep]", ids)
	}
	rec := storeSample("gone")
	if err := storeCreate(ctx, s, rec); err != nil {
		return fmt.Errorf("re-create after Delete: %w", err)
	}
	return nil
}

func storeCheckDeleteMissing(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	err = s.Delete(ctx, "missing")
	if err := storeWantErr(err, store.ErrNotFound, "Delete of a missing record"); err != nil {
		return err
	}
	if err := storeCreate(ctx, s, storeSample("once")); err != nil {
		return err
	}
	if err := s.Delete(ctx, "once"); err != nil {
		return storeNoErr(err, "first Delete")
	}
	return storeWantErr(s.Delete(ctx, "once"), store.ErrNotFound, "second Delete of the same record")
}

func storeCheckDeleteReleasesLease(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	if err := storeCreate(ctx, s, storeSample("dl")); err != nil {
		return err
	}
	l1, err := storeLock(ctx, s, "dl", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock")
	}
	if err := s.Delete(ctx, "dl"); err != nil {
		return storeNoErr(err, "Delete of a locked record")
	}
	l2, err := storeLock(ctx, s, "dl", storeLongTTL)
	if err != nil {
		return fmt.Errorf("Lock after Delete (Delete must remove the lease): %w", err)
	}
	if l2.Fence <= l1.Fence {
		return fmt.Errorf("fence after Delete is %d, not greater than the earlier %d", l2.Fence, l1.Fence)
	}
	return nil
}

func storeCheckNoAliasing(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("alias")
	want := rec.Clone()
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	want.Version = 1
	rec.Secret[0] ^= 0xff
	rec.Scopes[0] = "mutated-after-put"
	rec.Tags[0] = "mutated-after-put"
	if err := storeGetEqual(ctx, s, want, "after the caller changed the slices it passed to Put"); err != nil {
		return err
	}
	got, err := s.Get(ctx, "alias")
	if err != nil {
		return storeNoErr(err, "Get")
	}
	got.Secret[0] ^= 0xff
	got.Scopes[0] = "mutated-after-get"
	got.Tags[0] = "mutated-after-get"
	return storeGetEqual(ctx, s, want, "after the caller changed the slices Get returned")
}

// storeCheckLease checks the fields of a fresh lease.
func storeCheckLease(l *store.Lease, id string, op string) error {
	if l == nil {
		return fmt.Errorf("%s: nil lease and no error", op)
	}
	if l.ID != id {
		return fmt.Errorf("%s: lease ID %q, want %q", op, l.ID, id)
	}
	if l.Fence <= 0 {
		return fmt.Errorf("%s: fence %d, want > 0", op, l.Fence)
	}
	return nil
}

func storeCheckLockExclusive(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	// No record exists: Lock works whether or not it does.
	l1, err := storeLock(ctx, s, "x", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "first Lock")
	}
	if err := storeCheckLease(l1, "x", "first Lock"); err != nil {
		return err
	}
	l2, err := storeLock(ctx, s, "x", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "second Lock while the first lease holds"); err != nil {
		return err
	}
	if l2 != nil {
		return errors.New("second Lock returned a lease with its ErrLocked error")
	}
	ly, err := storeLock(ctx, s, "y", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock of another id (leases are per id)")
	}
	if err := storeCheckLease(ly, "y", "Lock of another id"); err != nil {
		return err
	}
	return nil
}

func storeCheckLeaseExpiry(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	_, fake := e.h.(StoreClock)
	var l1 *store.Lease
	for attempt := 1; ; attempt++ {
		id := fmt.Sprintf("exp-%d", attempt)
		start := time.Now()
		if l1, err = storeLock(ctx, s, id, StoreShortTTL); err != nil {
			return storeNoErr(err, "Lock")
		}
		_, err = storeLock(ctx, s, id, storeLongTTL)
		if !fake && err == nil && time.Since(start) >= StoreShortTTL && attempt < 3 {
			continue // this machine stalled past the TTL: inconclusive, try again
		}
		if err := storeWantErr(err, store.ErrLocked, "Lock before the lease expired"); err != nil {
			return err
		}
		break
	}
	e.pass(s, StoreShortTTL)
	l2, err := storeLock(ctx, s, l1.ID, storeLongTTL)
	if err != nil {
		return fmt.Errorf("Lock after the lease of %v expired (takeover): %w", StoreShortTTL, err)
	}
	if err := storeCheckLease(l2, l1.ID, "takeover"); err != nil {
		return err
	}
	if l2.Fence <= l1.Fence {
		return fmt.Errorf("takeover fence %d is not greater than the expired lease's %d", l2.Fence, l1.Fence)
	}
	return nil
}

func storeCheckFencesIncrease(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	const id = "fence"
	var fences []int64
	take := func(ttl time.Duration, how string) (*store.Lease, error) {
		l, err := storeLock(ctx, s, id, ttl)
		if err != nil {
			return nil, fmt.Errorf("Lock %s: %w", how, err)
		}
		if n := len(fences); n > 0 && l.Fence <= fences[n-1] {
			return nil, fmt.Errorf("fence %d granted %s is not greater than the one before, %d (all: %v)", l.Fence, how, fences[n-1], append(fences, l.Fence))
		}
		fences = append(fences, l.Fence)
		return l, nil
	}
	l, err := take(storeLongTTL, "first")
	if err != nil {
		return err
	}
	if err := s.Unlock(ctx, l); err != nil {
		return storeNoErr(err, "Unlock")
	}
	if _, err = take(StoreShortTTL, "after an Unlock"); err != nil {
		return err
	}
	e.pass(s, StoreShortTTL)
	l, err = take(storeLongTTL, "by takeover of an expired lease")
	if err != nil {
		return err
	}
	if err := s.Unlock(ctx, l); err != nil {
		return storeNoErr(err, "Unlock")
	}
	if err := storeCreate(ctx, s, storeSample(id)); err != nil {
		return err
	}
	if _, err = take(storeLongTTL, "with a record"); err != nil {
		return err
	}
	if err := s.Delete(ctx, id); err != nil {
		return storeNoErr(err, "Delete")
	}
	_, err = take(storeLongTTL, "after the record was deleted")
	return err
}

func storeCheckUnlockReleases(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	l1, err := storeLock(ctx, s, "u", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock")
	}
	if err := s.Unlock(ctx, l1); err != nil {
		return storeNoErr(err, "Unlock")
	}
	l2, err := storeLock(ctx, s, "u", storeLongTTL)
	if err != nil {
		return fmt.Errorf("Lock right after Unlock (Unlock must release): %w", err)
	}
	if err := s.Unlock(ctx, l1); err != nil {
		return fmt.Errorf("second Unlock of a released lease: %w (want no error)", err)
	}
	_, err = storeLock(ctx, s, "u", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "Lock after a second Unlock of the old lease (the new holder's lease must stay)"); err != nil {
		return err
	}
	return storeNoErr(s.Unlock(ctx, l2), "Unlock of the current lease")
}

func storeCheckUnlockStale(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	a, err := storeLock(ctx, s, "st", StoreShortTTL)
	if err != nil {
		return storeNoErr(err, "Lock A")
	}
	e.pass(s, StoreShortTTL)
	b, err := storeLock(ctx, s, "st", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock B after A's lease expired")
	}
	if err := s.Unlock(ctx, a); err != nil {
		return fmt.Errorf("Unlock of A's lapsed lease: %w (want no error)", err)
	}
	_, err = storeLock(ctx, s, "st", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "Lock after A unlocked its lapsed lease (B's lease must stay)"); err != nil {
		return err
	}
	if err := s.Unlock(ctx, b); err != nil {
		return storeNoErr(err, "Unlock B")
	}
	if _, err := storeLock(ctx, s, "st", storeLongTTL); err != nil {
		return fmt.Errorf("Lock after B unlocked: %w", err)
	}
	return nil
}

func storeCheckFencing(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	rec := storeSample("fenced")
	if err := storeCreate(ctx, s, rec); err != nil {
		return err
	}
	a, err := storeLock(ctx, s, rec.ID, StoreShortTTL)
	if err != nil {
		return storeNoErr(err, "Lock A")
	}
	e.pass(s, StoreShortTTL)
	b, err := storeLock(ctx, s, rec.ID, storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock B after A's lease expired")
	}
	// A, paused past its lease, wakes up and writes before B does.
	late := rec.Clone()
	late.Account = "written by A after its lease lapsed"
	_, err = s.Put(ctx, late, a.Fence)
	if err := storeWantErr(err, store.ErrConflict, "Put by A with its lapsed fence (current version, B holds a newer lease)"); err != nil {
		return err
	}
	if err := storeGetEqual(ctx, s, rec, "after A's fenced write (nothing may change)"); err != nil {
		return err
	}
	// B writes.
	byB := rec.Clone()
	byB.Account = "written by B"
	v, err := s.Put(ctx, byB, b.Fence)
	if err != nil {
		return storeNoErr(err, "Put by B, the current holder")
	}
	byB.Version = v
	// A tries again, with its old version, then with the right one.
	_, err = s.Put(ctx, late, a.Fence)
	if err := storeWantErr(err, store.ErrConflict, "Put by A with its old version and lapsed fence"); err != nil {
		return err
	}
	late.Version = byB.Version
	_, err = s.Put(ctx, late, a.Fence)
	if err := storeWantErr(err, store.ErrConflict, "Put by A with the right version but a fence lower than B's"); err != nil {
		return err
	}
	if err := storeGetEqual(ctx, s, byB, "after A's fenced writes (B's write must stand)"); err != nil {
		return err
	}
	// B still writes; an unfenced write (fence 0) is not fenced.
	byB.Account = "written by B again"
	if byB.Version, err = s.Put(ctx, byB, b.Fence); err != nil {
		return storeNoErr(err, "second Put by B")
	}
	byB.Account = "unfenced"
	if byB.Version, err = s.Put(ctx, byB, 0); err != nil {
		return storeNoErr(err, "Put with fence 0 (unfenced) while B holds the lease")
	}
	return storeGetEqual(ctx, s, byB, "at the end")
}

func storeCheckFencingOnCreate(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	const id = "fenced-new"
	a, err := storeLock(ctx, s, id, StoreShortTTL)
	if err != nil {
		return storeNoErr(err, "Lock A")
	}
	e.pass(s, StoreShortTTL)
	b, err := storeLock(ctx, s, id, storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock B after A's lease expired")
	}
	_, err = s.Put(ctx, storeSample(id), a.Fence)
	if err := storeWantErr(err, store.ErrConflict, "create by A with its lapsed fence"); err != nil {
		return err
	}
	_, err = s.Get(ctx, id)
	if err := storeWantErr(err, store.ErrNotFound, "Get after A's fenced create"); err != nil {
		return err
	}
	v, err := s.Put(ctx, storeSample(id), b.Fence)
	if err != nil {
		return storeNoErr(err, "create by B, the current holder")
	}
	if v != 1 {
		return fmt.Errorf("create by B returned version %d, want 1", v)
	}
	return nil
}

// storeIncrement adds one to the decimal counter sealed in the Secret of id,
// under the lease, the way the engine refreshes: Lock (waiting while another
// holds it), which returns the record, open, seal n+1, PutUnlock with the
// version read and the lease. A refused PutUnlock means the lease was not
// exclusive, or Lock returned a record older than the last write. It
// returns the fence it held.
func storeIncrement(ctx context.Context, s store.Store, keys *store.Keyring, id string, ttl time.Duration) (int64, error) {
	var (
		l   *store.Lease
		rec *store.Record
	)
	// Wait with capped exponential backoff and jitter, as a real caller
	// would: waiters that spin starve the holder of CPU and connections.
	backoff := 500 * time.Microsecond
	for {
		var err error
		l, rec, err = s.Lock(ctx, id, ttl)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLocked) {
			return 0, fmt.Errorf("Lock: %w", err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("Lock: the lease never became free: %w", ctx.Err())
		case <-time.After(backoff/2 + time.Duration(mrand.Int64N(int64(backoff)))):
		}
		backoff = min(2*backoff, 20*time.Millisecond)
	}
	if rec == nil {
		_ = s.Unlock(ctx, l)
		return 0, fmt.Errorf("Lock of %q returned no record", id)
	}
	pt, err := keys.Open(id, rec.Secret)
	if err != nil {
		_ = s.Unlock(ctx, l)
		return 0, fmt.Errorf("Open the counter: %w", err)
	}
	n, err := strconv.Atoi(string(pt))
	if err != nil {
		_ = s.Unlock(ctx, l)
		return 0, fmt.Errorf("counter %q: %w", pt, err)
	}
	// Hold the lease a moment, as a refresh would, so that a lock that is
	// not exclusive shows.
	time.Sleep(time.Duration(mrand.IntN(300)) * time.Microsecond)
	if rec.Secret, err = keys.Seal(id, []byte(strconv.Itoa(n+1))); err != nil {
		_ = s.Unlock(ctx, l)
		return 0, err
	}
	if _, err := s.PutUnlock(ctx, rec, l); err != nil {
		_ = s.Unlock(ctx, l)
		return 0, fmt.Errorf("PutUnlock of %d at version %d under a held lease (fence %d) refused; is the lease exclusive, and did Lock return the last write? %w", n+1, rec.Version, l.Fence, err)
	}
	return l.Fence, nil
}

// storeCounterWant checks that the counter of id is want, at version want+1.
func storeCounterWant(ctx context.Context, s store.Store, keys *store.Keyring, id string, want int) error {
	rec, err := s.Get(ctx, id)
	if err != nil {
		return storeNoErr(err, "Get the counter")
	}
	pt, err := keys.Open(id, rec.Secret)
	if err != nil {
		return storeNoErr(err, "Open the counter")
	}
	if got := string(pt); got != strconv.Itoa(want) {
		return fmt.Errorf("counter is %s after %d increments: %d lost", got, want, want-atoiOr(got))
	}
	if rec.Version != int64(want)+1 {
		return fmt.Errorf("counter at version %d after %d increments, want %d", rec.Version, want, want+1)
	}
	return nil
}

func atoiOr(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// storeNewCounter creates id with a sealed counter at 0.
func storeNewCounter(ctx context.Context, s store.Store, keys *store.Keyring, id string) error {
	sealed, err := keys.Seal(id, []byte("0"))
	if err != nil {
		return err
	}
	return storeCreate(ctx, s, &store.Record{ID: id, Provider: "counter", Status: store.Active, Secret: sealed})
}

// storeStall is how long ConcurrentGoroutines waits for the next increment
// before it judges the store stuck: long enough for 50 goroutines taking
// turns on a loaded machine (3 s was once too short for Redis with both
// cores busy), short enough to end a store whose lease is never released.
const storeStall = 10 * time.Second

func storeCheckConcurrentGoroutines(ctx context.Context, e *storeEnv) error {
	const workers, each = 50, 2
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	keys, err := store.NewKeyring(store.NewRandomKey())
	if err != nil {
		return err
	}
	const id = "counter"
	if err := storeNewCounter(ctx, s, keys, id); err != nil {
		return err
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		fences = map[int64]bool{}
		landed = make(chan struct{}, workers*each)
	)
	// A store whose lease is never released makes no progress at all: stop
	// once no increment has landed for storeStall, rather than wait out
	// the whole deadline (a slow but working store lands one every few
	// milliseconds).
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		for {
			select {
			case <-landed:
			case <-ctx.Done():
				return
			case <-time.After(storeStall):
				cancel(fmt.Errorf("no increment landed for %s", storeStall))
				return
			}
		}
	}()
	for range workers {
		wg.Go(func() {
			for range each {
				f, err := storeIncrement(ctx, s, keys, id, 30*time.Second)
				if err == nil {
					landed <- struct{}{}
				} else if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
					err = fmt.Errorf("%w (%v)", err, cause)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if fences[f] {
					errs = append(errs, fmt.Errorf("fence %d granted to two holders", f))
				}
				fences[f] = true
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		if len(errs) > 5 {
			errs = append(errs[:5], fmt.Errorf("and %d more", len(errs)-5))
		}
		return fmt.Errorf("%d goroutines × %d increments: %w", workers, each, errors.Join(errs...))
	}
	return storeCounterWant(ctx, s, keys, id, workers*each)
}
