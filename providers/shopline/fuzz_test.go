package shopline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/internal/providertest"
	"github.com/connector-go/connector/providers/shopline"
)

// FuzzParseToken runs the conformance fuzz target on SHOPLINE's token
// parser, seeded with the documented answer and faults, and adds SHOPLINE's
// own rules: resource_owner_id (a string or a number) becomes AccountID, and
// a refused code names the 600 s code lifetime.
func FuzzParseToken(f *testing.F) {
	const ctJSON = "application/json; charset=utf-8"
	// The documented answer (https://shopline-developers.readme.io/docs/get-started,
	// "Token Exchange"), with its own tokens and with the marker in their place.
	f.Add(200, ctJSON, documentedAnswer, "", "", uint8(0))
	f.Add(200, ctJSON, "{\n    ", ",\n    \"token_type\": \"Bearer\",\n    \"expires_in\": 15778476,\n    ", ",\n    \"scope\": \"products orders\",\n    \"created_at\": 1678956849,\n    \"resource_owner_id\": \"5f0bda5e4e5fca0010c81fef\"\n}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer","expires_in":15778476,`, `,"scope":"products orders","created_at":1678956849,"resource_owner_id":"5f0bda5e4e5fca0010c81fef"}`, uint8(7))
	// resource_owner_id in other shapes.
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer",`, `,"resource_owner_id":12345}`, uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer",`, `,"resource_owner_id":null}`, uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer",`, `,"resource_owner_id":{"id":"m1"}}`, uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer","resource_owner_id":"a",`, `,"resource_owner_id":"b"}`, uint8(3))
	// resource_owner_id that ValidateAccount refuses (ANSI escapes,
	// newlines and bidi controls are seeded by conformance.FuzzParseToken).
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer","resource_owner_id":"`+strings.Repeat("m", 257)+`",`, "}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer","resource_owner_id":"m 1",`, "}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"Bearer","resource_owner_id":"\u0000",`, "}", uint8(3))
	// Faults.
	f.Add(401, ctJSON, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}`, "", "", uint8(0))
	f.Add(400, ctJSON, `{"error":"invalid_grant"}`, "", "", uint8(4))
	f.Add(429, ctJSON, `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`, "", "", uint8(4))
	f.Add(401, ctJSON, `{"error":"invalid_client"}`, "", "", uint8(0))
	f.Add(502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body>", "", "</body></html>", uint8(1))
	f.Add(200, ctJSON, "{", `,"token_type":"mac",`, "}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":"15778476","created_at":"1678956849",`, "}", uint8(3))
	f.Add(200, ctJSON, `{"token_type":"Bearer","resource_owner_id":"m1",`, "", "}", uint8(2))
	providertest.SeedBroken(f, "Bearer")
	conformance.FuzzParseToken(f, conformance.TokenFuzz{
		Provider:  shopline.Provider,
		Now:       app.Now,
		Requested: []string{"products"},
		Lifted:    []string{"resource_owner_id"},
		Check:     checkShopline,
	})
}

func checkShopline(t *testing.T, r *driver.TokenResponse, tok *driver.Token, err error) {
	if err != nil {
		var e *driver.Error
		if errors.As(err, &e) && strings.HasPrefix(e.Msg, "account id ") && e.Excerpt != "" {
			t.Errorf("ParseToken(%q): refused account, error carries the excerpt %q", r.Body, e.Excerpt)
		}
		if r.Grant == "authorization_code" && errors.As(err, &e) && e.OAuthError == "invalid_grant" && !strings.Contains(e.Msg, "600 s") {
			t.Errorf("ParseToken(%q): refused code, message %q does not name the 600 s code lifetime", r.Body, e.Msg)
		}
		return
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if dec.Decode(&raw) != nil {
		return
	}
	want := tok.AccountID // other shapes: not checked
	switch v := raw["resource_owner_id"].(type) {
	case string:
		want = v
	case json.Number:
		want = v.String()
	}
	if tok.AccountID != want {
		t.Errorf("ParseToken(%q): AccountID %q, want resource_owner_id %q", r.Body, tok.AccountID, want)
	}
}
