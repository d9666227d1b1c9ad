package shopline_test

import (
	"fmt"

	"github.com/connector-go/connector/providers/shopline"
)

// Example shows the wire facts the SHOPLINE driver holds.
func Example() {
	s := shopline.Provider.Spec()
	fmt.Println("authorize:", s.Endpoint.AuthURL)
	fmt.Println("token:", s.Endpoint.TokenURL)
	fmt.Println("revoke:", s.Endpoint.RevokeURL)
	fmt.Println("api:", s.Endpoint.APIBaseURL)
	fmt.Println("token request:", s.Token.Format, "body, client credentials in the", s.Token.Auth)
	fmt.Println("revoke request:", s.Revoke.Format, "body, client credentials in", s.Revoke.Auth)
	fmt.Println("refresh sends redirect_uri:", s.RefreshSendsRedirectURI)
	fmt.Println("codes live:", s.CodeLifetime)
	fmt.Println("access tokens live:", s.DefaultLifetime)
	fmt.Println("refresh tokens outlive them by:", s.RefreshTokenLifetimeAfterExpiry)
	fmt.Println("User-Agent:", s.APIHeaders.Get("User-Agent"))
	fmt.Println("known scopes:", len(s.Scopes), "(any accepted)")
	// Output:
	// authorize: https://developers.shoplineapp.com/oauth/authorize
	// token: https://developers.shoplineapp.com/oauth/token
	// revoke: https://developers.shoplineapp.com/oauth/revoke
	// api: https://open.shopline.io/v1/
	// token request: json body, client credentials in the body
	// revoke request: json body, client credentials in basic
	// refresh sends redirect_uri: true
	// codes live: 10m0s
	// access tokens live: 4382h54m36s
	// refresh tokens outlive them by: 24h0m0s
	// User-Agent: connector-go/0.1.0 (+https://github.com/connector-go/connector)
	// known scopes: 0 (any accepted)
}
