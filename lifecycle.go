package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// This file is the engine: how a token is renewed.
//
//  1. Single-flight: conn.flight admits one goroutine per connection; the
//     others wait, then find the fresh token it left.
//  2. Lease: the refreshing goroutine takes the store's lease on the
//     connection (store.Store.Lock); while another process holds it, it
//     polls and adopts the token that process writes (each refused Lock
//     returns the current record).
//  3. Re-read: Lock returns the record as it stands under the lease; if
//     another instance already refreshed, it adopts that token and stops.
//  4. Refresh through the driver (Refresher, or the standard grant).
//  5. Persist with compare-and-swap on the version, fenced by the lease,
//     releasing the lease in the same call (store.Store.PutUnlock), and
//     only then return the new token.
//
// So a refresh makes two store calls: Lock and PutUnlock.
//
// Failure rules:
//   - invalid_grant: re-read (another instance may have rotated the token);
//     if still invalid, mark the connection needs_reauth (the stored grant is
//     kept), send NeedsReauth, return driver.ReauthRequired. Never retried.
//   - the answer was lost after the request was sent (RefreshUncertain): the
//     connection stays active when the provider keeps the previous refresh
//     token valid until the new access token is used (Spec.RefreshReplaySafe,
//     Doorkeeper); otherwise it is marked needs_reauth rather than present a
//     refresh token that may already be spent.
//   - transient failures while the cached token has not yet expired: the
//     cached token is returned and the failure logged.
//   - the store write fails after the provider rotated: the new token is
//     handed to no one (no API request, no 401 retry, no Token, TokenSource,
//     hook or CLI output) until it is persisted, because at a Doorkeeper
//     server the first use of a new access token revokes the previous
//     refresh token: used unsaved, it would leave the store holding a dead
//     grant. The caller gets driver.Store (or, from Token, the stored access
//     token while it has not expired); the new token waits in memory, the
//     lease is kept, and the write is retried in the background until it
//     lands (Connection.Flush waits for it). If the process ends first, the
//     stored grant stays the one to use: its refresh token still works at
//     Doorkeeper, since the new access token was never used.
//   - an answer that names another account than the connection's is
//     refused: nothing is persisted, the connection is marked needs_reauth.

// held is the lease a refresh holds.
type held struct {
	lease *store.Lease
	// released: the lease is no longer this refresh's to give up: a
	// PutUnlock released it, or a pending write took it over.
	released bool
}

// pendingWrite is a rotated token that the store has not accepted yet.
type pendingWrite struct {
	rec    *store.Record // the record to write (Version = the base version)
	tok    *Token
	unused []string
	lease  *store.Lease
	err    error // the last write error
	done   chan struct{}
}

func (conn *Connection) acquire(ctx context.Context) error {
	select {
	case conn.flight <- struct{}{}:
		return nil
	case <-ctx.Done():
		return conn.c.errorf(driver.Unavailable, "refresh", "gave up waiting for a refresh in progress: %v", ctx.Err())
	}
}

func (conn *Connection) release() { <-conn.flight }

// load reads the record from the store and makes it the snapshot.
func (conn *Connection) load(ctx context.Context) (*snapshot, error) {
	rec, err := conn.c.get(ctx, conn.id)
	if err != nil {
		return nil, conn.c.storeErr("load", err)
	}
	return conn.adopt(rec)
}

// sameRecord reports whether a and b are versions of one record. A record
// deleted and created again (another process's new authorization) starts
// its versions anew, at 1, with another creation time: its versions are no
// older than the deleted record's, whatever their numbers. A record this
// process created and has not read back yet has no creation time, and is
// taken for the same.
func sameRecord(a, b *store.Record) bool {
	return a.CreatedAt.IsZero() || b.CreatedAt.IsZero() || a.CreatedAt.Equal(b.CreatedAt)
}

// unchanged reports whether rec, read from the store, is the record of
// which s is a snapshot: the same version of the same record, with the same
// sealed secret (by its sum, which the snapshot keeps). The secret tells
// apart a record another process deleted and created again at the same
// version when the snapshot's creation time is not known (a record this
// process created and has not read back).
func unchanged(rec *store.Record, s *snapshot) bool {
	return rec.Version == s.rec.Version && sameRecord(rec, s.rec) && secretSum(rec.Secret) == s.sealed
}

