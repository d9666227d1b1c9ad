package conformance

import (
	"testing"

	"github.com/connector-go/connector/internal/testenv"
)

// Absent reports that something a test needs (a PostgreSQL or Redis server,
// Chromium) is missing. On a newcomer's machine the test is skipped, saying
// what is missing and how to get it; under CI (CI=true) an absent service is
// a failure, never a silent skip.
//
// The module's own tests call internal/testenv.Absent instead, which also
// names the service in the one-line summary of skips their packages print;
// Absent goes through it, counting its skip as "a service".
func Absent(t testing.TB, msg string) {
	t.Helper()
	testenv.Absent(t, "a service", msg)
}
