package connector_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/providers/jumpseller"
)

// acmeProfile is a user's own provider, in a file of theirs: a property
// that fills the host, JSON token requests, rotating refresh tokens, the
// account in the answer, the token in its own header.
const acmeProfile = `# A provider described by its user.
name: acme
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
  expiry:
    field: expires_in
    format: seconds
    lifetime: 1h
  scope: scope
  refresh:
    issued: true
    rotates: true
    replay_safe: false

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

// writeProfile writes a profile file into a temporary directory.
func writeProfile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// profileWorld is a profile's simulator on loopback and the connection
// string of an app registered with it.
type profileWorld struct {
	sim *profile.Simulator
	dsn string
}

func newProfileWorld(t *testing.T, prof *profile.Profile, head string) *profileWorld {
	t.Helper()
	sim := prof.Simulator()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	redirect := srv.URL + "/callback"
	sim.AddClient(clientID, clientSecret, redirect)
	ep := sim.Endpoint(srv.URL)
	dsn := head + ";OAuthClientId=" + clientID + ";OAuthClientSecret=" + clientSecret + ";CallbackURL=" + redirect +
		";OAuthAuthorizationURL=" + ep.AuthURL + ";OAuthAccessTokenURL=" + ep.TokenURL + ";URL=" + ep.APIBaseURL +
		";OAuthSettingsLocation=" + uniqueMemory(t)
	if ep.RevokeURL != "" && prof.Revoke != nil {
		dsn += ";OAuthRevokeURL=" + ep.RevokeURL
	}
	return &profileWorld{sim: sim, dsn: dsn}
}

// lifecycle opens w.dsn, authorizes against the simulator, reads a token
// and calls the probe path, and returns the connection's id.
func (w *profileWorld) lifecycle(t *testing.T, probe func(account string) string) string {
	t.Helper()
	ctx := context.Background()
	c, err := connector.Open(ctx, w.dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	u, err := c.AuthCodeURL(nil)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := w.sim.Approve(u)
	if err != nil {
		t.Fatalf("the simulator refused the authorize URL: %v", err)
	}
	conn, err := c.HandleCallback(ctx, redirect.Query())
	if err != nil {
		t.Fatalf("HandleCallback: %v", err)
	}
	tok, err := conn.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || !w.sim.ValidAccessToken(tok.AccessToken) {
		t.Errorf("token %v is not one the simulator issued", tok)
	}
	req, err := conn.NewRequest(ctx, http.MethodGet, probe(conn.Info().Account), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s %s", req.URL.Path, resp.Status, body)
	}
	return conn.ID()
}

// TestOpenUserProfile: a profile file of the user's works through
// Profile= alone (no Provider), with its property from ProfileSettings:
// Open, authorize against the profile's simulator, a token, an API call
// with the token in the profile's own header.
func TestOpenUserProfile(t *testing.T) {
	path := writeProfile(t, "acme.yaml", acmeProfile)
	prof, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, head := range []string{
		"Profile=" + path + ";ProfileSettings=shop=demo",
		"Provider=ACME;Profile='" + path + "';profilesettings=\"SHOP = demo\"",
	} {
		t.Run(head[:8], func(t *testing.T) {
			w := newProfileWorld(t, prof, head)
			probe := prof.Example().Driver().(profile.Prober).ProbePath
			if id := w.lifecycle(t, probe); id != "acme:shop-42" {
				t.Errorf("connection %q, want acme:shop-42", id)
			}
		})
	}
	// The simulator takes the token only in X-Acme-Token: the call above
	// went through the driver's APIAuthorizer, not as a Bearer header.
	if hooks := prof.Hooks(); len(hooks) != 1 || !strings.HasPrefix(hooks[0], "APIAuthorizer") {
		t.Errorf("Hooks() = %q", hooks)
	}
}

// TestOpenUserProfileErrors: what Open says about a profile it cannot use.
func TestOpenUserProfileErrors(t *testing.T) {
	path := writeProfile(t, "acme.yaml", acmeProfile)
	broken := writeProfile(t, "broken.yaml", strings.Replace(acmeProfile, "format: json", "format: xml", 1))
	tests := []struct {
		name, dsn, want string
	}{
		{"property missing", "Profile=" + path,
			`provider acme needs the profile property shop: set ProfileSettings, such as ProfileSettings="shop=demo" (see docs/profiles.md)`},
		{"provider is another", "Provider=jumpseller;Profile=" + path + ";ProfileSettings=shop=demo",
			`Provider "jumpseller" is not the name of the provider that Profile describes ("acme")`},
		{"invalid profile", "Profile=" + broken + ";ProfileSettings=shop=demo",
			"broken.yaml:18: token.format: must be form, json or multipart"},
		{"property of another profile", "Profile=" + path + ";ProfileSettings=shop=demo,domain=x",
			`ProfileSettings: profile acme has no property "domain" (its properties: shop)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := connector.Open(context.Background(), tc.dsn+";OAuthClientId=a;OAuthClientSecret=s3cr3t-value")
			if driver.CodeOf(err) != driver.InvalidConfig {
				t.Fatalf("Open: %v, want invalid_config", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestOpenCatalogProfiles: every catalog profile is a provider like any
// other in a connection string: Provider=NAME, its properties in
// ProfileSettings, the whole flow against its simulator.
func TestOpenCatalogProfiles(t *testing.T) {
	for _, prof := range profile.Catalog() {
		t.Run(prof.Name, func(t *testing.T) {
			head := "Provider=" + prof.Name
			var pairs []string
			for _, pr := range prof.Properties {
				pairs = append(pairs, pr.Name+"="+pr.Example)
			}
			if len(pairs) > 0 {
				head += ";ProfileSettings='" + strings.Join(pairs, ";") + "'"
			}
			w := newProfileWorld(t, prof, head)
			drv, err := connector.Lookup(prof.Name)
			if err != nil {
				t.Fatal(err)
			}
			probe := prof.Example().Driver().(profile.Prober).ProbePath
			if pr, ok := drv.(profile.Prober); ok && profile.FromDriver(drv) == nil {
				probe = pr.ProbePath // a Go driver of the same name wins
			}
			if id := w.lifecycle(t, probe); id != prof.Name+":"+prof.Sample.Account {
				t.Errorf("connection %q, want %s:%s", id, prof.Name, prof.Sample.Account)
			}
		})
	}
}

// TestOpenBindsClientID: Tiendanube's authorize URL holds {client_id},
// which Open fills from OAuthClientId, and {domain} from ProfileSettings.
func TestOpenBindsClientID(t *testing.T) {
	c, err := connector.Open(context.Background(), "Provider=tiendanube;ProfileSettings=domain=nuvemshop.com.br;"+
		"OAuthClientId=4321;OAuthClientSecret=s3cr3t-value;CallbackURL=https://app.example/callback;OAuthSettingsLocation="+uniqueMemory(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, err := c.AuthCodeURL(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://www.nuvemshop.com.br/apps/4321/authorize?"; !strings.HasPrefix(u, want) {
		t.Errorf("AuthCodeURL = %s, want it to start with %s", u, want)
	}
	// A client id that would change the URL's path is refused.
	_, err = connector.Open(context.Background(), "Provider=tiendanube;ProfileSettings=domain=tiendanube.com;"+
		"OAuthClientId=../evil;OAuthClientSecret=s3cr3t-value")
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "OAuthClientId cannot fill {client_id}") {
		t.Errorf("Open with a client id holding a path: %v", err)
	}
}

// TestRegistry: Go drivers and catalog profiles under one namespace.
func TestRegistry(t *testing.T) {
	names := connector.Providers()
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("Providers() = %q, not sorted and unique", names)
	}
	for _, p := range profile.Catalog() {
		if !slices.Contains(names, p.Name) {
			t.Errorf("Providers() lacks the catalog's %s", p.Name)
		}
	}
	// The Go driver wins over the catalog profile of the same name.
	if p, err := connector.Lookup("Jumpseller"); err != nil || p != jumpseller.Provider {
		t.Errorf("Lookup(Jumpseller) = %v, %v; want the Go driver", p, err)
	}
	// A catalog profile is a driver, the same one every time.
	a, err := connector.Lookup("shopify")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := connector.Lookup(" SHOPIFY "); a != b || profile.FromDriver(a) == nil || a.Spec().Name != "shopify" {
		t.Errorf("Lookup(shopify) = %v, then %v", a, b)
	}
	_, err = connector.Lookup("woocommerce")
	if driver.CodeOf(err) != driver.UnknownProvider || !strings.Contains(err.Error(), "shopify") {
		t.Errorf("Lookup(woocommerce) = %v", err)
	}
}
