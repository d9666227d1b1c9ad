package driver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/writecount"
)

// The documented answers, verbatim from each provider's documentation.
const (
	// https://jumpseller.com/support/oauth-2/ ("The User receives the tokens")
	jsAccess   = "80de978742714f8747036188cf6bab538e976adf72144d545e185ae444bc473d"
	jsRefresh  = "86454df3e89cd34bd006ac68a76f6f2af884822ed68ce417777a4cffaae64b61"
	jsDocument = `{
"access_token":"` + jsAccess + `",
"token_type":"bearer",
"expires_in":3600,
"refresh_token":"` + jsRefresh + `",
"created_at":1502473092
}`
	// SHOPLINE "Token Exchange", example response payload.
	slAccess   = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJkZTNjOWJkOGU3MGQwNWYzOTk2Mjc0Mjc2NzYwYWFkNiIsImRhdGEiOnsibWVyY2hhbnRfaWQiOiI1ZjBiZGE1ZTRlNWZjYTAwMTBjODFmZWYiLCJhcHBsaWNhdGlvbl9pZCI6IjYzNWE1ODE3ZmQ4NTFiMDAwZDJmNTk0ZCJ9LCJpc3MiOiJodHRwczovL2RldmVsb3BlcnMuc2hvcGxpbmVhcHAuY29tIiwiYXVkIjpbXSwic3ViIjoiNWYwYmRhNWU0ZTVmY2EwMDEwYzgxZmVmIn0.lEsz0R_VOBwKwLmI9x5X4MDlzeVX3ptY4jtLXsqX2eM"
	slRefresh  = "bc2c3d3f1ce8776d2f358e74683e275d68dc8fea2c78a2c2080d9014c5730879"
	slDocument = `{
    "access_token": "` + slAccess + `",
    "token_type": "Bearer",
    "expires_in": 15778476,
    "refresh_token": "` + slRefresh + `",
    "scope": "products orders",
    "created_at": 1678956849,
    "resource_owner_id": "5f0bda5e4e5fca0010c81fef"
}`
	// secretAT is the access token of the hand-made answers below.
	secretAT = "at-0123456789abcdefghijklmnop"

	jsonType = "application/json; charset=utf-8"
)

var (
	jsSpec = &driver.Spec{Name: "jumpseller", ScopeSeparator: " ", DefaultLifetime: time.Hour}
	slSpec = &driver.Spec{Name: "shopline", ScopeSeparator: " ", DefaultLifetime: 15778476 * time.Second}
	// bareSpec documents no default lifetime.
	bareSpec = &driver.Spec{Name: "bare", ScopeSeparator: " "}

	fixedNow  = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	requested = []string{"read_store", "read_orders"}
)

// answer is a hand-made token answer with the given fields after
// access_token.
func answer(fields string) string {
	if fields == "" {
		return `{"access_token":"` + secretAT + `"}`
	}
	return `{"access_token":"` + secretAT + `",` + fields + `}`
}

// errWant is what a test checks of an *Error.
type errWant struct {
	Code       driver.Code
	Status     int
	OAuthError string
	Msg        string
}

func errOf(t *testing.T, err error) *errWant {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *driver.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v, want *driver.Error", err, err)
	}
	return &errWant{Code: e.Code, Status: e.Status, OAuthError: e.OAuthError, Msg: e.Msg}
}

