package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/simulator"
)

const (
	clientID     = "client-1"
	clientSecret = "secret-1"
	callback     = "http://127.0.0.1:8080/callback"
)

// newClock returns the simulators' fake clock, at a fixed instant.
func newClock() *testclock.Clock { return testclock.New(time.Unix(1_700_000_000, 0)) }

// harness is one simulator served over HTTP with a registered client.
type harness struct {
	t     *testing.T
	srv   *simulator.Server
	ts    *httptest.Server
	clock *testclock.Clock
}

// jumpsellerLike and shoplineLike are the two providers' quirks, written out
// here so that the simulator's tests do not depend on the provider packages.
func jumpsellerLike() simulator.Config {
	return simulator.Config{
		Name: "jumpseller", TokenFormat: driver.Form, TokenType: "bearer", AccessTTL: time.Hour,
		CodeTTL: 600 * time.Second, Scopes: []string{"read_store", "read_orders", "write_products"},
		AccountID: "sandbox-store",
	}
}

func shoplineLike() simulator.Config {
	return simulator.Config{
		Name: "shopline", TokenFormat: driver.JSON, TokenType: "Bearer", AccessTTL: 15778476 * time.Second,
		SendScope: true, AccountField: "resource_owner_id", RefreshRequiresRedirectURI: true,
		CodeTTL: 600 * time.Second, RefreshTTLAfterAccessExpiry: 24 * time.Hour, Revoke: true,
		RevokeAuth: driver.Basic, RequireUserAgent: true, AccountID: "5e1d2c3b4a5f6e7d8c9b0a12",
	}
}

func newHarness(t *testing.T, cfg simulator.Config) *harness {
	t.Helper()
	srv := simulator.New(cfg)
	srv.AddClient(clientID, clientSecret, callback, simulator.OOBRedirectURI)
	srv.AddClient("client-2", "secret-2", "https://other.example/cb")
	c := newClock()
	srv.SetClock(c.Now)
	srv.Handle("GET /api/v1/ping", func(w http.ResponseWriter, r *http.Request, g simulator.Grant) {
		_ = json.NewEncoder(w).Encode(map[string]any{"account": g.AccountID, "client": g.ClientID, "scopes": g.Scopes})
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &harness{t: t, srv: srv, ts: ts, clock: c}
}

func (h *harness) authorizeURL(extra url.Values) string {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {"read_store read_orders"}, "state": {"st-1"}}
	for k, v := range extra {
		if v == nil {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return h.ts.URL + simulator.AuthorizePath + "?" + q.Encode()
}

// code approves a standard authorize request and returns its code.
func (h *harness) code(extra url.Values) string {
	h.t.Helper()
	u, err := h.srv.Approve(h.authorizeURL(extra))
	if err != nil {
		h.t.Fatalf("Approve: %v", err)
	}
	c := u.Query().Get("code")
	if c == "" {
		h.t.Fatalf("Approve redirected to %s, want a code", u)
	}
	return c
}

type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// post sends params to path in the simulator's format (form or JSON) with
// the client's credentials in the body.
func (h *harness) post(path string, params url.Values) answer {
	h.t.Helper()
	p := url.Values{"client_id": {clientID}, "client_secret": {clientSecret}}
	for k, v := range params {
		if v == nil {
			p.Del(k)
		} else {
			p[k] = v
		}
	}
	if h.srv.Config().TokenFormat == driver.JSON {
		m := map[string]string{}
		for k := range p {
			m[k] = p.Get(k)
		}
		b, _ := json.Marshal(m)
		return h.do(path, "application/json", string(b), nil)
	}
	return h.do(path, "application/x-www-form-urlencoded", p.Encode(), nil)
}

func (h *harness) do(path, ctype, body string, mod func(*http.Request)) answer {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if mod != nil {
		mod(req)
	}
	a, err := send(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	return a
}

func send(req *http.Request) (answer, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: string(b)}
	_ = json.Unmarshal(b, &a.Body)
	return a, nil
}

func (h *harness) exchange(code string) answer {
	h.t.Helper()
	return h.post(simulator.TokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}})
}

func (h *harness) refresh(rt string) answer {
	h.t.Helper()
	p := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if h.srv.Config().RefreshRequiresRedirectURI {
		p.Set("redirect_uri", callback)
	}
	return h.post(simulator.TokenPath, p)
}

// tokens exchanges a fresh code and returns the access and refresh tokens.
func (h *harness) tokens() (access, refresh string) {
	h.t.Helper()
	a := h.exchange(h.code(nil))
	if a.Status != 200 {
		h.t.Fatalf("exchange: %d %s", a.Status, a.Raw)
	}
	return a.Body["access_token"].(string), a.Body["refresh_token"].(string)
}

func (h *harness) api(tok string) answer {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/api/v1/ping", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "connector-test/1")
	a, err := send(req)
	if err != nil {
		h.t.Fatalf("API: %v", err)
	}
	return a
}

// oauthErr is the answer's error: its JSON error field, or for an empty
// body (Doorkeeper's API refusals) the error of its WWW-Authenticate header.
func oauthErr(a answer) string {
	if s, ok := a.Body["error"].(string); ok {
		return s
	}
	if m := wwwAuthError.FindStringSubmatch(a.Header.Get("WWW-Authenticate")); m != nil {
		return m[1]
	}
	return ""
}

var wwwAuthError = regexp.MustCompile(`\berror="([^"]*)"`)

type outcome struct {
	Status int
	Error  string
}

func outcomeOf(a answer) outcome { return outcome{a.Status, oauthErr(a)} }

func TestTokenBodyFormat(t *testing.T) {
	formBody := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "client_secret": {clientSecret}, "redirect_uri": {callback}, "code": {"CODE"}}
	jsonBody := func(code string) string {
		b, _ := json.Marshal(map[string]string{"grant_type": "authorization_code", "client_id": clientID, "client_secret": clientSecret, "redirect_uri": callback, "code": code})
		return string(b)
	}
	multipartBody := func(code string) (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k := range formBody {
			v := formBody.Get(k)
			if k == "code" {
				v = code
			}
			_ = mw.WriteField(k, v)
		}
		_ = mw.Close()
		return b.String(), mw.FormDataContentType()
	}
	tests := []struct {
		name   string
		cfg    simulator.Config
		ctype  string
		body   func(code string) string
		want   outcome
		wantIn string // in error_description
	}{
		{"form accepted by a form provider", jumpsellerLike(), "application/x-www-form-urlencoded",
			func(c string) string { p := url.Values{}; copyInto(p, formBody); p.Set("code", c); return p.Encode() }, outcome{200, ""}, ""},
		{"multipart accepted by a form provider (curl -F)", jumpsellerLike(), "",
			nil, outcome{200, ""}, ""},
		{"JSON refused by a form provider", jumpsellerLike(), "application/json", jsonBody, outcome{400, "invalid_request"}, "application/x-www-form-urlencoded"},
		{"JSON accepted by a JSON provider", shoplineLike(), "application/json; charset=utf-8", jsonBody, outcome{200, ""}, ""},
		{"form refused by a JSON provider", shoplineLike(), "application/x-www-form-urlencoded",
			func(c string) string { p := url.Values{}; copyInto(p, formBody); p.Set("code", c); return p.Encode() }, outcome{400, "invalid_request"}, "application/json"},
		{"JSON body labelled text/plain", shoplineLike(), "text/plain", jsonBody, outcome{400, "invalid_request"}, "text/plain"},
		{"no Content-Type", shoplineLike(), "", jsonBody, outcome{400, "invalid_request"}, "Content-Type"},
		{"malformed JSON", shoplineLike(), "application/json", func(string) string { return `{"grant_type":` }, outcome{400, "invalid_request"}, "JSON object"},
		{"JSON number where a string is due", shoplineLike(), "application/json", func(c string) string {
			return strings.Replace(jsonBody(c), `"code":"`+c+`"`, `"code":12`, 1)
		}, outcome{400, "invalid_request"}, "not a JSON string"},
		{"repeated form parameter", jumpsellerLike(), "application/x-www-form-urlencoded", func(c string) string {
			p := url.Values{}
			copyInto(p, formBody)
			p.Set("code", c)
			return p.Encode() + "&grant_type=authorization_code"
		}, outcome{400, "invalid_request"}, "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			code := h.code(nil)
			ctype, body := tt.ctype, ""
			if tt.body == nil {
				body, ctype = multipartBody(code)
			} else {
				body = tt.body(code)
			}
			a := h.do(simulator.TokenPath, ctype, body, nil)
			if diff := cmp.Diff(tt.want, outcomeOf(a)); diff != "" {
				t.Fatalf("answer mismatch (-want +got):\n%s\nbody: %s", diff, a.Raw)
			}
			if desc, _ := a.Body["error_description"].(string); !strings.Contains(desc, tt.wantIn) {
				t.Errorf("error_description = %q, want it to mention %q", desc, tt.wantIn)
			}
			if got := h.srv.Stats().TokenRequests; got != 1 {
				t.Errorf("TokenRequests = %d, want 1", got)
			}
		})
	}
}

