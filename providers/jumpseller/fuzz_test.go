package jumpseller_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/jumpseller"
)

// fuzzSecret stands for a credential in fuzzed token answers: a run of 26
// token characters with digits, as real tokens are.
const fuzzSecret = "SECRET-0123456789abcdefXYZ"

// leakedPiece returns a 10-byte piece of fuzzSecret that out holds although
// none of the inputs does, or "".
func leakedPiece(out string, inputs ...string) string {
	for i := 0; i+10 <= len(fuzzSecret); i++ {
		piece := fuzzSecret[i : i+10]
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

// FuzzParseToken feeds Jumpseller's ParseToken answers built from fuzzed
// parts around fields whose value is fuzzSecret: access_token when flags&1,
// refresh_token when flags&2; flags&4 makes it a refresh. The driver must not
// panic; a token it returns is a usable bearer token that expires no earlier
// than it was issued; an error is an *Error of bounded length holding no
// piece of the credential.
func FuzzParseToken(f *testing.F) {
	const (
		access  = `"access_token":"` + fuzzSecret + `"`
		refresh = `"refresh_token":"` + fuzzSecret + `"`
		json    = "application/json; charset=utf-8"
	)
	type seed struct {
		status         int
		ctype          string
		pre, mid, post string
		flags          uint8
	}
	for _, s := range []seed{
		// The documented answer (shared/reference/jumpseller-oauth.txt), with
		// its own tokens and with the marker in their place.
		{200, json, documentedAnswer, "", "", 0},
		{200, json, "{\n", ",\n\"token_type\":\"bearer\",\n\"expires_in\":3600,\n", ",\n\"created_at\":1502473092\n}", 3},
		{200, json, "{", `,"token_type":"bearer","expires_in":3600,`, `,"created_at":1502473092}`, 7},
		// Faults.
		{401, json, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}`, "", "", 4},
		{401, json, `{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}`, "", "", 0},
		{200, json, `{"error":"invalid_grant",`, ",", "}", 3},
		{429, "text/plain", "Too Many Requests", "", "", 0},
		{503, json, `{"error":"temporarily_unavailable"}`, "", "", 4},
		{502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>", "", "</body>\r\n</html>", 1},
		{200, "text/html", "<!DOCTYPE html><html><body>", "", "</body></html>", 3},
		{200, json, "{", ",", `,"token_type":"mac","expires_in":3600}`, 3},
		{200, json, "{", `,"token_type":"bearer","expires_in":"3600",`, "}", 3},
		{200, json, `{"token_type":"bearer",`, "", "}", 2},
		{200, json, "{", `,"token_type":"bearer","expires_in":1e19,`, "}", 3},
		{200, json, "{", `,"token_type":"bearer","created_at":99999999999999999999,`, "}", 3},
		{200, json, "[{", `,"token_type":"bearer"`, "}]", 1},
		{200, json, "null", "", "", 0},
		{200, json, `{"access_token":`, "", "", 0},
		{200, json, "\xff\xfe\xfd {", `,"token_type":"bear`, "", 3},
	} {
		f.Add(s.status, s.ctype, s.pre, s.mid, s.post, s.flags)
	}
	now := time.Unix(1502473100, 0)
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
		r := &driver.TokenResponse{Grant: grant, Status: status, Header: http.Header{"Content-Type": {ctype}},
			Body: []byte(b.String()), Now: now, Requested: []string{"read_store"}}
		tok, err := jumpseller.Provider.ParseToken(r)
		if err == nil {
			switch {
			case tok == nil:
				t.Fatalf("ParseToken(%q) = nil, nil", r.Body)
			case tok.TokenType != "Bearer":
				t.Errorf("ParseToken(%q): TokenType %q, want Bearer", r.Body, tok.TokenType)
			case tok.AccessToken == "":
				t.Errorf("ParseToken(%q): empty AccessToken", r.Body)
			case status/100 != 2:
				t.Errorf("ParseToken(%q) accepted status %d", r.Body, status)
			case !tok.Expiry.IsZero() && tok.Expiry.Before(tok.IssuedAt):
				t.Errorf("ParseToken(%q): Expiry %v before IssuedAt %v", r.Body, tok.Expiry, tok.IssuedAt)
			}
			for _, k := range []string{"access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope"} {
				if _, ok := tok.Extra[k]; ok {
					t.Errorf("ParseToken(%q): Extra keeps %q", r.Body, k)
				}
			}
			if s := tok.String(); strings.Contains(s, fuzzSecret) {
				t.Errorf("Token.String() %q shows the credential", s)
			}
			return
		}
		var e *driver.Error
		if !errors.As(err, &e) {
			t.Fatalf("ParseToken(%q) error %T %v, want *driver.Error", r.Body, err, err)
		}
		if e.Code == driver.Unknown {
			t.Errorf("ParseToken(%q) error without a Code: %v", r.Body, err)
		}
		if e.Provider != "jumpseller" {
			t.Errorf("ParseToken(%q) error Provider %q, want jumpseller", r.Body, e.Provider)
		}
		text := err.Error()
		if piece := leakedPiece(text, pre, mid, post, ctype); piece != "" {
			t.Errorf("ParseToken(%q) error %q holds %q, a piece of the credential", r.Body, text, piece)
		}
		if limit := 1500 + len(ctype); len(text) > limit {
			t.Errorf("ParseToken error is %d bytes, more than %d: %q", len(text), limit, text)
		}
	})
}
