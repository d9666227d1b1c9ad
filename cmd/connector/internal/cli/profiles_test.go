package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/simulator"
)

// acmeProfile is a user's own provider, in a file of theirs: a property
// that fills the host, JSON token requests, rotating refresh tokens, the
// account in the answer, the token in its own header.
const acmeProfile = `name: acme
display_name: Acme Shop
docs: https://developers.acme.example/oauth
properties:
  - name: shop
    pattern: '^[a-z0-9-]+$'
    description: the shop's subdomain
    example: demo
endpoints:
  authorize: https://{shop}.acme.example/oauth/authorize
  token: https://{shop}.acme.example/oauth/token
  api: https://{shop}.acme.example/api/
token:
  format: json
  client_auth: body
  refresh_redirect_uri: false
answer:
  token_type: Bearer
  expiry: {field: expires_in, format: seconds, lifetime: 1h}
  scope: scope
  refresh: {issued: true, rotates: true, replay_safe: false}
account:
  field: shop_id
api:
  token_header: X-Acme-Token
  token_scheme: none
  probe: shops/{account}
scopes:
  default: [read_orders]
simulator:
  account: shop-42
sources:
  - facts: [endpoints, properties, token, answer, account, api, scopes]
    url: https://developers.acme.example/oauth
    says: POST /oauth/token with a JSON body; the answer {"access_token","token_type":"Bearer","expires_in":3600,"refresh_token","scope","shop_id"}
    verified: true
`

func writeAcme(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "acme.yaml")
	if err := os.WriteFile(path, []byte(acmeProfile), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runMain runs one command to completion on buffers.
func runMain(t *testing.T, args ...string) result {
	t.Helper()
	out, errb := testio.Pair()
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	code := Main(ctx, args, IO{Out: out, Err: errb, Env: func(string) string { return "" }})
	return result{code: code, out: out.String(), err: errb.String()}
}

// authorizeDSN runs auth --no-browser with dsn, approves on the consent
// page of the authorization URL it prints (the line that contains
// authURL) as a browser would, and returns the connection id auth printed.
func authorizeDSN(t *testing.T, dsn, authURL string) string {
	t.Helper()
	out, errb := testio.Pair()
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	done := make(chan ExitCode, 1)
	go func() {
		code := Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, IO{Out: out, Err: errb, Env: func(string) string { return "" }})
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- code
	}()
	line := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, "http") && strings.Contains(l, authURL) })
	if resp, page := consent(t, line, "approve"); resp.StatusCode != 200 {
		t.Fatalf("callback: %s %s", resp.Status, page)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("auth exit %d: %s", code, errb)
		}
	case <-time.After(testio.Wait):
		t.Fatalf("auth did not finish: %s", errb)
	}
	return strings.TrimSpace(out.String())
}

