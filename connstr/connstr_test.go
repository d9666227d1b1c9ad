package connstr_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
)

// defaults returns the Params of an empty connection string with f applied.
func defaults(f func(p *connstr.Params)) connstr.Params {
	p := connstr.Params{AuthScheme: "OAuth", InitiateOAuth: connstr.ModeGetAndRefresh, Timeout: connstr.DefaultTimeout, RetryBudget: connstr.DefaultRetryBudget}
	if f != nil {
		f(&p)
	}
	return p
}

// given lists the properties p has, in canonical spelling.
func given(p *connstr.Params) []string {
	var out []string
	for _, prop := range connstr.Properties() {
		if p.Has(prop.Name) {
			out = append(out, prop.Name)
		}
	}
	return out
}

var ignoreGiven = cmpopts.IgnoreUnexported(connstr.Params{})

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  connstr.Params
		given []string
	}{
		{
			name: "empty",
			in:   "",
			want: defaults(nil),
		},
		{
			name: "only separators and spaces",
			in:   " ; ;; ",
			want: defaults(nil),
		},
		{
			name: "jumpseller",
			in:   "Provider=jumpseller;AuthScheme=OAuth;InitiateOAuth=GETANDREFRESH;OAuthClientId=id123;OAuthClientSecret=sec456;CallbackURL=http://localhost:8000/callback;Scope=read_orders write_products;",
			want: defaults(func(p *connstr.Params) {
				p.Provider = "jumpseller"
				p.ClientID = "id123"
				p.ClientSecret = "sec456"
				p.CallbackURL = "http://localhost:8000/callback"
				p.Scopes = []string{"read_orders", "write_products"}
			}),
			given: []string{"Provider", "AuthScheme", "InitiateOAuth", "OAuthClientId", "OAuthClientSecret", "CallbackURL", "Scope"},
		},
		{
			name: "keys and choices case-insensitive, whitespace trimmed",
			in:   "  provider = shopline ;\tAUTHSCHEME= oauth ; initiateoauth =refresh;oauthclientid=  a b  ",
			want: defaults(func(p *connstr.Params) {
				p.Provider = "shopline"
				p.InitiateOAuth = connstr.ModeRefresh
				p.ClientID = "a b"
			}),
			given: []string{"Provider", "AuthScheme", "InitiateOAuth", "OAuthClientId"},
		},
		{
			name:  "empty segments ignored, no trailing semicolon",
			in:    ";;Provider=x;;;Profile=p",
			want:  defaults(func(p *connstr.Params) { p.Provider = "x"; p.Profile = "p" }),
			given: []string{"Provider", "Profile"},
		},
		{
			name:  "double-quoted value holds a semicolon",
			in:    `OAuthClientSecret="a;b";Provider=x`,
			want:  defaults(func(p *connstr.Params) { p.ClientSecret = "a;b"; p.Provider = "x" }),
			given: []string{"Provider", "OAuthClientSecret"},
		},
		{
			name:  "doubled double quote",
			in:    `Profile="a""b"`,
			want:  defaults(func(p *connstr.Params) { p.Profile = `a"b` }),
			given: []string{"Profile"},
		},
		{
			name:  "single quotes with doubled single quote",
			in:    `Profile='it''s; fine'`,
			want:  defaults(func(p *connstr.Params) { p.Profile = "it's; fine" }),
			given: []string{"Profile"},
		},
		{
			name:  "quoted value keeps its spaces, spaces around quotes dropped",
			in:    `Profile =  " x "  ; Provider=y`,
			want:  defaults(func(p *connstr.Params) { p.Profile = " x "; p.Provider = "y" }),
			given: []string{"Provider", "Profile"},
		},
		{
			name:  "quoted empty value",
			in:    `Profile=""`,
			want:  defaults(nil),
			given: []string{"Profile"},
		},
		{
			name:  "quote inside an unquoted value is literal",
			in:    `Profile=a"b'c`,
			want:  defaults(func(p *connstr.Params) { p.Profile = `a"b'c` }),
			given: []string{"Profile"},
		},
		{
			name:  "equals sign in value",
			in:    "URL=https://api.example.com/v1?a=b&c=d",
			want:  defaults(func(p *connstr.Params) { p.APIURL = "https://api.example.com/v1?a=b&c=d" }),
			given: []string{"URL"},
		},
		{
			name:  "last duplicate wins",
			in:    "Provider=a;provider=b;PROVIDER=c",
			want:  defaults(func(p *connstr.Params) { p.Provider = "c" }),
			given: []string{"Provider"},
		},
		{
			name: "profile settings separated by semicolons, quoted",
			in:   `Profile=acme.yaml;ProfileSettings=" Shop = acme ;region=eu;;"`,
			want: defaults(func(p *connstr.Params) {
				p.Profile = "acme.yaml"
				p.ProfileSettings = map[string]string{"shop": "acme", "region": "eu"}
			}),
			given: []string{"Profile", "ProfileSettings"},
		},
		{
			name: "profile settings separated by commas, unquoted, last duplicate wins",
			in:   "Provider=shopify;profilesettings=shop=demo,SHOP=acme,api_version=2025-01",
			want: defaults(func(p *connstr.Params) {
				p.Provider = "shopify"
				p.ProfileSettings = map[string]string{"shop": "acme", "api_version": "2025-01"}
			}),
			given: []string{"Provider", "ProfileSettings"},
		},
		{
			name:  "empty profile settings",
			in:    "ProfileSettings=",
			want:  defaults(nil),
			given: []string{"ProfileSettings"},
		},
		{
			name:  "scopes split at any whitespace",
			in:    "Scope=  read_orders \t write_products\nread_store ",
			want:  defaults(func(p *connstr.Params) { p.Scopes = []string{"read_orders", "write_products", "read_store"} }),
			given: []string{"Scope"},
		},
		{
			name:  "empty scope",
			in:    "Scope=",
			want:  defaults(nil),
			given: []string{"Scope"},
		},
		{
			name: "grant supplied by hand",
			in:   "InitiateOAuth=OFF;OAuthAccessToken=at;OAuthRefreshToken=rt;OAuthExpiresIn=3600;OAuthTokenTimestamp=1700000000123",
			want: defaults(func(p *connstr.Params) {
				p.InitiateOAuth = connstr.ModeOff
				p.AccessToken = "at"
				p.RefreshToken = "rt"
				p.ExpiresIn = time.Hour
				p.TokenTimestamp = time.Date(2023, time.November, 14, 22, 13, 20, 123e6, time.UTC)
			}),
			given: []string{"InitiateOAuth", "OAuthAccessToken", "OAuthRefreshToken", "OAuthExpiresIn", "OAuthTokenTimestamp"},
		},
		{
			name:  "zero expiry and epoch timestamp",
			in:    "OAuthExpiresIn=0;OAuthTokenTimestamp=0",
			want:  defaults(func(p *connstr.Params) { p.TokenTimestamp = time.Unix(0, 0).UTC() }),
			given: []string{"OAuthExpiresIn", "OAuthTokenTimestamp"},
		},
		{
			name:  "timeout",
			in:    "Timeout=5",
			want:  defaults(func(p *connstr.Params) { p.Timeout = 5 * time.Second }),
			given: []string{"Timeout"},
		},
		{
			name:  "retry budget",
			in:    "retrybudget = 90 ;Timeout=20",
			want:  defaults(func(p *connstr.Params) { p.RetryBudget = 90 * time.Second; p.Timeout = 20 * time.Second }),
			given: []string{"Timeout", "RetryBudget"},
		},
		{
			name:  "API timeout",
			in:    "APITimeout=120",
			want:  defaults(func(p *connstr.Params) { p.APITimeout = 2 * time.Minute }),
			given: []string{"APITimeout"},
		},
		{
			name:  "API timeout zero is off, and given",
			in:    "apitimeout = 0 ",
			want:  defaults(nil),
			given: []string{"APITimeout"},
		},
		{
			name: "API timeout with Timeout and RetryBudget, last duplicate wins",
			in:   "RetryBudget=60;APITimeout=5;Timeout=2;APITIMEOUT='1'",
			want: defaults(func(p *connstr.Params) {
				p.APITimeout = time.Second
				p.Timeout = 2 * time.Second
				p.RetryBudget = time.Minute
			}),
			given: []string{"Timeout", "APITimeout", "RetryBudget"},
		},
		{
			name:  "largest API timeout a Duration holds",
			in:    "APITimeout=9223372036",
			want:  defaults(func(p *connstr.Params) { p.APITimeout = 9223372036 * time.Second }),
			given: []string{"APITimeout"},
		},
		{
			name: "endpoint overrides on loopback hosts over http",
			in:   "OAuthAuthorizationURL=http://localhost:8080/oauth/authorize;OAuthAccessTokenURL=http://127.0.0.1:8080/oauth/token;OAuthRefreshTokenURL=http://127.9.8.7/t;OAuthRevokeURL=http://[::1]:8080/oauth/revoke;URL=http://LocalHost/v1",
			want: defaults(func(p *connstr.Params) {
				p.AuthorizationURL = "http://localhost:8080/oauth/authorize"
				p.AccessTokenURL = "http://127.0.0.1:8080/oauth/token"
				p.RefreshTokenURL = "http://127.9.8.7/t"
				p.RevokeURL = "http://[::1]:8080/oauth/revoke"
				p.APIURL = "http://LocalHost/v1"
			}),
			given: []string{"OAuthAuthorizationURL", "OAuthAccessTokenURL", "OAuthRefreshTokenURL", "OAuthRevokeURL", "URL"},
		},
		{
			name:  "https endpoint, empty override",
			in:    "OAuthAccessTokenURL=https://proxy.example.com/token;URL=",
			want:  defaults(func(p *connstr.Params) { p.AccessTokenURL = "https://proxy.example.com/token" }),
			given: []string{"OAuthAccessTokenURL", "URL"},
		},
		{
			name:  "out-of-band callback",
			in:    "CallbackURL=urn:ietf:wg:oauth:2.0:oob",
			want:  defaults(func(p *connstr.Params) { p.CallbackURL = driver.OOB }),
			given: []string{"CallbackURL"},
		},
		{
			name:  "https callback",
			in:    "CallbackURL=https://app.example.com/oauth_callback",
			want:  defaults(func(p *connstr.Params) { p.CallbackURL = "https://app.example.com/oauth_callback" }),
			given: []string{"CallbackURL"},
		},
		{
			name:  "settings location: file path",
			in:    `OAuthSettingsLocation=C:\Users\me\connector.db`,
			want:  defaults(func(p *connstr.Params) { p.SettingsLocation = `C:\Users\me\connector.db` }),
			given: []string{"OAuthSettingsLocation"},
		},
		{
			name: "settings location: postgres URL with a password",
			in:   "OAuthSettingsLocation=postgres://app:hunter2@db.example.com:5432/connector?sslmode=require",
			want: defaults(func(p *connstr.Params) {
				p.SettingsLocation = "postgres://app:hunter2@db.example.com:5432/connector?sslmode=require"
			}),
			given: []string{"OAuthSettingsLocation"},
		},
		{
			name:  "settings location: memory",
			in:    "OAuthSettingsLocation=memory://test",
			want:  defaults(func(p *connstr.Params) { p.SettingsLocation = "memory://test" }),
			given: []string{"OAuthSettingsLocation"},
		},
		{
			name:  "other auth schemes pass Parse",
			in:    "AuthScheme=oauth_client",
			want:  defaults(func(p *connstr.Params) { p.AuthScheme = "OAuth_Client" }),
			given: []string{"AuthScheme"},
		},
		{
			name:  "profile is stored",
			in:    `Profile=C:\profiles\Jumpseller.apip`,
			want:  defaults(func(p *connstr.Params) { p.Profile = `C:\profiles\Jumpseller.apip` }),
			given: []string{"Profile"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := connstr.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, *got, ignoreGiven); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if diff := cmp.Diff(tt.given, given(got)); diff != "" {
				t.Errorf("Parse(%q) given properties mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string   // the whole message
		secrets []string // must not appear in the message
	}{
		{
			name: "unknown key with a suggestion",
			in:   "Provider=jumpseller;AuthScheme=OAuth;InitiateOAuth=OFF; OAuthClientID2=x",
			want: `connector: connection string: unknown property "OAuthClientID2" at position 57; did you mean "OAuthClientId"?`,
		},
		{
			name: "unknown key containing a known one",
			in:   "OAuthCallbackURL=http://localhost/cb",
			want: `connector: connection string: unknown property "OAuthCallbackURL" at position 1; did you mean "CallbackURL"?`,
		},
		{
			name: "unknown key without a suggestion",
			in:   "Provider=x;Colour=red",
			want: `connector: connection string: unknown property "Colour" at position 12`,
		},
		{
			name: "long unknown key truncated",
			in:   strings.Repeat("k", 100) + "=v",
			want: `connector: connection string: unknown property "` + strings.Repeat("k", 40) + `"… at position 1`,
		},
		{
			name: "non-ASCII key is unknown",
			in:   "Providér=x",
			want: `connector: connection string: unknown property "Providér" at position 1; did you mean "Provider"?`,
		},
		{
			name: "profile setting without a value",
			in:   `Provider=shopify;ProfileSettings="shop="`,
			want: `connector: connection string: invalid ProfileSettings at position 34: "shop" has no value`,
		},
		{
			name: "profile setting that is not a pair",
			in:   `ProfileSettings=shop`,
			want: `connector: connection string: invalid ProfileSettings at position 17: "shop" is not a name=value pair`,
		},
		{
			name: "profile setting with a bad name",
			in:   `ProfileSettings=my-shop=acme`,
			want: `connector: connection string: invalid ProfileSettings at position 17: "my-shop" is not a property name (letters, digits and _)`,
		},
		{
			name: "unquoted profile settings separated by a semicolon",
			in:   `Provider=shopify;ProfileSettings=shop=acme;region=eu`,
			want: `connector: connection string: unknown property "region" at position 44, after the unquoted value of ProfileSettings; quote a ProfileSettings value that holds ";" (ProfileSettings="a=1;b=2"), or separate its settings with ","`,
		},
		{
			name: "known key without equals",
			in:   "Provider=x; Scope ;",
			want: `connector: connection string: property Scope at position 13 has no "="`,
		},
		{
			name: "text without equals is not echoed",
			in:   "Provider=x;garbage",
			want: `connector: connection string: text at position 12 is not a Key=Value pair; a value that holds ";" must be quoted`,
		},
		{
			name:    "rest of an unquoted secret is not echoed as text",
			in:      "OAuthClientSecret=s3cr3t;m0re",
			want:    `connector: connection string: text at position 26 is not a Key=Value pair, after the unquoted value of OAuthClientSecret; a value that holds ";" must be quoted`,
			secrets: []string{"s3cr3t", "m0re"},
		},
		{
			name:    "rest of an unquoted secret is not echoed as a key",
			in:      "OAuthRefreshToken=r3fr3sh;p4rt=m0re",
			want:    `connector: connection string: unknown property at position 27, after the unquoted value of OAuthRefreshToken; a value that holds ";" must be quoted`,
			secrets: []string{"r3fr3sh", "p4rt", "m0re"},
		},
		{
			name: "missing key",
			in:   "Provider=x; =y",
			want: `connector: connection string: missing property name before "=" at position 13`,
		},
		{
			name:    "unterminated quote",
			in:      `Provider=x;OAuthClientSecret = "s3cr3t;Scope=a`,
			want:    `connector: connection string: unterminated quote in the value of OAuthClientSecret at position 32`,
			secrets: []string{"s3cr3t"},
		},
		{
			name:    "unterminated single quote after a doubled one",
			in:      `OAuthAccessToken='t0k''3n`,
			want:    `connector: connection string: unterminated quote in the value of OAuthAccessToken at position 18`,
			secrets: []string{"t0k", "3n"},
		},
		{
			name:    "text after the closing quote",
			in:      `OAuthClientSecret="s3cr3t" tail;`,
			want:    `connector: connection string: unexpected text after the closing quote of OAuthClientSecret at position 28; quote the whole value`,
			secrets: []string{"s3cr3t", "tail"},
		},
		{
			name: "auth scheme not allowed",
			in:   "AuthScheme=Kerberos",
			want: `connector: connection string: invalid AuthScheme at position 12: "Kerberos" is not one of None, Basic, NTLM, OAuth, OAuth_Client, APIKey`,
		},
		{
			name: "mode not allowed",
			in:   "InitiateOAuth=ALWAYS",
			want: `connector: connection string: invalid InitiateOAuth at position 15: "ALWAYS" is not one of OFF, REFRESH, GETANDREFRESH`,
		},
		{
			name: "an invalid earlier duplicate is still an error",
			in:   "InitiateOAuth=ON;InitiateOAuth=OFF",
			want: `connector: connection string: invalid InitiateOAuth at position 15: "ON" is not one of OFF, REFRESH, GETANDREFRESH`,
		},
		{
			name: "empty choice",
			in:   "AuthScheme=",
			want: `connector: connection string: invalid AuthScheme at position 12: "" is not one of None, Basic, NTLM, OAuth, OAuth_Client, APIKey`,
		},
		{
			name: "negative expiry",
			in:   "OAuthExpiresIn=-1",
			want: `connector: connection string: invalid OAuthExpiresIn at position 16: "-1" is not a whole number of seconds`,
		},
		{
			name: "fractional expiry",
			in:   "OAuthExpiresIn=1.5",
			want: `connector: connection string: invalid OAuthExpiresIn at position 16: "1.5" is not a whole number of seconds`,
		},
		{
			name: "expiry too long for a Duration",
			in:   "OAuthExpiresIn=9223372037",
			want: `connector: connection string: invalid OAuthExpiresIn at position 16: "9223372037" seconds is too long`,
		},
		{
			name: "expiry beyond uint64",
			in:   "OAuthExpiresIn=99999999999999999999999",
			want: `connector: connection string: invalid OAuthExpiresIn at position 16: "99999999999999999999999" seconds is too long`,
		},
		{
			name: "zero timeout",
			in:   "Timeout=0",
			want: `connector: connection string: invalid Timeout at position 9: "0" must be at least 1`,
		},
		{
			name: "zero retry budget",
			in:   "RetryBudget=0",
			want: `connector: connection string: invalid RetryBudget at position 13: "0" must be at least 1`,
		},
		{
			name: "retry budget not an integer",
			in:   "RetryBudget=30s",
			want: `connector: connection string: invalid RetryBudget at position 13: "30s" is not a whole number of seconds`,
		},
		{
			name: "negative API timeout",
			in:   "Timeout=5;APITimeout=-1",
			want: `connector: connection string: invalid APITimeout at position 22: "-1" is not a whole number of seconds`,
		},
		{
			name: "fractional API timeout",
			in:   "APITimeout=1.5",
			want: `connector: connection string: invalid APITimeout at position 12: "1.5" is not a whole number of seconds`,
		},
		{
			name: "API timeout with a unit",
			in:   "APITimeout=30s",
			want: `connector: connection string: invalid APITimeout at position 12: "30s" is not a whole number of seconds`,
		},
		{
			name: "API timeout with a sign",
			in:   "APITimeout=+5",
			want: `connector: connection string: invalid APITimeout at position 12: "+5" is not a whole number of seconds`,
		},
		{
			name: "empty API timeout",
			in:   "APITimeout=;Provider=x",
			want: `connector: connection string: invalid APITimeout at position 12: "" is not a whole number of seconds`,
		},
		{
			name: "API timeout too long for a Duration",
			in:   "APITimeout=9223372037",
			want: `connector: connection string: invalid APITimeout at position 12: "9223372037" seconds is too long`,
		},
		{
			name: "API timeout beyond uint64",
			in:   "APITimeout=99999999999999999999999",
			want: `connector: connection string: invalid APITimeout at position 12: "99999999999999999999999" seconds is too long`,
		},
		{
			name: "an invalid earlier API timeout is still an error",
			in:   `APITimeout=-3;APITimeout=3`,
			want: `connector: connection string: invalid APITimeout at position 12: "-3" is not a whole number of seconds`,
		},
		{
			name: "timestamp not an integer",
			in:   "OAuthTokenTimestamp=2024-01-01",
			want: `connector: connection string: invalid OAuthTokenTimestamp at position 21: "2024-01-01" is not a Unix time in milliseconds (an integer ≥ 0)`,
		},
		{
			name: "plain http to a remote host",
			in:   "URL=http://api.example.com/v1",
			want: `connector: connection string: invalid URL at position 5: plain http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1), not "api.example.com"; use https`,
		},
		{
			name: "http to a name that only starts like localhost",
			in:   "OAuthAccessTokenURL=http://localhost.example.com/token",
			want: `connector: connection string: invalid OAuthAccessTokenURL at position 21: plain http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1), not "localhost.example.com"; use https`,
		},
		{
			name: "other scheme",
			in:   "OAuthRevokeURL=ftp://example.com/revoke",
			want: `connector: connection string: invalid OAuthRevokeURL at position 16: scheme "ftp" is not allowed; use https`,
		},
		{
			name: "relative URL",
			in:   "OAuthAccessTokenURL=/oauth/token",
			want: `connector: connection string: invalid OAuthAccessTokenURL at position 21: not an absolute URL (it needs a scheme and a host)`,
		},
		{
			name:    "unparsable endpoint is not echoed",
			in:      "OAuthAuthorizationURL=https://user:p4ss@host:p0rt/x",
			want:    `connector: connection string: invalid OAuthAuthorizationURL at position 23: not a valid URL`,
			secrets: []string{"p4ss", "p0rt"},
		},
		{
			name: "callback neither URL nor out-of-band",
			in:   "CallbackURL=your_callback_url",
			want: `connector: connection string: invalid CallbackURL at position 13: not an absolute URL (it needs a scheme and a host), or urn:ietf:wg:oauth:2.0:oob`,
		},
		{
			name:    "settings location URL that does not parse is not echoed",
			in:      "OAuthSettingsLocation=postgres://app:hunter2@db:5432x/connector",
			want:    `connector: connection string: invalid OAuthSettingsLocation at position 23: the value looks like a URL but is not a valid one`,
			secrets: []string{"hunter2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := connstr.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.in, p)
			}
			if p != nil {
				t.Errorf("Parse(%q) returned Params with its error", tt.in)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Parse(%q) message mismatch (-want +got):\n%s", tt.in, diff)
			}
			checkError(t, err)
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Parse(%q) error %q holds the secret %q", tt.in, err, s)
				}
			}
		})
	}
}

