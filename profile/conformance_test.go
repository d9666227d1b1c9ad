package profile_test

import (
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/simulator"
)

// TestConformance runs conformance.TestProvider for every catalog
// profile against the profile's own simulator, through the driver's
// driver.Simulated: the *simulator.Server itself where the profile's wire
// format is Doorkeeper's (Native), else the translating *Simulator, which
// also states the facts a Server cannot (conformance.TokenFacts: tokens
// that never expire, no refresh tokens).
func TestConformance(t *testing.T) {
	for _, p := range profile.Catalog() {
		t.Run(p.Name, func(t *testing.T) {
			ex := p.Example()
			conformance.TestProvider(t, conformance.ProviderHarness{
				Provider: ex.Driver(),
				APIPath:  ex.Driver().(profile.Prober).ProbePath(ex.Sample.Account),
			})
		})
	}
}

// TestConformanceSimulatorField runs the suite with the translating
// Simulator given through ProviderHarness.Simulator, as a user's test of
// their own profile would.
func TestConformanceSimulatorField(t *testing.T) {
	ex := profile.Lookup("bigcommerce").Example()
	conformance.TestProvider(t, conformance.ProviderHarness{
		Provider:  ex.Driver(),
		Simulator: func() conformance.Simulator { return ex.Simulator() },
		APIPath:   ex.Driver().(profile.Prober).ProbePath(ex.Sample.Account),
	})
}

// TestConformanceAgainstGoSimulators holds the Jumpseller and SHOPLINE
// profiles to the Go drivers' hand-written simulators, which state each
// provider's facts independently of any profile; and the Go drivers to
// the profiles' simulators.
func TestConformanceAgainstGoSimulators(t *testing.T) {
	js, sl := profile.Lookup("jumpseller"), profile.Lookup("shopline")
	t.Run("JumpsellerProfile/GoSimulator", func(t *testing.T) {
		conformance.TestProvider(t, conformance.ProviderHarness{Provider: js.Driver(), NewSimulator: jumpseller.NewSimulator, APIPath: "store/info.json"})
	})
	t.Run("ShoplineProfile/GoSimulator", func(t *testing.T) {
		conformance.TestProvider(t, conformance.ProviderHarness{Provider: sl.Driver(), NewSimulator: shopline.NewSimulator, APIPath: "token/info"})
	})
	t.Run("JumpsellerDriver/ProfileSimulator", func(t *testing.T) {
		conformance.TestProvider(t, conformance.ProviderHarness{Provider: jumpseller.Provider,
			NewSimulator: func() *simulator.Server { return js.Simulator().Server() }, APIPath: "store/info.json"})
	})
	t.Run("ShoplineDriver/ProfileSimulator", func(t *testing.T) {
		conformance.TestProvider(t, conformance.ProviderHarness{Provider: shopline.Provider,
			NewSimulator: func() *simulator.Server { return sl.Simulator().Server() }, APIPath: "token/info"})
	})
}
