package testenv

import (
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeT records what Absent does to a test; Fatal and Skip end its
// goroutine, as testing's do.
type fakeT struct {
	testing.TB
	fatal, skip string
}

func (f *fakeT) Helper()           {}
func (f *fakeT) Fatal(args ...any) { f.fatal = args[0].(string); runtime.Goexit() }
func (f *fakeT) Skip(args ...any)  { f.skip = args[0].(string); runtime.Goexit() }
func (f *fakeT) run(fn func(*fakeT)) {
	done := make(chan struct{})
	go func() { defer close(done); fn(f) }()
	<-done
}

func reset() {
	absent.mu.Lock()
	absent.tests = nil
	absent.mu.Unlock()
}

// TestAbsent: outside CI a test is skipped with the message and its service
// counted; with CI=true it fails and nothing is counted.
func TestAbsent(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ci          string
		want        fakeT
		wantSummary string
	}{
		{"skipped outside CI", "", fakeT{skip: "no PostgreSQL here"}, "PostgreSQL (1 test)"},
		{"CI=false is not CI", "false", fakeT{skip: "no PostgreSQL here"}, "PostgreSQL (1 test)"},
		{"failed in CI", "true", fakeT{fatal: "no PostgreSQL here (CI=true: a missing service fails the run)"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset()
			t.Cleanup(reset)
			t.Setenv("CI", tc.ci)
			f := &fakeT{}
			f.run(func(f *fakeT) { Absent(f, "PostgreSQL", "no PostgreSQL here") })
			if diff := cmp.Diff(tc.want, *f, cmp.AllowUnexported(fakeT{})); diff != "" {
				t.Errorf("Absent (-want +got):\n%s", diff)
			}
			if got := Summary(); got != tc.wantSummary {
				t.Errorf("Summary() = %q, want %q", got, tc.wantSummary)
			}
		})
	}
}

// TestSummary: services sorted by name, each with its count.
func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		name     string
		services []string
		want     string
	}{
		{"none", nil, ""},
		{"one test", []string{"Chromium"}, "Chromium (1 test)"},
		{"sorted, counted", []string{"Redis", "PostgreSQL", "Redis", "Chromium", "Redis"}, "Chromium (1 test), PostgreSQL (1 test), Redis (3 tests)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset()
			t.Cleanup(reset)
			for _, s := range tc.services {
				record(s)
			}
			if got := Summary(); got != tc.want {
				t.Errorf("Summary() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLine: the line names the package under test.
func TestLine(t *testing.T) {
	got := line("Redis (1 test)")
	want := "connector: skipped (absent here): Redis (1 test) in github.com/connector-go/connector/internal/testenv"
	if got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}
