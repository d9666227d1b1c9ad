// Package conformance holds the suites every driver and every store backend
// must pass, in the style of gocloud.dev's drivertest: a driver's test file
// is one line,
//
//	func TestConformance(t *testing.T) { conformance.TestProvider(t, conformance.ProviderHarness{Provider: jumpseller.Provider}) }
//
// TestProvider runs the engine against the driver's own simulator, one
// subtest per behaviour, injecting the faults a real provider shows. The
// suite checks itself: its own tests run it against deliberately broken
// drivers and stores and require it to fail them.
package conformance
