package profile_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
)

// simHarness serves one catalog profile's simulator with a client and an
// approved code.
type simHarness struct {
	t   *testing.T
	p   *profile.Profile
	sim *profile.Simulator
	srv *httptest.Server
	cb  url.Values // the callback's query
}

func newSimHarness(t *testing.T, name string) *simHarness {
	t.Helper()
	p, err := profile.Lookup(name).Example().Bind(map[string]string{"client_id": "cid"})
	if err != nil {
		t.Fatal(err)
	}
	h := &simHarness{t: t, p: p, sim: p.Simulator()}
	h.srv = httptest.NewServer(h.sim)
	t.Cleanup(h.srv.Close)
	h.sim.AddClient("cid", "secret-0123456789", h.srv.URL+"/cb")
	q := url.Values{"client_id": {"cid"}, "redirect_uri": {h.srv.URL + "/cb"}, "response_type": {"code"},
		"state": {"state-0123456789"}, "scope": {strings.Join(p.Scopes.Default, p.Authorize.ScopeSeparator)}}
	for k, v := range p.Spec().AuthParams {
		q[k] = v
	}
	red, err := h.sim.Approve(h.srv.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	h.cb = red.Query()
	return h
}

// post sends params to path in the content type ctype ("json", "form",
// "multipart") and returns the status and the decoded JSON answer.
func (h *simHarness) post(path, ctype string, params url.Values, header http.Header) (int, map[string]any) {
	h.t.Helper()
	var body io.Reader
	var ct string
	switch ctype {
	case "json":
		m := map[string]string{}
		for k := range params {
			m[k] = params.Get(k)
		}
		b, _ := json.Marshal(m)
		body, ct = strings.NewReader(string(b)), "application/json"
	default:
		body, ct = strings.NewReader(params.Encode()), "application/x-www-form-urlencoded"
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, body)
	req.Header.Set("Content-Type", ct)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (h *simHarness) exchange(extra url.Values) url.Values {
	p := url.Values{"grant_type": {"authorization_code"}, "code": {h.cb.Get("code")}, "redirect_uri": {h.srv.URL + "/cb"},
		"client_id": {"cid"}, "client_secret": {"secret-0123456789"}}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// TestSimulatorStrict: the translating simulator refuses what the
// profile's provider refuses.
func TestSimulatorStrict(t *testing.T) {
	cases := []struct {
		name    string
		profile string
		format  string
		params  func(h *simHarness) url.Values
		status  int
		errCode string
	}{
		{"Shopify/WithoutExpiring", "shopify", "json", func(h *simHarness) url.Values { return h.exchange(nil) }, 400, "invalid_request"},
		{"Shopify/Expiring", "shopify", "json", func(h *simHarness) url.Values { return h.exchange(url.Values{"expiring": {"1"}}) }, 200, ""},
		{"Shopify/FormBody", "shopify", "form", func(h *simHarness) url.Values { return h.exchange(url.Values{"expiring": {"1"}}) }, 400, "invalid_request"},
		{"BigCommerce/WithoutContext", "bigcommerce", "json", func(h *simHarness) url.Values { return h.exchange(url.Values{"scope": {h.cb.Get("scope")}}) }, 400, "invalid_request"},
		{"BigCommerce/WrongContext", "bigcommerce", "json", func(h *simHarness) url.Values {
			return h.exchange(url.Values{"scope": {h.cb.Get("scope")}, "context": {"stores/other"}})
		}, 400, "invalid_request"},
		{"BigCommerce/Context", "bigcommerce", "json", func(h *simHarness) url.Values {
			return h.exchange(url.Values{"scope": {h.cb.Get("scope")}, "context": {h.cb.Get("context")}})
		}, 200, ""},
		{"Tiendanube/Refresh", "tiendanube", "json", func(h *simHarness) url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"cid"}, "client_secret": {"secret-0123456789"}}
		}, 400, "unsupported_grant_type"},
		{"Ecwid/JSONBody", "ecwid", "json", func(h *simHarness) url.Values { return h.exchange(nil) }, 400, "invalid_request"},
		{"Ecwid/Form", "ecwid", "form", func(h *simHarness) url.Values { return h.exchange(nil) }, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newSimHarness(t, tc.profile)
			st, ans := h.post("/oauth/token", tc.format, tc.params(h), nil)
			if st != tc.status || (tc.errCode != "" && ans["error"] != tc.errCode) {
				t.Errorf("status %d %v, want %d %s", st, ans, tc.status, tc.errCode)
			}
		})
	}
}

