package connector_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

// recorder is a server that records what reached it.
type recorder struct {
	mu    sync.Mutex
	hits  int
	auths []string
	body  []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.hits++
	r.auths = append(r.auths, req.Header.Get("Authorization"))
	r.body = append(r.body, string(b))
	r.mu.Unlock()
	io.WriteString(w, `{"stolen":true}`)
}

func (r *recorder) seen() (int, []string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits, append([]string(nil), r.auths...), append([]string(nil), r.body...)
}

// redirectingAPI answers every request under /v1/ with a redirect to
// target (a path on the same server when target starts with "/"), and
// /v1/ok with 200, recording the Authorization header of each.
func redirectingAPI(status int, target func() string, auths *[]string, mu *sync.Mutex) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*auths = append(*auths, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path == "/v1/store/info.json" { // the driver's identity call
			io.WriteString(w, `{"store":{"code":"origin-shop","name":"Origin"}}`)
			return
		}
		if r.URL.Path == "/v1/ok" {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, `{"ok":true}`)
			return
		}
		w.Header().Set("Location", target())
		w.WriteHeader(status)
	})
}

// TestTokenStaysOnOrigin is the first rule of docs/security.md: the bearer
// token goes only to the API's origin, never along a redirect to another
// origin, never from https to http, never on a caller-built request for
// another host; same-origin redirects keep working.
func TestTokenStaysOnOrigin(t *testing.T) {
	thief := &recorder{}
	thiefSrv := httptest.NewServer(thief)
	defer thiefSrv.Close()

	tests := []struct {
		name   string
		tls    bool
		status int
		method string
		body   string
		// target is the redirect's Location; "" for no redirect (the
		// request itself goes to the thief).
		target func(api string) string
		// direct builds the request by hand instead of NewRequest.
		direct  bool
		wantErr driver.Code
		wantOK  bool
	}{
		{name: "302 to another port", status: http.StatusFound, method: "GET",
			target: func(string) string { return thiefSrv.URL + "/steal?x=1" }, wantErr: driver.ProviderError},
		{name: "307 POST with a body to another port", status: http.StatusTemporaryRedirect, method: "POST", body: `{"order":1}`,
			target: func(string) string { return thiefSrv.URL + "/steal" }, wantErr: driver.ProviderError},
		{name: "308 to another host name on the same port", status: http.StatusPermanentRedirect, method: "GET",
			target: func(api string) string { return strings.Replace(api, "127.0.0.1", "localhost", 1) + "/v1/ok" }, wantErr: driver.ProviderError},
		{name: "https API redirecting to http", tls: true, status: http.StatusFound, method: "GET",
			target: func(string) string { return thiefSrv.URL + "/steal" }, wantErr: driver.ProviderError},
		{name: "caller-built request for another host", direct: true, method: "GET", wantErr: driver.InvalidConfig},
		{name: "same-origin redirect is followed", status: http.StatusFound, method: "GET",
			target: func(string) string { return "/v1/ok" }, wantOK: true},
		{name: "same-origin 307 POST keeps its body", status: http.StatusTemporaryRedirect, method: "POST", body: `{"order":1}`,
			target: func(string) string { return "/v1/ok" }, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _, _ := thief.seen()
			var mu sync.Mutex
			var apiAuths []string
			var api *httptest.Server
			h := redirectingAPI(tt.status, func() string { return tt.target(api.URL) }, &apiAuths, &mu)
			if tt.tls {
				api = httptest.NewTLSServer(h)
			} else {
				api = httptest.NewServer(h)
			}
			defer api.Close()

			w := newWorld(t)
			c := w.connector(t, func(o *connector.Options) {
				o.Endpoint.APIBaseURL = api.URL + "/v1/"
				if tt.tls {
					// The token endpoint is plain loopback http; the API's
					// certificate is the test server's.
					o.HTTPClient = api.Client()
				}
			})
			conn := w.authorize(t, c)
			tok, err := conn.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			var req *http.Request
			if tt.direct {
				req, err = http.NewRequest(tt.method, thiefSrv.URL+"/steal", body)
			} else {
				req, err = conn.NewRequest(context.Background(), tt.method, "orders.json", body)
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, err := conn.Client().Do(req)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("same-origin request failed: %v", err)
				}
				resp.Body.Close()
				mu.Lock()
				defer mu.Unlock()
				for _, a := range apiAuths {
					if !strings.HasSuffix(a, "Bearer "+tok.AccessToken) {
						t.Errorf("a same-origin hop lacks the token: %q", strings.Fields(a)[0])
					}
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("Do succeeded (status %d), want an error", resp.StatusCode)
			}
			if got := driver.CodeOf(err); got != tt.wantErr {
				t.Errorf("code = %v, want %v (%v)", got, tt.wantErr, err)
			}
			if strings.Contains(err.Error(), tok.AccessToken) {
				t.Errorf("the error holds the token")
			}
			if !tt.direct && !strings.Contains(err.Error(), "outside its origin") {
				t.Errorf("error %q does not say the redirect left the origin", err)
			}
			if tt.target != nil {
				target := tt.target(api.URL)
				if i := strings.IndexByte(target, '?'); i >= 0 {
					target = target[:i]
				}
				if !strings.Contains(err.Error(), target) {
					t.Errorf("error %q does not name the target %s", err, target)
				}
				if strings.Contains(err.Error(), "x=1") {
					t.Errorf("error %q shows the target's query", err)
				}
			}
			after, auths, bodies := thief.seen()
			if after != before {
				t.Errorf("the other origin received %d requests (Authorization %q, bodies %q), want none", after-before, auths[before:], bodies[before:])
			}
		})
	}
}

