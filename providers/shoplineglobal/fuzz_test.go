package shoplineglobal_test

import (
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

// FuzzParseToken runs the conformance fuzz target on the driver's parser
// of SHOPLINE's envelope, seeded with the documented answer (its access
// token being conformance.FuzzSecret), refusals and broken envelopes, and
// adds the driver's own rule: an answer it accepts is a 2xx envelope with
// code 200 whose token expires.
func FuzzParseToken(f *testing.F) {
	const ctJSON = "application/json"
	const secret = conformance.FuzzSecret
	f.Add(200, ctJSON, documentedAnswer, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"i18nCode":"SUCCESS","message":"ok","data":{"accessToken":"`+secret+`","expireTime":"2026-01-01T10:00:00.000Z","scope":"read_products"}}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"data":{"accessToken":"`+secret+`","expireTime":"2026-01-01"}}`, "", "", uint8(4))
	f.Add(200, ctJSON, `{"code":200,"data":{"accessToken":"`+secret+`"}}`, "", "", uint8(4))
	f.Add(200, ctJSON, `{"code":"200","data":{"accessToken":"`+secret+`","tokenType":"mac"}}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"expires_in":0,"data":{"accessToken":"`+secret+`"}}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"data":{"accessToken":"`+secret+`","expires_in":-1,"refresh_token":"x"}}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"data":{"accessToken":"`+secret+`","expireTime":"1999-01-01T00:00:00Z"}}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"data":{"accessToken":"`+secret+`","expireTime":123}}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"data":{"accessToken":"a\u001b[31m"}}`, "", "", uint8(0))
	f.Add(200, ctJSON, `{"code":200,"data":[]}`, "", "", uint8(0))
	f.Add(401, ctJSON, `{"code":401,"i18nCode":"\u001b[2J`+secret+`","message":"sign `+secret+` refused","data":null}`, "", "", uint8(0))
	f.Add(400, ctJSON, `{"code":400,"i18nCode":"CODE_INVALID","message":"code invalid","data":null}`, "", "", uint8(0))
	f.Add(400, ctJSON, `{"code":400,"data":null}`, "", "", uint8(4))
	f.Add(500, ctJSON, `{"code":"500","i18nCode":"error","message":"error"}`, "", "", uint8(4))
	f.Add(429, ctJSON, `{"errors":"Too Many Requests"}`, "", "", uint8(0))
	f.Add(200, "text/html", "<html><body>", "", "</body></html>", uint8(1))
	p, err := shoplineglobal.ForShop("open001")
	if err != nil {
		f.Fatal(err)
	}
	conformance.FuzzParseToken(f, conformance.TokenFuzz{
		Provider:  p,
		Now:       now,
		Requested: []string{"read_products"},
		Check: func(t *testing.T, r *driver.TokenResponse, tok *driver.Token, err error) {
			if err == nil && (tok.Expiry.IsZero() || tok.RefreshToken != "") {
				t.Errorf("ParseToken(%q): Expiry %v, refresh token %q; want an expiry and no refresh token", r.Body, tok.Expiry, tok.RefreshToken)
			}
		},
	})
}
