package connector

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/connector-go/connector/driver"
)

// This file is the rule that keeps the bearer token on its origin: it is
// sent only to requests whose scheme, host and port equal the API base
// URL's (RFC 6454 origins), never along a redirect to another origin and
// never from https to http.

// origin is a URL's scheme, host and port, normalised: lower-case scheme
// and host, the scheme's default port made explicit.
type origin struct{ scheme, host, port string }

// originOf returns u's origin.
func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "https":
			o.port = "443"
		case "http":
			o.port = "80"
		}
	}
	return o
}

// String returns the origin as scheme://host:port.
func (o origin) String() string {
	return o.scheme + "://" + net.JoinHostPort(o.host, o.port)
}

// sameOrigin reports whether u is on the API's origin, without allocating.
func (c *Connector) sameOrigin(u *url.URL) bool {
	o := c.apiOrigin
	if o.scheme == "" || !strings.EqualFold(u.Scheme, o.scheme) || !strings.EqualFold(u.Hostname(), o.host) {
		return false
	}
	port := u.Port()
	if port == "" {
		switch o.scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return port == o.port
}

// redactedTarget shows where a URL points without its query, fragment or
// user info, which may hold secrets: scheme://host/path.
func redactedTarget(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	s := r.String()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// maxRedirects is how many same-origin redirects Client follows, as
// net/http does by default.
const maxRedirects = 10

// checkRedirect is Client's redirect policy: follow a redirect only within
// the API's origin; any other target is refused with an error that names
// it, and the redirect is not followed (the token never goes there).
func (c *Connector) checkRedirect(req *http.Request, via []*http.Request) error {
	if !c.sameOrigin(req.URL) {
		e := c.errorf(driver.ProviderError, "api", "the API redirected to %s, outside its origin %s; not followed, so that the token stays there",
			redactedTarget(req.URL), c.apiOrigin)
		if req.Response != nil {
			e.Status = req.Response.StatusCode
		}
		return e
	}
	if len(via) >= maxRedirects {
		return c.errorf(driver.ProviderError, "api", "stopped after %d redirects", maxRedirects)
	}
	return nil
}

// sameOriginAs returns target moved to the origin (scheme and host) of
// base, keeping its path and query.
func sameOriginAs(target, base string) string {
	t, err1 := url.Parse(target)
	b, err2 := url.Parse(base)
	if err1 != nil || err2 != nil {
		return ""
	}
	t.Scheme, t.Host, t.User = b.Scheme, b.Host, nil
	return t.String()
}
