// Package providertest is the harness the provider drivers' tests share: a
// token endpoint that records what a driver sends, a driver.Env for a test
// client application, a served simulator with the consent step done, a
// driver with one quirk changed, and the broken answers every token parser
// is fuzzed with. It holds no provider's facts: answers, paths, client
// credentials, scopes and clocks come from each provider's own tests.
package providertest

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/simulator"
)

// Registered fails t unless connector.Lookup(name) gives p and p's Spec is
// the same pointer each time.
func Registered(t testing.TB, name string, p driver.Provider) {
	t.Helper()
	got, err := connector.Lookup(name)
	if err != nil || got != p {
		t.Fatalf("Lookup(%s) = %v, %v; want the package's Provider", name, got, err)
	}
	if p.Spec() != p.Spec() {
		t.Errorf("%s: Spec returns a new pointer each time", name)
	}
}

// App is a test client application: what a driver.Env holds besides the
// provider, its endpoint and its HTTP client.
type App struct {
	// ClientID, ClientSecret and RedirectURL are the client's
	// registration.
	ClientID, ClientSecret, RedirectURL string
	// Scopes are the scopes the application asks for.
	Scopes []string
	// Now is the application's clock, which stands still.
	Now time.Time
	// Consent holds the parameters the consent request carries besides
	// client_id, redirect_uri, response_type and scope (state, or a
	// provider's own). A state in it must come back in the redirect.
	Consent url.Values
}

// Env returns an Env of a for p that reaches endpoint through client. Each
// Env has its own copy of a.Scopes.
func (a App) Env(p driver.Provider, client *http.Client, endpoint driver.Endpoint) *driver.Env {
	now := a.Now
	return &driver.Env{
		Provider: p,
		Config: driver.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, RedirectURL: a.RedirectURL,
			Scopes: slices.Clone(a.Scopes), Endpoint: endpoint},
		HTTP: client,
		Now:  func() time.Time { return now },
	}
}

// Request is what a Recorder received.
type Request struct {
	Method, Path, ContentType, Accept string
	// Basic is the user and password of Basic authentication, or nil
	// without it.
	Basic []string
	// Params are the form or JSON body's parameters (the first value of
	// each form parameter).
	Params map[string]string
}

// Recorder is a token endpoint that records what a test reads of each
// request, a T (a Request for Record). Close it with the test (Record and
// RecordWith do).
type Recorder[T any] struct {
	*httptest.Server
	mu  sync.Mutex
	got []T
}

// Record starts a Recorder for the length of t that answers each request
// with Content-Type application/json and the body answer(path). A JSON
// body with a value that is not a string fails t.
func Record(t testing.TB, answer func(path string) string) *Recorder[Request] {
	t.Helper()
	return RecordWith(t, answer, func(r *http.Request, body []byte) Request {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		req := Request{Method: r.Method, Path: r.URL.Path, ContentType: mt, Accept: r.Header.Get("Accept"), Params: map[string]string{}}
		if id, secret, ok := r.BasicAuth(); ok {
			req.Basic = []string{id, secret}
		}
		switch mt {
		case "application/x-www-form-urlencoded":
			q, _ := url.ParseQuery(string(body))
			for k := range q {
				req.Params[k] = q.Get(k)
			}
		case "application/json":
			if err := json.Unmarshal(body, &req.Params); err != nil {
				t.Errorf("%s %s: JSON body with non-string values: %s", r.Method, r.URL.Path, body)
			}
		}
		return req
	})
}

// RecordWith is Record for a test that reads other parts of a request
// (headers a provider signs, the body as sent): it records record(r, body)
// for each request r, body being r's body read whole.
func RecordWith[T any](t testing.TB, answer func(path string) string, record func(r *http.Request, body []byte) T) *Recorder[T] {
	t.Helper()
	rec := &Recorder[T]{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := record(r, body)
		rec.mu.Lock()
		rec.got = append(rec.got, got)
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, answer(r.URL.Path))
	}))
	t.Cleanup(rec.Close)
	return rec
}

// Requests returns the requests received so far, in order.
func (r *Recorder[T]) Requests() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.got...)
}

