package jumpseller_test

import (
	"fmt"
	"strings"

	"github.com/connector-go/connector/providers/jumpseller"
)

// Example shows the wire facts the Jumpseller driver holds.
func Example() {
	s := jumpseller.Provider.Spec()
	fmt.Println("authorize:", s.Endpoint.AuthURL)
	fmt.Println("token:", s.Endpoint.TokenURL)
	fmt.Println("api:", s.Endpoint.APIBaseURL)
	fmt.Println("token request:", s.Token.Format, "body, client credentials in the", s.Token.Auth)
	fmt.Println("refresh sends redirect_uri:", s.RefreshSendsRedirectURI)
	fmt.Println("access tokens live:", s.DefaultLifetime)
	fmt.Println("revocation endpoint:", s.Endpoint.RevokeURL != "")
	fmt.Println("scopes:", len(s.Scopes), "joined by", fmt.Sprintf("%q", s.ScopeSeparator))
	fmt.Println("default scopes:", strings.Join(s.DefaultScopes, " "))
	fmt.Println("rate-limit headers:", strings.Join(s.RateLimitHeaders[:2], ", "), "…")
	// Output:
	// authorize: https://accounts.jumpseller.com/oauth/authorize
	// token: https://accounts.jumpseller.com/oauth/token
	// api: https://api.jumpseller.com/v1/
	// token request: form body, client credentials in the body
	// refresh sends redirect_uri: false
	// access tokens live: 1h0m0s
	// revocation endpoint: false
	// scopes: 42 joined by " "
	// default scopes: read_store
	// rate-limit headers: Jumpseller-PerMinuteRateLimit-Limit, Jumpseller-PerMinuteRateLimit-Remaining …
}

// ExampleNewSimulator runs the whole flow offline against the simulator.
func ExampleNewSimulator() {
	sim := jumpseller.NewSimulator()
	sim.AddClient("my-app", "my-secret", "http://localhost:8085/callback")
	redirect, err := sim.Approve("http://sandbox/oauth/authorize?client_id=my-app&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2Fcallback&response_type=code&scope=read_store+read_orders&state=xyz")
	if err != nil {
		panic(err)
	}
	fmt.Println(redirect.Host+redirect.Path, "state:", redirect.Query().Get("state"), "code length:", len(redirect.Query().Get("code")))
	// Output:
	// localhost:8085/callback state: xyz code length: 64
}
