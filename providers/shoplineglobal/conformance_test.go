package shoplineglobal_test

import (
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

// TestConformance runs the provider suite against the store open001 of
// SHOPLINE's simulator, which the suite gets from the driver
// (driver.Simulated). The suite drives the browser leg through the
// engine, as for every provider: the driver's Authorizer and
// CallbackReader are the engine's hooks.
func TestConformance(t *testing.T) {
	p, err := shoplineglobal.ForShop("open001")
	if err != nil {
		t.Fatal(err)
	}
	conformance.TestProvider(t, conformance.ProviderHarness{
		Provider: p,
		Scopes:   []string{"read_store_information", "read_products"},
		APIPath:  "merchants/shop.json",
	})
}

var _ conformance.Simulator = (*shoplineglobal.Simulator)(nil)
