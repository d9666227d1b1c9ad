package profile

import (
	"regexp"
	"time"
)

// Profile is a provider described as data: everything a driver holds for
// a Doorkeeper-style or ordinary OAuth 2 commerce provider, read from a
// YAML file (see docs/profiles.md and schema.json beside this file).
//
// A Profile returned by Load, Parse or Catalog has been validated and is
// never modified afterwards; Bind returns a copy with connection
// properties filled in. It is safe for concurrent use.
type Profile struct {
	// Name is the registry name: lower-case letters, digits and '-'.
	Name string `yaml:"name" json:"name"`
	// DisplayName is the provider's name for people ("Mercado Libre").
	DisplayName string `yaml:"display_name" json:"display_name"`
	// Docs is the provider's OAuth documentation.
	Docs string `yaml:"docs" json:"docs"`
	// Properties are the connection properties the profile's
	// {placeholders} are filled from (a shop's subdomain, say).
	Properties []Property `yaml:"properties,omitempty" json:"properties,omitempty"`
	// Endpoints are the provider's URLs, with {placeholders}.
	Endpoints Endpoints `yaml:"endpoints" json:"endpoints"`
	// Authorize describes the authorize URL and the callback.
	Authorize Authorize `yaml:"authorize,omitempty" json:"authorize,omitempty"`
	// Token describes the token request (code exchange and refresh).
	Token TokenRequest `yaml:"token" json:"token"`
	// Answer describes the token endpoint's answer.
	Answer Answer `yaml:"answer" json:"answer"`
	// Account says where the id of the granting account (store,
	// merchant) is found.
	Account Account `yaml:"account" json:"account"`
	// API describes the provider's REST API.
	API API `yaml:"api" json:"api"`
	// Scopes lists the known and default scopes.
	Scopes Scopes `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	// Revoke describes the revocation request; nil when the provider has
	// no revocation endpoint.
	Revoke *Revoke `yaml:"revoke,omitempty" json:"revoke,omitempty"`
	// Sample holds sample values for the profile's simulator (YAML: simulator).
	Sample SimulatorSample `yaml:"simulator,omitempty" json:"simulator,omitempty"`
	// Sources cite the provider's documentation for every fact.
	Sources []Source `yaml:"sources" json:"sources"`

	file   string            // where the profile was read from, for errors
	lines  map[string]int    // field path → line, for errors
	bound  map[string]string // property values filled in by Bind
	props  map[string]*regexp.Regexp
	acctRe *regexp.Regexp // Account.Pattern compiled
	dur    durations
}

// durations are the profile's parsed durations.
type durations struct {
	code, lifetime, refreshAfterExpiry time.Duration
}

// Property is a connection property that fills {name} placeholders.
type Property struct {
	// Name is the placeholder's name: lower-case letters, digits and '_'.
	Name string `yaml:"name" json:"name"`
	// Pattern is an anchored regular expression (^…$) every value must
	// match. Values are also restricted to letters, digits and ". _ ~ -",
	// whatever the pattern says, so that no value can change a URL's
	// host or path structure.
	Pattern string `yaml:"pattern" json:"pattern"`
	// Description says what the property is, for people.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Default is used when no value is given; empty means required.
	Default string `yaml:"default,omitempty" json:"default,omitempty"`
	// Example is the value the simulator and the conformance suite use.
	Example string `yaml:"example" json:"example"`
}

// Endpoints are a provider's URLs. Placeholders: the profile's properties
// and {client_id}.
type Endpoints struct {
	Authorize string `yaml:"authorize" json:"authorize"`
	Token     string `yaml:"token" json:"token"`
	// Refresh is the refresh endpoint when it is not Token.
	Refresh string `yaml:"refresh,omitempty" json:"refresh,omitempty"`
	// Revoke is the revocation endpoint; set exactly when Profile.Revoke is.
	Revoke    string `yaml:"revoke,omitempty" json:"revoke,omitempty"`
	TokenInfo string `yaml:"token_info,omitempty" json:"token_info,omitempty"`
	// API is the base of the REST API.
	API string `yaml:"api" json:"api"`
}

// Authorize describes the authorize URL and the callback.
type Authorize struct {
	// Params are extra query parameters of the authorize URL; values may
	// hold placeholders.
	Params map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
	// ScopeSeparator joins scopes in the authorize URL; default " ".
	ScopeSeparator string `yaml:"scope_separator,omitempty" json:"scope_separator,omitempty"`
	// CallbackParams are parameters the provider adds to the callback
	// besides code and state (BigCommerce's context and scope).
	CallbackParams []string `yaml:"callback_params,omitempty" json:"callback_params,omitempty"`
}

// TokenRequest describes the token endpoint's requests.
type TokenRequest struct {
	// Format is the body's encoding: form, json or multipart.
	Format string `yaml:"format" json:"format"`
	// ClientAuth is how the client authenticates: body (client_id and
	// client_secret parameters) or basic (RFC 6749 §2.3.1).
	ClientAuth string `yaml:"client_auth" json:"client_auth"`
	// ExchangeParams are extra parameters of the code exchange.
	ExchangeParams map[string]string `yaml:"exchange_params,omitempty" json:"exchange_params,omitempty"`
	// RefreshParams are extra parameters of a refresh.
	RefreshParams map[string]string `yaml:"refresh_params,omitempty" json:"refresh_params,omitempty"`
	// ExchangeFromCallback names callback parameters the code exchange
	// sends back (BigCommerce's context and scope).
	ExchangeFromCallback []string `yaml:"exchange_from_callback,omitempty" json:"exchange_from_callback,omitempty"`
	// RefreshRedirectURI makes a refresh send redirect_uri (SHOPLINE).
	RefreshRedirectURI bool `yaml:"refresh_redirect_uri" json:"refresh_redirect_uri"`
	// CodeLifetime is how long an authorization code lives ("600s");
	// empty when undocumented.
	CodeLifetime string `yaml:"code_lifetime,omitempty" json:"code_lifetime,omitempty"`
}

// Answer describes the token endpoint's successful answer. Field names
// are JSON paths: keys joined by dots ("user.id").
type Answer struct {
	// AccessToken is the access token's path; default access_token.
	AccessToken string `yaml:"access_token,omitempty" json:"access_token,omitempty"`
	// RefreshToken is the refresh token's path; default refresh_token
	// when Refresh.Issued.
	RefreshToken string `yaml:"refresh_token,omitempty" json:"refresh_token,omitempty"`
	// TokenType is token_type exactly as the provider sends it ("bearer",
	// "Bearer"), or "none" when the answer has no token_type. Any casing
	// of bearer is accepted; anything else is refused.
	TokenType string `yaml:"token_type" json:"token_type"`
	// Expiry says how the answer states the access token's lifetime.
	Expiry Expiry `yaml:"expiry" json:"expiry"`
	// CreatedAt is the path of the issue time in Unix seconds
	// (Doorkeeper's created_at); empty when not sent.
	CreatedAt string `yaml:"created_at,omitempty" json:"created_at,omitempty"`
	// Scope is the path of the granted scopes (a string or an array);
	// empty when not sent (the requested scopes are kept).
	Scope string `yaml:"scope,omitempty" json:"scope,omitempty"`
	// ScopeSeparator splits Scope; default Authorize.ScopeSeparator.
	ScopeSeparator string `yaml:"scope_separator,omitempty" json:"scope_separator,omitempty"`
	// Refresh describes refresh tokens.
	Refresh Refresh `yaml:"refresh" json:"refresh"`
}

// The expiry formats.
const (
	// ExpirySeconds is a lifetime in seconds (expires_in, expire_in).
	ExpirySeconds = "seconds"
	// ExpiryDate is an ISO 8601 date (Square's expires_at).
	ExpiryDate = "date"
	// ExpiryNever is a token that does not expire.
	ExpiryNever = "never"
)

// Expiry says how the answer states the access token's lifetime.
type Expiry struct {
	// Field is the path of the lifetime (seconds) or of the expiry date;
	// empty with Format never.
	Field string `yaml:"field,omitempty" json:"field,omitempty"`
	// Format is seconds, date or never.
	Format string `yaml:"format" json:"format"`
	// Lifetime is the documented lifetime of access tokens ("1h",
	// "720h"): the default when the answer omits Field, and what the
	// simulator issues. Required unless Format is never.
	Lifetime string `yaml:"lifetime,omitempty" json:"lifetime,omitempty"`
}

// Refresh describes a provider's refresh tokens.
type Refresh struct {
	// Issued is true when answers carry a refresh token.
	Issued bool `yaml:"issued" json:"issued"`
	// Rotates is true when every refresh returns a new refresh token and
	// the old one stops working.
	Rotates bool `yaml:"rotates" json:"rotates"`
	// ReplaySafe is true when a refresh whose answer was lost may be
	// replayed with the previous refresh token (Doorkeeper's default,
	// Shopify since August 2026, non-rotating providers).
	ReplaySafe bool `yaml:"replay_safe" json:"replay_safe"`
	// LifetimeAfterExpiry is how long a refresh token outlives its access
	// token (SHOPLINE: "24h"); empty when unlimited or undocumented.
	LifetimeAfterExpiry string `yaml:"lifetime_after_expiry,omitempty" json:"lifetime_after_expiry,omitempty"`
}

// Account says where the id of the account that granted access is.
// Exactly one of Field and API is set.
type Account struct {
	// Field is the account's path in the token answer
	// (resource_owner_id, user_id, store_id, merchant_id, context).
	Field string `yaml:"field,omitempty" json:"field,omitempty"`
	// Pattern, when set, is the field's value with {account} where the
	// account is ("stores/{account}"); the rest must match literally.
	Pattern string `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	// API, when set, finds the account with an API call.
	API *AccountAPI `yaml:"api,omitempty" json:"api,omitempty"`
}

