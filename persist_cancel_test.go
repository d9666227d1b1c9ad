package connector_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/connector-go/connector/store"
)

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
