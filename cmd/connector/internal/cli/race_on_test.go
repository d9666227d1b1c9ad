//go:build race

package cli

// raceEnabled: the tests run under the race detector, so the binary they
// build uses it too and shares the compiled packages in the build cache.
const raceEnabled = true
