package jumpseller_test

import (
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/providers/jumpseller"
)

func TestConformance(t *testing.T) {
	conformance.TestProvider(t, conformance.ProviderHarness{Provider: jumpseller.Provider, APIPath: "store/info.json"})
}
