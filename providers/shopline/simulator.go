package shopline

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/simulator"
)

// SimulatorMerchant is the merchant the simulator's user grants: its id (24
// hex digits, like SHOPLINE's) is the connection's account.
var SimulatorMerchant = Merchant{
	ID:                  "5e1d2c3b4a5f6e7d8c9b0a12",
	Name:                "Sandbox Merchant",
	Handle:              "sandbox-merchant",
	Email:               "owner@sandbox-merchant.example",
	BaseCountryCode:     "TW",
	BaseCurrencyCode:    "TWD",
	DefaultLanguageCode: "zh-hant",
}

// Merchant is the merchant object of the simulated Open API (the fields
// shopline-sdk-node's OpenApiClient asks for).
type Merchant struct {
	ID                  string `json:"_id"`
	Name                string `json:"name"`
	Handle              string `json:"handle"`
	Email               string `json:"email"`
	BaseCountryCode     string `json:"base_country_code"`
	BaseCurrencyCode    string `json:"base_currency_code"`
	DefaultLanguageCode string `json:"default_language_code"`
}

// NewSimulator returns a simulator of SHOPLINE: JSON token bodies with the
// client's credentials in them, token_type "Bearer", six-month access tokens
// that are JWTs without exp, scope and resource_owner_id in answers, 600 s
// codes, redirect_uri required on refresh, refresh tokens that die a day after
// their access token, POST /oauth/revoke (JSON, Basic), and an Open API that
// requires a User-Agent: GET /api/v1/token/info and GET /api/v1/merchants.
// Any scope is accepted. No client is registered: call AddClient.
//
// Its facts are written here from SHOPLINE's documentation
// (https://shopline-developers.readme.io/docs/get-started and its Token
// Exchange page) and shoplineapp/shopline-sdk-node, not read from the
// driver's Spec, so that conformance.TestProvider checks the one against the
// other.
//
// The Open API answers' shapes are not published; the simulator's are
// plausible stand-ins: token/info is Doorkeeper's token info plus the
// merchant, merchants a paginated list of one.
func NewSimulator() *simulator.Server {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	merchant := SimulatorMerchant
	s := simulator.New(simulator.Config{
		Name:        "shopline",
		DisplayName: "SHOPLINE",
		Documented: driver.Endpoint{
			// https://shopline-developers.readme.io/docs/get-started
			// (shopline-sdk-node constructOAuthAuthorizeUrl: {endpoint}/oauth/authorize)
			AuthURL: "https://developers.shoplineapp.com/oauth/authorize",
			// Token Exchange: "POST https://developers.shoplineapp.com/oauth/token";
			// shopline-sdk-node refreshToken posts to the same oauth/token.
			TokenURL: "https://developers.shoplineapp.com/oauth/token",
			// https://shopline-developers.readme.io/docs/get-started (POST /oauth/revoke)
			RevokeURL: "https://developers.shoplineapp.com/oauth/revoke",
			// shopline-sdk-node tokenInfo: GET {endpoint}/oauth/token/info
			TokenInfoURL: "https://developers.shoplineapp.com/oauth/token/info",
			// https://shopline-developers.readme.io/docs/get-started (Open API base)
			APIBaseURL: "https://open.shopline.io/v1/",
		},
		// Token Exchange: curl -d '{"code":…,"grant_type":…,"client_id":…,
		// "client_secret":…,"redirect_uri":…}' -H "Content-Type: application/json".
		TokenFormat: driver.JSON,
		TokenAuth:   driver.InBody,
		// The example response payload: "token_type": "Bearer",
		// "expires_in": 15778476, "scope": "products orders",
		// "resource_owner_id": the merchant id.
		TokenType:    "Bearer",
		AccessTTL:    15778476 * time.Second,
		SendScope:    true,
		AccountField: "resource_owner_id",
		// shopline-sdk-node refreshToken posts its whole config, redirect_uri
		// included.
		RefreshRequiresRedirectURI: true,
		// "the code will become invalid after 600 seconds" (Token Exchange,
		// as of July 2023).
		CodeTTL: 600 * time.Second,
		// Refresh tokens die one day after their access token expires.
		RefreshTTLAfterAccessExpiry: 24 * time.Hour,
		// POST /oauth/revoke, Basic client authentication, JSON {"token":…},
		// always 200 {}.
		Revoke:     true,
		RevokeAuth: driver.Basic,
		// Scopes are space-separated; no complete list is published, so any
		// scope is accepted.
		ScopeSeparator: " ",
		Scopes:         nil,
		// The Open API requires a User-Agent header; it documents no
		// rate-limit headers, only the 429.
		RequireUserAgent:  true,
		RateLimitHeaders:  nil,
		AccountID:         merchant.ID,
		AccessTokenFormat: func() string { return jwt(key, merchant.ID) },
	})
	s.Handle("GET /api/v1/token/info", func(w http.ResponseWriter, r *http.Request, g simulator.Grant) {
		m := merchant
		m.ID = g.AccountID
		writeJSON(w, map[string]any{
			"resource_owner_id": g.AccountID,
			"scope":             nonNil(g.Scopes),
			"application":       map[string]string{"uid": g.ClientID},
			"merchant":          m,
		})
	})
	s.Handle("GET /api/v1/merchants", func(w http.ResponseWriter, r *http.Request, g simulator.Grant) {
		m := merchant
		m.ID = g.AccountID
		writeJSON(w, map[string]any{
			"items":      []Merchant{m},
			"pagination": map[string]int{"current_page": 1, "per_page": 24, "total_count": 1, "total_pages": 1},
		})
	})
	s.Handle("GET /api/v1/merchants/{id}", func(w http.ResponseWriter, r *http.Request, g simulator.Grant) {
		if r.PathValue("id") != g.AccountID {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"Merchant not found","code":"NotFound"}`))
			return
		}
		m := merchant
		m.ID = g.AccountID
		writeJSON(w, m)
	})
	return s
}

// NewSimulator returns NewSimulator().
func (provider) NewSimulator() http.Handler { return NewSimulator() }

// jwt returns an access token shaped like SHOPLINE's: an HS256 JWT whose
// claims are jti, data{merchant_id, application_id}, iss, aud and sub, and
// no exp (the token's lifetime is only in the answer's expires_in).
func jwt(key []byte, merchantID string) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256"}`))
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{
		"jti":  hex.EncodeToString(jti),
		"data": map[string]string{"merchant_id": merchantID, "application_id": "000000000000000000000001"},
		"iss":  "https://developers.shoplineapp.com",
		"aud":  []string{},
		"sub":  merchantID,
	})
	signing := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
