package shoplineglobal_test

import (
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

// TestConformance runs the provider suite against the store open001 of
// SHOPLINE's simulator. The harness adds what the engine cannot do for
// this provider: the browser leg's rewrites (AuthorizeURL, CallbackQuery).
func TestConformance(t *testing.T) {
	p, err := shoplineglobal.ForShop("open001")
	if err != nil {
		t.Fatal(err)
	}
	conformance.TestProvider(t, conformance.ProviderHarness{
		Provider:     p,
		Simulator:    func() conformance.Simulator { return shoplineglobal.NewSimulator("open001") },
		Scopes:       []string{"read_store_information", "read_products"},
		APIPath:      "merchants/shop.json",
		AuthorizeURL: shoplineglobal.AuthorizeURL,
		Callback:     shoplineglobal.CallbackQuery,
	})
}
