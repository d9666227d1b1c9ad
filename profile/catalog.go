package profile

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// catalogFS holds the catalog: one profile per file, named after the
// provider.
//
//go:embed catalog/*.yaml
var catalogFS embed.FS

var (
	catalogOnce sync.Once
	catalog     []*Profile
	catalogErr  error
)

// Catalog returns the profiles embedded in the module, sorted by name:
// commerce providers described as data, each fact cited from the
// provider's documentation (Profile.Unverified lists what could not be
// verified). Jumpseller and SHOPLINE are there too, as a proof of the
// format: the Go drivers in providers/ stay their reference
// implementations. The profiles are shared: do not modify them.
//
// Catalog panics if an embedded profile is invalid (the package's tests
// load every one).
func Catalog() []*Profile {
	catalogOnce.Do(func() { catalog, catalogErr = loadCatalog(catalogFS) })
	if catalogErr != nil {
		panic(catalogErr)
	}
	return slices.Clone(catalog)
}

// Lookup returns the catalog profile called name, or nil.
func Lookup(name string) *Profile {
	for _, p := range Catalog() {
		if p.Name == strings.ToLower(strings.TrimSpace(name)) {
			return p
		}
	}
	return nil
}

// loadCatalog parses every .yaml file of fsys's catalog directory; a
// file's name must be its profile's name.
func loadCatalog(fsys fs.FS) ([]*Profile, error) {
	names, err := fs.Glob(fsys, "catalog/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []*Profile
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		p, err := Parse(n, data)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(path.Base(n), ".yaml"); p.Name != want {
			return nil, p.fieldErr("name", "is "+quote(p.Name)+", but the file is "+n+": name the file after the profile")
		}
		out = append(out, p)
	}
	return out, nil
}