// adopt makes rec the snapshot, unless a rotated token is pending (then the
// in-memory token stays authoritative).
func (conn *Connection) adopt(rec *store.Record) (*snapshot, error) {
	s, err := conn.opened(rec)
	if err != nil {
		return nil, err
	}
	for {
		cur := conn.snap.Load()
		if cur != nil && cur.rec.Version > rec.Version && sameRecord(cur.rec, rec) {
			return cur, nil // never go back to an older version
		}
		// Compared and swapped: a newer snapshot that a refresh of this
		// process published meanwhile is not replaced by this older one.
		if conn.snap.CompareAndSwap(cur, s) {
			return s, nil
		}
	}
}

// adoptLeased makes rec, which its caller read under the connection's
// lease and holds the flight of, the snapshot, whatever version this
// process held: under the lease the store's record is the truth (a record
// another process deleted and created again starts its versions anew).
func (conn *Connection) adoptLeased(rec *store.Record) (*snapshot, error) {
	s, err := conn.opened(rec)
	if err != nil {
		return nil, err
	}
	conn.set(s)
	return s, nil
}

// opened returns the snapshot of rec, its token unsealed.
func (conn *Connection) opened(rec *store.Record) (*snapshot, error) {
	if rec.Provider != conn.c.name {
		return nil, conn.c.errorf(driver.InvalidConfig, "load", "connection %s belongs to provider %s", rec.ID, rec.Provider)
	}
	tok, unused, err := conn.c.open(rec)
	if err != nil {
		return nil, err
	}
	return conn.c.snapshotOf(rec, tok, unused), nil
}

// slowToken is Token's path when the cached token is missing or near expiry,
// and Refresh's (seen != nil: refresh unless the token is no longer seen).
func (conn *Connection) slowToken(ctx context.Context, seen *Token) (*Token, error) {
	tok, err := conn.renew(ctx, seen)
	if err != nil {
		return nil, conn.c.canceled(ctx, "token", err)
	}
	return tok, nil
}

// canceled returns err as driver.Canceled, with the context's error in its
// chain, when ctx ended and err is what that would cause (a wait or a
// request cut short); other errors (invalid_grant, say) stay as they are.
func (c *Connector) canceled(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	if cerr == nil {
		return err
	}
	switch driver.CodeOf(err) {
	case driver.Store, driver.Unavailable, driver.RefreshUncertain, driver.Unknown:
	default:
		return err
	}
	e := c.errorf(driver.Canceled, op, "the caller's context ended: %v", cerr)
	e.Err = errors.Join(cerr, err)
	return e
}

func (conn *Connection) renew(ctx context.Context, seen *Token) (*Token, error) {
	if err := conn.acquire(ctx); err != nil {
		return nil, err
	}
	defer conn.release()
	c := conn.c
	s := conn.snap.Load()
	if s == nil {
		var err error
		if s, err = conn.load(ctx); err != nil {
			return nil, err
		}
	}
	if p := conn.pendingWrite(); p != nil {
		if !conn.flush(ctx, p) {
			// The rotated token is used only once it is stored.
			return conn.whilePending(s, seen, p)
		}
		s = conn.snap.Load()
	}
	if seen == nil && s.fresh(c.now()) || seen != nil && s.usable && s.tok != seen {
		return s.tok, nil
	}
	if err := conn.statusErr(s); err != nil {
		return nil, err
	}
	if c.opts.Mode == connstr.ModeOff {
		if s.tok.AccessToken != "" && !s.expired(c.now()) {
			return s.tok, nil
		}
		return nil, c.errorf(driver.AuthorizationRequired, "token", "the access token of %s has expired and InitiateOAuth=OFF forbids refreshing it", conn.id)
	}
	ctx, span := c.tel.tracer.Start(ctx, "connector.refresh")
	if span.IsRecording() {
		span.SetAttributes(c.connAttrs(conn.id)...)
	}
	start := time.Now()
	tok, err := conn.refreshLocked(ctx, s, seen)
	c.refreshDone(ctx, start, err)
	endSpan(span, err)
	return tok, err
}

// refreshLocked takes the lease and refreshes, unless another instance
// already did.
func (conn *Connection) refreshLocked(ctx context.Context, s *snapshot, seen *Token) (*Token, error) {
	lease, rec, adopted, err := conn.lock(ctx, s)
	if err != nil {
		return nil, err
	}
	if adopted != nil {
		return adopted.tok, nil
	}
	tok, _, err := conn.refreshLeased(ctx, s, seen, &held{lease: lease}, rec)
	return tok, err
}

