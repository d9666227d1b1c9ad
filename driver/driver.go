// Package driver defines the contract between the connector engine and the
// provider drivers.
//
// Most code should use package connector; from this package it needs only the
// errors, whose one home this is: Error, its Code and the codes, CodeOf.
// Branch on driver.CodeOf(err) == driver.ReauthRequired, never on a message.
//
// The rest is for people who write a driver: a driver holds every quirk of one provider — endpoints, the wire
// format of token requests and answers, scopes, identity, error mapping, API
// headers and a simulator — and nothing else. The engine owns everything that
// is the same for all providers: state, retries, locking, persistence,
// caching and hooks.
//
// Most quirks are data, in Spec. What is code sits behind the Provider
// interface (parsing a token answer, finding the account) and behind optional
// interfaces found by type assertion (Refresher, Revoker, Exchanger,
// Authorizer, CallbackReader, APIAuthorizer, Prober, Simulated).
//
// Every driver must pass conformance.TestProvider.
package driver

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Provider is the interface a driver implements.
//
// Implementations must be safe for concurrent use. conformance.TestProvider
// checks every method against the driver's simulator.
type Provider interface {
	// Spec returns the provider's description. The engine reads it often and
	// never modifies it; return the same pointer every time.
	Spec() *Spec

	// ParseToken normalises an answer of the token endpoint (whatever its
	// status) into a Token, or returns an *Error:
	//   - an RFC 6749 §5.2 error field (in any status, including 200) → the
	//     Code from ClassifyOAuthError (invalid_grant → InvalidGrant,
	//     invalid_client → InvalidClient, ...);
	//   - HTML, malformed JSON, no access_token, a token type other than
	//     bearer (compared case-insensitively) → BadResponse, with the status,
	//     content type and a short redacted Excerpt;
	//   - an expires_in of 0 or less (or NaN), or a token that ValidateToken
	//     refuses (a CR/LF in a token, an account id holding a terminal
	//     escape) → BadResponse, without an excerpt.
	// The returned Token has TokenType "Bearer", Expiry computed from the
	// provider's created_at + expires_in when created_at is sent (else from
	// r.Now), Spec.DefaultLifetime when expires_in is missing, Scopes parsed
	// (or r.Requested when the provider does not send them), AccountID when
	// the answer carries one, and every other field in Extra; it passes
	// ValidateToken. conformance.FuzzParseToken checks all of this.
	// ParseStandardToken does all of this for Doorkeeper-style providers.
	ParseToken(r *TokenResponse) (*Token, error)

	// Identify returns the id of the account (store, merchant) that granted
	// tok. It may call the provider's API through env.HTTP.
	Identify(ctx context.Context, env *Env, tok *Token) (string, error)
}

// Refresher is implemented by a driver whose refresh is not the standard
// grant_type=refresh_token request (signed requests, no refresh token, ...).
// Without it the engine calls StandardRefresh.
type Refresher interface {
	// Refresh exchanges tok's grant for a new token. It must not retry on
	// its own: env.HTTP already retries what is safe to retry.
	Refresh(ctx context.Context, env *Env, tok *Token) (*Token, error)
}

// Revoker is implemented by a driver whose revocation is not the standard
// request described by Spec.Revoke. Without it the engine calls
// StandardRevoke when Spec.Endpoint.RevokeURL is set.
type Revoker interface {
	Revoke(ctx context.Context, env *Env, tok *Token) error
}

// Exchanger is implemented by a driver whose code exchange is not the
// standard authorization_code request, or needs more of the callback than
// the code (BigCommerce's context, Shopify's shop): the engine passes the
// whole callback query (its state already checked). Without it the engine
// calls StandardExchange.
type Exchanger interface {
	Exchange(ctx context.Context, env *Env, callback url.Values) (*Token, error)
}

// Authorizer is implemented by a driver whose provider's authorization
// page does not take the standard query of RFC 6749 §4.1.1 (SHOPLINE's
// global platform: a fragment route #/oauth/authorize?… with appKey,
// responseType, redirectUri and customField). The engine still owns every
// value: it builds the standard URL — the authorization endpoint (overrides
// applied) with Spec.AuthParams, the application's parameters, client_id,
// redirect_uri, response_type=code, scope joined by Spec.ScopeSeparator and
// a fresh state in its query — and AuthURL returns what AuthorizeURL makes
// of it (standard is the driver's to modify). The driver may rename, move
// and add parameters; it must carry the state, the redirect URI, the client
// id and the scopes unchanged. conformance.TestProvider approves the URL it
// returns at the driver's simulator and completes the callback through the
// engine, so a driver that drops or alters any of them fails.
type Authorizer interface {
	AuthorizeURL(env *Env, standard *url.URL) (string, error)
}

