package driver

import (
	"net"
	"net/url"
	"strings"
)

// OOB is the redirect URI for terminal use: the provider shows the code
// instead of redirecting.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

// IsLoopback reports whether host (without port) is localhost or a loopback
// address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// CheckURL validates an endpoint or redirect URL named field: absolute,
// https, or http only for a loopback host, and without user info. The
// error names the field, not the URL's query. oob allows OOB.
func CheckURL(field, raw string, oob bool) error {
	if oob && raw == OOB {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return &Error{Code: InvalidConfig, Op: "config", Msg: field + " is not an absolute URL"}
	}
	if u.User != nil {
		return &Error{Code: InvalidConfig, Op: "config", Msg: field + " must not carry user info"}
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return &Error{Code: InvalidConfig, Op: "config", Msg: field + " uses plain http for a non-loopback host " + u.Hostname() + "; use https"}
	}
	return &Error{Code: InvalidConfig, Op: "config", Msg: field + " has scheme " + u.Scheme + "; use https"}
}