func copyInto(dst, src url.Values) {
	for k, v := range src {
		dst[k] = append([]string(nil), v...)
	}
}

func TestAuthorizeValidation(t *testing.T) {
	type result struct {
		Err      string // AuthorizeError code
		Redirect string // scheme://host/path of the redirect
		Query    map[string]string
	}
	tests := []struct {
		name  string
		extra url.Values
		deny  bool
		want  result
	}{
		{"approve", nil, false, result{Redirect: callback, Query: map[string]string{"code": "*", "state": "st-1"}}},
		{"approve without state", url.Values{"state": nil}, false, result{Redirect: callback, Query: map[string]string{"code": "*"}}},
		{"PKCE and merchant_id are ignored", url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"S256"}, "merchant_id": {"m1"}}, false,
			result{Redirect: callback, Query: map[string]string{"code": "*", "state": "st-1"}}},
		{"deny", nil, true, result{Redirect: callback, Query: map[string]string{"error": "access_denied", "error_description": "*", "state": "st-1"}}},
		{"unknown client is not redirected", url.Values{"client_id": {"nobody"}}, false, result{Err: "invalid_client"}},
		{"missing client_id", url.Values{"client_id": nil}, false, result{Err: "invalid_request"}},
		{"redirect_uri with a trailing slash", url.Values{"redirect_uri": {callback + "/"}}, false, result{Err: "invalid_redirect_uri"}},
		// URIChecker.matches?: a loopback IP literal matches on any port (RFC 8252 §7.3).
		{"loopback redirect_uri on another port", url.Values{"redirect_uri": {"http://127.0.0.1:8081/callback"}}, false,
			result{Redirect: "http://127.0.0.1:8081/callback", Query: map[string]string{"code": "*", "state": "st-1"}}},
		{"localhost is no loopback IP literal", url.Values{"redirect_uri": {"http://localhost:8080/callback"}}, false, result{Err: "invalid_redirect_uri"}},
		{"redirect_uri of another client", url.Values{"redirect_uri": {"https://other.example/cb"}}, false, result{Err: "invalid_redirect_uri"}},
		{"missing redirect_uri", url.Values{"redirect_uri": nil}, false, result{Err: "invalid_redirect_uri"}},
		{"missing response_type", url.Values{"response_type": nil}, false,
			result{Redirect: callback, Query: map[string]string{"error": "invalid_request", "error_description": "*", "state": "st-1"}}},
		{"implicit grant", url.Values{"response_type": {"token"}}, false, // in the fragment: PreAuthorization#response_on_fragment?
			result{Redirect: callback + "#error=unsupported_response_type&error_description=The+authorization+server+does+not+support+this+response+type.&state=st-1", Query: map[string]string{}}},
		{"unknown scope", url.Values{"scope": {"read_store read_everything"}}, false,
			result{Redirect: callback, Query: map[string]string{"error": "invalid_scope", "error_description": "*", "state": "st-1"}}},
		{"scopes joined by commas", url.Values{"scope": {"read_store,read_orders"}}, false,
			result{Redirect: callback, Query: map[string]string{"error": "invalid_scope", "error_description": "*", "state": "st-1"}}},
		{"missing scope", url.Values{"scope": nil}, false,
			result{Redirect: callback, Query: map[string]string{"error": "invalid_request", "error_description": "*", "state": "st-1"}}},
		{"out-of-band", url.Values{"redirect_uri": {simulator.OOBRedirectURI}}, false,
			result{Redirect: "/oauth/authorize/native", Query: map[string]string{"code": "*"}}},
		{"out-of-band denied", url.Values{"redirect_uri": {simulator.OOBRedirectURI}}, true, result{Err: "access_denied"}},
		{"out-of-band unknown scope shows a page", url.Values{"redirect_uri": {simulator.OOBRedirectURI}, "scope": {"nope"}}, false, result{Err: "invalid_scope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jumpsellerLike())
			decide := h.srv.Approve
			if tt.deny {
				decide = h.srv.Deny
			}
			u, err := decide(h.authorizeURL(tt.extra))
			var got result
			var ae *simulator.AuthorizeError
			switch {
			case errors.As(err, &ae):
				got.Err = ae.Code
			case err != nil:
				t.Fatalf("unexpected error %v", err)
			default:
				r := *u
				r.RawQuery = ""
				got.Redirect = r.String()
				if tt.want.Redirect != "" && strings.HasPrefix(tt.want.Redirect, "/") {
					got.Redirect = r.Path
				}
				got.Query = map[string]string{}
				for k := range u.Query() {
					v := u.Query().Get(k)
					if w := tt.want.Query[k]; w == "*" && v != "" {
						v = "*"
					}
					got.Query[k] = v
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConsentPage(t *testing.T) {
	h := newHarness(t, jumpsellerLike())
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	postForm := func(form url.Values) *http.Response {
		resp, err := noRedirect.PostForm(h.ts.URL+simulator.AuthorizePath, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	hidden := func(page, name string) string {
		i := strings.Index(page, `name="`+name+`" value="`)
		if i < 0 {
			t.Fatalf("no hidden field %s in page", name)
		}
		rest := page[i+len(`name="`+name+`" value="`):]
		v := rest[:strings.IndexByte(rest, '"')]
		v = strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(v)
		return v
	}
	formOf := func(page, decision string) url.Values {
		f := url.Values{"decision": {decision}}
		for _, n := range []string{"client_id", "redirect_uri", "state", "scope", "response_type", "nonce"} {
			f.Set(n, hidden(page, n))
		}
		return f
	}

	resp, page := get(h.authorizeURL(nil))
	if resp.StatusCode != 200 {
		t.Fatalf("consent page status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self' http://127.0.0.1:8080") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, s := range []string{"read_store", "read_orders", clientID, "sandbox-store"} {
		if !strings.Contains(page, s) {
			t.Errorf("consent page does not mention %q", s)
		}
	}
	if strings.Contains(page, "http://") && strings.Contains(page, "<link") || strings.Contains(page, "<script") {
		t.Error("consent page loads external resources or scripts")
	}

	approve := formOf(page, "approve")
	r := postForm(approve)
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-1" {
		t.Fatalf("approve: %d %s", r.StatusCode, loc)
	}
	if a := h.exchange(loc.Query().Get("code")); a.Status != 200 {
		t.Fatalf("exchange of the consent page's code: %d %s", a.Status, a.Raw)
	}

	t.Run("nonce is one-time", func(t *testing.T) {
		if r := postForm(approve); r.StatusCode != 400 {
			t.Errorf("second POST with the same nonce: status %d, want 400", r.StatusCode)
		}
	})
	t.Run("altered hidden field", func(t *testing.T) {
		_, page := get(h.authorizeURL(nil))
		f := formOf(page, "approve")
		f.Set("redirect_uri", "https://evil.example/cb")
		if r := postForm(f); r.StatusCode != 400 {
			t.Errorf("status %d, want 400", r.StatusCode)
		}
	})
	t.Run("deny", func(t *testing.T) {
		_, page := get(h.authorizeURL(nil))
		r := postForm(formOf(page, "deny"))
		loc, _ := url.Parse(r.Header.Get("Location"))
		if diff := cmp.Diff([]string{"access_denied", "st-1"}, []string{loc.Query().Get("error"), loc.Query().Get("state")}); r.StatusCode != 302 || diff != "" {
			t.Errorf("deny: status %d, (-want +got):\n%s", r.StatusCode, diff)
		}
	})
	t.Run("bad client gets an error page, not a redirect", func(t *testing.T) {
		resp, page := get(h.authorizeURL(url.Values{"client_id": {"nobody"}}))
		if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(page, "invalid_client") { // Doorkeeper's error page is a 200
			t.Errorf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("out-of-band shows the code", func(t *testing.T) {
		_, page := get(h.authorizeURL(url.Values{"redirect_uri": {simulator.OOBRedirectURI}}))
		r := postForm(formOf(page, "approve"))
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil || r.StatusCode != 302 || loc.Path != simulator.NativePath {
			t.Fatalf("oob approve: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		code := loc.Query().Get("code")
		_, shown := get(h.ts.URL + loc.String())
		if !strings.Contains(shown, code) {
			t.Errorf("native page does not show the code")
		}
		a := h.post(simulator.TokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {simulator.OOBRedirectURI}})
		if a.Status != 200 {
			t.Errorf("oob exchange: %d %s", a.Status, a.Raw)
		}
	})
}

func TestExchange(t *testing.T) {
	basicOnly := jumpsellerLike()
	basicOnly.TokenAuth = driver.Basic
	legacy := jumpsellerLike()
	legacy.LegacyErrorStatus = true
	tests := []struct {
		name   string
		cfg    simulator.Config
		setup  func(h *harness, code string) (params url.Values, mod func(*http.Request))
		want   outcome
		wantIn string
	}{
		{"good", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) { return nil, nil }, outcome{200, ""}, ""},
		{"Basic refused where the body is documented", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"client_id": nil, "client_secret": nil}, func(r *http.Request) { r.SetBasicAuth(clientID, clientSecret) }
		}, outcome{401, "invalid_client"}, "HTTP Basic"},
		{"Basic and body at once", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return nil, func(r *http.Request) { r.SetBasicAuth(clientID, clientSecret) }
		}, outcome{401, "invalid_client"}, "HTTP Basic"},
		{"Basic where Basic is documented", basicOnly, func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"client_id": nil, "client_secret": nil}, func(r *http.Request) { r.SetBasicAuth(clientID, clientSecret) }
		}, outcome{200, ""}, ""},
		{"Basic with the same client_id in the body", basicOnly, func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"client_secret": nil}, func(r *http.Request) { r.SetBasicAuth(clientID, clientSecret) }
		}, outcome{200, ""}, ""},
		{"body refused where Basic is documented", basicOnly, func(h *harness, c string) (url.Values, func(*http.Request)) {
			return nil, nil
		}, outcome{401, "invalid_client"}, "client_secret is in the request body"},
		{"wrong secret", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"client_secret": {"nope"}}, nil
		}, outcome{401, "invalid_client"}, ""},
		{"no credentials", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"client_id": nil, "client_secret": nil}, nil
		}, outcome{401, "invalid_client"}, "required in the request body"},
		{"unknown code", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"code": {"bogus"}}, nil
		}, outcome{400, "invalid_grant"}, ""},
		{"legacy status for invalid_grant", legacy, func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"code": {"bogus"}}, nil
		}, outcome{401, "invalid_grant"}, ""},
		{"legacy status for invalid_request", legacy, func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"redirect_uri": nil}, nil
		}, outcome{401, "invalid_request"}, "redirect_uri"},
		{"other redirect_uri", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"redirect_uri": {simulator.OOBRedirectURI}}, nil
		}, outcome{400, "invalid_grant"}, "redirect_uri"},
		{"loopback redirect_uri on another port", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"redirect_uri": {"http://127.0.0.1:53117/callback"}}, nil
		}, outcome{200, ""}, ""},
		{"loopback redirect_uri on another path", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"redirect_uri": {"http://127.0.0.1:8080/other"}}, nil
		}, outcome{400, "invalid_grant"}, "redirect_uri"},
		{"missing redirect_uri", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"redirect_uri": nil}, nil
		}, outcome{400, "invalid_request"}, "redirect_uri"},
		{"missing redirect_uri before client authentication", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"redirect_uri": nil, "client_secret": {"nope"}}, nil
		}, outcome{400, "invalid_request"}, "redirect_uri"},
		{"another client's code", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"client_id": {"client-2"}, "client_secret": {"secret-2"}}, nil
		}, outcome{400, "invalid_grant"}, ""},
		{"code at its last second", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			h.clock.Advance(600 * time.Second)
			return nil, nil
		}, outcome{200, ""}, ""},
		{"expired code", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			h.clock.Advance(601 * time.Second)
			return nil, nil
		}, outcome{400, "invalid_grant"}, "expired"},
		{"reused code revokes what it issued", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			if a := h.exchange(c); a.Status != 200 {
				h.t.Fatalf("first exchange: %s", a.Raw)
			}
			return nil, nil
		}, outcome{400, "invalid_grant"}, "already used"},
		{"unsupported grant", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"grant_type": {"password"}}, nil
		}, outcome{400, "unsupported_grant_type"}, ""},
		{"missing grant_type", jumpsellerLike(), func(h *harness, c string) (url.Values, func(*http.Request)) {
			return url.Values{"grant_type": nil}, nil
		}, outcome{400, "invalid_request"}, "grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			code := h.code(nil)
			params, mod := tt.setup(h, code)
			p := url.Values{"client_id": {clientID}, "client_secret": {clientSecret}, "grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}
			for k, v := range params {
				if v == nil {
					p.Del(k)
				} else {
					p[k] = v
				}
			}
			a := h.do(simulator.TokenPath, "application/x-www-form-urlencoded", p.Encode(), mod)
			if diff := cmp.Diff(tt.want, outcomeOf(a)); diff != "" {
				t.Fatalf("mismatch (-want +got):\n%s\nbody: %s", diff, a.Raw)
			}
			if tt.want.Status != 200 {
				desc, _ := a.Body["error_description"].(string)
				if !strings.Contains(desc, tt.wantIn) {
					t.Errorf("error_description %q does not mention %q", desc, tt.wantIn)
				}
				if ct := a.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type = %q", ct)
				}
				// ErrorResponse#headers: every error carries WWW-Authenticate.
				if !strings.Contains(a.Header.Get("WWW-Authenticate"), `Bearer realm="Doorkeeper", error="`+tt.want.Error+`"`) {
					t.Errorf("WWW-Authenticate = %q", a.Header.Get("WWW-Authenticate"))
				}
				for k, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"} {
					if got := a.Header.Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
			}
		})
	}
}

