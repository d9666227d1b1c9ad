package connector_test

// BenchmarkRefreshStore (issue 13): what the store adds to a refresh, per
// backend, against a floor that no store could beat.
//
//	go test -run '^$' -bench 'BenchmarkRefreshStore' -benchtime 2000x -count 3 .
//
// The figures and their reading are in docs/benchmarks.md.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/postgres"
	"github.com/connector-go/connector/store/redis"
	"github.com/connector-go/connector/store/sqlite"
)

// callCounter is a store.Store that counts the calls made to it: every
// method of the contract, each one round trip to the backend.
type callCounter struct {
	store.Store
	calls atomic.Int64
}

func (s *callCounter) Get(ctx context.Context, id string) (*store.Record, error) {
	s.calls.Add(1)
	return s.Store.Get(ctx, id)
}

func (s *callCounter) List(ctx context.Context) ([]*store.Record, error) {
	s.calls.Add(1)
	return s.Store.List(ctx)
}

func (s *callCounter) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	s.calls.Add(1)
	return s.Store.Put(ctx, rec, fence)
}

func (s *callCounter) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	s.calls.Add(1)
	return s.Store.PutUnlock(ctx, rec, l)
}

func (s *callCounter) Delete(ctx context.Context, id string) error {
	s.calls.Add(1)
	return s.Store.Delete(ctx, id)
}

func (s *callCounter) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	s.calls.Add(1)
	return s.Store.Lock(ctx, id, ttl)
}

func (s *callCounter) Unlock(ctx context.Context, l *store.Lease) error {
	s.calls.Add(1)
	return s.Store.Unlock(ctx, l)
}

func (s *callCounter) Claim(ctx context.Context, key string, ttl time.Duration) error {
	s.calls.Add(1)
	return s.Store.Claim(ctx, key, ttl)
}

// BenchmarkRefreshStore is one forced refresh (Connection.Refresh) against
// the loopback token endpoint of BenchmarkRefresh, on each persistent
// backend, with the store calls it makes per refresh (storecalls/op); and,
// as "<backend>-floor", the least a refresh on that backend could cost: the
// bare refresh POST plus two committed single-row writes to the store's
// own tables, with the durability the store uses for a committed write
// (SQLite: WAL, synchronous=FULL; PostgreSQL: synchronous_commit as the
// server has it; Redis: as configured). Targets: storecalls/op ≤ 2 and each
// backend within 1.3× its floor.
func BenchmarkRefreshStore(b *testing.B) {
	srv := tokenEndpoint()
	defer srv.Close()
	ctx := context.Background()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"bench"}, "client_secret": {"bench-secret"}, "refresh_token": {fmt.Sprintf("r%063x", 1)}}
	post := func(b *testing.B) {
		resp, err := http.PostForm(srv.URL, form)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, name := range []string{"sqlite", "postgres", "redis"} {
		b.Run(name, func(b *testing.B) {
			st, keys := openBench(b, name)
			cs := &callCounter{Store: st}
			c, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
				Store: cs, Keyring: keys, Endpoint: driver.Endpoint{TokenURL: srv.URL}})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			conn := longLived(b, c, "refresh")
			b.ReportAllocs()
			cs.calls.Store(0)
			for b.Loop() {
				if _, err := conn.Refresh(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cs.calls.Load())/float64(b.N), "storecalls/op")
		})
		b.Run(name+"-floor", func(b *testing.B) {
			st, keys := openBench(b, name)
			write := floorWrites(b, st, keys)
			b.ReportAllocs()
			for b.Loop() {
				post(b)
				write()
			}
		})
	}
	// The floor's two writes made by two Lua scripts of one write each:
	// what a conditional write costs on Redis at the least (a fenced lease
	// and a compare-and-swap write can be made no other way in one round
	// trip), for comparison with redis-floor.
	b.Run("redis-floor-scripts", func(b *testing.B) {
		st, keys := openBench(b, "redis")
		write := redisScriptWrites(b, st.(*redis.Store), keys)
		b.ReportAllocs()
		for b.Loop() {
			post(b)
			write()
		}
	})
}

