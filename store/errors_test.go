package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// TestSentinels checks that each refusal wrapped by Errorf is its sentinel
// (and no other), has the sentinel's Code, and names the id.
func TestSentinels(t *testing.T) {
	all := []error{store.ErrNotFound, store.ErrConflict, store.ErrLocked, store.ErrClaimed, store.ErrNoStore}
	tests := []struct {
		name     string
		sentinel error
		code     driver.Code
	}{
		{"not found", store.ErrNotFound, driver.NotFound},
		{"conflict", store.ErrConflict, driver.Conflict},
		{"locked", store.ErrLocked, driver.Conflict},
		{"claimed", store.ErrClaimed, driver.Conflict},
		{"no store", store.ErrNoStore, driver.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapped := store.Errorf(tt.sentinel, "connection %q", "shop:1")
			for _, err := range []error{wrapped, fmt.Errorf("a third-party store: %w", tt.sentinel), tt.sentinel} {
				for _, other := range all {
					if got, want := errors.Is(err, other), other == tt.sentinel; got != want {
						t.Errorf("errors.Is(%v, %v) = %v, want %v", err, other, got, want)
					}
				}
				if got := store.CodeOf(err); got != tt.code {
					t.Errorf("store.CodeOf(%v) = %s, want %s", err, got, tt.code)
				}
			}
			if got := driver.CodeOf(wrapped); got != tt.code {
				t.Errorf("driver.CodeOf(%v) = %s, want %s", wrapped, got, tt.code)
			}
			if !strings.Contains(wrapped.Error(), `"shop:1"`) {
				t.Errorf("%v does not name the id", wrapped)
			}
		})
	}
	if got := store.CodeOf(store.Errorf(errors.New("disk full"), "cannot write")); got != driver.Store {
		t.Errorf("Errorf of a backend failure: code %s, want %s", got, driver.Store)
	}
}
