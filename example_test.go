package connector_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/providers/jumpseller"
	_ "github.com/connector-go/connector/providers/shopline"
)

// The whole flow against the Jumpseller simulator: authorize, callback,
// token, API call.
func Example() {
	sim := jumpseller.NewSimulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddClient("my-app", "my-secret", "http://127.0.0.1:8085/callback")
	ep := sim.Endpoint(srv.URL)

	ctx := context.Background()
	c, err := connector.Open(ctx, "Provider=jumpseller;OAuthClientId=my-app;OAuthClientSecret=my-secret;"+
		"CallbackURL=http://127.0.0.1:8085/callback;Scope=read_store;OAuthSettingsLocation=memory://example;"+
		"OAuthAuthorizationURL="+ep.AuthURL+";OAuthAccessTokenURL="+ep.TokenURL+";URL="+ep.APIBaseURL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	authURL, _ := c.AuthCodeURL(nil)                     // send the merchant's browser here
	callback, _ := sim.Approve(authURL)                  // the merchant approves; the provider redirects back
	conn, err := c.HandleCallback(ctx, callback.Query()) // state checked, code exchanged, connection stored
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("connection:", conn.ID())

	req, _ := conn.NewRequest(ctx, "GET", "store/info.json", nil)
	resp, err := conn.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, len(body) > 0)
	// Output:
	// connection: jumpseller:sandbox-store
	// 200 true
}

// Branch on the error's Code, never on its text.
func ExampleCodeOf() {
	_, err := connector.New("woocommerce", connector.Options{})
	switch driver.CodeOf(err) {
	case driver.UnknownProvider:
		fmt.Println("not linked in:", err)
	case driver.ReauthRequired:
		fmt.Println("ask the merchant to authorize again")
	}
	// Output:
	// not linked in: connector: unknown provider "woocommerce" (known: bigcommerce, ecwid, jumpseller, mercadolibre, mercadopago, shopify, shopline, square, tiendanube; forgotten import?)
}

// A platform ties each connection to its own customer: the reference
// travels in the signed state, is stored with the connection, and finds it
// later from any instance that shares the store.
func ExampleConnector_ConnectionByRef() {
	sim := jumpseller.NewSimulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddClient("my-app", "my-secret", "http://127.0.0.1:8085/callback")
	ep := sim.Endpoint(srv.URL)
	ctx := context.Background()
	c, err := connector.Open(ctx, "Provider=jumpseller;OAuthClientId=my-app;OAuthClientSecret=my-secret;"+
		"CallbackURL=http://127.0.0.1:8085/callback;Scope=read_store;OAuthSettingsLocation=memory://example-ref;"+
		"OAuthAuthorizationURL="+ep.AuthURL+";OAuthAccessTokenURL="+ep.TokenURL+";URL="+ep.APIBaseURL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	authURL, _ := c.AuthURL(connector.AuthRequest{Ref: "customer-42", Tags: []string{"eu"}})
	callback, _ := sim.Approve(authURL)
	if _, err := c.HandleCallback(ctx, callback.Query()); err != nil {
		fmt.Println(err)
		return
	}
	conn, err := c.ConnectionByRef(ctx, "customer-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	info := conn.Info()
	fmt.Println(info.ID, info.App, info.Ref, info.Tags)
	// Output:
	// jumpseller:sandbox-store my-app customer-42 [eu]
}

// logged is a RoundTripper that logs each exchange's method, path and
// status: never a header or a body, which carry the credentials.
type logged struct{ base http.RoundTripper }

func (l logged) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		fmt.Println(r.Method, r.URL.Path, "failed")
		return nil, err
	}
	fmt.Println(r.Method, r.URL.Path, resp.StatusCode)
	return resp, nil
}

// Log every exchange the connector makes, token requests included, below
// its retries and bearer token: Options.WrapTransport wraps the default
// transport, which keeps its limits (Timeout).
func ExampleOptions_wrapTransport() {
	sim := jumpseller.NewSimulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddClient("my-app", "my-secret", "http://127.0.0.1:8085/callback")
	ep := sim.Endpoint(srv.URL)
	ctx := context.Background()
	c, err := connector.Open(ctx, "Provider=jumpseller;OAuthClientId=my-app;OAuthClientSecret=my-secret;"+
		"CallbackURL=http://127.0.0.1:8085/callback;Scope=read_store;OAuthSettingsLocation=memory://example-wrap;"+
		"OAuthAuthorizationURL="+ep.AuthURL+";OAuthAccessTokenURL="+ep.TokenURL+";URL="+ep.APIBaseURL,
		func(o *connector.Options) {
			o.WrapTransport = func(base http.RoundTripper) http.RoundTripper { return logged{base} }
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	authURL, _ := c.AuthCodeURL(nil)
	callback, _ := sim.Approve(authURL)
	conn, err := c.HandleCallback(ctx, callback.Query())
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := conn.Refresh(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// POST /oauth/token 200
	// GET /api/v1/store/info.json 200
	// POST /oauth/token 200
}
