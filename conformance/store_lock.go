package conformance

import (
	"context"
	"errors"
	"fmt"

	"github.com/connector-go/connector/store"
)

// The checks of Lock's record and of PutUnlock: a refresh is these two
// calls, so each must do the work of the two it replaced.

// storeCheckLockReadsRecord: Lock returns the record as it stands under the
// lease, nil when there is none, and the write of the previous holder.
func storeCheckLockReadsRecord(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	l, rec, err := s.Lock(ctx, "lr", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock of a missing record")
	}
	if rec != nil {
		return fmt.Errorf("Lock of a missing record returned a record (version %d), want nil", rec.Version)
	}
	want := storeSample("lr")
	v, err := s.PutUnlock(ctx, want, l)
	if err != nil {
		return storeNoErr(err, "PutUnlock creating the record under the lease")
	}
	want.Version = v
	for i := range 3 {
		l, rec, err = s.Lock(ctx, "lr", storeLongTTL)
		if err != nil {
			return storeNoErr(err, fmt.Sprintf("Lock %d after PutUnlock released the lease", i+2))
		}
		if err := storeRecordEqual(want, rec, fmt.Sprintf("record Lock %d returned", i+2)); err != nil {
			return err
		}
		want.Account = fmt.Sprintf("written under lease %d", l.Fence)
		if want.Version, err = s.PutUnlock(ctx, want, l); err != nil {
			return storeNoErr(err, "PutUnlock with the version Lock returned")
		}
	}
	return storeGetEqual(ctx, s, want, "after the PutUnlocks")
}

// storeCheckLockedReadsRecord: a Lock refused while another holder's lease
// lasts is ErrLocked, returns no lease, and returns the current record, so
// that a waiter sees the holder's write without a Get.
func storeCheckLockedReadsRecord(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	a, err := storeLock(ctx, s, "lw", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock A")
	}
	l, rec, err := s.Lock(ctx, "lw", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "Lock B of a missing record while A holds it"); err != nil {
		return err
	}
	if l != nil || rec != nil {
		return fmt.Errorf("Lock B of a missing record while A holds it returned lease %v and record %v, want nil and nil", l, rec)
	}
	want := storeSample("lw")
	if want.Version, err = s.Put(ctx, want, a.Fence); err != nil {
		return storeNoErr(err, "Put by A under its lease")
	}
	l, rec, err = s.Lock(ctx, "lw", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "Lock B while A holds the lease"); err != nil {
		return err
	}
	if l != nil {
		return errors.New("Lock B returned a lease with its ErrLocked error")
	}
	if err := storeRecordEqual(want, rec, "record a refused Lock returned"); err != nil {
		return err
	}
	want.Account = "written by A as it released"
	if want.Version, err = s.PutUnlock(ctx, want, a); err != nil {
		return storeNoErr(err, "PutUnlock by A")
	}
	l, rec, err = s.Lock(ctx, "lw", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock B after A's PutUnlock")
	}
	if l.Fence <= a.Fence {
		return fmt.Errorf("Lock B after A's PutUnlock: fence %d, not greater than A's %d", l.Fence, a.Fence)
	}
	return storeRecordEqual(want, rec, "record Lock B returned after A's PutUnlock")
}

// storeCheckTryLockIsLock: the deprecated TryLock shares Lock's leases.
func storeCheckTryLockIsLock(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	a, err := s.TryLock(ctx, "tl", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "TryLock")
	}
	if err := storeCheckLease(a, "tl", "TryLock"); err != nil {
		return err
	}
	_, err = storeLock(ctx, s, "tl", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "Lock while a TryLock lease holds"); err != nil {
		return err
	}
	if err := s.Unlock(ctx, a); err != nil {
		return storeNoErr(err, "Unlock")
	}
	b, err := storeLock(ctx, s, "tl", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock after the TryLock lease was released")
	}
	_, err = s.TryLock(ctx, "tl", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "TryLock while a Lock lease holds"); err != nil {
		return err
	}
	if b.Fence <= a.Fence {
		return fmt.Errorf("Lock after TryLock: fence %d, not greater than %d", b.Fence, a.Fence)
	}
	return nil
}

// storeCheckPutUnlockReleases: a PutUnlock that writes releases the lease,
// for an update and for a create.
func storeCheckPutUnlockReleases(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	for _, version := range []string{"create", "update"} {
		id := "pu-" + version
		if version == "update" {
			if err := storeCreate(ctx, s, storeSample(id)); err != nil {
				return err
			}
		}
		l, rec, err := s.Lock(ctx, id, storeLongTTL)
		if err != nil {
			return storeNoErr(err, "Lock")
		}
		if rec == nil {
			rec = storeSample(id)
		}
		rec.Account = "written by PutUnlock"
		v, err := s.PutUnlock(ctx, rec, l)
		if err != nil {
			return storeNoErr(err, "PutUnlock ("+version+")")
		}
		if v != rec.Version+1 {
			return fmt.Errorf("PutUnlock (%s) of version %d returned %d, want %d", version, rec.Version, v, rec.Version+1)
		}
		rec.Version = v
		if err := storeGetEqual(ctx, s, rec, "after PutUnlock ("+version+")"); err != nil {
			return err
		}
		l2, err := storeLock(ctx, s, id, storeLongTTL)
		if err != nil {
			return fmt.Errorf("Lock right after PutUnlock (%s; PutUnlock must release the lease): %w", version, err)
		}
		if err := s.Unlock(ctx, l2); err != nil {
			return storeNoErr(err, "Unlock")
		}
	}
	return nil
}