// CallbackReader is implemented by a driver whose provider calls the
// redirect URI back with other names than RFC 6749 §4.1.2's code, state,
// error and error_description (SHOPLINE's global platform: customField for
// the state), or signs that request. HandleCallback passes it the query
// first, and goes on with the query it returns: the standard names set, the
// provider's other parameters kept (an Exchanger may read them). It may
// refuse a callback that the provider did not send (a sign that does not
// match the client secret) with an *Error of Code InvalidState: the state
// is then not spent and the token endpoint not called. It never checks the
// state itself: the engine does, on the query it returns, as for every
// provider. Connector.Exchange, which is given the state and the code
// alone, does not call it. conformance.TestProvider sends it the simulator's
// callbacks, callbacks without a state or with an unknown one, and, when the
// simulator says its provider signs them (conformance.CallbackFacts), a
// tampered one, which it must refuse.
type CallbackReader interface {
	ReadCallback(env *Env, query url.Values) (url.Values, error)
}

// APIAuthorizer is implemented by a driver whose API takes the token some
// other way than "Authorization: Bearer …" (Shopify's
// X-Shopify-Access-Token, Tiendanube's "Authentication: bearer …"). The
// engine calls it on its own copy of each API request (and token-info
// request), after the origin check: set headers on req, nothing else.
type APIAuthorizer interface {
	AuthorizeAPIRequest(req *http.Request, tok *Token)
}

// Prober is implemented by a driver that knows a GET path under the API
// base that a token with the default scopes may read ({account} filled
// in): the CLI's demo and health checks call it.
type Prober interface {
	ProbePath(account string) string
}

// Simulated is implemented by a driver that ships a simulator of its
// provider: an http.Handler that behaves like the provider on the wire. The
// conformance suite, the CLI's sandbox and demo, and users' tests run
// against it.
type Simulated interface {
	// NewSimulator returns a fresh simulator. The returned value is an
	// http.Handler; conformance.TestProvider asserts it to
	// conformance.Simulator: a *simulator.Server, or a simulator that
	// translates one into the provider's wire format (*profile.Simulator).
	NewSimulator() http.Handler
}

// BodyFormat is how a request body is encoded.
type BodyFormat int

const (
	// Form is application/x-www-form-urlencoded.
	Form BodyFormat = iota
	// JSON is application/json.
	JSON
)

// String returns "form" or "json".
func (f BodyFormat) String() string {
	if f == JSON {
		return "json"
	}
	return "form"
}

// AuthStyle is how the client authenticates to the token or revoke endpoint.
type AuthStyle int

const (
	// InBody sends client_id and client_secret as body parameters.
	InBody AuthStyle = iota
	// Basic sends them in an HTTP Basic Authorization header (RFC 6749 §2.3.1).
	Basic
	// Signed sends no client secret: the client is named in headers and
	// authenticated by a signature of the request computed with the secret
	// (SHOPLINE's global platform: appkey, timestamp and an HMAC-SHA256 in
	// sign). The standard helpers cannot compute a provider's signature and
	// send no credentials for it: a driver with Signed token requests
	// implements Exchanger and Refresher.
	Signed
)

// String returns "body", "basic" or "signed".
func (s AuthStyle) String() string {
	switch s {
	case Basic:
		return "basic"
	case Signed:
		return "signed"
	}
	return "body"
}

// Endpoint holds a provider's URLs. Drivers set the documented defaults;
// connection strings and options override them.
type Endpoint struct {
	AuthURL    string // authorization endpoint (browser)
	TokenURL   string // code exchange
	RefreshURL string // refresh; TokenURL when empty (Endpoint.Refresh)
	RevokeURL  string // revocation; empty when the provider has none
	// TokenInfoURL is Doorkeeper's token info endpoint; empty when the
	// provider has none. The engine presents there the access tokens of
	// rotations not known complete, which completes them, before a refresh
	// and on revoke (docs/lifecycle.md).
	TokenInfoURL string
	APIBaseURL   string // base of the REST API, with a trailing slash
}

