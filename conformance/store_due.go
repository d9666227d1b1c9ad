package conformance

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/store"
)

// The checks of store.DueLister, the scheduler's query: which records are
// due, in which order, how many, and how the answer follows writes.

// errStoreNoDueLister is returned by the due checks on a store that does
// not implement store.DueLister (it is optional).
var errStoreNoDueLister = fmt.Errorf("%w: the store does not implement store.DueLister", errStoreNotApplicable)

// freshDueLister returns a fresh store and its DueLister.
func (e *storeEnv) freshDueLister(ctx context.Context) (store.Store, store.DueLister, error) {
	s, err := e.fresh(ctx)
	if err != nil {
		return nil, nil, err
	}
	dl, ok := s.(store.DueLister)
	if !ok {
		return nil, nil, errStoreNoDueLister
	}
	return s, dl, nil
}

// storeDueBase is the time the due checks' expiries are set around.
var storeDueBase = time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)

// storeDueRecord returns a storeSample with status st and expiry exp.
func storeDueRecord(id string, st store.Status, exp time.Time) *store.Record {
	r := storeSample(id)
	r.Status, r.Expiry = st, exp
	return r
}

// storeDueSet writes the records the order and limit checks query with
// before = storeDueBase + 10m, and returns the ids Due must return, in
// order.
func storeDueSet(ctx context.Context, s store.Store) ([]string, error) {
	base := storeDueBase
	recs := []*store.Record{
		storeDueRecord("late", store.Active, base.Add(9*time.Minute)),
		storeDueRecord("b-tie", store.Active, base.Add(2*time.Minute)),
		storeDueRecord("a-tie", store.Active, base.Add(2*time.Minute)),
		storeDueRecord("B-tie", store.Active, base.Add(2*time.Minute)), // 'B' < 'a' bytewise
		storeDueRecord("first", store.Active, base.Add(-time.Hour)),    // expired long ago
		storeDueRecord("edge", store.Active, base.Add(10*time.Minute)), // at before: due
		storeDueRecord("ünï/ns:1", store.Active, base.Add(5*time.Minute+123456*time.Microsecond)),
		storeDueRecord("after", store.Active, base.Add(10*time.Minute+time.Microsecond)),
		storeDueRecord("never", store.Active, time.Time{}), // no expiry: never due
		storeDueRecord("reauth", store.NeedsReauth, base),
		storeDueRecord("revoked", store.Revoked, base),
	}
	for _, r := range recs {
		if err := storeCreate(ctx, s, r); err != nil {
			return nil, err
		}
	}
	return []string{"first", "B-tie", "a-tie", "b-tie", "ünï/ns:1", "late", "edge"}, nil
}

// storeDueIDs calls Due and returns the ids, checking that each record
// equals what Get returns.
func storeDueIDs(ctx context.Context, s store.Store, dl store.DueLister, before time.Time, limit int, op string) ([]string, error) {
	recs, err := dl.Due(ctx, before, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: Due(%s, %d): %w", op, before.Format(time.RFC3339Nano), limit, err)
	}
	ids := []string{}
	for _, r := range recs {
		if r == nil {
			return nil, fmt.Errorf("%s: Due returned a nil record", op)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: Due returned %q, but Get(%q): %w", op, r.ID, r.ID, err)
		}
		if d := storeRecordDiff(got, r); d != "" || got.Version != r.Version {
			return nil, fmt.Errorf("%s: Due's record %q differs from Get's (version %d, Get's %d) (-get +due):\n%s", op, r.ID, r.Version, got.Version, d)
		}
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// storeCheckDueOrder checks which records Due returns and their order:
// Active with an expiry at or before before, by expiry then id (bytewise).
func storeCheckDueOrder(ctx context.Context, e *storeEnv) error {
	s, dl, err := e.freshDueLister(ctx)
	if err != nil {
		return err
	}
	if ids, err := storeDueIDs(ctx, s, dl, storeDueBase, 0, "on an empty store"); err != nil {
		return err
	} else if len(ids) != 0 {
		return fmt.Errorf("Due on an empty store returned %q", ids)
	}
	want, err := storeDueSet(ctx, s)
	if err != nil {
		return err
	}
	before := storeDueBase.Add(10 * time.Minute)
	for _, limit := range []int{0, -1} {
		got, err := storeDueIDs(ctx, s, dl, before, limit, "the due records")
		if err != nil {
			return err
		}
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("Due(before, %d): not the Active records with an expiry at or before before, by expiry then id (-want +got):\n%s", limit, d)
		}
	}
	got, err := storeDueIDs(ctx, s, dl, storeDueBase.Add(-2*time.Hour), 0, "before every expiry")
	if err != nil {
		return err
	}
	if len(got) != 0 {
		return fmt.Errorf("Due before every expiry returned %q, want none", got)
	}
	return nil
}

// storeCheckDueLimit checks that Due returns at most limit records, the
// most urgent.
func storeCheckDueLimit(ctx context.Context, e *storeEnv) error {
	s, dl, err := e.freshDueLister(ctx)
	if err != nil {
		return err
	}
	all, err := storeDueSet(ctx, s)
	if err != nil {
		return err
	}
	before := storeDueBase.Add(10 * time.Minute)
	for _, limit := range []int{1, 3, len(all), len(all) + 5} {
		got, err := storeDueIDs(ctx, s, dl, before, limit, "with a limit")
		if err != nil {
			return err
		}
		want := all[:min(limit, len(all))]
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("Due(before, %d): not the %d most urgent (-want +got):\n%s", limit, len(want), d)
		}
	}
	return nil
}

