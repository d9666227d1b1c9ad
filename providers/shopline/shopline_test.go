package shopline_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/internal/providertest"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/simulator"
)

const (
	clientID     = "your_client_id"
	clientSecret = "your_client_secret"
	redirectURL  = "https://my-awesome-app.shoplineapp.com/oauth_callback"
)

// documentedAnswer is the "example response payload" of Token Exchange.
const documentedAnswer = `{
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJkZTNjOWJkOGU3MGQwNWYzOTk2Mjc0Mjc2NzYwYWFkNiIsImRhdGEiOnsibWVyY2hhbnRfaWQiOiI1ZjBiZGE1ZTRlNWZjYTAwMTBjODFmZWYiLCJhcHBsaWNhdGlvbl9pZCI6IjYzNWE1ODE3ZmQ4NTFiMDAwZDJmNTk0ZCJ9LCJpc3MiOiJodHRwczovL2RldmVsb3BlcnMuc2hvcGxpbmVhcHAuY29tIiwiYXVkIjpbXSwic3ViIjoiNWYwYmRhNWU0ZTVmY2EwMDEwYzgxZmVmIn0.lEsz0R_VOBwKwLmI9x5X4MDlzeVX3ptY4jtLXsqX2eM",
    "token_type": "Bearer",
    "expires_in": 15778476,
    "refresh_token": "bc2c3d3f1ce8776d2f358e74683e275d68dc8fea2c78a2c2080d9014c5730879",
    "scope": "products orders",
    "created_at": 1678956849,
    "resource_owner_id": "5f0bda5e4e5fca0010c81fef"
}`

// app is the client application of the tests, with the credentials of the
// Token Exchange example.
var app = providertest.App{
	ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
	Scopes:  []string{"products", "orders"},
	Now:     time.Unix(1678956850, 0),
	Consent: url.Values{"merchant_id": {"5e1d2c3b4a5f6e7d8c9b0a12"}},
}

// answer is what SHOPLINE answers on path: {} on /oauth/revoke, the
// documented answer elsewhere.
func answer(path string) string {
	if path == "/oauth/revoke" {
		return "{}"
	}
	return documentedAnswer
}

func TestRegistered(t *testing.T) {
	providertest.Registered(t, "shopline", shopline.Provider)
}

func TestWireRequests(t *testing.T) {
	prev := &driver.Token{AccessToken: "old-access", RefreshToken: "bc2c3d3f1ce8776d2f358e74683e275d68dc8fea2c78a2c2080d9014c5730879", AccountID: "5f0bda5e4e5fca0010c81fef"}
	tests := []struct {
		name string
		run  func(*driver.Env) error
		want providertest.Request
	}{
		{"exchange is JSON with the credentials inside", func(e *driver.Env) error {
			_, err := driver.StandardExchange(context.Background(), e, "69a801d873305eca0245ef951687c491bf81a79421b10a4f42743b1ff3e85da0")
			return err
		}, providertest.Request{Method: "POST", Path: "/oauth/token", ContentType: "application/json", Accept: "application/json",
			Params: map[string]string{
				"code": "69a801d873305eca0245ef951687c491bf81a79421b10a4f42743b1ff3e85da0", "grant_type": "authorization_code",
				"client_id": clientID, "client_secret": clientSecret, "redirect_uri": redirectURL,
			}}},
		{"refresh carries redirect_uri", func(e *driver.Env) error {
			_, err := driver.StandardRefresh(context.Background(), e, prev)
			return err
		}, providertest.Request{Method: "POST", Path: "/oauth/token", ContentType: "application/json", Accept: "application/json",
			Params: map[string]string{
				"grant_type": "refresh_token", "refresh_token": prev.RefreshToken,
				"client_id": clientID, "client_secret": clientSecret, "redirect_uri": redirectURL,
			}}},
		{"revoke is JSON with Basic", func(e *driver.Env) error {
			return driver.StandardRevoke(context.Background(), e, prev)
		}, providertest.Request{Method: "POST", Path: "/oauth/revoke", ContentType: "application/json", Accept: "application/json",
			Basic:  []string{clientID, clientSecret},
			Params: map[string]string{"token": prev.RefreshToken}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := providertest.Record(t, answer)
			e := app.Env(shopline.Provider, rec.Client(), driver.Endpoint{TokenURL: rec.URL + "/oauth/token", RevokeURL: rec.URL + "/oauth/revoke"})
			if err := tt.run(e); err != nil {
				t.Fatal(err)
			}
			rec.Expect(t, tt.want)
		})
	}
}

