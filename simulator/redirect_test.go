package simulator

import "testing"

// TestRedirectMatches holds redirectMatches to Doorkeeper 5.5's
// URIChecker.valid_for_authorization? (lib/doorkeeper/oauth/helpers/uri_checker.rb).
func TestRedirectMatches(t *testing.T) {
	tests := []struct {
		name                  string
		requested, registered string
		want                  bool
	}{
		{"same", "https://app.example/cb", "https://app.example/cb", true},
		{"other path", "https://app.example/cb2", "https://app.example/cb", false},
		{"trailing slash", "https://app.example/cb/", "https://app.example/cb", false},
		{"other host", "https://evil.example/cb", "https://app.example/cb", false},
		{"other scheme", "http://app.example/cb", "https://app.example/cb", false},
		{"host case", "https://APP.example/cb", "https://app.example/cb", true},
		{"explicit default port", "https://app.example:443/cb", "https://app.example/cb", true},
		{"empty path is /", "https://app.example", "https://app.example/", true},
		{"non-loopback host, other port", "https://app.example:8443/cb", "https://app.example/cb", false},
		{"IPv4 loopback, other port", "http://127.0.0.1:53117/callback", "http://127.0.0.1:8080/callback", true},
		{"IPv4 loopback, no port", "http://127.0.0.1/callback", "http://127.0.0.1:8080/callback", true},
		{"127.0.0.0/8", "http://127.1.2.3:9/cb", "http://127.1.2.3:8/cb", true},
		{"IPv4 loopback, other path", "http://127.0.0.1:53117/other", "http://127.0.0.1:8080/callback", false},
		{"IPv4 loopback, other address", "http://127.0.0.2:8080/callback", "http://127.0.0.1:8080/callback", false},
		{"IPv6 loopback, other port", "http://[::1]:40000/cb", "http://[::1]:8080/cb", true},
		{"IPv4 and IPv6 loopback differ", "http://[::1]:8080/cb", "http://127.0.0.1:8080/cb", false},
		{"localhost is not an IP literal", "http://localhost:9000/cb", "http://localhost:8080/cb", false},
		{"localhost, same port", "http://localhost:8080/cb", "http://localhost:8080/cb", true},
		{"registered without query: the request's query is ignored", "https://app.example/cb?x=1", "https://app.example/cb", true},
		{"registered query in another order", "https://app.example/cb?b=2&a=1", "https://app.example/cb?a=1&b=2", true},
		{"registered query missing", "https://app.example/cb", "https://app.example/cb?a=1", false},
		{"registered query differs", "https://app.example/cb?a=2", "https://app.example/cb?a=1", false},
		{"fragment is invalid", "https://app.example/cb#x", "https://app.example/cb", false},
		{"no scheme", "app.example/cb", "app.example/cb", false},
		{"localhost scheme", "localhost:8080/cb", "localhost:8080/cb", false},
		{"http without host", "http:/cb", "http:/cb", false},
		{"out of band", OOBRedirectURI, OOBRedirectURI, true},
		{"out of band, auto", OOBRedirectURI + ":auto", OOBRedirectURI + ":auto", true},
		{"out of band against a URL", OOBRedirectURI, "https://app.example/cb", false},
		{"custom scheme", "com.example.app:/oauth2redirect", "com.example.app:/oauth2redirect", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redirectMatches(tt.requested, tt.registered); got != tt.want {
				t.Errorf("redirectMatches(%q, %q) = %v, want %v", tt.requested, tt.registered, got, tt.want)
			}
		})
	}
}