// storeCheckDueUpdates checks that Due follows writes: an expiry moved
// past before or cleared, or a status other than Active, takes a record
// out; moved back, it comes back in its place.
func storeCheckDueUpdates(ctx context.Context, e *storeEnv) error {
	s, dl, err := e.freshDueLister(ctx)
	if err != nil {
		return err
	}
	base := storeDueBase
	before := base.Add(10 * time.Minute)
	for _, r := range []*store.Record{
		storeDueRecord("one", store.Active, base.Add(time.Minute)),
		storeDueRecord("three", store.Active, base.Add(3*time.Minute)),
	} {
		if err := storeCreate(ctx, s, r); err != nil {
			return err
		}
	}
	x := storeDueRecord("x", store.Active, base.Add(2*time.Minute))
	if err := storeCreate(ctx, s, x); err != nil {
		return err
	}
	steps := []struct {
		what string
		set  func(r *store.Record)
		want []string
	}{
		{"created due", func(*store.Record) {}, []string{"one", "x", "three"}},
		{"refreshed: expiry moved past before", func(r *store.Record) { r.Expiry = before.Add(time.Hour) }, []string{"one", "three"}},
		{"expiry moved back, now the most urgent", func(r *store.Record) { r.Expiry = base }, []string{"x", "one", "three"}},
		{"expiry moved between the others", func(r *store.Record) { r.Expiry = base.Add(2 * time.Minute) }, []string{"one", "x", "three"}},
		{"expiry cleared", func(r *store.Record) { r.Expiry = time.Time{} }, []string{"one", "three"}},
		{"expiry set again", func(r *store.Record) { r.Expiry = base.Add(4 * time.Minute) }, []string{"one", "three", "x"}},
		{"marked needs_reauth", func(r *store.Record) { r.Status = store.NeedsReauth }, []string{"one", "three"}},
		{"active again", func(r *store.Record) { r.Status = store.Active }, []string{"one", "three", "x"}},
		{"revoked", func(r *store.Record) { r.Status = store.Revoked }, []string{"one", "three"}},
		{"active and due again", func(r *store.Record) { r.Status, r.Expiry = store.Active, base.Add(-time.Minute) }, []string{"x", "one", "three"}},
	}
	for i, st := range steps {
		if i > 0 {
			st.set(x)
			v, err := s.Put(ctx, x, 0)
			if err != nil {
				return storeNoErr(err, "Put: "+st.what)
			}
			x.Version = v
		}
		got, err := storeDueIDs(ctx, s, dl, before, 0, st.what)
		if err != nil {
			return err
		}
		if d := cmp.Diff(st.want, got); d != "" {
			return fmt.Errorf("Due after x was %s (-want +got):\n%s", st.what, d)
		}
	}
	return nil
}

// storeCheckDueDelete checks that a deleted record is not due, and that
// one created again under its id is.
func storeCheckDueDelete(ctx context.Context, e *storeEnv) error {
	s, dl, err := e.freshDueLister(ctx)
	if err != nil {
		return err
	}
	base := storeDueBase
	before := base.Add(10 * time.Minute)
	for _, r := range []*store.Record{
		storeDueRecord("kept", store.Active, base.Add(2*time.Minute)),
		storeDueRecord("gone", store.Active, base.Add(time.Minute)),
	} {
		if err := storeCreate(ctx, s, r); err != nil {
			return err
		}
	}
	if err := s.Delete(ctx, "gone"); err != nil {
		return storeNoErr(err, "Delete")
	}
	got, err := storeDueIDs(ctx, s, dl, before, 0, "after a Delete")
	if err != nil {
		return err
	}
	if d := cmp.Diff([]string{"kept"}, got); d != "" {
		return fmt.Errorf("Due after a Delete (-want +got):\n%s", d)
	}
	if got, err := storeDueIDs(ctx, s, dl, before, 1, "after a Delete, limit 1"); err != nil {
		return err
	} else if !slices.Equal(got, []string{"kept"}) {
		return fmt.Errorf("Due(before, 1) after the most urgent record was deleted = %q, want [kept]", got)
	}
	again := storeDueRecord("gone", store.Active, base.Add(3*time.Minute))
	if err := storeCreate(ctx, s, again); err != nil {
		return err
	}
	got, err = storeDueIDs(ctx, s, dl, before, 0, "after a create of the deleted id")
	if err != nil {
		return err
	}
	if d := cmp.Diff([]string{"kept", "gone"}, got); d != "" {
		return fmt.Errorf("Due after the deleted id was created again (-want +got):\n%s", d)
	}
	return nil
}
