package driver_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
)

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

		body := string(pre) + conformance.FuzzSecret + string(post)
		got := driver.Excerpt([]byte(body))
		checkExcerpt(t, got)
		if piece := conformance.LeakedPiece(got, string(pre), string(post)); piece != "" {
			t.Errorf("Excerpt(%q) = %q holds %q, a piece of the credential", body, got, piece)
		}
	})
}

// standardOnly is a driver that is nothing but ParseStandardToken, so that
// the conformance fuzz target exercises the standard parser itself.
type standardOnly struct{ spec *driver.Spec }

func (p standardOnly) Spec() *driver.Spec { return p.spec }
func (p standardOnly) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	return driver.ParseStandardToken(p.spec, r)
}
func (standardOnly) Identify(context.Context, *driver.Env, *driver.Token) (string, error) {
	return "", nil
}

// FuzzParseStandardToken runs conformance.FuzzParseToken on the standard
// (Doorkeeper) parser every driver builds on.
func FuzzParseStandardToken(f *testing.F) {
	const ctJSON = "application/json; charset=utf-8"
	// Jumpseller, as documented (https://jumpseller.com/support/oauth-2/).
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":3600,`, `,"created_at":1502473092}`, uint8(3))
	// SHOPLINE, as documented (https://shopline-developers.readme.io/docs/get-started, "Token Exchange").
	f.Add(200, ctJSON, "{\n    ", ",\n    \"token_type\": \"Bearer\",\n    \"expires_in\": 15778476,\n    ", ",\n    \"scope\": \"products orders\",\n    \"created_at\": 1678956849,\n    \"resource_owner_id\": \"5f0bda5e4e5fca0010c81fef\"\n}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"BEARER","expires_in":"3600",`, `}`, uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"mac",`, `}`, uint8(3))
	f.Add(200, ctJSON, "{", `,`, `,"expires_in":0}`, uint8(3))
	// Regression: a lifetime beyond time.Duration wrapped around to an
	// expiry 292 years in the past.
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":1e19,`, `}`, uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":"Inf",`, `}`, uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":-5,"created_at":"1502473092",`, `}`, uint8(3))
	f.Add(200, ctJSON, `{"token_type":"bearer",`, ``, `}`, uint8(2))
	f.Add(200, ctJSON, `{"error":"invalid_grant",`, `,`, `}`, uint8(3))
	f.Add(400, ctJSON, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}`, "", "", uint8(0))
	f.Add(401, ctJSON, `{"error":"invalid_client","error_description":"Client authentication failed"}`, "", "", uint8(0))
	f.Add(429, ctJSON, `{"error":"Rate limit exceeded, retry later","code":"RateLimitExceeded"}`, "", "", uint8(0))
	f.Add(503, ctJSON, `{"error":"temporarily_unavailable"}`, "", "", uint8(0))
	f.Add(200, "text/html", "<!DOCTYPE html><html><body><h1>We're sorry</h1>", "", "</body></html>", uint8(1))
	f.Add(502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "", "", uint8(0))
	f.Add(200, ctJSON, `{"access_token":`, "", "", uint8(0))
	f.Add(200, ctJSON, "[{", `,"token_type":"bearer"`, "}]", uint8(1))
	f.Add(200, ctJSON, "null", "", "", uint8(0))
	f.Add(200, ctJSON, "", "", "", uint8(0))
	// Regression: the error field went into the message whole.
	f.Add(200, ctJSON, `{"error":"`+strings.Repeat("x", 4000)+`"}`, "", "", uint8(0))
	// Regression: invalid UTF-8 before a field (see FuzzExcerpt).
	f.Add(200, ctJSON, "\xff\xff\xff\xff\xff\xff\xff\xff {", `,"token_type":"bear`, "", uint8(3))
	conformance.FuzzParseToken(f, conformance.TokenFuzz{
		Provider:  standardOnly{&driver.Spec{Name: "fuzz", ScopeSeparator: " ", DefaultLifetime: time.Hour}},
		Now:       time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Requested: []string{"read_store"},
	})
}

