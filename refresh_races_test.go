package connector_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"

	"github.com/connector-go/connector/simulator"

	"sync/atomic"
)

// The tests of this file race a refresh against what happens around it:
// the caller giving up after the provider answered, and another process
// deleting the connection and authorizing it again.

// cancelBeforeWrite is a store whose PutUnlock first cancels the caller's
// context, once armed: the caller gives up (a signal, a request that ends)
// after the provider answered the refresh and before its write.
type cancelBeforeWrite struct {
	store.Store
	armed  atomic.Bool
	cancel context.CancelFunc
}

func (s *cancelBeforeWrite) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	if s.armed.Load() {
		s.cancel()
	}
	return s.Store.PutUnlock(ctx, rec, l)
}

// TestRefreshStoredAfterCallerCancels: once the provider has rotated the
// grant, its answer is written to the store although the caller's context
// ends before the write. Written with that context, the write failed and
// the rotated token waited in memory only, to be lost with a process that
// exits on the same signal (a `refresh --due` stopped by ^C): with a
// provider that revokes the old refresh token at once, the grant with it.
// The memory store does not read contexts; the others do. (From a review.)
func TestRefreshStoredAfterCallerCancels(t *testing.T) {
	for _, b := range dueBackends {
		if b.name == "memory" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			raw := b.open(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &cancelBeforeWrite{Store: raw, cancel: cancel}
			w := newWorld(t)
			w.opts.Store = s
			c := w.connector(t)
			conn := w.authorize(t, c)
			before, err := raw.Get(context.Background(), conn.StoreKey())
			if err != nil {
				t.Fatal(err)
			}
			refreshes := w.sim.Stats().Refreshes

			s.armed.Store(true)
			_, rerr := conn.Refresh(ctx)
			s.armed.Store(false)
			if got := w.sim.Stats().Refreshes - refreshes; got != 1 {
				t.Fatalf("the provider saw %d refreshes, want 1 (Refresh: %v)", got, rerr)
			}
			if err := conn.PendingWrite(); err != nil {
				t.Errorf("after the caller's context ended, the rotated token waits in memory: %v (Refresh: %v)", err, rerr)
			}
			after, err := raw.Get(context.Background(), conn.StoreKey())
			if err != nil {
				t.Fatal(err)
			}
			if after.Version != before.Version+1 {
				t.Errorf("the store holds version %d, want %d: the rotated token was not written (Refresh: %v)", after.Version, before.Version+1, rerr)
			}
		})
	}
}

// TestTokenAfterRecreatedElsewhere: another process deleted a connection
// this process created and authorized it again, a new record at version 1
// again, which this process cannot tell from its own by version or by a
// creation time it never read. When the access token needs refreshing, the
// record re-read under the lease (its sealed secret differs) is the one
// refreshed: the new grant. Before, the old grant's refresh token was
// presented and its rotation written over the new grant, which was lost.
func TestTokenAfterRecreatedElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refreshes int // this process's refreshes before the deletion
	}{
		{"at the same version", 0},
		{"at a lower version", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := memory.New()
			w := newDueWorld(t, st)
			w.sim.SetStrictRotation(true) // a refresh token presented is revoked at once
			here := w.connector(t)
			ids := w.connections(t, here, []time.Time{w.clock.Now().Add(time.Hour)})
			conn, err := here.Connection(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			for range tc.refreshes {
				if _, err := conn.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := conn.Token(ctx); err != nil {
				t.Fatal(err)
			}
			// Another process: deletes the record (no Connector of this
			// process hears of it) and imports a new grant for the same
			// account.
			if err := st.Delete(ctx, conn.StoreKey()); err != nil {
				t.Fatal(err)
			}
			o := w.opts
			o.Store, o.Keyring = memory.New(), nil
			issuer, err := connector.New("jumpseller", o)
			if err != nil {
				t.Fatal(err)
			}
			defer issuer.Close()
			tok2, err := w.grant(issuer)
			if err != nil {
				t.Fatal(err)
			}
			tok2.AccountID = "store-0000"
			tok2.Expiry, tok2.IssuedAt = w.clock.Now().Add(time.Hour), w.clock.Now()
			if _, err := w.connector(t).Import(ctx, tok2); err != nil {
				t.Fatal(err)
			}

			w.clock.Advance(2 * time.Hour) // both access tokens have expired
			before := w.sim.Stats()
			tok, err := conn.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if st := w.sim.Stats(); st.Refreshes-before.Refreshes != 1 || st.FailedRefreshes != before.FailedRefreshes {
				t.Errorf("Token made %d refreshes (%d refused), want one, of the new grant", st.Refreshes-before.Refreshes, st.FailedRefreshes-before.FailedRefreshes)
			}
			if w.sim.ValidRefreshToken(tok2.RefreshToken) {
				t.Errorf("the new grant's refresh token was not the one presented: the old grant was refreshed in its place")
			}
			rec, err := st.Get(ctx, conn.StoreKey())
			if err != nil || rec.Status != store.Active {
				t.Fatalf("the stored connection: %+v, %v; want it active", rec, err)
			}
			stored, err := w.connector(t).Connection(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if got, err := stored.Token(ctx); err != nil || got.AccessToken != tok.AccessToken {
				t.Errorf("the store's token is not the one Token returned (%v)", err)
			}
		})
	}
}

// gateLockStore holds the first Lock until gate is closed.
type gateLockStore struct {
	store.Store
	once    sync.Once
	entered chan struct{}
	gate    chan struct{}
}

func (s *gateLockStore) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.gate
	}
	return s.Store.Lock(ctx, id, ttl)
}

