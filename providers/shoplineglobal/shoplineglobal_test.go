package shoplineglobal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/internal/providertest"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

const (
	appKey    = "test-app-key"
	appSecret = "test-app-secret-0123456789"
	callback  = "https://app.example/callback"
)

// now is the tests' clock: 2026-01-01T00:00:00Z.
var now = time.Unix(1767225600, 0).UTC()

// testApp is the test app, asking for read_products, for driver calls made
// without the engine.
var testApp = providertest.App{ClientID: appKey, ClientSecret: appSecret, RedirectURL: callback, Scopes: []string{"read_products"}, Now: now}

// documentedAnswer is the answer of token/create and token/refresh in
// SHOPLINE's envelope (shopline-sdk-go client/oauth_test.go), with a
// whole ISO 8601 expireTime.
const documentedAnswer = `{"code":200,"i18nCode":"SUCCESS","message":"ok","data":{"accessToken":"eyJhbGciOiJIUzUxMiJ9.eyJhcHBLZXkiOiJrIn0.c2ln","expireTime":"2026-01-01T10:00:00.000+00:00","scope":"read_products,read_orders"}}`

func shop(t *testing.T) driver.Provider {
	t.Helper()
	p, err := shoplineglobal.ForShop("open001")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRegistered(t *testing.T) {
	providertest.Registered(t, "shoplineglobal", shoplineglobal.Provider)
	if p := shoplineglobal.Provider; p.Spec().Endpoint != (driver.Endpoint{}) {
		t.Errorf("the unbound driver has endpoints: %+v", p.Spec().Endpoint)
	}
}

// TestSimulated: the registered driver's simulator plays SimulatorHandle,
// a bound driver's its own store; each is a fresh *Simulator.
func TestSimulated(t *testing.T) {
	for _, tt := range []struct {
		name   string
		p      driver.Provider
		handle string
	}{
		{"registered", shoplineglobal.Provider, shoplineglobal.SimulatorHandle},
		{"bound", must(shoplineglobal.ForShop("shop-7")), "shop-7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := tt.p.(driver.Simulated)
			if !ok {
				t.Fatal("the driver does not implement driver.Simulated")
			}
			a, b := s.NewSimulator(), s.NewSimulator()
			sim, ok := a.(*shoplineglobal.Simulator)
			if !ok || a == b {
				t.Fatalf("NewSimulator() = %T (fresh: %v), want a fresh *shoplineglobal.Simulator", a, a != b)
			}
			if d := cmp.Diff(tt.handle, sim.Config().AccountID); d != "" {
				t.Errorf("the simulated store (-want +got):\n%s", d)
			}
			if sim.ValidRefreshToken("") || sim.ValidRefreshToken("anything") {
				t.Error("ValidRefreshToken accepts a token, but SHOPLINE issues none")
			}
		})
	}
}

func must(p driver.Provider, err error) driver.Provider {
	if err != nil {
		panic(err)
	}
	return p
}

func TestForShop(t *testing.T) {
	p := shop(t)
	want := driver.Endpoint{
		AuthURL:    "https://open001.myshopline.com/admin/oauth-web/#/oauth/authorize",
		TokenURL:   "https://open001.myshopline.com/admin/oauth/token/create",
		RefreshURL: "https://open001.myshopline.com/admin/oauth/token/refresh",
		APIBaseURL: "https://open001.myshopline.com/admin/openapi/v20251201/",
	}
	if d := cmp.Diff(want, p.Spec().Endpoint); d != "" {
		t.Errorf("endpoints (-want +got):\n%s", d)
	}
	if p.Spec() != p.Spec() || shoplineglobal.Handle(p) != "open001" {
		t.Error("Spec or Handle unstable")
	}
	for _, h := range []string{"", "Open001", "open001.evil.example", "a/b", "-x", "x-", "shop@evil", strings.Repeat("a", 64), "a b", "a%2eb"} {
		if _, err := shoplineglobal.ForShop(h); driver.CodeOf(err) != driver.InvalidConfig {
			t.Errorf("ForShop(%q) = %v, want invalid_config", h, err)
		}
	}
}

