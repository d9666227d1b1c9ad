package simulator

import (
	"net"
	"net/url"
	"slices"
	"strings"
)

// oobURIs are Doorkeeper's out-of-band redirect URIs
// (lib/doorkeeper/oauth/nonstandard.rb, IETF_WG_OAUTH2_OOB_METHODS).
var oobURIs = []string{OOBRedirectURI, OOBRedirectURI + ":auto"}

// redirectMatches reports whether the redirect URI a request carries
// (requested) is acceptable for one registered for the client (registered),
// as Doorkeeper 5.5's URIChecker.valid_for_authorization? decides
// (lib/doorkeeper/oauth/helpers/uri_checker.rb):
//
//   - requested must be valid (valid?): an out-of-band URI, or a URI with
//     a scheme other than "localhost", a host when the scheme is http or
//     https, no fragment and no opaque part;
//   - when registered has a query, requested must have the same
//     parameters, in any order (query_matches?); when it has none, a query
//     in requested is ignored;
//   - when both hosts are loopback IP literals (loopback_uri?: 127.0.0.0/8 or
//     ::1; not "localhost"), the ports are ignored (RFC 8252 §7.3: a native
//     app listens on whatever port it gets). Doorkeeper does so since
//     5.1.0.rc1 (commit 1e98b15f, "Fix #1170: add check for loopback IP
//     URIs");
//   - the rest compares as Ruby's URI#== does after normalize: scheme and
//     host case-insensitively, an empty path as "/", a missing port as the
//     scheme's default.
func redirectMatches(requested, registered string) bool {
	if !validRedirect(requested) {
		return false
	}
	if slices.Contains(oobURIs, requested) || slices.Contains(oobURIs, registered) {
		return requested == registered
	}
	u, err := url.Parse(requested)
	if err != nil {
		return false
	}
	c, err := url.Parse(registered)
	if err != nil {
		return false
	}
	if hasQuery(c) {
		if !queryMatches(u, c) {
			return false
		}
	}
	ignorePort := loopbackIP(u) && loopbackIP(c)
	return sameURI(u, c, ignorePort)
}

// validRedirect is URIChecker.valid?.
func validRedirect(raw string) bool {
	if slices.Contains(oobURIs, raw) {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || strings.EqualFold(u.Scheme, "localhost") {
		return false
	}
	if u.Opaque != "" || strings.Contains(raw, "#") {
		return false
	}
	if web := strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"); web && u.Host == "" {
		return false
	}
	return true
}

// hasQuery reports whether u has a query, empty or not (Ruby's URI#query is
// nil only without a "?").
func hasQuery(u *url.URL) bool { return u.RawQuery != "" || u.ForceQuery }

// queryMatches is URIChecker.query_matches?: the same "&"-separated
// parameters in any order; two blank queries match.
func queryMatches(u, registered *url.URL) bool {
	if u.RawQuery == "" && registered.RawQuery == "" {
		return true
	}
	if !hasQuery(u) {
		return false
	}
	a, b := strings.Split(u.RawQuery, "&"), strings.Split(registered.RawQuery, "&")
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// loopbackIP is URIChecker.loopback_uri?: the host is an IP literal that
// IPAddr#loopback? accepts, 127.0.0.0/8 or exactly ::1. A host name, even
// "localhost", is not.
func loopbackIP(u *url.URL) bool {
	host := u.Hostname()
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if strings.Contains(host, ":") { // IPv6: IPAddr compares @addr == 1
		return ip.Equal(net.IPv6loopback) && ip.To4() == nil
	}
	return ip.To4()[0] == 127
}

// sameURI compares u and v as Ruby's URI#== does after URI#normalize:
// scheme and host in lower case, an empty path as "/", the scheme's default
// port when none is given; the query is not compared (matches? clears it).
func sameURI(u, v *url.URL, ignorePort bool) bool {
	if !strings.EqualFold(u.Scheme, v.Scheme) || u.User.String() != v.User.String() ||
		!strings.EqualFold(u.Hostname(), v.Hostname()) || normPath(u) != normPath(v) {
		return false
	}
	return ignorePort || portOf(u) == portOf(v)
}

func normPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// portOf is u's port, or the default port of http and https (URI::HTTP's
// default_port), or "" for other schemes.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}
