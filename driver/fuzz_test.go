package driver_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
	// Jumpseller, as documented (shared/reference/jumpseller-oauth.txt).
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":3600,`, `,"created_at":1502473092}`, uint8(3))
	// SHOPLINE, as documented (shared/reference/shopline-token-exchange.txt).
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