// leaseOutcome is what refreshLeased did, beyond the token it returns.
type leaseOutcome struct {
	// refreshed: this call's refreshed token was persisted and is the one
	// returned. False when another instance had refreshed (its token is
	// adopted and returned), and when the refresh failed.
	refreshed bool
	// failed is the refresh's error when a still-valid cached token is
	// returned instead of an error (a transient failure).
	failed error
	// changed: the re-read under the lease found the record written by
	// another instance since (a new token, or another status), and this
	// call refreshed nothing.
	changed bool
}

// refreshLeased refreshes with the lease held, unless rec, the record as
// Lock read it under the lease, shows that another instance already did
// (then it adopts that instance's token). The lease is given up when it is
// done — by the PutUnlock that stores the new token, else by an Unlock —
// unless a rotated token waits for the store.
func (conn *Connection) refreshLeased(ctx context.Context, s *snapshot, seen *Token, h *held, rec *store.Record) (*Token, leaseOutcome, error) {
	c := conn.c
	defer func() {
		if !h.released {
			_ = c.store.Unlock(detach(ctx), h.lease)
		}
	}()

	if rec == nil { // deleted since it was read
		return nil, leaseOutcome{}, c.storeErr("refresh", store.Errorf(store.ErrNotFound, "connection %q", conn.key))
	}
	if !unchanged(rec, s) {
		// Under the lease the store's record is the truth, even at a
		// lower version than this process held (another process deleted
		// the connection and authorized it again).
		var err error
		if s, err = conn.adoptLeased(rec); err != nil {
			return nil, leaseOutcome{}, err
		}
		if seen == nil && s.fresh(c.now()) || seen != nil && s.usable && s.tok.AccessToken != seen.AccessToken {
			return s.tok, leaseOutcome{changed: true}, nil
		}
		if err := conn.statusErr(s); err != nil {
			return nil, leaseOutcome{changed: true}, err
		}
	}

	unused := conn.completeBeforeRefresh(ctx, s)
	nt, err := conn.c.refresh(ctx, s.tok)
	if err == nil {
		err = c.checkAnswer(nt, "refresh")
	}
	if err != nil {
		tok, ferr := conn.refreshFailed(ctx, s, h, err)
		if ferr == nil && tok.AccessToken == s.tok.AccessToken {
			return tok, leaseOutcome{failed: err}, nil // the cached token, still valid
		}
		return tok, leaseOutcome{}, ferr
	}
	if acc := s.rec.Account; acc != "" && nt.AccountID != "" && nt.AccountID != acc {
		// A grant of another account must not take this connection's
		// place: refuse it whole.
		return nil, leaseOutcome{}, conn.markReauth(ctx, s, h, fmt.Sprintf("the provider's refresh answer names account %q, not the connection's %q; nothing was stored", nt.AccountID, acc), nil)
	}
	unused = c.rotated(unused, s.tok, nt)
	// Built on the record read under the lease (the same as s.rec, but
	// with what only the store knows: its creation time), so that the
	// snapshot published after the write knows it too.
	next, err := c.record(rec, nt, unused, store.Active, "")
	if err != nil {
		return nil, leaseOutcome{}, err
	}
	p, err := conn.persist(ctx, next, nt, unused, h)
	if p != nil {
		// Kept in memory, unused; the lease stays ours until the write lands.
		tok, err := conn.whilePending(s, seen, p)
		if err == nil {
			// The stored token, still valid, while ours waits unused.
			return tok, leaseOutcome{failed: conn.PendingWrite()}, nil
		}
		return tok, leaseOutcome{}, err
	}
	if err != nil {
		return nil, leaseOutcome{}, err
	}
	ns := conn.snap.Load()
	if !ns.usable || ns.expired(c.now()) {
		return nil, leaseOutcome{}, conn.statusOr(ns, c.errorf(driver.Unavailable, "refresh", "connection %s has no valid token after the refresh", conn.id))
	}
	// persist published nt, unless a newer version won the
	// compare-and-swap: then the stored token is the one in use.
	return ns.tok, leaseOutcome{refreshed: ns.tok == nt}, nil
}

// whilePending is what a caller gets while a rotated token waits for the
// store: the stored access token when it is still valid and the caller did
// not ask for a new one (Refresh, a 401), else driver.Store. The rotated
// token itself is handed to no one before it is persisted.
func (conn *Connection) whilePending(s *snapshot, seen *Token, p *pendingWrite) (*Token, error) {
	c := conn.c
	if seen == nil && s.usable && !s.expired(c.now()) {
		return s.tok, nil
	}
	conn.pendingMu.Lock()
	cause := p.err
	conn.pendingMu.Unlock()
	e := c.errorf(driver.Store, "refresh", "the refreshed token of %s could not be stored, so it is not used; the stored grant stays the one to use", conn.id)
	e.Err = cause
	return nil, e
}