// redisScriptWrites is floorWrites for Redis with each write made by a
// script: HSET of the record's sealed token and version, then SET of the
// lease with its expiry.
func redisScriptWrites(b *testing.B, s *redis.Store, keys *store.Keyring) func() {
	b.Helper()
	ctx := context.Background()
	secret, err := keys.Seal("floor:1", []byte(fmt.Sprintf(`{"access_token":"%064x","refresh_token":"r%063x"}`, 1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	u := os.Getenv("CONNECTOR_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opts, err := goredis.ParseURL(u)
	if err != nil {
		b.Fatal(err)
	}
	client := goredis.NewClient(opts)
	b.Cleanup(func() { client.Close() })
	conn, lease := s.Prefix()+"conn:floor:1", s.Prefix()+"lease:floor:1"
	hset := goredis.NewScript(`return redis.call('HSET', KEYS[1], 'secret', ARGV[1], 'version', ARGV[2])`)
	set := goredis.NewScript(`return redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000)`)
	return func() {
		if err := hset.Run(ctx, client, []string{conn}, secret, time.Now().UnixNano()).Err(); err != nil {
			b.Fatal(err)
		}
		if err := set.Run(ctx, client, []string{lease}, time.Now().UnixNano()).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// floorWrites prepares st with one record and its lease row, and returns a
// function that makes two committed single-row writes to them, outside the
// store's code: the record's sealed token and version, then the lease's
// fence and expiry.
func floorWrites(b *testing.B, st store.Store, keys *store.Keyring) func() {
	b.Helper()
	ctx := context.Background()
	const id = "floor:1"
	secret, err := keys.Seal(id, []byte(fmt.Sprintf(`{"access_token":"%064x","refresh_token":"r%063x"}`, 1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Put(ctx, &store.Record{ID: id, Provider: "jumpseller", Account: "a", Status: store.Active, Secret: secret}, 0); err != nil {
		b.Fatal(err)
	}
	l, _, err := st.Lock(ctx, id, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Unlock(ctx, l); err != nil {
		b.Fatal(err)
	}
	fail := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	switch s := st.(type) {
	case *sqlite.Store:
		db, err := sql.Open("sqlite", "file:"+s.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
		fail(err)
		b.Cleanup(func() { db.Close() })
		return func() {
			_, err := db.ExecContext(ctx, `UPDATE connections SET secret = ?, version = version + 1, updated_at = ? WHERE id = ?`, secret, time.Now().UnixNano(), id)
			fail(err)
			_, err = db.ExecContext(ctx, `UPDATE leases SET fence = fence + 1, expires_at = ? WHERE id = ?`, time.Now().Add(time.Minute).UnixNano(), id)
			fail(err)
		}
	case *postgres.Store:
		dsn := os.Getenv("CONNECTOR_TEST_POSTGRES")
		if dsn == "" {
			dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		}
		pool, err := pgxpool.New(ctx, dsn)
		fail(err)
		b.Cleanup(pool.Close)
		qs := pgx.Identifier{s.Schema()}.Sanitize()
		return func() {
			_, err := pool.Exec(ctx, `UPDATE `+qs+`.connections SET secret = $2, version = version + 1, updated_at = clock_timestamp() WHERE id = $1`, id, secret)
			fail(err)
			_, err = pool.Exec(ctx, `UPDATE `+qs+`.leases SET fence = fence + 1, expires_at = clock_timestamp() + interval '1 minute' WHERE id = $1`, id)
			fail(err)
		}
	case *redis.Store:
		u := os.Getenv("CONNECTOR_TEST_REDIS")
		if u == "" {
			u = "redis://127.0.0.1:6379/0"
		}
		opts, err := goredis.ParseURL(u)
		fail(err)
		client := goredis.NewClient(opts)
		b.Cleanup(func() { client.Close() })
		conn, lease := s.Prefix()+"conn:"+id, s.Prefix()+"lease:"+id
		return func() {
			fail(client.HSet(ctx, conn, "secret", secret, "version", time.Now().UnixNano()).Err())
			fail(client.Set(ctx, lease, time.Now().UnixNano(), time.Minute).Err())
		}
	}
	b.Fatalf("no floor for %T", st)
	return nil
}
