package connector

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/connector-go/connector/driver"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/store"
)

// This file is the scheduler: RefreshDue refreshes the connections whose
// access token expires within a window, so that grants nobody uses stay
// alive (SHOPLINE's refresh tokens die a day after their access token).
//
//  1. One store query finds the due connections, the most urgent first:
//     store.DueLister where the store has it (an index on expiry in SQLite
//     and PostgreSQL, a sorted set in Redis), else List and a filter.
//  2. Each due record becomes its connection's snapshot as it is (opened,
//     not read again), and workers, at most DueOptions.Concurrency at a
//     time, take the connections in that order.
//  3. A worker tries the connection's lease once (store.Store.Lock). Held,
//     by another instance or by a refresh of this process, the connection
//     is skipped (Locked): whoever holds it is refreshing it. This is how
//     instances running RefreshDue at once split the work without waiting
//     on one another.
//  4. With the lease, the record Lock read under it (the same re-read as
//     in Token, in the same store call) shows whether another instance
//     refreshed it since the query: then it is skipped (Current), never
//     refreshed twice.
//  5. Otherwise it is refreshed and persisted exactly as Token would, with
//     the same failure rules, events, spans and metrics; the write releases
//     the lease (store.Store.PutUnlock).

// DefaultDueConcurrency is how many refreshes RefreshDue runs at once when
// DueOptions.Concurrency is zero. A refresh mostly waits: on the provider
// (tens to hundreds of milliseconds) and on the store's two round trips
// (lease with re-read, write with release); 64 keep a provider 20 ms away busy at
// about 2,000 refreshes a second with PostgreSQL (docs/benchmarks.md). For a
// provider that limits token requests, lower it or set
// DueOptions.RequestsPerSecond.
const DefaultDueConcurrency = 64

// DueOptions tunes RefreshDue. Only Window is usually set.
type DueOptions struct {
	// Window makes a connection due when its access token expires within
	// it (or has expired). Zero takes only expired tokens; negative is
	// refused. SHOPLINE: a few days, with a daily run (docs/lifecycle.md).
	Window time.Duration
	// Concurrency bounds the refreshes in flight: DefaultDueConcurrency
	// when zero or negative.
	Concurrency int
	// Limit bounds how many due connections one call takes on, the most
	// urgent first; every one when zero or negative.
	Limit int
	// RequestsPerSecond paces this call's refreshes, and so its token
	// requests, at the provider: a Connector is one provider, so this is
	// the per-provider limit. Unlimited when zero or negative. Each due
	// connection waits for its turn before its lease is tried, never while
	// holding it (a connection then skipped has used its turn).
	RequestsPerSecond float64
	// OnProgress, when set, is called after each due connection is done
	// with (refreshed, failed or skipped), one call at a time, from the
	// goroutine that finished it. It must not block for long.
	OnProgress func(DueProgress)
}

// DueProgress is how far a RefreshDue call has come.
type DueProgress struct {
	Due       int // the due connections the call took on
	Refreshed int
	Failed    int
	Skipped   int
}

// DueResult is what a RefreshDue call did.
type DueResult struct {
	// Due counts the due connections of this Connector the call took on
	// (at most DueOptions.Limit).
	Due int
	// Refreshed holds the ids of the connections this call refreshed, in
	// the order their refreshes completed.
	Refreshed []string
	// Failed holds the connections whose refresh failed, in the order they
	// failed.
	Failed []DueFailure
	// Locked counts the connections skipped because their lease was held:
	// another instance (or another caller in this process) was refreshing
	// them.
	Locked int
	// Current counts the connections skipped because, by the time their
	// lease was taken, another instance (or this one) had refreshed them,
	// or they had left the active status or been deleted.
	Current int
	// NotStarted counts the due connections left alone because ctx ended.
	NotStarted int
}

// DueFailure is one connection whose refresh failed.
type DueFailure struct {
	ID  string
	Err error // an *driver.Error; branch on driver.CodeOf(Err)
}

// Skipped returns how many due connections were skipped because another
// instance had them: Locked + Current.
func (r *DueResult) Skipped() int { return r.Locked + r.Current }

// FailedByCode counts the failures by their code.
func (r *DueResult) FailedByCode() map[driver.Code]int {
	m := map[driver.Code]int{}
	for _, f := range r.Failed {
		m[driver.CodeOf(f.Err)]++
	}
	return m
}

