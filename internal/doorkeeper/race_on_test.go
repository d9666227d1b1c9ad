//go:build race

package doorkeeper

// raceEnabled: the tests run under the race detector, so the connector
// binary they build uses it too.
const raceEnabled = true
