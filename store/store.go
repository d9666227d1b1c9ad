// Package store defines where connections live: the Store contract that every
// backend implements, the Record it holds, the lease lock with fencing that
// serialises refreshes across processes, and the Keyring that seals tokens
// at rest with AES-256-GCM.
//
// Backends: store/memory, store/sqlite (the default), store/postgres and
// store/redis. Each registers a URL scheme; Open picks one by the
// OAuthSettingsLocation of a connection string. Every backend must pass
// conformance.TestStore.
//
// A Store never sees a token in the clear: the engine seals the token with the
// Keyring before Put and opens it after Get. The Record's other fields
// (provider, application, namespace, reference, tags, account, scopes,
// status, expiry) are not secret and stay readable, so that connections can
// be listed without a key.
package store

import (
	"context"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"
)

// Status is the state of a connection.
type Status string

// The statuses.
const (
	// Active: the grant is usable.
	Active Status = "active"
	// NeedsReauth: the provider rejected the grant; a user must authorize again.
	// The stored grant is kept (never wiped) for inspection.
	NeedsReauth Status = "needs_reauth"
	// Revoked: the grant was revoked through the connector.
	Revoked Status = "revoked"
)

// Record is one stored connection.
type Record struct {
	ID       string // connection id, chosen by the engine
	Provider string // driver name
	// App is the client id of the application that obtained the connection;
	// "" in records written before applications were recorded.
	App string
	// Namespace separates the connections of one application serving many
	// customers (connector.Options.Namespace); "" when none.
	Namespace string
	// Ref is the application's own reference for the connection (its
	// customer or workspace id), given at authorization; "" when none.
	Ref string
	// Tags are the application's labels for the connection, sorted, no
	// duplicates; nil when none.
	Tags    []string
	Account string   // the provider's account (store code, merchant id)
	Scopes  []string // granted scopes
	Status  Status
	Reason  string    // why the status is not Active; never a secret
	Expiry  time.Time // when the access token expires; zero if never
	// Secret is the sealed token (Keyring.Seal): opaque bytes to the store.
	Secret []byte
	// Version is the record's compare-and-swap version. Put sets it: 1 on
	// create, +1 on every write.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.Scopes = append([]string(nil), r.Scopes...)
	c.Tags = append([]string(nil), r.Tags...)
	c.Secret = append([]byte(nil), r.Secret...)
	return &c
}

// Lease is a held lock on one connection.
type Lease struct {
	ID string // the connection id
	// Fence is the fencing token: strictly greater than that of every lease
	// granted before on the same ID, in every process.
	Fence   int64
	Holder  string    // unique per acquisition
	Expires time.Time // by the store's clock; after it, others may take the lease
}

// Store is the contract every backend implements. All methods must be safe
// for concurrent use, from many goroutines and many processes sharing the
// backend. conformance.TestStore checks each rule stated here.
type Store interface {
	// Get returns the record, or an error with Code NotFound.
	Get(ctx context.Context, id string) (*Record, error)

	// List returns every record, sorted by ID.
	List(ctx context.Context) ([]*Record, error)

	// Put writes rec if the stored version equals rec.Version (0 means the
	// record must not exist yet) and, when fence > 0, no lease with a fence
	// greater than fence has been granted on rec.ID. It returns the new
	// version (rec.Version+1) and sets UpdatedAt (and CreatedAt on create).
	// A version or fence mismatch is an error with Code Conflict and
	// changes nothing.
	//
	// Every other field of rec is stored as given and Get returns it
	// exactly (times to the microsecond; empty Tags come back nil). A text
	// field holding a NUL byte, which some backends cannot hold, is either
	// kept or refused with an error that changes nothing, never cut. The
	// store keeps no reference to rec's slices.
	Put(ctx context.Context, rec *Record, fence int64) (int64, error)

	// Delete removes the record and any lease on it. Deleting a missing
	// record is an error with Code NotFound.
	Delete(ctx context.Context, id string) error

	// TryLock takes the lease on id for ttl, whether or not the record
	// exists. If another holder's lease has not expired it returns an error
	// with Code Conflict at once. An expired lease may be taken over.
	TryLock(ctx context.Context, id string, ttl time.Duration) (*Lease, error)

	// Unlock releases l if it is still the current lease on l.ID (compare
	// and delete); releasing a lease that expired or was taken over is not
	// an error and leaves the new holder's lease alone.
	Unlock(ctx context.Context, l *Lease) error

	// Close releases the backend's resources.
	Close() error
}

