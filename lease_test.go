package connector_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/sqlite"
)

// TestLeaseTTLMustExceedBudget: a lease that can lapse while its holder's
// refresh is still in flight lets a second process present the same
// refresh token, so such options are refused.
func TestLeaseTTLMustExceedBudget(t *testing.T) {
	tests := []struct {
		name    string
		lease   time.Duration
		budget  time.Duration
		wantErr bool
	}{
		{"defaults", 0, 0, false},
		{"default lease over a long budget", 0, 5 * time.Minute, false},
		{"lease shorter than the budget", 2 * time.Second, 5 * time.Second, true},
		{"lease equal to the budget", 5 * time.Second, 5 * time.Second, true},
		{"lease shorter than the default budget", 10 * time.Second, 0, true},
		{"lease longer than the budget", 6 * time.Second, 5 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			o := w.opts
			o.LeaseTTL, o.Retry.Budget = tt.lease, tt.budget
			c, err := connector.New("jumpseller", o)
			if c != nil {
				c.Close()
			}
			if tt.wantErr {
				if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "LeaseTTL") {
					t.Fatalf("New = %v; want driver.InvalidConfig naming LeaseTTL", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDefaultLeaseFollowsBudget: the default lease is the retry budget and
// a margin for the store's re-read and write, not minutes: a process killed
// mid-refresh blocks the others no longer than that.
func TestDefaultLeaseFollowsBudget(t *testing.T) {
	// The figure itself, read from the options' documented rule.
	for _, tt := range []struct {
		budget, want time.Duration
	}{{0, 40 * time.Second}, {time.Second, 11 * time.Second}, {90 * time.Second, 100 * time.Second}} {
		if got := connector.DefaultLeaseTTL(connector.RetryPolicy{Budget: tt.budget}); got != tt.want {
			t.Errorf("default lease for a budget of %v = %v, want %v", tt.budget, got, tt.want)
		}
	}
}

// TestOnLeaseWait: the LeaseWait event: a refresh that finds the lease held by another process
// says so at once (which connection, until when), waits for the lease to
// lapse, then refreshes.
func TestOnLeaseWait(t *testing.T) {
	w := newWorld(t)
	type wait struct {
		id    string
		until time.Time
		at    time.Time
	}
	var mu sync.Mutex
	var waits []wait
	lease := 2 * time.Second
	c := w.connector(t, func(o *connector.Options) {
		o.Retry.Budget, o.LeaseTTL = 300*time.Millisecond, lease
		o.OnEvent = func(_ context.Context, e connector.Event) {
			if e.Kind != connector.LeaseWait {
				return
			}
			mu.Lock()
			waits = append(waits, wait{e.Connection.ID, e.Until, time.Now()})
			mu.Unlock()
		}
	})
	conn := w.authorize(t, c)
	// Another process took the lease and died.
	if _, _, err := w.store.Lock(context.Background(), conn.StoreKey(), lease); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Hour)
	start := time.Now()
	tok, err := conn.Token(context.Background())
	if err != nil {
		t.Fatalf("Token after the dead holder's lease lapsed: %v", err)
	}
	if tok.Expiry.Before(w.clock.Now()) {
		t.Error("expired token returned")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 1 {
		t.Fatalf("LeaseWait came %d times, want once", len(waits))
	}
	got := waits[0]
	if got.id != conn.ID() {
		t.Errorf("LeaseWait names %q, want %q", got.id, conn.ID())
	}
	if d := got.at.Sub(start); d > 1500*time.Millisecond {
		t.Errorf("LeaseWait came %v after the wait began, want at once", d)
	}
	if got.until.Before(start) || got.until.After(start.Add(lease+time.Second)) {
		t.Errorf("LeaseWait's Until = %v, want within the lease (%v) of %v", got.until, lease, start)
	}
}

// TestPersistentStoreNeedsKey: a store that outlives the process, given
// without a Keyring and without CONNECTOR_ENCRYPTION_KEY, would seal with a
// random per-process key that the next process cannot read: refused. The
// memory store may.
func TestPersistentStoreNeedsKey(t *testing.T) {
	t.Setenv("CONNECTOR_ENCRYPTION_KEY", "")
	t.Setenv("CONNECTOR_ENCRYPTION_OLD_KEYS", "")
	w := newWorld(t)
	s, err := sqlite.Open(context.Background(), t.TempDir()+"/tokens.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name    string
		mutate  func(*connector.Options)
		wantErr bool
	}{
		{"sqlite without a key", func(o *connector.Options) { o.Store, o.Keyring = s, nil }, true},
		{"a wrapped memory store without a key", func(o *connector.Options) { o.Store, o.Keyring = &failingStore{Store: w.store}, nil }, true},
		{"sqlite with a keyring", func(o *connector.Options) { o.Store = s }, false},
		{"memory without a key", func(o *connector.Options) { o.Keyring = nil }, false},
		{"no store at all", func(o *connector.Options) { o.Store, o.Keyring = nil, nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := w.opts
			tt.mutate(&o)
			c, err := connector.New("jumpseller", o)
			if c != nil {
				c.Close()
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "CONNECTOR_ENCRYPTION_KEY") {
				t.Fatalf("New = %v; want driver.InvalidConfig naming CONNECTOR_ENCRYPTION_KEY", err)
			}
		})
	}
}

// callLog is a store.Store that records the names of the calls made to it.
type callLog struct {
	store.Store
	mu    sync.Mutex
	calls []string
}

func (s *callLog) log(name string) {
	s.mu.Lock()
	s.calls = append(s.calls, name)
	s.mu.Unlock()
}

// take returns the calls recorded since the last take.
func (s *callLog) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func (s *callLog) Get(ctx context.Context, id string) (*store.Record, error) {
	s.log("Get")
	return s.Store.Get(ctx, id)
}

func (s *callLog) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	s.log("Put")
	return s.Store.Put(ctx, rec, fence)
}

func (s *callLog) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	s.log("PutUnlock")
	return s.Store.PutUnlock(ctx, rec, l)
}

func (s *callLog) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	s.log("Lock")
	return s.Store.Lock(ctx, id, ttl)
}

func (s *callLog) Unlock(ctx context.Context, l *store.Lease) error {
	s.log("Unlock")
	return s.Store.Unlock(ctx, l)
}

// TestRefreshStoreCalls checks the store calls of a refresh: Lock, which
// reads the record under the lease, and PutUnlock, which writes and
// releases — two, where there were four; the adoption of another process's
// token and the wait for its lease read no record apart either.
func TestRefreshStoreCalls(t *testing.T) {
	tests := []struct {
		name string
		// before sets the scene after the clock moved past the token's
		// expiry; it returns what to do while Token runs, or nil.
		before func(t *testing.T, w *world, conn *connector.Connection) func()
		want   func(calls []string) bool
		wants  string
	}{
		{"refresh", nil,
			func(c []string) bool { return slices.Equal(c, []string{"Lock", "PutUnlock"}) }, "Lock, PutUnlock"},
		{"another process refreshed first", func(t *testing.T, w *world, conn *connector.Connection) func() {
			other, err := w.connector(t).Connection(context.Background(), conn.ID())
			if err == nil {
				_, err = other.Token(context.Background())
			}
			if err != nil {
				t.Fatal(err)
			}
			return nil
		}, func(c []string) bool { return slices.Equal(c, []string{"Lock", "Unlock"}) }, "Lock (which reads the new token), Unlock"},
		{"another process holds the lease", func(t *testing.T, w *world, conn *connector.Connection) func() {
			l, _, err := w.store.Lock(context.Background(), conn.StoreKey(), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return func() {
				time.Sleep(50 * time.Millisecond)
				w.store.Unlock(context.Background(), l)
			}
		}, func(c []string) bool {
			n := len(c)
			return n >= 3 && c[n-2] == "Lock" && c[n-1] == "PutUnlock" &&
				!slices.ContainsFunc(c[:n-2], func(s string) bool { return s != "Lock" })
		}, "Locks refused, then Lock, PutUnlock; no Get"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			cl := &callLog{Store: w.store}
			c := w.connector(t, func(o *connector.Options) { o.Store = cl })
			conn := w.authorize(t, c)
			w.clock.Advance(2 * time.Hour)
			var during func()
			if tt.before != nil {
				during = tt.before(t, w, conn)
			}
			cl.take()
			if during != nil {
				go during()
			}
			if _, err := conn.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := cl.take(); !tt.want(got) {
				t.Errorf("store calls %q; want %s", got, tt.wants)
			}
		})
	}
}
