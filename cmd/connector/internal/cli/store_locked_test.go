package cli

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/simulator"
)

// TestCallWithStoreLockedDuringRefresh is the security issue's scenario for
// "an unsaved token is never used", with the real binary: `call` gets a 401,
// refreshes, and finds the SQLite store locked by another process (this
// test's, holding BEGIN EXCLUSIVE) when it comes to write the new token.
// The simulator rotates as Doorkeeper does by default: the previous refresh
// token dies at the first use of the new access token. So the command must
// fail without using the new token; then, with the store back, the stored
// grant still works: the next 401 is answered by a refresh from it, and the
// call succeeds.
func TestCallWithStoreLockedDuringRefresh(t *testing.T) {
	bin := connectorBinary(t)
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sps, err := simulated(name)
			if err != nil {
				t.Fatal(err)
			}
			sp := sps[0]
			sim := sp.sim
			path := filepath.Join(t.TempDir(), "connector.db")

			// The other process's lock, taken while the refresh request is
			// at the provider: after the command's lease and re-read,
			// before its write.
			var mu sync.Mutex
			var armed bool
			var locker *sql.Conn
			lockDB := func() {
				db, err := sql.Open("sqlite", "file:"+path)
				if err != nil {
					t.Error(err)
					return
				}
				t.Cleanup(func() { db.Close() })
				c, err := db.Conn(context.Background())
				if err == nil {
					_, err = c.ExecContext(context.Background(), "BEGIN EXCLUSIVE")
				}
				if err != nil {
					t.Errorf("lock the store: %v", err)
					return
				}
				locker = c
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				if armed && r.URL.Path == simulator.TokenPath {
					armed = false
					lockDB()
				}
				mu.Unlock()
				sim.ServeHTTP(w, r)
			}))
			defer srv.Close()
			secret := "test-secret-" + randomSecret()
			callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
			sim.AddClient("test-app", secret, callback)
			dsn, err := simulatorDSN(sp, sim.Endpoint(srv.URL), "test-app", secret, callback, path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
			defer cancel()
			c, err := connector.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			authURL, _ := c.AuthCodeURL(nil)
			redirect, err := sim.Approve(authURL)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.HandleCallback(ctx, redirect.Query()); err != nil {
				t.Fatal(err)
			}
			c.Close()

			call := func() (int, string, string) {
				cmd := exec.CommandContext(ctx, bin, "call", "GET", apiPaths[name], "--dsn", dsn)
				cmd.Env = append(os.Environ(), EnvDSN+"=")
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatalf("run connector: %v", err)
				}
				if strings.Contains(out.String()+errb.String(), secret) {
					t.Errorf("the client secret was printed")
				}
				return cmd.ProcessState.ExitCode(), out.String(), errb.String()
			}

			// The API refuses the (still valid) access token once: a 401.
			sim.InjectFault(simulator.Fault{Path: simulator.APIPrefix, Status: http.StatusUnauthorized, Body: `{"error":"invalid_token"}`})
			mu.Lock()
			armed = true
			mu.Unlock()
			before := sim.Stats()
			code, out, errOut := call()
			mu.Lock()
			if locker != nil {
				locker.ExecContext(context.Background(), "ROLLBACK")
				// The command could not release its lease in a locked
				// store either; let it lapse now rather than in LeaseTTL
				// (the wait itself is TestOnLeaseWait's subject).
				if _, err := locker.ExecContext(context.Background(), "UPDATE leases SET expires_at = 0"); err != nil {
					t.Errorf("expire the lease: %v", err)
				}
				locker.Close()
			}
			mu.Unlock()
			if code != int(ExitFailure) {
				t.Fatalf("call with the store locked exited %d, want %d; stdout %q stderr:\n%s", code, ExitFailure, out, errOut)
			}
			if !strings.Contains(errOut, "could not be stored") {
				t.Errorf("stderr does not say the token could not be stored:\n%s", errOut)
			}
			st := sim.Stats()
			if got := st.Refreshes - before.Refreshes; got != 1 {
				t.Fatalf("refreshes = %d, want 1", got)
			}
			// Only the faulted request reached the API: the new token was
			// never presented.
			if got := st.APICalls - before.APICalls; got != 1 {
				t.Errorf("API calls = %d, want 1 (the new, unsaved token was used)", got)
			}

			// The store is back. Another 401 makes the next run refresh
			// from the stored grant, which must still work.
			sim.InjectFault(simulator.Fault{Path: simulator.APIPrefix, Status: http.StatusUnauthorized, Body: `{"error":"invalid_token"}`})
			before = sim.Stats()
			code, out, errOut = call()
			if code != int(ExitOK) {
				t.Fatalf("call after the store came back exited %d; stderr:\n%s", code, errOut)
			}
			st = sim.Stats()
			if st.Refreshes-before.Refreshes != 1 || st.FailedRefreshes != before.FailedRefreshes || st.RevokedReuse != 0 {
				t.Errorf("simulator stats %+v after %+v: the stored grant was not the one to use", st, before)
			}
			if out == "" {
				t.Error("the call printed nothing")
			}
		})
	}
}