// statusOr returns the status error of s, or err when s is active.
func (conn *Connection) statusOr(s *snapshot, err error) error {
	if serr := conn.statusErr(s); serr != nil {
		return serr
	}
	return err
}

// detach is context.WithoutCancel, without its allocation for a context
// that cannot be cancelled anyway.
func detach(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// refresh runs the driver's refresh.
func (c *Connector) refresh(ctx context.Context, tok *Token) (*Token, error) {
	// One budget for the driver's whole refresh: every request it sends
	// and the reading of their answers.
	ctx, cancel := context.WithTimeout(ctx, c.opts.Retry.Budget)
	defer cancel()
	if !c.spec.RefreshReplaySafe {
		ctx = context.WithValue(ctx, noReplayKey{}, true)
	}
	var nt *Token
	var err error
	if r, ok := c.p.(driver.Refresher); ok {
		nt, err = r.Refresh(ctx, c.env, tok)
	} else {
		nt, err = driver.StandardRefresh(ctx, c.env, tok)
	}
	if err != nil {
		// The provider's words may echo what it was sent.
		return nil, driver.Scrub(err, c.opts.ClientSecret, tok.AccessToken, tok.RefreshToken)
	}
	return nt, nil
}

// statusErr is the error of a connection that is not active.
func (conn *Connection) statusErr(s *snapshot) error {
	switch s.rec.Status {
	case store.Active:
		if s.tok.AccessToken == "" && s.tok.RefreshToken == "" {
			return conn.c.errorf(driver.AuthorizationRequired, "token", "connection %s holds no grant", conn.id)
		}
		return nil
	case store.Revoked:
		return conn.c.errorf(driver.ReauthRequired, "token", "connection %s was revoked; authorize again", conn.id)
	}
	reason := s.rec.Reason
	if reason == "" {
		reason = "the provider rejected the grant"
	}
	return conn.c.errorf(driver.ReauthRequired, "token", "connection %s needs reauthorization: %s", conn.id, reason)
}

// leaseWaitNotice is how long a refresh waits for another holder's lease
// before a LeaseWait event is sent.
const leaseWaitNotice = 500 * time.Millisecond

// lock takes the store's lease and returns it with the record as Lock read
// it under the lease. While another process holds the lease, it polls
// (each refused Lock returns the current record) and adopts a fresh token
// as soon as that process writes one: then it returns that snapshot and
// no lease.
func (conn *Connection) lock(ctx context.Context, s *snapshot) (*store.Lease, *store.Record, *snapshot, error) {
	c := conn.c
	wait := 2 * time.Millisecond
	var deadline, start time.Time // set on the first conflict
	told := false                 // the LeaseWait event was sent
	for {
		lease, rec, err := c.store.Lock(ctx, conn.key, c.opts.LeaseTTL)
		if err == nil {
			return lease, rec, nil, nil
		}
		if !errors.Is(err, store.ErrLocked) {
			return nil, nil, nil, c.storeErr("lock", err)
		}
		if deadline.IsZero() {
			start = time.Now()
			deadline = start.Add(c.opts.LeaseTTL + c.opts.Retry.Budget)
			c.tel.leaseWaits.Add(ctx, 1, c.tel.byProvider)
			var span trace.Span
			ctx, span = c.tel.tracer.Start(ctx, "connector.lease.wait", trace.WithAttributes(c.connAttrs(conn.id)...))
			defer span.End()
		}
		if !told && time.Since(start) >= leaseWaitNotice {
			// A wait this long is no ordinary contention: the holder may
			// have died. Its lease ends by then at the latest.
			told = true
			if c.opts.OnEvent != nil { // spares building the event
				c.emit(ctx, Event{Kind: LeaseWait, Connection: infoOf(s.rec), Until: start.Add(c.opts.LeaseTTL)})
			}
		}
		if rec != nil && !unchanged(rec, s) {
			ns, err := conn.adopt(rec)
			if err != nil {
				return nil, nil, nil, err
			}
			if ns.fresh(c.now()) {
				return nil, nil, ns, nil
			}
			if err := conn.statusErr(ns); err != nil {
				return nil, nil, nil, err
			}
			s = ns
		}
		if time.Now().After(deadline) {
			return nil, nil, nil, c.errorf(driver.Unavailable, "refresh", "connection %s stayed locked by another process for %s", conn.id, c.opts.LeaseTTL)
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		select {
		case <-ctx.Done():
			return nil, nil, nil, c.errorf(driver.Unavailable, "refresh", "gave up waiting for another process's refresh: %v", ctx.Err())
		case <-time.After(d):
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// refreshFailed applies the failure rules to a refresh error.
func (conn *Connection) refreshFailed(ctx context.Context, s *snapshot, h *held, err error) (*Token, error) {
	c := conn.c
	code := driver.CodeOf(err)
	c.warn(ctx, "refresh failed", "connection", conn.id, "code", code.String())
	final := code == driver.InvalidGrant || code == driver.ReauthRequired || code == driver.RefreshUncertain && !c.spec.RefreshReplaySafe ||
		code == driver.InvalidClient || code == driver.InvalidConfig
	if c.opts.OnEvent != nil { // spares building the event
		c.emit(ctx, Event{Kind: RefreshFailed, Connection: infoOf(s.rec), Err: err, Retry: !final})
	}
	switch {
	case code == driver.InvalidGrant || code == driver.ReauthRequired:
		// Someone may have refreshed meanwhile (a lapsed lease elsewhere).
		if rec, gerr := c.store.Get(ctx, conn.key); gerr == nil && !unchanged(rec, s) {
			if ns, aerr := conn.adopt(rec); aerr == nil && ns.fresh(c.now()) {
				return ns.tok, nil
			}
		}
		return nil, conn.markReauth(ctx, s, h, "the provider answered invalid_grant to a refresh", err)
	case code == driver.RefreshUncertain && !c.spec.RefreshReplaySafe:
		return nil, conn.markReauth(ctx, s, h, "a refresh answer was lost and the provider does not allow presenting the refresh token again", err)
	case code == driver.Unavailable || code == driver.BadResponse || code == driver.RefreshUncertain:
		if s.tok.AccessToken != "" && !s.expired(c.now()) {
			c.warn(ctx, "refresh failed; the cached token is still valid", "connection", conn.id)
			return s.tok, nil
		}
	}
	return nil, err
}

// markReauth marks the connection needs_reauth, keeping its grant, and
// fires the hook; the write gives the lease back (PutUnlock). It returns
// the driver.ReauthRequired error.
func (conn *Connection) markReauth(ctx context.Context, s *snapshot, h *held, reason string, cause error) error {
	c := conn.c
	// Sealed again: the snapshot keeps no sealed secret.
	rec, serr := c.record(s.rec, s.tok, s.unused, store.NeedsReauth, reason)
	if serr != nil {
		return serr
	}
	if v, err := c.store.PutUnlock(ctx, rec, h.lease); err == nil {
		h.released = true
		rec.Version = v
		conn.set(c.snapshotOf(rec, s.tok, s.unused))
	} else {
		c.warn(ctx, "could not mark connection needs_reauth", "connection", conn.id, "error", err.Error())
		conn.set(c.snapshotOf(rec, s.tok, s.unused))
	}
	e := c.errorf(driver.ReauthRequired, "refresh", "connection %s needs reauthorization: %s", conn.id, reason)
	e.Err = cause
	if c.opts.OnEvent != nil { // spares building the event
		c.emit(ctx, Event{Kind: NeedsReauth, Connection: infoOf(rec), Err: e})
	}
	return e
}

// persist writes a refreshed token under the lease and releases the lease
// in the same call (PutUnlock). When the write fails it returns the
// pending write: the token is kept in memory, unused and unpublished, the
// lease stays held (the pending write takes it over), and the write is
// retried in the background. When it loses the compare-and-swap the lease
// is left to the caller to give up.
func (conn *Connection) persist(ctx context.Context, rec *store.Record, tok *Token, unused []string, h *held) (*pendingWrite, error) {
	c := conn.c
	// The provider has rotated the grant: the write is not given up when
	// the caller's context ends (the rotated token would wait in memory
	// only, and be lost with a process that exits on the same signal). It
	// is bounded by Timeout instead, as one exchange.
	wctx := ctx
	if ctx.Done() != nil {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
		defer cancel()
	}
	v, err := c.store.PutUnlock(wctx, rec, h.lease)
	if err == nil {
		h.released = true
		rec.Version = v
		conn.set(c.snapshotOf(rec, tok, unused))
		if c.opts.Logger.Enabled(ctx, slog.LevelInfo) { // spares the arguments' allocation
			c.log(ctx, "token refreshed", "connection", conn.id, "version", v)
		}
		if c.opts.OnEvent != nil { // spares building the event
			c.emit(ctx, Event{Kind: Refreshed, Connection: infoOf(rec)})
		}
		return nil, nil
	}
	if errors.Is(err, store.ErrConflict) {
		// A newer version was written by a holder of a later lease: the
		// store is the truth; our token was never used and is dropped.
		c.warn(ctx, "refreshed token lost a compare-and-swap; adopting the stored one", "connection", conn.id)
		if _, lerr := conn.load(ctx); lerr != nil {
			return nil, lerr
		}
		return nil, nil
	}
	// The provider rotated but the store is failing: keep the new token,
	// unused, until the write lands.
	h.released = true // the pending write holds it now
	p := &pendingWrite{rec: rec, tok: tok, unused: unused, lease: h.lease, err: err, done: make(chan struct{})}
	conn.pendingMu.Lock()
	conn.pending = p
	conn.pendingMu.Unlock()
	c.opts.Logger.ErrorContext(ctx, "refreshed token could not be persisted; kept in memory unused, retrying", "provider", c.name, "connection", conn.id, "error", err.Error())
	if c.opts.OnEvent != nil { // spares building the event
		c.emit(ctx, Event{Kind: StoreWriteFailed, Connection: infoOf(rec), Err: c.storeErr("persist", err)})
	}
	go conn.retryPending(p)
	return p, nil
}

func (conn *Connection) pendingWrite() *pendingWrite {
	conn.pendingMu.Lock()
	defer conn.pendingMu.Unlock()
	return conn.pending
}

// flush tries to write p once. It reports whether p is settled.
func (conn *Connection) flush(ctx context.Context, p *pendingWrite) bool {
	c := conn.c
	conn.pendingMu.Lock()
	defer conn.pendingMu.Unlock()
	if conn.pending != p {
		return true
	}
	v, err := c.store.PutUnlock(ctx, p.rec, p.lease)
	lost := errors.Is(err, store.ErrConflict)
	if err != nil && !lost {
		p.err = err
		return false
	}
	conn.pending = nil
	if err == nil {
		rec := p.rec.Clone()
		rec.Version = v
		// Stored: only now is the rotated token published.
		if cur := conn.snap.Load(); cur == nil || cur.rec.Version < v {
			conn.set(c.snapshotOf(rec, p.tok, p.unused))
		}
		c.log(ctx, "pending token persisted", "connection", conn.id, "version", v)
		if c.opts.OnEvent != nil { // spares building the event
			c.emit(ctx, Event{Kind: StoreWriteRecovered, Connection: infoOf(rec)})
		}
		if c.opts.OnEvent != nil { // spares building the event
			c.emit(ctx, Event{Kind: Refreshed, Connection: infoOf(rec)})
		}
	} else {
		c.opts.Logger.ErrorContext(ctx, "pending token lost a compare-and-swap to a newer version", "provider", c.name, "connection", conn.id)
		// PutUnlock changed nothing: the lease, if still ours, is given up.
		_ = c.store.Unlock(context.WithoutCancel(ctx), p.lease)
	}
	close(p.done)
	return true
}

// retryPending retries a pending write with capped backoff until it lands or
// the Connector is closed.
func (conn *Connection) retryPending(p *pendingWrite) {
	wait := 50 * time.Millisecond
	for {
		select {
		case <-conn.c.ctx.Done():
			return
		case <-p.done:
			return
		case <-time.After(wait):
		}
		if conn.flush(conn.c.ctx, p) {
			return
		}
		if wait < 5*time.Second {
			wait *= 2
		}
	}
}

// PendingWrite returns the last store error while a rotated token is held
// only in memory, or nil when everything is persisted.
func (conn *Connection) PendingWrite() error {
	if p := conn.pendingWrite(); p != nil {
		conn.pendingMu.Lock()
		defer conn.pendingMu.Unlock()
		return conn.c.storeErr("persist", p.err)
	}
	return nil
}

// Flush waits until a pending write lands or ctx is done. Programs that
// exit soon after a refresh (the CLI) call it so that a rotated token is
// never lost silently.
func (conn *Connection) Flush(ctx context.Context) error {
	for {
		p := conn.pendingWrite()
		if p == nil {
			return nil
		}
		if conn.flush(ctx, p) {
			continue
		}
		select {
		case <-ctx.Done():
			return errors.Join(conn.PendingWrite(), ctx.Err())
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}
