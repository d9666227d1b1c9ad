package cli

// SHOPLINE's global platform in the command package's tests. Linking its
// driver here, as cmd/connector/main.go links it into the binary, makes
// every test that iterates connector.Providers() (TestDemoEveryProvider,
// TestSandboxProfiles, TestDemoProviders) cover it too.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

// TestCarriesState: the callback server lets through only a request that
// carries the flow's state, under whatever name the provider echoes it.
func TestCarriesState(t *testing.T) {
	const state = "AgAAAAflow-state"
	for _, tt := range []struct {
		name  string
		query string
		state string
		want  bool
	}{
		{"standard name", "code=c&state=" + state, state, true},
		{"SHOPLINE's customField", "code=c&customField=" + state + "&sign=s", state, true},
		{"a later value of a parameter", "state=other&state=" + state, state, true},
		{"no query", "", state, false},
		{"foreign state", "code=c&state=forged", state, false},
		{"foreign customField", "code=c&customField=forged", state, false},
		{"state as a prefix", "state=" + state + "x", state, false},
		{"state in a name only", state + "=x", state, false},
		{"no flow state", "state=", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, carriesState(q, tt.state)); d != "" {
				t.Errorf("carriesState(%q) (-want +got):\n%s", tt.query, d)
			}
		})
	}
}

// TestAuthIgnoresStrayCallbacks: while `connector auth` waits, a GET on the
// callback path without the flow's state — no query, a foreign state under
// the standard name or SHOPLINE's, a forged denial, a callback signed with
// the app's secret for another flow — is answered 400 and ends nothing, and
// never reaches the token endpoint; the provider's real redirect then
// completes the flow. The providers: two Go drivers with the standard
// callback, SHOPLINE's global platform (the state in customField, after a
// fragment in the authorization URL) and a profile.
func TestAuthIgnoresStrayCallbacks(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"jumpseller", "shopline", "shoplineglobal", "shopify"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sps, err := simulated(name)
			if err != nil {
				t.Fatal(err)
			}
			sp := sps[0]
			srv := httptest.NewServer(sp.sim)
			t.Cleanup(srv.Close)
			secret := "test-secret-" + randomSecret()
			callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
			sp.sim.AddClient("test-app", secret, callback)
			ep := sp.sim.Endpoint(srv.URL)
			dsn, err := simulatorDSN(sp, ep, "test-app", secret, callback, "memory://stray-"+randomSecret())
			if err != nil {
				t.Fatal(err)
			}
			out, errb := testio.Pair()
			ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
			defer cancel()
			done := make(chan ExitCode, 1)
			go func() {
				code := Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, IO{In: strings.NewReader(""), Out: out, Err: errb})
				out.Close() // a WaitLine on its output fails now, not after its bound
				errb.Close()
				done <- code
			}()
			authURL := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, ep.AuthURL) })

			// A callback SHOPLINE could have signed for this app, but for
			// another flow: its sign is good, its state is not this one.
			signed := url.Values{"code": {"stolen"}, "handle": {shoplineglobal.SimulatorHandle}, "appkey": {"test-app"},
				"timestamp": {strconv.FormatInt(time.Now().UnixMilli(), 10)}, "customField": {"forged"}}
			signed.Set("sign", shoplineglobal.SignQuery(secret, signed))
			for _, stray := range []struct{ name, query string }{
				{"no query", ""},
				{"foreign state", "code=stolen&state=forged"},
				{"empty state", "code=stolen&state="},
				{"foreign customField", "code=stolen&customField=forged"},
				{"forged denial", "error=access_denied&state=forged"},
				{"forged denial in customField", "error=access_denied&customField=forged"},
				{"signed for another flow", signed.Encode()},
			} {
				resp, err := http.Get(callback + "?" + stray.query)
				if err != nil {
					t.Fatalf("%s: %v", stray.name, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "does not match the authorization in progress") {
					t.Errorf("%s: GET /callback = %s, want 400 (the flow's state is missing):\n%s", stray.name, resp.Status, body)
				}
			}
			select {
			case code := <-done:
				t.Fatalf("auth ended on a stray callback: exit %d; stderr:\n%s", code, errb)
			default:
			}
			if n := sp.sim.Stats().TokenRequests; n != 0 {
				t.Errorf("%d requests at the token endpoint before the real callback, want 0", n)
			}

			redirect, err := sp.sim.Approve(authURL)
			if err != nil {
				t.Fatalf("the simulator refused the authorization: %v", err)
			}
			resp, err := http.Get(redirect.String())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("the real callback = %s:\n%s", resp.Status, body)
			}
			select {
			case code := <-done:
				if code != ExitOK {
					t.Fatalf("auth exit %d; stderr:\n%s", code, errb)
				}
			case <-time.After(testio.Wait):
				t.Fatalf("auth did not finish; stderr:\n%s", errb)
			}
			want := name + ":" + sp.sim.Config().AccountID + "\n"
			if d := cmp.Diff(want, out.String()); d != "" {
				t.Errorf("auth stdout (-want +got):\n%s", d)
			}
			if n := sp.sim.Stats().Exchanges; n != 1 {
				t.Errorf("%d exchanges at the simulator, want 1", n)
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Error("auth printed the client secret")
			}
		})
	}
}

