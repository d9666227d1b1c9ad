// Package conformance holds the suites every driver and every store backend
// must pass, in the style of gocloud.dev's drivertest: a driver's test file
// is one line,
//
//	func TestConformance(t *testing.T) {
//		conformance.TestProvider(t, conformance.ProviderHarness{Provider: jumpseller.Provider, APIPath: "store/info.json"})
//	}
//
// TestProvider runs the engine against the driver's own simulator, one
// subtest per behaviour, injecting the faults a real provider shows. The
// simulator states the provider's wire facts as its own literals (see
// package simulator), and TestProvider compares the driver's Spec with them
// (the WireFacts subtest) before showing that the simulator enforces them:
// a wrong fact in a Spec fails. Any simulator with the methods of
// simulator.Server serves (Simulator): a translating one such as
// *profile.Simulator too, which also states facts a Server cannot (tokens
// that never expire, no refresh tokens: TokenFacts).
//
// TestStore checks a store backend against every rule of store.Store's
// contract, each in a parallel subtest on a fresh store from the harness:
// the sentinel errors, compare-and-swap, leases and fences, the refresh's
// two calls (Lock returns the record under the lease; PutUnlock writes and
// releases, or changes nothing), claims, the due query, sealing, and no
// lost update among goroutines and processes. The suite checks itself: its own tests run
// it against deliberately broken drivers and stores and require it to fail
// them.
package conformance
