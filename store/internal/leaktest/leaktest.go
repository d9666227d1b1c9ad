// Package leaktest helps the store packages' fuzz tests check that a
// location's password shows in no error or printed form: the forms a
// password takes in a text, and a way to tell a form that comes from the
// password from one that comes from the rest of the text.
package leaktest

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// InUserinfo reports whether location, parsed as a URL, holds password
// (as written, or %-decoded) in the password of its user information.
func InUserinfo(location, password string) bool {
	u, err := url.Parse(location)
	if err != nil || u.User == nil {
		return false
	}
	p, ok := u.User.Password()
	dec, err := url.PathUnescape(password)
	return ok && err == nil && strings.Contains(p, dec)
}

// Forms returns the forms in which password, placed between pre and post
// in a location, could show in a text: as written, %-decoded (as a path or
// a query value), Go-quoted, and escaped as a query, a path or user
// information would escape it; only forms of 8 bytes or more that are found
// in neither pre nor post, nor in "xxxxx" (what scrubbing puts in a
// password's place), so that a match cannot come from elsewhere. It returns
// nil for a password shorter than 8 bytes.
func Forms(password, pre, post string) []string {
	if len(password) < 8 {
		return nil
	}
	var forms []string
	add := func(s string) {
		for _, f := range []string{s, strings.Trim(strconv.Quote(s), `"`), url.QueryEscape(s), url.PathEscape(s), url.UserPassword("", s).String()[1:]} {
			if len(f) >= 8 && !strings.Contains(pre, f) && !strings.Contains(post, f) && !strings.Contains(f, "xxxxx") && !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	add(password)
	if dec, err := url.PathUnescape(password); err == nil {
		add(dec)
	}
	if dec, err := url.QueryUnescape(password); err == nil {
		add(dec)
	}
	return forms
}

// Leaked returns the first of forms that text shows and rotatedText — the
// text of the same input with the password Rotated — does not (so that the
// form comes from the password, not from the rest of the location or the
// message), or "".
func Leaked(text, rotatedText string, forms []string) string {
	for _, f := range forms {
		if strings.Contains(text, f) && !strings.Contains(rotatedText, f) {
			return f
		}
	}
	return ""
}

// Rotate changes every letter and digit of s into another of its kind, a
// hexadecimal digit into another (so that a %-escape stays valid), keeping
// case: a URL has the same structure with the result in place of s.
func Rotate(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '8', c >= 'a' && c <= 'e', c >= 'A' && c <= 'E', c >= 'g' && c <= 'y', c >= 'G' && c <= 'Y':
			b[i] = c + 1
		case c == '9':
			b[i] = '0'
		case c == 'f' || c == 'F':
			b[i] = c - 5
		case c == 'z' || c == 'Z':
			b[i] = c - 19
		}
	}
	return string(b)
}

// NoEmptyQuery returns the URL s without the "?" of an empty query: the
// same URL to a client library.
func NoEmptyQuery(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	u.ForceQuery = false
	return u.String()
}

// NotPrinted fails t unless every way fmt prints v (%v, %+v, %#v, %s)
// leaves password out and shows "xxxxx" in its place.
func NotPrinted(t testing.TB, v any, password string) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, v); strings.Contains(got, password) || !strings.Contains(got, "xxxxx") {
			t.Errorf("Sprintf(%q, %T) = %q: want the password replaced by xxxxx", verb, v, got)
		}
	}
}

// Password returns the password of the URL a parser gave back (the
// location "url" it made of the location "given"), failing t when that
// URL does not parse.
func Password(t testing.TB, given, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("%q gives URL %q, which does not parse: %v", given, u, err)
	}
	pw, _ := parsed.User.Password()
	return pw
}

// Param returns the value of the parameter param of location, under any
// case of its name (a parser that took it refused two), or def without it;
// it fails t when location does not parse.
func Param(t testing.TB, location, param, def string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatalf("%q was taken where url.Parse fails: %v", location, err)
	}
	for k, v := range u.Query() {
		if strings.EqualFold(k, param) {
			return v[0]
		}
	}
	return def
}
