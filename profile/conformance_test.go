package profile_test

import (
	"strings"
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/simulator"
)

// TestConformance runs conformance.TestProvider for every catalog
// profile, with the profile's own simulator.
//
// conformance.TestProvider serves a *simulator.Server as it is, and
// assumes access tokens that expire and refresh tokens: it runs today for
// the profiles whose wire format is Doorkeeper's (Simulator.Native). For
// the others the test says what conformance needs and
// TestProfileLifecycle runs their whole lifecycle through the engine
// against the translating Simulator instead.
func TestConformance(t *testing.T) {
	for _, p := range profile.Catalog() {
		t.Run(p.Name, func(t *testing.T) {
			if gaps := conformanceGaps(p); len(gaps) > 0 {
				t.Skipf("conformance.TestProvider cannot run this profile yet: %s (TestProfileLifecycle covers it)", strings.Join(gaps, "; "))
			}
			ex := p.Example()
			conformance.TestProvider(t, conformance.ProviderHarness{
				Provider:     ex.Driver(),
				NewSimulator: func() *simulator.Server { return ex.Simulator().Server() },
				APIPath:      ex.Driver().(profile.Prober).ProbePath(ex.Sample.Account),
			})
		})
	}
}

// conformanceGaps says why conformance.TestProvider cannot run p yet.
func conformanceGaps(p *profile.Profile) []string {
	var gaps []string
	if !p.Simulator().Native() {
		gaps = append(gaps, "its wire format is not Doorkeeper's, and ProviderHarness has no hook to serve the translating Simulator")
	}
	if p.Answer.Expiry.Format == profile.ExpiryNever {
		gaps = append(gaps, "its access tokens never expire, and the suite's refresh subtests expire them")
	}
	if !p.Answer.Refresh.Issued && p.Answer.Expiry.Format != profile.ExpiryNever {
		gaps = append(gaps, "it issues no refresh tokens")
	}
	return gaps
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