// Expect fails t unless the requests received so far are want.
func (r *Recorder[T]) Expect(t testing.TB, want ...T) {
	t.Helper()
	if diff := cmp.Diff(want, r.Requests()); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

// Simulated is a driver's view of a served simulator.
type Simulated struct {
	Srv *simulator.Server
	TS  *httptest.Server
	// Env is app's Env for the provider against the simulator; a test may
	// change its Provider (to a Mutated one, say).
	Env *driver.Env
	app App
}

// Serve serves p's simulator for the length of t, with app's client
// registered.
func Serve(t testing.TB, p driver.Provider, app App) *Simulated {
	t.Helper()
	srv := p.(driver.Simulated).NewSimulator().(*simulator.Server)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	srv.AddClient(app.ClientID, app.ClientSecret, app.RedirectURL)
	return &Simulated{Srv: srv, TS: ts, Env: app.Env(p, ts.Client(), srv.Endpoint(ts.URL)), app: app}
}

// Authorize runs consent (failing t when the simulator does not approve)
// and then the exchange of the code with s.Env, whose outcome it returns.
func (s *Simulated) Authorize(t testing.TB) (*driver.Token, error) {
	t.Helper()
	spec := s.Env.Provider.Spec()
	q := url.Values{"client_id": {s.app.ClientID}, "redirect_uri": {s.app.RedirectURL}, "response_type": {"code"},
		"scope": {strings.Join(s.Env.Config.Scopes, spec.ScopeSeparator)}}
	maps.Copy(q, s.app.Consent)
	u, err := s.Srv.Approve(s.Env.Config.Endpoint.AuthURL + "?" + q.Encode())
	if err != nil {
		t.Fatalf("%s: Approve: %v", spec.Name, err)
	}
	if q.Has("state") && u.Query().Get("state") != q.Get("state") {
		t.Errorf("%s: state not echoed", spec.Name)
	}
	return driver.StandardExchange(context.Background(), s.Env, u.Query().Get("code"))
}

// Authorized is Authorize for a test that needs the token: a failed
// exchange fails t.
func (s *Simulated) Authorized(t testing.TB) *driver.Token {
	t.Helper()
	tok, err := s.Authorize(t)
	if err != nil {
		t.Fatalf("%s: exchange: %v", s.Env.Provider.Spec().Name, err)
	}
	return tok
}

// Identify gives tok the access token token (unless ""), injects fault
// into the simulator (unless nil) and returns what s.Env.Provider's
// Identify makes of tok.
func (s *Simulated) Identify(tok *driver.Token, token string, fault *simulator.Fault) (string, error) {
	if token != "" {
		tok.AccessToken = token
	}
	if fault != nil {
		s.Srv.InjectFault(*fault)
	}
	return s.Env.Provider.Identify(context.Background(), s.Env, tok)
}

// Get sends GET path (under the API base URL of s.Env) with bearer as the
// access token and header's fields besides, failing t when no answer
// comes; it returns the answer and its body, read and closed.
func (s *Simulated) Get(t testing.TB, path, bearer string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.Env.Config.Endpoint.APIBaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := s.TS.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// mutated is a driver with a changed Spec.
type mutated struct {
	driver.Provider
	spec *driver.Spec
}

func (m mutated) Spec() *driver.Spec { return m.spec }

// Mutated returns p with one quirk changed: its Spec is a copy of p's that
// mutate has changed. It is not driver.Simulated; serve p's simulator and
// set the Env's Provider to it.
func Mutated(p driver.Provider, mutate func(*driver.Spec)) driver.Provider {
	spec := *p.Spec()
	mutate(&spec)
	return mutated{Provider: p, spec: &spec}
}

// SeedBroken adds to f (a conformance.FuzzParseToken target) answers
// broken in ways no provider documents: an HTML page, an error cut short,
// JSON cut short, null, an array, a number too large, bytes that are not
// UTF-8. tokenType is the provider's spelling of token_type "bearer".
func SeedBroken(f *testing.F, tokenType string) {
	const ctJSON = "application/json; charset=utf-8"
	f.Add(200, "text/html", "<!DOCTYPE html><html><body>", "", "</body></html>", uint8(3))
	f.Add(200, ctJSON, `{"error":"invalid_grant",`, ",", "}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"`+tokenType+`","expires_in":1e19,`, "}", uint8(3))
	f.Add(200, ctJSON, "[{", `,"token_type":"`+tokenType+`"`, "}]", uint8(1))
	f.Add(200, ctJSON, "null", "", "", uint8(0))
	f.Add(200, ctJSON, `{"access_token":`, "", "", uint8(0))
	f.Add(200, ctJSON, "\xff\xfe\xfd {", `,"token_type":"`+tokenType[:len(tokenType)-2], "", uint8(3))
}
