package connector

import (
	"sort"
	"strings"
	"sync"

	"github.com/connector-go/connector/driver"
)

var (
	driversMu sync.RWMutex
	drivers   = map[string]driver.Provider{}
)

// Register makes a provider driver available by name, as database/sql does
// for database drivers. Drivers call it from init. It panics if p is nil or
// the name is already registered.
func Register(name string, p driver.Provider) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if p == nil {
		panic("connector: Register provider is nil")
	}
	if _, dup := drivers[name]; dup {
		panic("connector: Register called twice for provider " + name)
	}
	drivers[name] = p
}

// Providers returns the names of the registered providers, sorted.
func Providers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the driver registered under name, or an error with Code
// UnknownProvider that lists the known names.
func Lookup(name string) (driver.Provider, error) {
	driversMu.RLock()
	p, ok := drivers[strings.ToLower(strings.TrimSpace(name))]
	driversMu.RUnlock()
	if !ok {
		return nil, &driver.Error{Code: driver.UnknownProvider,
			Msg: "unknown provider " + quoteName(name) + " (known: " + strings.Join(Providers(), ", ") + "; forgotten import?)"}
	}
	return p, nil
}

func quoteName(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}
