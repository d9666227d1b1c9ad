package store_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// No backend is linked into this test binary: these fakes stand in for the
// four, and record what Open routed to them.
var (
	routedMu sync.Mutex
	routed   []string            // "scheme location"
	options  []store.OpenOptions // the options of each call
)

// fakeStore is what the fake backends open: a store.Store (whose methods
// are never called) that says what the key policy asks.
type fakeStore struct{ store.Store }

// fakeEphemeral is the fake memory store.
type fakeEphemeral struct{ fakeStore }

func (fakeEphemeral) Ephemeral() bool { return true }

// fakeFile is the fake SQLite store: its Path is the location.
type fakeFile struct {
	fakeStore
	path string
}

func (f fakeFile) Path() string { return f.path }

func (fakeStore) Close() error { return nil }

func fakeOpener(scheme string) store.OpenFunc {
	return func(ctx context.Context, location string, o store.OpenOptions) (store.Store, error) {
		routedMu.Lock()
		routed = append(routed, scheme+" "+location)
		options = append(options, o)
		routedMu.Unlock()
		switch scheme {
		case "memory":
			return fakeEphemeral{}, nil
		case "file":
			return fakeFile{path: location}, nil
		}
		return fakeStore{}, nil
	}
}

func init() {
	for _, s := range []string{"file", "memory", "postgres", "redis"} {
		store.Register(s, fakeOpener(s))
	}
}

// route opens location and returns what the fake backend received. It
// sets CONNECTOR_ENCRYPTION_KEY, so that the key policy touches no file.
func route(t *testing.T, location string) (string, error) {
	t.Helper()
	t.Setenv(store.EnvKey, b64(key1))
	routedMu.Lock()
	routed, options = nil, nil
	routedMu.Unlock()
	_, _, err := store.Open(context.Background(), location)
	routedMu.Lock()
	defer routedMu.Unlock()
	if len(routed) == 0 {
		return "", err
	}
	return routed[0], err
}

func TestOpenRouting(t *testing.T) {
	tests := []struct {
		name, location, want string
	}{
		{"absolute path", "/var/lib/connector.db", "file /var/lib/connector.db"},
		{"relative path", "data/connector.db", "file data/connector.db"},
		{"windows path", `C:\Users\a\connector.db`, `file C:\Users\a\connector.db`},
		{"file: path", "file:connector.db", "file file:connector.db"},
		{"file URL", "file:///var/x.db", "file file:///var/x.db"},
		{"sqlite URL", "sqlite:///var/x.db", "file sqlite:///var/x.db"},
		{"SQLITE upper case", "SQLITE://x.db", "file SQLITE://x.db"},
		{"memory", "memory://demo", "memory memory://demo"},
		{"postgres", "postgres://u@h/db", "postgres postgres://u@h/db"},
		{"postgresql", "postgresql://u@h/db", "postgres postgresql://u@h/db"},
		{"POSTGRES upper case", "POSTGRES://u@h/db", "postgres POSTGRES://u@h/db"},
		{"redis", "redis://h:6379/0", "redis redis://h:6379/0"},
		{"rediss", "rediss://h:6380/0", "redis rediss://h:6380/0"},
		{"path holding ://", "dir/a://b.db", "file dir/a://b.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := route(t, tt.location)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Open(%q) routed to %q, want %q", tt.location, got, tt.want)
			}
		})
	}
}

func TestOpenDefaultLocation(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	want := filepath.Join(cfg, "connector", "connector.db")
	def, err := store.DefaultLocation()
	if err != nil {
		t.Fatal(err)
	}
	if def != want {
		t.Errorf("DefaultLocation() = %q, want %q", def, want)
	}
	got, err := route(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if got != "file "+want {
		t.Errorf("Open(\"\") routed to %q, want %q", got, "file "+want)
	}
}

func TestOpenUnknownScheme(t *testing.T) {
	tests := []struct {
		name, location string
		want           []string
	}{
		{"mongodb", "mongodb://h/db", []string{`scheme "mongodb"`, "store/mongodb?", "linked: file, "}},
		{"upper case", "MySQL://h/db", []string{`scheme "mysql"`, "store/mysql?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := route(t, tt.location)
			if driver.CodeOf(err) != driver.InvalidConfig {
				t.Fatalf("Open(%q) = %v, want code %s", tt.location, err, driver.InvalidConfig)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open(%q) error %q lacks %q", tt.location, err, w)
				}
			}
		})
	}
}

