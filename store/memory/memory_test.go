package memory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

// harness makes memory stores on a fake clock, counts their claims and
// dumps them, so that every check of the suite runs but
// ConcurrentProcesses: a memory store lives in one process.
type harness struct {
	mu     sync.Mutex
	clocks map[store.Store]*testclock.Clock
}

func (h *harness) MakeStore(context.Context, testing.TB) (store.Store, error) {
	s := memory.New()
	// Time moves, if slowly, at every reading: no two timestamps are equal.
	c := testclock.Ticking(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Microsecond)
	s.SetClock(c.Now)
	h.mu.Lock()
	if h.clocks == nil {
		h.clocks = map[store.Store]*testclock.Clock{}
	}
	h.clocks[s] = c
	h.mu.Unlock()
	return s, nil
}

// Advance moves the store's clock.
func (h *harness) Advance(_ testing.TB, s store.Store, d time.Duration) {
	h.mu.Lock()
	c := h.clocks[s]
	h.mu.Unlock()
	c.Advance(d)
}

// ClaimCount lets the suite run ClaimsDoNotPile on the memory store too.
func (*harness) ClaimCount(_ context.Context, _ testing.TB, s store.Store, substr string) (int, error) {
	return s.(*memory.Store).ClaimCount(substr), nil
}

// RawValues is everything the store holds of its records, as bytes: what a
// dump of the process's memory would show of them.
func (*harness) RawValues(ctx context.Context, _ testing.TB, s store.Store) ([][]byte, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, r := range all {
		out = append(out, []byte(r.ID), []byte(r.Provider), []byte(r.App), []byte(r.Namespace), []byte(r.Ref),
			[]byte(strings.Join(r.Tags, " ")), []byte(r.Account), []byte(strings.Join(r.Scopes, " ")), []byte(r.Reason), r.Secret)
	}
	return out, nil
}

func TestConformance(t *testing.T) { conformance.TestStore(t, &harness{}) }

func TestNamedStoresAreShared(t *testing.T) {
	ctx := context.Background()
	a, ka, err := store.Open(ctx, "memory://shared-test")
	if err != nil {
		t.Fatal(err)
	}
	b, kb, err := store.Open(ctx, "memory://shared-test")
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := store.Open(ctx, "memory://other-test")
	if a != b || ka.CurrentKeyID() != kb.CurrentKeyID() {
		t.Error("two opens of memory://shared-test gave different stores or keys")
	}
	if a == c {
		t.Error("memory://other-test is the same store as memory://shared-test")
	}
}

// TestOpenExisting checks that store.OpenExisting, which asks the backend
// with store.OpenOptions{Existing: true}, opens a name this process opened
// before, and no other.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	// A name of this run alone: memory stores live as long as the process,
	// and go test -count=N runs this test N times in one.
	name := fmt.Sprintf("existing-test-%d", time.Now().UnixNano())
	_, _, err := store.OpenExisting(ctx, "memory://"+name)
	if !errors.Is(err, store.ErrNoStore) || driver.CodeOf(err) != driver.NotFound || !strings.Contains(err.Error(), name) {
		t.Fatalf("OpenExisting of a name never opened = %v, want store.ErrNoStore (NotFound) naming it", err)
	}
	a, _, err := store.Open(ctx, "memory://"+name)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := store.OpenExisting(ctx, "memory://"+name)
	if err != nil || a != b {
		t.Errorf("OpenExisting after Open = %v, %v; want the same store", b, err)
	}
}
