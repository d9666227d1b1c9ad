package shopline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/shopline"
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

// FuzzParseToken feeds SHOPLINE's ParseToken answers built from fuzzed parts
// around fields whose value is fuzzSecret: access_token when flags&1,
// refresh_token when flags&2; flags&4 makes it a refresh. The driver must not
// panic; a token it returns is a usable bearer token that expires no earlier
// than it was issued, whose resource_owner_id is in AccountID and never left
// in Extra; an error is an *Error of bounded length holding no piece of the
// credential, and a refused code says that codes expire after 600 s.
func FuzzParseToken(f *testing.F) {
	const (
		access  = `"access_token":"` + fuzzSecret + `"`
		refresh = `"refresh_token":"` + fuzzSecret + `"`
		ctJSON  = "application/json; charset=utf-8"
	)
	type seed struct {
		status         int
		ctype          string
		pre, mid, post string
		flags          uint8
	}
	for _, s := range []seed{
		// The documented answer (shared/reference/shopline-token-exchange.txt),
		// with its own tokens and with the marker in their place.
		{200, ctJSON, documentedAnswer, "", "", 0},
		{200, ctJSON, "{\n    ", ",\n    \"token_type\": \"Bearer\",\n    \"expires_in\": 15778476,\n    ",
			",\n    \"scope\": \"products orders\",\n    \"created_at\": 1678956849,\n    \"resource_owner_id\": \"5f0bda5e4e5fca0010c81fef\"\n}", 3},
		{200, ctJSON, "{", `,"token_type":"Bearer","expires_in":15778476,`, `,"scope":"products orders","created_at":1678956849,"resource_owner_id":"5f0bda5e4e5fca0010c81fef"}`, 7},
		// resource_owner_id in other shapes.
		{200, ctJSON, "{", `,"token_type":"Bearer",`, `,"resource_owner_id":12345}`, 3},
		{200, ctJSON, "{", `,"token_type":"Bearer",`, `,"resource_owner_id":null}`, 3},
		{200, ctJSON, "{", `,"token_type":"Bearer",`, `,"resource_owner_id":{"id":"m1"}}`, 3},
		{200, ctJSON, "{", `,"token_type":"Bearer","resource_owner_id":"a",`, `,"resource_owner_id":"b"}`, 3},
		// Faults.
		{401, ctJSON, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}`, "", "", 0},
		{400, ctJSON, `{"error":"invalid_grant"}`, "", "", 4},
		{200, ctJSON, `{"error":"invalid_grant",`, ",", "}", 3},
		{429, ctJSON, `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`, "", "", 4},
		{401, ctJSON, `{"error":"invalid_client"}`, "", "", 0},
		{502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body>", "", "</body></html>", 1},
		{200, "text/html", "<!DOCTYPE html><html><body>", "", "</body></html>", 3},
		{200, ctJSON, "{", `,"token_type":"mac",`, "}", 3},
		{200, ctJSON, "{", `,"token_type":"bearer","expires_in":"15778476","created_at":"1678956849",`, "}", 3},
		{200, ctJSON, `{"token_type":"Bearer","resource_owner_id":"m1",`, "", "}", 2},
		{200, ctJSON, "{", `,"token_type":"Bearer","expires_in":1e19,`, "}", 3},
		{200, ctJSON, "[{", `,"token_type":"Bearer"`, "}]", 1},
		{200, ctJSON, "null", "", "", 0},
		{200, ctJSON, `{"access_token":`, "", "", 0},
		{200, ctJSON, "\xff\xfe\xfd {", `,"token_type":"Bear`, "", 3},
	} {
		f.Add(s.status, s.ctype, s.pre, s.mid, s.post, s.flags)
	}
	now := time.Unix(1678956850, 0)
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
			Body: []byte(b.String()), Now: now, Requested: []string{"products"}}
		tok, err := shopline.Provider.ParseToken(r)
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
			for _, k := range []string{"access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope", "resource_owner_id"} {
				if _, ok := tok.Extra[k]; ok {
					t.Errorf("ParseToken(%q): Extra keeps %q (AccountID %q)", r.Body, k, tok.AccountID)
				}
			}
			// The answer as the driver read it: its resource_owner_id, when
			// a string or a number, is the account.
			var raw map[string]any
			dec := json.NewDecoder(bytes.NewReader(r.Body))
			dec.UseNumber()
			if dec.Decode(&raw) == nil {
				var want string
				switch v := raw["resource_owner_id"].(type) {
				case string:
					want = v
				case json.Number:
					want = v.String()
				default:
					want = tok.AccountID // other shapes: not checked
				}
				if tok.AccountID != want {
					t.Errorf("ParseToken(%q): AccountID %q, want resource_owner_id %q", r.Body, tok.AccountID, want)
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
		if e.Provider != "shopline" {
			t.Errorf("ParseToken(%q) error Provider %q, want shopline", r.Body, e.Provider)
		}
		if grant == "authorization_code" && e.OAuthError == "invalid_grant" && !strings.Contains(e.Msg, "600 s") {
			t.Errorf("ParseToken(%q): refused code, message %q does not name the 600 s code lifetime", r.Body, e.Msg)
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
