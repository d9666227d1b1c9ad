package connector

import (
	"slices"
	"strings"
	"testing"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector/profile"
)

// TestRegisterCase: Register and Lookup agree on case (issue 15:
// Register("MyJumpseller") then Lookup("MyJumpseller") failed), and
// Register refuses a duplicate in any case and an empty name.
func TestRegisterCase(t *testing.T) {
	drv := profile.Lookup("ecwid").Driver()
	Register("MyJumpsellerCase", drv)
	t.Cleanup(func() {
		driversMu.Lock()
		delete(drivers, "myjumpsellercase")
		driversMu.Unlock()
	})
	for _, n := range []string{"MyJumpsellerCase", "myjumpsellercase", " MYJUMPSELLERCASE "} {
		if p, err := Lookup(n); err != nil || p != drv {
			t.Errorf("Lookup(%q) = %v, %v", n, p, err)
		}
	}
	if !slices.Contains(Providers(), "myjumpsellercase") {
		t.Errorf("Providers() = %q lacks myjumpsellercase", Providers())
	}
	for name, want := range map[string]string{
		"myJUMPSELLERcase": "connector: Register called twice for provider myjumpsellercase",
		" ":                "connector: Register called with an empty provider name",
	} {
		func() {
			defer func() {
				if got := recover(); got != want {
					t.Errorf("Register(%q) panicked with %v, want %q", name, got, want)
				}
			}()
			Register(name, drv)
		}()
	}
}

// TestRegisterCatalogName: a driver registered under a catalog profile's
// name wins over the profile, whichever was seen first.
func TestRegisterCatalogName(t *testing.T) {
	before, err := Lookup("square")
	if err != nil || profile.FromDriver(before) == nil {
		t.Fatalf("Lookup(square) = %v, %v; want the catalog profile", before, err)
	}
	drv := profile.Lookup("ecwid").Driver()
	Register("Square", drv)
	t.Cleanup(func() {
		driversMu.Lock()
		delete(drivers, "square")
		driversMu.Unlock()
	})
	if p, _ := Lookup("square"); p != drv {
		t.Errorf("Lookup(square) = %v, want the registered driver", p)
	}
	if n := len(slices.DeleteFunc(Providers(), func(s string) bool { return s != "square" })); n != 1 {
		t.Errorf("Providers() lists square %d times", n)
	}
}

// TestNewNamesMissingProfileProperties: a catalog provider whose profile
// needs properties (Shopify's shop) is refused by New with an error that
// names them, not a bad URL.
func TestNewNamesMissingProfileProperties(t *testing.T) {
	_, err := New("shopify", Options{ClientID: "id", ClientSecret: "secret"})
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "shop") || !strings.Contains(err.Error(), "ProfileSettings") {
		t.Fatalf("New(shopify) = %v; want invalid_config naming the missing property and ProfileSettings", err)
	}
}