func TestParseToken(t *testing.T) {
	now := app.Now
	issued := time.Unix(1678956849, 0)
	documented := &driver.Token{
		AccessToken:  "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJkZTNjOWJkOGU3MGQwNWYzOTk2Mjc0Mjc2NzYwYWFkNiIsImRhdGEiOnsibWVyY2hhbnRfaWQiOiI1ZjBiZGE1ZTRlNWZjYTAwMTBjODFmZWYiLCJhcHBsaWNhdGlvbl9pZCI6IjYzNWE1ODE3ZmQ4NTFiMDAwZDJmNTk0ZCJ9LCJpc3MiOiJodHRwczovL2RldmVsb3BlcnMuc2hvcGxpbmVhcHAuY29tIiwiYXVkIjpbXSwic3ViIjoiNWYwYmRhNWU0ZTVmY2EwMDEwYzgxZmVmIn0.lEsz0R_VOBwKwLmI9x5X4MDlzeVX3ptY4jtLXsqX2eM",
		TokenType:    "Bearer",
		RefreshToken: "bc2c3d3f1ce8776d2f358e74683e275d68dc8fea2c78a2c2080d9014c5730879",
		IssuedAt:     issued,
		Expiry:       issued.Add(15778476 * time.Second),
		Scopes:       []string{"products", "orders"},
		AccountID:    "5f0bda5e4e5fca0010c81fef",
	}
	replace := func(old, new string) string { return strings.Replace(documentedAnswer, old, new, 1) }
	with := func(f func(*driver.Token)) *driver.Token {
		c := documented.Clone()
		f(c)
		return c
	}
	tests := []struct {
		name     string
		grant    string
		status   int
		body     string
		want     *driver.Token
		wantCode driver.Code
		wantMsg  string
	}{
		{"documented answer", "authorization_code", 200, documentedAnswer, documented, 0, ""},
		{"token_type bearer", "authorization_code", 200, replace(`"Bearer"`, `"bearer"`), documented, 0, ""},
		{"token_type BEARER", "authorization_code", 200, replace(`"Bearer"`, `"BEARER"`), documented, 0, ""},
		{"token_type mac", "authorization_code", 200, replace(`"Bearer"`, `"mac"`), nil, driver.BadResponse, "not bearer"},
		{"numeric resource_owner_id", "authorization_code", 200, replace(`"5f0bda5e4e5fca0010c81fef"`, `12345`),
			with(func(t *driver.Token) { t.AccountID = "12345" }), 0, ""},
		{"no resource_owner_id", "refresh_token", 200, replace(`,
    "resource_owner_id": "5f0bda5e4e5fca0010c81fef"`, ``), with(func(t *driver.Token) { t.AccountID = "" }), 0, ""},
		{"extras kept, account lifted", "authorization_code", 200, replace(`"scope"`, `"staff_id": "s1", "scope"`),
			with(func(t *driver.Token) { t.Extra = map[string]any{"staff_id": "s1"} }), 0, ""},
		{"expired code names the 600 s", "authorization_code", 401,
			`{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}`,
			nil, driver.InvalidGrant, "authorization codes expire after 600 s"},
		{"bare invalid_grant on exchange", "authorization_code", 400, `{"error":"invalid_grant"}`,
			nil, driver.InvalidGrant, "authorization codes expire after 600 s"},
		{"invalid_grant on refresh is not about codes", "refresh_token", 401, `{"error":"invalid_grant"}`,
			nil, driver.InvalidGrant, "provider refused the request"},
		{"rate limited", "refresh_token", 429, `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`, nil, driver.Unavailable, ""},
		// A resource_owner_id that would forge a log line or a CLI listing.
		{"resource_owner_id with CR/LF", "authorization_code", 200, replace(`"5f0bda5e4e5fca0010c81fef"`, `"m1\r\nX-Injected: 1"`),
			nil, driver.BadResponse, `shopline exchange: account id "m1\r\nX-Injected: 1" holds a control character at byte 2 (status 200`},
		{"resource_owner_id with an ANSI escape", "refresh_token", 200, replace(`"5f0bda5e4e5fca0010c81fef"`, `"\u001b[31mm1"`),
			nil, driver.BadResponse, `shopline refresh: account id "\x1b[31mm1" holds a control character at byte 0`},
		{"resource_owner_id with U+202E", "authorization_code", 200, replace(`"5f0bda5e4e5fca0010c81fef"`, `"m1\u202e"`),
			nil, driver.BadResponse, `account id "m1\u202e" holds a format character`},
		{"resource_owner_id of 257 bytes", "authorization_code", 200, replace(`"5f0bda5e4e5fca0010c81fef"`, `"`+strings.Repeat("a", 257)+`"`),
			nil, driver.BadResponse, "is 257 bytes long, more than 256"},
		{"expires_in 0", "refresh_token", 200, replace(`15778476`, `0`),
			nil, driver.BadResponse, "expires_in is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &driver.TokenResponse{Grant: tt.grant, Status: tt.status, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				Body: []byte(tt.body), Now: now, Requested: []string{"ignored"}}
			got, err := shopline.Provider.ParseToken(r)
			if code := driver.CodeOf(err); code != tt.wantCode {
				t.Fatalf("error code %v, want %v (error %v)", code, tt.wantCode, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Token (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	// No verified scope list: anything goes, SHOPLINE decides.
	for _, s := range [][]string{{"products", "orders"}, {"merchants", "staffs"}, {"anything_at_all"}} {
		if err := driver.ValidateScopes(shopline.Provider.Spec(), s); err != nil {
			t.Errorf("ValidateScopes(%v) = %v", s, err)
		}
	}
}

func TestSimulatorFlow(t *testing.T) {
	s := providertest.Serve(t, shopline.Provider, app)
	tok := s.Authorized(t)
	if tok.AccountID != shopline.SimulatorMerchant.ID {
		t.Errorf("AccountID = %q, want %q", tok.AccountID, shopline.SimulatorMerchant.ID)
	}
	if diff := cmp.Diff([]string{"products", "orders"}, tok.Scopes); diff != "" {
		t.Errorf("Scopes (-want +got):\n%s", diff)
	}
	if got := tok.Lifetime(); got != 15778476*time.Second {
		t.Errorf("Lifetime = %v", got)
	}
	// The access token is a JWT without exp.
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT")
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(claims, &c); err != nil || c["sub"] != shopline.SimulatorMerchant.ID || c["exp"] != nil {
		t.Errorf("JWT claims %s", claims)
	}
	// Identify needs no API call when the answer names the merchant.
	before := s.Srv.Stats().APICalls
	if acct, err := shopline.Provider.Identify(context.Background(), s.Env, tok); err != nil || acct != shopline.SimulatorMerchant.ID {
		t.Errorf("Identify = %q, %v", acct, err)
	}
	if s.Srv.Stats().APICalls != before {
		t.Error("Identify called the API although the token names the merchant")
	}
	nt, err := driver.StandardRefresh(context.Background(), s.Env, tok)
	if err != nil {
		t.Fatal(err)
	}
	if nt.RefreshToken == tok.RefreshToken || nt.AccountID != tok.AccountID {
		t.Errorf("refresh: rotated %v, account %q", nt.RefreshToken != tok.RefreshToken, nt.AccountID)
	}
	if err := driver.StandardRevoke(context.Background(), s.Env, nt); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if s.Srv.ValidAccessToken(nt.AccessToken) || s.Srv.Stats().Revokes != 1 {
		t.Error("revocation did not reach the simulator")
	}
}

func TestIdentifyThroughTokenInfo(t *testing.T) {
	tests := []struct {
		name     string
		fault    *simulator.Fault
		token    string
		want     string
		wantCode driver.Code
	}{
		{"merchant id", nil, "", shopline.SimulatorMerchant.ID, 0},
		{"unknown token", nil, "nope", "", driver.ProviderError},
		{"429", &simulator.Fault{Path: "/api/", Status: 429, Body: `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`}, "", "", driver.Unavailable},
		{"no merchant", &simulator.Fault{Path: "/api/", Status: 200, Body: `{"scope":[]}`}, "", "", driver.BadResponse},
		{"merchant object only", &simulator.Fault{Path: "/api/", Status: 200, Body: `{"merchant":{"_id":"abc"}}`}, "", "abc", 0},
		{"merchant id with a newline", &simulator.Fault{Path: "/api/", Status: 200, Body: `{"merchant_id":"m1\nroot"}`}, "", "", driver.BadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := providertest.Serve(t, shopline.Provider, app)
			tok := s.Authorized(t)
			tok.AccountID = ""
			got, err := s.Identify(tok, tt.token, tt.fault)
			if code := driver.CodeOf(err); code != tt.wantCode || got != tt.want {
				t.Errorf("Identify = %q, %v (code %v); want %q, code %v", got, err, code, tt.want, tt.wantCode)
			}
		})
	}
}

// TestSimulatorRefusesWrongQuirks shows that a driver that gets a SHOPLINE
// quirk wrong fails against the simulator.
func TestSimulatorRefusesWrongQuirks(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*driver.Spec)
		op     string
		want   driver.Code
	}{
		{"form body", func(s *driver.Spec) { s.Token.Format = driver.Form }, "exchange", driver.InvalidConfig},
		{"credentials in Basic", func(s *driver.Spec) { s.Token.Auth = driver.Basic }, "exchange", driver.InvalidClient},
		{"refresh without redirect_uri", func(s *driver.Spec) { s.RefreshSendsRedirectURI = false }, "refresh", driver.InvalidConfig},
		{"revoke with credentials in the body", func(s *driver.Spec) { s.Revoke.Auth = driver.InBody }, "revoke", driver.InvalidClient},
		{"revoke as a form", func(s *driver.Spec) { s.Revoke.Format = driver.Form }, "revoke", driver.InvalidConfig},
		{"API without User-Agent", func(s *driver.Spec) { s.APIHeaders = nil }, "api", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := providertest.Serve(t, shopline.Provider, app)
			tok := s.Authorized(t)
			s.Env.Provider = providertest.Mutated(shopline.Provider, tt.mutate)
			var err error
			switch tt.op {
			case "exchange":
				_, err = s.Authorize(t)
			case "refresh":
				_, err = driver.StandardRefresh(context.Background(), s.Env, tok)
			case "revoke":
				err = driver.StandardRevoke(context.Background(), s.Env, tok)
			case "api":
				resp, _ := s.Get(t, "merchants", tok.AccessToken, nil)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("API without User-Agent: %d, want 400", resp.StatusCode)
				}
				return
			}
			if code := driver.CodeOf(err); code != tt.want {
				t.Errorf("code %v, want %v (error %v)", code, tt.want, err)
			}
			var e *driver.Error
			if errors.As(err, &e) && e.Status == 0 {
				t.Errorf("error without a status: %v", err)
			}
		})
	}
}

