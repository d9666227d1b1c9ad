package driver_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
)

// marker stands for a credential in fuzzed token answers. It is a run of 26
// token characters with digits, as real tokens are.
const marker = "SECRET-0123456789abcdefXYZ"

// leakedWindow returns a 10-byte piece of marker that out holds although
// none of the inputs does, or "".
func leakedWindow(out string, inputs ...string) string {
	const w = 10
	for i := 0; i+w <= len(marker); i++ {
		piece := marker[i : i+w]
		if !strings.Contains(out, piece) {
			continue
		}
		from := false
		for _, in := range inputs {
			from = from || strings.Contains(in, piece)
		}
		if !from {
			return piece
		}
	}
	return ""
}

// FuzzExcerpt checks that every excerpt is short, one valid UTF-8 line
// without credential-like runs, and that a credential inserted anywhere in
// a body leaves no piece of itself in the excerpt.
func FuzzExcerpt(f *testing.F) {
	seeds := [][2]string{
		{"", ""},
		{`{"access_token":"`, `","token_type":"bearer","expires_in":3600}`},
		{`{"error":"invalid_grant","error_description":"`, `"}`},
		{"grant_type=refresh_token&refresh_token=", "&client_id=x"},
		{"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>", "</body></html>"},
		{"Authorization: Bearer ", "\r\n"},
		{strings.Repeat("\t\n", 230), " tail"},
		{strings.Repeat("é", 70), strings.Repeat("€", 50)},
		// Regressions. A credential cut in two by the 480-byte window
		// showed its head.
		{strings.Repeat(" ", 470), ""},
		// Case-folding with strings.ToLower moved byte offsets: invalid
		// UTF-8 made redactFields panic (the fuzzer's first find, kept in
		// testdata/fuzz/FuzzExcerpt), the Kelvin sign made it loop forever,
		// and either could leave a field unredacted.
		{"\xff\xfe\xfd token=", "&x=1"},
		{"\u212a\u212atoken=", ""},
		{"\u0130\u0130\u0130 x code=", ""},
		{`{"code":"`, `\"x","secret":"y"}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, pre, post []byte) {
		plain := string(pre) + string(post)
		checkExcerpt(t, driver.Excerpt([]byte(plain)))

		body := string(pre) + marker + string(post)
		got := driver.Excerpt([]byte(body))
		checkExcerpt(t, got)
		if piece := leakedWindow(got, string(pre), string(post)); piece != "" {
			t.Errorf("Excerpt(%q) = %q holds %q, a piece of the credential", body, got, piece)
		}
	})
}

// FuzzParseStandardToken feeds token answers built from fuzzed parts around
// fields whose values are the marker credential: access_token when
// flags&1, refresh_token when flags&2. Whatever the answer, ParseStandardToken
// must not panic; a token it returns is a usable bearer token; an error it
// returns is an *Error of bounded length that holds no piece of the
// credential.
func FuzzParseStandardToken(f *testing.F) {
	const (
		access  = `"access_token":"` + marker + `"`
		refresh = `"refresh_token":"` + marker + `"`
		json    = "application/json; charset=utf-8"
	)
	type seed struct {
		status         int
		ctype          string
		pre, mid, post string
		flags          uint8
	}
	seeds := []seed{
		// Jumpseller, as documented (shared/reference/jumpseller-oauth.txt).
		{200, json, "{", `,"token_type":"bearer","expires_in":3600,`, `,"created_at":1502473092}`, 3},
		// SHOPLINE, as documented (shared/reference/shopline-token-exchange.txt).
		{200, json, "{\n    ", ",\n    \"token_type\": \"Bearer\",\n    \"expires_in\": 15778476,\n    ",
			",\n    \"scope\": \"products orders\",\n    \"created_at\": 1678956849,\n    \"resource_owner_id\": \"5f0bda5e4e5fca0010c81fef\"\n}", 3},
		{200, json, "{", `,"token_type":"BEARER","expires_in":"3600",`, `}`, 3},
		{200, json, "{", `,"token_type":"mac",`, `}`, 3},
		{200, json, "{", `,`, `,"expires_in":0}`, 3},
		// Regression: a lifetime beyond time.Duration wrapped around to an
		// expiry 292 years in the past.
		{200, json, "{", `,"token_type":"bearer","expires_in":1e19,`, `}`, 3},
		{200, json, "{", `,"token_type":"bearer","expires_in":"Inf",`, `}`, 3},
		{200, json, "{", `,"token_type":"bearer","expires_in":-5,"created_at":"1502473092",`, `}`, 3},
		{200, json, `{"token_type":"bearer",`, ``, `}`, 2},
		{200, json, `{"error":"invalid_grant",`, `,`, `}`, 3},
		{400, json, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}`, "", "", 0},
		{401, json, `{"error":"invalid_client","error_description":"Client authentication failed"}`, "", "", 0},
		{429, json, `{"error":"Rate limit exceeded, retry later","code":"RateLimitExceeded"}`, "", "", 0},
		{503, json, `{"error":"temporarily_unavailable"}`, "", "", 0},
		{200, "text/html", "<!DOCTYPE html><html><body><h1>We're sorry</h1>", "", "</body></html>", 1},
		{502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "", "", 0},
		{200, json, `{"access_token":`, "", "", 0},
		{200, json, "[{", `,"token_type":"bearer"`, "}]", 1},
		{200, json, "null", "", "", 0},
		{200, json, "", "", "", 0},
		// Regression: the error field went into the message whole.
		{200, json, `{"error":"` + strings.Repeat("x", 4000) + `"}`, "", "", 0},
		// Regression: invalid UTF-8 before a field (see FuzzExcerpt).
		{200, json, "\xff\xff\xff\xff\xff\xff\xff\xff {", `,"token_type":"bear`, "", 3},
	}
	for _, s := range seeds {
		f.Add(s.status, s.ctype, s.pre, s.mid, s.post, s.flags)
	}
	spec := &driver.Spec{Name: "fuzz", ScopeSeparator: " ", DefaultLifetime: time.Hour}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, ctype, pre, mid, post string, flags uint8) {
		var b strings.Builder
		b.WriteString(pre)
		if flags&1 != 0 {
			b.WriteString(access)
		}
		b.WriteString(mid)
		if flags&2 != 0 {
			b.WriteString(refresh)
		}
		b.WriteString(post)
		grant := "authorization_code"
		if flags&4 != 0 {
			grant = "refresh_token"
		}
		r := &driver.TokenResponse{
			Grant: grant, Status: status, Header: http.Header{"Content-Type": {ctype}},
			Body: []byte(b.String()), Now: now, Requested: []string{"read_store"},
		}
		tok, err := driver.ParseStandardToken(spec, r)
		if err == nil {
			switch {
			case tok == nil:
				t.Fatalf("ParseStandardToken(%q) = nil, nil", r.Body)
			case tok.TokenType != "Bearer":
				t.Errorf("ParseStandardToken(%q): TokenType %q, want Bearer", r.Body, tok.TokenType)
			case tok.AccessToken == "":
				t.Errorf("ParseStandardToken(%q): empty AccessToken", r.Body)
			case status/100 != 2:
				t.Errorf("ParseStandardToken(%q) accepted status %d", r.Body, status)
			case !tok.Expiry.IsZero() && tok.Expiry.Before(tok.IssuedAt):
				t.Errorf("ParseStandardToken(%q): Expiry %v before IssuedAt %v", r.Body, tok.Expiry, tok.IssuedAt)
			}
			for _, k := range []string{"access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope"} {
				if _, ok := tok.Extra[k]; ok {
					t.Errorf("ParseStandardToken(%q): Extra keeps %q", r.Body, k)
				}
			}
			return
		}
		var e *driver.Error
		if !errors.As(err, &e) {
			t.Fatalf("ParseStandardToken(%q) error %T %v, want *driver.Error", r.Body, err, err)
		}
		if e.Code == driver.Unknown {
			t.Errorf("ParseStandardToken(%q) error without a Code: %v", r.Body, err)
		}
		text := err.Error()
		if piece := leakedWindow(text, pre, mid, post, ctype); piece != "" {
			t.Errorf("ParseStandardToken(%q) error %q holds %q, a piece of the credential", r.Body, text, piece)
		}
		// The answer contributes at most a few short excerpts; only the
		// Content-Type header is copied whole.
		if limit := 1500 + len(ctype); len(text) > limit {
			t.Errorf("ParseStandardToken error is %d bytes, more than %d: %q", len(text), limit, text)
		}
	})
}
