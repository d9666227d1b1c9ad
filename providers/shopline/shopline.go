// Package shopline is the connector driver for SHOPLINE's Open API
// (developers.shoplineapp.com, open.shopline.io), whose OAuth 2 server is
// Doorkeeper-style. It is not the driver for developer.shopline.com (the
// myshopline.com platform), which signs its token requests differently.
//
// Import it for its side effect, as with database/sql drivers:
//
//	import _ "github.com/connector-go/connector/providers/shopline"
//
// # Wire facts
//
//   - Authorize at https://developers.shoplineapp.com/oauth/authorize
//     (redirect_uri whitelisted in the App Keys page, scopes separated by
//     spaces, optional merchant_id); tokens at …/oauth/token.
//   - Token requests are JSON bodies with client_id and client_secret in
//     them. A refresh also sends redirect_uri.
//   - Authorization codes expire after 600 s.
//   - Answers carry token_type "Bearer", expires_in 15778476 (about six
//     months), a space-separated scope, created_at, and resource_owner_id:
//     the merchant id, which becomes the connection's account. The access
//     token is a JWT without exp: its expiry is created_at + expires_in.
//   - Refresh tokens rotate and die one day after their access token
//     expires: a connection left alone longer needs a new authorization.
//   - POST …/oauth/revoke takes {"token":…} as JSON with Basic client
//     authentication and always answers 200 {}.
//   - The API at https://open.shopline.io/v1/ requires a User-Agent header;
//     it allows 20 requests a second and answers 429
//     {"error":"Rate limit exceeded…","code":"RateLimitExceeded"} beyond.
//
// # Scopes
//
// Spec().Scopes is empty: SHOPLINE publishes no complete scope list that
// could be verified (its documentation example grants "products orders";
// apps in the wild request names such as merchants, staffs, products,
// orders, customers, categories, webhooks). An empty list makes the engine
// accept any scope and leaves the check to SHOPLINE.
package shopline

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

func init() { connector.Register("shopline", Provider) }

// Provider is the SHOPLINE driver. It implements driver.Provider,
// driver.Simulated and driver.Prober.
var Provider driver.Provider = provider{}

type provider struct{}

var (
	_ driver.Provider  = provider{}
	_ driver.Simulated = provider{}
	_ driver.Prober    = provider{}
)

// UserAgent is the User-Agent the driver sends on every API request, which
// SHOPLINE's Open API requires.
const UserAgent = "connector-go/" + driver.Version + " (+https://github.com/connector-go/connector)"

// CodeLifetime is how long a SHOPLINE authorization code lives: "the code
// will become invalid after 600 seconds" (Token Exchange, as of July 2023).
const CodeLifetime = 600 * time.Second

// spec is SHOPLINE described as data. Sources: SHOPLINE Developer Center
// (https://shopline-developers.readme.io/docs/get-started, its "Token
// Exchange" section) and shoplineapp/shopline-sdk-node
// (lib/models/DeveloperOAuth.js).
var spec = &driver.Spec{
	Name:        "shopline",
	DisplayName: "SHOPLINE",
	DocsURL:     "https://shopline-developers.readme.io/docs/get-started",
	Endpoint: driver.Endpoint{
		// Documentation: https://shopline-developers.readme.io/docs/get-started
		// (shopline-sdk-node constructOAuthAuthorizeUrl: {endpoint}/oauth/authorize
		// with client_id, response_type, redirect_uri, scope, merchant_id)
		AuthURL: "https://developers.shoplineapp.com/oauth/authorize",
		// Documentation: https://shopline-developers.readme.io/docs/get-started
		// ("Token Exchange": POST https://developers.shoplineapp.com/oauth/token;
		// shopline-sdk-node refreshToken posts to the same oauth/token)
		TokenURL: "https://developers.shoplineapp.com/oauth/token",
		// Documentation: https://shopline-developers.readme.io/docs/get-started
		// (POST /oauth/revoke, Basic client authentication, JSON {"token":…}, 200 {})
		RevokeURL: "https://developers.shoplineapp.com/oauth/revoke",
		// shopline-sdk-node tokenInfo: GET {endpoint}/oauth/token/info with Bearer
		TokenInfoURL: "https://developers.shoplineapp.com/oauth/token/info",
		// Documentation: https://shopline-developers.readme.io/docs/get-started
		// (Open API base https://open.shopline.io/v1/, User-Agent required)
		APIBaseURL: "https://open.shopline.io/v1/",
	},
	// curl -d '{"code":…,"grant_type":…,"client_id":…,"client_secret":…,"redirect_uri":…}'
	// -H "Content-Type: application/json"
	Token: driver.Request{Format: driver.JSON, Auth: driver.InBody},
	// {"token":…} as JSON, client authenticated with Basic.
	Revoke: driver.Request{Format: driver.JSON, Auth: driver.Basic},
	// shopline-sdk-node refreshToken posts its whole config, redirect_uri
	// included.
	RefreshSendsRedirectURI: true,
	// Deliberately empty: see the package documentation.
	Scopes:         nil,
	ScopeSeparator: " ",
	// expires_in of the documented answer: 15778476 s (about six months).
	DefaultLifetime:                 15778476 * time.Second,
	CodeLifetime:                    CodeLifetime,
	RefreshTokenLifetimeAfterExpiry: 24 * time.Hour,
	RotatesRefreshTokens:            true,
	// Doorkeeper's default since 4.0 (commit cb22b3ce, "Revoke refresh
	// token after access token use"): the previous refresh token is revoked
	// only when the new access token is first used (AccessTokenMixin
	// #revoke_previous_refresh_token!, called from OAuth::Token.authenticate),
	// so a refresh whose answer was lost can be replayed. SHOPLINE does not
	// document which mode it runs; this is the Doorkeeper default.
	RefreshReplaySafe: true,
	APIHeaders:        http.Header{"User-Agent": {UserAgent}},
	// No rate-limit headers are documented, only the 429.
	RateLimitHeaders: nil,
}