// Refresh returns RefreshURL, or TokenURL when it is empty: the one place
// that rule is stated. The engine applies it to env.Config.Endpoint, so a
// driver reads Config.Endpoint.RefreshURL as it is.
func (e Endpoint) Refresh() string {
	if e.RefreshURL != "" {
		return e.RefreshURL
	}
	return e.TokenURL
}

// Request describes how one kind of request is sent.
type Request struct {
	Format BodyFormat
	Auth   AuthStyle
}

// Spec is a provider described as data.
type Spec struct {
	Name        string // registry name: lower-case, e.g. "jumpseller"
	DisplayName string // e.g. "Jumpseller"
	// DocsURL is the provider's OAuth documentation. Descriptive: shown by
	// `connector providers`; the engine does not read it.
	DocsURL string

	Endpoint Endpoint

	Token  Request // code exchange and refresh
	Revoke Request // revocation (when Endpoint.RevokeURL is set)

	// RefreshSendsRedirectURI adds redirect_uri to refresh requests (SHOPLINE).
	RefreshSendsRedirectURI bool

	// Scopes lists every scope the provider knows. A requested scope outside
	// it is refused before any redirect. Empty means any scope is accepted.
	Scopes []string
	// ScopeSeparator joins scopes in the authorize URL and splits the
	// token answer's scope field. Usually " ".
	ScopeSeparator string
	// DefaultScopes are requested when the user asks for none.
	DefaultScopes []string

	// DefaultLifetime applies when a token answer has no expires_in.
	DefaultLifetime time.Duration
	// CodeLifetime is how long an authorization code lives (SHOPLINE: 600 s),
	// so that an expired code can be named as the cause; 0 when undocumented.
	CodeLifetime time.Duration
	// RefreshTokenLifetimeAfterExpiry is how long a refresh token outlives its
	// access token (SHOPLINE: one day); 0 when unlimited or undocumented.
	// Descriptive: the engine does not read it. It says how often an idle
	// grant must be refreshed (connector.Connector.RefreshDue; the schedule
	// per provider is in docs/lifecycle.md); `connector providers` shows it
	// and conformance.TestProvider holds the driver's simulator to it.
	RefreshTokenLifetimeAfterExpiry time.Duration
	// RotatesRefreshTokens is true when every refresh returns a new refresh
	// token and invalidates the old one. Descriptive: the engine keeps the
	// refresh token each answer carries (or the previous one when it carries
	// none) whatever this says; conformance.TestProvider checks that the
	// driver's simulator agrees, and `connector providers` shows it.
	RotatesRefreshTokens bool
	// NoRefreshTokens is true when the provider's token answers carry no
	// refresh token. A driver that implements Refresher then renews access
	// tokens some other way (SHOPLINE's global platform: a signed call);
	// without one, a connection whose access token expires or is refused
	// needs a new authorization. conformance.TestProvider fails a driver
	// that claims it for a provider whose simulator issues refresh tokens.
	NoRefreshTokens bool
	// RefreshReplaySafe is true for Doorkeeper servers with
	// revoke_previous_refresh_token_on_use: the previous refresh token stays
	// valid until the new access token is first used. After a refresh whose
	// answer was lost, the engine may then present the previous refresh token
	// once more; otherwise the connection needs reauthorization.
	RefreshReplaySafe bool

	// AuthParams are extra query parameters for the authorize URL.
	AuthParams url.Values

	// APIHeaders are set on every API request (SHOPLINE requires User-Agent).
	APIHeaders http.Header
	// RateLimitHeaders names the API's rate-limit headers, for Client users.
	RateLimitHeaders []string
}

// Config is what the engine knows about the application and its overrides.
type Config struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string // requested scopes
	Endpoint     Endpoint // Spec.Endpoint with overrides applied
}

// Doer sends one HTTP request. The engine's Doer retries 429, 5xx and
// connection failures with capped backoff honouring Retry-After.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Env is what the engine lends a driver's code: the configuration, an HTTP
// client with the engine's retry policy and timeouts, and the clock.
type Env struct {
	Provider Provider
	Config   Config
	HTTP     Doer
	Now      func() time.Time
}

// TokenResponse is one answer of the token endpoint, read in full (up to
// the engine's size limit) before ParseToken sees it.
type TokenResponse struct {
	Grant     string // "authorization_code" or "refresh_token"
	Status    int
	Header    http.Header
	Body      []byte
	Now       time.Time // when the answer arrived, by the engine's clock
	Requested []string  // the scopes asked for
	Previous  *Token    // on refresh, the token being refreshed
}
