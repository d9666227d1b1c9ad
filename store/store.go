// Package store defines where connections live: the Store contract that every
// backend implements, the Record it holds, the lease lock with fencing that
// serialises refreshes across processes, and the Keyring that seals tokens
// at rest with AES-256-GCM.
//
// Backends: store/memory, store/sqlite (the default), store/postgres and
// store/redis. Each registers a URL scheme; Open picks one by the
// OAuthSettingsLocation of a connection string, and gives it its Keyring
// by the one key policy (KeyringFor); OpenExisting opens only a store that
// exists, creating nothing. Every backend must pass conformance.TestStore.
//
// # Errors
//
// A refusal of the contract is a sentinel, tested with errors.Is:
// ErrNotFound, ErrConflict, ErrLocked, ErrClaimed (and ErrNoStore from
// OpenExisting). Backends wrap them with Errorf, which names the id and
// gives the error the Code that goes with the sentinel (CodeOf), so that
// the connector's own errors carry it.
//
// A Store never sees a token in the clear: the engine seals the token with the
// Keyring before Put and opens it after Get. The Record's other fields
// (provider, application, namespace, reference, tags, account, scopes,
// status, expiry) are not secret and stay readable, so that connections can
// be listed without a key.
package store

import (
	"context"
	"errors"
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

// Lease is a held lock on one connection. (ID, Fence) names it: fences
// are strictly increasing per ID, so no two leases share both.
type Lease struct {
	ID string // the connection id
	// Fence is the fencing token: strictly greater than that of every lease
	// granted before on the same ID, in every process, whether that lease
	// was released, expired, or its record deleted.
	Fence int64
}

// Store is the contract every backend implements. All methods must be safe
// for concurrent use, from many goroutines and many processes sharing the
// backend. conformance.TestStore checks each rule stated here.
//
// A refresh makes two calls: Lock, which takes the lease and reads the
// record, and PutUnlock, which writes the new token and gives the lease
// back. Each is one round trip (one statement, transaction or script) in
// every backend of this module.
//
// Errors: the refusals below are errors for which errors.Is holds with
// ErrNotFound, ErrConflict, ErrLocked or ErrClaimed; a backend wraps them
// with Errorf (which gives the error the matching Code) to say which id.
// Any other failure is an error with Code Store (Errorf).
type Store interface {
	// Get returns the record, or an error that is ErrNotFound.
	Get(ctx context.Context, id string) (*Record, error)

	// List returns every record, sorted by ID.
	List(ctx context.Context) ([]*Record, error)

	// Put writes rec if the stored version equals rec.Version (0 means the
	// record must not exist yet) and, when fence > 0, no lease with a fence
	// greater than fence has been granted on rec.ID. It returns the new
	// version (rec.Version+1) and sets UpdatedAt (and CreatedAt on create).
	// A version or fence mismatch is an error that is ErrConflict and
	// changes nothing.
	//
	// Every other field of rec is stored as given and Get returns it
	// exactly (times to the microsecond; empty Tags come back nil). A text
	// field holding a NUL byte, which some backends cannot hold, is either
	// kept or refused with an error that changes nothing, never cut. The
	// store keeps no reference to rec's slices.
	Put(ctx context.Context, rec *Record, fence int64) (int64, error)

	// Delete removes the record and any lease on it; the fence counter of
	// id is kept, so that a later lease still takes a greater fence.
	// Deleting a missing record is an error that is ErrNotFound.
	Delete(ctx context.Context, id string) error

	// Lock takes the lease on id for ttl and returns it with the record as
	// it stands under the lease (nil when there is none), in one round
	// trip: the record is read after the lease is taken, so no write by an
	// earlier holder is missed. The lease is taken whether or not the
	// record exists; an expired lease may be taken over.
	//
	// While another holder's lease has not expired, Lock returns a nil
	// lease, the current record (nil when there is none) and an error that
	// is ErrLocked, so that a caller waiting for the lease sees the other
	// holder's write without another call.
	Lock(ctx context.Context, id string, ttl time.Duration) (*Lease, *Record, error)

	// PutUnlock is Put(ctx, rec, l.Fence) followed by Unlock(ctx, l), in one
	// round trip and atomically: it writes rec if the stored version equals
	// rec.Version and no lease with a greater fence than l.Fence was
	// granted on rec.ID, then releases l if it is still the current lease,
	// and returns the new version. rec.ID must be l.ID.
	//
	// A version or fence mismatch is an error that is ErrConflict and
	// changes nothing: the lease, if it is still held, stays held (the
	// caller decides whether to retry or Unlock). Any other failure may
	// have written and released, or not (the caller retries, and a
	// conflict then says the first attempt landed or was overtaken).
	PutUnlock(ctx context.Context, rec *Record, l *Lease) (int64, error)

	// Unlock releases l if it is still the current lease on l.ID (compare
	// and delete on ID and Fence); releasing a lease that expired or was
	// taken over is not an error and leaves the new holder's lease alone.
	Unlock(ctx context.Context, l *Lease) error

	// TryLock is Lock without the record.
	//
	// Deprecated: use Lock. TryLock remains for code written against the
	// earlier contract; a backend implements it as Lock, dropping the
	// record.
	TryLock(ctx context.Context, id string, ttl time.Duration) (*Lease, error)

	// Claim records a one-time claim of key for ttl: the engine consumes
	// authorization states with it. It returns an error that is
	// ErrClaimed if key is already claimed and its claim has not expired.
	// Expired claims are removed by the store (lazily is fine) so that
	// claims never pile up. Claims live apart from records and leases: a
	// key may equal a connection id.
	Claim(ctx context.Context, key string, ttl time.Duration) error

	// Close releases the backend's resources.
	Close() error
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

// The refusals of the Store contract. Backends return them wrapped (Errorf
// names the id and gives the error the matching Code); callers test them
// with errors.Is, never by message.
var (
	// ErrNotFound: Get or Delete of a record that does not exist. Code
	// NotFound.
	ErrNotFound = errors.New("no such connection")
	// ErrConflict: a Put or PutUnlock whose version or fence no longer
	// matches; nothing was written. Code Conflict.
	ErrConflict = errors.New("version or fence conflict")
	// ErrLocked: Lock while another holder's lease has not expired. Code
	// Conflict.
	ErrLocked = errors.New("locked by another holder")
	// ErrClaimed: Claim of a key whose claim has not expired. Code
	// Conflict.
	ErrClaimed = errors.New("already claimed")
	// ErrNoStore: OpenExisting of a location where no store exists. Code
	// NotFound.
	ErrNoStore = errors.New("no store there")
)

// CodeOf returns the driver Code that goes with err: that of the first
// *driver.Error in its chain, else NotFound or Conflict for one of the
// sentinels above (a third-party backend may return them unwrapped), else
// driver.Unknown.
func CodeOf(err error) driver.Code {
	if c := driver.CodeOf(err); c != driver.Unknown {
		return c
	}
	return sentinelCode(err)
}

func sentinelCode(err error) driver.Code {
	switch {
	case err == nil:
		return driver.Unknown
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNoStore):
		return driver.NotFound
	case errors.Is(err, ErrConflict), errors.Is(err, ErrLocked), errors.Is(err, ErrClaimed):
		return driver.Conflict
	}
	return driver.Unknown
}

// Errorf wraps a backend failure as an error with Code Store, or, when err
// is one of the sentinels (ErrNotFound, ErrConflict, ErrLocked, ErrClaimed,
// ErrNoStore), with that sentinel's Code; errors.Is finds err through it.
// The message must not hold a secret (a DSN's password, say).
func Errorf(err error, format string, args ...any) error {
	code := sentinelCode(err)
	if code == driver.Unknown {
		code = driver.Store
	}
	e := driver.Errorf(code, format, args...)
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
