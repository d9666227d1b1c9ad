package redis

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/internal/leaktest"
)

// FuzzParseLocation parses pre+password+post and checks that it never
// panics; that an error is InvalidConfig, names the redis store location
// and shows no password the location holds (user:PASSWORD@), nor does the
// error Open makes of go-redis's ParseURL of the URL; that the password
// kept for scrubbing is the URL's; that the prefix is the default or as
// given, 1 to 200 bytes; and that the URL given back is a location that
// parses to itself, also with the prefix put back.
func FuzzParseLocation(f *testing.F) {
	for _, s := range [][3]string{
		{"rediss://:", "secret-pw", "@cache.internal:6380/2?prefix=myapp:connector:"},
		{"redis://h:6379/0", "", ""},
		{"redis://h/1?prefix=%7Bconnector%7D%3A", "", ""},
		{"rediss://:", "pw-pw-pw", "@h:6380/2?prefix=p&dial_timeout=3s"},
		{"redis://:", "hunter2-pw", "@h/0?prefix="},
		{"redis://:", "hunter2-pw", "@h/0?prefix=a&prefix=b"},
		{"redis://:", "hunter2-pw", "@h/0?schema=x"},
		{"redis://:", "hunter2-pw", "@h/0?connector_prefix=x"},
		{"redis://:", "hunter2-pw", "@h/0?prefix=a;b"},
		{"redis://:", "hunter2-pw", "@h/0?bogus_option=1"},
		{"redis://:", "hunter2-pw", "@h/notanumber"},
		{"redis://:", "hunter2-pw", "@h/hunter2-pw"},
		{"http://:", "hunter2-pw", "@h/0"},
		{"redis://user:", "s3cr3t-Pa55w0rd", "@127.0.0.1:1/0?pool_size=x"},
		{"redis://user:", "s3cr3t-Pa55w0rd", "@[::1/0"},
		{"redis://user:", "p%40ss%3Aw0rd%2B", "@h:6379/0?Prefix=x"},
		{"redis://u:", "12345678", "/9@h/0"},
		{"redis://h/0?prefix=" + strings.Repeat("p", 201), "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, pre, password, post string) {
		location := pre + password + post
		loc, err := ParseLocation(location)
		if forms := passwordForms(location, pre, password, post); len(forms) > 0 {
			rloc, rerr := ParseLocation(pre + leaktest.Rotate(password) + post)
			if form := leaktest.Leaked(shownLocation(loc, err), shownLocation(rloc, rerr), forms); form != "" {
				t.Fatalf("ParseLocation(%q) then ParseURL shows the password as %q: %q", location, form, shownLocation(loc, err))
			}
		}
		if err != nil {
			if loc != nil || driver.CodeOf(err) != driver.InvalidConfig || !strings.HasPrefix(err.Error(), "connector: store: redis store location") {
				t.Fatalf("ParseLocation(%q) = %+v, %q (%s): want nil and an InvalidConfig error that names the location", location, loc, err, driver.CodeOf(err))
			}
			return
		}
		if pw := leaktest.Password(t, location, loc.URL); loc.password != pw {
			t.Fatalf("ParseLocation(%q) keeps password %q to scrub, the URL's is %q", location, loc.password, pw)
		}
		want := leaktest.Param(t, location, "prefix", DefaultPrefix)
		if loc.Prefix != want || loc.Prefix == "" || len(loc.Prefix) > 200 {
			t.Fatalf("ParseLocation(%q): prefix %q, want %q (1 to 200 bytes)", location, loc.Prefix, want)
		}

		again, err := ParseLocation(loc.URL)
		if err != nil || again.URL != loc.URL || again.Prefix != DefaultPrefix || again.password != loc.password {
			t.Fatalf("ParseLocation(%q) gives URL %q, which gives %+v, %v", location, loc.URL, again, err)
		}
		u, _ := url.Parse(loc.URL)
		q := u.Query()
		q.Set("prefix", loc.Prefix)
		u.RawQuery = q.Encode()
		again, err = ParseLocation(u.String())
		// A location ending in an empty query ("redis://h/0?") keeps its
		// "?", which the prefix put back takes away: the same URL.
		if err != nil || leaktest.NoEmptyQuery(again.URL) != leaktest.NoEmptyQuery(loc.URL) || again.Prefix != loc.Prefix {
			t.Fatalf("ParseLocation(%q) = %+v; with the prefix put back (%q) it gives %+v, %v", location, loc, u.String(), again, err)
		}
	})
}

