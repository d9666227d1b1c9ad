// Package shoplineglobal is the connector driver for SHOPLINE's global
// platform (developer.shopline.com, stores at {handle}.myshopline.com). It
// is not package shopline, the driver for SHOPLINE's Open API
// (developers.shoplineapp.com), whose OAuth 2 server is Doorkeeper's.
//
// It is the provider no profile can describe (docs/writing-a-driver.md,
// "When to write a profile and when Go"): its token requests carry no
// client credentials but an HMAC-SHA256 signature in headers, its answers
// nest the token in an envelope with an ISO expiry, it issues no refresh
// token and refreshes by a signed call, and its authorization page is a
// fragment route with its own parameter names. The driver implements
// driver.Authorizer and driver.CallbackReader (the browser leg),
// driver.Exchanger, driver.Refresher, driver.Prober and driver.Simulated.
//
// Import it for its side effect, as with database/sql drivers, and bind a
// connector to one store:
//
//	p, err := shoplineglobal.ForShop("open001")
//	c, err := connector.NewWithDriver(p, opts)
//	u, err := c.AuthURL(connector.AuthRequest{}) // SHOPLINE's page, to send the merchant to
//	// … and on the redirect URI:
//	conn, err := c.HandleCallback(ctx, r.URL.Query())
//
// # One connector per store
//
// The store's handle is in every URL (authorize, token, refresh, API), and
// the engine fixes the authorize URL and the API base per connector, so a
// connector serves one store: ForShop binds the driver to a handle. The
// handle also comes back on the callback; the driver refuses a callback
// for another store, records the handle as the connection's account, and
// refuses to refresh a token of another store. The registered "shoplineglobal"
// driver is bound to no store: it needs every endpoint given by hand.
//
// # The browser leg
//
// SHOPLINE's page takes appKey, responseType, scope, redirectUri and
// customField after a fragment, and its callback carries customField, a
// timestamp and a sign. The engine's Connector.AuthURL and HandleCallback
// go through the driver's hooks (driver.Authorizer, driver.CallbackReader):
// the engine still makes the state, the redirect URI and the scopes and
// checks the state; the driver only renames them, and refuses a callback
// with a code whose sign is not the app's (before the state is spent) or
// that is older than MaxSkew (after: its code has expired). An application
// calls AuthURL and HandleCallback as for any provider.
//
// # The simulator
//
// NewSimulator plays one store on the wire (Simulator). The driver also
// implements driver.Simulated, so that the CLI's demo and sandbox serve it
// as they serve every provider: the driver of ForShop(handle) simulates
// that store, the registered driver, bound to none, the store
// SimulatorHandle. The simulator serves refreshes at their own endpoint
// (Simulator.Endpoint's RefreshURL), which a connection string names with
// OAuthRefreshTokenURL.
//
// # Wire facts and their sources
//
// "Verified" facts were read on SHOPLINE's developer documentation as this
// project's stored copy has it; the sections of "App authorization" after
// its second step (the authorize URL, the token and refresh requests and
// their answers) and the POST part of "Generate and verify signatures" are
// not in that copy. Those facts come from SHOPLINE's own Go SDK,
// github.com/shoplineos/shopline-sdk-go (commit f73904cd), and from
// NangoHQ/nango's provider client (commit 2f4c0af6); each is marked.
//
//   - The store handle is the first label of the store's domain: open001
//     for open001.myshopline.com. Verified: App authorization,
//     https://developer.shopline.com/docs/apps/api-instructions-for-use/app-authorization
//   - Installs reach the app as GET {appUrl}?appkey&handle&lang&timestamp&sign,
//     timestamp in milliseconds; the callback with the code must be
//     signature-checked. Verified: App authorization (its Chinese version,
//     https://developer.shopline.com/zh-hans-cn/docs/apps/api-instructions-for-use/app-authorization,
//     step 4 of the flow).
//   - Signatures are HMAC-SHA256 keyed with the app secret; a GET's source
//     is its query parameters but sign, sorted by name, as k=v joined by &;
//     SHOPLINE allows 10 minutes between a request's timestamp and its
//     check. Verified: Generate and verify signatures,
//     https://developer.shopline.com/zh-hans-cn/docs/apps/api-instructions-for-use/generate-and-verify-signatures
//     (GET steps and their note). The values are signed as they are, not
//     percent-encoded: shopline-sdk-go client/sign.go GenerateSignForGet
//     (the page says to encode; the SDK does not).
//   - A POST's source is its body followed by the timestamp, sent as hex in
//     the header sign beside appkey and timestamp. Unverified on the page:
//     shopline-sdk-go client/sign.go GenerateSign, whose tests
//     (client/sign_test.go) give the vectors this package's tests check;
//     nango createShoplineToken does the same.
//   - Authorize at https://{handle}.myshopline.com/admin/oauth-web/#/oauth/authorize
//     with appKey, responseType=code, scope (comma-separated) and
//     redirectUri after the fragment. The names appKey, redirectUri and the
//     comma are verified (App Bridge "Authorization",
//     https://developer.shopline.com/docs/apps/development-tool/app-bridge/actions/authorization);
//     the URL and responseType are shopline-sdk-go client/oauth.go
//     AuthorizeUrl. customField, echoed on the callback, carries the state:
//     nango providers.yaml (authorization_url_replacements state= →
//     customField=) and shopline-sdk-go README (the callback reads appkey,
//     code, handle, customField, timestamp, sign). Unverified on the page.
//   - The code is exchanged by POST https://{handle}.myshopline.com/admin/oauth/token/create,
//     body {"code":"…"} (application/json), signed. The answer is
//     {"code":200,"i18nCode":"SUCCESS","message":"ok","data":{"accessToken",
//     "expireTime","scope"}}, expireTime an ISO 8601 date. Unverified on the
//     page: shopline-sdk-go client/shopline_api_client.go CreateAccessToken
//     and client/oauth_test.go; nango createShoplineToken.
//   - No refresh token is issued. POST https://{handle}.myshopline.com/admin/oauth/token/refresh
//     with no body, signed over the timestamp alone, answers a new token in
//     the same envelope. Unverified on the page: shopline-sdk-go
//     RefreshAccessToken and GenerateSignForRefreshAccessToken; nango
//     refreshShoplineToken (which sends no access token either).
//   - The Admin REST API is https://{handle}.myshopline.com/admin/openapi/{version}/,
//     with Authorization: Bearer. Verified: "Create an access token" and
//     "Query store information"
//     (https://developer.shopline.com/zh-hans-cn/doc/cdb180dc069f7d8d6877c0cdffe96f73/v9nbZbRk:
//     GET …/merchants/shop.json, scope read_store_information), the probe.
//     The version is shopline-sdk-go's default, v20251201.
//   - A 401 of the API means a missing, wrong or expired token; 429 a rate
//     limit. Verified: HTTP status codes,
//     https://developer.shopline.com/docs/apps/api-instructions-for-use/http-status-code
//
// Unverified, and not found in either lead's code: access tokens live 10
// hours and codes 10 minutes (third-party integrations say so; the
// Spec's DefaultLifetime and CodeLifetime use them); the error answers of
// the token endpoints (this driver reads SHOPLINE's envelope and the
// status: 429 and 5xx unavailable, 401 and 403 a refused signature, other
// 4xx a refused code or authorization); whether a refresh stays valid for
// a replay (there is no refresh token to spend, so the driver says yes).
// No revocation endpoint is known: the driver has none.
package shoplineglobal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

