package profile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
	"github.com/google/go-cmp/cmp"
)

// minimal is a small valid profile; the cases below break one line of it.
const minimal = `name: acme
display_name: Acme Shop
docs: https://developers.acme.example/oauth
properties:
  - name: shop
    pattern: '^[a-z0-9-]+$'
    example: demo
endpoints:
  authorize: https://{shop}.acme.example/oauth/authorize
  token: https://{shop}.acme.example/oauth/token
  api: https://{shop}.acme.example/api/
token:
  format: form
  client_auth: body
  refresh_redirect_uri: false
answer:
  token_type: Bearer
  expiry:
    field: expires_in
    format: seconds
    lifetime: 2h
  refresh:
    issued: true
    rotates: true
    replay_safe: false
account:
  field: shop_id
api:
  probe: me
sources:
  - facts: [properties, endpoints, token, answer, account, api]
    url: https://developers.acme.example/oauth
    verified: true
`

func TestParseMinimal(t *testing.T) {
	p, err := profile.Parse("acme.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Missing(), []string{"shop"}; !cmp.Equal(got, want) {
		t.Errorf("Missing = %v, want %v", got, want)
	}
	if p.File() != "acme.yaml" || !p.Verified() {
		t.Errorf("File %q Verified %v", p.File(), p.Verified())
	}
}

// TestParseErrors: a wrong profile is an InvalidConfig error naming the
// file, the line and the field.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name      string
		from, to  string // replace from with to in minimal
		line      int
		field     string
		msgSubstr string
	}{
		{"UnknownField", "display_name: Acme Shop", "display_name: Acme Shop\ncolour: blue", 3, "colour", "not a field"},
		{"UnknownNestedField", "  format: form", "  format: form\n  fromat: json", 14, "token.fromat", "not a field"},
		{"WrongType", "  refresh_redirect_uri: false", "  refresh_redirect_uri: [a]", 15, "token.refresh_redirect_uri", "wrong type"},
		{"BadName", "name: acme", "name: Acme!", 1, "name", "registry name"},
		{"NoDocs", "docs: https://developers.acme.example/oauth\n", "", 0, "docs", "required"},
		{"HTTPDocs", "docs: https://developers.acme.example/oauth", "docs: http://developers.acme.example/oauth", 3, "docs", "https"},
		{"UnanchoredPattern", "pattern: '^[a-z0-9-]+$'", "pattern: '[a-z0-9-]+'", 6, "properties[0].pattern", "anchored"},
		{"ExampleNotMatching", "example: demo", "example: Demo", 7, "properties[0].example", "does not match"},
		{"ReservedProperty", "  - name: shop", "  - name: account", 5, "properties[0].name", "built-in"},
		{"UnknownPlaceholder", "api: https://{shop}.acme.example/api/", "api: https://{region}.acme.example/api/", 11, "endpoints.api", "unknown placeholder {region}"},
		{"PlainHTTPEndpoint", "token: https://{shop}.acme.example/oauth/token", "token: http://{shop}.acme.example/oauth/token", 10, "endpoints.token", "plain http"},
		{"QueryInEndpoint", "authorize: https://{shop}.acme.example/oauth/authorize", "authorize: https://{shop}.acme.example/oauth/authorize?x=1", 9, "endpoints.authorize", "query"},
		{"BadFormat", "  format: form", "  format: xml", 13, "token.format", "form, json or multipart"},
		{"BadClientAuth", "  client_auth: body", "  client_auth: header", 14, "token.client_auth", "body or basic"},
		{"NotBearer", "  token_type: Bearer", "  token_type: mac", 17, "answer.token_type", "only bearer"},
		{"NoLifetime", "    lifetime: 2h\n", "", 18, "answer.expiry.lifetime", "documented lifetime"},
		{"BadLifetime", "    lifetime: 2h", "    lifetime: two hours", 21, "answer.expiry.lifetime", "positive duration"},
		{"BadExpiryFormat", "    format: seconds", "    format: epoch", 20, "answer.expiry.format", "seconds, date or never"},
		{"NeverWithRefresh", "    format: seconds\n    lifetime: 2h", "    format: never", 18, "answer.expiry", "no field"},
		{"BadJSONPath", "  field: shop_id", "  field: 'shop id'", 27, "account.field", "JSON path"},
		{"NoAccount", "account:\n  field: shop_id\n", "", 0, "account", "required"},
		{"AbsoluteProbe", "  probe: me", "  probe: /me", 29, "api.probe", "relative path"},
		{"EngineParam", "  refresh_redirect_uri: false", "  refresh_redirect_uri: false\n  exchange_params:\n    grant_type: x", 17, "token.exchange_params.grant_type", "engine sets itself"},
		{"RevokeWithoutEndpoint", "sources:", "revoke:\n  format: json\n  client_auth: basic\nsources:", 8, "endpoints.revoke", "required when the revoke section"},
		{"UncitedFact", "  - facts: [properties, endpoints, token, answer, account, api]", "  - facts: [properties, endpoints, token, answer, account]", 28, "api.token_header", "no source"},
		{"UnknownFact", "  - facts: [properties, endpoints, token, answer, account, api]", "  - facts: [properties, endpoints, token, answer, account, api, colour]", 31, "sources[0].facts[6]", "not a fact"},
		{"UnverifiedWithoutNote", "    verified: true", "    verified: false", 31, "sources[0].note", "required when verified is false"},
		{"Anchor", "  format: form", "  format: &f form", 13, "token.format", "anchors"},
		{"TwoDocuments", "name: acme", "name: acme\n---\nname: other", 3, "", "more than one"},
		{"NotYAML", "name: acme", "name: [acme", 2, "", "not valid YAML"},
		{"DuplicateKey", "name: acme", "name: acme\nname: acme2", 2, "", "already defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(minimal, tc.from, tc.to, 1)
			if data == minimal {
				t.Fatalf("the case does not change the profile")
			}
			_, err := profile.Parse("profiles/acme.yaml", []byte(data))
			if driver.CodeOf(err) != driver.InvalidConfig {
				t.Fatalf("Parse = %v, want an InvalidConfig error", err)
			}
			var fe *profile.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%v carries no *profile.FieldError", err)
			}
			type where struct {
				File  string
				Line  int
				Field string
			}
			want := where{"profiles/acme.yaml", tc.line, tc.field}
			got := where{fe.File, fe.Line, fe.Field}
			if tc.line == 0 {
				got.Line = 0
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("error %q at (-want +got):\n%s", err, d)
			}
			if !strings.Contains(fe.Msg, tc.msgSubstr) {
				t.Errorf("message %q does not say %q", fe.Msg, tc.msgSubstr)
			}
			if !strings.Contains(err.Error(), "profiles/acme.yaml") {
				t.Errorf("the error text %q does not name the file", err)
			}
		})
	}
}

