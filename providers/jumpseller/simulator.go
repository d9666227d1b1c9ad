package jumpseller

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/simulator"
)

// SimulatorStore is the store the simulator's merchant grants: its code is
// the connection's account.
var SimulatorStore = StoreInfo{
	Name:     "Sandbox Store",
	Code:     "sandbox-store",
	Currency: "EUR",
	Country:  "PT",
	Email:    "owner@sandbox-store.example",
}

// StoreInfo is the store object of GET /v1/store/info.json.
type StoreInfo struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	Currency string `json:"currency"`
	Country  string `json:"country"`
	Email    string `json:"email"`
}

// The API's documented limits, per IP and store.
const (
	perMinuteLimit = 800
	perSecondLimit = 20
)

// NewSimulator returns a simulator of Jumpseller: form token bodies (also
// multipart, as curl -F sends) with the client's credentials in them,
// token_type "bearer", one-hour access tokens, no scope in answers, no
// redirect_uri on refresh, the documented scope list, the out-of-band
// redirect URI, and GET /api/v1/store/info.json answering SimulatorStore.
// Every API answer carries the rate-limit headers; the simulator counts
// requests but does not refuse them (inject a 429 Fault for that). No client
// is registered: call AddClient.
//
// Its facts are written here from Jumpseller's documentation, not read from
// the driver's Spec, so that conformance.TestProvider checks the one against
// the other.
func NewSimulator() *simulator.Server {
	rl := &rateCounter{}
	s := simulator.New(simulator.Config{
		Name:        "jumpseller",
		DisplayName: "Jumpseller",
		Documented: driver.Endpoint{
			// https://jumpseller.com/support/oauth-2/ ("The Client requests an authorization")
			AuthURL: "https://accounts.jumpseller.com/oauth/authorize",
			// https://jumpseller.com/support/oauth-2/ (code exchange and refresh: POST …/oauth/token)
			TokenURL: "https://accounts.jumpseller.com/oauth/token",
			// Not in Jumpseller's documentation: Doorkeeper serves token info
			// beside the token endpoint (lib/doorkeeper/rails/routes.rb,
			// token_info_routes: path "token/info").
			TokenInfoURL: "https://accounts.jumpseller.com/oauth/token/info",
			// https://jumpseller.com/support/oauth-2/ ("curl … https://api.jumpseller.com/v1/store/info.json")
			APIBaseURL: "https://api.jumpseller.com/v1/",
		},
		// "curl -F grant_type=… -F client_id=… -F client_secret=…"
		// (https://jumpseller.com/support/oauth-2/): a form body with the
		// client's credentials in it.
		TokenFormat: driver.Form,
		TokenAuth:   driver.InBody,
		// "token_type … Always is "bearer"."
		TokenType: "bearer",
		// "By default the access token expires in 1 hour."
		AccessTTL: time.Hour,
		// The documented answer has no scope field and no account.
		SendScope:    false,
		AccountField: "",
		// The documented refresh request is grant_type, client_id,
		// client_secret and refresh_token: no redirect_uri.
		RefreshRefusesRedirectURI: true,
		// Doorkeeper's default (authorization_code_expires_in, lib/doorkeeper/config.rb);
		// Jumpseller documents none.
		CodeTTL: 600 * time.Second,
		// Jumpseller documents no refresh-token lifetime and no revocation
		// endpoint.
		RefreshTTLAfterAccessExpiry: 0,
		Revoke:                      false,
		// "The whitespace-separated list of scopes".
		ScopeSeparator: " ",
		Scopes:         documentedScopes,
		// https://jumpseller.com/support/api/ (rate limits)
		RateLimitHeaders: []string{
			"Jumpseller-PerMinuteRateLimit-Limit",
			"Jumpseller-PerMinuteRateLimit-Remaining",
			"Jumpseller-PerSecondRateLimit-Limit",
			"Jumpseller-PerSecondRateLimit-Remaining",
			"Jumpseller-BannedByRateLimit-Reset",
		},
		AccountID: SimulatorStore.Code,
		APIHook:   rl.hook,
	})
	s.Handle("GET /api/v1/store/info.json", func(w http.ResponseWriter, r *http.Request, g simulator.Grant) {
		st := SimulatorStore
		st.Code = g.AccountID
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]StoreInfo{"store": st})
	})
	return s
}

// documentedScopes is the scope list of https://jumpseller.com/support/oauth-2/
// ("Check the list of scopes"), written out again here rather than taken
// from the driver: read_ and write_ for each resource, and four that come in
// one form only.
var documentedScopes = []string{
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

// NewSimulator returns NewSimulator().
func (provider) NewSimulator() http.Handler { return NewSimulator() }

// rateCounter counts API requests per second and per minute of the
// simulator's clock, for the rate-limit headers.
type rateCounter struct {
	mu          sync.Mutex
	sec, min    int64
	nSec, nMinu int
}

func (c *rateCounter) hook(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	c.mu.Lock()
	if s := now.Unix(); s != c.sec {
		c.sec, c.nSec = s, 0
	}
	if m := now.Unix() / 60; m != c.min {
		c.min, c.nMinu = m, 0
	}
	c.nSec++
	c.nMinu++
	remSec, remMin := max(perSecondLimit-c.nSec, 0), max(perMinuteLimit-c.nMinu, 0)
	c.mu.Unlock()
	h := w.Header()
	h.Set("Jumpseller-PerMinuteRateLimit-Limit", strconv.Itoa(perMinuteLimit))
	h.Set("Jumpseller-PerMinuteRateLimit-Remaining", strconv.Itoa(remMin))
	h.Set("Jumpseller-PerSecondRateLimit-Limit", strconv.Itoa(perSecondLimit))
	h.Set("Jumpseller-PerSecondRateLimit-Remaining", strconv.Itoa(remSec))
	return true
}
