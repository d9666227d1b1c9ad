package conformance

import (
	"os"
	"testing"
)

// Absent reports that something a test needs (a PostgreSQL or Redis server,
// Chromium) is missing. On a newcomer's machine the test is skipped, saying
// what is missing and how to get it; under CI (CI=true) an absent service is
// a failure, never a silent skip.
func Absent(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing service fails the run)")
	}
	t.Skip(msg)
}