func TestParseStandardToken(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	tok := func(mut func(*driver.Token)) *driver.Token {
		t := &driver.Token{AccessToken: secretAT, TokenType: "Bearer", IssuedAt: fixedNow, Expiry: fixedNow.Add(time.Hour), Scopes: requested}
		if mut != nil {
			mut(t)
		}
		return t
	}
	bearer := func(rest string) string { return answer(`"token_type":"bearer"` + rest) }
	const (
		inside200 = "provider sent an error inside a 200 answer"
		refused   = "provider refused the request"
		notJSON   = "answer is not a JSON object"
		html      = "answer is an HTML page, not a token"
		noAccess  = "answer has no access_token"
		badStatus = "token endpoint answered with an error status"
		// notPositive refuses an expires_in of 0 or less.
		notPositive = "expires_in is not positive: the token's lifetime must be positive"
	)
	nginx502 := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	railsPage := "<!DOCTYPE html>\n<html>\n<head><title>We're sorry, but something went wrong (500)</title></head>\n<body><h1>We're sorry</h1></body>\n</html>\n"

	tests := []struct {
		name    string
		spec    *driver.Spec // jsSpec when nil
		status  int          // 200 when 0
		ctype   string       // jsonType when ""
		body    string
		want    *driver.Token
		wantErr *errWant
	}{
		// The documented answers.
		{name: "jumpseller documented answer", body: jsDocument, want: &driver.Token{
			AccessToken: jsAccess, TokenType: "Bearer", RefreshToken: jsRefresh,
			IssuedAt: at(1502473092), Expiry: at(1502473092 + 3600), Scopes: requested,
		}},
		{name: "shopline documented answer", spec: slSpec, body: slDocument, want: &driver.Token{
			AccessToken: slAccess, TokenType: "Bearer", RefreshToken: slRefresh,
			IssuedAt: at(1678956849), Expiry: at(1678956849 + 15778476), Scopes: []string{"products", "orders"},
			Extra: map[string]any{"resource_owner_id": "5f0bda5e4e5fca0010c81fef"},
		}},

		// token_type, compared case-insensitively; only bearer.
		{name: "token_type bearer", body: bearer(""), want: tok(nil)},
		{name: "token_type BEARER", body: answer(`"token_type":"BEARER"`), want: tok(nil)},
		{name: "token_type Bearer", body: answer(`"token_type":"Bearer"`), want: tok(nil)},
		{name: "token_type bEaReR", body: answer(`"token_type":"bEaReR"`), want: tok(nil)},
		{name: "token_type mac", body: answer(`"token_type":"mac"`),
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: `token type "mac" is not bearer`}},
		{name: "token_type empty", body: answer(`"token_type":""`),
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: `token type "" is not bearer`}},
		{name: "token_type missing", body: answer(""),
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: `token type "" is not bearer`}},
		{name: "token_type a number", body: answer(`"token_type":1`),
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: `token type "" is not bearer`}},
		{name: "token_type bearer with spaces", body: answer(`"token_type":" bearer"`),
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: `token type "bearer" is not bearer`}},

		// expires_in.
		{name: "expires_in a number", body: bearer(`,"expires_in":60`), want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(time.Minute) })},
		{name: "expires_in a string", body: bearer(`,"expires_in":"7200"`), want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(2 * time.Hour) })},
		{name: "expires_in a padded string", body: bearer(`,"expires_in":" 7200 "`), want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(2 * time.Hour) })},
		{name: "expires_in fractional", body: bearer(`,"expires_in":1.5`), want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(1500 * time.Millisecond) })},
		{name: "expires_in missing: default lifetime", body: bearer(""), want: tok(nil)},
		{name: "expires_in missing without a default lifetime", spec: bareSpec, body: bearer(""), want: tok(func(t *driver.Token) { t.Expiry = time.Time{} })},
		{name: "expires_in null: default lifetime", body: bearer(`,"expires_in":null`), want: tok(nil)},
		{name: "expires_in not numeric: default lifetime", body: bearer(`,"expires_in":"soon"`), want: tok(nil)},
		// A lifetime of 0 or less is refused: read as "never expires", it
		// made a token the engine never refreshed.
		{name: "expires_in 0: refused", body: bearer(`,"expires_in":0`),
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notPositive}},
		{name: "expires_in negative: refused", body: bearer(`,"expires_in":-60`),
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notPositive}},
		{name: "expires_in beyond time.Duration: capped", body: bearer(`,"expires_in":1e19`),
			want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(math.MaxInt64) })},
		{name: "expires_in Inf: capped", body: bearer(`,"expires_in":"Inf"`),
			want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(math.MaxInt64) })},

		// created_at.
		{name: "created_at present", body: bearer(`,"expires_in":60,"created_at":1700000000`),
			want: tok(func(t *driver.Token) { t.IssuedAt, t.Expiry = at(1700000000), at(1700000060) })},
		{name: "created_at a string", body: bearer(`,"expires_in":60,"created_at":"1700000000"`),
			want: tok(func(t *driver.Token) { t.IssuedAt, t.Expiry = at(1700000000), at(1700000060) })},
		{name: "created_at absent: the local clock", body: bearer(`,"expires_in":60`),
			want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(time.Minute) })},
		{name: "created_at 0: the local clock", body: bearer(`,"expires_in":60,"created_at":0`),
			want: tok(func(t *driver.Token) { t.Expiry = fixedNow.Add(time.Minute) })},
		{name: "created_at with default lifetime", body: bearer(`,"created_at":1700000000`),
			want: tok(func(t *driver.Token) { t.IssuedAt, t.Expiry = at(1700000000), at(1700003600) })},

		// scope.
		{name: "scope present", body: bearer(`,"scope":"read_store write_orders"`),
			want: tok(func(t *driver.Token) { t.Scopes = []string{"read_store", "write_orders"} })},
		{name: "scope absent: the requested scopes", body: bearer(""), want: tok(nil)},
		{name: "scope empty", body: bearer(`,"scope":""`), want: tok(func(t *driver.Token) { t.Scopes = nil })},
		{name: "scope with commas", body: bearer(`,"scope":"a,b  c"`), want: tok(func(t *driver.Token) { t.Scopes = []string{"a", "b", "c"} })},
		{name: "scope not a string: the requested scopes", body: bearer(`,"scope":["a"]`), want: tok(nil)},

		// Everything else is kept.
		{name: "extras kept", body: bearer(`,"refresh_token":"rt","account":"shop","n":7,"nested":{"ok":true},"none":null`),
			want: tok(func(t *driver.Token) {
				t.RefreshToken = "rt"
				t.Extra = map[string]any{"account": "shop", "n": json.Number("7"), "nested": map[string]any{"ok": true}, "none": nil}
			})},
		{name: "refresh_token not a string dropped", body: bearer(`,"refresh_token":5`), want: tok(nil)},
		{name: "status 201 accepted", status: 201, body: bearer(""), want: tok(nil)},
		{name: "trailing data after the object ignored", body: bearer("") + " trailing", want: tok(nil)},

		// An RFC 6749 error field, whatever the status.
		{name: "200 with invalid_grant", body: `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}`,
			wantErr: &errWant{Code: driver.InvalidGrant, Status: 200, OAuthError: "invalid_grant", Msg: inside200}},
		{name: "200 with an error and an access_token", body: bearer(`,"error":"invalid_client"`),
			wantErr: &errWant{Code: driver.InvalidClient, Status: 200, OAuthError: "invalid_client", Msg: inside200}},
		{name: "200 with a non-RFC error", body: `{"error":"something odd"}`,
			wantErr: &errWant{Code: driver.ProviderError, Status: 200, OAuthError: "something odd", Msg: inside200}},
		{name: "200 with an empty error", body: `{"error":""}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: inside200}},
		{name: "400 invalid_grant", status: 400, body: `{"error":"invalid_grant"}`,
			wantErr: &errWant{Code: driver.InvalidGrant, Status: 400, OAuthError: "invalid_grant", Msg: refused}},
		{name: "400 invalid_request", status: 400, body: `{"error":"invalid_request"}`,
			wantErr: &errWant{Code: driver.InvalidConfig, Status: 400, OAuthError: "invalid_request", Msg: refused}},
		{name: "400 unsupported_grant_type", status: 400, body: `{"error":"unsupported_grant_type"}`,
			wantErr: &errWant{Code: driver.InvalidConfig, Status: 400, OAuthError: "unsupported_grant_type", Msg: refused}},
		{name: "400 invalid_scope", status: 400, body: `{"error":"invalid_scope"}`,
			wantErr: &errWant{Code: driver.InvalidScope, Status: 400, OAuthError: "invalid_scope", Msg: refused}},
		{name: "400 non-RFC error", status: 400, body: `{"error":"weird"}`,
			wantErr: &errWant{Code: driver.ProviderError, Status: 400, OAuthError: "weird", Msg: refused}},
		{name: "400 error that is a number", status: 400, body: `{"error":42}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 400, Msg: refused}},
		{name: "400 error null is no error", status: 400, body: `{"error":null}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 400, Msg: badStatus}},
		{name: "400 error field too long", status: 400, body: `{"error":"` + strings.Repeat("x", 4000) + `"}`,
			wantErr: &errWant{Code: driver.ProviderError, Status: 400, OAuthError: strings.Repeat("x", 120) + "…", Msg: refused}},
		{name: "401 invalid_client", status: 401, body: `{"error":"invalid_client","error_description":"Client authentication failed"}`,
			wantErr: &errWant{Code: driver.InvalidClient, Status: 401, OAuthError: "invalid_client", Msg: refused}},
		{name: "401 unauthorized_client", status: 401, body: `{"error":"unauthorized_client"}`,
			wantErr: &errWant{Code: driver.InvalidClient, Status: 401, OAuthError: "unauthorized_client", Msg: refused}},
		{name: "401 invalid_grant (older Doorkeeper)", status: 401, body: `{"error":"invalid_grant"}`,
			wantErr: &errWant{Code: driver.InvalidGrant, Status: 401, OAuthError: "invalid_grant", Msg: refused}},
		{name: "403 access_denied", status: 403, body: `{"error":"access_denied"}`,
			wantErr: &errWant{Code: driver.AccessDenied, Status: 403, OAuthError: "access_denied", Msg: refused}},
		{name: "429 SHOPLINE rate limit", status: 429, body: `{"error":"Rate limit exceeded, retry later","code":"RateLimitExceeded"}`,
			wantErr: &errWant{Code: driver.Unavailable, Status: 429, OAuthError: "Rate limit exceeded, retry later", Msg: refused}},
		{name: "429 invalid_grant keeps its code", status: 429, body: `{"error":"invalid_grant"}`,
			wantErr: &errWant{Code: driver.InvalidGrant, Status: 429, OAuthError: "invalid_grant", Msg: refused}},
		{name: "500 server_error", status: 500, body: `{"error":"server_error"}`,
			wantErr: &errWant{Code: driver.Unavailable, Status: 500, OAuthError: "server_error", Msg: refused}},
		{name: "503 temporarily_unavailable", status: 503, body: `{"error":"temporarily_unavailable"}`,
			wantErr: &errWant{Code: driver.Unavailable, Status: 503, OAuthError: "temporarily_unavailable", Msg: refused}},
		{name: "503 non-RFC error text", status: 503, body: `{"error":"Service Unavailable"}`,
			wantErr: &errWant{Code: driver.Unavailable, Status: 503, OAuthError: "Service Unavailable", Msg: refused}},
		{name: "503 error that is a number", status: 503, body: `{"error":503}`,
			wantErr: &errWant{Code: driver.Unavailable, Status: 503, Msg: refused}},

		// Non-2xx without an error field.
		{name: "400 with a token and no error", status: 400, body: bearer(""),
			wantErr: &errWant{Code: driver.BadResponse, Status: 400, Msg: badStatus}},
		{name: "302", status: 302, body: `{}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 302, Msg: badStatus}},
		{name: "502 empty object", status: 502, body: `{}`,
			wantErr: &errWant{Code: driver.Unavailable, Status: 502, Msg: badStatus}},

		// HTML pages.
		{name: "HTML page with 200", ctype: "text/html; charset=utf-8", body: railsPage,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: html}},
		{name: "HTML page with 502", status: 502, ctype: "text/html", body: nginx502,
			wantErr: &errWant{Code: driver.Unavailable, Status: 502, Msg: "provider unavailable"}},
		{name: "HTML page labelled JSON", body: "\n  " + railsPage,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: html}},
		{name: "HTML content type, empty body", status: 404, ctype: "text/html", body: "",
			wantErr: &errWant{Code: driver.BadResponse, Status: 404, Msg: html}},

		// Not a JSON object.
		{name: "malformed JSON", body: `{"access_token":"` + secretAT + `",`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notJSON}},
		{name: "JSON array", body: `[` + bearer("") + `]`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notJSON}},
		{name: "JSON null", body: `null`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notJSON}},
		{name: "JSON string", body: `"` + secretAT + `"`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notJSON}},
		{name: "empty body", body: "",
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notJSON}},
		{name: "empty body with 503", status: 503, body: "",
			wantErr: &errWant{Code: driver.Unavailable, Status: 503, Msg: "provider unavailable"}},
		{name: "form-encoded answer", ctype: "application/x-www-form-urlencoded", body: "access_token=" + secretAT + "&token_type=bearer",
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: notJSON}},

		// No access token.
		{name: "empty object", body: `{}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: noAccess}},
		{name: "access_token empty", body: `{"access_token":"","token_type":"bearer"}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: noAccess}},
		{name: "access_token a number", body: `{"access_token":12345,"token_type":"bearer"}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: noAccess}},
		{name: "only a refresh token", body: `{"refresh_token":"` + secretAT + `","token_type":"bearer"}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: noAccess}},
	}
	secrets := []string{jsAccess, jsRefresh, slAccess, slRefresh, secretAT}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, status, ctype := tt.spec, tt.status, tt.ctype
			if spec == nil {
				spec = jsSpec
			}
			if status == 0 {
				status = 200
			}
			if ctype == "" {
				ctype = jsonType
			}
			r := &driver.TokenResponse{Grant: "authorization_code", Status: status, Header: http.Header{"Content-Type": {ctype}},
				Body: []byte(tt.body), Now: fixedNow, Requested: requested}
			got, err := driver.ParseStandardToken(spec, r)
			if diff := cmp.Diff(tt.wantErr, errOf(t, err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("token mismatch (-want +got):\n%s", diff)
			}
			if err == nil {
				return
			}
			var e *driver.Error
			errors.As(err, &e)
			if e.Op != "exchange" || e.Provider != spec.Name || e.ContentType != ctype {
				t.Errorf("error Op %q Provider %q ContentType %q, want exchange %q %q", e.Op, e.Provider, e.ContentType, spec.Name, ctype)
			}
			text := err.Error()
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("error %q holds a token", text)
				}
			}
			if len(e.Excerpt) > driver.ExcerptLimit+len("…") {
				t.Errorf("Excerpt is %d bytes", len(e.Excerpt))
			}
		})
	}
}

