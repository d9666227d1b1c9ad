// Package testenv records which services a package's tests found absent —
// PostgreSQL, Redis, Chromium, a Doorkeeper server — and says so in one line
// when the package's tests end.
//
// A test that needs a service calls Absent where it finds none:
//
//	if err != nil {
//		testenv.Absent(t, "PostgreSQL", "PostgreSQL is not reachable (…); start one or set CONNECTOR_TEST_POSTGRES")
//	}
//
// and the package's TestMain runs its tests through Main (or Run):
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// which, after the tests, prints
//
//	connector: skipped (absent here): PostgreSQL (3 tests) in github.com/connector-go/connector/store/postgres
//
// go test shows a passing package's output only with -v (or -json), so
// without -v the line goes to the terminal (/dev/tty) when there is one.
// Under CI=true an absent service fails the test instead: CI installs every
// service, so a missing one is a broken run, not a skip.
package testenv

import (
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
)

var absent struct {
	mu    sync.Mutex
	tests map[string]int // service → how many tests it skipped
}

// Absent skips t, recording that service is absent here, with msg as the
// skip message: msg should say how to provide the service (install it,
// start it, or point an environment variable at one). When CI=true it fails
// t instead.
func Absent(t testing.TB, service, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing service fails the run)")
	}
	record(service)
	t.Skip(msg)
}

func record(service string) {
	absent.mu.Lock()
	defer absent.mu.Unlock()
	if absent.tests == nil {
		absent.tests = map[string]int{}
	}
	absent.tests[service]++
}

// Summary returns the one-line summary of the services absent so far,
// without the package: "PostgreSQL (3 tests), Redis (1 test)", or "" when
// none was.
func Summary() string {
	absent.mu.Lock()
	defer absent.mu.Unlock()
	names := make([]string, 0, len(absent.tests))
	for s := range absent.tests {
		names = append(names, s)
	}
	slices.Sort(names)
	for i, s := range names {
		n := absent.tests[s]
		if n == 1 {
			names[i] = fmt.Sprintf("%s (1 test)", s)
		} else {
			names[i] = fmt.Sprintf("%s (%d tests)", s, n)
		}
	}
	return strings.Join(names, ", ")
}

// Run runs the package's tests and returns m.Run's code, after printing the
// package's summary line if any service was absent. It is for a TestMain
// that does more after the tests; others call Main.
func Run(m *testing.M) int {
	code := m.Run()
	if s := Summary(); s != "" {
		report(line(s))
	}
	return code
}

// Main runs the package's tests as Run does, and exits with their code.
func Main(m *testing.M) { os.Exit(Run(m)) }

// line is the summary line for s in the package under test.
func line(s string) string {
	l := "connector: skipped (absent here): " + s
	if pkg := testedPackage(); pkg != "" {
		l += " in " + pkg
	}
	return l
}

// testedPackage returns the import path of the package under test: a test
// binary's main package is that path with ".test" appended.
func testedPackage() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return strings.TrimSuffix(bi.Path, ".test")
}

// report writes l where the person running go test sees it: on standard
// output when go test shows it (-v, -json), else on the terminal.
func report(l string) {
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprintln(tty, l)
			tty.Close()
			return
		}
	}
	fmt.Println(l)
}
