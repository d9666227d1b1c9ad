package store

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/connector-go/connector/driver"
)

// OpenFunc opens the store at location. Backends register one per URL
// scheme. It returns only the Store: Open chooses the Keyring that seals its
// tokens (KeyringFor), so that the key policy lives in one place.
//
// Called through OpenExisting, ctx says so (ExistingOnly): the OpenFunc must
// then create nothing — no file, directory, schema or table — and return an
// error that is ErrNoStore when the store does not exist.
type OpenFunc = func(ctx context.Context, location string) (Store, error)

// KeyedOpenFunc is the earlier form of OpenFunc, which also returned the
// Keyring. Open uses the Keyring it returns as it is, without KeyringFor's
// policy.
//
// Deprecated: register an OpenFunc; Open chooses the Keyring.
type KeyedOpenFunc = func(ctx context.Context, location string) (Store, *Keyring, error)

// opener is a registered backend.
type opener struct {
	open  OpenFunc
	keyed KeyedOpenFunc
}

var (
	openersMu sync.RWMutex
	openers   = map[string]opener{}
)

// Register makes a backend available under a URL scheme ("memory",
// "postgres", ...). The scheme "file" receives plain file paths. It panics
// if open is nil or the scheme is registered twice. open is an OpenFunc
// (or, deprecated, a KeyedOpenFunc).
func Register[F OpenFunc | KeyedOpenFunc](scheme string, open F) {
	var o opener
	switch f := any(open).(type) {
	case OpenFunc:
		o.open = f
	case KeyedOpenFunc:
		o.keyed = f
	}
	openersMu.Lock()
	defer openersMu.Unlock()
	if o.open == nil && o.keyed == nil {
		panic("store: Register open func is nil")
	}
	if _, dup := openers[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	openers[scheme] = o
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	var s []string
	for k := range openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// DefaultLocation is the SQLite file used when no location is given:
// connector/connector.db under os.UserConfigDir.
func DefaultLocation() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", Errorf(err, "no user config directory for the default store; set OAuthSettingsLocation")
	}
	return filepath.Join(dir, "connector", "connector.db"), nil
}

// Open opens the store named by an OAuthSettingsLocation: "memory://name",
// "postgres://…", "redis://…", a "file:" URL or a plain file path (SQLite),
// or "" for DefaultLocation, creating it (its file, schema or tables) if
// needed, and returns it with the Keyring that seals its tokens
// (KeyringFor). A scheme whose backend is not linked in is an
// InvalidConfig error that names the import to add. A backend other than
// "file" and "memory" is refused without CONNECTOR_ENCRYPTION_KEY, before
// it connects.
func Open(ctx context.Context, location string) (Store, *Keyring, error) {
	return open(ctx, location, false)
}

// OpenExisting is Open for a store that must exist already: it creates
// nothing (no SQLite file, directory or key file; no PostgreSQL schema or
// table). Where there is no store it returns an error that is ErrNoStore
// (Code NotFound) and names the location without its password: a missing
// SQLite file; a PostgreSQL schema without the connector's tables; for
// Redis, which creates nothing on open, a prefix under which no connection
// was ever written; a memory:// name not opened before in this process.
func OpenExisting(ctx context.Context, location string) (Store, *Keyring, error) {
	return open(ctx, location, true)
}

// existingKey marks the context of an OpenExisting.
type existingKey struct{}

// ExistingOnly reports whether ctx is that of an OpenExisting: the
// OpenFunc must create nothing and return ErrNoStore where there is no
// store.
func ExistingOnly(ctx context.Context) bool {
	v, _ := ctx.Value(existingKey{}).(bool)
	return v
}

func open(ctx context.Context, location string, existing bool) (Store, *Keyring, error) {
	if location == "" {
		var err error
		if location, err = DefaultLocation(); err != nil {
			return nil, nil, err
		}
	}
	scheme := "file"
	if i := strings.Index(location, "://"); i > 0 && isScheme(location[:i]) {
		scheme = strings.ToLower(location[:i])
	}
	switch scheme {
	case "postgresql":
		scheme = "postgres"
	case "rediss":
		scheme = "redis"
	case "sqlite":
		scheme = "file"
	}
	openersMu.RLock()
	o, ok := openers[scheme]
	openersMu.RUnlock()
	if !ok {
		return nil, nil, &driver.Error{Code: driver.InvalidConfig, Op: "store",
			Msg: "no store backend for scheme " + quote(scheme) + " (forgotten import of github.com/connector-go/connector/store/" + backendPkg(scheme) + "?; linked: " + strings.Join(Schemes(), ", ") + ")"}
	}
	if existing {
		ctx = context.WithValue(ctx, existingKey{}, true)
	}
	if o.keyed != nil {
		return o.keyed(ctx, location)
	}
	if scheme != "file" && scheme != "memory" {
		// A shared backend: refuse before connecting.
		if _, err := RequireKeyring(scheme); err != nil {
			return nil, nil, err
		}
	}
	st, err := o.open(ctx, location)
	if err != nil {
		return nil, nil, err
	}
	keys, err := keyringFor(st, scheme, existing)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, keys, nil
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, '+', '-' or '.'), so that a path such as "dir/a://b" is a
// path.
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

func backendPkg(scheme string) string {
	if scheme == "file" {
		return "sqlite"
	}
	return scheme
}
