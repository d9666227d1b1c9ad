package store_test

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/internal/leaktest"
)

// backendConfigs are the arguments store/postgres and store/redis give
// ParseBackendURL.
var backendConfigs = []struct {
	backend string
	schemes []string
	param   string
	refused map[string]string
}{
	{"postgres", []string{"postgres", "postgresql"}, "schema",
		map[string]string{"prefix": "schema", "table_prefix": "schema", "key_prefix": "schema", "search_path": "schema"}},
	{"redis", []string{"redis", "rediss"}, "prefix",
		map[string]string{"schema": "prefix", "table_prefix": "prefix", "key_prefix": "prefix"}},
}

// FuzzParseBackendURL parses pre+password+post as postgres and redis do,
// and checks that it never panics; that an error is InvalidConfig, names
// the backend's store location and shows no password that the location
// holds in its user information (user:PASSWORD@), nor does URL.Redacted;
// that Password is the URL's; that the parameter is taken out whole into
// Values; and that the URL given back parses again to itself, also with
// the parameter put back.
func FuzzParseBackendURL(f *testing.F) {
	for _, s := range [][3]string{
		{"postgres://u:", "pw-s3cret", "@db/app?sslmode=disable"},
		{"postgresql://db/app?schema=s1&sslmode=disable", "", ""},
		{"mysql://db/app", "", ""},
		{"postgres://db/app?table_prefix=x", "", ""},
		{"postgres://db/app?connector_key=x", "", ""},
		{"postgres://u:", "s3cret-pw", "@db/app?x=%zz"},
		{"postgres://u:", "s3cret-pw", "@[::1/app"},
		{"postgres://app:", "s3cr3t-Pa55w0rd", "@db.internal:5432/app?sslmode=verify-full&schema=connector"},
		{"postgres://app@db/app?password=", "s3cr3t-Pa55w0rd", "&Schema=x&SCHEMA=y"},
		{"rediss://:", "secret-pw", "@cache.internal:6380/2?prefix=myapp:connector:"},
		{"redis://:", "hunter2-pw", "@h/0?prefix=a;b"},
		{"redis://:", "hunter2-pw", "@h/0?prefix=a&prefix=b&CONNECTOR_x=1"},
		{"REDIS://user:", "p%40ss%3Aword%2F", "@h:6379/0?dial_timeout=3s#frag"},
		{"redis://u:", "pass@word/x", "@h/0"},
		{"redis:", "opaque-pw", "@h"},
		{"//u:", "no-scheme-pw", "@h/0"},
		{"postgres://u:", "sp ace-pw\x7f", "@h/0"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, pre, password, post string) {
		location := pre + password + post
		secrets := passwordForms(location, pre, password, post)
		rotated := pre + leaktest.Rotate(password) + post
		for _, c := range backendConfigs {
			parse := func(loc string) (*store.BackendURL, error) {
				return store.ParseBackendURL(loc, c.backend, c.schemes, c.param, c.refused)
			}
			b, err := parse(location)
			shown := func(b *store.BackendURL, err error) string {
				if err != nil {
					return err.Error()
				}
				return b.URL.Redacted()
			}
			if len(secrets) > 0 {
				rb, rerr := parse(rotated)
				if form := leaktest.Leaked(shown(b, err), shown(rb, rerr), secrets); form != "" {
					t.Fatalf("%s: ParseBackendURL(%q) shows the password as %q: %q", c.backend, location, form, shown(b, err))
				}
			}
			if err != nil {
				if b != nil || driver.CodeOf(err) != driver.InvalidConfig || !strings.HasPrefix(err.Error(), "connector: store: "+c.backend+" store location") {
					t.Fatalf("%s: ParseBackendURL(%q) = %v, error %q (%s): want nil and an InvalidConfig error that names the location",
						c.backend, location, b, err, driver.CodeOf(err))
				}
				continue
			}
			checkBackendURL(t, c.backend, location, b, c.schemes, c.param)

			// The URL given back is a location of its own: without the
			// parameter, and with it put back.
			again := b.URL.String()
			b2, err := parse(again)
			if err != nil {
				t.Fatalf("%s: ParseBackendURL(%q) fails on the URL %q of ParseBackendURL(%q): %v", c.backend, again, again, location, err)
			}
			if b2.Values != nil || b2.URL.String() != again || b2.Password != b.Password {
				t.Fatalf("%s: %q gave URL %q, which gives URL %q, Values %q", c.backend, location, again, b2.URL, b2.Values)
			}
			if b.Values != nil {
				u := *b.URL
				q := u.Query()
				q[c.param] = b.Values
				u.RawQuery = q.Encode()
				b3, err := parse(u.String())
				if err != nil || b3.URL.String() != again || !slices.Equal(b3.Values, b.Values) {
					t.Fatalf("%s: %q with %s put back (%q) gives %v, %v, want URL %q, Values %q",
						c.backend, location, c.param, u.String(), b3, err, again, b.Values)
				}
			}
		}
	})
}

// checkBackendURL checks what ParseBackendURL(location) gave back against
// the location itself.
func checkBackendURL(t *testing.T, backend, location string, b *store.BackendURL, schemes []string, param string) {
	t.Helper()
	if !slices.Contains(schemes, strings.ToLower(b.URL.Scheme)) {
		t.Fatalf("%s: ParseBackendURL(%q) gave scheme %q", backend, location, b.URL.Scheme)
	}
	var pw string
	if b.URL.User != nil {
		pw, _ = b.URL.User.Password()
	}
	if b.Password != pw {
		t.Fatalf("%s: ParseBackendURL(%q): Password %q, the URL's is %q", backend, location, b.Password, pw)
	}
	if len(paramValues(b.URL.Query(), param)) > 0 {
		t.Fatalf("%s: ParseBackendURL(%q) left %s in %q", backend, location, param, b.URL)
	}
	u, err := url.Parse(location)
	if err != nil {
		t.Fatalf("%s: ParseBackendURL(%q) succeeded where url.Parse fails: %v", backend, location, err)
	}
	q, _ := url.ParseQuery(u.RawQuery)
	if d := cmp.Diff(paramValues(q, param), b.Values); d != "" {
		t.Fatalf("%s: ParseBackendURL(%q) Values (-want +got):\n%s", backend, location, d)
	}
}

// passwordForms returns leaktest.Forms of password when location
// (pre+password+post) holds it in the password of its user information;
// else nil.
func passwordForms(location, pre, password, post string) []string {
	if !leaktest.InUserinfo(location, password) {
		return nil
	}
	return leaktest.Forms(password, pre, post)
}

// paramValues returns the values of param in q, under any case of its name
// (the names in byte order), as ParseBackendURL takes them; nil for none.
func paramValues(q url.Values, param string) []string {
	var v []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if strings.EqualFold(k, param) {
			v = append(v, q[k]...)
		}
	}
	return v
}