// newConnector returns a connector of the store open001 for the test app,
// with the tests' clock, pointed at ep.
func newConnector(t *testing.T, ep driver.Endpoint) *connector.Connector {
	t.Helper()
	c, err := connector.NewWithDriver(shop(t), connector.Options{ClientID: appKey, ClientSecret: appSecret, RedirectURL: callback,
		Scopes: []string{"read_products", "read_orders"}, Endpoint: ep, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAuthURL: the engine's AuthURL is SHOPLINE's page, through the
// driver's Authorizer, with every value the engine's; the state
// AuthURLState returns is the page's customField.
func TestAuthURL(t *testing.T) {
	tests := []struct {
		name   string
		ep     driver.Endpoint
		req    connector.AuthRequest
		prefix string
		extra  url.Values
	}{
		{name: "documented page", prefix: "https://open001.myshopline.com/admin/oauth-web/#/oauth/authorize?"},
		{name: "page without its fragment (a simulator)", ep: driver.Endpoint{AuthURL: "http://127.0.0.1:8080/admin/oauth-web/"},
			prefix: "http://127.0.0.1:8080/admin/oauth-web/#/oauth/authorize?"},
		{name: "application parameters kept", req: connector.AuthRequest{Params: url.Values{"lang": {"en"}}},
			prefix: "https://open001.myshopline.com/admin/oauth-web/#/oauth/authorize?", extra: url.Values{"lang": {"en"}}},
		{name: "scopes of the authorization", req: connector.AuthRequest{Scopes: []string{"read_customers"}},
			prefix: "https://open001.myshopline.com/admin/oauth-web/#/oauth/authorize?", extra: url.Values{"scope": {"read_customers"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConnector(t, tc.ep)
			got, state, err := c.AuthURLState(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tc.prefix) {
				t.Fatalf("AuthURL = %s, want it to start with %s", got, tc.prefix)
			}
			q, err := url.ParseQuery(strings.TrimPrefix(got, tc.prefix))
			if err != nil {
				t.Fatal(err)
			}
			if len(state) < 32 || q.Get("customField") != state {
				t.Errorf("customField %q is not the engine's state %q", q.Get("customField"), state)
			}
			want := url.Values{
				"appKey": {appKey}, "responseType": {"code"}, "redirectUri": {callback},
				"scope": {"read_products,read_orders"}, "customField": q["customField"],
			}
			for k, v := range tc.extra {
				want[k] = v
			}
			if d := cmp.Diff(want, q); d != "" {
				t.Errorf("authorize parameters (-want +got):\n%s", d)
			}
		})
	}
}

// signedCallback is SHOPLINE's redirect to the app for code and state,
// signed with secret at ts.
func signedCallback(secret, code, state string, ts time.Time) url.Values {
	q := url.Values{"appkey": {appKey}, "code": {code}, "handle": {"open001"}, "customField": {state},
		"timestamp": {strconv.FormatInt(ts.UnixMilli(), 10)}}
	q.Set("sign", shoplineglobal.SignQuery(secret, q))
	return q
}

// TestHandleCallback: the engine's HandleCallback reads SHOPLINE's
// callback through the driver's CallbackReader; a callback SHOPLINE did not
// sign is refused before the state is spent, one too old after, and
// neither reaches the token endpoint.
func TestHandleCallback(t *testing.T) {
	stateOf := func(t *testing.T, c *connector.Connector) string {
		t.Helper()
		u, err := c.AuthURL(connector.AuthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		_, query, _ := strings.Cut(u, "?")
		q, _ := url.ParseQuery(query)
		return q.Get("customField")
	}
	tests := []struct {
		name      string
		callback  func(state string) url.Values
		code      driver.Code // 0: connected
		stateLeft bool        // the state still works afterwards
	}{
		{name: "signed", callback: func(st string) url.Values { return signedCallback(appSecret, "abc123", st, now) }},
		{name: "signed a minute ago", callback: func(st string) url.Values { return signedCallback(appSecret, "abc123", st, now.Add(-time.Minute)) }},
		{name: "no sign", callback: func(st string) url.Values {
			q := signedCallback(appSecret, "abc123", st, now)
			q.Del("sign")
			return q
		}, code: driver.InvalidState, stateLeft: true},
		{name: "signed with another secret", callback: func(st string) url.Values { return signedCallback("other-secret", "abc123", st, now) },
			code: driver.InvalidState, stateLeft: true},
		{name: "code changed after signing", callback: func(st string) url.Values {
			q := signedCallback(appSecret, "abc123", st, now)
			q.Set("code", "attacker-code")
			return q
		}, code: driver.InvalidState, stateLeft: true},
		{name: "state given beside customField", callback: func(st string) url.Values {
			q := signedCallback(appSecret, "abc123", st, now)
			q.Set("state", "forged")
			return q
		}, code: driver.InvalidState, stateLeft: true},
		{name: "another app key", callback: func(st string) url.Values {
			q := signedCallback(appSecret, "abc123", st, now)
			q.Set("appkey", "other-app")
			q.Set("sign", shoplineglobal.SignQuery(appSecret, q))
			return q
		}, code: driver.InvalidState, stateLeft: true},
		{name: "timestamp 11 minutes ahead", callback: func(st string) url.Values { return signedCallback(appSecret, "abc123", st, now.Add(11*time.Minute)) },
			code: driver.InvalidState, stateLeft: true},
		{name: "signed 11 minutes ago: the code expired", callback: func(st string) url.Values {
			return signedCallback(appSecret, "abc123", st, now.Add(-11*time.Minute))
		}, code: driver.InvalidGrant},
		{name: "unsigned refusal", callback: func(st string) url.Values {
			return url.Values{"error": {"access_denied"}, "customField": {st}}
		}, code: driver.AccessDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := record(t)
			c := newConnector(t, tokenEndpoint(rec.URL))
			st := stateOf(t, c)
			conn, err := c.HandleCallback(context.Background(), tc.callback(st))
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("HandleCallback: %v", err)
				}
				if d := cmp.Diff([]string{"/admin/oauth/token/create"}, paths(rec.Requests())); d != "" {
					t.Errorf("requests (-want +got):\n%s", d)
				}
				if conn.Info().Account != "open001" {
					t.Errorf("account %q, want open001", conn.Info().Account)
				}
				return
			}
			if driver.CodeOf(err) != tc.code {
				t.Fatalf("HandleCallback = %v, want code %v", err, tc.code)
			}
			if strings.Contains(err.Error(), appSecret) || strings.Contains(err.Error(), "abc123") {
				t.Errorf("the error holds a secret: %v", err)
			}
			if n := len(rec.Requests()); n != 0 {
				t.Errorf("%d token requests for a refused callback", n)
			}
			_, err = c.HandleCallback(context.Background(), signedCallback(appSecret, "abc123", st, now))
			if tc.stateLeft && err != nil {
				t.Errorf("the state was spent by the refused callback: %v", err)
			} else if !tc.stateLeft && driver.CodeOf(err) != driver.InvalidState {
				t.Errorf("the state was not spent: %v", err)
			}
		})
	}
}

func paths(rs []request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}

// request is what the tests read of a request to the token endpoint: the
// headers SHOPLINE signs a request with, and the body as sent.
type request struct {
	Method, Path, ContentType, AppKey, Timestamp, Sign, Authorization, Body string
}

// record starts a token endpoint that answers every request with
// documentedAnswer and records it.
func record(t *testing.T) *providertest.Recorder[request] {
	t.Helper()
	return providertest.RecordWith(t, func(string) string { return documentedAnswer }, func(r *http.Request, body []byte) request {
		return request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("appkey"),
			r.Header.Get("timestamp"), r.Header.Get("sign"), r.Header.Get("Authorization"), string(body)}
	})
}

// tokenEndpoint is the token and refresh endpoints of SHOPLINE's paths at
// base.
func tokenEndpoint(base string) driver.Endpoint {
	return driver.Endpoint{TokenURL: base + "/admin/oauth/token/create", RefreshURL: base + "/admin/oauth/token/refresh"}
}

func TestWireRequests(t *testing.T) {
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	p := shop(t)
	rec := record(t)
	env := testApp.Env(p, rec.Client(), tokenEndpoint(rec.URL))
	tok, err := p.(driver.Exchanger).Exchange(context.Background(), env, url.Values{"code": {"abc123"}, "handle": {"open001"}, "state": {"s"}})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccountID != "open001" || tok.RefreshToken != "" {
		t.Errorf("exchanged token: account %q, refresh token %q; want open001 and none", tok.AccountID, tok.RefreshToken)
	}
	nt, err := p.(driver.Refresher).Refresh(context.Background(), env, tok)
	if err != nil {
		t.Fatal(err)
	}
	if nt.AccountID != "open001" {
		t.Errorf("refreshed token: account %q", nt.AccountID)
	}
	want := []request{
		{"POST", "/admin/oauth/token/create", "application/json", appKey, ms, shoplineglobal.Sign(appSecret, `{"code":"abc123"}`, ms), "", `{"code":"abc123"}`},
		{"POST", "/admin/oauth/token/refresh", "application/json", appKey, ms, shoplineglobal.Sign(appSecret, "", ms), "", ""},
	}
	rec.Expect(t, want...)
	for _, r := range rec.Requests() {
		if strings.Contains(r.Body+r.Sign, appSecret) {
			t.Errorf("the app secret was sent: %+v", r)
		}
	}
}

func TestExchangeRefusesAnotherStore(t *testing.T) {
	p := shop(t)
	rec := record(t)
	env := testApp.Env(p, rec.Client(), tokenEndpoint(rec.URL))
	_, err := p.(driver.Exchanger).Exchange(context.Background(), env, url.Values{"code": {"abc"}, "handle": {"evil"}})
	if driver.CodeOf(err) != driver.InvalidGrant {
		t.Errorf("Exchange for another store = %v, want invalid_grant", err)
	}
	_, err = p.(driver.Refresher).Refresh(context.Background(), env, &driver.Token{AccessToken: "a", AccountID: "evil"})
	if driver.CodeOf(err) != driver.InvalidConfig {
		t.Errorf("Refresh of another store's token = %v, want invalid_config", err)
	}
	if n := len(rec.Requests()); n != 0 {
		t.Errorf("%d requests sent for another store", n)
	}
}

func TestParseToken(t *testing.T) {
	p := shop(t)
	tests := []struct {
		name   string
		grant  string
		status int
		body   string
		want   *driver.Token
		code   driver.Code
	}{
		{name: "documented", status: 200, body: documentedAnswer, want: &driver.Token{AccessToken: "eyJhbGciOiJIUzUxMiJ9.eyJhcHBLZXkiOiJrIn0.c2ln",
			TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(10 * time.Hour), Scopes: []string{"read_products", "read_orders"}}},
		{name: "zone-less expireTime, string code", status: 200, body: `{"code":"200","data":{"accessToken":"a1","expireTime":"2026-01-01T05:30:00"}}`,
			want: &driver.Token{AccessToken: "a1", TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(330 * time.Minute), Scopes: []string{"read_products"}}},
		{name: "bare date", status: 200, body: `{"code":200,"data":{"accessToken":"a1","expireTime":"2026-01-02","scope":"read_orders"}}`,
			want: &driver.Token{AccessToken: "a1", TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(24 * time.Hour), Scopes: []string{"read_orders"}}},
		{name: "no expireTime: documented default", status: 200, body: `{"code":200,"data":{"accessToken":"a1","shopId":7}}`,
			want: &driver.Token{AccessToken: "a1", TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(shoplineglobal.AccessTokenLifetime),
				Scopes: []string{"read_products"}, Extra: map[string]any{"shopId": jsonNumber("7")}}},
		{name: "expireTime passed", status: 200, body: `{"code":200,"data":{"accessToken":"a1","expireTime":"2025-12-31T23:00:00Z"}}`, code: driver.BadResponse},
		{name: "expireTime not a date", status: 200, body: `{"code":200,"data":{"accessToken":"a1","expireTime":"tomorrow"}}`, code: driver.BadResponse},
		{name: "no accessToken", status: 200, body: `{"code":200,"data":{"expireTime":"2026-01-01T10:00:00Z"}}`, code: driver.BadResponse},
		{name: "non-bearer type", status: 200, body: `{"code":200,"data":{"accessToken":"a1","tokenType":"mac"}}`, code: driver.BadResponse},
		{name: "data null", status: 200, body: `{"code":200,"data":null}`, code: driver.BadResponse},
		{name: "CRLF in the token", status: 200, body: `{"code":200,"data":{"accessToken":"a\r\nX: 1"}}`, code: driver.BadResponse},
		{name: "refused signature", status: 401, body: `{"code":401,"i18nCode":"X","message":"sign","data":null}`, code: driver.InvalidClient},
		{name: "refused signature inside 200", status: 200, body: `{"code":403,"message":"no"}`, code: driver.InvalidClient},
		{name: "refused code", status: 400, body: `{"code":400,"message":"code invalid","data":null}`, code: driver.InvalidGrant},
		{name: "refused refresh", grant: "refresh_token", status: 400, body: `{"code":400,"data":null}`, code: driver.InvalidGrant},
		{name: "rate limit", status: 429, body: `{"errors":"Too Many Requests"}`, code: driver.Unavailable},
		{name: "server error", status: 500, body: `{"code":"500","i18nCode":"error","message":"error"}`, code: driver.Unavailable},
		{name: "RFC 6749 error", status: 200, body: `{"error":"server_error"}`, code: driver.Unavailable},
		{name: "HTML", status: 502, body: `<html>bad gateway</html>`, code: driver.Unavailable},
		{name: "Doorkeeper answer", status: 200, body: `{"access_token":"a1","token_type":"Bearer","expires_in":3600}`, code: driver.BadResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			grant := tc.grant
			if grant == "" {
				grant = "authorization_code"
			}
			r := &driver.TokenResponse{Grant: grant, Status: tc.status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: []byte(tc.body), Now: now, Requested: []string{"read_products"}}
			tok, err := p.ParseToken(r)
			if tc.want == nil {
				if driver.CodeOf(err) != tc.code {
					t.Fatalf("ParseToken = %v, %v; want code %v", tok, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, tok); d != "" {
				t.Errorf("token (-want +got):\n%s", d)
			}
		})
	}
}

// TestSimulatorSignature: the simulator refuses what SHOPLINE refuses,
// with 401 in SHOPLINE's envelope, and counts each request.
func TestSimulatorSignature(t *testing.T) {
	sim := shoplineglobal.NewSimulator("open001")
	sim.SetClock(func() time.Time { return now })
	sim.AddClient(appKey, appSecret, callback)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	stale := strconv.FormatInt(now.Add(-11*time.Minute).UnixMilli(), 10)
	post := func(path, body string, h map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	signed := func(body, ts, secret string) map[string]string {
		return map[string]string{"appkey": appKey, "timestamp": ts, "sign": shoplineglobal.Sign(secret, body, ts)}
	}
	tests := []struct {
		name, path, body string
		headers          map[string]string
		status           int
	}{
		{"wrong secret", "/admin/oauth/token/refresh", "", signed("", ms, "wrong"), 401},
		{"stale timestamp", "/admin/oauth/token/refresh", "", signed("", stale, appSecret), 401},
		{"no sign", "/admin/oauth/token/refresh", "", map[string]string{"appkey": appKey, "timestamp": ms}, 401},
		{"no appkey", "/admin/oauth/token/refresh", "", map[string]string{"timestamp": ms, "sign": shoplineglobal.Sign(appSecret, "", ms)}, 401},
		{"unknown appkey", "/admin/oauth/token/refresh", "", map[string]string{"appkey": "other", "timestamp": ms, "sign": shoplineglobal.Sign(appSecret, "", ms)}, 401},
		{"sign of another body", "/admin/oauth/token/create", `{"code":"x"}`, signed(`{"code":"y"}`, ms, appSecret), 401},
		{"refresh with a body", "/admin/oauth/token/refresh", `{}`, signed(`{}`, ms, appSecret), 400},
		{"create with more than the code", "/admin/oauth/token/create", `{"code":"x","grant_type":"authorization_code"}`,
			signed(`{"code":"x","grant_type":"authorization_code"}`, ms, appSecret), 400},
		{"unknown code", "/admin/oauth/token/create", `{"code":"x"}`, signed(`{"code":"x"}`, ms, appSecret), 400},
		{"refresh before any grant", "/admin/oauth/token/refresh", "", signed("", ms, appSecret), 400},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.path, tc.body, tc.headers)
			if status != tc.status || !strings.Contains(body, `"data":null`) {
				t.Errorf("status %d, body %s; want %d with SHOPLINE's envelope", status, body, tc.status)
			}
			if n := sim.Stats().TokenRequests; n != i+1 {
				t.Errorf("the simulator counted %d token requests, want %d", n, i+1)
			}
		})
	}

	// A whole authorization with a valid signature, then a refresh.
	c, err := connector.NewWithDriver(shop(t), connector.Options{ClientID: appKey, ClientSecret: appSecret, RedirectURL: callback,
		Scopes: []string{"read_products"}, Endpoint: sim.Endpoint(srv.URL), Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, err := c.AuthURL(connector.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Approve(strings.Replace(u, "#/oauth/authorize?", "?", 1)); err == nil {
		t.Error("the simulator took the parameters in the query")
	}
	redirect, err := sim.Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := shoplineglobal.VerifyQuery(appSecret, redirect.Query(), now); err != nil {
		t.Errorf("the simulator's callback does not verify: %v", err)
	}
	conn, err := c.HandleCallback(context.Background(), redirect.Query())
	if err != nil {
		t.Fatal(err)
	}
	if conn.Info().Account != "open001" || conn.ID() != "shoplineglobal:open001" {
		t.Errorf("connection %s of account %q", conn.ID(), conn.Info().Account)
	}
	tok, _ := conn.Token(context.Background())
	status, body := post("/admin/oauth/token/refresh", "", signed("", ms, appSecret))
	if status != 200 || !strings.Contains(body, `"accessToken"`) || strings.Contains(body, tok.AccessToken) || strings.Contains(body, "refresh") {
		t.Errorf("signed refresh: %d %s; want a new access token and no refresh token", status, body)
	}
}

func jsonNumber(s string) any { return json.Number(s) }