// Spec returns SHOPLINE's description; always the same pointer.
func (provider) Spec() *driver.Spec { return spec }

// ProbePath returns the API path the CLI's demo and health checks read:
// GET /v1/token/info, which any valid token may read.
func (provider) ProbePath(string) string { return "token/info" }

// ParseToken parses a Doorkeeper answer and lifts resource_owner_id (the
// merchant id) out of Extra into AccountID; a resource_owner_id that
// driver.ValidateAccount refuses (a CR/LF, a terminal escape, a bidirectional
// control, more than 256 bytes) makes the answer a BadResponse without an
// excerpt. An invalid_grant on the code exchange says that codes expire after
// 600 s, the usual cause. (SHOPLINE's 429 body
// {"error":"Rate limit exceeded…","code":"RateLimitExceeded"} has an error
// field that is no RFC 6749 code; ParseStandardToken lets the status make it
// Unavailable.)
func (provider) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	t, err := driver.ParseStandardToken(spec, r)
	if err != nil {
		var e *driver.Error
		if r.Grant == "authorization_code" && errors.As(err, &e) && e.OAuthError == "invalid_grant" {
			e.Msg = codeRefusedMessage(e.OAuthDescription)
		}
		return nil, err
	}
	if v, ok := t.Extra["resource_owner_id"]; ok {
		t.AccountID = stringOf(v)
		delete(t.Extra, "resource_owner_id")
		if t.AccountID != "" {
			if err := driver.ValidateAccount(t.AccountID); err != nil {
				return nil, refused(err, opOf(r.Grant), r.Status, r.Header.Get("Content-Type"))
			}
		}
	}
	return t, nil
}

// refused completes an error of driver.ValidateAccount with where it
// arose. It carries no excerpt of the answer.
func refused(err error, op string, status int, ctype string) error {
	var e *driver.Error
	if errors.As(err, &e) {
		e.Op, e.Provider, e.Status, e.ContentType = op, spec.Name, status, ctype
	}
	return err
}

// opOf names a grant as driver errors do.
func opOf(grant string) string {
	switch grant {
	case "authorization_code":
		return "exchange"
	case "refresh_token":
		return "refresh"
	}
	return grant
}

// codeRefusedMessage explains a refused authorization code. Doorkeeper's
// description does not tell an expired code from a used or mismatched one
// ("The provided authorization grant is invalid, expired, revoked, does not
// match the redirection URI …"), so expiry, the usual cause, is named first
// whenever the description allows it.
func codeRefusedMessage(desc string) string {
	life := strconv.Itoa(int(CodeLifetime/time.Second)) + " s"
	if desc == "" || strings.Contains(strings.ToLower(desc), "expire") {
		return "authorization code expired or invalid: SHOPLINE authorization codes expire after " + life +
			"; authorize again and exchange the code as soon as the callback arrives"
	}
	return "authorization code refused (SHOPLINE authorization codes expire after " + life +
		"; the redirect_uri must equal the authorize request's)"
}

// stringOf renders a JSON scalar as a string: resource_owner_id is a string
// in the documentation, but a number would not be lost.
func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return "" // an object, array or bool is no merchant id
}

// Identify returns the merchant id: the token's resource_owner_id, or when
// the answer had none, the one GET {APIBaseURL}token/info reports, which
// must pass driver.ValidateAccount.
func (provider) Identify(ctx context.Context, env *driver.Env, tok *driver.Token) (string, error) {
	if tok.AccountID != "" {
		return tok.AccountID, nil
	}
	base := env.Config.Endpoint.APIBaseURL
	if base == "" {
		base = spec.Endpoint.APIBaseURL
	}
	// The answer's shape is not published; accept the names Doorkeeper and
	// SHOPLINE's objects use for the merchant.
	var info struct {
		ResourceOwnerID any `json:"resource_owner_id"`
		MerchantID      any `json:"merchant_id"`
		Merchant        struct {
			ID    any `json:"_id"`
			AltID any `json:"id"`
		} `json:"merchant"`
	}
	if err := driver.GetJSON(ctx, env, strings.TrimRight(base, "/")+"/token/info", "token/info", tok, &info); err != nil {
		return "", err
	}
	for _, v := range []any{info.ResourceOwnerID, info.MerchantID, info.Merchant.ID, info.Merchant.AltID} {
		if s := stringOf(v); s != "" {
			if err := driver.ValidateAccount(s); err != nil {
				return "", refused(err, "identify", http.StatusOK, "")
			}
			return s, nil
		}
	}
	return "", &driver.Error{Code: driver.BadResponse, Op: "identify", Provider: spec.Name, Status: http.StatusOK,
		Msg: "token/info answered without a merchant id"}
}
