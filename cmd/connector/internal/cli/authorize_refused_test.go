package cli

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/simulator"
)

// TestAuthRefusedAtProvider: a Doorkeeper that refuses the authorization
// request shows its own error page (200, no redirect) and never calls back
// (authorizations_controller.rb#render_error). auth then says, once while it
// waits, what an error page means and what to check, and its timeout
// message, the last line, says it again.
//
// The simulator plays a SHOPLINE that knows two scopes: the driver does not
// know SHOPLINE's scope list, so the engine lets any scope through, and
// only the provider can refuse it.
func TestAuthRefusedAtProvider(t *testing.T) {
	t.Parallel()
	const registeredApp = "test-app"
	tests := []struct {
		name     string
		scope    string
		clientID string
		callback string // "" for the registered loopback one
		pageSays string // the error page's description
	}{
		{name: "scope the provider refuses", scope: "products customers", clientID: registeredApp,
			pageSays: "The requested scope is invalid, unknown, or malformed."},
		{name: "callback not registered", scope: "products", clientID: registeredApp, callback: "unregistered",
			pageSays: "The requested redirect uri is malformed or doesn't match client redirect URI."},
		{name: "unknown client id", scope: "products", clientID: "not-the-app",
			pageSays: "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."},
		{name: "scope the provider refuses, out-of-band", scope: "customers", clientID: registeredApp, callback: driver.OOB,
			pageSays: "The requested scope is invalid, unknown, or malformed."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := simulator.New(simulator.Config{Name: "shopline", DisplayName: "SHOPLINE", TokenFormat: driver.JSON,
				Scopes: []string{"products", "orders"}})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			registered := "http://127.0.0.1:" + strconv.Itoa(testio.FreePort(t)) + "/callback"
			secret := "test-secret-" + randomSecret()
			sim.AddClient(registeredApp, secret, registered, driver.OOB)
			callback := registered
			switch tt.callback {
			case "unregistered":
				callback = "http://127.0.0.1:" + strconv.Itoa(testio.FreePort(t)) + "/elsewhere"
			case driver.OOB:
				callback = driver.OOB
			}
			sps, err := simulated("shopline")
			if err != nil {
				t.Fatal(err)
			}
			dsn, err := simulatorDSN(sps[0], sim.Endpoint(srv.URL), tt.clientID, secret, callback,
				filepath.Join(t.TempDir(), "connector.db"))
			if err != nil {
				t.Fatal(err)
			}
			dsn += "Scope=" + tt.scope + ";"

			pr, pw := io.Pipe() // standard input for the out-of-band prompt: nothing is ever pasted
			t.Cleanup(func() { pw.Close() })
			out, errb := testio.Pair()
			sys := IO{In: pr, Out: out, Err: errb, Env: func(string) string { return "" }}
			done := make(chan ExitCode, 1)
			go func() {
				code := Main(t.Context(), []string{"auth", "--no-browser", "--timeout", "3s", "--dsn", dsn}, sys)
				out.Close() // a WaitLine on its output fails now, not after its bound
				errb.Close()
				done <- code
			}()
			authURL := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, srv.URL+simulator.AuthorizePath+"?") })

			// The browser: Doorkeeper's error page, not a redirect.
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noRedirect.Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(html.UnescapeString(string(body)), tt.pageSays) {
				t.Errorf("the authorization URL: %d, Location %q; want 200 and no redirect, with %q:\n%s",
					resp.StatusCode, resp.Header.Get("Location"), tt.pageSays, body)
			}

			var code ExitCode
			select {
			case code = <-done:
			case <-time.After(testio.Wait):
				t.Fatalf("auth did not end; stderr:\n%s", errb)
			}
			stderr := errb.String()
			if code != ExitFailure || out.String() != "" {
				t.Fatalf("auth exit %d, stdout %q; want %d and nothing; stderr:\n%s", code, out, ExitFailure, stderr)
			}
			hint := []string{"SHOPLINE showed an error page", `"` + tt.scope + `"`, "CallbackURL " + callback + " is registered with the app as a redirect URI",
				`OAuthClientId "` + tt.clientID + `"`}
			waiting := "connector: no callback after 1.5s. If "
			if callback == driver.OOB {
				waiting = "connector: no code after 1.5s. If "
			}
			var hints int
			for _, l := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(l, waiting) {
					hints++
					for _, s := range hint {
						if !strings.Contains(l, s) {
							t.Errorf("the hint while waiting lacks %q: %s", s, l)
						}
					}
				}
			}
			if hints != 1 {
				t.Errorf("the hint was printed %d times while waiting, want once; stderr:\n%s", hints, stderr)
			}
			last := lastLine(stderr)
			if !strings.HasPrefix(last, "connector: timed out after 3s waiting for the authorization") || !strings.HasSuffix(last, "; then run connector auth again") {
				t.Errorf("the last line is not the timeout: %s", last)
			}
			for _, s := range hint {
				if !strings.Contains(last, s) {
					t.Errorf("the timeout message lacks %q: %s", s, last)
				}
			}
			if strings.Contains(stderr, secret) {
				t.Errorf("the client secret was printed:\n%s", stderr)
			}
		})
	}
}

// TestAuthUnknownScope: a scope the driver knows the provider lacks
// (Jumpseller publishes its list) is refused when the connector opens,
// before anything listens or a URL is printed: exit 2, naming the scope.
func TestAuthUnknownScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory, func(f *fixture) {})
	f.dsn += "Scope=read_store read_everything;"
	r := f.run("auth", "--no-browser", "--timeout", "3s")
	if r.code != ExitUsage {
		t.Fatalf("auth exit %d, want %d; stderr:\n%s", r.code, ExitUsage, r.err)
	}
	if lines := strings.Split(strings.TrimRight(r.err, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `unknown scope "read_everything"`) {
		t.Errorf("stderr is not one line naming the scope:\n%s", r.err)
	}
	if strings.Contains(r.err, f.srv.URL) || strings.Contains(r.err, "Waiting") {
		t.Errorf("auth went on to the authorization:\n%s", r.err)
	}
	if r.out != "" {
		t.Errorf("stdout = %q", r.out)
	}
}
