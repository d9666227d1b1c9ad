package jumpseller_test

import (
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/providers/internal/providertest"
	"github.com/connector-go/connector/providers/jumpseller"
)

// FuzzParseToken runs the conformance fuzz target on Jumpseller's token
// parser, seeded with the documented answer and the faults a Doorkeeper
// server sends.
func FuzzParseToken(f *testing.F) {
	const ctJSON = "application/json; charset=utf-8"
	// The documented answer (https://jumpseller.com/support/oauth-2/, "The
	// User receives the tokens"), with its own tokens and with the marker in their place.
	f.Add(200, ctJSON, documentedAnswer, "", "", uint8(0))
	f.Add(200, ctJSON, "{\n", ",\n\"token_type\":\"bearer\",\n\"expires_in\":3600,\n", ",\n\"created_at\":1502473092\n}", uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":3600,`, `,"created_at":1502473092}`, uint8(7))
	// Faults.
	f.Add(401, ctJSON, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}`, "", "", uint8(4))
	f.Add(401, ctJSON, `{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}`, "", "", uint8(0))
	f.Add(429, "text/plain", "Too Many Requests", "", "", uint8(0))
	f.Add(503, ctJSON, `{"error":"temporarily_unavailable"}`, "", "", uint8(4))
	f.Add(502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>", "", "</body>\r\n</html>", uint8(1))
	f.Add(200, ctJSON, "{", ",", `,"token_type":"mac","expires_in":3600}`, uint8(3))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","expires_in":"3600",`, "}", uint8(3))
	f.Add(200, ctJSON, `{"token_type":"bearer",`, "", "}", uint8(2))
	f.Add(200, ctJSON, "{", `,"token_type":"bearer","created_at":99999999999999999999,`, "}", uint8(3))
	providertest.SeedBroken(f, "bearer")
	conformance.FuzzParseToken(f, conformance.TokenFuzz{
		Provider:  jumpseller.Provider,
		Now:       app.Now,
		Requested: []string{"read_store"},
	})
}
