// Package jumpseller is the connector driver for Jumpseller
// (https://jumpseller.com), an e-commerce platform whose OAuth 2 server is
// Doorkeeper-style.
//
// Import it for its side effect, as with database/sql drivers:
//
//	import _ "github.com/connector-go/connector/providers/jumpseller"
//
// # Wire facts
//
//   - Authorize at https://accounts.jumpseller.com/oauth/authorize with
//     space-separated scopes; the token endpoint is
//     https://accounts.jumpseller.com/oauth/token.
//   - Token requests are form bodies (the documentation uses curl -F) with
//     client_id and client_secret in the body; redirect_uri must be exactly
//     the authorize one, or urn:ietf:wg:oauth:2.0:oob for terminal use.
//     Refresh sends no redirect_uri.
//   - Answers carry token_type "bearer" in lower case, expires_in 3600,
//     created_at and no scope field.
//   - The account is the store code, read from GET /v1/store/info.json
//     (scope read_store, which DefaultScopes requests).
//   - No revocation endpoint is documented.
//   - The API allows 800 requests a minute and 20 a second per IP and store,
//     answers 429 beyond that, and reports the budget in the
//     Jumpseller-PerMinuteRateLimit-* and Jumpseller-PerSecondRateLimit-*
//     headers.
package jumpseller

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

func init() { connector.Register("jumpseller", Provider) }

// Provider is the Jumpseller driver. It implements driver.Provider,
// driver.Simulated and driver.Prober.
var Provider driver.Provider = provider{}

// provider is stateless; every quirk is in spec.
type provider struct{}

var (
	_ driver.Provider  = provider{}
	_ driver.Simulated = provider{}
	_ driver.Prober    = provider{}
)

// spec is Jumpseller described as data. Sources: the OAuth guide
// (https://jumpseller.com/support/oauth-2/) and the API documentation
// (https://jumpseller.com/support/api/).
var spec = &driver.Spec{
	Name:        "jumpseller",
	DisplayName: "Jumpseller",
	DocsURL:     "https://jumpseller.com/support/oauth-2/",
	Endpoint: driver.Endpoint{
		// Documentation: https://jumpseller.com/support/oauth-2/ ("The Client requests an authorization")
		AuthURL: "https://accounts.jumpseller.com/oauth/authorize",
		// Documentation: https://jumpseller.com/support/oauth-2/ (code exchange and refresh share it)
		TokenURL: "https://accounts.jumpseller.com/oauth/token",
		// Doorkeeper's token introspection, served beside the token endpoint.
		TokenInfoURL: "https://accounts.jumpseller.com/oauth/token/info",
		// Documentation: https://jumpseller.com/support/api/ (GET /v1/store/info.json in the OAuth guide)
		APIBaseURL: "https://api.jumpseller.com/v1/",
	},
	// "curl -F grant_type=… -F client_id=… -F client_secret=…": a form body
	// with the client's credentials in it.
	Token:          driver.Request{Format: driver.Form, Auth: driver.InBody},
	Scopes:         scopes,
	ScopeSeparator: " ",
	// store/info.json, which names the account, needs read_store.
	DefaultScopes: []string{"read_store"},
	// "By default the access token expires in 1 hour."
	DefaultLifetime: time.Hour,
	// Jumpseller documents no code lifetime (Doorkeeper's default is 10 min).
	CodeLifetime: 0,
	// Not documented; treated as rotating, as Doorkeeper issues a new
	// refresh token on every refresh.
	RotatesRefreshTokens: true,
	// Doorkeeper's default since 4.0 (commit cb22b3ce, "Revoke refresh
	// token after access token use"): with the previous_refresh_token column
	// of the install migration, the previous refresh token is revoked only
	// when the new access token is first used (AccessTokenMixin
	// #revoke_previous_refresh_token!, called from OAuth::Token.authenticate;
	// RefreshTokenRequest#before_successful_response does not revoke it when
	// refresh_token_revoked_on_use?). Jumpseller does not document which
	// mode it runs; this is the Doorkeeper default.
	RefreshReplaySafe: true,
	RateLimitHeaders: []string{
		"Jumpseller-PerMinuteRateLimit-Limit",
		"Jumpseller-PerMinuteRateLimit-Remaining",
		"Jumpseller-PerSecondRateLimit-Limit",
		"Jumpseller-PerSecondRateLimit-Remaining",
		"Jumpseller-BannedByRateLimit-Reset",
	},
}

// scopes is every scope of https://jumpseller.com/support/oauth-2/ ("Check
// the list of scopes"): read_ and write_ for each resource, and four that
// come in one form only.
var scopes = []string{
	"read_products", "write_products",
	"read_orders", "write_orders",
	"read_customers", "write_customers",
	"read_categories", "write_categories",
	"read_store", "write_store",
	"read_settings", "write_settings",
	"read_shipping_methods", "write_shipping_methods",
	"read_payment_methods", "write_payment_methods",
	"read_hooks", "write_hooks",
	"read_promotions", "write_promotions",
	"read_taxes", "write_taxes",
	"read_pages", "write_pages",
	"read_countries", "write_countries",
	"read_custom_fields", "write_custom_fields",
	"read_checkout_custom_fields", "write_checkout_custom_fields",
	"read_customer_categories", "write_customer_categories",
	"read_jsapps", "write_jsapps",
	"read_fulfillments", "write_fulfillments",
	"read_locations", "write_locations",
	"read_apps",
	"write_reviews",
	"read_transaction_ledgers",
	"write_store_setup",
}

// Spec returns Jumpseller's description; always the same pointer.
func (provider) Spec() *driver.Spec { return spec }

// ProbePath returns the API path the CLI's demo and health checks read:
// GET /v1/store/info.json, which DefaultScopes (read_store) may read.
func (provider) ProbePath(string) string { return "store/info.json" }

// ParseToken parses a Doorkeeper answer. Jumpseller sends no scope field (the
// requested scopes are kept) and no account (Identify finds it).
func (provider) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	return driver.ParseStandardToken(spec, r)
}

// Identify returns the store code from GET {APIBaseURL}store/info.json,
// which answers {"store":{"name","code","currency","country","email",…}}.
// A code that driver.ValidateAccount refuses is a BadResponse.
func (provider) Identify(ctx context.Context, env *driver.Env, tok *driver.Token) (string, error) {
	base := env.Config.Endpoint.APIBaseURL
	if base == "" {
		base = spec.Endpoint.APIBaseURL
	}
	var info struct {
		Store struct {
			Code string `json:"code"`
		} `json:"store"`
	}
	if err := driver.GetJSON(ctx, env, strings.TrimRight(base, "/")+"/store/info.json", "store/info.json", tok, &info); err != nil {
		var e *driver.Error
		if errors.As(err, &e) && e.Status == http.StatusForbidden {
			e.Msg = "store API refused store/info.json: the grant needs the read_store scope"
		}
		return "", err
	}
	if info.Store.Code == "" {
		return "", &driver.Error{Code: driver.BadResponse, Op: "identify", Provider: spec.Name, Status: http.StatusOK,
			Msg: "store/info.json answered without a store code"}
	}
	if err := driver.ValidateAccount(info.Store.Code); err != nil {
		var e *driver.Error
		if errors.As(err, &e) {
			e.Op, e.Provider, e.Status = "identify", spec.Name, http.StatusOK
		}
		return "", err
	}
	return info.Store.Code, nil
}
