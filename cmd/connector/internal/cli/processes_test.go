package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/store"

	_ "github.com/connector-go/connector/store/postgres"
	_ "github.com/connector-go/connector/store/redis"
)

// The servers of the shared backends: CONNECTOR_TEST_POSTGRES and
// CONNECTOR_TEST_REDIS (as the store packages' tests read them), or the
// local ones.
func testPostgresDSN() string {
	if v := os.Getenv("CONNECTOR_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func testRedisURL() string {
	if v := os.Getenv("CONNECTOR_TEST_REDIS"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/0"
}

// withParam appends a query parameter to a URL-shaped location.
func withParam(base, k, v string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + k + "=" + v
}

// unreachable skips the test when a backend's server is absent, except in
// CI, where an absent service is a failure.
func unreachable(t *testing.T, what string, err error, howto string) {
	t.Helper()
	testenv.Absent(t, strings.Fields(what)[0], fmt.Sprintf("%s is not reachable (%v); start one (%s)", what, err, howto))
}

// processBackend is a store the eight processes share.
type processBackend struct {
	name string
	// location returns a fresh OAuthSettingsLocation, cleaned up when the
	// test ends, or skips the test when the server is absent.
	location func(t *testing.T) string
}

var processBackends = []processBackend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "connector.db") }},
	{"postgres", func(t *testing.T) string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pool, err := pgxpool.New(ctx, testPostgresDSN())
		if err == nil {
			err = pool.Ping(ctx)
		}
		if err != nil {
			if pool != nil {
				pool.Close()
			}
			unreachable(t, "PostgreSQL at "+strings.SplitN(testPostgresDSN(), "?", 2)[0], err,
				"docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16, or set CONNECTOR_TEST_POSTGRES")
		}
		schema := "connector_cli_" + randomSecret()[:12]
		t.Cleanup(func() {
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
		})
		return withParam(testPostgresDSN(), "schema", schema)
	}},
	{"redis", func(t *testing.T) string {
		opts, err := goredis.ParseURL(testRedisURL())
		if err != nil {
			t.Fatalf("CONNECTOR_TEST_REDIS: %v", err)
		}
		client := goredis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			unreachable(t, "Redis at "+testRedisURL(), err, "docker run -d -p 6379:6379 redis:7, or redis-server; or set CONNECTOR_TEST_REDIS")
		}
		prefix := "connector-cli-test:" + randomSecret()[:12] + ":"
		t.Cleanup(func() {
			defer client.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var keys []string
			iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			err := iter.Err()
			if err == nil && len(keys) > 0 {
				err = client.Del(ctx, keys...).Err()
			}
			if err != nil {
				t.Errorf("clean up %s*: %v", prefix, err)
			}
		})
		return withParam(testRedisURL(), "prefix", prefix)
	}},
}

// TestEightProcessesOneRefresh is the store issue's "done when": for each
// backend and provider, eight connector token processes started at once on
// a connection whose access token has expired make exactly one refresh at a
// simulator that rotates refresh tokens, and all eight print the same token.
func TestEightProcessesOneRefresh(t *testing.T) {
	bin := connectorBinary(t)
	// PostgreSQL and Redis refuse to open without a key; the test process
	// (which authorizes) and the eight processes must seal with the same one.
	key := make([]byte, 32)
	rand.Read(key)
	t.Setenv(store.EnvKey, base64.StdEncoding.EncodeToString(key))
	t.Setenv(store.EnvOldKeys, "")

	for _, b := range processBackends {
		for _, name := range providerNames {
			t.Run(b.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				location := b.location(t)
				eightProcesses(t, bin, name, location)
			})
		}
	}
}

// simApp is a provider's simulator on loopback with one app registered,
// and the connection strings that reach it.
type simApp struct {
	sp     simProvider
	sim    providerSimulator
	srv    *httptest.Server
	secret string
	// dsn returns the connection string for a store location.
	dsn func(location string) string
}

