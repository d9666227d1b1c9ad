package connector

import (
	"context"
	"hash/maphash"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector/store"
)

// Status is the state of a connection.
type Status = store.Status

// The statuses of a connection.
const (
	// StatusActive: the grant is usable.
	StatusActive = store.Active
	// StatusNeedsReauth: the provider rejected the grant; a user must
	// authorize again. The stored grant is kept.
	StatusNeedsReauth = store.NeedsReauth
	// StatusRevoked: the grant was revoked through the connector.
	StatusRevoked = store.Revoked
)

// ConnectionInfo describes a stored connection, without its secrets.
type ConnectionInfo struct {
	ID        string // provider:account
	Provider  string
	Account   string
	App       string // the client id of the application that obtained it; "" for one written before applications were recorded
	Namespace string // the application's namespace (Options.Namespace)
	Ref       string // the application's reference, given at authorization
	Tags      []string
	Scopes    []string
	Status    Status
	Reason    string    // why Status is not active
	Expiry    time.Time // of the access token
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

func infoOf(r *store.Record) ConnectionInfo {
	return ConnectionInfo{ID: idOf(r), Provider: r.Provider, Account: r.Account, App: r.App, Namespace: r.Namespace,
		Ref: r.Ref, Tags: append([]string(nil), r.Tags...), Scopes: append([]string(nil), r.Scopes...),
		Status: r.Status, Reason: r.Reason, Expiry: r.Expiry, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Connection is one merchant's grant to the application. It is safe for
// concurrent use; the Connector hands out one *Connection per id.
type Connection struct {
	c   *Connector
	id  string // provider:account
	key string // the store's id: qualified by the application (connections.go)

	// snap is the current state; replaced whole, never modified.
	snap atomic.Pointer[snapshot]
	// flight admits one refresh at a time within the process.
	flight chan struct{}

	pendingMu sync.Mutex
	pending   *pendingWrite // a rotated token not yet persisted
}

// snapshot is an immutable view of a connection.
type snapshot struct {
	tok *Token
	rec *store.Record // without its Secret (snapshotOf)
	// sealed is secretSum of the record's sealed secret, which the
	// snapshot does not keep: it tells the record apart from another
	// written at the same version (unchanged).
	sealed uint64
	// refreshAt is when the token is refreshed, in Unix nanoseconds
	// (math.MaxInt64 when it never expires); refreshAtCoarse is refreshAt -
	// coarseMargin, the fast path's bound.
	refreshAt, refreshAtCoarse int64
	usable                     bool // status active and an access token present
	// authz is the Authorization header value, "Bearer " + the access
	// token, held in the snapshot itself: authz[:] is the header's value
	// without an allocation.
	authz [1]string
	// unused holds access tokens issued by refreshes and perhaps never
	// presented: presenting one completes its rotation (retire.go). Nil for
	// most providers.
	unused []string
}

// fresh reports whether the token can be handed out without a refresh.
func (s *snapshot) fresh(now time.Time) bool {
	return s.usable && (s.refreshAt == math.MaxInt64 || now.UnixNano() < s.refreshAt)
}

// expired reports whether the access token is past its expiry.
func (s *snapshot) expired(now time.Time) bool {
	return !s.tok.Expiry.IsZero() && !now.Before(s.tok.Expiry)
}

func (c *Connector) snapshotOf(rec *store.Record, tok *Token, unused []string) *snapshot {
	// The snapshot keeps the record without its sealed secret (a third of
	// a held connection's memory), only its sum: tok is the secret, opened.
	r := *rec
	r.Secret = nil
	s := &snapshot{tok: tok, rec: &r, sealed: secretSum(rec.Secret), unused: unused, usable: r.Status == store.Active && tok.AccessToken != "",
		refreshAt: math.MaxInt64, refreshAtCoarse: math.MaxInt64}
	if s.usable {
		s.authz[0] = "Bearer " + tok.AccessToken
	}
	if !tok.Expiry.IsZero() {
		at := tok.Expiry.Add(-c.opts.leewayFor(tok))
		s.refreshAt, s.refreshAtCoarse = at.UnixNano(), at.Add(-coarseMargin).UnixNano()
	}
	return s
}

func (conn *Connection) set(s *snapshot) { conn.snap.Store(s) }

// secretSeed seeds secretSum for the life of the process.
var secretSeed = maphash.MakeSeed()

// secretSum is a hash of a sealed secret. Sealing draws a fresh nonce, so
// two writes of a record never have the same sealed secret, and their sums
// differ but by a 2^-64 chance.
func secretSum(sealed []byte) uint64 { return maphash.Bytes(secretSeed, sealed) }

// ID returns the connection id ("provider:account").
func (conn *Connection) ID() string { return conn.id }

// Info describes the connection as last seen by this process.
func (conn *Connection) Info() ConnectionInfo {
	if s := conn.snap.Load(); s != nil {
		return infoOf(s.rec)
	}
	return ConnectionInfo{ID: conn.id, Provider: conn.c.name}
}

// Token returns a valid access token. A cached token that is not near
// expiry is returned without a lock, a system call or an allocation. Near
// expiry, one caller refreshes (one per process, and one across processes
// through the store's lease) and the others wait for its result.
//
// The returned *Token is shared: do not modify it.
func (conn *Connection) Token(ctx context.Context) (*Token, error) {
	if s := conn.snap.Load(); s != nil && s.usable {
		if conn.c.coarse {
			// The shared coarse clock (clock.go): no clock read at all.
			if now := coarse.now.Load(); now != 0 && now < s.refreshAtCoarse {
				return s.tok, nil
			}
		}
		if s.fresh(conn.c.opts.Clock()) {
			return s.tok, nil
		}
	}
	return conn.slowToken(ctx, nil)
}

// Refresh refreshes the token now, unless another caller (in this or
// another process) replaced it since this process last saw it.
func (conn *Connection) Refresh(ctx context.Context) (*Token, error) {
	var seen *Token
	if s := conn.snap.Load(); s != nil {
		seen = s.tok
	} else if s, err := conn.load(ctx); err != nil {
		return nil, err
	} else {
		seen = s.tok
	}
	return conn.slowToken(ctx, seen)
}

// Client returns an *http.Client for the provider's API: it sets the bearer
// token and the provider's required headers, and Accept: application/json
// when the request sets no Accept (the caller's request is not modified:
// each exchange sends a copy), refreshes once and retries
// once on a 401, and retries idempotent requests on 429 honouring
// Retry-After. Each request's own context bounds it, and the refresh it
// may run; the Client holds no context of its own and may be kept and
// shared. With the default transport, a provider silent for
// Options.Timeout (no answer's headers, or a Read of its body that gets
// nothing more, for that long) is given up; Options.APITimeout bounds a
// whole exchange.
//
// The token goes only to the API's origin (the scheme, host and port of
// its base URL): a request for another origin is refused with
// driver.InvalidConfig before anything is sent, and a redirect to another
// origin (another host or port, or https to http) is not followed: Do
// returns an error with driver.ProviderError that names the target. Redirects
// within the origin are followed, up to 10.
func (conn *Connection) Client() *http.Client {
	return &http.Client{Transport: &transport{conn: conn}, CheckRedirect: conn.c.checkRedirect}
}

// NewRequest returns a request for the provider's API. path is resolved
// against the API base URL (APIPath): with the base
// https://api.jumpseller.com/v1/, "store/info.json", "/store/info.json" and
// "/v1/store/info.json" all name https://api.jumpseller.com/v1/store/info.json.
// An absolute URL must be on the API's origin. With a body, the request
// says Content-Type: application/json. Client sends Accept:
// application/json unless the request sets its own Accept.
func (conn *Connection) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	c := conn.c
	if c.apiBase == nil {
		return nil, c.errorf(driver.InvalidConfig, "request", "the provider has no API base URL")
	}
	target := path
	if !strings.Contains(path, "://") {
		target = c.apiBaseStr + apiPath(c.apiBase.Path, path)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, c.errorf(driver.InvalidConfig, "request", "bad request path")
	}
	// The bearer token goes only to the API's own origin.
	if !c.sameOrigin(req.URL) {
		return nil, c.errorf(driver.InvalidConfig, "request", "%s is not on the API's origin %s; the token is sent only there", redactedTarget(req.URL), c.apiOrigin)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// apiPath returns path relative to an API base whose path is basePath. A
// relative path ("token/info") is kept. A path starting with "/" is
// relative to the base too, except that a beginning that repeats the end of
// the base's path is not doubled: with the base path /v1/, both
// "/v1/token/info" and "/token/info" are "token/info"; with
// /shopline/api/v1/, so are "/v1/token/info" and
// "/shopline/api/v1/token/info". The longest repetition wins.
func apiPath(basePath, path string) string {
	if !strings.HasPrefix(path, "/") {
		return path
	}
	p, query, hasQuery := strings.Cut(path, "?")
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var baseSegs []string
	if b := strings.Trim(basePath, "/"); b != "" {
		baseSegs = strings.Split(b, "/")
	}
	overlap := 0
	for k := min(len(baseSegs), len(segs)); k > 0; k-- {
		if slices.Equal(baseSegs[len(baseSegs)-k:], segs[:k]) {
			overlap = k
			break
		}
	}
	rest := strings.Join(segs[overlap:], "/")
	if strings.HasSuffix(p, "/") && rest != "" {
		rest += "/"
	}
	if hasQuery {
		rest += "?" + query
	}
	return rest
}
