package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/connector-go/connector/store"
)

// StoreClaimCounter is implemented by a StoreHarness that can count the
// claims (store.Store.Claim) a store holds, expired or not. TestStore then
// checks that expired claims do not pile up. Without it, the check reads a
// StoreDumper's dump instead, if the dump shows the claim keys; a harness
// whose dump is a database file (where deleted rows linger in free pages
// and the journal) should implement StoreClaimCounter.
type StoreClaimCounter interface {
	// ClaimCount returns how many claims whose key contains substr s holds.
	ClaimCount(ctx context.Context, t testing.TB, s store.Store, substr string) (int, error)
}

// freshClaimer returns a fresh store twice: as the store, and as what
// claims (Claim is part of store.Store).
func (e *storeEnv) freshClaimer(ctx context.Context) (store.Store, store.Store, error) {
	s, err := e.fresh(ctx)
	return s, s, err
}

func storeClaimMarker() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "claim-" + hex.EncodeToString(b[:])
}

func storeCheckClaimOnce(ctx context.Context, e *storeEnv) error {
	_, cl, err := e.freshClaimer(ctx)
	if err != nil {
		return err
	}
	key := "state:" + storeClaimMarker()
	if err := cl.Claim(ctx, key, storeLongTTL); err != nil {
		return storeNoErr(err, "first Claim of a key")
	}
	if err := storeWantErr(cl.Claim(ctx, key, storeLongTTL), store.ErrClaimed, "second Claim of a key within its ttl"); err != nil {
		return err
	}
	if err := cl.Claim(ctx, key+"-other", storeLongTTL); err != nil {
		return storeNoErr(err, "Claim of another key while the first is claimed")
	}
	return nil
}

func storeCheckClaimExpiry(ctx context.Context, e *storeEnv) error {
	s, cl, err := e.freshClaimer(ctx)
	if err != nil {
		return err
	}
	key := "state:" + storeClaimMarker()
	if err := cl.Claim(ctx, key, StoreShortTTL); err != nil {
		return storeNoErr(err, "first Claim with a short ttl")
	}
	if err := storeWantErr(cl.Claim(ctx, key, StoreShortTTL), store.ErrClaimed, "second Claim before the first expired"); err != nil {
		return err
	}
	e.pass(s, StoreShortTTL)
	if err := cl.Claim(ctx, key, storeLongTTL); err != nil {
		return storeNoErr(err, "Claim of a key whose claim expired")
	}
	return storeWantErr(cl.Claim(ctx, key, storeLongTTL), store.ErrClaimed, "Claim of a key claimed again after expiry")
}

func storeCheckClaimConcurrent(ctx context.Context, e *storeEnv) error {
	_, cl, err := e.freshClaimer(ctx)
	if err != nil {
		return err
	}
	const n = 32
	key := "state:" + storeClaimMarker()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = cl.Claim(ctx, key, storeLongTTL)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrClaimed):
			return fmt.Errorf("concurrent Claim %d: got %v, want success or store.ErrClaimed", i, err)
		}
	}
	if won != 1 {
		return fmt.Errorf("%d goroutines claimed one key at once: %d succeeded, want exactly 1", n, won)
	}
	return nil
}

// claimsHeld counts the claims with marker in their key that s holds,
// through the harness's StoreClaimCounter or its StoreDumper.
func (e *storeEnv) claimsHeld(ctx context.Context, s store.Store, marker string) (int, error) {
	if c, ok := e.h.(StoreClaimCounter); ok {
		return c.ClaimCount(ctx, e.t, s, marker)
	}
	vals, err := e.h.(StoreDumper).RawValues(ctx, e.t, s)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range vals {
		n += bytes.Count(v, []byte(marker))
	}
	return n, nil
}

func storeCheckClaimsDoNotPile(ctx context.Context, e *storeEnv) error {
	_, counter := e.h.(StoreClaimCounter)
	_, dumper := e.h.(StoreDumper)
	if !counter && !dumper {
		return fmt.Errorf("%w: the harness has neither ClaimCount nor RawValues", errStoreNotApplicable)
	}
	s, cl, err := e.freshClaimer(ctx)
	if err != nil {
		return err
	}
	const n = 20
	marker := storeClaimMarker()
	for i := range n {
		if err := cl.Claim(ctx, fmt.Sprintf("state:%s-%02d", marker, i), StoreShortTTL); err != nil {
			return storeNoErr(err, "Claim")
		}
	}
	before, err := e.claimsHeld(ctx, s, marker)
	if err != nil {
		return storeNoErr(err, "harness count of claims")
	}
	if before == 0 {
		if counter {
			return fmt.Errorf("harness counts no claims after %d Claims", n)
		}
		return fmt.Errorf("%w: the harness's dump does not show claims", errStoreNotApplicable)
	}
	e.pass(s, StoreShortTTL)
	if err := cl.Claim(ctx, "state:later-"+storeClaimMarker(), storeLongTTL); err != nil {
		return storeNoErr(err, "Claim after the others expired")
	}
	after, err := e.claimsHeld(ctx, s, marker)
	if err != nil {
		return storeNoErr(err, "harness count of claims")
	}
	if after >= before {
		return fmt.Errorf("%d claims expired and another was made, but the store still holds as much of them (%d before, %d after): expired claims pile up", n, before, after)
	}
	return nil
}

// storeSkipOrFail reports the result of a check to t: skipped if it was
// not applicable, failed if it returned another error.
func storeSkipOrFail(t *testing.T, err error) {
	t.Helper()
	switch {
	case err == nil:
	case errors.Is(err, errStoreNotApplicable):
		t.Skip(strings.TrimPrefix(err.Error(), "not applicable: "))
	default:
		t.Error(err)
	}
}
