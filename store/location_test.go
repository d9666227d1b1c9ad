package store_test

import (
	"strings"
	"testing"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/google/go-cmp/cmp"
)

func TestParseBackendURL(t *testing.T) {
	refused := map[string]string{"table_prefix": "schema"}
	tests := []struct {
		name     string
		location string
		wantURL  string
		wantVals []string
		wantErr  string // substring; "" for success
	}{
		{"plain", "postgres://u:pw@db/app?sslmode=disable", "postgres://u:pw@db/app?sslmode=disable", nil, ""},
		{"param-removed", "postgresql://db/app?schema=s1&sslmode=disable", "postgresql://db/app?sslmode=disable", []string{"s1"}, ""},
		{"param-any-case", "postgres://db/app?Schema=s1&sslmode=disable", "postgres://db/app?sslmode=disable", []string{"s1"}, ""},
		{"param-twice-two-cases", "postgres://db/app?schema=s2&SCHEMA=s1", "postgres://db/app", []string{"s1", "s2"}, ""},
		{"wrong-scheme", "mysql://db/app", "", nil, `has scheme "mysql", want postgres or postgresql`},
		{"refused-param", "postgres://db/app?table_prefix=x", "", nil, `parameter "table_prefix" is not supported; use schema=`},
		{"unknown-connector-param", "postgres://db/app?connector_key=x", "", nil, `unknown connector parameter "connector_key" (known: schema)`},
		{"bad-escape", "postgres://u:s3cret@db/app?x=%zz", "", nil, "malformed parameters"},
		{"not-a-url", "postgres://u:s3cret@[::1/app", "", nil, "is not a valid URL"},
		{"no-authority", "postgres:/%2f ", "", nil, "is not of the form postgres://…"},
		{"every default", "postgres://", "postgres:///", nil, ""},
		{"every default, a fragment", "postgres://#x", "postgres:///#x", nil, ""},
		{"no-authority-password", "postgresql:u:s3cret@db/app", "", nil, "is not of the form postgresql://…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := store.ParseBackendURL(tc.location, "postgres", []string{"postgres", "postgresql"}, "schema", refused)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				if driver.CodeOf(err) != driver.InvalidConfig || strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %v: want InvalidConfig without the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.wantURL, b.URL.String()); d != "" {
				t.Errorf("URL (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantVals, b.Values); d != "" {
				t.Errorf("Values (-want +got):\n%s", d)
			}
		})
	}
}