// TestSandboxShoplineGlobal: the sandbox serves SHOPLINE's global
// platform with a connection string that names its refresh endpoint; auth
// against it goes through SHOPLINE's page (the state in a fragment) as a
// browser does, then call reads the store and refresh renews the token by
// the signed call.
func TestSandboxShoplineGlobal(t *testing.T) {
	t.Parallel()
	out, errb := testio.Pair()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan ExitCode, 1)
	callback := fmt.Sprintf("http://127.0.0.1:%d/cb", testio.FreePort(t))
	go func() {
		code := Main(ctx, []string{"sandbox", "--callback", callback, "--store", "memory://sandbox-sg-" + randomSecret()}, IO{Out: out, Err: errb})
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- code
	}()
	dsn := testio.WaitLine(t, out, "shoplineglobal connection string", func(l string) bool { return strings.HasPrefix(l, "Provider=shoplineglobal;") })
	for _, want := range []string{"/shoplineglobal/admin/oauth-web/;", "OAuthAccessTokenURL=http://127.0.0.1:", "/shoplineglobal/admin/oauth/token/create;",
		"OAuthRefreshTokenURL=http://127.0.0.1:", "/shoplineglobal/admin/oauth/token/refresh;", "/shoplineglobal/admin/openapi/v20251201/;"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("the connection string lacks %q: %s", want, dsn)
		}
	}

	aout, aerr := testio.Pair()
	adone := make(chan ExitCode, 1)
	go func() {
		code := Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, IO{In: strings.NewReader(""), Out: aout, Err: aerr, Env: func(string) string { return "" }})
		aout.Close() // a WaitLine on its output fails now, not after its bound
		aerr.Close()
		adone <- code
	}()
	authURL := testio.WaitLine(t, aerr, "authorization URL", func(l string) bool { return strings.Contains(l, "/shoplineglobal/admin/oauth-web/#/oauth/authorize?") })
	resp, page := browseShopline(t, authURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %s\n%s", resp.Status, page)
	}
	select {
	case code := <-adone:
		if code != ExitOK {
			t.Fatalf("auth exit %d: %s", code, aerr)
		}
	case <-time.After(testio.Wait):
		t.Fatalf("auth did not finish: %s", aerr)
	}
	if d := cmp.Diff("shoplineglobal:"+shoplineglobal.SimulatorHandle+"\n", aout.String()); d != "" {
		t.Errorf("auth stdout (-want +got):\n%s", d)
	}
	r := runMain(t, "call", "GET", "merchants/shop.json", "--dsn", dsn)
	if r.code != ExitOK || !strings.Contains(r.out, `"handle":"`+shoplineglobal.SimulatorHandle+`"`) {
		t.Errorf("call: exit %d: %s %s", r.code, r.out, r.err)
	}
	before := runMain(t, "token", "--dsn", dsn)
	if r := runMain(t, "refresh", "--dsn", dsn); r.code != ExitOK {
		t.Errorf("refresh: exit %d: %s", r.code, r.err)
	}
	after := runMain(t, "token", "--dsn", dsn)
	if before.code != ExitOK || after.code != ExitOK || before.out == after.out {
		t.Errorf("token before and after refresh: exit %d, %d; renewed %v", before.code, after.code, before.out != after.out)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("sandbox exit %d: %s", code, errb)
		}
	case <-time.After(testio.Wait):
		t.Fatal("sandbox did not stop")
	}
}

// browseShopline follows an authorization URL of SHOPLINE's global
// platform as a browser does: SHOPLINE's page (the fragment stays in the
// browser), what its script does with the fragment (open consent?… beside
// the page), then the consent form approved and the redirects to the
// callback, whose answer it returns.
func browseShopline(t *testing.T, authURL string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `location.replace("consent?"`) {
		t.Fatalf("SHOPLINE's page: %s\n%s", resp.Status, page)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	route, query, _ := strings.Cut(u.EscapedFragment(), "?")
	if route != "/oauth/authorize" {
		t.Fatalf("the authorization URL's fragment is %q, not #/oauth/authorize?…", u.EscapedFragment())
	}
	ref, _ := url.Parse("consent?" + query)
	return consent(t, resp.Request.URL.ResolveReference(ref).String(), "approve")
}
