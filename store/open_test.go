package store_test

import (
	"context"
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
	routed   []string // "scheme location"
)

func fakeOpener(scheme string) store.OpenFunc {
	return func(_ context.Context, location string) (store.Store, *store.Keyring, error) {
		routedMu.Lock()
		routed = append(routed, scheme+" "+location)
		routedMu.Unlock()
		return nil, nil, nil
	}
}

func init() {
	for _, s := range []string{"file", "memory", "postgres", "redis"} {
		store.Register(s, fakeOpener(s))
	}
}

// route opens location and returns what the fake backend received.
func route(t *testing.T, location string) (string, error) {
	t.Helper()
	routedMu.Lock()
	routed = nil
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
		{"mongodb", "mongodb://h/db", []string{`scheme "mongodb"`, "store/mongodb?", "linked: file, memory, postgres, redis"}},
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

func TestSchemes(t *testing.T) {
	if d := cmp.Diff([]string{"file", "memory", "postgres", "redis"}, store.Schemes()); d != "" {
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
