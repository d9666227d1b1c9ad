package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"
)

// TestThreeProcessesRefreshDue is the scheduler issue's "done when": three
// connector refresh --due processes (the built binary) started at once on
// one store holding 60 due connections refresh each exactly once — no
// refresh token is presented twice — between them, and all three exit 0.
// PostgreSQL is the store; SQLite and Redis run it too.
func TestThreeProcessesRefreshDue(t *testing.T) {
	bin := connectorBinary(t)
	key := make([]byte, 32)
	rand.Read(key)
	t.Setenv(store.EnvKey, base64.StdEncoding.EncodeToString(key))
	t.Setenv(store.EnvOldKeys, "")
	for _, b := range processBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			threeSweeps(t, bin, b.location(t))
		})
	}
}

// summaryLine is the summary refresh --due prints.
var summaryLine = regexp.MustCompile(`(?m)^connector: jumpseller: (\d+) due within 30m: refreshed (\d+), failed (\d+)`)

func threeSweeps(t *testing.T, bin, location string) {
	const n, procs = 60, 3
	app := newSimApp(t, "jumpseller")
	sim, secret := app.sim, app.secret
	dsn := app.dsn(location)
	want := dueConnections(t, app, dsn, n)
	// Each refresh answered 20 ms late, so that the three overlap.
	sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: 20 * time.Millisecond, Times: procs * n})
	before := sim.Stats()

	type proc struct {
		cmd      *exec.Cmd
		out, err bytes.Buffer
	}
	pctx, pcancel := context.WithTimeout(context.Background(), testio.Wait)
	defer pcancel()
	ps := make([]*proc, procs)
	for i := range ps {
		p := &proc{cmd: exec.CommandContext(pctx, bin, "refresh", "--due", "30m", "--dsn", dsn)}
		p.cmd.Env = append(os.Environ(), EnvDSN+"=")
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
		ps[i] = p
	}
	start := time.Now()
	for i, p := range ps {
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start process %d: %v", i, err)
		}
	}
	var got []string
	refreshed := 0
	for i, p := range ps {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			t.Errorf("process %d exited %d; stderr:\n%s", i, ee.ExitCode(), p.err.String())
		case err != nil:
			t.Errorf("process %d: %v; stderr:\n%s", i, err, p.err.String())
		}
		if strings.Contains(p.out.String()+p.err.String(), secret) {
			t.Errorf("process %d printed the client secret", i)
		}
		ids := strings.Fields(p.out.String())
		got = append(got, ids...)
		m := summaryLine.FindStringSubmatch(p.err.String())
		if m == nil {
			t.Errorf("process %d printed no summary; stderr:\n%s", i, p.err.String())
			continue
		}
		if r, _ := strconv.Atoi(m[2]); r != len(ids) || m[3] != "0" {
			t.Errorf("process %d: summary %q, but %d ids on standard output", i, m[0], len(ids))
		}
		refreshed += len(ids)
		t.Logf("process %d: %s", i, strings.TrimSpace(p.err.String()))
	}
	elapsed := time.Since(start)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the three printed %d ids, %d distinct; want each of the %d connections once:\n%q", len(got), len(slices.Compact(slices.Clone(got))), n, got)
	}
	st := sim.Stats()
	if r := st.Refreshes - before.Refreshes; r != n {
		t.Errorf("refreshes at the simulator = %d, want exactly %d", r, n)
	}
	if st.RevokedReuse != 0 {
		t.Errorf("revoked refresh tokens presented = %d, want 0", st.RevokedReuse)
	}
	if st.FailedRefreshes != before.FailedRefreshes {
		t.Errorf("failed refreshes = %d, want none", st.FailedRefreshes-before.FailedRefreshes)
	}
	t.Logf("%d processes: %d refreshes in %s", procs, refreshed, elapsed.Round(time.Millisecond))
}
