package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/connector-go/connector/internal/testio"

	"time"

	"github.com/connector-go/connector/simulator"
)

// TestRefreshOne refreshes the provider's only connection, then one named
// by --connection: the id alone on standard output, one refresh each at
// the simulator.
func TestRefreshOne(t *testing.T) {
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, name, inMemory)
			if r, _, _ := f.auth("approve"); r.code != ExitOK {
				t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
			}
			id := name + ":" + f.account
			for i, args := range [][]string{{"refresh"}, {"refresh", "--connection", id}} {
				r := f.run(args...)
				if r.code != ExitOK || r.out != id+"\n" || !strings.Contains(r.err, "Refreshed "+id) {
					t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and the id", args, r.code, r.out, r.err)
				}
				if got := f.sim.Stats().Refreshes; got != i+1 {
					t.Errorf("after %q: %d refreshes at the simulator, want %d", args, got, i+1)
				}
			}
			if r := f.run("refresh", "--ref", "nobody"); r.code != ExitFailure || r.out != "" {
				t.Errorf("refresh --ref of no connection: exit %d, stdout %q; want %d and nothing", r.code, r.out, ExitFailure)
			}
		})
	}
}

// TestRefreshDue runs refresh --due as cron would: nothing due, then the
// connection due (its id on standard output, the summary on standard
// error, exit 0), then a refresh the provider refuses (exit 3, the failure
// and the summary on standard error).
func TestRefreshDue(t *testing.T) {
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, name, inMemory)
			if r, _, _ := f.auth("approve"); r.code != ExitOK {
				t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
			}
			id := name + ":" + f.account
			r := f.run("refresh", "--due", "30m")
			if r.code != ExitOK || r.out != "" || !strings.Contains(r.err, name+": 0 due within 30m: refreshed 0, failed 0, skipped 0") {
				t.Errorf("nothing due: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
			}
			// Ten minutes before the access token expires.
			f.clock.Advance(f.sim.Config().AccessTTL - 10*time.Minute)
			r = f.run("refresh", "--due", "30m")
			if r.code != ExitOK || r.out != id+"\n" || !strings.Contains(r.err, name+": 1 due within 30m: refreshed 1, failed 0, skipped 0") {
				t.Errorf("one due: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
			}
			if r := f.run("refresh", "--due", "30m"); r.code != ExitOK || r.out != "" {
				t.Errorf("after the refresh: exit %d, stdout %q; want nothing due", r.code, r.out)
			}

			f.clock.Advance(f.sim.Config().AccessTTL)
			f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 400, Body: `{"error":"invalid_grant"}`})
			r = f.run("refresh", "--due", "1d")
			if r.code != ExitReauth || r.out != "" {
				t.Errorf("a refused refresh: exit %d, stdout %q; want %d and nothing", r.code, r.out, ExitReauth)
			}
			for _, want := range []string{"connector: " + id + ": ", "1 due within 1d: refreshed 0, failed 1 (reauth_required 1), skipped 0"} {
				if !strings.Contains(r.err, want) {
					t.Errorf("a refused refresh: stderr lacks %q:\n%s", want, r.err)
				}
			}
		})
	}
}

// TestRefreshDueProgress checks the progress line: drawn on standard error
// when it is a terminal (IO.Progress), and erased before the summary.
func TestRefreshDueProgress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	f.clock.Advance(f.sim.Config().AccessTTL)
	r := f.runIO(func(sys *IO) { sys.Progress = true }, "refresh", "--due", "1h")
	if r.code != ExitOK || !strings.Contains(r.err, "\r\x1b[Krefreshing jumpseller connections due within 1h: 1/1 (refreshed 1, failed 0, skipped 0)\r\x1b[K") {
		t.Errorf("exit %d, stderr %q; want the progress line, erased", r.code, r.err)
	}
	f.clock.Advance(f.sim.Config().AccessTTL)
	if r := f.run("refresh", "--due", "1h"); strings.Contains(r.err, "\r") {
		t.Errorf("a progress line without a terminal: %q", r.err)
	}
}

func TestRefreshUsage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	for _, args := range [][]string{
		{"refresh", "--due", "3x"},
		{"refresh", "--due", "-1h"},
		{"refresh", "--due", "1h", "--connection", "jumpseller:x"},
		{"refresh", "--due", "1h", "--concurrency", "-1"},
		{"refresh", "--limit", "3"},
		{"refresh", "extra"},
	} {
		if r := f.run(args...); r.code != ExitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %q", args, r.code, ExitUsage, r.err)
		}
	}
}

func TestParseWindow(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"72h", 72 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"3d", 72 * time.Hour, true},
		{"0", 0, true},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"-2h", 0, false},
		{"", 0, false},
		{"106751d", 106751 * 24 * time.Hour, true},
		// Days beyond time.Duration wrapped around to another window
		// (found by FuzzParseWindow).
		{"106752d", 0, false},
		{"213504d", 0, false}, // was 25m26s
		{"700000d", 0, false}, // was 1427713h16m18s
	} {
		got, err := parseWindow(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseWindow(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// runDue runs refresh --due with args on dsn and returns exit code, stdout
// and stderr.
func runDue(t *testing.T, dsn string, args ...string) (ExitCode, string, string) {
	t.Helper()
	out, errb := testio.Pair()
	sys := IO{Out: out, Err: errb, Env: func(string) string { return "" }}
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	code := Main(ctx, append(append([]string{"refresh"}, args...), "--dsn", dsn), sys)
	return code, out.String(), errb.String()
}

// TestRefreshDueHugeWindowSQLite: `refresh --due 106751d` is accepted
// (TestParseWindow) and means "every active connection", on SQLite, the
// default store, too: its due query's bound, before.UnixNano(), overflowed
// past 2262, and the sweep found nothing and exited 0. (From a review.)
func TestRefreshDueHugeWindowSQLite(t *testing.T) {
	app := newSimApp(t, "jumpseller")
	dsn := app.dsn(t.TempDir() + "/connector.db")
	ids := dueConnections(t, app, dsn, 2)
	code, out, errs := runDue(t, dsn, "--due", "106751d")
	got := strings.Fields(out)
	slices.Sort(got)
	if code != ExitOK || !slices.Equal(got, ids) {
		t.Errorf("refresh --due 106751d: exit %d, stdout %q, stderr %q; want 0 and both (expired) connections refreshed %q", code, out, errs, ids)
	}
}
