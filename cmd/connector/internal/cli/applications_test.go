package cli

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// TestTwoApplicationsOneStore is the platform issue's "done when", driven
// through the CLI as a new user would: two applications (two client ids)
// authorize the same merchant of both providers into one store — SQLite,
// PostgreSQL and Redis — each with its own reference: four connections per
// store, listed with their application, each refreshing its own grant,
// each found by --ref; delete removes one and leaves the others.
func TestTwoApplicationsOneStore(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	t.Setenv(store.EnvKey, base64.StdEncoding.EncodeToString(key))
	t.Setenv(store.EnvOldKeys, "")
	for _, b := range processBackends {
		t.Run(b.name, func(t *testing.T) {
			location := b.location(t)
			type app struct {
				f   *fixture // its DSN, secret and simulator
				ref string
				id  string
			}
			var apps []*app
			for _, name := range providerNames {
				f := newFixture(t, name, func(f *fixture) { f.location = location })
				// The second application: another client id and secret at
				// the same provider, the same store.
				g := *f
				g.secret = "second-app-secret-" + randomSecret()
				g.sim.AddClient("second-app", g.secret, g.callback, driver.OOB)
				g.dsn = strings.Replace(strings.Replace(f.dsn, "OAuthClientId=test-app", "OAuthClientId=second-app", 1), f.secret, g.secret, 1)
				if g.dsn == f.dsn || !strings.Contains(g.dsn, "second-app") {
					t.Fatalf("could not derive the second application's DSN")
				}
				for _, a := range []*app{{f: f, ref: name + "-customer-1"}, {f: &g, ref: name + "-customer-2"}} {
					sys, out, errb := a.f.io(strings.NewReader(""))
					authURL, done := a.f.startAuth(sys, out, errb, "--ref", a.ref, "--tag", "eu")
					consent(t, authURL, "approve")
					r := <-done
					if r.code != ExitOK {
						t.Fatalf("auth of %s exit %d; stderr:\n%s", a.ref, r.code, r.err)
					}
					a.id = strings.TrimSpace(r.out)
					apps = append(apps, a)
				}
			}
			r := apps[0].f.run("connections")
			rows := strings.Split(strings.TrimSpace(r.out), "\n")[1:]
			if len(rows) != 4 {
				t.Fatalf("connections lists %d rows, want 4:\n%s", len(rows), r.out)
			}
			for _, a := range apps {
				found := false
				for _, row := range rows {
					fields := strings.Fields(row)
					if len(fields) == 8 && fields[0] == a.id && fields[4] == a.ref {
						found = true
						if app := fields[3]; app != "test-app" && app != "second-app" {
							t.Errorf("APP column %q", app)
						}
					}
				}
				if !found {
					t.Errorf("no row for %s with reference %s:\n%s", a.id, a.ref, r.out)
				}
			}
			// Every access token expires; each application refreshes its
			// own grant, found by its reference.
			tokens := map[string]bool{}
			advanced := map[*testClock]bool{} // the two applications of a provider share one
			for _, a := range apps {
				if !advanced[a.f.clock] {
					advanced[a.f.clock] = true
					a.f.clock.Advance(a.f.sim.Config().AccessTTL + time.Minute)
				}
			}
			for _, a := range apps {
				r := a.f.run("token", "--ref", a.ref)
				if r.code != ExitOK {
					t.Fatalf("token --ref %s exit %d; stderr:\n%s", a.ref, r.code, r.err)
				}
				tokens[strings.TrimSpace(r.out)] = true
			}
			if len(tokens) != 4 {
				t.Errorf("%d distinct tokens for 4 connections", len(tokens))
			}
			for _, name := range providerNames {
				for _, a := range apps {
					if a.f.name != name {
						continue
					}
					if st := a.f.sim.Stats(); st.Refreshes != 2 || st.FailedRefreshes != 0 || st.RevokedReuse != 0 {
						t.Errorf("%s simulator: %+v; want 2 refreshes, none failed", name, st)
					}
					break
				}
			}
			// delete removes one connection and leaves the other three.
			if r := apps[1].f.run("delete", "--ref", apps[1].ref); r.code != ExitOK || strings.TrimSpace(r.out) != apps[1].id {
				t.Fatalf("delete --ref exit %d, stdout %q; stderr:\n%s", r.code, r.out, r.err)
			}
			r = apps[0].f.run("connections")
			if n := len(strings.Split(strings.TrimSpace(r.out), "\n")) - 1; n != 3 || strings.Contains(r.out, apps[1].ref) {
				t.Errorf("after delete connections lists %d rows:\n%s", n, r.out)
			}
			if r := apps[1].f.run("token", "--ref", apps[1].ref); r.code == ExitOK {
				t.Errorf("token of the deleted connection exit 0")
			}
			if r := apps[0].f.run("token", "--ref", apps[0].ref); r.code != ExitOK {
				t.Errorf("token of the other application's connection exit %d; stderr:\n%s", r.code, r.err)
			}
		})
	}
}
