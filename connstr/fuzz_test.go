package connstr

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/driver"
)

// FuzzParse checks that Parse never panics, that its errors and String do
// not depend on the values of secret properties (so they cannot echo them),
// that String hides URL passwords, and that Parse(p.EncodeWithSecrets())
// gives back p.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		";;",
		"Provider=jumpseller;AuthScheme=OAuth;InitiateOAuth=GETANDREFRESH;OAuthClientId=id;OAuthClientSecret=secret;CallbackURL=http://localhost:8080/callback;",
		"provider = shopline ; initiateoauth=refresh; Scope= products  orders ;Timeout=30",
		"Timeout=5;RetryBudget=120;retrybudget=0",
		"APITimeout=0;apitimeout=90;Timeout=1;APITimeout=-1",
		"APITimeout='9223372036';RetryBudget=1",
		`OAuthClientSecret="a;""b";OAuthAccessToken='c;''d'`,
		`OAuthClientSecret="unterminated;Provider=x`,
		`OAuthRefreshToken="x" trailing;`,
		"OAuthClientSecret=abc;def=ghi",
		"OAuthClientSecret=abc;defghi",
		"OAuthClientID2=x",
		"=value",
		"InitiateOAuth=OFF;OAuthAccessToken=at;OAuthExpiresIn=3600;OAuthTokenTimestamp=1700000000123",
		"OAuthSettingsLocation=postgres://app:hunter2@db.example.com/connector?password=x",
		"OAuthSettingsLocation=redis://:pw@127.0.0.1:6379/0;URL=http://[::1]:8080/v1",
		"CallbackURL=urn:ietf:wg:oauth:2.0:oob;OAuthRevokeURL=ftp://x",
		"Profile=' spaced ';Scope=",
		`Profile=acme.yaml;ProfileSettings=" Shop = acme ;region=eu;;"`,
		"ProfileSettings=shop=a=b,x=\"y\";OAuthClientSecret=s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)

		// The error and String are the same when every secret value is
		// replaced by filler of the same length.
		masked := maskSecrets(s)
		mp, merr := Parse(masked)
		if (err == nil) != (merr == nil) {
			t.Fatalf("Parse(%q) error %v, but with secrets masked %v", s, err, merr)
		}
		if err != nil {
			if err.Error() != merr.Error() {
				t.Fatalf("Parse(%q) error depends on a secret:\n%s\nmasked:\n%s", s, err, merr)
			}
			checkCode(t, err)
			return
		}
		if got, want := p.String(), mp.String(); got != want {
			t.Fatalf("Parse(%q).String() depends on a secret:\n%s\nmasked:\n%s", s, got, want)
		}

		// String hides the password of a URL.
		for i := range table {
			prop := &table[i]
			if !prop.url || p.given&(1<<i) == 0 {
				continue
			}
			checkURLRedacted(t, *prop.str(p))
		}

		// Round trip.
		enc := p.EncodeWithSecrets()
		q, err := Parse(enc)
		if err != nil {
			t.Fatalf("Parse(%q) fails on EncodeWithSecrets of Parse(%q): %v", enc, s, err)
		}
		if diff := cmp.Diff(p, q, cmp.AllowUnexported(Params{})); diff != "" {
			t.Fatalf("round trip of %q through %q mismatch (-want +got):\n%s", s, enc, diff)
		}
		if enc2 := q.EncodeWithSecrets(); enc2 != enc {
			t.Fatalf("EncodeWithSecrets is not stable: %q then %q", enc, enc2)
		}
		if q.String() != p.String() {
			t.Fatalf("String differs after the round trip: %q then %q", p.String(), q.String())
		}
		if err := p.Validate(); err != nil {
			checkCode(t, err)
		}
	})
}

// maskSecrets replaces the value of every secret property that scan reads in
// s by '#' characters, keeping its quotes and its length.
func maskSecrets(s string) string {
	segs, _ := scan(s)
	b := []byte(s)
	for _, seg := range segs {
		if !table[seg.prop].Secret {
			continue
		}
		from, to := seg.valPos, seg.valEnd
		if to > from && (b[from] == '"' || b[from] == '\'') {
			from, to = from+1, to-1 // keep the quotes
		}
		for i := from; i < to; i++ {
			b[i] = '#'
		}
	}
	return string(b)
}

func checkCode(t *testing.T, err error) {
	t.Helper()
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.HasPrefix(err.Error(), "connector: connection string: ") {
		t.Fatalf("error %q (%T) is not an InvalidConfig connection string error", err, err)
	}
}

// checkURLRedacted checks that the redacted form of v does not show the
// password of v, unless the password also shows in the rest of the URL.
func checkURLRedacted(t *testing.T, v string) {
	t.Helper()
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return
	}
	pw, ok := u.User.Password()
	if !ok || len(pw) < 3 {
		return
	}
	rest := *u
	rest.User = url.User(u.User.Username())
	if strings.Contains(rest.String()+redacted, pw) {
		return
	}
	if got := redactURL(v); strings.Contains(got, pw) {
		t.Fatalf("redactURL(%q) = %q shows the password", v, got)
	}
}