// TestOpenServerSchemeWithoutSlashes: a server's location missing the "//"
// after its scheme is refused, not opened as a SQLite file named after it
// (whose later errors would print the password), and the error does not
// repeat the location.
func TestOpenServerSchemeWithoutSlashes(t *testing.T) {
	for _, tt := range []struct{ name, location, want string }{
		{"postgres, one slash", "postgres:/app:hunter2-pw@db/app", `starts with "postgres:" but not "postgres://"`},
		{"postgresql, none", "postgresql:app:hunter2-pw@db/app", `starts with "postgresql:" but not "postgresql://"`},
		{"redis", "redis:/:hunter2-pw@h:6379/0", `starts with "redis:" but not "redis://"`},
		{"REDISS upper case", "REDISS:/:hunter2-pw@h/0", `starts with "rediss:" but not "rediss://"`},
		{"memory", "memory:hunter2-pw", `starts with "memory:" but not "memory://"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := route(t, tt.location)
			if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(fmt.Sprint(err), tt.want) {
				t.Fatalf("Open(%q) = %v, want InvalidConfig saying %s", tt.location, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2-pw") {
				t.Errorf("the error repeats the location: %v", err)
			}
		})
	}
}

// TestOpenKeyPolicy checks the one key policy (store.KeyringFor) as Open
// applies it, with CONNECTOR_ENCRYPTION_KEY unset.
func TestOpenKeyPolicy(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	t.Setenv(store.EnvOldKeys, "")
	dir := t.TempDir()
	tests := []struct {
		name, location string
		wantRouted     bool   // the backend was opened
		wantErr        string // "" for a Keyring
		wantKeyFile    string // a key file Open created, "" for none
	}{
		{"postgres refused before connecting", "postgres://u@h/db", false, "postgres store needs an encryption key", ""},
		{"redis refused before connecting", "redis://h:6379/0", false, "redis store needs an encryption key", ""},
		{"memory: a key for the process", "memory://policy", true, "", ""},
		{"file: the key file beside it", filepath.Join(dir, "a", "connector.db"), true, "", filepath.Join(dir, "a", "connector.key")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantKeyFile != "" {
				if err := os.MkdirAll(filepath.Dir(tt.wantKeyFile), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			routedMu.Lock()
			routed = nil
			routedMu.Unlock()
			_, keys, err := store.Open(context.Background(), tt.location)
			routedMu.Lock()
			gotRouted := len(routed) > 0
			routedMu.Unlock()
			if gotRouted != tt.wantRouted {
				t.Errorf("backend opened: %v, want %v", gotRouted, tt.wantRouted)
			}
			switch {
			case tt.wantErr == "" && (err != nil || keys == nil):
				t.Fatalf("Open(%q) = keyring %v, error %v; want a keyring", tt.location, keys, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || driver.CodeOf(err) != driver.InvalidConfig):
				t.Fatalf("Open(%q) error %v, want InvalidConfig containing %q", tt.location, err, tt.wantErr)
			}
			if tt.wantKeyFile != "" {
				if _, err := os.Stat(tt.wantKeyFile); err != nil {
					t.Errorf("no key file: %v", err)
				}
			}
		})
	}
	_, k1, err1 := store.Open(context.Background(), "memory://policy-a")
	_, k2, err2 := store.Open(context.Background(), "memory://policy-b")
	if err1 != nil || err2 != nil || k1.CurrentKeyID() != k2.CurrentKeyID() {
		t.Errorf("two memory stores of one process: keys %v, %v (errors %v, %v), want one key", k1, k2, err1, err2)
	}
}

// TestOpenExisting checks that OpenExisting asks the backend for an
// existing store (OpenOptions.Existing) and Open does not, and that the key
// policy creates no key file for it.
func TestOpenExisting(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	dir := t.TempDir()
	db := filepath.Join(dir, "connector.db")
	routedMu.Lock()
	options = nil
	routedMu.Unlock()
	_, _, err := store.OpenExisting(context.Background(), db)
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "no key file") {
		t.Errorf("OpenExisting of a store without a key file: %v, want InvalidConfig naming the key file", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "connector.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenExisting created a key file (stat: %v)", err)
	}
	if _, _, err := store.Open(context.Background(), "memory://existing"); err != nil {
		t.Fatal(err)
	}
	routedMu.Lock()
	got := append([]store.OpenOptions(nil), options...)
	routedMu.Unlock()
	if d := cmp.Diff([]store.OpenOptions{{Existing: true}, {}}, got); d != "" {
		t.Errorf("store.OpenOptions as the backends saw them (-want +got):\n%s", d)
	}
}

func TestSchemes(t *testing.T) {
	var got []string
	for _, s := range store.Schemes() {
		if !strings.HasSuffix(s, "test") { // registered by other tests
			got = append(got, s)
		}
	}
	if d := cmp.Diff([]string{"file", "memory", "postgres", "redis"}, got); d != "" {
		t.Errorf("Schemes() (-want +got):\n%s", d)
	}
}

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name   string
		scheme string
		open   store.OpenFunc
		want   string
	}{
		{"nil", "nilscheme", nil, "store: Register open func is nil"},
		{"duplicate", "file", fakeOpener("file"), "store: Register called twice for scheme file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tt.want {
					t.Errorf("Register(%q) panicked with %v, want %q", tt.scheme, got, tt.want)
				}
			}()
			store.Register(tt.scheme, tt.open)
		})
	}
}
