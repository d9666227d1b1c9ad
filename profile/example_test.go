package profile_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/store/memory"
)

func ExampleParse() {
	p, err := profile.Parse("acme.yaml", []byte(minimal))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name, "needs", p.Missing())
	b, _ := p.Bind(map[string]string{"shop": "my-shop"})
	fmt.Println(b.Driver().Spec().Endpoint.TokenURL)
	// Output:
	// acme needs [shop]
	// https://my-shop.acme.example/oauth/token
}

func ExampleParse_error() {
	_, err := profile.Parse("acme.yaml", []byte("name: acme\ndisplay_name: Acme\ndocs: https://acme.example/\ncolour: blue\n"))
	fmt.Println(err)
	// Output:
	// connector: profile: invalid profile: acme.yaml:4: colour: "colour" is not a field of this section (see docs/profiles.md)
}

func ExampleRefuseAPIP() {
	fmt.Println(profile.RefuseAPIP(`C:\profiles\Jumpseller.apip`))
	// Output:
	// connector: profile: "Jumpseller.apip" is a CData API Profile (.apip); CData API Profiles are not read: describe the provider in a YAML profile instead (see docs/profiles.md)
}

func ExampleCatalog() {
	for _, p := range profile.Catalog() {
		fmt.Printf("%-12s %-22s expiry=%-7s verified=%v\n", p.Name, p.DisplayName, p.Answer.Expiry.Format, p.Verified())
	}
	// Output:
	// bigcommerce  BigCommerce            expiry=never   verified=false
	// ecwid        Ecwid                  expiry=never   verified=true
	// jumpseller   Jumpseller             expiry=seconds verified=false
	// mercadolibre Mercado Libre          expiry=seconds verified=false
	// mercadopago  Mercado Pago           expiry=seconds verified=false
	// shopify      Shopify                expiry=seconds verified=false
	// shopline     SHOPLINE               expiry=seconds verified=true
	// square       Square                 expiry=date    verified=false
	// tiendanube   Tiendanube / Nuvemshop expiry=never   verified=false
}

// A profile is a provider like any other: the engine runs it against the
// simulator the profile gets for free.
func ExampleProfile_Simulator() {
	p := profile.Lookup("ecwid")
	sim := p.Simulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.AddClient("my-app", "my-secret", srv.URL+"/callback")

	c, err := connector.NewWithDriver(p.Driver(), connector.Options{
		ClientID: "my-app", ClientSecret: "my-secret", RedirectURL: srv.URL + "/callback",
		Endpoint: sim.Endpoint(srv.URL), Store: memory.New(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	u, _ := c.AuthCodeURL(nil)
	redirect, _ := sim.Approve(u) // the merchant clicks Authorize
	conn, err := c.HandleCallback(context.Background(), redirect.Query())
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, _ := conn.Token(context.Background())
	fmt.Println(conn.ID(), tok.Expiry.IsZero(), tok.Scopes)
	// Output:
	// ecwid:1003 true [read_store_profile]
}