// RefreshDue refreshes the active connections of this Connector (its
// application and provider) whose access token expires within o.Window or
// has expired, o.Concurrency at a time, the most urgent first, and says
// what it did. The error is nil when every due connection was refreshed or
// skipped because another instance had it; otherwise it joins the
// failures (each also in the result, with its id), or it is the store's
// error (nothing was refreshed), or driver.Canceled when ctx ended first.
//
// SHOPLINE's refresh tokens die one day after their access token expires,
// so a grant nobody uses needs a new authorization unless it is refreshed
// ahead: run RefreshDue from a scheduler (daily, with a window of a few
// days; docs/lifecycle.md). It is safe, and useful, to run it on many
// instances at once: they split the work through the connections' leases
// and never refresh one twice (see the top of scheduler.go).
//
// The due connections come from one store query, store.DueLister, which
// every backend of this module implements; a store without it is listed
// whole and filtered. The record the query read is the connection's
// starting point: it is not read again apart from the re-read that Lock
// makes under the lease (which is what makes instances safe).
func (c *Connector) RefreshDue(ctx context.Context, o DueOptions) (*DueResult, error) {
	res := &DueResult{}
	switch {
	case c.opts.Mode == connstr.ModeOff:
		return res, c.errorf(driver.InvalidConfig, "refresh_due", "InitiateOAuth=OFF forbids refreshing")
	case o.Window < 0:
		return res, c.errorf(driver.InvalidConfig, "refresh_due", "the window must not be negative, got %s", o.Window)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultDueConcurrency
	}
	before := c.now().Add(o.Window)
	ctx, span := c.tel.tracer.Start(ctx, "connector.refresh_due", trace.WithAttributes(
		attribute.String("connector.provider", c.name), attribute.String("connector.app", c.opts.ClientID)))
	due, err := c.dueRecords(ctx, before, o.Limit)
	if err != nil {
		err = c.canceled(ctx, "refresh_due", c.storeErr("refresh_due", err))
		endSpan(span, err)
		return res, err
	}
	res.Due = len(due)
	var lim *rate.Limiter
	if o.RequestsPerSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(o.RequestsPerSecond), 1)
	}

	var mu sync.Mutex
	work := make(chan dueRecord)
	var wg sync.WaitGroup
	for range min(o.Concurrency, len(due)) {
		wg.Go(func() {
			for d := range work {
				outcome, err := c.refreshDueOne(ctx, d, before, lim)
				mu.Lock()
				switch outcome {
				case dueRefreshed:
					res.Refreshed = append(res.Refreshed, idOf(d.rec))
				case dueFailed:
					res.Failed = append(res.Failed, DueFailure{ID: idOf(d.rec), Err: err})
				case dueLocked:
					res.Locked++
				case dueCurrent:
					res.Current++
				case dueNotStarted:
					res.NotStarted++
				}
				if o.OnProgress != nil {
					o.OnProgress(DueProgress{Due: res.Due, Refreshed: len(res.Refreshed), Failed: len(res.Failed), Skipped: res.Skipped()})
				}
				mu.Unlock()
			}
		})
	}
	sent := 0
