package conformance

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
)

// FuzzSecret stands for a credential in fuzzed token answers: a run of 26
// token characters with digits, as real tokens are.
const FuzzSecret = "SECRET-0123456789abcdefXYZ"

// TokenFuzz describes a driver's token-answer fuzz target.
type TokenFuzz struct {
	Provider  driver.Provider
	Now       time.Time // the answer's arrival
	Requested []string  // the scopes asked for
	// Lifted names the provider's fields that ParseToken moves out of
	// Extra (SHOPLINE's resource_owner_id); they must never stay there.
	Lifted []string
	// Check, when set, adds the driver's own checks of each outcome.
	Check func(t *testing.T, r *driver.TokenResponse, tok *driver.Token, err error)
}

// FuzzParseToken is the fuzz target every driver's token parser runs. Seed
// it with f.Add(status int, contentType, pre, mid, post string, flags uint8):
// the answer's body is pre, then an access_token field whose value is
// FuzzSecret when flags&1, then mid, then a refresh_token field with
// FuzzSecret when flags&2, then post; flags&4 makes it the answer to a
// refresh. For any answer the driver must
// not panic; a token it returns is a usable bearer token of a 2xx answer that
// expires no earlier than it was issued, with no standard or lifted field
// left in Extra and no credential in its String; an error is a *driver.Error
// with a Code and the driver's name, of bounded length, holding no piece of
// the credential.
func FuzzParseToken(f *testing.F, c TokenFuzz) {
	const (
		access  = `"access_token":"` + FuzzSecret + `"`
		refresh = `"refresh_token":"` + FuzzSecret + `"`
	)
	name := c.Provider.Spec().Name
	standard := append([]string{"access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope"}, c.Lifted...)
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
			Body: []byte(b.String()), Now: c.Now, Requested: slices.Clone(c.Requested)}
		tok, err := c.Provider.ParseToken(r)
		if c.Check != nil {
			c.Check(t, r, tok, err)
		}
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
			for _, k := range standard {
				if _, ok := tok.Extra[k]; ok {
					t.Errorf("ParseToken(%q): Extra keeps %q", r.Body, k)
				}
			}
			if s := tok.String(); strings.Contains(s, FuzzSecret) {
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
		if e.Provider != name {
			t.Errorf("ParseToken(%q) error Provider %q, want %s", r.Body, e.Provider, name)
		}
		text := err.Error()
		if piece := LeakedPiece(text, pre, mid, post, ctype); piece != "" {
			t.Errorf("ParseToken(%q) error %q holds %q, a piece of the credential", r.Body, text, piece)
		}
		if limit := 1500 + len(ctype); len(text) > limit {
			t.Errorf("ParseToken error is %d bytes, more than %d: %q", len(text), limit, text)
		}
	})
}

// LeakedPiece returns a 10-byte piece of FuzzSecret that out holds although
// none of the inputs does, or "".
func LeakedPiece(out string, inputs ...string) string {
	for i := 0; i+10 <= len(FuzzSecret); i++ {
		piece := FuzzSecret[i : i+10]
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
