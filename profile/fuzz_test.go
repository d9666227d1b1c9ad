package profile_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
)

// FuzzParse: for any input Parse returns a profile or an InvalidConfig
// error naming the file (never a panic, whatever the YAML library does);
// a profile it returns makes a driver whose Spec the engine accepts once
// bound with the examples, and a simulator.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	files, _ := filepath.Glob("catalog/*.yaml")
	for _, fn := range files {
		data, _ := os.ReadFile(fn)
		f.Add(data)
	}
	f.Add([]byte("a: &x [*x, *x]\nb: *x\n"))
	f.Add([]byte("name: acme\n---\nname: b\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("!!binary aGk=\n"))
	f.Add([]byte("name: {{{{\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profile.Parse("fuzz.yaml", data)
		if err != nil {
			if driver.CodeOf(err) != driver.InvalidConfig {
				t.Fatalf("error %v is not InvalidConfig", err)
			}
			var fe *profile.FieldError
			if errors.As(err, &fe) && fe.File != "fuzz.yaml" {
				t.Fatalf("FieldError names %q", fe.File)
			}
			if len(err.Error()) > 4096 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		ex := p.Example()
		spec := ex.Driver().Spec()
		for _, u := range []string{spec.Endpoint.TokenURL, spec.Endpoint.APIBaseURL} {
			if err := driver.CheckURL("endpoint", strings.ReplaceAll(u, "{client_id}", "x"), false); err != nil {
				t.Fatalf("a parsed profile's endpoint %q: %v", u, err)
			}
		}
		_ = ex.Simulator()
	})
}

// FuzzParseTokenCatalog feeds token answers to every catalog profile's
// ParseToken: never a panic; an error is a *driver.Error with a Code and
// the provider's name; a token is a valid bearer token of a 2xx answer,
// without the fields the profile maps left in Extra.
func FuzzParseTokenCatalog(f *testing.F) {
	const ct = "application/json; charset=utf-8"
	for _, b := range []string{
		`{"access_token":"abc","token_type":"bearer","expires_in":3600,"refresh_token":"def","created_at":1700000000,"scope":"a b","resource_owner_id":"m1","user_id":42,"store_id":7,"merchant_id":"M","context":"stores/h1"}`,
		`{"access_token":"abc","token_type":"bearer","expires_at":"2030-01-02T15:04:05Z","merchant_id":"M","refresh_token":"r"}`,
		`{"access_token":"abc","expires_at":"not a date"}`,
		`{"access_token":"abc","expires_at":"1999-01-02T15:04:05Z","token_type":"bearer"}`,
		`{"access_token":"abc","scope":["a","b"],"context":"shops/h1"}`,
		`{"access_token":"abc","scope":"a,b","user_id":"a\u001b[2J"}`,
		`{"access_token":"a\r\nb","token_type":"Bearer","expires_in":-1}`,
		`{"error":"invalid_grant"}`,
		`<html>`,
	} {
		for _, st := range []int{200, 400, 503} {
			f.Add(uint8(0), st, ct, b)
		}
	}
	profiles := profile.Catalog()
	f.Fuzz(func(t *testing.T, which uint8, status int, ctype, body string) {
		p := profiles[int(which)%len(profiles)]
		drv := p.Driver()
		r := &driver.TokenResponse{Grant: "authorization_code", Status: status, Header: http.Header{"Content-Type": {ctype}},
			Body: []byte(body), Now: time.Unix(1_700_000_000, 0), Requested: []string{"read"}}
		tok, err := drv.ParseToken(r)
		if err != nil {
			var e *driver.Error
			if !errors.As(err, &e) || e.Code == driver.Unknown || e.Provider != p.Name {
				t.Fatalf("%s: error %#v", p.Name, err)
			}
			return
		}
		if status/100 != 2 {
			t.Fatalf("%s: a token from a %d answer", p.Name, status)
		}
		if tok.TokenType != "Bearer" || tok.AccessToken == "" {
			t.Fatalf("%s: token %v", p.Name, tok)
		}
		if err := driver.ValidateToken(tok); err != nil {
			t.Fatalf("%s: ValidateToken: %v", p.Name, err)
		}
		for _, k := range []string{p.Answer.AccessToken, p.Answer.RefreshToken, p.Answer.Expiry.Field, p.Answer.CreatedAt, p.Answer.Scope} {
			if k == "" || strings.Contains(k, ".") {
				continue
			}
			if _, ok := tok.Extra[k]; ok {
				t.Fatalf("%s: Extra holds the mapped field %q", p.Name, k)
			}
		}
		if k := p.Account.Field; k != "" && !strings.Contains(k, ".") {
			if _, ok := tok.Extra[k]; ok {
				t.Fatalf("%s: Extra holds the account field %q", p.Name, k)
			}
		}
	})
}