// shownLocation is what a user may see of ParseLocation's result: its
// error, or the error Open makes of go-redis's ParseURL of the URL (which
// may be none).
func shownLocation(loc *Location, err error) string {
	if err != nil {
		return err.Error()
	}
	if _, err := goredis.ParseURL(loc.URL); err != nil {
		return invalid("redis store location: %s", store.ScrubPassword(err.Error(), loc.password)).Error()
	}
	return ""
}

// FuzzParseRecord gives parseRecord the fields of a hash that anyone may
// have written in Redis: each a string, or absent (nil, or false as RESP3
// gives it) where its bit of absent is set. It checks that parseRecord
// never panics; that it returns nil and no error exactly when every field
// is absent, else a record or an error; that the error is the same
// whatever the secret field holds, and never shows the secret; and that a
// record keeps the id and the fields as given and reads back the same once
// written again as Put writes it.
func FuzzParseRecord(f *testing.F) {
	const d = `{"provider":"jumpseller","account":"shop-1","scopes":["read_orders","write_products"],"status":"active","reason":"","expiry":"2024-05-01T12:00:00.123456Z"}`
	seed := func(id string, absent uint16, fields ...string) {
		f.Add(id, absent, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7], fields[8])
	}
	// As Put writes them.
	seed("conn-1", 0, "3", d, "sealed-secret-bytes", "1714564800000000", "1714564800123456", "app", "ns", "ref-1", `["a","b"]`)
	seed("c/with:colon", 0, "1", `{"provider":"shopline","account":"","scopes":null,"status":"needs_reauth","reason":"invalid_grant","expiry":"0001-01-01T00:00:00Z"}`, "\x00\x01\xff", "0", "0", "", "", "", "[]")
	// Written before app, namespace, ref and tags (absent).
	seed("old", 1<<fApp|1<<fNamespace|1<<fRef|1<<fTags, "2", d, "sealed-secret-bytes", "1", "2", "", "", "", "")
	// No hash; an absent field as RESP3 false.
	seed("gone", 1<<nFields-1, "", "", "", "", "", "", "", "", "")
	seed("gone", 1<<nFields-1|1<<nFields, "", "", "", "", "", "", "", "", "")
	// Planted by someone else.
	seed("x", 0, "1", "not json", "planted-secret-1", "1", "2", "", "", "", "")
	seed("x", 0, "planted-secret-1", d, "planted-secret-1", "1", "2", "", "", "", "")
	seed("x", 0, "1", `{"provider":"planted-secret-2"`, "planted-secret-2", "1", "2", "", "", "", "")
	seed("x", 0, "1", `{"scopes":"planted-secret-3"}`, "planted-secret-3", "1", "2", "", "", "", "")
	seed("x", 0, "1", d, "planted-secret-4", "99999999999999999999", "x", "", "", "", "")
	seed("x", 0, "1", d, "planted-secret-5", "1", "2", "", "", "", `["planted-secret-5"`)
	seed("x", 0, "1", d, "planted-secret-6", "1", "2", "", "", "", `{"a":1}`)
	seed("x", 0, "1", `{"expiry":"planted-secret-7"}`, "planted-secret-7", "1", "2", "", "", "", "null")
	seed("x", 1<<fData, "1", "", "planted-secret-8", "1", "2", "", "", "", "")
	seed("x", 0, "1", `{"expiry":"9999-12-31T23:59:59-23:59"}`, "s", "-9223372036854775808", "9223372036854775807", "", "", "", "[]")
	seed("x", 0, "+1", `{"provider":"\xff\xfe"}`, "s", "1", "2", "", "", "", `["\xff"]`)
	f.Fuzz(func(t *testing.T, id string, absent uint16, version, data, secret, created, updated, app, namespace, ref, tags string) {
		fields := [nFields]string{version, data, secret, created, updated, app, namespace, ref, tags}
		values := func(secret string) []any {
			v := make([]any, nFields)
			for i, s := range fields {
				switch {
				case i == fSecret && absent&(1<<i) == 0:
					v[i] = secret
				case absent&(1<<i) == 0:
					v[i] = s
				case absent&(1<<nFields) != 0:
					v[i] = false // RESP3
				}
			}
			return v
		}
		rec, err := parseRecord(id, values(secret))
		if absent&(1<<nFields-1) == 1<<nFields-1 {
			if rec != nil || err != nil {
				t.Fatalf("parseRecord of no fields = %+v, %v; want nil, nil", rec, err)
			}
			return
		}
		if (rec == nil) == (err == nil) {
			t.Fatalf("parseRecord(%q, %q) = %+v, %v: want a record or an error", id, values(secret), rec, err)
		}

		// The secret has no say in the error, and does not show in it.
		other := "other" + secret
		rec2, err2 := parseRecord(id, values(other))
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("parseRecord's error depends on the secret: %v, with another secret %v", err, err2)
		}
		if err != nil {
			rest := id + "\x00" + strings.Join(slices.Delete(slices.Clone(fields[:]), fSecret, fSecret+1), "\x00")
			if len(secret) >= 8 && !strings.Contains(rest, secret) && strings.Contains(err.Error(), secret) {
				t.Fatalf("parseRecord error shows the secret %q: %v", secret, err)
			}
			return
		}
		if absent&(1<<fSecret) == 0 && string(rec2.Secret) != other {
			t.Fatalf("parseRecord: secret %q, want %q", rec2.Secret, other)
		}

		want := fields
		for i := range want {
			if absent&(1<<i) != 0 {
				want[i] = ""
			}
		}
		if rec.ID != id || string(rec.Secret) != want[fSecret] || rec.App != want[fApp] || rec.Namespace != want[fNamespace] || rec.Ref != want[fRef] {
			t.Fatalf("parseRecord(%q, %q) = %+v: id or fields not as given", id, values(secret), rec)
		}
		if rec.Tags != nil && len(rec.Tags) == 0 {
			t.Fatalf("parseRecord: empty tags are not nil: %#v", rec.Tags)
		}

		// Written again as Put writes it, it reads the same.
		again, err := parseRecord(id, putFields(t, rec))
		if err != nil {
			t.Fatalf("parseRecord of %+v as Put writes it: %v", rec, err)
		}
		if d := cmp.Diff(rec, again, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
			t.Fatalf("record read, written and read again (-first +again):\n%s", d)
		}
	})
}

// putFields returns the fields of rec's hash as Put writes them, as
// strings, as HMGET gives them back.
func putFields(t *testing.T, rec *store.Record) []any {
	d, err := json.Marshal(data{Provider: rec.Provider, Account: rec.Account, Scopes: rec.Scopes,
		Status: string(rec.Status), Reason: rec.Reason, Expiry: rec.Expiry})
	if err != nil {
		t.Fatalf("cannot encode %+v: %v", rec, err)
	}
	tags := []byte("[]")
	if len(rec.Tags) > 0 {
		if tags, err = json.Marshal(rec.Tags); err != nil {
			t.Fatal(err)
		}
	}
	v := make([]any, nFields)
	v[fVersion], v[fData], v[fSecret] = strconv.FormatInt(rec.Version, 10), string(d), string(rec.Secret)
	v[fCreated], v[fUpdated] = strconv.FormatInt(rec.CreatedAt.UnixMicro(), 10), strconv.FormatInt(rec.UpdatedAt.UnixMicro(), 10)
	v[fApp], v[fNamespace], v[fRef], v[fTags] = rec.App, rec.Namespace, rec.Ref, string(tags)
	return v
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
