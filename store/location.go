package store

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/connector-go/connector/driver"
)

// BackendURL is a backend's location, parsed by ParseBackendURL.
type BackendURL struct {
	// URL is the location without the connector's own parameter, ready for
	// the backend's client library.
	URL *url.URL
	// Password is the URL's password, so that errors can scrub it.
	Password string
	// Values holds the connector parameter's values; nil when absent.
	Values []string
}

// ParseBackendURL parses a server backend's location ("postgres://…",
// "redis://…"): its scheme must be one of schemes; param names the one
// parameter the connector reads (and removes); a parameter listed in refused
// (mapped to the one to use instead) or any other starting with
// "connector" is refused. Errors are InvalidConfig and never hold the
// location or its password.
func ParseBackendURL(location, backend string, schemes []string, param string, refused map[string]string) (*BackendURL, error) {
	invalid := func(format string, args ...any) error {
		return &driver.Error{Code: driver.InvalidConfig, Op: "store", Msg: backend + " store location" + fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(location)
	if err != nil {
		// url.Parse quotes its input: say nothing of it.
		return nil, invalid(" is not a valid URL")
	}
	if !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		return nil, invalid(" has scheme %q, want %s", u.Scheme, strings.Join(schemes, " or "))
	}
	if !strings.HasPrefix(location[len(u.Scheme)+1:], "//") {
		// "postgres:/x" has no authority: net/url would give it back as
		// another URL than the one written (or one that does not parse).
		return nil, invalid(" is not of the form %s://…", strings.ToLower(u.Scheme))
	}
	b := &BackendURL{}
	if u.User != nil {
		b.Password, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, invalid(" has malformed parameters (a ';' or a bad %%-escape)")
	}
	for k := range q {
		lk := strings.ToLower(k)
		if lk == param {
			continue
		}
		if use, ok := refused[lk]; ok {
			return nil, invalid(": parameter %q is not supported; use %s=", k, use)
		}
		if strings.HasPrefix(lk, "connector") {
			return nil, invalid(": unknown connector parameter %q (known: %s)", k, param)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if strings.EqualFold(k, param) { // as the check above: Prefix= is prefix=
			b.Values = append(b.Values, q[k]...)
			q.Del(k)
		}
	}
	// A space as %20, not as url.Values.Encode's "+": libpq, and pgx with
	// it, read "+" as itself (options=-c%20statement_timeout%3D5000), while
	// go-redis reads either. Encode writes a "+" of a value as %2B, so every
	// "+" in its result is a space.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	if u.Host == "" && u.User == nil && u.Path == "" {
		// net/url writes an empty authority back only before a path:
		// postgres:// (every default) would come back as postgres:.
		u.Path = "/"
	}
	b.URL = u
	return b, nil
}

// ScrubPassword returns msg with every occurrence of password — as
// written, or escaped as a query (a space as + or as %20, as
// ParseBackendURL writes it), a path or user information escapes it —
// replaced by xxxxx. Backends use it on their client libraries' errors,
// which may quote the location.
func ScrubPassword(msg, password string) string {
	if password == "" {
		return msg
	}
	q := url.QueryEscape(password)
	for _, form := range []string{password, q, strings.ReplaceAll(q, "+", "%20"), url.PathEscape(password), url.UserPassword("", password).String()[1:]} {
		if form != "" {
			msg = strings.ReplaceAll(msg, form, "xxxxx")
		}
	}
	return msg
}
