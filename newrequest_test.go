package connector_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store/memory"
)

// apiConnection returns a Jumpseller connection whose API base is base,
// holding the access token "access" for an hour; its Connector, made with
// o (its client, store and API base set here), is closed when the test
// ends.
func apiConnection(t *testing.T, base string, o connector.Options) *connector.Connection {
	t.Helper()
	o.ClientID, o.ClientSecret, o.Store, o.Endpoint = "app", "secret", memory.New(), driver.Endpoint{APIBaseURL: base}
	c, err := connector.New("jumpseller", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	now := time.Now()
	conn, err := c.Import(context.Background(), &connector.Token{AccessToken: "access", TokenType: "Bearer",
		IssuedAt: now, Expiry: now.Add(time.Hour), AccountID: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

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
			conn := apiConnection(t, tc.base, connector.Options{})
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

// TestAPIRequestHeaders: what an API request carries, and that the
// caller's request is left as it was: the Authorization header and the
// default Accept go only into the copy the transport sends.
func TestAPIRequestHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	defer srv.Close()
	conn := apiConnection(t, srv.URL+"/v1/", connector.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		req  func() (*http.Request, error)
		want map[string]string // the headers the server must see, of those checked
	}{
		{"NewRequest", func() (*http.Request, error) { return conn.NewRequest(ctx, "GET", "store/info.json", nil) },
			map[string]string{"Accept": "application/json", "Authorization": "Bearer access", "Content-Type": ""}},
		{"NewRequest with a body", func() (*http.Request, error) {
			return conn.NewRequest(ctx, "POST", "products.json", strings.NewReader(`{}`))
		}, map[string]string{"Accept": "application/json", "Authorization": "Bearer access", "Content-Type": "application/json"}},
		{"the caller's Accept", func() (*http.Request, error) {
			req, err := conn.NewRequest(ctx, "GET", "orders.csv", nil)
			if err == nil {
				req.Header.Set("Accept", "text/csv")
			}
			return req, err
		}, map[string]string{"Accept": "text/csv", "Authorization": "Bearer access"}},
		{"a request built by hand", func() (*http.Request, error) {
			return http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/store/info.json", nil)
		}, map[string]string{"Accept": "application/json", "Authorization": "Bearer access"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := tc.req()
			if err != nil {
				t.Fatal(err)
			}
			before := req.Header.Clone()
			resp, err := conn.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			h := <-got
			seen := map[string]string{}
			for k := range tc.want {
				seen[k] = h.Get(k)
			}
			if diff := cmp.Diff(tc.want, seen); diff != "" {
				t.Errorf("headers the API saw (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, req.Header); diff != "" {
				t.Errorf("the caller's request header changed (-before +after):\n%s", diff)
			}
		})
	}
}
