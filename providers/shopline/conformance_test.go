package shopline_test

import (
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/providers/shopline"
)

func TestConformance(t *testing.T) {
	conformance.TestProvider(t, conformance.ProviderHarness{Provider: shopline.Provider, APIPath: "token/info"})
}
