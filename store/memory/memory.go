// Package memory is an in-process Store: for tests, demos and programs that
// keep nothing between runs. It registers the scheme "memory": the location
// "memory://name" opens the same store for the same name within a process.
package memory

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/connector-go/connector/store"
)

func init() {
	store.Register("memory", openURL)
}

var (
	namedMu sync.Mutex
	named   = map[string]*Store{}
)

// openURL opens memory://name. Its Keyring is store.Open's choice: the one
// from the environment, or a random key kept for the life of the process
// (Ephemeral). With o.Existing (store.OpenExisting), a name not opened
// before in this process is store.ErrNoStore.
func openURL(_ context.Context, location string, o store.OpenOptions) (store.Store, error) {
	name := strings.TrimPrefix(location[strings.Index(location, "://")+3:], "/")
	namedMu.Lock()
	defer namedMu.Unlock()
	if s, ok := named[name]; ok {
		return s, nil
	}
	if o.Existing {
		return nil, store.Errorf(store.ErrNoStore, "no memory store %q in this process", name)
	}
	s := New()
	named[name] = s
	return s, nil
}

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	mu     sync.Mutex
	recs   map[string]*store.Record
	leases map[string]lease     // the current lease per id, expired or not
	fences map[string]int64     // highest fence granted per id; never deleted
	claims map[string]time.Time // claim key → expiry
	// expiries orders the claims by expiry, so that each Claim removes
	// the expired ones in O(log n) each.
	expiries claimHeap
	now      func() time.Time
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.DueLister = (*Store)(nil)
)

// lease is a granted lease: its fence and when it expires.
type lease struct {
	fence   int64
	expires time.Time
}

// New returns an empty store.
func New() *Store {
	return &Store{recs: map[string]*store.Record{}, leases: map[string]lease{}, fences: map[string]int64{}, claims: map[string]time.Time{}, now: time.Now}
}

// SetClock replaces the clock used for lease expiry and timestamps (tests).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return nil, store.Errorf(store.ErrNotFound, "connection %q", id)
	}
	return r.Clone(), nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context) ([]*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	out := make([]*store.Record, 0, len(s.recs))
	for _, r := range s.recs {
		out = append(out, r.Clone())
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Due implements store.DueLister by sorting: the store has no index, and
// sorting the due records of a process's store is cheap next to the
// refreshes they lead to.
func (s *Store) Due(ctx context.Context, before time.Time, limit int) ([]*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var due []*store.Record
	for _, r := range s.recs {
		if store.IsDue(r, before) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, store.CompareDue)
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	out := make([]*store.Record, len(due))
	for i, r := range due {
		out[i] = r.Clone()
	}
	s.mu.Unlock()
	return out, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(rec, fence)
}

// put is Put with s.mu held.
func (s *Store) put(rec *store.Record, fence int64) (int64, error) {
	cur, exists := s.recs[rec.ID]
	why := ""
	switch {
	case rec.Version == 0 && exists:
		why = "it already exists"
	case rec.Version != 0 && !exists:
		why = "it does not exist"
	case exists && cur.Version != rec.Version:
		why = fmt.Sprintf("version %d was expected, the store has %d", rec.Version, cur.Version)
	case fence > 0 && s.fences[rec.ID] > fence:
		why = fmt.Sprintf("lease fence %d was overtaken by fence %d (fenced)", fence, s.fences[rec.ID])
	}
	if why != "" {
		return 0, store.Errorf(store.ErrConflict, "write to connection %q refused: %s", rec.ID, why)
	}
	now := s.now()
	n := rec.Clone()
	n.Version = rec.Version + 1
	n.UpdatedAt = now
	if exists {
		n.CreatedAt = cur.CreatedAt
	} else {
		n.CreatedAt = now
	}
	s.recs[rec.ID] = n
	return n.Version, nil
}

// PutUnlock implements store.Store: put and unlock under one hold of the
// mutex.
func (s *Store) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.put(rec, l.Fence)
	if err != nil {
		return 0, err
	}
	s.unlock(l)
	return v, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[id]; !ok {
		return store.Errorf(store.ErrNotFound, "connection %q", id)
	}
	delete(s.recs, id)
	delete(s.leases, id)
	return nil
}

// Lock implements store.Store.
func (s *Store) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recs[id].Clone()
	now := s.now()
	if l, ok := s.leases[id]; ok && now.Before(l.expires) {
		return nil, rec, store.Errorf(store.ErrLocked, "connection %q", id)
	}
	s.fences[id]++
	s.leases[id] = lease{fence: s.fences[id], expires: now.Add(ttl)}
	return &store.Lease{ID: id, Fence: s.fences[id]}, rec, nil
}

// Unlock implements store.Store.
func (s *Store) Unlock(ctx context.Context, l *store.Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unlock(l)
	return nil
}

// unlock is Unlock with s.mu held.
func (s *Store) unlock(l *store.Lease) {
	if cur, ok := s.leases[l.ID]; ok && cur.fence == l.Fence {
		delete(s.leases, l.ID)
	}
}

// Claim implements store.Store. Each Claim first removes the claims that
// have expired (a heap by expiry), so that they never pile up.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for len(s.expiries) > 0 && !now.Before(s.expiries[0].exp) {
		c := heap.Pop(&s.expiries).(claimEntry)
		if exp, ok := s.claims[c.key]; ok && exp.Equal(c.exp) {
			delete(s.claims, c.key)
		}
	}
	if exp, ok := s.claims[key]; ok && now.Before(exp) {
		return store.Errorf(store.ErrClaimed, "key %q", key)
	}
	exp := now.Add(ttl)
	s.claims[key] = exp
	heap.Push(&s.expiries, claimEntry{key: key, exp: exp})
	return nil
}

// claimEntry is one claim in the heap.
type claimEntry struct {
	key string
	exp time.Time
}

// claimHeap is a min-heap of claims by expiry (container/heap).
type claimHeap []claimEntry

func (h claimHeap) Len() int           { return len(h) }
func (h claimHeap) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h claimHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *claimHeap) Push(x any)        { *h = append(*h, x.(claimEntry)) }
func (h *claimHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// ClaimCount returns how many claims whose key contains substr the store
// holds, expired ones included: conformance.TestStore checks through it
// that expired claims do not pile up.
func (s *Store) ClaimCount(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.claims {
		if strings.Contains(k, substr) {
			n++
		}
	}
	return n
}

// Ephemeral reports true: the store's records live only as long as the
// process, so the connector may seal them with a random per-process key
// when none is configured (it refuses to for any other store).
func (s *Store) Ephemeral() bool { return true }
