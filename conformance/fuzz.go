package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
// refresh. FuzzParseToken adds seeds of its own: CR/LF in access_token and
// refresh_token, terminal escapes and newlines in each Lifted field,
// expires_in 0 and -1, and an error_description that echoes the client
// secret.
//
// For any answer the driver must not panic. A token it returns is a usable
// bearer token of a 2xx answer that driver.ValidateToken accepts (its
// tokens within the RFC 6750/6749 grammars, its account printable, its
// lifetime positive); the answer had no expires_in of 0 or less (a JSON
// number or a numeric string, NaN included); the token expires (Expiry is
// set) whenever the answer has a positive expires_in or the Spec a
// DefaultLifetime; no standard or lifted field is left in Extra and its
// String shows no credential. An error is a *driver.Error with a Code and
// the driver's name, of bounded length, printable (nothing a terminal would
// act on), holding no piece of the credential, and driver.Scrub removes the
// credential from it without changing its Code.
func FuzzParseToken(f *testing.F, c TokenFuzz) {
	const ctJSON = "application/json; charset=utf-8"

	// Answers the engine must refuse (issue: tokens and accounts that break
	// headers, logs or terminals; lifetimes read as "never expires").
	f.Add(200, ctJSON, `{"access_token":"a\r\nX-Injected: 1","token_type":"bearer","expires_in":3600}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"token_type":"bearer","expires_in":3600,"access_token":"`+FuzzSecret+`\r\nX-Injected: 1",`, "", "}", uint8(2))
	f.Add(200, ctJSON, `{"token_type":"bearer","expires_in":3600,"refresh_token":"r\r\nX-Injected: 1",`, "", "}", uint8(1))
	f.Add(200, ctJSON, `{"token_type":"bearer","access_token":"a b",`, "", "}", uint8(2))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":0,`, "}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":-1,`, "}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":"0",`, "}", uint8(7))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":"NaN",`, "}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":1e-10,`, "}", uint8(3))
	for _, field := range c.Lifted {
		f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":3600,"`+field+`":"\u001b[31mred\nroot",`, "}", uint8(3))
		f.Add(200, ctJSON, "{", `,"token_type":"bearer","`+field+`":"shop\r\nX-Injected: 1",`, "}", uint8(3))
		f.Add(200, ctJSON, "{", `,"token_type":"bearer","`+field+`":"shop\u202egnp.exe",`, "}", uint8(3))
	}
	f.Add(401, ctJSON, `{"error":"invalid_client","error_description":"client secret `+FuzzSecret+` is not valid"}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"error":"\u001b[2Jinvalid_client","error_description":"client secret `+FuzzSecret+`"}`, "", "", uint8(0))

	f.Fuzz(func(t *testing.T, status int, ctype, pre, mid, post string, flags uint8) {
		checkTokenAnswer(t, c, status, ctype, pre, mid, post, flags)
	})
}

// checkTokenAnswer is one run of FuzzParseToken; t is a testing.TB so that
// the self-tests can run it against broken drivers. c.Check runs only when
// t is a *testing.T.
func checkTokenAnswer(t testing.TB, c TokenFuzz, status int, ctype, pre, mid, post string, flags uint8) {
	const (
		access  = `"access_token":"` + FuzzSecret + `"`
		refresh = `"refresh_token":"` + FuzzSecret + `"`
	)
	spec := c.Provider.Spec()
	name := spec.Name
	standard := append([]string{"access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope"}, c.Lifted...)
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
	if tt, ok := t.(*testing.T); ok && c.Check != nil {
		c.Check(tt, r, tok, err)
	}
	if err == nil {
		ei, hasEI := expiresIn(r.Body)
		switch {
		case tok == nil:
			t.Fatalf("ParseToken(%q) = nil, nil", r.Body)
		case tok.TokenType != "Bearer":
			t.Errorf("ParseToken(%q): TokenType %q, want Bearer", r.Body, tok.TokenType)
		case tok.AccessToken == "":
			t.Errorf("ParseToken(%q): empty AccessToken", r.Body)
		case status/100 != 2:
			t.Errorf("ParseToken(%q) accepted status %d", r.Body, status)
		case hasEI && !(ei > 0):
			t.Errorf("ParseToken(%q) accepted expires_in %v: a lifetime must be positive", r.Body, ei)
		case tok.Expiry.IsZero() && hasEI:
			t.Errorf("ParseToken(%q): no Expiry although expires_in is %v", r.Body, ei)
		case tok.Expiry.IsZero() && spec.DefaultLifetime > 0:
			t.Errorf("ParseToken(%q): no Expiry although the Spec's DefaultLifetime is %v", r.Body, spec.DefaultLifetime)
		}
		if verr := driver.ValidateToken(tok); verr != nil {
			t.Errorf("ParseToken(%q) returned a token that ValidateToken refuses: %v", r.Body, verr)
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
	if limit := 1500 + len(strconv.Quote(ctype)); len(text) > limit { // a Content-Type with controls is quoted
		t.Errorf("ParseToken error is %d bytes, more than %d: %q", len(text), limit, text)
	}
	if !utf8.ValidString(text) {
		t.Errorf("ParseToken(%q) error %q is not valid UTF-8", r.Body, text)
	}
	for _, ch := range text {
		if !strconv.IsPrint(ch) {
			t.Errorf("ParseToken(%q) error %q holds %U, which a terminal could act on", r.Body, text, ch)
			break
		}
	}
	scrubbed := driver.Scrub(err, FuzzSecret)
	if s := scrubbed.Error(); strings.Contains(s, FuzzSecret) {
		t.Errorf("Scrub(err, FuzzSecret).Error() = %q holds the credential", s)
	}
	if driver.CodeOf(scrubbed) != e.Code {
		t.Errorf("Scrub changed the code %v to %v", e.Code, driver.CodeOf(scrubbed))
	}
}

// expiresIn reads a token answer's expires_in as driver.ParseStandardToken
// does: a JSON number or a numeric string (RFC 6749 §5.1 makes it a number;
// "at least PayPal returns string", as golang.org/x/oauth2 puts it), a number
// beyond float64's range as ±Inf. ok is false when the body is no JSON
// object or its expires_in is absent or not numeric.
func expiresIn(body []byte) (v float64, ok bool) {
	var m map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(body)).Decode(&m) != nil {
		return 0, false
	}
	raw := m["expires_in"]
	var s string
	switch {
	case json.Unmarshal(raw, &s) == nil:
		s = strings.TrimSpace(s)
	case len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9'):
		s = string(raw)
	default:
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil || errors.Is(err, strconv.ErrRange)
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