func TestParseStandardTokenRefreshOp(t *testing.T) {
	r := &driver.TokenResponse{Grant: "refresh_token", Status: 400, Header: http.Header{"Content-Type": {jsonType}},
		Body: []byte(`{"error":"invalid_grant"}`), Now: fixedNow}
	_, err := driver.ParseStandardToken(jsSpec, r)
	want := `connector: jumpseller refresh: provider refused the request (status 400, content-type application/json; charset=utf-8, ` +
		`error invalid_grant, body "{\"error\":\"invalid_grant\"}")`
	if diff := cmp.Diff(want, fmt.Sprint(err)); diff != "" {
		t.Errorf("error text mismatch (-want +got):\n%s", diff)
	}
}

func TestNewTokenRequest(t *testing.T) {
	cfg := driver.Config{ClientID: "my app:1", ClientSecret: "p@ss w/rd&=é", RedirectURL: "http://localhost:8000/cb"}
	params := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {"c0de"}, "redirect_uri": {cfg.RedirectURL}}
	}
	// RFC 6749 §2.3.1: id and secret are form-encoded, then joined by ':'.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("my+app%3A1:p%40ss+w%2Frd%26%3D%C3%A9"))
	type wire struct {
		Method, URL, ContentType, Accept, Authorization, Body string
	}
	tests := []struct {
		name     string
		endpoint string
		req      driver.Request
		want     wire
	}{
		{
			name: "form, credentials in the body", endpoint: "https://accounts.example.com/oauth/token",
			req: driver.Request{Format: driver.Form, Auth: driver.InBody},
			want: wire{Method: "POST", URL: "https://accounts.example.com/oauth/token", ContentType: "application/x-www-form-urlencoded", Accept: "application/json",
				Body: "client_id=my+app%3A1&client_secret=p%40ss+w%2Frd%26%3D%C3%A9&code=c0de&grant_type=authorization_code&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcb"},
		},
		{
			name: "json, credentials in the body", endpoint: "https://accounts.example.com/oauth/token",
			req: driver.Request{Format: driver.JSON, Auth: driver.InBody},
			want: wire{Method: "POST", URL: "https://accounts.example.com/oauth/token", ContentType: "application/json", Accept: "application/json",
				Body: `{"client_id":"my app:1","client_secret":"p@ss w/rd\u0026=é","code":"c0de","grant_type":"authorization_code","redirect_uri":"http://localhost:8000/cb"}`},
		},
		{
			name: "form, Basic", endpoint: "https://accounts.example.com/oauth/token",
			req: driver.Request{Format: driver.Form, Auth: driver.Basic},
			want: wire{Method: "POST", URL: "https://accounts.example.com/oauth/token", ContentType: "application/x-www-form-urlencoded", Accept: "application/json",
				Authorization: basic, Body: "code=c0de&grant_type=authorization_code&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcb"},
		},
		{
			name: "json, Basic", endpoint: "https://accounts.example.com/oauth/token",
			req: driver.Request{Format: driver.JSON, Auth: driver.Basic},
			want: wire{Method: "POST", URL: "https://accounts.example.com/oauth/token", ContentType: "application/json", Accept: "application/json",
				Authorization: basic, Body: `{"code":"c0de","grant_type":"authorization_code","redirect_uri":"http://localhost:8000/cb"}`},
		},
		{
			name: "endpoint query kept, credentials not added", endpoint: "http://127.0.0.1:9/token?tenant=a",
			req: driver.Request{Format: driver.Form, Auth: driver.InBody},
			want: wire{Method: "POST", URL: "http://127.0.0.1:9/token?tenant=a", ContentType: "application/x-www-form-urlencoded", Accept: "application/json",
				Body: "client_id=my+app%3A1&client_secret=p%40ss+w%2Frd%26%3D%C3%A9&code=c0de&grant_type=authorization_code&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcb"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params()
			req, err := driver.NewTokenRequest(context.Background(), tt.endpoint, tt.req, cfg, p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(req.Body)
			got := wire{Method: req.Method, URL: req.URL.String(), ContentType: req.Header.Get("Content-Type"), Accept: req.Header.Get("Accept"),
				Authorization: req.Header.Get("Authorization"), Body: string(body)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
			for _, s := range []string{cfg.ClientID, cfg.ClientSecret, url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret), "client_id", "client_secret"} {
				if strings.Contains(req.URL.String(), s) {
					t.Errorf("URL %q holds %q", req.URL, s)
				}
			}
			if diff := cmp.Diff(params(), p); diff != "" {
				t.Errorf("params modified (-want +got):\n%s", diff)
			}
			if req.GetBody == nil || req.ContentLength != int64(len(body)) {
				t.Errorf("request not replayable: GetBody %v, ContentLength %d for %d bytes", req.GetBody != nil, req.ContentLength, len(body))
			}
		})
	}
	// A Basic header decodes back to the credentials, as RFC 6749 §2.3.1 servers do it.
	req, _ := driver.NewTokenRequest(context.Background(), "https://x/token", driver.Request{Auth: driver.Basic}, cfg, params())
	user, pass, _ := req.BasicAuth()
	user, _ = url.QueryUnescape(user)
	pass, _ = url.QueryUnescape(pass)
	if user != cfg.ClientID || pass != cfg.ClientSecret {
		t.Errorf("Basic decodes to %q:%q, want %q:%q", user, pass, cfg.ClientID, cfg.ClientSecret)
	}
}

