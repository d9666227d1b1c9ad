package connector_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/providers/jumpseller"
	_ "github.com/connector-go/connector/store/memory"
)

func TestOpenConnectionString(t *testing.T) {
	w := newWorld(t)
	ep := w.sim.Endpoint(w.srv.URL)
	dsn := "Provider=jumpseller;OAuthClientId=" + clientID + ";OAuthClientSecret=" + clientSecret +
		";CallbackURL=" + w.opts.RedirectURL + ";Scope='read_store read_orders'" +
		";OAuthAuthorizationURL=" + ep.AuthURL + ";OAuthAccessTokenURL=" + ep.TokenURL + ";URL=" + ep.APIBaseURL +
		";OAuthSettingsLocation=" + uniqueMemory(t)
	ctx := context.Background()
	c, err := connector.Open(ctx, dsn, func(o *connector.Options) { o.Clock = w.clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Default(ctx); driver.CodeOf(err) != driver.AuthorizationRequired {
		t.Errorf("Default on an empty store: %v, want authorization_required", err)
	}
	conn := w.authorize(t, c)
	tok, err := conn.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A second Open of the same location (another part of the program) sees it.
	c2, err := connector.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	d, err := c2.Default(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Token(ctx); got == nil || got.AccessToken != tok.AccessToken {
		t.Error("a second Open does not see the stored connection")
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		code driver.Code
		want string
	}{
		{"unknown-provider", "Provider=woocommerce;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.UnknownProvider, `unknown provider "woocommerce" (known: bigcommerce, ecwid, jumpseller`},
		{"no-provider-no-profile", "OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig, "Provider is required (or a Profile)"},
		{"apip", `Profile=C:\profiles\Jumpseller.apip;OAuthClientId=a;OAuthClientSecret=s3cr3t-value`, driver.InvalidConfig,
			`"Jumpseller.apip" is a CData API Profile (.apip); CData API Profiles are not read: describe the provider in a YAML profile instead (see docs/profiles.md)`},
		{"apip-with-provider", "Provider=jumpseller;Profile=/etc/connector/Jumpseller.APIP;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig, "CData API Profiles are not read"},
		{"missing-profile-file", "Profile=/no/such/acme.yaml;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig, "cannot read the profile"},
		{"profile-property-missing", "Provider=shopify;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig,
			`provider shopify needs the profile property shop: set ProfileSettings, such as ProfileSettings="shop=sandbox-shop" (see docs/profiles.md)`},
		{"profile-property-unknown", "Provider=Shopify;ProfileSettings=shop=acme,colour=red;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig,
			`connection string: ProfileSettings: profile shopify has no property "colour" (its properties: shop)`},
		{"profile-property-moves-host", "Provider=shopify;ProfileSettings=shop=evil.example/x;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig,
			`ProfileSettings: property shop: value "evil.example/x" holds a character other than letters, digits and . _ ~ -`},
		{"profile-property-pattern", "Provider=shopify;ProfileSettings=shop=-acme;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig,
			`ProfileSettings: property shop: value "-acme" does not match`},
		{"profile-settings-for-go-driver", "Provider=jumpseller;ProfileSettings=shop=acme;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig,
			"ProfileSettings is for providers described by a profile; jumpseller is a Go driver"},
		{"bad-mode", "Provider=jumpseller;InitiateOAuth=ALWAYS;OAuthClientId=a;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig, "InitiateOAuth"},
		{"missing-client-id", "Provider=jumpseller;OAuthClientSecret=s3cr3t-value", driver.InvalidConfig, "OAuthClientId"},
		{"plain-http-endpoint", "Provider=jumpseller;OAuthClientId=a;OAuthClientSecret=s3cr3t-value;OAuthAccessTokenURL=http://example.com/token", driver.InvalidConfig, "http"},
		{"unterminated-quote", "Provider=jumpseller;OAuthClientId=a;OAuthClientSecret='s3cr3t-value", driver.InvalidConfig, "quote"},
		{"unknown-store-scheme", "Provider=jumpseller;OAuthClientId=a;OAuthClientSecret=s3cr3t-value;OAuthSettingsLocation=mongodb://x", driver.InvalidConfig, "mongodb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := connector.Open(context.Background(), tc.dsn)
			if driver.CodeOf(err) != tc.code {
				t.Fatalf("Open: %v, want code %v", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("Open error echoes the secret: %v", err)
			}
		})
	}
}

func TestModeOffUsesSuppliedToken(t *testing.T) {
	w := newWorld(t)
	ep := w.sim.Endpoint(w.srv.URL)
	now := w.clock.Now()
	dsn := "Provider=jumpseller;InitiateOAuth=OFF;OAuthAccessToken=handmade-access-token;OAuthExpiresIn=3600" +
		";OAuthTokenTimestamp=" + itoa(now.UnixMilli()) + ";URL=" + ep.APIBaseURL + ";OAuthAccessTokenURL=" + ep.TokenURL +
		";OAuthSettingsLocation=" + uniqueMemory(t)
	ctx := context.Background()
	c, err := connector.Open(ctx, dsn, func(o *connector.Options) { o.Clock = w.clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := c.Default(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := conn.Token(ctx)
	if err != nil || tok.AccessToken != "handmade-access-token" {
		t.Fatalf("Token = %v, %v; want the supplied token", tok, err)
	}
	w.clock.Advance(2 * time.Hour)
	_, err = conn.Token(ctx)
	if driver.CodeOf(err) != driver.AuthorizationRequired {
		t.Errorf("expired token under OFF: %v, want authorization_required", err)
	}
	if n := w.sim.Stats().TokenRequests; n != 0 {
		t.Errorf("InitiateOAuth=OFF called the token endpoint %d times", n)
	}
	if _, err := c.AuthCodeURL(nil); driver.CodeOf(err) != driver.AuthorizationRequired {
		t.Errorf("AuthCodeURL under OFF: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestNewRequestStaysOnTheAPIHost(t *testing.T) {
	w := newWorld(t)
	conn := w.authorize(t, w.connector(t))
	ctx := context.Background()
	for _, tc := range []struct {
		name, path string
		ok         bool
	}{
		{"relative", "store/info.json", true},
		{"rooted", "/store/info.json", true},
		{"absolute-same-host", w.sim.Endpoint(w.srv.URL).APIBaseURL + "store/info.json", true},
		{"absolute-other-host", "https://attacker.example/steal", false},
		{"scheme-relative-trick", "http://attacker.example@127.0.0.2/x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conn.NewRequest(ctx, "GET", tc.path, nil)
			if (err == nil) != tc.ok {
				t.Errorf("NewRequest(%q) error = %v, want ok=%v", tc.path, err, tc.ok)
			}
		})
	}
}

func TestRateLimitHeaders(t *testing.T) {
	w := newWorld(t)
	c := w.connector(t)
	conn := w.authorize(t, c)
	ctx := context.Background()
	req, err := conn.NewRequest(ctx, "GET", "store/info.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := c.RateLimit(resp)
	for _, h := range []string{"Jumpseller-PerMinuteRateLimit-Limit", "Jumpseller-PerMinuteRateLimit-Remaining", "Jumpseller-PerSecondRateLimit-Limit", "Jumpseller-PerSecondRateLimit-Remaining"} {
		if got.Get(h) == "" {
			t.Errorf("RateLimit lacks %s (got %v)", h, got)
		}
	}
	if len(got) > len(jumpseller.Provider.Spec().RateLimitHeaders) {
		t.Errorf("RateLimit returned headers beyond the provider's: %v", got)
	}
}

// uniqueMemory names a memory store no other test (or -count run) shares.
func uniqueMemory(t *testing.T) string {
	return "memory://" + t.Name() + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
