package shoplineglobal_test

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

// Example binds the driver to a store and builds the URL of SHOPLINE's
// authorization page, where the merchant is sent: the engine's AuthURL, as
// for every provider (the redirect back goes to HandleCallback).
func Example() {
	p, err := shoplineglobal.ForShop("open001")
	if err != nil {
		panic(err)
	}
	s := p.Spec()
	fmt.Println("authorize:", s.Endpoint.AuthURL)
	fmt.Println("token:", s.Endpoint.TokenURL)
	fmt.Println("refresh:", s.Endpoint.RefreshURL)
	fmt.Println("api:", s.Endpoint.APIBaseURL)

	c, err := connector.NewWithDriver(p, connector.Options{ClientID: "app-key", ClientSecret: "app-secret",
		RedirectURL: "https://app.example/callback", Scopes: []string{"read_products", "read_orders"}})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	page, err := c.AuthURL(connector.AuthRequest{})
	if err != nil {
		panic(err)
	}
	route, query, _ := strings.Cut(page, "?")
	q, _ := url.ParseQuery(query)
	fmt.Println("page:", route)
	fmt.Println("appKey:", q.Get("appKey"), "responseType:", q.Get("responseType"), "scope:", q.Get("scope"))
	fmt.Println("redirectUri:", q.Get("redirectUri"), "customField set:", q.Get("customField") != "")
	// Output:
	// authorize: https://open001.myshopline.com/admin/oauth-web/#/oauth/authorize
	// token: https://open001.myshopline.com/admin/oauth/token/create
	// refresh: https://open001.myshopline.com/admin/oauth/token/refresh
	// api: https://open001.myshopline.com/admin/openapi/v20251201/
	// page: https://open001.myshopline.com/admin/oauth-web/#/oauth/authorize
	// appKey: app-key responseType: code scope: read_products,read_orders
	// redirectUri: https://app.example/callback customField set: true
}