// TestUserProfileCommands: a profile file of the user's works through
// Profile= in the CLI: auth, token and call against its simulator, with
// its property from ProfileSettings and no Provider.
func TestUserProfileCommands(t *testing.T) {
	t.Parallel()
	path := writeAcme(t)
	prof, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sim := prof.Simulator()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	secret := "test-secret-" + randomSecret()
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	sim.AddClient("test-app", secret, callback)
	ep := sim.Endpoint(srv.URL)
	dsn := fmt.Sprintf("Profile=%s;ProfileSettings=shop=demo;OAuthClientId=test-app;OAuthClientSecret=%s;CallbackURL=%s;"+
		"OAuthAuthorizationURL=%s;OAuthAccessTokenURL=%s;URL=%s;OAuthSettingsLocation=memory://cli-acme-%s",
		quoteValue(path), secret, callback, ep.AuthURL, ep.TokenURL, ep.APIBaseURL, randomSecret())

	if id := authorizeDSN(t, dsn, srv.URL+simulator.AuthorizePath+"?"); id != "acme:shop-42" {
		t.Errorf("auth printed %q, want acme:shop-42", id)
	}
	r := runMain(t, "token", "--dsn", dsn)
	if tok := strings.TrimSpace(r.out); r.code != ExitOK || !sim.ValidAccessToken(tok) {
		t.Errorf("token: exit %d, a token the simulator does not know; stderr: %s", r.code, r.err)
	}
	// The simulator takes the token only in X-Acme-Token, as the profile says.
	r = runMain(t, "call", "GET", "shops/shop-42", "--dsn", dsn)
	if r.code != ExitOK || !strings.Contains(r.out, `"id":"shop-42"`) {
		t.Errorf("call: exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
	}
	if strings.Contains(r.out+r.err, secret) {
		t.Error("the client secret was printed")
	}

	// Without its property, the profile is refused with exit 2.
	r = runMain(t, "token", "--dsn", strings.Replace(dsn, "ProfileSettings=shop=demo;", "", 1))
	if r.code != ExitUsage || !strings.Contains(r.err, "provider acme needs the profile property shop") {
		t.Errorf("token without ProfileSettings: exit %d: %s", r.code, r.err)
	}
}

// TestAPIPRefused: a CData API Profile makes every command that opens a
// connector exit 2 with a message that says so and points at the docs.
func TestAPIPRefused(t *testing.T) {
	t.Parallel()
	dsn := `Profile=C:\profiles\Jumpseller.apip;OAuthClientId=a;OAuthClientSecret=hunter2-hunter2;CallbackURL=http://127.0.0.1:8085/callback;OAuthSettingsLocation=memory://apip`
	for _, args := range [][]string{{"token"}, {"auth", "--no-browser"}, {"call", "GET", "store/info.json"}, {"revoke"}} {
		r := runMain(t, append(args, "--dsn", dsn)...)
		if r.code != ExitUsage {
			t.Errorf("%s: exit %d, want %d; stderr: %s", args[0], r.code, ExitUsage, r.err)
		}
		want := `connector: profile: "Jumpseller.apip" is a CData API Profile (.apip); CData API Profiles are not read: describe the provider in a YAML profile instead (see docs/profiles.md)`
		if strings.TrimSpace(r.err) != want || strings.Contains(r.err, "hunter2") {
			t.Errorf("%s: stderr = %q, want %q", args[0], r.err, want)
		}
	}
	r := runMain(t, "providers", "--profile", "/etc/connector/Shop.APIP")
	if r.code != ExitUsage || !strings.Contains(r.err, "CData API Profiles are not read") {
		t.Errorf("providers --profile *.apip: exit %d: %s", r.code, r.err)
	}
}

// TestProvidersJSON: `providers -o json` lists every provider, Go drivers
// and catalog profiles, as a stable JSON array.
func TestProvidersJSON(t *testing.T) {
	t.Parallel()
	path := writeAcme(t)
	r := runMain(t, "providers", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var list []providerJSON
	d := json.NewDecoder(strings.NewReader(r.out))
	d.DisallowUnknownFields()
	if err := d.Decode(&list); err != nil {
		t.Fatalf("not the documented JSON: %v\n%s", err, r.out)
	}
	byName := map[string]providerJSON{}
	var names []string
	for _, p := range list {
		byName[p.Name] = p
		names = append(names, p.Name)
	}
	if d := cmpNames(connector.Providers(), names); d != "" {
		t.Errorf("names: %s", d)
	}
	if len(list) < 9 {
		t.Errorf("%d providers, want Jumpseller, SHOPLINE and at least seven more", len(list))
	}
	for name, kind := range map[string]string{"jumpseller": "go", "shopline": "go", "shopify": "profile", "tiendanube": "profile"} {
		if got := byName[name].Kind; got != kind {
			t.Errorf("%s kind = %q, want %q", name, got, kind)
		}
	}
	sh := byName["shopify"]
	if sh.Profile != "catalog/shopify.yaml" || len(sh.Properties) != 1 || sh.Properties[0].Name != "shop" || !sh.Properties[0].Required ||
		!strings.Contains(sh.Endpoints.Authorize, "{shop}") || sh.API.TokenHeader != "X-Shopify-Access-Token" ||
		len(sh.Hooks) != 2 || sh.Verified == nil || *sh.Verified || len(sh.Unverified) == 0 || !sh.Simulator {
		t.Errorf("shopify: %+v", sh)
	}
	if tn := byName["tiendanube"]; tn.AccessTokenLifetime != "never" || tn.RefreshTokens.Issued {
		t.Errorf("tiendanube: lifetime %q, refresh tokens issued %v", tn.AccessTokenLifetime, tn.RefreshTokens.Issued)
	}
	sl := byName["shopline"]
	if sl.Profile != "" || sl.Verified != nil || !sl.Revoke.Supported || sl.API.Probe != "token/info" || sl.RefreshTokens.LifetimeAfterExpiry != "24h0m0s" {
		t.Errorf("shopline: %+v", sl)
	}
	// Stable: the same bytes again, and through --output.
	if again := runMain(t, "providers", "--output", "json"); again.out != r.out {
		t.Error("a second run printed other JSON")
	}
	// --profile adds a user's profile, with its file.
	r = runMain(t, "providers", "-o", "json", "--profile", path)
	list = nil
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || r.code != ExitOK {
		t.Fatalf("providers --profile: exit %d, %v: %s", r.code, err, r.err)
	}
	if last := list[len(list)-1]; last.Name != "acme" || last.Kind != "profile" || last.Profile != path || last.API.Probe != "shops/{account}" {
		t.Errorf("the user's profile: %+v", last)
	}
	if r := runMain(t, "providers", "-o", "yaml"); r.code != ExitUsage {
		t.Errorf("-o yaml: exit %d", r.code)
	}
}

func cmpNames(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	return fmt.Sprintf("got %q, want %q", got, want)
}

// TestProvidersText: the text listing says each provider's kind.
func TestProvidersText(t *testing.T) {
	t.Parallel()
	r := runMain(t, "providers")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	for _, want := range []string{
		"jumpseller (Jumpseller)\n  kind            Go driver", "shopify (Shopify)\n  kind            profile (catalog/shopify.yaml)",
		"property        shop: ", "hook            APIAuthorizer", "access tokens   never expire", "unverified      ",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("providers output lacks %q", want)
		}
	}
}

// TestDemoEveryProvider: `demo --provider NAME` runs the whole lifecycle
// offline for every provider, the API path taken from the driver. The
// demos run one after the other: each listens on two ephemeral ports, which
// other tests' freePort may have just handed out.
func TestDemoEveryProvider(t *testing.T) {
	t.Parallel()
	for _, name := range connector.Providers() {
		t.Run(name, func(t *testing.T) {
			r := runMain(t, "demo", "--provider", strings.ToUpper(name))
			if r.code != ExitOK {
				t.Fatalf("demo --provider %s: exit %d\nstdout:\n%s\nstderr:\n%s", name, r.code, r.out, r.err)
			}
			if m := longSecret.FindString(r.out + r.err); m != "" {
				t.Errorf("demo printed something that looks like a whole token or secret: %q", m)
			}
			p, _ := connector.Lookup(name)
			want := []string{"== " + p.Spec().DisplayName + " ==", "API call with the access token: GET ", "→ 200 OK", "reauth_required", "Done:"}
			prof := profile.FromDriver(p)
			if prof != nil && len(prof.Properties) > 0 {
				want = append(want, "ProfileSettings=")
			}
			switch {
			case prof != nil && prof.Answer.Expiry.Format == profile.ExpiryNever:
				want = append(want, "access tokens never expire")
			case p.Spec().NoRefreshTokens: // renewed by the driver's own request (SHOPLINE's global platform)
				want = append(want, "issues no refresh tokens: Token() found the access token expired and the driver renewed it", "API call with the renewed token")
			case p.Spec().RotatesRefreshTokens:
				want = append(want, "(rotated)")
			default:
				want = append(want, "does not rotate refresh tokens")
			}
			for _, w := range want {
				if !strings.Contains(r.out, w) {
					t.Errorf("demo output lacks %q:\n%s", w, r.out)
				}
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if r := runMain(t, "demo", "--provider", "woocommerce"); r.code != ExitUsage || !strings.Contains(r.err, `unknown provider "woocommerce"`) {
			t.Errorf("demo --provider woocommerce: exit %d: %s", r.code, r.err)
		}
	})
}

// TestSandboxProfiles: the sandbox serves the catalog's profiles too, each
// with a connection string that carries its properties.
func TestSandboxProfiles(t *testing.T) {
	t.Parallel()
	out, errb := testio.Pair()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan ExitCode, 1)
	callback := fmt.Sprintf("http://127.0.0.1:%d/cb", testio.FreePort(t))
	go func() {
		code := Main(ctx, []string{"sandbox", "--callback", callback, "--store", "memory://sandbox-profiles-" + randomSecret()}, IO{Out: out, Err: errb})
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- code
	}()
	for _, name := range connector.Providers() {
		testio.WaitLine(t, out, name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+name+";") })
	}
	for _, name := range []string{"shopify", "bigcommerce", "square"} {
		dsn := testio.WaitLine(t, out, name, func(l string) bool { return strings.HasPrefix(l, "Provider="+name+";") })
		prof := profile.Lookup(name)
		if len(prof.Properties) > 0 && !strings.Contains(dsn, "ProfileSettings=") {
			t.Errorf("%s string lacks ProfileSettings: %s", name, dsn)
		}
		id := authorizeDSN(t, dsn, "/"+name+simulator.AuthorizePath+"?")
		account := strings.TrimPrefix(id, name+":")
		if account != prof.Sample.Account {
			t.Errorf("%s: auth printed %q", name, id)
		}
		path := prof.Example().Driver().(driver.Prober).ProbePath(account)
		if r := runMain(t, "call", "GET", path, "--dsn", dsn); r.code != ExitOK {
			t.Errorf("%s call %s: exit %d: %s", name, path, r.code, r.err)
		}
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

// TestDemoProviders: the demo runs the Go drivers by default, any provider
// by name, and every provider with --provider all.
func TestDemoProviders(t *testing.T) {
	t.Parallel()
	for only, want := range map[string][]string{
		"":        {"jumpseller", "shopline", "shoplineglobal"},
		"all":     connector.Providers(),
		" ALL ":   connector.Providers(),
		"shopify": {"shopify"},
	} {
		if got := demoProviders(only); !slices.Equal(got, want) {
			t.Errorf("demoProviders(%q) = %q, want %q", only, got, want)
		}
	}
}
