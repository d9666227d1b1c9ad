package connector

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAPIPath: the rule NewRequest (and so the CLI's call) resolves paths by.
func TestAPIPath(t *testing.T) {
	for _, tc := range []struct {
		name, basePath, path, want string
	}{
		{"relative", "/v1/", "token/info", "token/info"},
		{"rooted, repeating the base's last segment", "/v1/", "/v1/token/info", "token/info"},
		{"rooted, not repeating", "/v1/", "/token/info", "token/info"},
		{"relative, repeating: kept", "/v1/", "v1/token/info", "v1/token/info"},
		{"simulator base, documented path", "/shopline/api/v1/", "/v1/token/info", "token/info"},
		{"simulator base, whole path", "/shopline/api/v1/", "/shopline/api/v1/token/info", "token/info"},
		{"simulator base, middle", "/shopline/api/v1/", "/api/v1/merchants", "merchants"},
		{"not a suffix of the base", "/shopline/api/v1/", "/shopline/token/info", "shopline/token/info"},
		{"query kept", "/v1/", "/v1/products.json?page=2&limit=50", "products.json?page=2&limit=50"},
		{"trailing slash kept", "/v2/", "/v2/orders/", "orders/"},
		{"the base itself", "/v1/", "/v1", ""},
		{"root base", "/", "/v1/x", "v1/x"},
		{"empty base path", "", "/v1/x", "v1/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, apiPath(tc.basePath, tc.path)); diff != "" {
				t.Errorf("apiPath(%q, %q) (-want +got):\n%s", tc.basePath, tc.path, diff)
			}
		})
	}
}
