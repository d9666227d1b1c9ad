package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/postgres"
)

// The tests of this file race the store's writers of one connection
// against each other: every statement that locks a lease row and a record
// locks the lease row first (buildQueries), so none deadlocks.

// oneConnection opens a store in a fresh schema, closed when the test
// ends, holding one connection, "c", written once.
func oneConnection(t *testing.T) (*postgres.Store, string, *store.Record) {
	t.Helper()
	ctx := context.Background()
	schema := freshSchema(t)
	s, err := postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rec := &store.Record{ID: "c", Provider: "p", Status: store.Active, Secret: []byte("x")}
	if rec.Version, err = s.Put(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	return s, schema, rec
}

// TestDeleteRacingPutUnlock: PutUnlock (and a fenced Put)
// reads the lease row FOR SHARE, then updates the connection row, then (the u
// CTE) the lease row; Delete deleted the connection row, then updated the
// lease row. Delete locked the two rows in the opposite order: PostgreSQL
// detected the deadlock after deadlock_timeout (1 s) and aborted one of
// them with SQLSTATE 40P01 — the refresh's write failed (an error of code
// Store, not a conflict), or the Delete did. Delete now locks the lease row
// first. A trigger that sleeps while Delete holds the connection row only
// widens the window that a stress of Lock/PutUnlock/Delete hit by itself.
// (From a review.)
func TestDeleteRacingPutUnlock(t *testing.T) {
	admin := server(t)
	ctx := context.Background()
	s, schema, rec := oneConnection(t)
	id := rec.ID
	var err error
	l, _, err := s.Lock(ctx, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	qs := pgx.Identifier{schema}.Sanitize()
	for _, stmt := range []string{
		`CREATE FUNCTION ` + qs + `.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN OLD; END $$`,
		`CREATE TRIGGER slow BEFORE DELETE ON ` + qs + `.connections FOR EACH ROW EXECUTE FUNCTION ` + qs + `.slow()`,
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	delErr := make(chan error, 1)
	go func() { delErr <- s.Delete(ctx, id) }()
	time.Sleep(150 * time.Millisecond) // Delete holds the connection row
	_, putErr := s.PutUnlock(ctx, rec, l)
	dErr := <-delErr
	for _, e := range []struct {
		op  string
		err error
	}{{"PutUnlock", putErr}, {"Delete", dErr}} {
		if e.err != nil && !errors.Is(e.err, store.ErrConflict) && !errors.Is(e.err, store.ErrNotFound) {
			t.Errorf("%s racing the other: %v; want success or a refusal (ErrConflict/ErrNotFound)", e.op, e.err)
		}
	}
}

// TestDeleteRacingPlainPut: a plain Put (fence 0) that waited for the
// connection row read the lease row FOR SHARE after it (its l CTE, once
// PostgreSQL used a generic plan): it locked the connection row, then the
// lease row, while Delete locks the lease row first, and the two
// deadlocked (40P01). A Put without a fence now reads no lease row.
// (From a review.)
func TestDeleteRacingPlainPut(t *testing.T) {
	admin := server(t)
	ctx := context.Background()
	s, schema, rec := oneConnection(t)
	id := rec.ID
	var err error
	// The store's statements are prepared: past five runs PostgreSQL may
	// plan the update once for any parameters (a generic plan).
	for i := 0; i < 8; i++ {
		if rec.Version, err = s.Put(ctx, rec, 0); err != nil {
			t.Fatal(err)
		}
	}
	// A lease row exists, free (a refresh came and went).
	l, _, err := s.Lock(ctx, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(ctx, l); err != nil {
		t.Fatal(err)
	}
	// Another writer holds the connection row (a refresh's PutUnlock in
	// flight, say); it changes nothing the Put checks.
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "connections"}.Sanitize()+` SET reason = reason WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	putErr, delErr := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, rec, 0) // a re-authorization, say
		putErr <- err
	}()
	time.Sleep(200 * time.Millisecond) // Put waits for the connection row
	go func() { delErr <- s.Delete(ctx, id) }()
	time.Sleep(200 * time.Millisecond) // Delete holds the lease row, waits for the connection row
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		op  string
		err error
	}{{"Put", <-putErr}, {"Delete", <-delErr}} {
		if e.err != nil && !errors.Is(e.err, store.ErrConflict) && !errors.Is(e.err, store.ErrNotFound) {
			t.Errorf("%s racing the other: %v; want success or a refusal (ErrConflict/ErrNotFound)", e.op, e.err)
		}
	}
}

// TestStressDeleteLockPut: Lock/PutUnlock, fenced and unfenced Put,
// Delete and re-create of a few connections for a while: no error other
// than the store's refusals (no 40P01 deadlock, no 40001). Before every
// statement took the lease row first, it deadlocked within seconds.
// CONNECTOR_STRESS sets how long (default 3s); CONNECTOR_STRESS_OPS keeps
// only the operations whose digits it lists. (From a review.)
func TestStressDeleteLockPut(t *testing.T) {
	server(t)
	ctx := context.Background()
	schema := freshSchema(t)
	s, err := postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := []string{"a", "b"}
	var stop atomic.Bool
	var mu sync.Mutex
	var bad []error
	var ops atomic.Int64
	report := func(op string, err error) {
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrLocked) {
			return
		}
		mu.Lock()
		if len(bad) < 10 {
			bad = append(bad, fmt.Errorf("%s: %w", op, err))
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < 12; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				ops.Add(1)
				id := ids[(w+i)%len(ids)]
				k := (w + i) % 5
				if only := os.Getenv("CONNECTOR_STRESS_OPS"); only != "" && !strings.Contains(only, fmt.Sprint(k)) {
					continue
				}
				switch k {
				case 0, 1: // refresh: Lock, PutUnlock
					l, rec, err := s.Lock(ctx, id, time.Second)
					report("lock", err)
					if err != nil {
						continue
					}
					if rec == nil {
						report("unlock", s.Unlock(ctx, l))
						continue
					}
					_, err = s.PutUnlock(ctx, rec, l)
					report("putunlock", err)
					if err != nil {
						report("unlock", s.Unlock(ctx, l))
					}
				case 2:
					report("delete", s.Delete(ctx, id))
				case 3: // create or plain update
					rec, err := s.Get(ctx, id)
					if errors.Is(err, store.ErrNotFound) {
						rec = &store.Record{ID: id, Provider: "p", Status: store.Active, Secret: []byte("x"), Expiry: time.Now()}
						err = nil
					}
					report("get", err)
					if err == nil {
						_, err = s.Put(ctx, rec, 0)
						report("put0", err)
					}
				case 4: // a fenced put under a lease, then unlock
					l, rec, err := s.Lock(ctx, id, time.Second)
					report("lock", err)
					if err != nil {
						continue
					}
					if rec == nil {
						rec = &store.Record{ID: id, Provider: "p", Status: store.Active, Secret: []byte("y")}
					}
					_, err = s.Put(ctx, rec, l.Fence)
					report("putfenced", err)
					report("unlock", s.Unlock(ctx, l))
				}
			}
		}(w)
	}
	time.Sleep(stressFor())
	stop.Store(true)
	wg.Wait()
	t.Logf("%d operations", ops.Load())
	for _, e := range bad {
		t.Error(e)
	}
}

func stressFor() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("CONNECTOR_STRESS")); err == nil {
		return d
	}
	return 3 * time.Second
}