// checkError checks that err is a *driver.Error with Code InvalidConfig and
// Op "connection string".
func checkError(t *testing.T, err error) {
	t.Helper()
	var de *driver.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v is a %T, want *driver.Error", err, err)
	}
	if got := driver.CodeOf(err); got != driver.InvalidConfig {
		t.Errorf("CodeOf(%v) = %v, want %v", err, got, driver.InvalidConfig)
	}
	if de.Op != "connection string" {
		t.Errorf("Op = %q, want %q", de.Op, "connection string")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   string // parsed, unless p is set
		p    *connstr.Params
		want string // "" for no error
	}{
		{
			name: "OFF needs only a provider",
			in:   "Provider=jumpseller;InitiateOAuth=OFF",
		},
		{
			name: "OFF with a token by hand",
			in:   "Provider=jumpseller;InitiateOAuth=OFF;OAuthAccessToken=at",
		},
		{
			name: "GETANDREFRESH with credentials, no callback",
			in:   "Provider=shopline;OAuthClientId=id;OAuthClientSecret=secret",
		},
		{
			name: "REFRESH with credentials",
			in:   "Provider=shopline;InitiateOAuth=REFRESH;OAuthClientId=id;OAuthClientSecret=secret",
		},
		{
			name: "provider missing",
			in:   "InitiateOAuth=OFF",
			want: "connector: connection string: Provider is required (or a Profile)",
		},
		{
			name: "provider blank",
			in:   `Provider="  ";InitiateOAuth=OFF`,
			want: "connector: connection string: Provider is required (or a Profile)",
		},
		{
			name: "unsupported auth scheme",
			in:   "Provider=jumpseller;AuthScheme=basic;InitiateOAuth=OFF",
			want: `connector: connection string: AuthScheme "Basic" is not supported by the oauth drivers; use OAuth`,
		},
		{
			name: "REFRESH without credentials",
			in:   "Provider=jumpseller;InitiateOAuth=REFRESH",
			want: "connector: connection string: OAuthClientId and OAuthClientSecret are required when InitiateOAuth is REFRESH",
		},
		{
			name: "GETANDREFRESH without the secret",
			in:   "Provider=jumpseller;OAuthClientId=id",
			want: "connector: connection string: OAuthClientSecret is required when InitiateOAuth is GETANDREFRESH",
		},
		{
			name: "every problem at once",
			in:   "AuthScheme=APIKey;OAuthClientSecret=s",
			want: `connector: connection string: Provider is required (or a Profile); AuthScheme "APIKey" is not supported by the oauth drivers; use OAuth; OAuthClientId is required when InitiateOAuth is GETANDREFRESH`,
		},
		{
			name: "a profile without a provider",
			in:   "Profile=acme.yaml;InitiateOAuth=OFF",
		},
		{
			name: "zero Params: empty fields count as defaults",
			p:    &connstr.Params{Provider: "jumpseller"},
			want: "connector: connection string: OAuthClientId and OAuthClientSecret are required when InitiateOAuth is GETANDREFRESH",
		},
		{
			name: "hand-built Params with a bad mode",
			p:    &connstr.Params{Provider: "jumpseller", InitiateOAuth: "off"},
			want: `connector: connection string: InitiateOAuth "off" is not one of OFF, REFRESH, GETANDREFRESH`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			if p == nil {
				var err error
				if p, err = connstr.Parse(tt.in); err != nil {
					t.Fatalf("Parse(%q): %v", tt.in, err)
				}
			}
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Validate() message mismatch (-want +got):\n%s", diff)
			}
			checkError(t, err)
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "empty",
			in:   "",
			want: "",
		},
		{
			name: "canonical order and spelling, secrets redacted, defaults not written",
			in:   "oauthclientsecret=s3cr3t;scope= a  b ;OAUTHCLIENTID=id;provider=jumpseller;oauthaccesstoken=at;OAuthRefreshToken=rt",
			want: "Provider=jumpseller;OAuthClientId=id;OAuthClientSecret=[redacted];Scope=a b;OAuthAccessToken=[redacted];OAuthRefreshToken=[redacted];",
		},
		{
			name: "empty secret stays empty",
			in:   "OAuthClientSecret=",
			want: "OAuthClientSecret=;",
		},
		{
			name: "choices canonical",
			in:   "authscheme=oauth;initiateoauth=getandrefresh",
			want: "AuthScheme=OAuth;InitiateOAuth=GETANDREFRESH;",
		},
		{
			name: "postgres password redacted",
			in:   "OAuthSettingsLocation=postgres://app:hunter2@db.example.com:5432/connector?sslmode=require",
			want: "OAuthSettingsLocation=postgres://app:[redacted]@db.example.com:5432/connector?sslmode=require;",
		},
		{
			name: "password query parameter redacted",
			in:   "OAuthSettingsLocation=postgres://db.example.com/connector?user=app&password=hunter2&sslmode=disable",
			want: "OAuthSettingsLocation=postgres://db.example.com/connector?user=app&password=[redacted]&sslmode=disable;",
		},
		{
			name: "redis password without user redacted",
			in:   "OAuthSettingsLocation=redis://:hunter2@localhost:6379/0",
			want: "OAuthSettingsLocation=redis://:[redacted]@localhost:6379/0;",
		},
		{
			name: "user without password kept",
			in:   "OAuthSettingsLocation=postgres://app@db/connector",
			want: "OAuthSettingsLocation=postgres://app@db/connector;",
		},
		{
			name: "endpoint password redacted",
			in:   "OAuthAccessTokenURL=https://proxy:hunter2@proxy.example.com/token",
			want: "OAuthAccessTokenURL=https://proxy:[redacted]@proxy.example.com/token;",
		},
		{
			name: "password of a URL without a scheme redacted",
			in:   "OAuthSettingsLocation=//app:hunter2@db/connector",
			want: "OAuthSettingsLocation=//app:[redacted]@db/connector;",
		},
		{
			name: "URL-looking value that does not parse redacted whole",
			in:   "URL=https://api.example.com;OAuthSettingsLocation=//app:hunter2@db:x/c",
			want: "OAuthSettingsLocation=[redacted];URL=https://api.example.com;",
		},
		{
			name: "file path and memory kept",
			in:   "OAuthSettingsLocation=memory://x",
			want: "OAuthSettingsLocation=memory://x;",
		},
		{
			name: "values quoted where needed",
			in:   `Profile="a;b";Provider=" x"`,
			want: `Provider=" x";Profile="a;b";`,
		},
		{
			name: "integers and timestamp",
			in:   "RetryBudget=45;OAuthExpiresIn=3600;OAuthTokenTimestamp=1700000000123;Timeout=30",
			want: "OAuthExpiresIn=3600;OAuthTokenTimestamp=1700000000123;Timeout=30;RetryBudget=45;",
		},
		{
			name: "API timeout after Timeout, before RetryBudget",
			in:   "retrybudget=45;apitimeout=600;Provider=x;timeout=10",
			want: "Provider=x;Timeout=10;APITimeout=600;RetryBudget=45;",
		},
		{
			name: "API timeout zero written when given",
			in:   "APITimeout=0",
			want: "APITimeout=0;",
		},
		{
			name: "API timeout absent not written",
			in:   "Provider=x;Timeout=30",
			want: "Provider=x;Timeout=30;",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := connstr.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, p.String()); diff != "" {
				t.Errorf("String() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeWithSecrets(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "secrets in clear",
			in:   "Provider=jumpseller;OAuthClientSecret=s3cr3t;OAuthRefreshToken=rt",
			want: "Provider=jumpseller;OAuthClientSecret=s3cr3t;OAuthRefreshToken=rt;",
		},
		{
			name: "URL password in clear",
			in:   "OAuthSettingsLocation=postgres://app:hunter2@db/connector",
			want: "OAuthSettingsLocation=postgres://app:hunter2@db/connector;",
		},
		{
			name: "semicolon quoted with double quotes",
			in:   `OAuthClientSecret='a;b'`,
			want: `OAuthClientSecret="a;b";`,
		},
		{
			name: "double quote inside picks single quotes",
			in:   `OAuthClientSecret=";""x"`,
			want: `OAuthClientSecret=';"x';`,
		},
		{
			name: "both quotes inside: double quotes doubled",
			in:   `OAuthClientSecret=";""'"`,
			want: `OAuthClientSecret=";""'";`,
		},
		{
			name: "leading quote character quoted",
			in:   `Profile='"x'`,
			want: `Profile='"x';`,
		},
		{
			name: "surrounding spaces quoted",
			in:   `Profile="  x  "`,
			want: `Profile="  x  ";`,
		},
		{
			name: "API timeout with a secret",
			in:   `APITimeout='90';OAuthClientSecret=s3cr3t;Timeout=5`,
			want: "OAuthClientSecret=s3cr3t;Timeout=5;APITimeout=90;",
		},
		{
			name: "API timeout zero",
			in:   "APITimeout=0",
			want: "APITimeout=0;",
		},
		{
			name: "inner spaces and quotes unquoted",
			in:   `Profile=a "b" c`,
			want: `Profile=a "b" c;`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := connstr.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			got := p.EncodeWithSecrets()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EncodeWithSecrets() mismatch (-want +got):\n%s", diff)
			}
			q, err := connstr.Parse(got)
			if err != nil {
				t.Fatalf("Parse(%q): %v", got, err)
			}
			if diff := cmp.Diff(p, q, cmp.AllowUnexported(connstr.Params{})); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatRedacts(t *testing.T) {
	p, err := connstr.Parse("Provider=jumpseller;OAuthClientSecret=s3cr3t;OAuthAccessToken=acc3ss;OAuthRefreshToken=r3fr3sh;OAuthSettingsLocation=postgres://app:hunter2@db/c;URL=https://u:pw55@api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		for _, arg := range []any{p, *p} {
			out := fmt.Sprintf(format, arg)
			for _, secret := range []string{"s3cr3t", "acc3ss", "r3fr3sh", "hunter2", "pw55"} {
				if strings.Contains(out, secret) {
					t.Errorf("Sprintf(%q, %T) = %s holds %q", format, arg, out, secret)
				}
			}
			if !strings.Contains(out, "jumpseller") {
				t.Errorf("Sprintf(%q, %T) = %s lacks the provider", format, arg, out)
			}
		}
	}
	got := fmt.Sprintf("%#v", *p)
	if !strings.HasPrefix(got, "connstr.Params{Provider:\"jumpseller\"") || !strings.Contains(got, `ClientSecret:"[redacted]"`) {
		t.Errorf("GoString() = %s", got)
	}
	if p.ClientSecret != "s3cr3t" || p.SettingsLocation != "postgres://app:hunter2@db/c" {
		t.Errorf("formatting changed the Params: %q, %q", p.ClientSecret, p.SettingsLocation)
	}
}