func TestSimulatorMerchantID(t *testing.T) {
	if len(shopline.SimulatorMerchant.ID) != 24 || strings.Trim(shopline.SimulatorMerchant.ID, "0123456789abcdef") != "" {
		t.Errorf("merchant id %q is not 24 hex digits", shopline.SimulatorMerchant.ID)
	}
}

func TestSimulatorAPI(t *testing.T) {
	s := providertest.Serve(t, shopline.Provider, app)
	tok := s.Authorized(t)
	tests := []struct {
		path string
		want int
	}{
		{"token/info", 200},
		{"merchants", 200},
		{"merchants/" + shopline.SimulatorMerchant.ID, 200},
		{"merchants/000000000000000000000000", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := s.Get(t, tt.path, tok.AccessToken, http.Header{"User-Agent": {shopline.UserAgent}})
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 200 && !strings.Contains(string(body), shopline.SimulatorMerchant.ID) {
				t.Errorf("answer does not name the merchant: %s", body)
			}
		})
	}
}

func TestCodeExpiryThroughSimulator(t *testing.T) {
	s := providertest.Serve(t, shopline.Provider, app)
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	s.Srv.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURL}, "response_type": {"code"}, "scope": {"products"}}
	u, err := s.Srv.Approve(s.Env.Config.Endpoint.AuthURL + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(601 * time.Second)
	mu.Unlock()
	_, err = driver.StandardExchange(context.Background(), s.Env, u.Query().Get("code"))
	if driver.CodeOf(err) != driver.InvalidGrant || !strings.Contains(err.Error(), "expire after 600 s") {
		t.Errorf("expired code: %v", err)
	}
}