// Claimer is implemented by stores that can record a one-time claim: the
// engine uses it to consume authorization states. Without it the engine
// falls back to TryLock, which works but leaves a lease (and, in most
// backends, its fence counter) behind for every state consumed.
//
// Claimer is optional and found by type assertion, so that stores written
// before it keep working. conformance.TestStore checks a store that
// implements it: a first claim succeeds; a second claim of the same key
// within its ttl is Conflict; once the claim has expired the key can be
// claimed again; of many goroutines claiming one key at once exactly one
// succeeds; and, where the harness can see the claims a store holds,
// expired claims are removed by a later claim rather than piling up.
type Claimer interface {
	// Claim records key for ttl. It returns an error with Code Conflict if
	// key is already claimed and its claim has not expired. Expired claims
	// are removed by the store (lazily is fine) so that claims never pile up.
	Claim(ctx context.Context, key string, ttl time.Duration) error
}

// DueLister is implemented by stores that can find the connections due for
// a refresh without reading every record: the scheduler
// (connector.Connector.RefreshDue) asks it for the records whose access
// token expires by a time, the most urgent first. Without it the scheduler
// falls back to List and filters, which reads every record.
//
// DueLister is optional and found by type assertion, so that stores written
// before it keep working. conformance.TestStore checks a store that
// implements it: Due returns exactly the Active records with a non-zero
// Expiry at or before before, whole as Get returns them, ordered by Expiry
// (to the microsecond) and then by ID (bytewise), at most limit of them
// (every one when limit <= 0); a record whose Expiry moves past before, is
// cleared, or whose Status leaves Active is no longer returned, and comes
// back once it is due and Active again; a deleted record is not returned.
type DueLister interface {
	// Due returns the Active records whose Expiry is set and not after
	// before, ordered by Expiry then ID, at most limit (all when limit <= 0).
	// The records are those of every application and provider in the
	// store; the caller keeps its own.
	Due(ctx context.Context, before time.Time, limit int) ([]*Record, error)
}

// IsDue reports whether r is what DueLister.Due returns for before: Active,
// with an Expiry set and not after before.
func IsDue(r *Record, before time.Time) bool {
	return r.Status == Active && !r.Expiry.IsZero() && !r.Expiry.After(before)
}

// CompareDue orders records as DueLister.Due returns them: by Expiry, then
// by ID (bytewise).
func CompareDue(a, b *Record) int {
	if c := a.Expiry.Compare(b.Expiry); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// ErrNotFound returns the error Get and Delete give for a missing record.
func ErrNotFound(id string) error {
	return &driver.Error{Code: driver.NotFound, Op: "store", Msg: "no connection " + quote(id)}
}

// ErrConflict returns the error Put gives on a version or fence mismatch.
func ErrConflict(id, why string) error {
	return &driver.Error{Code: driver.Conflict, Op: "store", Msg: "write to connection " + quote(id) + " refused: " + why}
}

// ErrLocked returns the error TryLock gives while another holder has the lease.
func ErrLocked(id string) error {
	return &driver.Error{Code: driver.Conflict, Op: "store", Msg: "connection " + quote(id) + " is locked by another holder"}
}

// ErrClaimed returns the error Claim gives while key's claim has not expired.
func ErrClaimed(key string) error {
	return &driver.Error{Code: driver.Conflict, Op: "store", Msg: "key " + quote(key) + " is already claimed"}
}

// Errorf wraps a backend failure as an error with Code Store. The message
// must not hold a secret (a DSN's password, say).
func Errorf(err error, format string, args ...any) error {
	e := driver.Errorf(driver.Store, format, args...)
	e.Op = "store"
	e.Err = err
	return e
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + s + `"`
}