// TestRefreshAfterFailedConcurrentRefresh: two callers ask for a
// refresh of the same token (two API requests answered 401 at once). The
// first one's refresh fails transiently (503): the record under the lease
// is the one this process holds, nothing changed. The second caller's
// token is still the one it saw, so it refreshes. A first version of
// unchanged compared the sealed secret with the snapshot's, which keeps
// none: every re-read under the lease re-adopted the record, the
// snapshot's token pointer changed, and the second Refresh returned the
// very token that the API had just rejected, without refreshing. (From a
// review.)
func TestRefreshAfterFailedConcurrentRefresh(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	gs := &gateLockStore{Store: w.store, entered: make(chan struct{}), gate: make(chan struct{})}
	conn := w.authorize(t, w.connector(t, func(o *connector.Options) {
		o.Store = gs
		o.Retry.Max = -1 // one attempt: the 503 is the refresh's outcome
	}))
	old, err := conn.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldAccess := old.AccessToken
	w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 503, Body: `{"error":"temporarily_unavailable"}`})

	type result struct {
		tok *connector.Token
		err error
	}
	first := make(chan result, 1)
	go func() {
		tok, err := conn.Refresh(ctx)
		first <- result{tok, err}
	}()
	<-gs.entered // the first Refresh holds the flight, its Lock waits
	second := make(chan result, 1)
	go func() {
		tok, err := conn.Refresh(ctx) // sees the same token, waits for the flight
		second <- result{tok, err}
	}()
	time.Sleep(100 * time.Millisecond)
	close(gs.gate)
	r1 := <-first
	if r1.err != nil || r1.tok.AccessToken != oldAccess {
		t.Fatalf("first Refresh: %v, %v; want the cached token after the 503", r1.tok, r1.err)
	}
	r2 := <-second
	if r2.err != nil {
		t.Fatalf("second Refresh: %v", r2.err)
	}
	if r2.tok.AccessToken == oldAccess {
		t.Errorf("the second Refresh returned the token it had seen (and the API had rejected) without refreshing; the provider answered %d refreshes",
			w.sim.Stats().Refreshes)
	}
}

// hookLockStore runs onLock once, right after a Lock took the lease.
type hookLockStore struct {
	*memory.Store
	mu     sync.Mutex
	onLock func()
}

func (s *hookLockStore) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	l, r, err := s.Store.Lock(ctx, id, ttl)
	s.mu.Lock()
	f := s.onLock
	s.onLock = nil
	s.mu.Unlock()
	if err == nil && f != nil {
		f()
	}
	return l, r, err
}

// TestInvalidGrantAfterRecreatedDuringRefresh: while this process
// holds the lease and refreshes (version 1), another process deletes the
// connection, revoking its grant, and authorizes the account again: a new
// record, at version 1 too. The refresh gets invalid_grant; refreshFailed
// re-reads the record, and it compared versions only: it took the new
// record for its own, and markReauth's PutUnlock (version 1 = 1, no newer
// fence: Delete dropped the lease) wrote the dead grant, needs_reauth, over
// the new authorization. It now compares as the lease re-reads do
// (unchanged). (From a review.)
func TestInvalidGrantAfterRecreatedDuringRefresh(t *testing.T) {
	ctx := context.Background()
	hs := &hookLockStore{Store: memory.New()}
	w := newDueWorld(t, hs)
	here := w.connector(t)
	ids := w.connections(t, here, []time.Time{w.clock.Now().Add(time.Hour)})
	conn, err := here.Connection(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	var tok2 *connector.Token
	hs.onLock = func() {
		// Another process: Delete with revocation, then a new grant.
		if err := hs.Store.Delete(ctx, conn.StoreKey()); err != nil {
			t.Error(err)
			return
		}
		w.sim.RevokeAll()
		o := w.opts
		o.Store, o.Keyring = memory.New(), nil
		issuer, err := connector.New("jumpseller", o)
		if err != nil {
			t.Error(err)
			return
		}
		defer issuer.Close()
		if tok2, err = w.grant(issuer); err != nil {
			t.Error(err)
			return
		}
		tok2.AccountID = "store-0000"
		tok2.Expiry, tok2.IssuedAt = w.clock.Now().Add(time.Hour), w.clock.Now()
		other, err := connector.New("jumpseller", w.opts)
		if err != nil {
			t.Error(err)
			return
		}
		defer other.Close()
		if _, err := other.Import(ctx, tok2); err != nil {
			t.Error(err)
		}
	}
	_, rerr := conn.Refresh(ctx)
	t.Logf("Refresh: %v", rerr)
	if tok2 == nil {
		t.Fatal("the other process's authorization did not happen")
	}
	rec, err := hs.Store.Get(ctx, conn.StoreKey())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.Active {
		t.Errorf("the new authorization was overwritten: stored status %s (%q), version %d; want the other process's new grant, active", rec.Status, rec.Reason, rec.Version)
	}
	if !w.sim.ValidRefreshToken(tok2.RefreshToken) {
		t.Errorf("the new grant's refresh token was spent")
	}
}