// TestTokenSourceWithXOAuth2 documents what golang.org/x/oauth2 does with
// our TokenSource: oauth2.Transport sets the Authorization header on every
// request it carries, redirect hops to other hosts included, so a client
// built with oauth2.NewClient sends the token wherever the API redirects.
// docs/security.md says so and recommends Connection.Client. If x/oauth2
// changes, this test fails and the docs must change with it.
func TestTokenSourceWithXOAuth2(t *testing.T) {
	thief := &recorder{}
	thiefSrv := httptest.NewServer(thief)
	defer thiefSrv.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/store/info.json" {
			io.WriteString(w, `{"store":{"code":"origin-shop","name":"Origin"}}`)
			return
		}
		http.Redirect(w, r, thiefSrv.URL+"/steal", http.StatusFound)
	}))
	defer api.Close()
	w := newWorld(t)
	conn := w.authorize(t, w.connector(t, func(o *connector.Options) { o.Endpoint.APIBaseURL = api.URL + "/v1/" }))
	tok, err := conn.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hc := oauth2.NewClient(context.Background(), conn.TokenSource(context.Background()))
	resp, err := hc.Get(api.URL + "/v1/orders.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, auths, _ := thief.seen()
	if len(auths) != 1 || auths[0] != "Bearer "+tok.AccessToken {
		t.Fatalf("x/oauth2 no longer forwards the token across origins (got %d requests): update docs/security.md's note on TokenSource", len(auths))
	}
}

// TestTokenInfoFollowsTokenServer: no connection-string property names the
// token-info endpoint, so when the token endpoint is moved (a proxy, a
// simulator) the token-info endpoint moves with it: access tokens are
// never presented to a server other than the one that issued them.
func TestTokenInfoFollowsTokenServer(t *testing.T) {
	c, err := connector.New("shopline", connector.Options{ClientID: "id", ClientSecret: "secret",
		Endpoint: driver.Endpoint{TokenURL: "http://127.0.0.1:9/oauth/token"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, want := c.Spec().Endpoint.TokenInfoURL, "http://127.0.0.1:9/oauth/token/info"; got != want {
		t.Errorf("TokenInfoURL = %q, want %q", got, want)
	}
	c2, err := connector.New("shopline", connector.Options{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := c2.Spec().Endpoint.TokenInfoURL; !strings.HasPrefix(got, "https://developers.shoplineapp.com/") {
		t.Errorf("without overrides TokenInfoURL = %q, want SHOPLINE's", got)
	}
}