func TestHas(t *testing.T) {
	p, err := connstr.Parse("provider=x;SCOPE=")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want bool
	}{
		{"Provider", true},
		{"PROVIDER", true},
		{"scope", true},
		{"AuthScheme", false}, // a default, not given
		{"Timeout", false},
		{"APITimeout", false},
		{"RetryBudget", false},
		{"NoSuchKey", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.Has(tt.key); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestProperties(t *testing.T) {
	props := connstr.Properties()
	var names []string
	for _, p := range props {
		names = append(names, p.Name)
	}
	want := []string{"Provider", "AuthScheme", "InitiateOAuth", "OAuthClientId", "OAuthClientSecret", "CallbackURL",
		"Scope", "OAuthAccessToken", "OAuthRefreshToken", "OAuthExpiresIn", "OAuthTokenTimestamp",
		"OAuthSettingsLocation", "OAuthAuthorizationURL", "OAuthAccessTokenURL", "OAuthRefreshTokenURL",
		"OAuthRevokeURL", "URL", "Timeout", "APITimeout", "RetryBudget", "Namespace", "Profile", "ProfileSettings"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Properties() names mismatch (-want +got):\n%s", diff)
	}
	var secrets []string
	for _, p := range props {
		if p.Secret {
			secrets = append(secrets, p.Name)
		}
		if p.Doc == "" {
			t.Errorf("%s has no Doc", p.Name)
		}
	}
	if diff := cmp.Diff([]string{"OAuthClientSecret", "OAuthAccessToken", "OAuthRefreshToken"}, secrets); diff != "" {
		t.Errorf("secret properties mismatch (-want +got):\n%s", diff)
	}

	// The documented defaults are the ones Parse applies.
	byName := map[string]connstr.Property{}
	for _, p := range props {
		byName[p.Name] = p
	}
	empty, err := connstr.Parse("")
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := connstr.Parse(fmt.Sprintf("AuthScheme=%s;InitiateOAuth=%s;Timeout=%s;APITimeout=%s;RetryBudget=%s",
		byName["AuthScheme"].Default, byName["InitiateOAuth"].Default, byName["Timeout"].Default, byName["APITimeout"].Default, byName["RetryBudget"].Default))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(empty, explicit, ignoreGiven); diff != "" {
		t.Errorf("documented defaults differ from Parse's (-want +got):\n%s", diff)
	}

	// The result is a copy.
	props[1].Allowed[0] = "changed"
	if got := connstr.Properties()[1].Allowed[0]; got != "None" {
		t.Errorf("Properties() shares its Allowed slice: got %q", got)
	}
}

// TestDocs checks that docs/connection-strings.md lists every property with
// its default and allowed values.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "connection-strings.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, p := range connstr.Properties() {
		row := ""
		for _, line := range strings.Split(doc, "\n") {
			if strings.HasPrefix(line, "| `"+p.Name+"` |") {
				row = line
				break
			}
		}
		if row == "" {
			t.Errorf("docs/connection-strings.md has no table row for %s", p.Name)
			continue
		}
		if p.Default != "" && !strings.Contains(row, p.Default) {
			t.Errorf("the row of %s does not give its default %q: %s", p.Name, p.Default, row)
		}
		for _, a := range p.Allowed {
			if !strings.Contains(row, a) {
				t.Errorf("the row of %s does not list %q: %s", p.Name, a, row)
			}
		}
	}
}
