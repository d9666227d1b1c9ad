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

// OpenFunc opens the store at location, with the Keyring that seals its
// tokens. Backends register one per URL scheme.
type OpenFunc func(ctx context.Context, location string) (Store, *Keyring, error)

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
// or "" for DefaultLocation. A scheme whose backend is not linked in is an
// InvalidConfig error that names the import to add.
func Open(ctx context.Context, location string) (Store, *Keyring, error) {
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
	open := openers[scheme]
	openersMu.RUnlock()
	if open == nil {
		return nil, nil, &driver.Error{Code: driver.InvalidConfig, Op: "store",
			Msg: "no store backend for scheme " + quote(scheme) + " (forgotten import of github.com/connector-go/connector/store/" + backendPkg(scheme) + "?; linked: " + strings.Join(Schemes(), ", ") + ")"}
	}
	return open(ctx, location)
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
