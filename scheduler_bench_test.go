package connector_test

// BenchmarkRefreshDue measures the scheduler: one sweep over N due
// connections, each refresh answered 20 ms late by the provider simulator
// (a provider 20 ms away), on each backend. Run it with
//
//	go test -run '^$' -bench RefreshDue -benchtime 1x .
//
// The 100,000-connection runs (memory and postgres) take minutes to set
// up: they run only when -bench names them (-bench 'RefreshDue/postgres/100000')
// or CONNECTOR_BENCH_LARGE is set. Every run removes what it wrote (the
// PostgreSQL schema, the Redis keys).

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/simulator"
)

// providerLatency is how late the simulator answers each refresh.
const providerLatency = 20 * time.Millisecond

// largeSweeps reports whether the 100,000-connection sweeps should run.
func largeSweeps() bool {
	if os.Getenv("CONNECTOR_BENCH_LARGE") != "" {
		return true
	}
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), "100000")
}

func BenchmarkRefreshDue(b *testing.B) {
	sizes := map[string][]int{
		"memory":   {1_000, 10_000, 100_000},
		"sqlite":   {1_000, 10_000},
		"postgres": {1_000, 10_000, 100_000},
		"redis":    {1_000, 10_000},
	}
	for _, be := range dueBackends {
		for _, n := range sizes[be.name] {
			b.Run(fmt.Sprintf("%s/%d", be.name, n), func(b *testing.B) {
				if n >= 100_000 && !largeSweeps() {
					b.Skip("a 100,000-connection sweep runs only when -bench names it or CONNECTOR_BENCH_LARGE is set")
				}
				benchmarkSweep(b, be, n)
			})
		}
	}
}

func benchmarkSweep(b *testing.B, be dueBackend, n int) {
	w := newDueWorld(b, be.open(b))
	c := w.connector(b)
	now := w.clock.Now()
	expiries := make([]time.Time, n)
	for i := range expiries {
		expiries[i] = now.Add(-time.Duration(i) * time.Millisecond)
	}
	w.connections(b, c, expiries)
	w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: providerLatency, Times: 1 << 30})
	before := w.sim.Stats()
	ctx := context.Background()
	refreshed := 0
	for b.Loop() {
		res, err := c.RefreshDue(ctx, connector.DueOptions{Window: time.Minute})
		if err != nil || len(res.Refreshed) != n {
			b.Fatalf("RefreshDue: %d of %d refreshed, %d skipped, %v", len(res.Refreshed), n, res.Skipped(), err)
		}
		refreshed += len(res.Refreshed)
		// The fresh tokens (an hour) are due again an hour later.
		w.clock.Advance(time.Hour)
	}
	b.ReportMetric(float64(refreshed)/b.Elapsed().Seconds(), "refreshes/s")
	b.ReportMetric(0, "ns/op")
	if st := w.sim.Stats(); st.Refreshes-before.Refreshes != refreshed || st.RevokedReuse != 0 {
		b.Errorf("simulator: %d refreshes, %d revoked refresh tokens presented; want %d and 0", st.Refreshes-before.Refreshes, st.RevokedReuse, refreshed)
	}
}