// AccountAPI is an API call that names the account.
type AccountAPI struct {
	// Path is a GET path under the API base ("store/info.json").
	Path string `yaml:"path" json:"path"`
	// Field is the account's path in the JSON answer ("store.code").
	Field string `yaml:"field" json:"field"`
}

// API describes the provider's REST API.
type API struct {
	// TokenHeader carries the access token; default Authorization.
	TokenHeader string `yaml:"token_header,omitempty" json:"token_header,omitempty"`
	// TokenScheme precedes the token in TokenHeader; default Bearer,
	// "none" for the bare token (X-Shopify-Access-Token).
	TokenScheme string `yaml:"token_scheme,omitempty" json:"token_scheme,omitempty"`
	// Headers are sent on every API request; values may hold the
	// profile's properties and {connector_version}.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// RequireUserAgent is true when the API refuses requests without a
	// User-Agent (SHOPLINE, Tiendanube).
	RequireUserAgent bool `yaml:"require_user_agent,omitempty" json:"require_user_agent,omitempty"`
	// RateLimitHeaders names the API's rate-limit headers.
	RateLimitHeaders []string `yaml:"rate_limit_headers,omitempty" json:"rate_limit_headers,omitempty"`
	// Probe is a GET path under the API base that a token with the
	// default scopes may read; it may hold {account}. The demo and the
	// conformance suite call it.
	Probe string `yaml:"probe" json:"probe"`
}

