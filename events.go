package connector

import (
	"context"
	"time"
)

// EventKind says what happened to a connection.
type EventKind int

// The events. Each is delivered to Options.OnEvent synchronously, from
// the goroutine that made the change — the caller's (Token, Client's
// requests, HandleCallback, Revoke, Delete, List…), except
// StoreWriteRecovered, which may come from the background goroutine that
// retries a refused write. OnEvent must not block for long: the caller
// waits for it.
const (
	// Created: an authorization (or Import) stored a new connection.
	Created EventKind = iota + 1
	// Reauthorized: an authorization replaced the grant of an existing
	// connection and made it active again.
	Reauthorized
	// Refreshed: a refreshed token was persisted (and only then used).
	Refreshed
	// RefreshFailed: a refresh failed. Err holds the error (its Code);
	// Retry says whether the engine will try again on a later call
	// (transient failures) or not (the grant is gone: NeedsReauth
	// follows).
	RefreshFailed
	// NeedsReauth: the connection was marked needs_reauth (the provider
	// rejected the grant, or answered for another account). Err says why.
	NeedsReauth
	// Revoked: the connection was marked revoked (Err: the provider's
	// error, if its revocation failed).
	Revoked
	// Deleted: the connection was deleted from the store.
	Deleted
	// StoreWriteFailed: the store refused a refreshed token; it waits in
	// memory, unused, and its write is retried. Err is the store's error.
	StoreWriteFailed
	// StoreWriteRecovered: a refused write landed; the token is now used.
	StoreWriteRecovered
	// LeaseWait: a refresh has waited half a second for a lease another
	// process holds (one that died, perhaps); it waits until Until at the
	// latest.
	LeaseWait
)

var eventNames = [...]string{
	Created: "created", Reauthorized: "reauthorized", Refreshed: "refreshed", RefreshFailed: "refresh_failed",
	NeedsReauth: "needs_reauth", Revoked: "revoked", Deleted: "deleted", StoreWriteFailed: "store_write_failed",
	StoreWriteRecovered: "store_write_recovered", LeaseWait: "lease_wait",
}

// String returns the kind's stable snake_case name.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one change of a connection's state. It never holds a secret:
// Connection carries ids, the application, its reference and tags; Err is
// scrubbed of every secret the engine holds.
type Event struct {
	Kind       EventKind
	Connection ConnectionInfo
	// Err is the error of RefreshFailed, NeedsReauth, Revoked (when the
	// provider's revocation failed) and StoreWriteFailed; nil otherwise.
	Err error
	// Retry is set on RefreshFailed when the engine will try again.
	Retry bool
	// Until is set on LeaseWait: when the other holder's lease lapses at
	// the latest.
	Until time.Time
}

// emit delivers e to Options.OnEvent, if set.
func (c *Connector) emit(ctx context.Context, e Event) {
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(ctx, e)
	}
}
