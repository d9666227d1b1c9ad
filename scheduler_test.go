package connector_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"

	"errors"
	"strings"

	"github.com/connector-go/connector/driver"

	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store/postgres"
	"github.com/connector-go/connector/store/redis"
	"github.com/connector-go/connector/store/sqlite"
)

// dueBackend opens a fresh, empty store of one backend for the scheduler's
// tests and benchmarks, removed when the test ends; a server that is absent
// skips the test (and fails it under CI=true).
type dueBackend struct {
	name string
	open func(t testing.TB) store.Store
}

var dueBackends = []dueBackend{
	{"memory", func(testing.TB) store.Store { return memory.New() }},
	{"sqlite", func(t testing.TB) store.Store {
		t.Setenv(store.EnvKey, "") // no key from the environment: the connectors bring their own keyring
		s, err := sqlite.Open(context.Background(), t.TempDir()+"/connector.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t testing.TB) store.Store {
		dsn := os.Getenv("CONNECTOR_TEST_POSTGRES")
		if dsn == "" {
			dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(dsn, "pool_max_conns=") {
			cfg.MaxConns = postgres.DefaultMaxConns // as postgres.Open sizes its pool
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err == nil {
			err = pool.Ping(ctx)
		}
		if err != nil {
			testenv.Absent(t, "PostgreSQL", fmt.Sprintf("PostgreSQL is not reachable (%v); start one or set CONNECTOR_TEST_POSTGRES", err))
		}
		schema := "connector_due_" + randomHex(6)
		t.Cleanup(func() {
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
		})
		s, err := postgres.New(ctx, pool, schema)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"redis", func(t testing.TB) store.Store {
		url := os.Getenv("CONNECTOR_TEST_REDIS")
		if url == "" {
			url = "redis://127.0.0.1:6379/0"
		}
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		client := goredis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			testenv.Absent(t, "Redis", fmt.Sprintf("Redis is not reachable (%v); start one or set CONNECTOR_TEST_REDIS", err))
		}
		prefix := "connector-due-test:" + randomHex(6) + ":"
		t.Cleanup(func() {
			defer client.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var keys []string
			iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			err := iter.Err()
			for len(keys) > 0 && err == nil {
				n := min(len(keys), 1000)
				err = client.Del(ctx, keys[:n]...).Err()
				keys = keys[n:]
			}
			if err != nil {
				t.Errorf("clean up %s*: %v", prefix, err)
			}
		})
		return redis.New(client, prefix)
	}},
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// dueWorld is a Jumpseller simulator, served behind a handler that counts
// the token requests in flight, and connectors on one store.
type dueWorld struct {
	sim   *simulator.Server
	srv   *httptest.Server
	clock *clock
	opts  connector.Options

	mu            sync.Mutex
	inFlight, max int
}

func newDueWorld(t testing.TB, st store.Store) *dueWorld {
	t.Helper()
	w := &dueWorld{sim: jumpseller.NewSimulator(), clock: testclock.New(time.Now().Truncate(time.Second))}
	w.sim.SetClock(w.clock.Now)
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == simulator.TokenPath {
			w.mu.Lock()
			w.inFlight++
			w.max = max(w.max, w.inFlight)
			w.mu.Unlock()
			defer func() {
				w.mu.Lock()
				w.inFlight--
				w.mu.Unlock()
			}()
		}
		w.sim.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	redirect := w.srv.URL + "/callback"
	w.sim.AddClient(clientID, clientSecret, redirect)
	keys, _ := store.NewKeyring(store.NewRandomKey())
	w.opts = connector.Options{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect,
		Scopes: []string{"read_store", "read_orders"}, Endpoint: w.sim.Endpoint(w.srv.URL),
		Store: st, Keyring: keys, Clock: w.clock.Now,
		Retry: connector.RetryPolicy{Max: 2, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond},
	}
	return w
}

func (w *dueWorld) connector(t testing.TB, mutate ...func(*connector.Options)) *connector.Connector {
	t.Helper()
	o := w.opts
	for _, m := range mutate {
		m(&o)
	}
	c, err := connector.New("jumpseller", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// grant obtains a fresh grant at the simulator through issuer, a connector
// on a memory store of its own (the simulator names one account: its
// grants are one connection there, replaced by each).
func (w *dueWorld) grant(issuer *connector.Connector) (*connector.Token, error) {
	ctx := context.Background()
	u, err := issuer.AuthCodeURL(nil)
	if err != nil {
		return nil, err
	}
	back, err := w.sim.Approve(u)
	if err != nil {
		return nil, err
	}
	conn, err := issuer.HandleCallback(ctx, back.Query())
	if err != nil {
		return nil, err
	}
	tok, err := conn.Token(ctx)
	if err != nil {
		return nil, err
	}
	return tok.Clone(), nil
}

// connections stores, through c, one connection per expiry, each a grant
// of its own at the simulator, with accounts store-0000, store-0001, …
// (ids jumpseller:store-0000, …), several at once. Past 4,000 grants it
// moves the clock on 21 minutes per 4,000, so that the simulator forgets
// the codes it issued (it keeps 4,096 younger than twice their lifetime):
// expiries given in the past stay in the past.
func (w *dueWorld) connections(t testing.TB, c *connector.Connector, expiries []time.Time) []string {
	t.Helper()
	const batch = 4000
	ids := make([]string, len(expiries))
	var failed sync.Once
	var firstErr error
	for from := 0; from < len(expiries); from += batch {
		if from > 0 {
			w.clock.Advance(21 * time.Minute)
		}
		work := make(chan int)
		var wg sync.WaitGroup
		for range 16 {
			o := w.opts
			o.Store, o.Keyring = memory.New(), nil
			issuer, err := connector.New("jumpseller", o)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer issuer.Close()
				for i := range work {
					tok, err := w.grant(issuer)
					if err == nil {
						tok.AccountID = fmt.Sprintf("store-%04d", i)
						tok.Expiry, tok.IssuedAt = expiries[i], expiries[i].Add(-time.Hour)
						var conn *connector.Connection
						if conn, err = c.Import(context.Background(), tok); err == nil {
							ids[i] = conn.ID()
						}
					}
					if err != nil {
						failed.Do(func() { firstErr = err })
					}
				}
			})
		}
		for i := from; i < min(from+batch, len(expiries)); i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		if firstErr != nil {
			t.Fatalf("a connection for the scheduler: %v", firstErr)
		}
	}
	return ids
}

// sortedIDs returns ids sorted.
func sortedIDs(ids []string) []string {
	ids = slices.Clone(ids)
	sort.Strings(ids)
	return ids
}

// TestRefreshDueSelectsByExpiry checks, on every backend, which
// connections a sweep refreshes and in which order: the active ones of
// this application and provider whose token expires within the window or
// has expired, the most urgent first; not a later one, one that needs
// reauthorization, or another application's. A limit takes the most
// urgent.
func TestRefreshDueSelectsByExpiry(t *testing.T) {
	for _, b := range dueBackends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			w := newDueWorld(t, st)
			c := w.connector(t)
			ctx := context.Background()
			now := w.clock.Now()
			ids := w.connections(t, c, []time.Time{
				now.Add(30 * time.Minute), // 0: due
				now.Add(-time.Hour),       // 1: expired: the most urgent
				now.Add(10 * time.Minute), // 2: due
				now.Add(3 * time.Hour),    // 3: not due
				now.Add(20 * time.Minute), // 4: due, but needs reauthorization
				now.Add(50 * time.Minute), // 5: due (the limit leaves it for the second sweep)
			})
			// 4 needs reauthorization.
			conn4, err := c.Connection(ctx, ids[4])
			if err != nil {
				t.Fatal(err)
			}
			rec, err := st.Get(ctx, conn4.StoreKey())
			if err != nil {
				t.Fatal(err)
			}
			rec.Status = store.NeedsReauth
			if _, err := st.Put(ctx, rec, 0); err != nil {
				t.Fatal(err)
			}
			// Another application's connection in the same store, due.
			w.sim.AddClient("other-app", "other-secret-0a1b2c3d", w.opts.RedirectURL)
			other := w.connector(t, func(o *connector.Options) { o.ClientID, o.ClientSecret = "other-app", "other-secret-0a1b2c3d" })
			otherConn, err := other.Import(ctx, &connector.Token{AccessToken: "other-access", RefreshToken: "other-refresh", TokenType: "bearer",
				AccountID: "store-0001", IssuedAt: now.Add(-3 * time.Hour), Expiry: now.Add(-2 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}

			window := connector.DueOptions{Window: 55 * time.Minute, Concurrency: 1}
			first := window
			first.Limit = 3
			res, err := w.connector(t).RefreshDue(ctx, first)
			if err != nil {
				t.Fatalf("RefreshDue: %v (%+v)", err, res)
			}
			if d := cmp.Diff([]string{ids[1], ids[2], ids[0]}, res.Refreshed); d != "" || res.Due != 3 {
				t.Errorf("first sweep (limit 3, one at a time): %d due, refreshed (-want +got):\n%s", res.Due, d)
			}
			res, err = w.connector(t).RefreshDue(ctx, window)
			if err != nil {
				t.Fatalf("RefreshDue: %v (%+v)", err, res)
			}
			if d := cmp.Diff([]string{ids[5]}, res.Refreshed); d != "" || res.Due != 1 {
				t.Errorf("second sweep: %d due, refreshed (-want +got):\n%s", res.Due, d)
			}
			if st := w.sim.Stats(); st.Refreshes != 4 || st.FailedRefreshes != 0 {
				t.Errorf("simulator: %d refreshes, %d failed; want 4 and none", st.Refreshes, st.FailedRefreshes)
			}
			if got, _ := st.Get(ctx, otherConn.StoreKey()); got == nil || got.Version != 1 {
				t.Errorf("another application's connection was written: %+v", got)
			}
			if res, err := w.connector(t).RefreshDue(ctx, window); err != nil || res.Due != 0 {
				t.Errorf("a third sweep = %+v, %v; want nothing due", res, err)
			}
		})
	}
}

// countingStore counts the calls the scheduler makes.
type countingStore struct {
	store.Store
	mu                sync.Mutex
	lists, gets, dues int
	beforeLock        func(id string) // called at each Lock, if set
	locks, conflicts  int
}

func (s *countingStore) List(ctx context.Context) ([]*store.Record, error) {
	s.mu.Lock()
	s.lists++
	s.mu.Unlock()
	return s.Store.List(ctx)
}

func (s *countingStore) Get(ctx context.Context, id string) (*store.Record, error) {
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	return s.Store.Get(ctx, id)
}

func (s *countingStore) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	s.mu.Lock()
	s.locks++
	hook := s.beforeLock
	s.beforeLock = nil
	s.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	l, rec, err := s.Store.Lock(ctx, id, ttl)
	if err != nil {
		s.mu.Lock()
		s.conflicts++
		s.mu.Unlock()
	}
	return l, rec, err
}

// dueCountingStore is a countingStore that has the due query.
type dueCountingStore struct{ *countingStore }

func (s dueCountingStore) Due(ctx context.Context, before time.Time, limit int) ([]*store.Record, error) {
	s.mu.Lock()
	s.dues++
	s.mu.Unlock()
	return s.Store.(store.DueLister).Due(ctx, before, limit)
}

// TestRefreshDueReadsOnce checks that a fresh process's sweep reads each
// due record once, in the due query, and once more under the lease (the
// re-read, which Lock returns): no List, no Get at all. A store without
// the due query is listed once instead.
func TestRefreshDueReadsOnce(t *testing.T) {
	for _, withDue := range []bool{true, false} {
		t.Run(fmt.Sprint("DueLister=", withDue), func(t *testing.T) {
			cs := &countingStore{Store: memory.New()}
			var st store.Store = cs
			if withDue {
				st = dueCountingStore{cs}
			}
			w := newDueWorld(t, st)
			now := w.clock.Now()
			ids := w.connections(t, w.connector(t), []time.Time{now.Add(-time.Minute), now.Add(time.Minute), now.Add(2 * time.Minute), now.Add(2 * time.Hour)})
			cs.mu.Lock()
			cs.lists, cs.gets, cs.dues, cs.locks = 0, 0, 0, 0
			cs.mu.Unlock()
			res, err := w.connector(t).RefreshDue(context.Background(), connector.DueOptions{Window: 10 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(sortedIDs(ids[:3]), sortedIDs(res.Refreshed)); d != "" {
				t.Errorf("refreshed (-want +got):\n%s", d)
			}
			wantLists, wantDues := 0, 1
			if !withDue {
				wantLists, wantDues = 1, 0
			}
			if cs.lists != wantLists || cs.dues != wantDues || cs.gets != 0 || cs.locks != 3 {
				t.Errorf("store calls: %d List, %d Due, %d Get, %d Lock; want %d, %d, 0 and 3 (Lock re-reads under the lease)", cs.lists, cs.dues, cs.gets, cs.locks, wantLists, wantDues)
			}
		})
	}
}

// TestRefreshDueConcurrency checks the bound on refreshes in flight, seen
// at the simulator, which answers each refresh late.
func TestRefreshDueConcurrency(t *testing.T) {
	for _, tt := range []struct {
		concurrency, n, want int
	}{
		{1, 6, 1},
		{4, 24, 4},
		{0, 2 * connector.DefaultDueConcurrency, connector.DefaultDueConcurrency},
	} {
		t.Run(fmt.Sprint(tt.concurrency), func(t *testing.T) {
			w := newDueWorld(t, memory.New())
			now := w.clock.Now()
			expiries := make([]time.Time, tt.n)
			for i := range expiries {
				expiries[i] = now.Add(time.Duration(i) * time.Second)
			}
			ids := w.connections(t, w.connector(t), expiries)
			w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: 100 * time.Millisecond, Times: tt.n})
			w.mu.Lock()
			w.max = 0
			w.mu.Unlock()
			res, err := w.connector(t).RefreshDue(context.Background(), connector.DueOptions{Window: time.Hour, Concurrency: tt.concurrency})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Refreshed) != tt.n {
				t.Errorf("refreshed %d, want %d", len(res.Refreshed), tt.n)
			}
			if tt.concurrency == 1 && !slices.Equal(ids, res.Refreshed) {
				t.Errorf("one at a time, refreshed %v; want the most urgent first: %v", res.Refreshed, ids)
			}
			// Never above the bound; near it, since each answer waits (a
			// loaded machine may start the workers' requests less at once).
			if w.max > tt.want || w.max < max(1, tt.want/2) {
				t.Errorf("at most %d refreshes in flight at the simulator, want %d", w.max, tt.want)
			}
		})
	}
}

// TestRefreshDueTwoInstances runs two sweeps at once, as two instances of
// an application would, on every backend: each due connection is refreshed
// exactly once (no refresh token presented twice), by one or the other,
// and the other skips it.
func TestRefreshDueTwoInstances(t *testing.T) {
	for _, b := range dueBackends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			w := newDueWorld(t, st)
			const n = 40
			now := w.clock.Now()
			expiries := make([]time.Time, n)
			for i := range expiries {
				expiries[i] = now.Add(-time.Duration(i) * time.Minute)
			}
			ids := w.connections(t, w.connector(t), expiries)
			w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: 20 * time.Millisecond, Times: 2 * n})
			before := w.sim.Stats()
			a, bb := w.connector(t), w.connector(t)
			var ra, rb *connector.DueResult
			var ea, eb error
			var wg sync.WaitGroup
			o := connector.DueOptions{Window: 10 * time.Minute, Concurrency: 8}
			wg.Go(func() { ra, ea = a.RefreshDue(context.Background(), o) })
			wg.Go(func() { rb, eb = bb.RefreshDue(context.Background(), o) })
			wg.Wait()
			if ea != nil || eb != nil {
				t.Fatalf("RefreshDue: %v; %v", ea, eb)
			}
			stats := w.sim.Stats()
			if got := stats.Refreshes - before.Refreshes; got != n || stats.RevokedReuse != 0 || stats.FailedRefreshes != 0 {
				t.Errorf("simulator: %d refreshes, %d revoked refresh tokens presented, %d failed; want %d, 0, 0", got, stats.RevokedReuse, stats.FailedRefreshes, n)
			}
			all := append(slices.Clone(ra.Refreshed), rb.Refreshed...)
			if d := cmp.Diff(sortedIDs(ids), sortedIDs(all)); d != "" {
				t.Errorf("refreshed by the two together (-want +got):\n%s", d)
			}
			for _, r := range []*connector.DueResult{ra, rb} {
				if len(r.Refreshed)+r.Skipped() != r.Due || len(r.Failed) != 0 {
					t.Errorf("result %+v: refreshed and skipped do not add up to due", r)
				}
			}
			t.Logf("instance A: %d refreshed, %d locked, %d current; B: %d, %d, %d", len(ra.Refreshed), ra.Locked, ra.Current, len(rb.Refreshed), rb.Locked, rb.Current)
		})
	}
}