// Scopes lists a provider's scopes.
type Scopes struct {
	// Known lists the documented scopes.
	Known []string `yaml:"known,omitempty" json:"known,omitempty"`
	// Closed refuses a requested scope outside Known before any redirect.
	// Leave it false when the documented list may be incomplete.
	Closed bool `yaml:"closed,omitempty" json:"closed,omitempty"`
	// Default are requested when the user asks for none.
	Default []string `yaml:"default,omitempty" json:"default,omitempty"`
}

// Revoke describes a revocation request. The standard one (RFC 7009) is
// {"token": …} with the client authenticated as ClientAuth.
type Revoke struct {
	// Format is form or json.
	Format string `yaml:"format" json:"format"`
	// ClientAuth is body, basic, or none (credentials, if any, travel in
	// Params or Headers).
	ClientAuth string `yaml:"client_auth" json:"client_auth"`
	// Token is which token is sent: auto (the refresh token, else the
	// access token), access or refresh. Default auto.
	Token string `yaml:"token,omitempty" json:"token,omitempty"`
	// TokenParam names the token's parameter; default token.
	TokenParam string `yaml:"token_param,omitempty" json:"token_param,omitempty"`
	// Params are extra body parameters; values may hold {client_id} and
	// the profile's properties.
	Params map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
	// Headers are extra headers; values may also hold {client_secret}
	// (Square: "Authorization: Client {client_secret}").
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Revokes is what the provider revokes: token (the token's own row,
	// as Doorkeeper does) or grant (every token of the app for the
	// account, as Square does). Default token.
	Revokes string `yaml:"revokes,omitempty" json:"revokes,omitempty"`
}

// SimulatorSample holds sample values for the profile's simulator.
type SimulatorSample struct {
	// Account is the account the simulated merchant grants; default
	// "sandbox".
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
}

// Source cites the provider's documentation for some of the profile's
// facts.
type Source struct {
	// Facts are field paths ("endpoints.token", "answer.expiry"); a path
	// covers the fields under it.
	Facts []string `yaml:"facts" json:"facts"`
	// URL is the provider's documentation page.
	URL string `yaml:"url" json:"url"`
	// Says quotes or paraphrases what the page says.
	Says string `yaml:"says,omitempty" json:"says,omitempty"`
	// Verified is true when the facts were checked against the page.
	Verified bool `yaml:"verified" json:"verified"`
	// Note explains an unverified fact; required when Verified is false.
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
}

// File returns the name the profile was loaded from ("catalog/shopify.yaml"
// for a catalog profile).
func (p *Profile) File() string { return p.file }

// Verified reports whether every source of the profile was verified
// against the provider's documentation.
func (p *Profile) Verified() bool {
	for _, s := range p.Sources {
		if !s.Verified {
			return false
		}
	}
	return true
}

// Unverified returns the facts whose sources are not verified, each with
// its note.
func (p *Profile) Unverified() map[string]string {
	out := map[string]string{}
	for _, s := range p.Sources {
		if s.Verified {
			continue
		}
		for _, f := range s.Facts {
			out[f] = s.Note
		}
	}
	return out
}