func init() { connector.Register("shoplineglobal", Provider) }

// Provider is the driver bound to no store: its Spec has no endpoints, so
// every one must be given (connection-string overrides or
// connector.Options.Endpoint). Use ForShop.
var Provider driver.Provider = &provider{spec: newSpec("")}

// provider is the driver for one store (handle), or for none.
type provider struct {
	handle string
	spec   *driver.Spec
}

var (
	_ driver.Provider       = (*provider)(nil)
	_ driver.Authorizer     = (*provider)(nil)
	_ driver.CallbackReader = (*provider)(nil)
	_ driver.Exchanger      = (*provider)(nil)
	_ driver.Refresher      = (*provider)(nil)
	_ driver.Prober         = (*provider)(nil)
	_ driver.Simulated      = (*provider)(nil)
)

// APIVersion is the Admin REST API version in the API base URL
// (shopline-sdk-go client/client_config.go DefaultApiVersion).
const APIVersion = "v20251201"

// AccessTokenLifetime is the lifetime of an access token when an answer has
// no expireTime. Unverified: third-party integrations give 10 hours.
const AccessTokenLifetime = 10 * time.Hour

// CodeLifetime is how long an authorization code lives. Unverified:
// third-party integrations give 10 minutes.
const CodeLifetime = 10 * time.Minute

