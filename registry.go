package connector

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
)

// The registry holds two kinds of provider under one namespace: the drivers
// registered with Register (the Go drivers in providers/, and any a program
// registers itself), and the profiles of the catalog embedded in the module
// (profile.Catalog), made drivers on first use. A registered driver wins
// over a catalog profile of the same name: the Go drivers of Jumpseller and
// SHOPLINE stay their providers' reference implementations. Catalog profiles
// are never put in drivers, so that a Go driver's init can register a name
// the catalog also has, in whatever order packages are initialised.
var (
	driversMu sync.RWMutex
	drivers   = map[string]driver.Provider{}
	// catalogDrivers caches the drivers of catalog profiles, so that
	// Lookup returns the same value every time.
	catalogDrivers = map[string]driver.Provider{}
)

// providerName is the registry's spelling of a provider name: trimmed, in
// lower case. Register and Lookup both use it, so that
// Register("MyShop", …) is found by Lookup("MyShop") and Lookup("myshop").
func providerName(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// Register makes a provider driver available by name, as database/sql does
// for database drivers. Drivers call it from init. Names are compared
// without regard to case (they are stored in lower case). It panics if p is
// nil, the name is empty, or the name is already registered. A name that a
// catalog profile also has is allowed: the registered driver wins.
func Register(name string, p driver.Provider) {
	n := providerName(name)
	driversMu.Lock()
	defer driversMu.Unlock()
	if p == nil {
		panic("connector: Register provider is nil")
	}
	if n == "" {
		panic("connector: Register called with an empty provider name")
	}
	if _, dup := drivers[n]; dup {
		panic("connector: Register called twice for provider " + n)
	}
	drivers[n] = p
}

// Providers returns the names of the available providers, sorted: the
// registered drivers and the profiles of the embedded catalog
// (profile.Catalog), each name once.
func Providers() []string {
	driversMu.RLock()
	names := map[string]bool{}
	for n := range drivers {
		names[n] = true
	}
	driversMu.RUnlock()
	for _, p := range profile.Catalog() {
		names[p.Name] = true
	}
	return slices.Sorted(maps.Keys(names))
}

// Lookup returns the provider called name, matched without regard to case:
// the driver registered under it, else the catalog profile of that name as
// a driver (profile.Profile.Driver). A catalog profile's driver has none of
// its properties bound: Open binds them from ProfileSettings, and
// NewWithDriver takes profile.Lookup(name).Bind(…).Driver(). An unknown name
// is an error with Code UnknownProvider that lists the known names.
func Lookup(name string) (driver.Provider, error) {
	n := providerName(name)
	if p, ok := registered(n); ok {
		return p, nil
	}
	if p := catalogDriver(n); p != nil {
		return p, nil
	}
	return nil, &driver.Error{Code: driver.UnknownProvider,
		Msg: "unknown provider " + quoteName(name) + " (known: " + strings.Join(Providers(), ", ") + "; forgotten import?)"}
}

// registered returns the driver registered under the normalised name n.
func registered(n string) (driver.Provider, bool) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	p, ok := drivers[n]
	return p, ok
}

// catalogDriver returns the driver of the catalog profile called n (a
// normalised name), or nil.
func catalogDriver(n string) driver.Provider {
	driversMu.RLock()
	p, ok := catalogDrivers[n]
	driversMu.RUnlock()
	if ok {
		return p
	}
	prof := profile.Lookup(n)
	if prof == nil {
		return nil
	}
	driversMu.Lock()
	defer driversMu.Unlock()
	if p, ok := catalogDrivers[n]; ok {
		return p
	}
	p = prof.Driver()
	catalogDrivers[n] = p
	return p
}

func quoteName(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}