// TestRefuseAPIP: a CData API Profile is refused, by name or content,
// with a message that points at the profile format.
func TestRefuseAPIP(t *testing.T) {
	dir := t.TempDir()
	apip := filepath.Join(dir, "Jumpseller.apip")
	if err := os.WriteFile(apip, []byte("PK\x03\x04rest"), 0o600); err != nil {
		t.Fatal(err)
	}
	zipped := filepath.Join(dir, "jumpseller.yaml")
	if err := os.WriteFile(zipped, []byte("PK\x03\x04rest"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
	}{
		{"RefuseAPIP", profile.RefuseAPIP(`C:\profiles\Jumpseller.APIP`)},
		{"LoadByName", func() error { _, err := profile.Load(apip); return err }()},
		{"ParseByName", func() error { _, err := profile.Parse("x.apip", []byte(minimal)); return err }()},
		{"LoadZipContent", func() error { _, err := profile.Load(zipped); return err }()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if driver.CodeOf(tc.err) != driver.InvalidConfig {
				t.Fatalf("error %v, want InvalidConfig", tc.err)
			}
			for _, s := range []string{"CData API Profiles are not read", profile.DocsPath} {
				if !strings.Contains(tc.err.Error(), s) {
					t.Errorf("%q does not say %q", tc.err, s)
				}
			}
		})
	}
	if err := profile.RefuseAPIP("shop.yaml"); err != nil {
		t.Errorf("RefuseAPIP(shop.yaml) = %v", err)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acme.yaml")
	if err := os.WriteFile(path, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "acme" || p.File() != path {
		t.Errorf("Load = %q from %q", p.Name, p.File())
	}
	_, err = profile.Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if driver.CodeOf(err) != driver.InvalidConfig {
		t.Errorf("Load of a missing file = %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, []byte(minimal+"#"+strings.Repeat("x", profile.MaxSize)), 0o600)
	if _, err := profile.Load(big); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("Load of an oversized file = %v", err)
	}
}

// TestBind: property values are checked against their pattern and can
// never move a URL to another host.
func TestBind(t *testing.T) {
	p, err := profile.Parse("acme.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		values map[string]string
		want   string // the token URL, or "" for an error
	}{
		{"Good", map[string]string{"shop": "my-shop"}, "https://my-shop.acme.example/oauth/token"},
		{"PatternMismatch", map[string]string{"shop": "My_Shop"}, ""},
		{"HostInjection", map[string]string{"shop": "evil.example/x?"}, ""},
		{"UserInfo", map[string]string{"shop": "a@evil.example"}, ""},
		{"UnknownProperty", map[string]string{"region": "eu"}, ""},
		{"ClientID", map[string]string{"shop": "s", "client_id": "abc-123"}, "https://s.acme.example/oauth/token"},
		{"BadClientID", map[string]string{"shop": "s", "client_id": "a/b"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := p.Bind(tc.values)
			if tc.want == "" {
				if driver.CodeOf(err) != driver.InvalidConfig {
					t.Errorf("Bind = %v, want InvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Driver().Spec().Endpoint.TokenURL; got != tc.want {
				t.Errorf("TokenURL = %q, want %q", got, tc.want)
			}
			if len(b.Missing()) != 0 {
				t.Errorf("Missing = %v after Bind", b.Missing())
			}
		})
	}
	if got := p.Driver().Spec().Endpoint.TokenURL; !strings.Contains(got, "{shop}") {
		t.Errorf("an unbound profile's TokenURL = %q, want the placeholder kept", got)
	}
}