// TestRefreshDueSkips checks the two ways a sweep leaves a due connection
// to another instance: its lease is held (tried once, not waited for), or
// the re-read under the lease shows that another instance refreshed it
// since the due query.
func TestRefreshDueSkips(t *testing.T) {
	ctx := context.Background()
	t.Run("locked", func(t *testing.T) {
		st := memory.New()
		w := newDueWorld(t, st)
		now := w.clock.Now()
		c := w.connector(t)
		ids := w.connections(t, c, []time.Time{now.Add(-time.Minute), now})
		conn, _ := c.Connection(ctx, ids[0])
		if _, _, err := st.Lock(ctx, conn.StoreKey(), time.Minute); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, err := w.connector(t).RefreshDue(ctx, connector.DueOptions{Window: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if res.Locked != 1 || !slices.Equal(res.Refreshed, ids[1:]) || time.Since(start) > 5*time.Second {
			t.Errorf("result %+v after %s; want %s locked (not waited for) and %s refreshed", res, time.Since(start), ids[0], ids[1])
		}
	})
	t.Run("refreshed meanwhile", func(t *testing.T) {
		cs := &countingStore{Store: memory.New()}
		w := newDueWorld(t, dueCountingStore{cs})
		now := w.clock.Now()
		ids := w.connections(t, w.connector(t), []time.Time{now.Add(-time.Minute)})
		elsewhere := w.connector(t)
		// Between the due query and the lock, another instance refreshes.
		cs.beforeLock = func(string) {
			conn, err := elsewhere.Connection(ctx, ids[0])
			if err == nil {
				_, err = conn.Refresh(ctx)
			}
			if err != nil {
				t.Errorf("the other instance's refresh: %v", err)
			}
		}
		res, err := w.connector(t).RefreshDue(ctx, connector.DueOptions{Window: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if res.Current != 1 || len(res.Refreshed) != 0 {
			t.Errorf("result %+v; want the connection skipped as current", res)
		}
		if st := w.sim.Stats(); st.Refreshes != 1 || st.RevokedReuse != 0 {
			t.Errorf("simulator: %d refreshes, %d revoked refresh tokens presented; want 1 and 0", st.Refreshes, st.RevokedReuse)
		}
	})
}

// TestRefreshDueFailures checks that a failed refresh is reported with its
// id and code, in the result and the error, and that the sweep goes on.
func TestRefreshDueFailures(t *testing.T) {
	w := newDueWorld(t, memory.New())
	now := w.clock.Now()
	ids := w.connections(t, w.connector(t), []time.Time{now.Add(-time.Hour), now.Add(-time.Minute), now})
	w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 400, Body: `{"error":"invalid_grant"}`})
	res, err := w.connector(t).RefreshDue(context.Background(), connector.DueOptions{Window: time.Minute, Concurrency: 1})
	if driver.CodeOf(err) != driver.ReauthRequired {
		t.Errorf("err = %v, want one with code reauth_required", err)
	}
	if len(res.Failed) != 1 || res.Failed[0].ID != ids[0] || !slices.Equal(res.Refreshed, ids[1:]) {
		t.Errorf("result %+v; want %s failed, the others refreshed", res, ids[0])
	}
	if d := cmp.Diff(map[driver.Code]int{driver.ReauthRequired: 1}, res.FailedByCode()); d != "" {
		t.Errorf("FailedByCode (-want +got):\n%s", d)
	}
	if _, err := w.connector(t).RefreshDue(context.Background(), connector.DueOptions{Window: -time.Minute}); driver.CodeOf(err) != driver.InvalidConfig {
		t.Errorf("a negative window: %v, want invalid_config", err)
	}
}

// TestRefreshDueRate checks the per-provider pace of a sweep's refreshes.
func TestRefreshDueRate(t *testing.T) {
	w := newDueWorld(t, memory.New())
	now := w.clock.Now()
	w.connections(t, w.connector(t), []time.Time{now, now, now, now, now, now})
	start := time.Now()
	res, err := w.connector(t).RefreshDue(context.Background(), connector.DueOptions{Window: time.Minute, RequestsPerSecond: 20})
	if err != nil || len(res.Refreshed) != 6 {
		t.Fatalf("RefreshDue = %+v, %v", res, err)
	}
	// The first at once, then one every 50 ms.
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Errorf("6 refreshes at 20/s took %s, want at least 250ms", d)
	}
}

// TestRefreshDueProgress checks OnProgress: one call per due connection,
// the last with the totals.
func TestRefreshDueProgress(t *testing.T) {
	w := newDueWorld(t, memory.New())
	now := w.clock.Now()
	w.connections(t, w.connector(t), []time.Time{now, now, now})
	var calls []connector.DueProgress
	res, err := w.connector(t).RefreshDue(context.Background(), connector.DueOptions{Window: time.Minute,
		OnProgress: func(p connector.DueProgress) { calls = append(calls, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[2] != (connector.DueProgress{Due: 3, Refreshed: 3}) || res.Due != 3 {
		t.Errorf("progress %+v, want 3 calls ending with 3 of 3 refreshed", calls)
	}
	if !strings.HasPrefix(res.Refreshed[0], "jumpseller:store-") {
		t.Errorf("refreshed %v", res.Refreshed)
	}
}

// A daily scheduler for SHOPLINE, whose refresh tokens die a day after
// their access token: refresh what expires within three days.
func ExampleConnector_RefreshDue() {
	sim := shopline.NewSimulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddClient("my-app", "my-secret", "http://127.0.0.1:8085/callback")
	// Authorized six months ago: the access token expires in two days.
	clock := testclock.New(time.Now().Add(-sim.Config().AccessTTL + 48*time.Hour))
	sim.SetClock(clock.Now)
	c, err := connector.New("shopline", connector.Options{ClientID: "my-app", ClientSecret: "my-secret",
		RedirectURL: "http://127.0.0.1:8085/callback", Endpoint: sim.Endpoint(srv.URL), Clock: clock.Now})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	authURL, _ := c.AuthCodeURL(nil)
	callback, _ := sim.Approve(authURL)
	if _, err := c.HandleCallback(ctx, callback.Query()); err != nil {
		fmt.Println(err)
		return
	}
	clock.Advance(sim.Config().AccessTTL - 48*time.Hour) // today

	res, err := c.RefreshDue(ctx, connector.DueOptions{Window: 72 * time.Hour})
	if err != nil {
		fmt.Println(err) // res.Failed says which failed, and why
	}
	fmt.Printf("due %d, refreshed %v, failed %d, skipped %d\n", res.Due, res.Refreshed, len(res.Failed), res.Skipped())
	// Output:
	// due 1, refreshed [shopline:5e1d2c3b4a5f6e7d8c9b0a12], failed 0, skipped 0
}

// TestRefreshDueDeletedMeanwhile: a due connection that another process
// deletes between the due query and the lease is no longer due: the sweep
// skips it (Current), and does not report a failure that makes cron exit
// non-zero. (From a review.)
func TestRefreshDueDeletedMeanwhile(t *testing.T) {
	for _, b := range dueBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			raw := b.open(t)
			cs := &countingStore{Store: raw}
			w := newDueWorld(t, dueCountingStore{cs})
			now := w.clock.Now()
			c := w.connector(t)
			ids := w.connections(t, c, []time.Time{now.Add(-time.Minute), now})
			conn, err := c.Connection(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			key := conn.StoreKey()
			// Between the due query and the lease, another process deletes
			// the first connection (straight in the store, as it would).
			cs.beforeLock = func(id string) {
				if id != key {
					t.Errorf("first Lock on %s, want %s", id, key)
				}
				if err := raw.Delete(ctx, key); err != nil {
					t.Errorf("delete: %v", err)
				}
			}
			res, err := w.connector(t).RefreshDue(ctx, connector.DueOptions{Window: time.Minute, Concurrency: 1})
			if err != nil || len(res.Failed) != 0 {
				t.Errorf("RefreshDue = %+v, %v; want no failure for a connection deleted since the due query (skipped)", res, err)
			}
			if len(res.Refreshed)+res.Skipped() != res.Due {
				t.Errorf("result %+v: refreshed and skipped do not add up to due", res)
			}
		})
	}
}

// blockingDue holds the answer of the first due query until release is
// closed, so that another sweep can run to its end meanwhile.
type blockingDue struct {
	*countingStore
	mu      sync.Mutex
	calls   int
	queried chan struct{}
	release chan struct{}
}

func (s *blockingDue) Due(ctx context.Context, before time.Time, limit int) ([]*store.Record, error) {
	recs, err := s.Store.(store.DueLister).Due(ctx, before, limit)
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		close(s.queried)
		<-s.release
	}
	return recs, err
}

// Two overlapping sweeps on one Connector (a service's ticker and a manual
// run, say): the second's due query read the records before the first
// refreshed them. The scheduler promises that a connection refreshed since
// the query is skipped, never refreshed twice, on one Connector as on two
// (two instances). On one Connector the cached newer snapshot used to
// replace the record the query read, so the re-read under the lease
// compared with the wrong version and refreshed it again. A Jumpseller
// token lives an hour and the docs suggest an hourly sweep with "a window
// of an hour or so", so a just-refreshed token is still within the window.
// (From a review.)
func TestRefreshDueOverlappingSweepsOneConnector(t *testing.T) {
	for _, same := range []bool{false, true} {
		name := "two connectors"
		if same {
			name = "one connector"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			bd := &blockingDue{countingStore: &countingStore{Store: memory.New()}, queried: make(chan struct{}), release: make(chan struct{})}
			w := newDueWorld(t, bd)
			now := w.clock.Now()
			const n = 5
			expiries := make([]time.Time, n)
			for i := range expiries {
				expiries[i] = now.Add(time.Duration(i) * time.Minute)
			}
			w.connections(t, w.connector(t), expiries)
			a := w.connector(t)
			b := a
			if !same {
				b = w.connector(t)
			}
			before := w.sim.Stats()
			o := connector.DueOptions{Window: 90 * time.Minute, Concurrency: 1}
			var rb *connector.DueResult
			var eb error
			done := make(chan struct{})
			go func() { defer close(done); rb, eb = b.RefreshDue(ctx, o) }()
			<-bd.queried // b has read the due records
			ra, ea := a.RefreshDue(ctx, o)
			close(bd.release)
			<-done
			if ea != nil || eb != nil || len(ra.Refreshed) != n {
				t.Fatalf("sweeps: %+v, %v; %+v, %v", ra, ea, rb, eb)
			}
			if got := w.sim.Stats().Refreshes - before.Refreshes; got != n || len(rb.Refreshed) != 0 {
				t.Errorf("%d refreshes at the simulator for %d due connections; the overlapping sweep refreshed %d again (%+v), want each once and the rest skipped",
					got, n, len(rb.Refreshed), rb)
			}
		})
	}
}

// TestRefreshDueRateDeadline: a sweep paced by RequestsPerSecond under a
// deadline leaves the connections that cannot get a turn before the
// deadline, at once, with driver.Canceled: the error says why (the
// deadline comes before the next turn) and errors.Is it
// context.DeadlineExceeded, although the context has not ended yet. It
// used to say "the caller's context ended … <nil>". (From a review.)
func TestRefreshDueRateDeadline(t *testing.T) {
	w := newDueWorld(t, memory.New())
	now := w.clock.Now()
	w.connections(t, w.connector(t), []time.Time{now, now, now})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := w.connector(t).RefreshDue(ctx, connector.DueOptions{Window: time.Minute, RequestsPerSecond: 0.1, Concurrency: 1})
	if res.NotStarted != 2 || len(res.Refreshed) != 1 {
		t.Fatalf("result %+v, %v; want 1 refreshed and 2 not started", res, err)
	}
	if driver.CodeOf(err) != driver.Canceled || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "<nil>") {
		t.Errorf("err = %v (code %s, errors.Is DeadlineExceeded %v, ctx.Err() %v); want canceled with the context's error in its chain",
			err, driver.CodeOf(err), errors.Is(err, context.DeadlineExceeded), ctx.Err())
	}
}

