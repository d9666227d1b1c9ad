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

// OpenFunc opens the store at location as o asks. Backends register one per
// URL scheme. It returns only the Store: Open chooses the Keyring that seals
// its tokens (KeyringFor), so that the key policy lives in one place.
type OpenFunc = func(ctx context.Context, location string, o OpenOptions) (Store, error)

// OpenOptions is what Open and OpenExisting ask of a backend's OpenFunc.
// Open passes the zero value: open the store, creating what it needs
// (its file, directory, schema or tables).
type OpenOptions struct {
	// Existing: open only a store that exists, creating nothing — no file,
	// directory, schema or table; where there is none, return an error
	// that is ErrNoStore and names the location without its password
	// (OpenExisting). An OpenFunc makes no key file either way: Open's key
	// policy (KeyringFor) does, and not for OpenExisting.
	Existing bool
}

var (
	openersMu sync.RWMutex
	openers   = map[string]OpenFunc{}
)

// Register makes a backend available under a URL scheme ("memory",
// "postgres", ...). The scheme "file" receives plain file paths. It panics
// if open is nil or the scheme is registered twice.
func Register(scheme string, open OpenFunc) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if open == nil {
		panic("store: Register open func is nil")
	}
	if _, dup := openers[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	openers[scheme] = open
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
	return open(ctx, location, OpenOptions{})
}

// OpenExisting is Open for a store that must exist already: it creates
// nothing (no SQLite file, directory or key file; no PostgreSQL schema or
// table). Where there is no store it returns an error that is ErrNoStore
// (Code NotFound) and names the location without its password: a missing
// SQLite file; a PostgreSQL schema without the connector's tables; for
// Redis, which creates nothing on open, a prefix under which no connection
// was ever written; a memory:// name not opened before in this process.
// It asks the backend with OpenOptions{Existing: true}.
func OpenExisting(ctx context.Context, location string) (Store, *Keyring, error) {
	return open(ctx, location, OpenOptions{Existing: true})
}

func open(ctx context.Context, location string, o OpenOptions) (Store, *Keyring, error) {
	if location == "" {
		var err error
		if location, err = DefaultLocation(); err != nil {
			return nil, nil, err
		}
	}
	scheme := "file"
	if i := strings.Index(location, "://"); i > 0 && isScheme(location[:i]) {
		scheme = strings.ToLower(location[:i])
	} else if s := serverScheme(location); s != "" {
		// "postgres:/u:pw@h/db" would be a file of that name, password
		// and all: refused, and the location not repeated.
		return nil, nil, &driver.Error{Code: driver.InvalidConfig, Op: "store",
			Msg: "store location starts with " + quote(s+":") + " but not " + quote(s+"://") + ": write it as " + s + "://…"}
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
	openFn, ok := openers[scheme]
	openersMu.RUnlock()
	if !ok {
		return nil, nil, &driver.Error{Code: driver.InvalidConfig, Op: "store",
			Msg: "no store backend for scheme " + quote(scheme) + " (forgotten import of github.com/connector-go/connector/store/" + backendPkg(scheme) + "?; linked: " + strings.Join(Schemes(), ", ") + ")"}
	}
	if scheme != "file" && scheme != "memory" {
		// A shared backend: refuse before connecting.
		if _, err := RequireKeyring(scheme); err != nil {
			return nil, nil, err
		}
	}
	st, err := openFn(ctx, location, o)
	if err != nil {
		return nil, nil, err
	}
	keys, err := keyringFor(st, scheme, o.Existing)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, keys, nil
}

// serverScheme returns the scheme location starts with, followed by ":"
// but not "://", when it names a backend other than a file ("postgres:",
// "redis:", "memory:", or another registered one); "" otherwise ("file:",
// "sqlite:", a path, a Windows drive letter).
func serverScheme(location string) string {
	i := strings.Index(location, ":")
	if i < 2 || !isScheme(location[:i]) {
		return ""
	}
	s := strings.ToLower(location[:i])
	switch s {
	case "file", "sqlite":
		return ""
	case "postgres", "postgresql", "redis", "rediss", "memory":
		return s
	}
	openersMu.RLock()
	defer openersMu.RUnlock()
	if _, ok := openers[s]; ok {
		return s
	}
	return ""
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