// handlePattern is the form of a store handle: the first label of
// {handle}.myshopline.com (nango providers.yaml: ^[a-z0-9-]+$).
var handlePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidHandle reports whether handle can be a store handle: lower-case
// letters, digits and inner hyphens, at most 63 of them (one DNS label).
func ValidHandle(handle string) bool { return handlePattern.MatchString(handle) }

// ForShop returns the driver bound to the store handle ("open001" for
// open001.myshopline.com): its Spec's endpoints are the store's.
func ForShop(handle string) (driver.Provider, error) {
	if !ValidHandle(handle) {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "config", Provider: "shoplineglobal",
			Msg: "the store handle must be the first label of {handle}.myshopline.com: lower-case letters, digits and hyphens"}
	}
	return &provider{handle: handle, spec: newSpec(handle)}, nil
}

// Handle returns the store handle p is bound to, or "" for Provider or a
// driver of another package.
func Handle(p driver.Provider) string {
	if sp, ok := p.(*provider); ok {
		return sp.handle
	}
	return ""
}

// newSpec describes the store handle ("" for none: no endpoints).
func newSpec(handle string) *driver.Spec {
	s := &driver.Spec{
		Name:        "shoplineglobal",
		DisplayName: "SHOPLINE global",
		DocsURL:     "https://developer.shopline.com/docs/apps/api-instructions-for-use/app-authorization",
		// The token body is JSON ({"code":…}); the client is not in it but
		// in the appkey header and the signature (timestamp, sign headers):
		// the driver's Exchanger and Refresher sign.
		Token: driver.Request{Format: driver.JSON, Auth: driver.Signed},
		// App Bridge "Authorization": several scopes joined by ",".
		ScopeSeparator: ",",
		// Empty: SHOPLINE's access-scope page was not read here; an empty
		// list makes the engine accept any scope and leaves the check to
		// SHOPLINE.
		Scopes:          nil,
		DefaultLifetime: AccessTokenLifetime,
		CodeLifetime:    CodeLifetime,
		// No refresh token is issued (the Refresher renews the access token
		// by a signed call): nothing rotates, and a refresh whose answer was
		// lost spends nothing, so it may be sent again.
		NoRefreshTokens:      true,
		RotatesRefreshTokens: false,
		RefreshReplaySafe:    true,
	}
	if handle != "" {
		host := "https://" + handle + ".myshopline.com"
		s.Endpoint = driver.Endpoint{
			// shopline-sdk-go client/oauth.go AuthorizeUrl; the driver's
			// AuthorizeURL puts the parameters after the fragment.
			AuthURL: host + "/admin/oauth-web/#/oauth/authorize",
			// shopline-sdk-go CreateAccessToken: admin/oauth/token/create.
			TokenURL: host + "/admin/oauth/token/create",
			// shopline-sdk-go RefreshAccessToken: admin/oauth/token/refresh.
			RefreshURL: host + "/admin/oauth/token/refresh",
			// "Query store information": https://{handle}.myshopline.com/admin/openapi/{version}/….
			APIBaseURL: host + "/admin/openapi/" + APIVersion + "/",
		}
	}
	return s
}

// Spec returns the store's description; always the same pointer.
func (p *provider) Spec() *driver.Spec { return p.spec }

// ProbePath returns the API path the CLI's demo and health checks read:
// GET merchants/shop.json ("Query store information", scope
// read_store_information).
func (p *provider) ProbePath(string) string { return "merchants/shop.json" }

// Identify returns the store handle, which the exchange recorded as the
// token's account: it names the store, and every URL of the connection
// holds it.
func (p *provider) Identify(_ context.Context, _ *driver.Env, tok *driver.Token) (string, error) {
	if tok.AccountID != "" {
		return tok.AccountID, nil
	}
	return p.handle, nil
}

