package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store/memory"
)

// TestNewRequestPaths: a path names the same endpoint whether it is given
// relative to the API base or with the base's own path in front (as the
// providers' documentation writes it), so that "/v1/token/info" is never
// sent as /v1/v1/token/info.
func TestNewRequestPaths(t *testing.T) {
	for _, tc := range []struct {
		name, base, path, want string
	}{
		{"relative", "https://api.jumpseller.com/v1/", "store/info.json", "https://api.jumpseller.com/v1/store/info.json"},
		{"leading slash", "https://api.jumpseller.com/v1/", "/store/info.json", "https://api.jumpseller.com/v1/store/info.json"},
		{"as documented", "https://api.jumpseller.com/v1/", "/v1/token/info", "https://api.jumpseller.com/v1/token/info"},
		{"as documented, with a query", "https://api.jumpseller.com/v1/", "/v1/products.json?page=2", "https://api.jumpseller.com/v1/products.json?page=2"},
		{"the base itself", "https://api.jumpseller.com/v1/", "/v1/", "https://api.jumpseller.com/v1/"},
		{"a segment like the base's, further in", "https://api.jumpseller.com/v1/", "/products/v1/x", "https://api.jumpseller.com/v1/products/v1/x"},
		{"twice on purpose", "https://api.jumpseller.com/v1/", "/v1/v1/x", "https://api.jumpseller.com/v1/v1/x"},
		{"deep base, its last segment", "http://127.0.0.1:8080/shopline/api/v1/", "/v1/token/info", "http://127.0.0.1:8080/shopline/api/v1/token/info"},
		{"deep base, its whole path", "http://127.0.0.1:8080/shopline/api/v1/", "/shopline/api/v1/token/info", "http://127.0.0.1:8080/shopline/api/v1/token/info"},
		{"deep base, the longest repetition", "http://127.0.0.1:8080/v1/api/v1/", "/v1/api/v1/x", "http://127.0.0.1:8080/v1/api/v1/x"},
		{"root base", "https://api.example.com/", "/orders", "https://api.example.com/orders"},
		{"absolute URL on the origin", "https://api.jumpseller.com/v1/", "https://api.jumpseller.com/v2/x", "https://api.jumpseller.com/v2/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := connector.New("jumpseller", connector.Options{ClientID: "app", ClientSecret: "secret", Store: memory.New(),
				Endpoint: driver.Endpoint{APIBaseURL: tc.base}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			now := time.Now()
			conn, err := c.Import(context.Background(), &connector.Token{AccessToken: "access", TokenType: "Bearer",
				IssuedAt: now, Expiry: now.Add(time.Hour), AccountID: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			req, err := conn.NewRequest(context.Background(), "GET", tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.URL.String(); got != tc.want {
				t.Errorf("NewRequest(%q) against %s = %s, want %s", tc.path, tc.base, got, tc.want)
			}
		})
	}
}
