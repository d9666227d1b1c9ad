package jumpseller_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/internal/providertest"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/simulator"
)

const (
	clientID     = "6e19c63534c711bd2ec82da2a4bcc80638c79223b6bad064ce81a8987ec49ecb"
	clientSecret = "bfab60ff47504b29bf2a29c4a8f30800286a36b590b1c36ce619f5255f43b0ef"
	redirectURL  = "http://localhost:8000/callback"
)

// documentedAnswer is the token answer of the OAuth guide ("The User
// receives the tokens").
const documentedAnswer = `{
"access_token":"80de978742714f8747036188cf6bab538e976adf72144d545e185ae444bc473d",
"token_type":"bearer",
"expires_in":3600,
"refresh_token":"86454df3e89cd34bd006ac68a76f6f2af884822ed68ce417777a4cffaae64b61",
"created_at":1502473092
}`

// app is the client application of the tests, with the OAuth guide's
// credentials.
var app = providertest.App{
	ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
	Scopes:  []string{"read_orders", "write_products"},
	Now:     time.Unix(1502473100, 0),
	Consent: url.Values{"state": {"state-0123456789abcdef0123456789abcdef"}},
}

func TestRegistered(t *testing.T) {
	providertest.Registered(t, "jumpseller", jumpseller.Provider)
}