// FuzzScrubString checks that no form of a secret survives ScrubString, even
// where a replacement meets its neighbours (a secret holding "[", or found
// inside "[redacted]"), and that Scrub of an error chain holding the text
// shows no secret and keeps the error's code and its context error.
func FuzzScrubString(f *testing.F) {
	seeds := [][2]string{
		{"client secret ab1 is not valid", "ab1"},
		{"client_secret=p%40ss%3Bw0rd%26x%3D1%2B%2F", "p@ss;w0rd&x=1+/"},
		{`{"d":"p@ss;w0rd\u0026x=1+\/"}`, "p@ss;w0rd&x=1+/"},
		{"basic c2VjcmV0K3NlY3JldA==", "c2VjcmV0K3NlY3JldA=="},
		{"aa[r", "a[r"},
		{"a[ra[r[", "a[r"},
		{"[redacted] red", "red"},
		{"]]]", "]"},
		{"x…", "x"},
		{"aaaaaaaa", "aa"},
		{"\xff\xfe", "\xfe"},
		{"…", "\xa6"},
		{"two  words", "two \twords"},
		{"connector: x", "connector"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, secret string) {
		if secret == "" {
			return
		}
		got := driver.ScrubString(s, secret)
		if strings.Contains(got, secret) {
			t.Fatalf("ScrubString(%q, %q) = %q holds the secret", s, secret, got)
		}
		for _, form := range secretForms(secret) {
			if strings.Contains(got, form) {
				t.Fatalf("ScrubString(%q, %q) = %q holds its form %q", s, secret, got, form)
			}
		}
		// A secret whose escaped forms are all among secretForms (printable
		// ASCII that neither JSON nor Go quoting escapes) leaves a text
		// without them, and without a "…", as it is.
		plain := !strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"\<>&`, r) })
		if plain && !strings.Contains(s, "…") {
			clean := true
			for _, form := range secretForms(secret) {
				clean = clean && !strings.Contains(s, form)
			}
			if clean && got != s {
				t.Fatalf("ScrubString(%q, %q) = %q changed a text without the secret", s, secret, got)
			}
		}

		err := &driver.Error{Code: driver.InvalidClient, Op: "exchange", Msg: s, OAuthDescription: s, Excerpt: s,
			Err: fmt.Errorf("post %s: %w", s, context.Canceled)}
		before := err.Error()
		scrubbed := driver.Scrub(err, secret)
		if text := scrubbed.Error(); strings.Contains(text, secret) {
			t.Fatalf("Scrub(err, %q).Error() = %q holds the secret", secret, text)
		}
		if driver.CodeOf(scrubbed) != driver.InvalidClient || !errors.Is(scrubbed, context.Canceled) {
			t.Fatalf("Scrub(err, %q) = %v: code %v, Is(Canceled) %v", secret, scrubbed, driver.CodeOf(scrubbed), errors.Is(scrubbed, context.Canceled))
		}
		if err.Error() != before {
			t.Fatalf("Scrub modified its argument")
		}
	})
}

// b64token and vschar are the grammars of RFC 6750 §2.1 and RFC 6749
// Appendix A.17, as regular expressions: an oracle for ValidateToken.
var (
	b64token = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)
	vschar   = regexp.MustCompile(`^[\x20-\x7e]+$`)
	// tokenMsg is every message ValidateToken may give about a token:
	// the field, the grammar, a position and a kind of byte, never a value.
	tokenMsg = regexp.MustCompile(`^(access_token is not an RFC 6750 b64token|refresh_token is not RFC 6749 VSCHAR): byte [0-9]+ is ` +
		`(a control character|a space|a non-ASCII byte|a character after '=' padding|'=' padding with nothing before it|` +
		`a character outside the b64token set \(letters, digits, - \. _ ~ \+ / and final = padding\))$`)
)

// FuzzValidateToken checks ValidateToken against the grammars written as
// regular expressions, and that its messages show no token and nothing a
// terminal would act on.
func FuzzValidateToken(f *testing.F) {
	f.Add("80de978742714f8747036188cf6bab538e976adf72144d545e185ae444bc473d", "r", "shop")
	f.Add("a\r\nX-Injected: 1", "r\r\n", "shop\r\n")
	f.Add("abc==", "a b", "\x1b[31mred")
	f.Add("=", "\x7f", "shop\u202e")
	f.Add("a=b", "é", strings.Repeat("a", 257))
	f.Add(" is a space", "", "\xff")
	f.Fuzz(func(t *testing.T, access, refresh, account string) {
		err := driver.ValidateToken(&driver.Token{AccessToken: access, RefreshToken: refresh})
		want := (access == "" || b64token.MatchString(access)) && (refresh == "" || vschar.MatchString(refresh))
		if (err == nil) != want {
			t.Fatalf("ValidateToken(access %q, refresh %q) = %v, want valid %v", access, refresh, err, want)
		}
		if err != nil {
			var e *driver.Error
			if !errors.As(err, &e) || e.Code != driver.BadResponse || !tokenMsg.MatchString(e.Msg) {
				t.Fatalf("ValidateToken(access %q, refresh %q): error %#v", access, refresh, err)
			}
		}

		err = driver.ValidateAccount(account)
		valid := account != "" && len(account) <= driver.MaxAccountLen && utf8.ValidString(account) &&
			!strings.ContainsFunc(account, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) })
		if (err == nil) != valid {
			t.Fatalf("ValidateAccount(%q) = %v, want valid %v", account, err, valid)
		}
		if err != nil {
			checkPrintable(t, err.Error())
		}
		if (driver.ValidateToken(&driver.Token{AccountID: account}) == nil) != (valid || account == "") {
			t.Fatalf("ValidateToken and ValidateAccount disagree on %q", account)
		}
	})
}