// TestRefreshDueHugeWindow: the longest window RefreshDue (and `connector
// refresh --due 106751d`) accepts makes everything active due, on every
// backend. SQLite's due query took before.UnixNano(), which overflows past
// 2262: it found nothing, and the sweep reported success having refreshed
// nothing. (From a review.)
func TestRefreshDueHugeWindow(t *testing.T) {
	for _, b := range dueBackends {
		t.Run(b.name, func(t *testing.T) {
			w := newDueWorld(t, b.open(t))
			now := w.clock.Now()
			ids := w.connections(t, w.connector(t), []time.Time{now.Add(-time.Hour), now.Add(24 * time.Hour)})
			for _, window := range []time.Duration{100 * 365 * 24 * time.Hour, 106751 * 24 * time.Hour} {
				res, err := w.connector(t).RefreshDue(context.Background(), connector.DueOptions{Window: window})
				if err != nil || res.Due != len(ids) {
					t.Errorf("window %s: RefreshDue = %+v, %v; want both connections due", window, res, err)
				}
			}
		})
	}
}

// TestRefreshDueRecreatedElsewhere: another process deleted a connection
// and authorized it again (a new record, its version back at 1) while this
// process still holds the old one, at a higher version. The sweep refreshes
// the new grant: a record created anew is not "older" than the one this
// process cached, whatever their versions. (Version alone made the sweep
// skip the connection at every run, and its grant died.)
func TestRefreshDueRecreatedElsewhere(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	w := newDueWorld(t, st)
	now := w.clock.Now()
	here := w.connector(t)
	ids := w.connections(t, here, []time.Time{now.Add(-time.Minute)})
	conn, err := here.Connection(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // this process's cached record reaches version 3
		if _, err := conn.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Another process: deletes the record (no Connector of this process
	// hears of it) and imports a new grant for the same account, due.
	if err := st.Delete(ctx, conn.StoreKey()); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Second) // the new record's creation time differs
	if got := w.connections(t, w.connector(t), []time.Time{w.clock.Now().Add(-time.Minute)}); got[0] != ids[0] {
		t.Fatalf("re-created %s, want %s", got[0], ids[0])
	}
	created, err := st.Get(ctx, conn.StoreKey())
	if err != nil {
		t.Fatal(err)
	}
	before := w.sim.Stats()
	res, err := here.RefreshDue(ctx, connector.DueOptions{Window: time.Minute})
	if err != nil || !slices.Equal(res.Refreshed, ids) {
		t.Fatalf("RefreshDue = %+v, %v; want %s refreshed", res, err, ids[0])
	}
	if st := w.sim.Stats(); st.Refreshes-before.Refreshes != 1 || st.FailedRefreshes != before.FailedRefreshes {
		t.Errorf("the provider saw %d refreshes and %d refused, want 1 and 0", st.Refreshes-before.Refreshes, st.FailedRefreshes-before.FailedRefreshes)
	}
	after, err := st.Get(ctx, conn.StoreKey())
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != created.Version+1 || !after.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("the store holds version %d created %s; want version %d of the record created %s", after.Version, after.CreatedAt, created.Version+1, created.CreatedAt)
	}
}