feed:
	for _, d := range due { // the most urgent first
		select {
		case work <- d:
			sent++
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	res.NotStarted += len(due) - sent
	span.SetAttributes(attribute.Int("connector.due", res.Due), attribute.Int("connector.refreshed", len(res.Refreshed)),
		attribute.Int("connector.failed", len(res.Failed)), attribute.Int("connector.skipped", res.Skipped()))

	var errs []error
	for _, f := range res.Failed {
		errs = append(errs, f.Err)
	}
	if res.NotStarted > 0 {
		cause, why := ctx.Err(), "the caller's context ended"
		if cause == nil {
			// RequestsPerSecond's next turn comes after ctx's deadline.
			cause, why = context.DeadlineExceeded, "the caller's deadline comes before the next turn that RequestsPerSecond allows"
		}
		e := c.errorf(driver.Canceled, "refresh_due", "%s with %d due connections left alone: %v", why, res.NotStarted, cause)
		e.Err = cause
		errs = append(errs, e)
	}
	err = errors.Join(errs...)
	endSpan(span, err)
	return res, err
}

// dueOutcome is what became of one due connection.
type dueOutcome int

const (
	dueRefreshed dueOutcome = iota
	dueFailed
	dueLocked
	dueCurrent
	dueNotStarted
)

// dueRecord is a record the due query returned; legacy when it was written
// before applications were recorded (connections.go) and is yet to be
// adopted.
type dueRecord struct {
	rec    *store.Record
	legacy bool
}

// dueRecords returns the due records of this connector's application and
// provider, the most urgent first, at most limit (all when limit <= 0).
func (c *Connector) dueRecords(ctx context.Context, before time.Time, limit int) ([]dueRecord, error) {
	dl, ok := c.raw.(store.DueLister)
	if !ok {
		// A store without the query: read everything, keep the due.
		recs, err := c.store.List(ctx)
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(recs, store.CompareDue)
		return c.mineDue(recs, before, limit), nil
	}
	// The query answers for every application and provider in the store:
	// when others' connections took places within the limit, ask for more.
	for q := limit; ; q *= 2 {
		recs, err := (tracedStore{Store: c.raw, c: c}).due(ctx, dl, before, q)
		if err != nil {
			return nil, err
		}
		mine := c.mineDue(recs, before, limit)
		if limit <= 0 || len(mine) >= limit || len(recs) < q {
			return mine, nil
		}
	}
}

// mineDue keeps, in order, the due records that belong to this connector,
// at most limit of them (all when limit <= 0). Of a legacy record and its
// adopted copy, only the copy is kept.
func (c *Connector) mineDue(recs []*store.Record, before time.Time, limit int) []dueRecord {
	var out []dueRecord
	at := map[string]int{} // connection id → index in out
	for _, r := range recs {
		ok, legacy := c.mine(r)
		if !ok || !store.IsDue(r, before) {
			continue
		}
		id := idOf(r)
		if i, seen := at[id]; seen {
			if out[i].legacy && !legacy {
				out[i] = dueRecord{rec: r}
			}
			continue
		}
		at[id] = len(out)
		out = append(out, dueRecord{rec: r, legacy: legacy})
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// due is the store's due query with a span, like the other store calls.
func (s tracedStore) due(ctx context.Context, dl store.DueLister, before time.Time, limit int) ([]*store.Record, error) {
	ctx, span := s.span(ctx, "due", "")
	recs, err := dl.Due(ctx, before, limit)
	endSpan(span, err)
	return recs, err
}

// refreshDueOne refreshes one due connection, starting from the record the
// query read, after waiting for its turn at lim.
func (c *Connector) refreshDueOne(ctx context.Context, d dueRecord, before time.Time, lim *rate.Limiter) (dueOutcome, error) {
	if ctx.Err() != nil {
		return dueNotStarted, nil
	}
	var conn *Connection
	queried := d.rec
	if d.legacy {
		// Moved under this application first (connections.go): the copy
		// is the version to refresh.
		var err error
		if conn, err = c.Connection(ctx, idOf(d.rec)); err != nil {
			return dueFailed, err
		}
		queried = nil
	} else {
		conn = c.connection(idOf(d.rec))
		// The record as the query read it, sealed: opened, not read again.
		if _, err := conn.adopt(d.rec); err != nil {
			return dueFailed, err
		}
	}
	if lim != nil {
		if err := lim.Wait(ctx); err != nil {
			// ctx ended, or its deadline comes before this turn (Wait
			// says so at once): either way the caller's time is up.
			return dueNotStarted, nil
		}
	}
	outcome, err := conn.refreshDue(ctx, before, queried)
	if err != nil {
		err = c.canceled(ctx, "refresh", err)
	}
	return outcome, err
}

// refreshDue refreshes the connection if, under its lease, the store still
// holds queried, the record the due query read (nil: a legacy record
// moved since; then the connection's current record, if still due by
// before), unless its lease is held (one try, no wait). A record refreshed,
// marked, deleted or created anew since the query is skipped (dueCurrent):
// the re-read under the lease decides, not what this process holds, which
// may be newer (another sweep, a Token call of this process) or a record
// another process has deleted since.
func (conn *Connection) refreshDue(ctx context.Context, before time.Time, queried *store.Record) (dueOutcome, error) {
	c := conn.c
	select {
	case conn.flight <- struct{}{}:
	default:
		return dueLocked, nil // a refresh of this process has it
	}
	defer conn.release()
	if p := conn.pendingWrite(); p != nil && !conn.flush(ctx, p) {
		// A rotated token of this process still waits for the store.
		return dueFailed, conn.PendingWrite()
	}
	s := conn.snap.Load()
	if queried != nil && s != nil && s.rec.Version > queried.Version && !s.rec.CreatedAt.IsZero() && s.rec.CreatedAt.Equal(queried.CreatedAt) {
		// This process holds a newer version of the record the query read
		// (another sweep, a Token call refreshed it): no lease needed.
		return dueCurrent, nil
	}
	if queried == nil {
		if s == nil || !store.IsDue(s.rec, before) {
			return dueCurrent, nil // fresh or not active, or deleted
		}
		if err := conn.statusErr(s); err != nil {
			return dueFailed, err
		}
	}
	lease, rec, err := c.store.Lock(ctx, conn.key, c.opts.LeaseTTL)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return dueLocked, nil // another instance has it
		}
		return dueFailed, c.storeErr("lock", err)
	}
	if rec == nil || queried != nil && (rec.Version != queried.Version || !rec.CreatedAt.Equal(queried.CreatedAt)) {
		// Deleted, or written (refreshed, marked, created anew) since the
		// due query: nothing the query saw is due any more.
		_ = c.store.Unlock(detach(ctx), lease)
		return dueCurrent, nil
	}
	if queried != nil {
		// The store's record under the lease is the one the query read:
		// the one to refresh, whatever this process holds.
		if s, err = conn.adoptLeased(rec); err != nil {
			_ = c.store.Unlock(detach(ctx), lease)
			return dueFailed, err
		}
	}
	ctx, span := c.tel.tracer.Start(ctx, "connector.refresh")
	if span.IsRecording() {
		span.SetAttributes(c.connAttrs(conn.id)...)
	}
	start := time.Now()
	_, out, err := conn.refreshLeased(ctx, s, s.tok, &held{lease: lease}, rec)
	if err == nil {
		err = out.failed
	}
	c.refreshDone(ctx, start, err)
	endSpan(span, err)
	switch {
	case out.changed:
		// Another instance refreshed it, or marked it needs_reauth or
		// revoked (and reported it), since the due query.
		return dueCurrent, nil
	case err != nil:
		return dueFailed, err
	case out.refreshed:
		return dueRefreshed, nil
	}
	return dueCurrent, nil
}