func TestTokenRequests(t *testing.T) {
	prev := &driver.Token{AccessToken: "old-access", RefreshToken: "86454df3e89cd34bd006ac68a76f6f2af884822ed68ce417777a4cffaae64b61", AccountID: "yourstore"}
	tests := []struct {
		name string
		run  func(*driver.Env) (*driver.Token, error)
		want providertest.Request
	}{
		{"exchange", func(e *driver.Env) (*driver.Token, error) {
			return driver.StandardExchange(context.Background(), e, "f04bb200f5779644a65e0a174f49776004bc3de060a96f961f72c5835533d006")
		}, providertest.Request{Method: "POST", Path: "/oauth/token", ContentType: "application/x-www-form-urlencoded", Accept: "application/json",
			Params: map[string]string{
				"grant_type": "authorization_code", "client_id": clientID, "client_secret": clientSecret,
				"code": "f04bb200f5779644a65e0a174f49776004bc3de060a96f961f72c5835533d006", "redirect_uri": redirectURL,
			}}},
		{"refresh sends no redirect_uri", func(e *driver.Env) (*driver.Token, error) {
			return driver.StandardRefresh(context.Background(), e, prev)
		}, providertest.Request{Method: "POST", Path: "/oauth/token", ContentType: "application/x-www-form-urlencoded", Accept: "application/json",
			Params: map[string]string{
				"grant_type": "refresh_token", "client_id": clientID, "client_secret": clientSecret,
				"refresh_token": prev.RefreshToken,
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := providertest.Record(t, func(string) string { return documentedAnswer })
			e := app.Env(jumpseller.Provider, rec.Client(), driver.Endpoint{TokenURL: rec.URL + "/oauth/token"})
			if _, err := tt.run(e); err != nil {
				t.Fatal(err)
			}
			rec.Expect(t, tt.want)
		})
	}
}

func TestParseToken(t *testing.T) {
	now := app.Now
	requested := []string{"read_orders", "write_products"}
	issued := time.Unix(1502473092, 0)
	documented := &driver.Token{
		AccessToken:  "80de978742714f8747036188cf6bab538e976adf72144d545e185ae444bc473d",
		TokenType:    "Bearer",
		RefreshToken: "86454df3e89cd34bd006ac68a76f6f2af884822ed68ce417777a4cffaae64b61",
		IssuedAt:     issued,
		Expiry:       issued.Add(3600 * time.Second),
		Scopes:       requested,
	}
	withType := func(tt string) string {
		return strings.Replace(documentedAnswer, `"token_type":"bearer"`, `"token_type":"`+tt+`"`, 1)
	}
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		want     *driver.Token
		wantCode driver.Code
	}{
		{"documented answer", 200, "application/json; charset=utf-8", documentedAnswer, documented, 0},
		{"token_type BEARER", 200, "application/json", withType("BEARER"), documented, 0},
		{"token_type Bearer", 200, "application/json", withType("Bearer"), documented, 0},
		{"token_type mac", 200, "application/json", withType("mac"), nil, driver.BadResponse},
		{"no expires_in: one hour", 200, "application/json",
			`{"access_token":"a","token_type":"bearer","refresh_token":"r","created_at":1502473092}`,
			&driver.Token{AccessToken: "a", TokenType: "Bearer", RefreshToken: "r", IssuedAt: issued, Expiry: issued.Add(time.Hour), Scopes: requested}, 0},
		{"no created_at: local clock", 200, "application/json",
			`{"access_token":"a","token_type":"bearer","refresh_token":"r","expires_in":3600}`,
			&driver.Token{AccessToken: "a", TokenType: "Bearer", RefreshToken: "r", IssuedAt: now, Expiry: now.Add(time.Hour), Scopes: requested}, 0},
		{"extras kept", 200, "application/json",
			`{"access_token":"a","token_type":"bearer","expires_in":3600,"refresh_token":"r","created_at":1502473092,"store_id":"yourstore"}`,
			&driver.Token{AccessToken: "a", TokenType: "Bearer", RefreshToken: "r", IssuedAt: issued, Expiry: issued.Add(time.Hour), Scopes: requested,
				Extra: map[string]any{"store_id": "yourstore"}}, 0},
		{"invalid_grant in a 401", 401, "application/json", `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}`,
			nil, driver.InvalidGrant},
		{"invalid_client", 401, "application/json", `{"error":"invalid_client"}`, nil, driver.InvalidClient},
		{"HTML", 200, "text/html", `<html><body>Sign in</body></html>`, nil, driver.BadResponse},
		// Refused before anything is stored: a lifetime read as "never
		// expires", and tokens that would break the Authorization header.
		{"expires_in 0", 200, "application/json", `{"access_token":"a","token_type":"bearer","expires_in":0,"refresh_token":"r"}`, nil, driver.BadResponse},
		{"expires_in -1", 200, "application/json", `{"access_token":"a","token_type":"bearer","expires_in":-1,"refresh_token":"r"}`, nil, driver.BadResponse},
		{"CR/LF in access_token", 200, "application/json", `{"access_token":"a\r\nX-Injected: 1","token_type":"bearer","expires_in":3600}`, nil, driver.BadResponse},
		{"CR/LF in refresh_token", 200, "application/json", `{"access_token":"a","token_type":"bearer","expires_in":3600,"refresh_token":"r\r\n"}`, nil, driver.BadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &driver.TokenResponse{Grant: "authorization_code", Status: tt.status, Header: http.Header{"Content-Type": {tt.ctype}},
				Body: []byte(tt.body), Now: now, Requested: requested}
			got, err := jumpseller.Provider.ParseToken(r)
			if code := driver.CodeOf(err); code != tt.wantCode {
				t.Fatalf("error code %v, want %v (error %v)", code, tt.wantCode, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Token (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	spec := jumpseller.Provider.Spec()
	tests := []struct {
		name      string
		requested []string
		want      driver.Code
	}{
		{"documented example", []string{"read_orders", "write_products", "read_customers", "write_promotions"}, 0},
		{"one-form scopes", []string{"read_apps", "write_reviews", "read_transaction_ledgers", "write_store_setup"}, 0},
		{"read_reviews does not exist", []string{"read_reviews"}, driver.InvalidScope},
		{"unknown", []string{"read_orders", "read_everything"}, driver.InvalidScope},
		{"comma-joined", []string{"read_orders,write_products"}, driver.InvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := driver.CodeOf(driver.ValidateScopes(spec, tt.requested)); got != tt.want {
				t.Errorf("ValidateScopes code %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSimulatorFlow(t *testing.T) {
	s := providertest.Serve(t, jumpseller.Provider, app)
	tok := s.Authorized(t)
	acct, err := jumpseller.Provider.Identify(context.Background(), s.Env, tok)
	if err != nil || acct != "sandbox-store" {
		t.Fatalf("Identify = %q, %v; want sandbox-store", acct, err)
	}
	nt, err := driver.StandardRefresh(context.Background(), s.Env, tok)
	if err != nil {
		t.Fatal(err)
	}
	if nt.RefreshToken == tok.RefreshToken || nt.AccessToken == tok.AccessToken {
		t.Error("refresh did not rotate")
	}
	if diff := cmp.Diff(s.Env.Config.Scopes, nt.Scopes); diff != "" {
		t.Errorf("scopes after refresh (-want +got):\n%s", diff)
	}
	// Using the new access token revokes the previous refresh token.
	if _, err := jumpseller.Provider.Identify(context.Background(), s.Env, nt); err != nil {
		t.Fatal(err)
	}
	_, err = driver.StandardRefresh(context.Background(), s.Env, tok)
	if code := driver.CodeOf(err); code != driver.InvalidGrant {
		t.Errorf("reused refresh token: code %v, want invalid_grant (error %v)", code, err)
	}
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name     string
		fault    *simulator.Fault
		token    string // "" for the real one
		want     string
		wantCode driver.Code
	}{
		{"store code", nil, "", "sandbox-store", 0},
		{"unknown token", nil, "nope", "", driver.ProviderError},
		{"rate limited", &simulator.Fault{Path: "/api/", Status: 429, Body: `{"message":"Too Many Requests"}`}, "", "", driver.Unavailable},
		{"HTML instead of JSON", &simulator.Fault{Path: "/api/", Status: 200, Body: "<html>maintenance</html>"}, "", "", driver.BadResponse},
		{"no store code", &simulator.Fault{Path: "/api/", Status: 200, Body: `{"store":{"name":"x"}}`}, "", "", driver.BadResponse},
		{"store code with an ANSI escape", &simulator.Fault{Path: "/api/", Status: 200, Body: `{"store":{"code":"\u001b[31mshop"}}`}, "", "", driver.BadResponse},
		{"store code with CR/LF", &simulator.Fault{Path: "/api/", Status: 200, Body: `{"store":{"code":"shop\r\nX: 1"}}`}, "", "", driver.BadResponse},
		{"scope missing", &simulator.Fault{Path: "/api/", Status: 403, Body: `{"message":"Forbidden"}`}, "", "", driver.ProviderError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := providertest.Serve(t, jumpseller.Provider, app)
			tok := s.Authorized(t)
			got, err := s.Identify(tok, tt.token, tt.fault)
			if code := driver.CodeOf(err); code != tt.wantCode || got != tt.want {
				t.Errorf("Identify = %q, %v (code %v); want %q, code %v", got, err, code, tt.want, tt.wantCode)
			}
			if err != nil && strings.Contains(err.Error(), tok.AccessToken) {
				t.Errorf("error holds the access token: %v", err)
			}
		})
	}
}

func TestSimulatorRefusesWrongQuirks(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*driver.Spec)
		want   driver.Code
	}{
		{"JSON body", func(s *driver.Spec) { s.Token.Format = driver.JSON }, driver.InvalidConfig},
		// Doorkeeper itself would accept Basic; Jumpseller documents the
		// credentials in the body, and the simulator holds drivers to that.
		{"credentials in Basic", func(s *driver.Spec) { s.Token.Auth = driver.Basic }, driver.InvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := providertest.Serve(t, jumpseller.Provider, app)
			s.Env.Provider = providertest.Mutated(jumpseller.Provider, tt.mutate)
			_, err := s.Authorize(t)
			if code := driver.CodeOf(err); code != tt.want {
				t.Errorf("exchange code %v, want %v (error %v)", code, tt.want, err)
			}
		})
	}
}

func TestRateLimitHeaders(t *testing.T) {
	s := providertest.Serve(t, jumpseller.Provider, app)
	tok := s.Authorized(t)
	var got [][4]string
	for _, b := range []string{tok.AccessToken, tok.AccessToken, "invalid"} {
		resp, _ := s.Get(t, "store/info.json", b, nil)
		h := resp.Header
		got = append(got, [4]string{
			h.Get("Jumpseller-PerMinuteRateLimit-Limit"), h.Get("Jumpseller-PerMinuteRateLimit-Remaining"),
			h.Get("Jumpseller-PerSecondRateLimit-Limit"), h.Get("Jumpseller-PerSecondRateLimit-Remaining"),
		})
	}
	// The three calls fall in the same second of the simulator's clock
	// unless the wall clock ticks between them.
	if got[0][0] != "800" || got[0][2] != "20" || got[1][1] != "798" && got[1][1] != "799" || got[2][0] != "800" {
		t.Errorf("rate-limit headers %v", got)
	}
}