func TestNewTokenRequestBadEndpoint(t *testing.T) {
	cfg := driver.Config{ClientID: "app", ClientSecret: "sec"}
	_, err := driver.NewTokenRequest(context.Background(), "https://host/\x7f?client_secret=sec", driver.Request{}, cfg, nil)
	if diff := cmp.Diff(&errWant{Code: driver.InvalidConfig, Msg: "bad endpoint URL"}, errOf(t, err)); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	if err != nil && strings.Contains(err.Error(), "client_secret=sec") {
		t.Errorf("error %q holds the URL's query", err)
	}
}

// testProvider is a driver made of a Spec and ParseStandardToken.
type testProvider struct{ spec *driver.Spec }

func (p testProvider) Spec() *driver.Spec { return p.spec }
func (p testProvider) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	return driver.ParseStandardToken(p.spec, r)
}
func (p testProvider) Identify(context.Context, *driver.Env, *driver.Token) (string, error) {
	return "", nil
}

var _ driver.Provider = testProvider{}

// seen is one request a recording server received.
type seen struct {
	Method, Path, ContentType, Authorization, Body string
}

// recordingServer answers every request with status and body, and records
// the requests.
func recordingServer(t *testing.T, status int, ctype, body string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(b)})
		mu.Unlock()
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), got...)
	}
}

func testEnv(spec *driver.Spec, ep driver.Endpoint, doer driver.Doer) *driver.Env {
	return &driver.Env{
		Provider: testProvider{spec},
		Config:   driver.Config{ClientID: "app", ClientSecret: "sec", RedirectURL: "http://localhost:8000/cb", Scopes: requested, Endpoint: ep},
		HTTP:     doer,
		Now:      func() time.Time { return fixedNow },
	}
}

