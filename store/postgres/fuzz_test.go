package postgres

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/internal/leaktest"
)

// FuzzParseLocation parses pre+password+post and checks that it never
// panics; that an error is InvalidConfig, names the postgres store
// location and shows no password the location holds (user:PASSWORD@, or
// the value of a password= or sslpassword= parameter, which pgx reads),
// nor does the error Open makes of pgx's ParseConfig of the DSN; that the
// password kept for scrubbing is the URL's; that the schema is the default
// or as given, an identifier; and that the DSN given back is a location
// that parses to itself, also with the schema put back.
func FuzzParseLocation(f *testing.F) {
	for _, s := range [][3]string{
		{"postgres://app:", "secret-pw", "@db.internal:5432/app?sslmode=verify-full&schema=connector"},
		{"postgres://u:", "pw-pw-pw", "@db/app?sslmode=disable"},
		{"postgresql://db/app?schema=s1&sslmode=disable", "", ""},
		{"mysql://u:", "hunter2-pw", "@db/app"},
		{"postgres://db/app?table_prefix=x", "", ""},
		{"postgres://db/app?search_path=x", "", ""},
		{"postgres://db/app?connector_key=x", "", ""},
		{"postgres://db/app?schema=1x", "", ""},
		{"postgres://db/app?schema=a&schema=b", "", ""},
		{"postgres://u:", "s3cret-pw", "@db/app?x=%zz"},
		{"postgres://u:", "s3cret-pw", "@[::1/app"},
		{"postgres://app:", "s3cr3t-Pa55w0rd", "@127.0.0.1:1/db?connect_timeout=1"},
		{"postgresql://app:", "s3cr3t-Pa55w0rd", "@127.0.0.1:1/db?sslmode=bogus"},
		{"postgres://app:", "s3cr3t-Pa55w0rd", "@127.0.0.1:1/db?pool_max_conns=x"},
		{"postgres://app:", "s3cr3t-Pa55w0rd", "@127.0.0.1:1/db?target_session_attrs=s3cr3t-Pa55w0rd"},
		{"postgres://app@db/app?password=", "s3cr3t-Pa55w0rd", "&sslmode=bogus"},
		{"postgres://app@db/app?sslpassword=", "s3cr3t-Pa55w0rd", "&pool_max_conns=x"},
		{"postgres://app:", "p%40ss%3Aw0rd%2B", "@db:5432/app?Schema=x"},
		{"postgres://u:", "12345678", "/9@h/app"},
		{"postgres://app:", "secret-pw", "@h1:5432,h2:notaport/app"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, pre, password, post string) {
		location := pre + password + post
		loc, err := ParseLocation(location)
		if forms := passwordForms(location, pre, password, post); len(forms) > 0 {
			rloc, rerr := ParseLocation(pre + leaktest.Rotate(password) + post)
			if form := leaktest.Leaked(shownLocation(loc, err), shownLocation(rloc, rerr), forms); form != "" {
				t.Fatalf("ParseLocation(%q) then ParseConfig shows the password as %q: %q", location, form, shownLocation(loc, err))
			}
		}
		if err != nil {
			if loc != nil || driver.CodeOf(err) != driver.InvalidConfig || !strings.HasPrefix(err.Error(), "connector: store: postgres store location") {
				t.Fatalf("ParseLocation(%q) = %+v, %q (%s): want nil and an InvalidConfig error that names the location", location, loc, err, driver.CodeOf(err))
			}
			return
		}
		if pw := leaktest.Password(t, location, loc.DSN); loc.password != pw {
			t.Fatalf("ParseLocation(%q) keeps password %q to scrub, the URL's is %q", location, loc.password, pw)
		}
		want := leaktest.Param(t, location, "schema", DefaultSchema)
		if loc.Schema != want || !schemaName.MatchString(loc.Schema) {
			t.Fatalf("ParseLocation(%q): schema %q, want %q (an identifier)", location, loc.Schema, want)
		}

		again, err := ParseLocation(loc.DSN)
		if err != nil || again.DSN != loc.DSN || again.Schema != DefaultSchema || again.password != loc.password {
			t.Fatalf("ParseLocation(%q) gives DSN %q, which gives %+v, %v", location, loc.DSN, again, err)
		}
		u, _ := url.Parse(loc.DSN)
		q := u.Query()
		q.Set("schema", loc.Schema)
		u.RawQuery = q.Encode()
		again, err = ParseLocation(u.String())
		// A location ending in an empty query ("postgres://h/db?") keeps
		// its "?", which the schema put back takes away: the same URL.
		if err != nil || leaktest.NoEmptyQuery(again.DSN) != leaktest.NoEmptyQuery(loc.DSN) || again.Schema != loc.Schema {
			t.Fatalf("ParseLocation(%q) = %+v; with the schema put back (%q) it gives %+v, %v", location, loc, u.String(), again, err)
		}
	})
}

// fileParams are the parameters with which pgx's ParseConfig reads a file,
// which might be one that blocks (/dev/stdin): shownLocation leaves pgx
// out for a DSN that has one.
var fileParams = []string{"sslrootcert", "sslcert", "sslkey", "passfile", "service", "servicefile"}

// shownLocation is what a user may see of ParseLocation's result: its
// error, or the error Open makes of pgx's ParseConfig of the DSN (which
// may be none).
func shownLocation(loc *Location, err error) string {
	if err != nil {
		return err.Error()
	}
	if u, err := url.Parse(loc.DSN); err == nil {
		for k := range u.Query() {
			if slices.Contains(fileParams, strings.ToLower(k)) {
				return ""
			}
		}
	}
	if _, err := pgxpool.ParseConfig(loc.DSN); err != nil {
		return store.Errorf(loc.scrub(err), "postgres store location is not valid").Error()
	}
	return ""
}

// passwordForms returns leaktest.Forms of password when location
// (pre+password+post) holds it as (part of) a password: of its user
// information, or of a password= or sslpassword= parameter (pgx reads
// both); else nil.
func passwordForms(location, pre, password, post string) []string {
	held := leaktest.InUserinfo(location, password)
	if u, err := url.Parse(location); err == nil && !held {
		q, _ := url.ParseQuery(u.RawQuery)
		if dec, err := url.QueryUnescape(password); err == nil {
			for _, k := range []string{"password", "sslpassword"} {
				for _, v := range q[k] {
					held = held || strings.Contains(v, dec)
				}
			}
		}
	}
	if !held {
		return nil
	}
	return leaktest.Forms(password, pre, post)
}