// lockCountingStore counts Lock and Unlock calls, and runs afterDue
// once, right after the due query has read its records.
type lockCountingStore struct {
	*memory.Store
	locks, unlocks atomic.Int64
	once           sync.Once
	afterDue       func()
}

func (s *lockCountingStore) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	s.locks.Add(1)
	return s.Store.Lock(ctx, id, ttl)
}

func (s *lockCountingStore) Unlock(ctx context.Context, l *store.Lease) error {
	s.unlocks.Add(1)
	return s.Store.Unlock(ctx, l)
}

func (s *lockCountingStore) Due(ctx context.Context, before time.Time, limit int) ([]*store.Record, error) {
	recs, err := s.Store.Due(ctx, before, limit)
	if err == nil && s.afterDue != nil {
		s.once.Do(s.afterDue)
	}
	return recs, err
}

// TestRefreshDueSkipsWhatThisProcessRefreshed: between the due
// query and the sweep's turn for a connection (a long, rate-limited sweep),
// a Token or Refresh call of this process refreshed it. The process holds
// a newer version of the very record the query read (same creation time):
// the queried version is gone from the store, so there is nothing to take a
// lease for: the sweep skips it without a store call, rather than take the
// lease and give it back (two round trips, and a lease other processes'
// refreshes wait on). (From a review.)
func TestRefreshDueSkipsWhatThisProcessRefreshed(t *testing.T) {
	ctx := context.Background()
	cs := &lockCountingStore{Store: memory.New()}
	w := newDueWorld(t, cs)
	c := w.connector(t)
	ids := w.connections(t, c, []time.Time{w.clock.Now().Add(10 * time.Minute)})
	conn, err := c.Connection(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Refresh(ctx); err != nil { // the process holds a record read back from the store
		t.Fatal(err)
	}
	if _, err := conn.Token(ctx); err != nil {
		t.Fatal(err)
	}
	var locks, unlocks int64
	cs.afterDue = func() {
		if _, err := conn.Refresh(ctx); err != nil {
			t.Error(err)
		}
		locks, unlocks = cs.locks.Load(), cs.unlocks.Load()
	}
	// The refreshed token expires in an hour: still within the window, so
	// the re-read, not the expiry, is what decides.
	res, err := c.RefreshDue(ctx, connector.DueOptions{Window: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Due != 1 || len(res.Refreshed) != 0 {
		t.Fatalf("RefreshDue: %+v; want one due, none refreshed by the sweep", res)
	}
	if l, u := cs.locks.Load()-locks, cs.unlocks.Load()-unlocks; l != 0 || u != 0 {
		t.Errorf("the sweep made %d Lock and %d Unlock calls for a connection this process had already refreshed past the queried version; want none", l, u)
	}
}