// TestSimulatorAnswers: token answers carry the profile's own fields.
func TestSimulatorAnswers(t *testing.T) {
	cases := []struct {
		profile string
		format  string
		extra   url.Values
		has     []string
		hasNot  []string
	}{
		{"square", "json", nil, []string{"access_token", "expires_at", "merchant_id", "refresh_token", "token_type"}, []string{"expires_in", "created_at", "scope"}},
		{"tiendanube", "json", nil, []string{"access_token", "user_id", "token_type"}, []string{"expires_in", "refresh_token", "created_at"}},
		{"shopify", "json", url.Values{"expiring": {"1"}}, []string{"access_token", "expires_in", "refresh_token", "scope"}, []string{"token_type", "created_at"}},
		{"mercadolibre", "form", nil, []string{"access_token", "expires_in", "user_id", "refresh_token", "scope"}, []string{"created_at"}},
		{"jumpseller", "form", nil, []string{"access_token", "expires_in", "created_at", "refresh_token"}, []string{"scope"}},
	}
	for _, tc := range cases {
		t.Run(tc.profile, func(t *testing.T) {
			h := newSimHarness(t, tc.profile)
			st, ans := h.post("/oauth/token", tc.format, h.exchange(tc.extra), nil)
			if st != 200 {
				t.Fatalf("status %d %v", st, ans)
			}
			for _, k := range tc.has {
				if _, ok := ans[k]; !ok {
					t.Errorf("answer lacks %s: %v", k, ans)
				}
			}
			for _, k := range tc.hasNot {
				if _, ok := ans[k]; ok {
					t.Errorf("answer has %s: %v", k, ans)
				}
			}
		})
	}
}

// TestSimulatorAPIHeader: the API takes the token only as the profile
// says.
func TestSimulatorAPIHeader(t *testing.T) {
	h := newSimHarness(t, "tiendanube")
	_, ans := h.post("/oauth/token", "json", h.exchange(nil), nil)
	tok, _ := ans["access_token"].(string)
	cases := []struct {
		name   string
		header http.Header
		status int
	}{
		{"AuthenticationBearer", http.Header{"Authentication": {"bearer " + tok}}, 200},
		{"AnyCasing", http.Header{"Authentication": {"BEARER " + tok}}, 200},
		{"AuthorizationBearer", http.Header{"Authorization": {"Bearer " + tok}}, 401},
		{"NoScheme", http.Header{"Authentication": {tok}}, 401},
		{"NoUserAgent", http.Header{"Authentication": {"bearer " + tok}, "User-Agent": {""}}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/api/v1/"+h.p.Sample.Account+"/store", nil)
			req.Header.Set("User-Agent", "test-app (dev@example.com)")
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := h.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

// TestSimulatorAuthorizeParams: an authorize URL without the profile's
// authorize parameters is refused.
func TestSimulatorAuthorizeParams(t *testing.T) {
	p := profile.Lookup("mercadopago").Example()
	sim := p.Simulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddClient("cid", "secret", srv.URL+"/cb")
	q := url.Values{"client_id": {"cid"}, "redirect_uri": {srv.URL + "/cb"}, "response_type": {"code"}, "state": {"s"}, "scope": {"read"}}
	if _, err := sim.Approve(srv.URL + "/oauth/authorize?" + q.Encode()); err == nil {
		t.Error("Approve accepted an authorize URL without platform_id=mp")
	}
	resp, err := srv.Client().Get(srv.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET authorize without platform_id: %d", resp.StatusCode)
	}
	q.Set("platform_id", "mp")
	if _, err := sim.Approve(srv.URL + "/oauth/authorize?" + q.Encode()); err != nil {
		t.Errorf("Approve with platform_id=mp: %v", err)
	}
}

// TestMultipart: a profile whose token requests are multipart sends them
// so (through the Exchanger and Refresher), and its simulator takes
// nothing else.
func TestMultipart(t *testing.T) {
	data := strings.Replace(minimal, "  format: form", "  format: multipart", 1)
	p, err := profile.Parse("acme.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	ex := p.Example()
	sim := ex.Simulator()
	if sim.Native() {
		t.Fatal("a multipart profile's simulator is native")
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddClient("cid", "secret-0123456789", srv.URL+"/cb")
	red, err := sim.Approve(srv.URL + "/oauth/authorize?" + url.Values{"client_id": {"cid"}, "redirect_uri": {srv.URL + "/cb"},
		"response_type": {"code"}, "state": {"s"}, "scope": {"read"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	drv := ex.Driver()
	env := &driver.Env{Provider: drv, HTTP: srv.Client(), Now: time.Now, Config: driver.Config{
		ClientID: "cid", ClientSecret: "secret-0123456789", RedirectURL: srv.URL + "/cb", Scopes: []string{"read"},
		Endpoint: sim.Endpoint(srv.URL)}}
	ctx := context.Background()
	// The engine's exchange today (driver.StandardExchange) sends a
	// urlencoded form, which this provider refuses.
	if _, err := driver.StandardExchange(ctx, env, red.Query().Get("code")); driver.CodeOf(err) != driver.InvalidConfig {
		t.Errorf("a urlencoded exchange: %v, want invalid_request (InvalidConfig)", err)
	}
	tok, err := drv.(profile.Exchanger).Exchange(ctx, env, red.Query())
	if err != nil {
		t.Fatalf("multipart Exchange: %v", err)
	}
	if tok.AccountID != ex.Sample.Account {
		t.Errorf("AccountID = %q", tok.AccountID)
	}
	nt, err := drv.(driver.Refresher).Refresh(ctx, env, tok)
	if err != nil {
		t.Fatalf("multipart Refresh: %v", err)
	}
	if nt.RefreshToken == tok.RefreshToken || !sim.ValidAccessToken(nt.AccessToken) {
		t.Error("the refresh did not rotate to valid tokens")
	}
}