func TestStandardRefresh(t *testing.T) {
	formSpec := &driver.Spec{Name: "formy", ScopeSeparator: " ", DefaultLifetime: time.Hour,
		Token: driver.Request{Format: driver.Form, Auth: driver.InBody}}
	jsonSpec := &driver.Spec{Name: "jsony", ScopeSeparator: " ", RefreshSendsRedirectURI: true,
		Token: driver.Request{Format: driver.JSON, Auth: driver.InBody}}
	basicSpec := &driver.Spec{Name: "basic", ScopeSeparator: " ", Token: driver.Request{Format: driver.Form, Auth: driver.Basic}}
	prev := &driver.Token{AccessToken: "old-at", TokenType: "Bearer", RefreshToken: "old-rt", Scopes: []string{"read_store"}, AccountID: "shop"}
	const rotated = `{"access_token":"new-at","token_type":"bearer","expires_in":3600,"refresh_token":"new-rt","created_at":1700000000}`
	const formBody = "client_id=app&client_secret=sec&grant_type=refresh_token&refresh_token=old-rt"
	formType := "application/x-www-form-urlencoded"

	tests := []struct {
		name        string
		spec        *driver.Spec
		refreshPath string // Endpoint.RefreshURL's path; TokenURL (/oauth/token) when ""
		prev        *driver.Token
		status      int
		answer      string
		want        *driver.Token
		wantErr     *errWant
		wantReqs    []seen
	}{
		{
			name: "form, no redirect_uri, rotated", spec: formSpec, prev: prev, status: 200, answer: rotated,
			want: &driver.Token{AccessToken: "new-at", TokenType: "Bearer", RefreshToken: "new-rt", IssuedAt: time.Unix(1700000000, 0),
				Expiry: time.Unix(1700003600, 0), Scopes: []string{"read_store"}, AccountID: "shop"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/token", ContentType: formType, Body: formBody}},
		},
		{
			name: "json with redirect_uri", spec: jsonSpec, prev: prev, status: 200,
			answer: `{"access_token":"new-at","token_type":"Bearer","expires_in":15778476,"refresh_token":"new-rt","scope":"products orders","created_at":1700000000,"resource_owner_id":"m1"}`,
			want: &driver.Token{AccessToken: "new-at", TokenType: "Bearer", RefreshToken: "new-rt", IssuedAt: time.Unix(1700000000, 0),
				Expiry: time.Unix(1700000000+15778476, 0), Scopes: []string{"products", "orders"}, AccountID: "shop",
				Extra: map[string]any{"resource_owner_id": "m1"}},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/token", ContentType: "application/json",
				Body: `{"client_id":"app","client_secret":"sec","grant_type":"refresh_token","redirect_uri":"http://localhost:8000/cb","refresh_token":"old-rt"}`}},
		},
		{
			name: "Basic client authentication", spec: basicSpec, prev: prev, status: 200, answer: rotated,
			want: &driver.Token{AccessToken: "new-at", TokenType: "Bearer", RefreshToken: "new-rt", IssuedAt: time.Unix(1700000000, 0),
				Expiry: time.Unix(1700003600, 0), Scopes: []string{"read_store"}, AccountID: "shop"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/token", ContentType: formType,
				Authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte("app:sec")), Body: "grant_type=refresh_token&refresh_token=old-rt"}},
		},
		{
			name: "answer without refresh_token keeps the previous one", spec: formSpec, prev: prev, status: 200,
			answer: `{"access_token":"new-at","token_type":"bearer","expires_in":60}`,
			want: &driver.Token{AccessToken: "new-at", TokenType: "Bearer", RefreshToken: "old-rt", IssuedAt: fixedNow,
				Expiry: fixedNow.Add(time.Minute), Scopes: []string{"read_store"}, AccountID: "shop"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/token", ContentType: formType, Body: formBody}},
		},
		{
			name: "answer with empty scope inherits the previous scopes", spec: formSpec, prev: prev, status: 200,
			answer: `{"access_token":"new-at","token_type":"bearer","expires_in":60,"scope":""}`,
			want: &driver.Token{AccessToken: "new-at", TokenType: "Bearer", RefreshToken: "old-rt", IssuedAt: fixedNow,
				Expiry: fixedNow.Add(time.Minute), Scopes: []string{"read_store"}, AccountID: "shop"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/token", ContentType: formType, Body: formBody}},
		},
		{
			name: "RefreshURL used when set", spec: formSpec, refreshPath: "/oauth/refresh", prev: prev, status: 200, answer: rotated,
			want: &driver.Token{AccessToken: "new-at", TokenType: "Bearer", RefreshToken: "new-rt", IssuedAt: time.Unix(1700000000, 0),
				Expiry: time.Unix(1700003600, 0), Scopes: []string{"read_store"}, AccountID: "shop"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/refresh", ContentType: formType, Body: formBody}},
		},
		{
			name: "invalid_grant", spec: formSpec, prev: prev, status: 400, answer: `{"error":"invalid_grant"}`,
			wantErr:  &errWant{Code: driver.InvalidGrant, Status: 400, OAuthError: "invalid_grant", Msg: "provider refused the request"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/token", ContentType: formType, Body: formBody}},
		},
		{
			name: "no refresh token stored", spec: formSpec, prev: &driver.Token{AccessToken: "old-at"}, status: 200, answer: rotated,
			wantErr: &errWant{Code: driver.ReauthRequired, Msg: "no refresh token is stored"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, got := recordingServer(t, tt.status, jsonType, tt.answer)
			ep := driver.Endpoint{TokenURL: ts.URL + "/oauth/token"}
			if tt.refreshPath != "" {
				ep.RefreshURL = ts.URL + tt.refreshPath
			}
			before := tt.prev.Clone()
			tok, err := driver.StandardRefresh(context.Background(), testEnv(tt.spec, ep, ts.Client()), tt.prev)
			if diff := cmp.Diff(tt.wantErr, errOf(t, err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tt.want, tok, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("token mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantReqs, got(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.prev); diff != "" {
				t.Errorf("previous token modified (-want +got):\n%s", diff)
			}
		})
	}
}

// dropAfterRequest is a server that reads the request and closes the
// connection without an answer.
func dropAfterRequest(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

// closedURL returns the URL of a loopback port that refuses connections.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestStandardRefreshTransport(t *testing.T) {
	spec := &driver.Spec{Name: "formy", ScopeSeparator: " "}
	prev := &driver.Token{AccessToken: "old-at", RefreshToken: "old-rt"}
	dropped := dropAfterRequest(t)
	tests := []struct {
		name     string
		endpoint string
		want     driver.Code
	}{
		{"connection refused: never sent", closedURL(t) + "/oauth/token", driver.Unavailable},
		{"connection dropped after the request: maybe rotated", dropped.URL + "/oauth/token", driver.RefreshUncertain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(spec, driver.Endpoint{TokenURL: tt.endpoint}, &http.Client{Timeout: 5 * time.Second})
			_, err := driver.StandardRefresh(context.Background(), env, prev)
			if got := driver.CodeOf(err); got != tt.want {
				t.Errorf("StandardRefresh error %v: code %v, want %v", err, got, tt.want)
			}
			if strings.Contains(fmt.Sprint(err), "old-rt") || strings.Contains(fmt.Sprint(err), "sec") {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

func TestStandardRevoke(t *testing.T) {
	jsonBasic := &driver.Spec{Name: "shopline", Revoke: driver.Request{Format: driver.JSON, Auth: driver.Basic}}
	formBody := &driver.Spec{Name: "formy", Revoke: driver.Request{Format: driver.Form, Auth: driver.InBody}}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("app:sec"))
	tok := &driver.Token{AccessToken: "the-at", RefreshToken: "the-rt"}
	tests := []struct {
		name     string
		spec     *driver.Spec
		noURL    bool
		tok      *driver.Token
		status   int
		ctype    string
		answer   string
		wantErr  *errWant
		wantReqs []seen
	}{
		{
			name: "no revocation endpoint", spec: jsonBasic, noURL: true, tok: tok, status: 200, answer: `{}`,
			wantErr: &errWant{Code: driver.Unsupported, Msg: "the provider has no revocation endpoint"},
		},
		{
			name: "json, Basic, refresh token", spec: jsonBasic, tok: tok, status: 200, answer: `{}`,
			wantReqs: []seen{{Method: "POST", Path: "/oauth/revoke", ContentType: "application/json", Authorization: basic, Body: `{"token":"the-rt"}`}},
		},
		{
			name: "access token when there is no refresh token", spec: jsonBasic, tok: &driver.Token{AccessToken: "the-at"}, status: 200, answer: `{}`,
			wantReqs: []seen{{Method: "POST", Path: "/oauth/revoke", ContentType: "application/json", Authorization: basic, Body: `{"token":"the-at"}`}},
		},
		{
			name: "form, credentials in the body", spec: formBody, tok: tok, status: 200, answer: ``,
			wantReqs: []seen{{Method: "POST", Path: "/oauth/revoke", ContentType: "application/x-www-form-urlencoded",
				Body: "client_id=app&client_secret=sec&token=the-rt"}},
		},
		{
			name: "204 is success", spec: jsonBasic, tok: tok, status: 204,
			wantReqs: []seen{{Method: "POST", Path: "/oauth/revoke", ContentType: "application/json", Authorization: basic, Body: `{"token":"the-rt"}`}},
		},
		{
			name: "invalid_client", spec: jsonBasic, tok: tok, status: 401, ctype: jsonType, answer: `{"error":"invalid_client"}`,
			wantErr:  &errWant{Code: driver.InvalidClient, Status: 401, OAuthError: "invalid_client", Msg: "revocation refused"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/revoke", ContentType: "application/json", Authorization: basic, Body: `{"token":"the-rt"}`}},
		},
		{
			name: "HTML error page", spec: jsonBasic, tok: tok, status: 500, ctype: "text/html", answer: "<html><body>oops</body></html>",
			wantErr:  &errWant{Code: driver.ProviderError, Status: 500, Msg: "revocation refused"},
			wantReqs: []seen{{Method: "POST", Path: "/oauth/revoke", ContentType: "application/json", Authorization: basic, Body: `{"token":"the-rt"}`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, got := recordingServer(t, tt.status, tt.ctype, tt.answer)
			ep := driver.Endpoint{TokenURL: ts.URL + "/oauth/token", RevokeURL: ts.URL + "/oauth/revoke"}
			if tt.noURL {
				ep.RevokeURL = ""
			}
			err := driver.StandardRevoke(context.Background(), testEnv(tt.spec, ep, ts.Client()), tt.tok)
			if diff := cmp.Diff(tt.wantErr, errOf(t, err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tt.wantReqs, got(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaybeSent(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	dns := &net.DNSError{Err: "no such host", Name: "accounts.example.invalid", IsNotFound: true}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dial error", dial, false},
		{"dial error inside url.Error", &url.Error{Op: "Post", URL: "https://x/oauth/token", Err: dial}, false},
		{"DNS error", dns, false},
		{"DNS error inside a dial error", &net.OpError{Op: "dial", Net: "tcp", Err: dns}, false},
		{"DNS error inside url.Error", &url.Error{Op: "Post", URL: "https://x/oauth/token", Err: dns}, false},
		{"EOF", &url.Error{Op: "Post", URL: "https://x/oauth/token", Err: io.EOF}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"broken pipe on write", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{"timeout", &url.Error{Op: "Post", URL: "https://x/oauth/token", Err: context.DeadlineExceeded}, true},
		{"i/o timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{"cancelled", context.Canceled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := driver.MaybeSent(tt.err); got != tt.want {
				t.Errorf("MaybeSent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	// The same through a real client.
	client := &http.Client{Timeout: 5 * time.Second}
	_, err := client.Post(closedURL(t), "text/plain", nil)
	if err == nil || driver.MaybeSent(err) {
		t.Errorf("refused connection: MaybeSent(%v) = true, want false", err)
	}
	_, err = client.Post(dropAfterRequest(t).URL, "text/plain", strings.NewReader("x"))
	if err == nil || !driver.MaybeSent(err) {
		t.Errorf("dropped connection: MaybeSent(%v) = false, want true", err)
	}
}

func TestCheckURL(t *testing.T) {
	const q = "?client_secret=hunter2&state=abc"
	tests := []struct {
		name string
		raw  string
		oob  bool
		want string // the error text, "" when accepted
	}{
		{name: "https", raw: "https://accounts.jumpseller.com/oauth/token" + q},
		{name: "https upper-case scheme", raw: "HTTPS://accounts.jumpseller.com/oauth/token"},
		{name: "http localhost", raw: "http://localhost:8000/callback" + q},
		{name: "http LOCALHOST", raw: "http://LOCALHOST/callback"},
		{name: "http 127.0.0.1", raw: "http://127.0.0.1:9/callback"},
		{name: "http 127.0.0.5", raw: "http://127.0.0.5/callback"},
		{name: "http [::1]", raw: "http://[::1]:8080/callback"},
		{name: "http non-loopback", raw: "http://example.com/callback" + q,
			want: "connector: config: CallbackURL uses plain http for a non-loopback host example.com; use https"},
		{name: "http localhost as a subdomain", raw: "http://localhost.example.com/callback" + q,
			want: "connector: config: CallbackURL uses plain http for a non-loopback host localhost.example.com; use https"},
		{name: "http 0.0.0.0", raw: "http://0.0.0.0:8000/callback" + q,
			want: "connector: config: CallbackURL uses plain http for a non-loopback host 0.0.0.0; use https"},
		{name: "http private address", raw: "http://10.0.0.1/callback" + q,
			want: "connector: config: CallbackURL uses plain http for a non-loopback host 10.0.0.1; use https"},
		{name: "user info", raw: "https://app:hunter2@example.com/callback" + q,
			want: "connector: config: CallbackURL must not carry user info"},
		{name: "user info on loopback", raw: "http://app@localhost/callback",
			want: "connector: config: CallbackURL must not carry user info"},
		{name: "relative", raw: "/callback" + q, want: "connector: config: CallbackURL is not an absolute URL"},
		{name: "no scheme", raw: "example.com/callback" + q, want: "connector: config: CallbackURL is not an absolute URL"},
		{name: "empty", raw: "", want: "connector: config: CallbackURL is not an absolute URL"},
		{name: "unparsable", raw: "https://exa mple.com/" + q, want: "connector: config: CallbackURL is not an absolute URL"},
		{name: "other scheme", raw: "ftp://example.com/callback" + q, want: "connector: config: CallbackURL has scheme ftp; use https"},
		{name: "javascript", raw: "javascript:alert(1)", want: "connector: config: CallbackURL is not an absolute URL"},
		{name: "oob allowed", raw: driver.OOB, oob: true},
		{name: "oob refused", raw: driver.OOB, want: "connector: config: CallbackURL is not an absolute URL"},
		{name: "oob with a query is not oob", raw: driver.OOB + q, oob: true, want: "connector: config: CallbackURL is not an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := driver.CheckURL("CallbackURL", tt.raw, tt.oob)
			got := ""
			if err != nil {
				got = err.Error()
				if c := driver.CodeOf(err); c != driver.InvalidConfig {
					t.Errorf("code %v, want invalid_config", c)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckURL(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
			for _, s := range []string{"hunter2", "client_secret", "state=abc"} {
				if strings.Contains(got, s) {
					t.Errorf("error %q holds %q from the URL", got, s)
				}
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"LocalHost", true}, {"127.0.0.1", true}, {"127.255.255.254", true},
		{"::1", true}, {"[::1]", true}, {"::ffff:127.0.0.1", true},
		{"", false}, {"localhost.", false}, {"localhost.example.com", false}, {"0.0.0.0", false},
		{"128.0.0.1", false}, {"::", false}, {"example.com", false},
	}
	for _, tt := range tests {
		if got := driver.IsLoopback(tt.host); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestSplitScopes(t *testing.T) {
	tests := []struct {
		name string
		s    string
		sep  string
		want []string
	}{
		{"space", "read_store write_orders", " ", []string{"read_store", "write_orders"}},
		{"whitespace runs", "  a \t b\n\nc  ", " ", []string{"a", "b", "c"}},
		{"commas with space separator", "a,b, c", " ", []string{"a", "b", "c"}},
		{"empty separator means space", "a b,c", "", []string{"a", "b", "c"}},
		{"empty", "", " ", nil},
		{"only separators", " , ,\t", " ", nil},
		{"comma separator", "a,b", ",", []string{"a", "b"}},
		{"comma separator trims and drops empty parts", " a , ,b ,", ",", []string{"a", "b"}},
		{"comma separator keeps spaces inside", "a b,c", ",", []string{"a b", "c"}},
		{"multi-byte separator", "a::b::::c", "::", []string{"a", "b", "c"}},
		{"plus separator", "a+b", "+", []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, driver.SplitScopes(tt.s, tt.sep), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SplitScopes(%q, %q) mismatch (-want +got):\n%s", tt.s, tt.sep, diff)
			}
		})
	}
}

func TestValidateScopes(t *testing.T) {
	known := &driver.Spec{Name: "jumpseller", Scopes: []string{"read_store", "read_orders", "write_orders"}}
	open := &driver.Spec{Name: "shopline"}
	tests := []struct {
		name      string
		spec      *driver.Spec
		requested []string
		want      string // error text, "" when accepted
	}{
		{"all known", known, []string{"read_store", "write_orders"}, ""},
		{"none requested", known, nil, ""},
		{"unknown", known, []string{"read_store", "read_x"},
			`connector: jumpseller authorize: unknown scope "read_x" (not among the provider's scopes: Spec().Scopes)`},
		{"first unknown named", known, []string{"x1", "x2"},
			`connector: jumpseller authorize: unknown scope "x1" (not among the provider's scopes: Spec().Scopes)`},
		{"case matters", known, []string{"READ_STORE"},
			`connector: jumpseller authorize: unknown scope "READ_STORE" (not among the provider's scopes: Spec().Scopes)`},
		{"empty scope", known, []string{""},
			`connector: jumpseller authorize: unknown scope "" (not among the provider's scopes: Spec().Scopes)`},
		{"credential-looking scope redacted", known, []string{"SECRET-0123456789abcdefXYZ"},
			`connector: jumpseller authorize: unknown scope "[redacted]" (not among the provider's scopes: Spec().Scopes)`},
		{"empty list accepts anything", open, []string{"products", "anything at all"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := driver.ValidateScopes(tt.spec, tt.requested)
			got := ""
			if err != nil {
				got = err.Error()
				if c := driver.CodeOf(err); c != driver.InvalidScope {
					t.Errorf("code %v, want invalid_scope", c)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateScopes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetJSON(t *testing.T) {
	const token = "at-0123456789abcdefghijklmnop"
	spec := &driver.Spec{Name: "jumpseller", APIHeaders: http.Header{"User-Agent": {"connector-test/1"}, "X-Api-Version": {"a", "b"}}}
	type store struct {
		Store struct {
			Code string `json:"code"`
		} `json:"store"`
	}
	tests := []struct {
		name    string
		status  int
		ctype   string
		body    string
		want    string // the decoded store code
		wantErr *errWant
	}{
		{name: "200 JSON", status: 200, ctype: jsonType, body: `{"store":{"name":"Your Store","code":"yourstore"}}`, want: "yourstore"},
		{name: "401", status: 401, ctype: jsonType, body: `{"message":"Bearer ` + token + ` is invalid"}`,
			wantErr: &errWant{Code: driver.ProviderError, Status: 401, Msg: "API refused the access token for store/info.json"}},
		{name: "403", status: 403, ctype: jsonType, body: `{"message":"missing scope read_store"}`,
			wantErr: &errWant{Code: driver.ProviderError, Status: 403, Msg: "store/info.json answered with an error status"}},
		{name: "404", status: 404, ctype: "text/plain", body: "not found",
			wantErr: &errWant{Code: driver.ProviderError, Status: 404, Msg: "store/info.json answered with an error status"}},
		{name: "429", status: 429, ctype: jsonType, body: `{"error":"Rate limit exceeded"}`,
			wantErr: &errWant{Code: driver.Unavailable, Status: 429, Msg: "API unavailable for store/info.json"}},
		{name: "500", status: 500, ctype: "text/html", body: "<html>oops</html>",
			wantErr: &errWant{Code: driver.Unavailable, Status: 500, Msg: "API unavailable for store/info.json"}},
		{name: "201 is not 200", status: 201, ctype: jsonType, body: `{"store":{"code":"yourstore"}}`,
			wantErr: &errWant{Code: driver.ProviderError, Status: 201, Msg: "store/info.json answered with an error status"}},
		{name: "non-JSON 200", status: 200, ctype: "text/html", body: "<!DOCTYPE html><html><body>Log in</body></html>",
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: "store/info.json is not the expected JSON"}},
		{name: "JSON of another shape", status: 200, ctype: jsonType, body: `{"store":"yourstore"}`,
			wantErr: &errWant{Code: driver.BadResponse, Status: 200, Msg: "store/info.json is not the expected JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr http.Header
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hdr = r.Header.Clone()
				if r.Method != http.MethodGet || r.URL.Path != "/v1/store/info.json" {
					t.Errorf("request %s %s, want GET /v1/store/info.json", r.Method, r.URL.Path)
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer ts.Close()
			env := testEnv(spec, driver.Endpoint{APIBaseURL: ts.URL + "/v1/"}, ts.Client())
			var v store
			err := driver.GetJSON(context.Background(), env, ts.URL+"/v1/store/info.json", "store/info.json", &driver.Token{AccessToken: token}, &v)
			if diff := cmp.Diff(tt.wantErr, errOf(t, err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tt.want, v.Store.Code); diff != "" {
				t.Errorf("decoded mismatch (-want +got):\n%s", diff)
			}
			wantHdr := map[string][]string{
				"Authorization": {"Bearer " + token}, "Accept": {"application/json"},
				"User-Agent": {"connector-test/1"}, "X-Api-Version": {"a", "b"},
			}
			gotHdr := map[string][]string{}
			for k := range wantHdr {
				gotHdr[k] = hdr.Values(k)
			}
			if diff := cmp.Diff(wantHdr, gotHdr); diff != "" {
				t.Errorf("headers mismatch (-want +got):\n%s", diff)
			}
			if err != nil {
				var e *driver.Error
				errors.As(err, &e)
				if e.Op != "identify" || e.ContentType != tt.ctype {
					t.Errorf("Op %q ContentType %q, want identify %q", e.Op, e.ContentType, tt.ctype)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("error %q holds the access token", err)
				}
			}
		})
	}
	if spec.APIHeaders.Get("Authorization") != "" || len(spec.APIHeaders) != 2 {
		t.Errorf("GetJSON modified Spec.APIHeaders: %v", spec.APIHeaders)
	}
}

func TestGetJSONTransport(t *testing.T) {
	spec := &driver.Spec{Name: "jumpseller"}
	tests := []struct {
		name string
		url  string
		want *errWant
	}{
		{"refused", closedURL(t) + "/v1/store/info.json", &errWant{Code: driver.Unavailable, Msg: "API unreachable"}},
		{"bad URL", "http://127.0.0.1/\x7f?access_token=x", &errWant{Code: driver.InvalidConfig, Msg: "bad API base URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(spec, driver.Endpoint{}, &http.Client{Timeout: 5 * time.Second})
			var v any
			err := driver.GetJSON(context.Background(), env, tt.url, "store/info.json", &driver.Token{AccessToken: "tok"}, &v)
			if diff := cmp.Diff(tt.want, errOf(t, err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if strings.Contains(fmt.Sprint(err), "access_token=x") {
				t.Errorf("error %q holds the URL's query", err)
			}
		})
	}
}

func TestParseStandardTokenUntrustedCreatedAt(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		createdAt string
		want      time.Time // IssuedAt
	}{
		{"seconds", strconv.FormatInt(now.Add(-time.Minute).Unix(), 10), now.Add(-time.Minute)},
		{"milliseconds", strconv.FormatInt(now.UnixMilli(), 10), now},
		{"microseconds", strconv.FormatInt(now.UnixMicro(), 10), now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"access_token":"a","token_type":"bearer","expires_in":3600,"created_at":` + tc.createdAt + `}`
			tok, err := driver.ParseStandardToken(&driver.Spec{Name: "x"}, &driver.TokenResponse{Status: 200, Header: http.Header{}, Body: []byte(body), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if !tok.IssuedAt.Equal(tc.want) || !tok.Expiry.Equal(tc.want.Add(time.Hour)) {
				t.Errorf("IssuedAt %v Expiry %v, want %v and an hour later", tok.IssuedAt, tok.Expiry, tc.want)
			}
		})
	}
}

// TestTokenRequestIsOneWrite: a token request leaves in one write. net/http
// writes headers and body together only for a body it knows to be in
// memory, and flushes the headers apart for any other (golang/go#22088):
// a second segment and a second wake-up of the server on every refresh.
func TestTokenRequestIsOneWrite(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	cfg := driver.Config{ClientID: "app", ClientSecret: "secret"}
	for _, format := range []driver.BodyFormat{driver.Form, driver.JSON} {
		t.Run(fmt.Sprint(format), func(t *testing.T) {
			wire := writecount.New()
			client := &http.Client{Transport: wire}
			req, err := driver.NewTokenRequest(context.Background(), srv.URL, driver.Request{Format: format, Auth: driver.InBody}, cfg,
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("r", 64)}})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n := wire.Writes(); n != 1 {
				t.Errorf("the request took %d writes, want 1 (headers and body together)", n)
			}
		})
	}
}