// Exchange exchanges the callback's code at the token endpoint: POST
// {"code":…} with the appkey, timestamp and sign headers. The callback's
// handle, when it has one, must be the store the driver is bound to; it
// becomes the token's account. A callback signed more than MaxSkew ago
// (ReadCallback checked its sign, the engine its state) is refused as
// InvalidGrant without a request: its code, issued before it was signed,
// has outlived SHOPLINE's 10 minutes.
func (p *provider) Exchange(ctx context.Context, env *driver.Env, callback url.Values) (*driver.Token, error) {
	if callback.Has("timestamp") && callback.Has("sign") {
		ts, err := callbackTime(callback)
		if err != nil {
			return nil, err
		}
		if env.Now().Sub(ts) > MaxSkew {
			return nil, p.errorf(driver.InvalidGrant, "exchange", "the callback was signed more than 10 minutes ago: its code has expired")
		}
	}
	handle := callback.Get("handle")
	switch {
	case handle == "":
		handle = p.handle
	case p.handle != "" && handle != p.handle:
		return nil, p.errorf(driver.InvalidGrant, "exchange", "the callback is for the store %q, but this connector serves %q: "+
			"authorize with the connector of that store (shoplineglobal.ForShop)", printable(handle), p.handle)
	case !ValidHandle(handle):
		return nil, p.errorf(driver.BadResponse, "exchange", "the callback's handle is not a store handle")
	}
	endpoint := env.Config.Endpoint.TokenURL
	if endpoint == "" {
		return nil, p.unbound("exchange")
	}
	body, _ := json.Marshal(map[string]string{"code": callback.Get("code")})
	req, err := p.signedRequest(ctx, env, endpoint, body)
	if err != nil {
		return nil, err
	}
	r, err := driver.DoToken(env, req, "authorization_code", env.Config.Scopes, nil)
	if err != nil {
		return nil, err
	}
	tok, err := p.ParseToken(r)
	if err != nil {
		return nil, err
	}
	tok.AccountID = handle
	return tok, nil
}

// Refresh asks for a new access token by the signed call SHOPLINE uses
// instead of a refresh token: POST to the refresh endpoint with no body,
// signed over the timestamp alone. A token of another store than the one
// the driver is bound to is refused without a request.
func (p *provider) Refresh(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error) {
	if p.handle != "" && tok.AccountID != "" && tok.AccountID != p.handle {
		return nil, p.errorf(driver.InvalidConfig, "refresh", "the connection belongs to the store %q, but this connector serves %q",
			printable(tok.AccountID), p.handle)
	}
	endpoint := env.Config.Endpoint.RefreshURL
	if endpoint == "" {
		endpoint = env.Config.Endpoint.TokenURL
	}
	if endpoint == "" {
		return nil, p.unbound("refresh")
	}
	req, err := p.signedRequest(ctx, env, endpoint, nil)
	if err != nil {
		return nil, err
	}
	r, err := driver.DoToken(env, req, "refresh_token", tok.Scopes, tok)
	if err != nil {
		return nil, err
	}
	nt, err := p.ParseToken(r)
	if err != nil {
		return nil, err
	}
	return driver.InheritFrom(nt, tok), nil
}

// signedRequest builds the POST of body (nil: none) to endpoint with the
// headers SHOPLINE authenticates an app by: appkey, timestamp (Unix
// milliseconds by env's clock) and sign.
func (p *provider) signedRequest(ctx context.Context, env *driver.Env, endpoint string, body []byte) (*http.Request, error) {
	if err := driver.CheckURL("token endpoint", endpoint, false); err != nil {
		var e *driver.Error
		if errors.As(err, &e) {
			e.Provider = p.spec.Name
		}
		return nil, err
	}
	ts := strconv.FormatInt(env.Now().UnixMilli(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, p.errorf(driver.InvalidConfig, "config", "bad token endpoint URL")
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }, 0
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("appkey", env.Config.ClientID)
	h.Set("timestamp", ts)
	h.Set("sign", Sign(env.Config.ClientSecret, string(body), ts))
	return req, nil
}

func (p *provider) unbound(op string) error {
	return p.errorf(driver.InvalidConfig, op, "the driver is bound to no store: use shoplineglobal.ForShop(handle), or give every endpoint")
}

func (p *provider) errorf(code driver.Code, op, format string, args ...any) *driver.Error {
	e := driver.Errorf(code, format, args...)
	e.Op, e.Provider = op, p.spec.Name
	return e
}

// printable quotes what a callback or a token may hold for a message.
func printable(s string) string {
	q := []rune(strconv.QuoteToGraphic(s))
	q = q[1 : len(q)-1]
	if len(q) > 64 {
		return string(q[:64]) + "…"
	}
	return string(q)
}