func newSimApp(t *testing.T, name string) *simApp {
	t.Helper()
	sps, err := simulated(name)
	if err != nil {
		t.Fatal(err)
	}
	a := &simApp{sp: sps[0], sim: sps[0].sim, secret: "test-secret-" + randomSecret()}
	a.srv = httptest.NewServer(a.sim)
	t.Cleanup(a.srv.Close)
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	a.sim.AddClient("test-app", a.secret, callback)
	a.dsn = func(location string) string {
		dsn, err := simulatorDSN(a.sp, a.sim.Endpoint(a.srv.URL), "test-app", a.secret, callback, location)
		if err != nil {
			t.Fatal(err)
		}
		return dsn
	}
	return a
}

func eightProcesses(t *testing.T, bin, name, location string) {
	app := newSimApp(t, name)
	sim, secret, dsn := app.sim, app.secret, app.dsn(location)

	// Authorize in this process with both clocks set back by the access
	// token's lifetime and an hour: the stored token expired an hour ago by
	// the real clock, while its refresh token is still valid (SHOPLINE's
	// dies a day after its access token; Jumpseller's does not expire).
	back := sim.Config().AccessTTL + time.Hour
	past := func() time.Time { return time.Now().Add(-back) }
	sim.SetClock(past)
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	c, err := connector.Open(ctx, dsn, func(o *connector.Options) { o.Clock = past })
	if err != nil {
		t.Fatalf("connector.Open: %v", err)
	}
	authURL, err := c.AuthCodeURL(nil)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := sim.Approve(authURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.HandleCallback(ctx, redirect.Query())
	if err != nil {
		t.Fatalf("HandleCallback: %v", err)
	}
	if exp := conn.Info().Expiry; !exp.Before(time.Now()) {
		t.Fatalf("the stored token expires at %s, not in the past", exp)
	}
	c.Close()
	sim.SetClock(nil)
	before := sim.Stats()

	const n = 8
	type proc struct {
		cmd      *exec.Cmd
		out, err bytes.Buffer
	}
	procs := make([]*proc, n)
	pctx, pcancel := context.WithTimeout(context.Background(), testio.Wait)
	defer pcancel()
	start := time.Now()
	for i := range procs {
		p := &proc{cmd: exec.CommandContext(pctx, bin, "token", "--dsn", dsn)}
		// The key is already in the environment (t.Setenv); CONNECTOR_DSN
		// must not be.
		p.cmd.Env = append(os.Environ(), EnvDSN+"=")
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
		procs[i] = p
	}
	// Start all eight, then wait for all.
	for i, p := range procs {
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start process %d: %v", i, err)
		}
	}
	var tokens []string
	for i, p := range procs {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			t.Errorf("process %d exited %d; stderr:\n%s", i, ee.ExitCode(), p.err.String())
			continue
		default:
			t.Errorf("process %d: %v; stderr:\n%s", i, err, p.err.String())
			continue
		}
		if p.err.Len() != 0 {
			t.Errorf("process %d wrote to stderr:\n%s", i, p.err.String())
		}
		if strings.Contains(p.out.String()+p.err.String(), secret) {
			t.Errorf("process %d printed the client secret", i)
		}
		tokens = append(tokens, strings.TrimSuffix(p.out.String(), "\n"))
	}
	elapsed := time.Since(start)
	for i, tok := range tokens {
		if tok != tokens[0] {
			t.Errorf("process outputs differ: #0 printed %s…, #%d %s…", prefixOf(tokens[0]), i, prefixOf(tok))
		}
	}
	if len(tokens) > 0 && !sim.ValidAccessToken(tokens[0]) {
		t.Errorf("the printed token %s… is not valid at the simulator", prefixOf(tokens[0]))
	}
	st := sim.Stats()
	if got := st.Refreshes - before.Refreshes; got != 1 {
		t.Errorf("refreshes = %d, want exactly 1", got)
	}
	if st.RevokedReuse != 0 {
		t.Errorf("revoked refresh tokens presented = %d, want 0", st.RevokedReuse)
	}
	if st.FailedRefreshes != before.FailedRefreshes {
		t.Errorf("failed refreshes = %d, want none", st.FailedRefreshes-before.FailedRefreshes)
	}
	t.Logf("%d processes: %d token requests, %d refresh, %s", n, st.TokenRequests-before.TokenRequests, st.Refreshes-before.Refreshes, elapsed.Round(time.Millisecond))
}

// prefixOf is the first characters of a token, enough to tell two apart in
// a failure message.
func prefixOf(tok string) string {
	if len(tok) > 8 {
		return tok[:8]
	}
	return tok
}
