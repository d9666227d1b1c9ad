//go:build !race

package doorkeeper

// raceEnabled: the tests run without the race detector.
const raceEnabled = false