// storeCheckPutUnlockStaleVersion: a PutUnlock whose version no longer
// matches (a write without the lease came between) is ErrConflict, writes
// nothing, and keeps the lease: the holder still holds it.
func storeCheckPutUnlockStaleVersion(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	if err := storeCreate(ctx, s, storeSample("pv")); err != nil {
		return err
	}
	l, rec, err := s.Lock(ctx, "pv", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock")
	}
	other := rec.Clone()
	other.Account = "written without the lease"
	if other.Version, err = s.Put(ctx, other, 0); err != nil {
		return storeNoErr(err, "unfenced Put while the lease is held")
	}
	rec.Account = "written with the stale version"
	_, err = s.PutUnlock(ctx, rec, l)
	if err := storeWantErr(err, store.ErrConflict, "PutUnlock with a stale version"); err != nil {
		return err
	}
	if err := storeGetEqual(ctx, s, other, "after a refused PutUnlock (nothing may change)"); err != nil {
		return err
	}
	_, err = storeLock(ctx, s, "pv", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "Lock after a refused PutUnlock (the lease must stay held)"); err != nil {
		return err
	}
	// The holder retries with the current version.
	other.Account = "written by the holder"
	if other.Version, err = s.PutUnlock(ctx, other, l); err != nil {
		return storeNoErr(err, "PutUnlock with the current version")
	}
	if _, err := storeLock(ctx, s, "pv", storeLongTTL); err != nil {
		return fmt.Errorf("Lock after the PutUnlock that wrote: %w", err)
	}
	return storeGetEqual(ctx, s, other, "at the end")
}

// storeCheckPutUnlockFenced: a PutUnlock by a holder whose lease lapsed and
// was taken over is ErrConflict, writes nothing, and leaves the new
// holder's lease alone.
func storeCheckPutUnlockFenced(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	want := storeSample("pf")
	if err := storeCreate(ctx, s, want); err != nil {
		return err
	}
	a, rec, err := s.Lock(ctx, "pf", StoreShortTTL)
	if err != nil {
		return storeNoErr(err, "Lock A")
	}
	e.pass(s, StoreShortTTL)
	b, err := storeLock(ctx, s, "pf", storeLongTTL)
	if err != nil {
		return storeNoErr(err, "Lock B after A's lease expired")
	}
	rec.Account = "written by A after its lease lapsed"
	_, err = s.PutUnlock(ctx, rec, a)
	if err := storeWantErr(err, store.ErrConflict, "PutUnlock by A with its lapsed lease (current version, B holds a newer lease)"); err != nil {
		return err
	}
	if err := storeGetEqual(ctx, s, want, "after A's fenced PutUnlock (nothing may change)"); err != nil {
		return err
	}
	_, err = storeLock(ctx, s, "pf", storeLongTTL)
	if err := storeWantErr(err, store.ErrLocked, "Lock after A's fenced PutUnlock (B's lease must stay)"); err != nil {
		return err
	}
	want.Account = "written by B"
	if want.Version, err = s.PutUnlock(ctx, want, b); err != nil {
		return storeNoErr(err, "PutUnlock by B, the current holder")
	}
	return storeGetEqual(ctx, s, want, "after B's PutUnlock")
}

// storeCheckPutUnlockFencesIncrease: fences keep increasing across
// PutUnlock, Unlock and Delete: a counter kept in the lease, or reset with
// it, would hand an old fence out again.
func storeCheckPutUnlockFencesIncrease(ctx context.Context, e *storeEnv) error {
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	const id = "pfi"
	var last int64
	take := func(how string) (*store.Lease, *store.Record, error) {
		l, rec, err := s.Lock(ctx, id, storeLongTTL)
		if err != nil {
			return nil, nil, fmt.Errorf("Lock %s: %w", how, err)
		}
		if l.Fence <= last {
			return nil, nil, fmt.Errorf("Lock %s: fence %d, not greater than the earlier %d", how, l.Fence, last)
		}
		last = l.Fence
		return l, rec, nil
	}
	l, _, err := take("of a missing record")
	if err != nil {
		return err
	}
	if _, err := s.PutUnlock(ctx, storeSample(id), l); err != nil {
		return storeNoErr(err, "PutUnlock create")
	}
	l, rec, err := take("after a PutUnlock")
	if err != nil {
		return err
	}
	if _, err := s.PutUnlock(ctx, rec, l); err != nil {
		return storeNoErr(err, "PutUnlock update")
	}
	if err := s.Delete(ctx, id); err != nil {
		return storeNoErr(err, "Delete")
	}
	if _, _, err := take("after a PutUnlock and a Delete"); err != nil {
		return err
	}
	return nil
}

// storeRecordEqual compares a record a call returned with want, as
// storeGetEqual does for Get.
func storeRecordEqual(want, got *store.Record, what string) error {
	if got == nil {
		return fmt.Errorf("%s: nil, want version %d", what, want.Version)
	}
	if d := storeRecordDiff(want, got); d != "" {
		return fmt.Errorf("%s: mismatch (-want +got):\n%s", what, d)
	}
	if got.Version != want.Version {
		return fmt.Errorf("%s: Version = %d, want %d", what, got.Version, want.Version)
	}
	return nil
}