func TestCodeReuseRevokesTokens(t *testing.T) {
	h := newHarness(t, jumpsellerLike())
	code := h.code(nil)
	a := h.exchange(code)
	at, rt := a.Body["access_token"].(string), a.Body["refresh_token"].(string)
	if again := h.exchange(code); oauthErr(again) != "invalid_grant" {
		t.Fatalf("second exchange: %s", again.Raw)
	}
	got := []outcome{outcomeOf(h.api(at)), outcomeOf(h.refresh(rt))}
	want := []outcome{{401, "invalid_token"}, {400, "invalid_grant"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens of a replayed code (-want +got):\n%s", diff)
	}
	if s := h.srv.Stats(); s.CodeReplays != 1 || s.Exchanges != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestTokenAnswer(t *testing.T) {
	tests := []struct {
		name string
		cfg  simulator.Config
		want map[string]any
	}{
		{"jumpseller", jumpsellerLike(), map[string]any{
			"access_token": "hex64", "token_type": "bearer", "expires_in": 3600.0, "refresh_token": "hex64", "created_at": 1_700_000_000.0,
		}},
		{"shopline", func() simulator.Config {
			c := shoplineLike()
			c.AccessTokenFormat = func() string { return "eyJ.custom." + time.Now().String() }
			return c
		}(), map[string]any{
			"access_token": "eyJ.custom", "token_type": "Bearer", "expires_in": 15778476.0, "refresh_token": "hex64",
			"scope": "read_store read_orders", "created_at": 1_700_000_000.0, "resource_owner_id": "5e1d2c3b4a5f6e7d8c9b0a12",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			a := h.exchange(h.code(nil))
			for _, k := range []string{"access_token", "refresh_token"} {
				v, _ := a.Body[k].(string)
				switch {
				case len(v) == 64 && strings.Trim(v, "0123456789abcdef") == "":
					a.Body[k] = "hex64"
				case strings.HasPrefix(v, "eyJ.custom."):
					a.Body[k] = "eyJ.custom"
				}
			}
			if diff := cmp.Diff(tt.want, a.Body); diff != "" {
				t.Errorf("token answer (-want +got):\n%s", diff)
			}
			// TokenResponse#headers (lib/doorkeeper/oauth/token_response.rb, 5.5).
			for k, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json; charset=utf-8"} {
				if got := a.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// step is one action of a rotation scenario and the outcome it must have.
type step struct {
	do   string // "refresh N", "api N", "advance D", "revokeAll"
	arg  int    // the pair: 0 is the exchange's, n the n-th refresh's answer
	dur  time.Duration
	want outcome
}

func TestRotation(t *testing.T) {
	ok := outcome{200, ""}
	grantErr := outcome{400, "invalid_grant"}
	tokenErr := outcome{401, "invalid_token"}
	strict := func() simulator.Config { c := jumpsellerLike(); c.StrictRotation = true; return c }
	tests := []struct {
		name      string
		cfg       func() simulator.Config
		steps     []step
		wantReuse int // Stats.RevokedReuse
	}{
		{"refresh rotates", jumpsellerLike, []step{
			{do: "refresh", arg: 0, want: ok},
			{do: "api", arg: 1, want: ok},
			{do: "refresh", arg: 1, want: ok},
		}, 0},
		{"replay before the new access token is used", jumpsellerLike, []step{
			{do: "refresh", arg: 0, want: ok}, // pair 1
			{do: "refresh", arg: 0, want: ok}, // pair 2: pair 1 stays valid, as in Doorkeeper
			{do: "api", arg: 2, want: ok},     // revokes pair 0, nothing else
			{do: "api", arg: 1, want: ok},
			{do: "refresh", arg: 0, want: grantErr},
			{do: "refresh", arg: 2, want: ok},
			{do: "refresh", arg: 1, want: ok},
		}, 1},
		{"old access token lives until the new one is used", jumpsellerLike, []step{
			{do: "refresh", arg: 0, want: ok},
			{do: "api", arg: 0, want: ok},
			{do: "api", arg: 1, want: ok},
			{do: "api", arg: 0, want: tokenErr}, // its row was revoked with its refresh token
		}, 0},
		{"reuse after the new access token is used: invalid_grant, nothing else revoked", jumpsellerLike, []step{
			{do: "refresh", arg: 0, want: ok},
			{do: "api", arg: 1, want: ok},
			{do: "refresh", arg: 0, want: grantErr},
			{do: "refresh", arg: 0, want: grantErr},
			{do: "api", arg: 1, want: ok},
			{do: "refresh", arg: 1, want: ok},
		}, 2},
		{"an expired new access token still completes the rotation", jumpsellerLike, []step{
			{do: "refresh", arg: 0, want: ok},
			{do: "advance", dur: time.Hour + time.Second, want: ok},
			{do: "api", arg: 1, want: tokenErr}, // OAuth::Token.authenticate revokes the previous row first
			{do: "refresh", arg: 0, want: grantErr},
			{do: "refresh", arg: 1, want: ok},
		}, 1},
		{"strict: the used refresh token dies at once", strict, []step{
			{do: "refresh", arg: 0, want: ok},
			{do: "api", arg: 0, want: tokenErr}, // one row: its access token died with it
			{do: "refresh", arg: 0, want: grantErr},
			{do: "api", arg: 1, want: ok},
			{do: "refresh", arg: 1, want: ok},
		}, 1},
		{"strict: the legacy field name still works", func() simulator.Config { c := jumpsellerLike(); c.ImmediateRefreshRevocation = true; return c }, []step{
			{do: "refresh", arg: 0, want: ok},
			{do: "refresh", arg: 0, want: grantErr},
		}, 1},
		{"access token expires", jumpsellerLike, []step{
			{do: "advance", dur: time.Hour, want: ok},
			{do: "api", arg: 0, want: ok},
			{do: "advance", dur: time.Second, want: ok},
			{do: "api", arg: 0, want: tokenErr},
			{do: "refresh", arg: 0, want: ok},
		}, 0},
		{"SHOPLINE refresh token dies a day after its access token", shoplineLike, []step{
			{do: "advance", dur: 15778476*time.Second + 24*time.Hour, want: ok},
			{do: "refresh", arg: 0, want: ok},
			{do: "advance", dur: 15778476*time.Second + 24*time.Hour + time.Second, want: ok},
			{do: "refresh", arg: 1, want: grantErr},
		}, 0},
		{"uninstall", jumpsellerLike, []step{
			{do: "refresh", arg: 0, want: ok},
			{do: "revokeAll", want: ok},
			{do: "api", arg: 1, want: tokenErr},
			{do: "refresh", arg: 1, want: grantErr},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg())
			at, rt := h.tokens()
			pairs := [][2]string{{at, rt}}
			var failed int
			for i, s := range tt.steps {
				var got outcome
				switch s.do {
				case "refresh":
					a := h.refresh(pairs[s.arg][1])
					got = outcomeOf(a)
					if a.Status == 200 {
						pairs = append(pairs, [2]string{a.Body["access_token"].(string), a.Body["refresh_token"].(string)})
					} else {
						failed++
					}
				case "api":
					a := h.api(pairs[s.arg][0])
					got = outcomeOf(a)
					if got.Status == 200 {
						got.Error = ""
					}
				case "advance":
					h.clock.Advance(s.dur)
					got = ok
				case "revokeAll":
					h.srv.RevokeAll()
					got = ok
				}
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Fatalf("step %d (%s %d) mismatch (-want +got):\n%s", i, s.do, s.arg, diff)
				}
			}
			st := h.srv.Stats()
			if st.RevokedReuse != tt.wantReuse || st.FailedRefreshes != failed || st.FamiliesRevoked != 0 {
				t.Errorf("stats %+v, want RevokedReuse %d, FailedRefreshes %d, FamiliesRevoked 0", st, tt.wantReuse, failed)
			}
		})
	}
}

func TestRefreshRequest(t *testing.T) {
	refuses := jumpsellerLike()
	refuses.RefreshRefusesRedirectURI = true
	loopback := shoplineLike()
	tests := []struct {
		name   string
		cfg    simulator.Config
		params url.Values
		want   outcome
	}{
		{"SHOPLINE with redirect_uri", shoplineLike(), url.Values{"redirect_uri": {callback}}, outcome{200, ""}},
		{"SHOPLINE with the loopback redirect_uri on another port", loopback, url.Values{"redirect_uri": {"http://127.0.0.1:40001/callback"}}, outcome{200, ""}},
		{"SHOPLINE without redirect_uri", shoplineLike(), url.Values{"redirect_uri": nil}, outcome{400, "invalid_request"}},
		{"SHOPLINE with an unregistered redirect_uri", shoplineLike(), url.Values{"redirect_uri": {"https://evil.example/cb"}}, outcome{400, "invalid_grant"}},
		{"Doorkeeper ignores redirect_uri", jumpsellerLike(), url.Values{"redirect_uri": {"https://evil.example/cb"}}, outcome{200, ""}},
		{"Jumpseller without redirect_uri", refuses, url.Values{"redirect_uri": nil}, outcome{200, ""}},
		{"Jumpseller with redirect_uri", refuses, url.Values{"redirect_uri": {callback}}, outcome{400, "invalid_request"}},
		{"another client", jumpsellerLike(), url.Values{"client_id": {"client-2"}, "client_secret": {"secret-2"}}, outcome{400, "invalid_grant"}},
		{"wrong secret", jumpsellerLike(), url.Values{"client_secret": {"x"}}, outcome{401, "invalid_client"}},
		{"unknown refresh token before the client", jumpsellerLike(), url.Values{"refresh_token": {"nope"}, "client_secret": {"x"}}, outcome{400, "invalid_grant"}},
		{"narrower scope", jumpsellerLike(), url.Values{"scope": {"read_store"}}, outcome{200, ""}},
		{"wider scope", jumpsellerLike(), url.Values{"scope": {"write_products"}}, outcome{400, "invalid_scope"}},
		{"missing refresh_token", jumpsellerLike(), url.Values{"refresh_token": nil}, outcome{400, "invalid_request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			_, rt := h.tokens()
			p := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "redirect_uri": {callback}}
			for k, v := range tt.params {
				if v == nil {
					p.Del(k)
				} else {
					p[k] = v
				}
			}
			if diff := cmp.Diff(tt.want, outcomeOf(h.post(simulator.TokenPath, p))); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault simulator.Fault
		// op runs against a harness with a fresh pair and reports what the
		// client saw: the status (0 for a transport error) and a detail.
		op        string // "refresh", "exchange", "api"
		wantSeen  string
		wantStats simulator.Stats // compared on TokenRequests, Exchanges, Refreshes, APICalls
		// afterReplay: replaying the original refresh token then gives
		afterReplay int
	}{
		{"503 with Retry-After", simulator.Fault{Status: 503, RetryAfter: "7", Body: `{"error":"temporarily_unavailable"}`}, "refresh",
			`503 Retry-After=7 application/json; charset=utf-8 {"error":"temporarily_unavailable"}`, simulator.Stats{TokenRequests: 2, Exchanges: 1}, 200},
		{"HTML page", simulator.Fault{Status: 502, Body: "<html>Bad gateway</html>"}, "refresh",
			"502 Retry-After= text/html; charset=utf-8 <html>Bad gateway</html>", simulator.Stats{TokenRequests: 2, Exchanges: 1}, 200},
		{"explicit content type", simulator.Fault{Status: 200, ContentType: "text/plain", Body: `{}`}, "refresh",
			"200 Retry-After= text/plain {}", simulator.Stats{TokenRequests: 2, Exchanges: 1}, 200},
		{"error inside a 200", simulator.Fault{Body: `{"error":"server_error"}`}, "refresh",
			`200 Retry-After= application/json; charset=utf-8 {"error":"server_error"}`, simulator.Stats{TokenRequests: 2, Exchanges: 1}, 200},
		{"drop before processing", simulator.Fault{Drop: true}, "refresh", "transport error", simulator.Stats{TokenRequests: 2, Exchanges: 1}, 200},
		{"drop after processing", simulator.Fault{DropAfterProcessing: true}, "refresh", "transport error", simulator.Stats{TokenRequests: 2, Exchanges: 1, Refreshes: 1}, 200},
		{"delay beyond the client's patience", simulator.Fault{Delay: 5 * time.Second}, "refresh", "transport error", simulator.Stats{TokenRequests: 2, Exchanges: 1}, 200},
		{"short delay", simulator.Fault{Delay: 10 * time.Millisecond}, "refresh", "200 token_type=bearer", simulator.Stats{TokenRequests: 2, Exchanges: 1, Refreshes: 1}, 200},
		{"token type mac", simulator.Fault{TokenType: "mac"}, "refresh", "200 token_type=mac", simulator.Stats{TokenRequests: 2, Exchanges: 1, Refreshes: 1}, 200},
		{"no access_token", simulator.Fault{OmitAccessToken: true}, "refresh", "200 token_type=bearer access_token=false", simulator.Stats{TokenRequests: 2, Exchanges: 1, Refreshes: 1}, 200},
		{"padded beyond 1 MiB", simulator.Fault{PadBody: 1 << 20}, "refresh", "200 token_type=bearer large", simulator.Stats{TokenRequests: 2, Exchanges: 1, Refreshes: 1}, 200},
		{"grant filter spares other grants", simulator.Fault{Grant: "authorization_code", Status: 500}, "refresh", "200 token_type=bearer", simulator.Stats{TokenRequests: 2, Exchanges: 1, Refreshes: 1}, 200},
		{"grant filter hits its grant", simulator.Fault{Grant: "refresh_token", Status: 500}, "refresh", "500 Retry-After= text/html; charset=utf-8", simulator.Stats{TokenRequests: 2, Exchanges: 1}, 200},
		{"API 429", simulator.Fault{Path: "/api/", Status: 429, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", Body: `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`}, "api",
			`429 Retry-After=Wed, 21 Oct 2015 07:28:00 GMT application/json; charset=utf-8 {"error":"Rate limit exceeded","code":"RateLimitExceeded"}`, simulator.Stats{TokenRequests: 1, Exchanges: 1, APICalls: 1}, 200},
		{"API path does not touch the token endpoint", simulator.Fault{Path: "/api/", Status: 500}, "refresh", "200 token_type=bearer", simulator.Stats{TokenRequests: 2, Exchanges: 1, Refreshes: 1}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jumpsellerLike())
			at, rt := h.tokens()
			h.srv.InjectFault(tt.fault)
			var req *http.Request
			switch tt.op {
			case "refresh":
				p := url.Values{"client_id": {clientID}, "client_secret": {clientSecret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}
				req, _ = http.NewRequest(http.MethodPost, h.ts.URL+simulator.TokenPath, strings.NewReader(p.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			case "api":
				req, _ = http.NewRequest(http.MethodGet, h.ts.URL+"/api/v1/ping", nil)
				req.Header.Set("Authorization", "Bearer "+at)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			a, err := send(req.WithContext(ctx))
			seen := "transport error"
			if err == nil {
				seen = describe(a)
			}
			if diff := cmp.Diff(tt.wantSeen, seen); diff != "" {
				t.Errorf("client saw (-want +got):\n%s", diff)
			}
			st := h.srv.Stats()
			got := simulator.Stats{TokenRequests: st.TokenRequests, Exchanges: st.Exchanges, Refreshes: st.Refreshes, APICalls: st.APICalls}
			if diff := cmp.Diff(tt.wantStats, got); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if h.srv.PendingFaults() != 0 && !strings.Contains(tt.name, "spares") && !strings.Contains(tt.name, "does not touch") {
				t.Errorf("fault not consumed")
			}
			// Before processing nothing rotated; after processing the new
			// access token was never used: either way the original refresh
			// token still works (Doorkeeper's revoke-on-use).
			if a := h.refresh(rt); a.Status != tt.afterReplay {
				t.Errorf("replaying the original refresh token: %d %s", a.Status, a.Raw)
			}
		})
	}
}

// describe summarises an answer for TestFaults.
func describe(a answer) string {
	if tt, ok := a.Body["token_type"].(string); ok && a.Status == 200 {
		s := "200 token_type=" + tt
		if _, ok := a.Body["access_token"]; !ok {
			s += " access_token=false"
		}
		if len(a.Raw) > 1<<20 {
			s += " large"
		}
		return s
	}
	return strings.TrimSpace(strings.Join([]string{
		strconv.Itoa(a.Status), "Retry-After=" + a.Header.Get("Retry-After"), a.Header.Get("Content-Type"), a.Raw}, " "))
}

func TestFaultTimes(t *testing.T) {
	h := newHarness(t, jumpsellerLike())
	_, rt := h.tokens()
	h.srv.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 503, Times: 2})
	h.srv.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 429})
	var got []int
	for range 4 {
		got = append(got, h.refresh(rt).Status)
	}
	if diff := cmp.Diff([]int{503, 503, 429, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestRevoke(t *testing.T) {
	basic := func(r *http.Request) { r.SetBasicAuth(clientID, clientSecret) }
	tests := []struct {
		name      string
		body      func(at, rt string) string
		ctype     string
		auth      func(r *http.Request)
		before    func(h *harness)
		want      outcome
		wantAlive [2]bool // access token, refresh token still valid afterwards
	}{
		{"refresh token, Basic, JSON", func(at, rt string) string { return `{"token":"` + rt + `"}` }, "application/json",
			basic, nil, outcome{200, ""}, [2]bool{false, false}},
		{"access token", func(at, rt string) string { return `{"token":"` + at + `"}` }, "application/json",
			basic, nil, outcome{200, ""}, [2]bool{false, false}},
		{"token_type_hint is ignored (5.5)", func(at, rt string) string { return `{"token":"` + at + `","token_type_hint":"refresh_token"}` }, "application/json",
			basic, nil, outcome{200, ""}, [2]bool{false, false}},
		{"unknown token is still a 200", func(at, rt string) string { return `{"token":"nope"}` }, "application/json",
			basic, nil, outcome{200, ""}, [2]bool{true, true}},
		{"no token is a 200", func(at, rt string) string { return `{}` }, "application/json",
			basic, nil, outcome{200, ""}, [2]bool{true, true}},
		// TokensController#revoke_token: "token.revoke if token&.accessible?"
		// (5.8.1 revokes an expired row's refresh token).
		{"a row whose access token expired is not revoked", func(at, rt string) string { return `{"token":"` + rt + `"}` }, "application/json",
			basic, func(h *harness) { h.clock.Advance(15778476*time.Second + time.Second) }, outcome{200, ""}, [2]bool{false, true}},
		{"credentials in the body are refused", func(at, rt string) string {
			return `{"token":"` + rt + `","client_id":"` + clientID + `","client_secret":"` + clientSecret + `"}`
		}, "application/json", nil, nil, outcome{403, "unauthorized_client"}, [2]bool{true, true}},
		{"no credentials", func(at, rt string) string { return `{"token":"` + rt + `"}` }, "application/json",
			nil, nil, outcome{403, "unauthorized_client"}, [2]bool{true, true}},
		{"wrong secret", func(at, rt string) string { return `{"token":"` + rt + `"}` }, "application/json",
			func(r *http.Request) { r.SetBasicAuth(clientID, "nope") }, nil, outcome{403, "unauthorized_client"}, [2]bool{true, true}},
		{"another client's token", func(at, rt string) string { return `{"token":"` + rt + `"}` }, "application/json",
			func(r *http.Request) { r.SetBasicAuth("client-2", "secret-2") }, nil, outcome{403, "unauthorized_client"}, [2]bool{true, true}},
		{"form body", func(at, rt string) string { return "token=" + rt }, "application/x-www-form-urlencoded",
			basic, nil, outcome{400, "invalid_request"}, [2]bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, shoplineLike())
			at, rt := h.tokens()
			if tt.before != nil {
				tt.before(h)
			}
			a := h.do(simulator.RevokePath, tt.ctype, tt.body(at, rt), tt.auth)
			if diff := cmp.Diff(tt.want, outcomeOf(a)); diff != "" {
				t.Fatalf("mismatch (-want +got):\n%s\n%s", diff, a.Raw)
			}
			switch tt.want.Status {
			case 200:
				if a.Raw != "{}" {
					t.Errorf("body %q, want {}", a.Raw)
				}
			case 403:
				want := `{"error":"unauthorized_client","error_description":"You are not authorized to revoke this token"}`
				if a.Raw != want || a.Header.Get("WWW-Authenticate") != "" {
					t.Errorf("403 body %s (WWW-Authenticate %q), want %s and none", a.Raw, a.Header.Get("WWW-Authenticate"), want)
				}
			}
			alive := [2]bool{h.srv.ValidAccessToken(at), h.srv.ValidRefreshToken(rt)}
			if diff := cmp.Diff(tt.wantAlive, alive); diff != "" {
				t.Errorf("alive after revoke (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("one row only", func(t *testing.T) {
		h := newHarness(t, shoplineLike())
		_, rt0 := h.tokens()
		r := h.refresh(rt0)
		at1, rt1 := r.Body["access_token"].(string), r.Body["refresh_token"].(string)
		a := h.do(simulator.RevokePath, "application/json", `{"token":"`+rt1+`"}`, basic)
		if a.Status != 200 {
			t.Fatalf("revoke: %d %s", a.Status, a.Raw)
		}
		// The new row is dead; its predecessor was never superseded by a use
		// of the new access token, so it lives on.
		got := [3]bool{h.srv.ValidAccessToken(at1), h.srv.ValidRefreshToken(rt1), h.srv.ValidRefreshToken(rt0)}
		if diff := cmp.Diff([3]bool{false, false, true}, got); diff != "" {
			t.Errorf("alive after revoking the new row: access, refresh, previous refresh (-want +got):\n%s", diff)
		}
		if st := h.srv.Stats(); st.FamiliesRevoked != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("not served without Config.Revoke", func(t *testing.T) {
		h := newHarness(t, jumpsellerLike())
		if a := h.do(simulator.RevokePath, "application/x-www-form-urlencoded", "token=x", nil); a.Status != 404 {
			t.Errorf("status %d, want 404", a.Status)
		}
		if got := h.srv.Endpoint(h.ts.URL).RevokeURL; got != "" {
			t.Errorf("RevokeURL = %q, want none", got)
		}
	})
}

func TestTokenInfo(t *testing.T) {
	h := newHarness(t, shoplineLike())
	at, _ := h.tokens()
	h.clock.Advance(100 * time.Second)
	get := func(tok string) answer {
		req, _ := http.NewRequest(http.MethodGet, h.ts.URL+simulator.TokenInfoPath, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		a, err := send(req)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	want := map[string]any{
		"resource_owner_id": "5e1d2c3b4a5f6e7d8c9b0a12", "scope": []any{"read_store", "read_orders"},
		"expires_in": 15778376.0, "application": map[string]any{"uid": clientID}, "created_at": 1_700_000_000.0,
	}
	if diff := cmp.Diff(want, get(at).Body); diff != "" {
		t.Errorf("token info (-want +got):\n%s", diff)
	}
	// TokenInfoController#show: InvalidTokenResponse.new, whose reason is
	// always unknown and whose body carries its state.
	h.clock.Advance(15778476 * time.Second)
	for _, tok := range []string{"nope", at} {
		bad := get(tok)
		want := map[string]any{"error": "invalid_token", "error_description": "The access token is invalid", "state": "unauthorized"}
		if diff := cmp.Diff(want, bad.Body); diff != "" || bad.Status != 401 ||
			bad.Header.Get("WWW-Authenticate") != `Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid"` {
			t.Errorf("token %.8s: %d (-want +got):\n%s (WWW-Authenticate %q)", tok, bad.Status, diff, bad.Header.Get("WWW-Authenticate"))
		}
	}
}

func TestAPI(t *testing.T) {
	cfg := shoplineLike()
	cfg.APIHook = func(w http.ResponseWriter, r *http.Request, now time.Time) bool {
		w.Header().Set("X-Sim-Time", now.UTC().Format(time.RFC3339))
		return r.URL.Query().Get("block") == ""
	}
	h := newHarness(t, cfg)
	at, _ := h.tokens()
	tests := []struct {
		name     string
		path     string
		auth     string
		ua       *string
		want     int
		wantErr  string
		wantDesc string // of WWW-Authenticate, for a 401
	}{
		{"valid", "/api/v1/ping", "Bearer " + at, nil, 200, "", ""},
		{"scheme in lower case", "/api/v1/ping", "bearer " + at, nil, 200, "", ""},
		{"no token", "/api/v1/ping", "", nil, 401, "invalid_token", "The access token is invalid"},
		{"unknown token", "/api/v1/ping", "Bearer nope", nil, 401, "invalid_token", "The access token is invalid"},
		{"Basic instead of Bearer", "/api/v1/ping", "Basic " + at, nil, 401, "invalid_token", "The access token is invalid"},
		{"no User-Agent", "/api/v1/ping", "Bearer " + at, ptr(""), 400, "invalid_request", ""},
		{"Go's default User-Agent", "/api/v1/ping", "Bearer " + at, ptr("Go-http-client/1.1"), 400, "invalid_request", ""},
		{"unknown route", "/api/v1/nothing", "Bearer " + at, nil, 404, "not_found", ""},
		{"hook answers", "/api/v1/ping?block=1", "Bearer " + at, nil, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.ts.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			req.Header.Set("User-Agent", "connector-test/1")
			if tt.ua != nil {
				req.Header["User-Agent"] = []string{*tt.ua}
			}
			a, err := send(req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(outcome{tt.want, tt.wantErr}, outcomeOf(a)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s\n%s", diff, a.Raw)
			}
			if a.Header.Get("X-Sim-Time") != "2023-11-14T22:13:20Z" {
				t.Errorf("APIHook did not run with the simulator clock: %q", a.Header.Get("X-Sim-Time"))
			}
			if tt.want == 401 {
				// doorkeeper_render_error: InvalidTokenResponse's headers
				// without Content-Type, and "head status".
				want := `Bearer realm="Doorkeeper", error="invalid_token", error_description="` + tt.wantDesc + `"`
				if got := a.Header.Get("WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
				if a.Raw != "" || a.Header.Get("Cache-Control") != "no-store" || a.Header.Get("Pragma") != "no-cache" {
					t.Errorf("body %q, Cache-Control %q, Pragma %q: want an empty body, no-store, no-cache", a.Raw, a.Header.Get("Cache-Control"), a.Header.Get("Pragma"))
				}
			}
		})
	}
	t.Run("grant", func(t *testing.T) {
		want := map[string]any{"account": "5e1d2c3b4a5f6e7d8c9b0a12", "client": clientID, "scopes": []any{"read_store", "read_orders"}}
		if diff := cmp.Diff(want, h.api(at).Body); diff != "" {
			t.Errorf("grant (-want +got):\n%s", diff)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestEndpoint(t *testing.T) {
	got := simulator.New(shoplineLike()).Endpoint("http://127.0.0.1:9999/")
	want := driver.Endpoint{
		AuthURL: "http://127.0.0.1:9999/oauth/authorize", TokenURL: "http://127.0.0.1:9999/oauth/token",
		RevokeURL: "http://127.0.0.1:9999/oauth/revoke", TokenInfoURL: "http://127.0.0.1:9999/oauth/token/info",
		APIBaseURL: "http://127.0.0.1:9999/api/v1/",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Endpoint (-want +got):\n%s", diff)
	}
}

func TestConfigDefaults(t *testing.T) {
	got := simulator.New(simulator.Config{}).Config()
	want := simulator.Config{Name: "simulator", DisplayName: "simulator", TokenType: "Bearer", AccessTTL: 2 * time.Hour,
		CodeTTL: 10 * time.Minute, ScopeSeparator: " ", AccountID: "sandbox", Scopes: []string{}, DefaultScopes: []string{}}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(simulator.Config{}, "AccessTokenFormat", "APIHook")); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestConcurrency hammers one grant with API calls and refresh replays; run
// it under -race.
func TestConcurrency(t *testing.T) {
	h := newHarness(t, jumpsellerLike())
	at, rt := h.tokens()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var status int
			if i%10 == 0 {
				req, _ := http.NewRequest(http.MethodPost, h.ts.URL+simulator.TokenPath, strings.NewReader(url.Values{
					"client_id": {clientID}, "client_secret": {clientSecret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				a, err := send(req)
				if err != nil {
					t.Error(err)
					return
				}
				status = a.Status
			} else {
				req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/api/v1/ping", nil)
				req.Header.Set("Authorization", "Bearer "+at)
				a, err := send(req)
				if err != nil {
					t.Error(err)
					return
				}
				status = a.Status
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// The original access token has no predecessor, so using it revokes
	// nothing: every call and every refresh replay succeeds.
	if diff := cmp.Diff(map[int]int{200: 1000}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	st := h.srv.Stats()
	if st.Refreshes != 100 || st.APICalls != 900 || st.TokenRequests != 101 {
		t.Errorf("stats %+v", st)
	}
}

// TestErrorStatus: Doorkeeper 5.1.0 and later answer invalid_client (and,
// in 5.5 to 5.9, unauthorized_client) with 401 and every other error with
// 400 (ErrorResponse#status, lib/doorkeeper/oauth/error_response.rb);
// earlier versions answered 401 to everything. The error field is the same.
func TestErrorStatus(t *testing.T) {
	tests := []struct {
		name   string
		params url.Values
		want   string
		modern int
	}{
		{"invalid_request", url.Values{"grant_type": nil}, "invalid_request", 400},
		{"unsupported_grant_type", url.Values{"grant_type": {"password"}}, "unsupported_grant_type", 400},
		{"invalid_client", url.Values{"grant_type": {"refresh_token"}, "client_secret": {"nope"}}, "invalid_client", 401},
		{"invalid_grant", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, "invalid_grant", 400},
		{"invalid_scope", url.Values{"grant_type": {"refresh_token"}, "scope": {"write_everything"}}, "invalid_scope", 400},
	}
	for _, legacy := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/legacy=%v", tt.name, legacy), func(t *testing.T) {
				h := newHarness(t, jumpsellerLike())
				h.srv.SetLegacyErrorStatus(legacy)
				_, rt := h.tokens()
				p := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
				for k, v := range tt.params {
					if v == nil {
						p.Del(k)
					} else {
						p[k] = v
					}
				}
				want := outcome{tt.modern, tt.want}
				if legacy {
					want.Status = 401
				}
				if diff := cmp.Diff(want, outcomeOf(h.post(simulator.TokenPath, p))); diff != "" {
					t.Errorf("mismatch (-want +got):\n%s", diff)
				}
				if h.srv.Config().LegacyErrorStatus != legacy {
					t.Errorf("Config().LegacyErrorStatus = %v, want %v", !legacy, legacy)
				}
			})
		}
	}
}
