// Package simulator is an OAuth 2 authorization server and API stub that
// behaves on the wire like Doorkeeper (https://github.com/doorkeeper-gem/doorkeeper),
// the Rails engine behind Jumpseller's and SHOPLINE's OAuth servers, configured
// by one provider's quirks. Where a Doorkeeper fact is version-dependent the
// simulator follows Doorkeeper 5.5, and each comment names the gem's file
// (lib/doorkeeper/...) the behaviour comes from.
//
// It is strict on purpose: a driver that gets a quirk wrong (a form body where
// JSON is wanted, client credentials in the wrong place, a missing
// redirect_uri on refresh, a reused refresh token) fails against it. Users run
// it in their own tests, the CLI's sandbox and demo serve it, and
// conformance.TestProvider drives it.
//
// # Provider facts
//
// A provider's simulator states the provider's wire facts in its Config as
// literals taken from the provider's documentation, never from its driver's
// driver.Spec: conformance.TestProvider compares the two and runs the engine
// against the simulator, so a wrong fact in a Spec fails. In three places the
// simulator is stricter than Doorkeeper on purpose: it plays the provider's
// documented contract rather than what Doorkeeper tolerates.
//
//   - Client authentication: Doorkeeper takes credentials from a Basic
//     header or the body, whichever it finds first (client_credentials
//     defaults to [:from_basic, :from_params], lib/doorkeeper/config.rb;
//     lib/doorkeeper/oauth/client/credentials.rb). The simulator accepts only
//     Config.TokenAuth (and Config.RevokeAuth at the revoke endpoint).
//   - Body format: Rails parses form and JSON bodies alike; the simulator
//     accepts only Config.TokenFormat.
//   - redirect_uri on refresh: Doorkeeper ignores it; the simulator requires
//     it (Config.RefreshRequiresRedirectURI) or refuses it
//     (Config.RefreshRefusesRedirectURI) as the provider documents.
//
// # Endpoints
//
//	GET  /oauth/authorize         consent page (POST: the decision)
//	GET  /oauth/authorize/native  shows the code for the out-of-band redirect URI
//	POST /oauth/token             authorization_code and refresh_token grants
//	GET  /oauth/token/info        Doorkeeper's token introspection (Bearer)
//	POST /oauth/revoke            RFC 7009 revocation, when Config.Revoke
//	/api/...                      Bearer-protected routes added with Handle
//
// # Refresh tokens
//
// Refresh tokens rotate as Doorkeeper rotates them, in either of its two
// modes, which a Doorkeeper server does not choose by a setting but by its
// database (lib/doorkeeper/orm/active_record/mixins/access_token.rb,
// refresh_token_revoked_on_use?: "column_names.include?(previous_refresh_token)"):
//
//   - By default, as with the install migration's previous_refresh_token
//     column (Doorkeeper 4.0 and later), a refresh issues a new row and
//     leaves the old one alone; the old row (its refresh token and its
//     access token: Doorkeeper keeps both in one oauth_access_tokens row) is
//     revoked when the new access token is first used
//     (AccessTokenMixin#revoke_previous_refresh_token!, called from
//     OAuth::Token.authenticate in lib/doorkeeper/oauth/token.rb). Until
//     then a refresh whose answer was lost can be replayed.
//   - With Config.StrictRotation, as without that column, the old row is
//     revoked at once, under the row lock, by the refresh itself
//     (RefreshTokenRequest#before_successful_response in
//     lib/doorkeeper/oauth/refresh_token_request.rb).
//
// Either way a revoked refresh token presented again is refused with
// invalid_grant ("raise Errors::InvalidGrantReuse if refresh_token.revoked?")
// and nothing else is revoked: Doorkeeper has no notion of a token family.
// Stats.RevokedReuse counts those attempts.
//
// # Time
//
// Every expiry (codes, access tokens, SHOPLINE's refresh tokens) is judged by
// the clock set with SetClock, so tests never sleep.
package simulator

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connector-go/connector/driver"
)

// The paths the simulator serves.
const (
	AuthorizePath = "/oauth/authorize"
	NativePath    = "/oauth/authorize/native"
	TokenPath     = "/oauth/token"
	TokenInfoPath = "/oauth/token/info"
	RevokePath    = "/oauth/revoke"
	// APIPrefix is where routes added with Handle live.
	APIPrefix = "/api/"
	// APIBasePath is the API base Endpoint reports.
	APIBasePath = "/api/v1/"
)

// OOBRedirectURI is the out-of-band redirect URI: the code is shown on a page
// instead of being sent to the application (Jumpseller documents it for
// terminal use). It is the value of driver.OOB, written here again on
// purpose: a simulator states its provider's facts as its own literals and
// takes none from the code it checks.
const OOBRedirectURI = "urn:ietf:wg:oauth:2.0:oob"

// maxBody is the most the token and revoke endpoints read of a request body.
const maxBody = 64 << 10

// Config describes the provider the simulator plays. The zero value of each
// field is Doorkeeper's default where it has one.
type Config struct {
	Name        string // registry name, e.g. "jumpseller"
	DisplayName string // shown on the consent page

	// Documented is the provider's real endpoints as its documentation
	// states them (https://…/oauth/token, the API base, …). The simulator
	// serves them at its own paths (Endpoint returns those).
	// conformance.TestProvider requires a driver's Spec.Endpoint to equal
	// them, maps each onto the simulator's endpoint for it, and sends a
	// driver's request for any other URL to that URL's path here, where
	// nothing answers it.
	Documented driver.Endpoint

	// TokenFormat is the only request body format the token endpoint (and
	// the revoke endpoint) accepts: Form also accepts multipart/form-data
	// (Jumpseller's docs use curl -F), JSON only application/json. Any
	// other Content-Type or a malformed body is a 400 invalid_request.
	TokenFormat driver.BodyFormat
	// TokenAuth is the only client authentication the token endpoint
	// accepts: InBody (client_id and client_secret parameters) or Basic.
	// Credentials sent the other way, or none, are invalid_client. Doorkeeper
	// itself accepts both (client_credentials [:from_basic, :from_params] in
	// lib/doorkeeper/config.rb); the simulator plays the provider's
	// documented contract, so that a driver with the wrong Spec.Token.Auth
	// fails against it.
	TokenAuth driver.AuthStyle
	// TokenType is token_type exactly as sent: "bearer" (Jumpseller),
	// "Bearer" (SHOPLINE). Default "Bearer".
	TokenType string
	// AccessTTL is the access token lifetime, sent as expires_in.
	// Default 2 h (Doorkeeper's access_token_expires_in).
	AccessTTL time.Duration
	// SendScope adds "scope" to token answers (SHOPLINE does, Jumpseller not).
	SendScope bool
	// AccountField, when set, names the field of token answers that carries
	// AccountID ("resource_owner_id" for SHOPLINE). conformance.TestProvider
	// requires a driver to lift it into the token's account, out of Extra.
	AccountField string
	// RefreshRequiresRedirectURI makes refresh requests carry a redirect_uri
	// registered for the client (SHOPLINE): missing → invalid_request, not
	// registered → invalid_grant.
	RefreshRequiresRedirectURI bool
	// RefreshRefusesRedirectURI refuses a refresh request that carries a
	// redirect_uri with invalid_request, for a provider whose documented
	// refresh request has none (Jumpseller). Doorkeeper ignores the
	// parameter; the simulator refuses it so that a driver that sends it
	// (Spec.RefreshSendsRedirectURI set for the wrong provider) fails.
	RefreshRefusesRedirectURI bool
	// CodeTTL is the authorization code lifetime. Default 10 min (Doorkeeper's
	// authorization_code_expires_in; SHOPLINE documents 600 s).
	CodeTTL time.Duration
	// RefreshTTLAfterAccessExpiry, when positive, is how long a refresh token
	// outlives its access token (SHOPLINE: 24 h). 0: refresh tokens never expire.
	RefreshTTLAfterAccessExpiry time.Duration
	// Revoke serves POST /oauth/revoke (SHOPLINE).
	Revoke bool
	// RevokeAuth is the only client authentication the revoke endpoint
	// accepts (SHOPLINE: Basic). Its body format is TokenFormat.
	RevokeAuth driver.AuthStyle
	// Scopes lists the known scopes; a request for a scope outside it gets
	// Doorkeeper's error page (GET /oauth/authorize: 200, no redirect), and
	// only a decision posted anyway (Approve) is redirected back with
	// error=invalid_scope. Empty accepts any scope.
	Scopes []string
	// DefaultScopes are granted when the authorize request has no scope.
	// When both are empty, a missing scope is an invalid_request.
	DefaultScopes []string
	// ScopeSeparator splits the scope parameter and joins the scope field.
	// Default " " (any run of spaces).
	ScopeSeparator string
	// RequireUserAgent refuses API requests without a User-Agent with 400
	// (SHOPLINE). Go's default "Go-http-client/…" counts as none.
	RequireUserAgent bool
	// RateLimitHeaders names the API's documented rate-limit headers. The
	// simulator does not send them itself (an APIHook does);
	// conformance.TestProvider requires Spec.RateLimitHeaders to name the
	// same.
	RateLimitHeaders []string
	// AccountID is the account (store code, merchant id) the simulated user
	// grants. Default "sandbox".
	AccountID string
	// AccessTokenFormat generates access tokens; 64 hex characters when nil
	// (as Jumpseller's). It must return unique, unguessable values.
	AccessTokenFormat func() string

	// LegacyErrorStatus answers every OAuth error of the token endpoint with
	// 401, as Doorkeeper did before 5.1.0. By default the simulator answers
	// as Doorkeeper 5.1.0 and later (lib/doorkeeper/oauth/error_response.rb,
	// ErrorResponse#status, since commit 51b34447 "Use correct HTTP status
	// codes for error responses"): 401 for invalid_client (and, in 5.5 to
	// 5.9, unauthorized_client), 400 for every other error, invalid_grant
	// included. Clients must classify by the error field, not the status.
	LegacyErrorStatus bool
	// StrictRotation revokes a refresh token's row (its refresh and access
	// token) as soon as the refresh token is used, as Doorkeeper does without
	// the previous_refresh_token column: a refresh whose answer was lost
	// cannot be replayed. Off by default (the column is in Doorkeeper's
	// install migration).
	StrictRotation bool
	// ImmediateRefreshRevocation is StrictRotation's former name; either
	// turns strict rotation on.
	//
	// Deprecated: use StrictRotation.
	ImmediateRefreshRevocation bool
	// APIHook, when set, runs first on every request under /api/, before
	// authentication, with the simulator clock's time. It may set headers
	// (rate-limit headers, say) or answer the request itself and return
	// false to stop it there.
	APIHook func(w http.ResponseWriter, r *http.Request, now time.Time) bool
}

// Stats counts what the simulator saw. Read it with Server.Stats.
type Stats struct {
	TokenRequests   int // every request to /oauth/token, faulted or not
	Exchanges       int // successful authorization_code grants
	Refreshes       int // successful refresh_token grants (tokens rotated)
	FailedRefreshes int // refresh attempts answered with an OAuth error
	// RevokedReuse counts refresh attempts with a refresh token that was
	// already revoked (used under StrictRotation, superseded by a used
	// access token, revoked at /oauth/revoke or by RevokeAll): each is
	// answered with invalid_grant and revokes nothing else. A client that
	// never presents a spent refresh token keeps it at 0 until RevokeAll.
	RevokedReuse int
	Revokes      int // revocation requests answered 200
	APICalls     int // every request under /api/, faulted or not
	// FamiliesRevoked is always 0: Doorkeeper never revokes a grant's
	// other tokens when a revoked refresh token is presented again (see
	// RevokedReuse), and neither does the simulator. It stays so that
	// assertions that nothing was damaged keep compiling; RevokedReuse is
	// the count that means something.
	FamiliesRevoked int
	CodeReplays     int // authorization codes presented again after their exchange
	TokenInfoCalls  int // requests to /oauth/token/info
}

// Grant is what an access token presented to the API stands for.
type Grant struct {
	AccountID string
	Scopes    []string
	ClientID  string
}

// HasScope reports whether g includes scope.
func (g Grant) HasScope(scope string) bool {
	for _, s := range g.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Server is a simulated provider. It is an http.Handler; serve it with
// httptest.NewServer or any http.Server. All methods are safe for concurrent
// use.
type Server struct {
	cfg    Config
	api    *http.ServeMux
	clock  atomic.Pointer[func() time.Time]
	legacy atomic.Bool // Config.LegacyErrorStatus, switchable
	strict atomic.Bool // Config.StrictRotation, switchable

	mu       sync.Mutex
	clients  map[string]*client
	codes    map[string]*authCode
	consents map[string]*consent
	byAccess map[string]*record
	byRefres map[string]*record
	families []*family
	faults   []*queuedFault
	stats    Stats
}

type client struct {
	id, secret string
	redirects  []string
}

// hasRedirect reports whether uri is a redirect URI registered for c, as
// Doorkeeper's URIChecker.valid_for_authorization? decides
// (lib/doorkeeper/oauth/helpers/uri_checker.rb): see redirectMatches. In
// particular a loopback IP literal matches on any port (RFC 8252 §7.3).
func (c *client) hasRedirect(uri string) bool {
	for _, r := range c.redirects {
		if redirectMatches(uri, r) {
			return true
		}
	}
	return false
}

// New returns a simulator configured by cfg, with no clients registered.
func New(cfg Config) *Server {
	if cfg.Name == "" {
		cfg.Name = "simulator"
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = cfg.Name
	}
	if cfg.TokenType == "" {
		cfg.TokenType = "Bearer"
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = 2 * time.Hour
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 10 * time.Minute
	}
	if cfg.ScopeSeparator == "" {
		cfg.ScopeSeparator = " "
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "sandbox"
	}
	if cfg.ImmediateRefreshRevocation {
		cfg.StrictRotation = true
	}
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	cfg.DefaultScopes = append([]string(nil), cfg.DefaultScopes...)
	cfg.RateLimitHeaders = append([]string(nil), cfg.RateLimitHeaders...)
	s := &Server{
		cfg:      cfg,
		api:      http.NewServeMux(),
		clients:  map[string]*client{},
		codes:    map[string]*authCode{},
		consents: map[string]*consent{},
		byAccess: map[string]*record{},
		byRefres: map[string]*record{},
	}
	now := time.Now
	s.clock.Store(&now)
	s.legacy.Store(cfg.LegacyErrorStatus)
	s.strict.Store(cfg.StrictRotation)
	s.api.HandleFunc(APIPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such API route"})
	})
	return s
}

// Config returns the simulator's configuration, with defaults applied.
func (s *Server) Config() Config {
	c := s.cfg
	c.Scopes = append([]string(nil), c.Scopes...)
	c.DefaultScopes = append([]string(nil), c.DefaultScopes...)
	c.RateLimitHeaders = append([]string(nil), c.RateLimitHeaders...)
	c.LegacyErrorStatus = s.legacy.Load()
	c.StrictRotation = s.strict.Load()
	c.ImmediateRefreshRevocation = c.StrictRotation
	return c
}

// SetLegacyErrorStatus switches Config.LegacyErrorStatus of a running
// simulator: a provider's simulator comes configured, and a test that checks
// a client against Doorkeeper before and after 5.1.0 switches it.
func (s *Server) SetLegacyErrorStatus(legacy bool) { s.legacy.Store(legacy) }

// SetStrictRotation switches Config.StrictRotation of a running simulator,
// for a test that checks a client against both of Doorkeeper's rotation
// modes. Rows issued before keep the mode they were issued under: a row
// that remembers its predecessor still revokes it at its first use.
func (s *Server) SetStrictRotation(strict bool) { s.strict.Store(strict) }

// Endpoint returns the simulator's endpoints when it is served at base
// (scheme://host[:port], with or without a trailing slash). RevokeURL is set
// only when Config.Revoke is.
func (s *Server) Endpoint(base string) driver.Endpoint {
	base = strings.TrimRight(base, "/")
	e := driver.Endpoint{
		AuthURL:      base + AuthorizePath,
		TokenURL:     base + TokenPath,
		TokenInfoURL: base + TokenInfoPath,
		APIBaseURL:   base + APIBasePath,
	}
	if s.cfg.Revoke {
		e.RevokeURL = base + RevokePath
	}
	return e
}

// AddClient registers an application. A redirect_uri must match one of
// redirectURIs as Doorkeeper matches them (see redirectMatches: the same
// URI, where a loopback IP literal may differ in its port); OOBRedirectURI is
// allowed when registered. Adding an id again replaces the client.
func (s *Server) AddClient(id, secret string, redirectURIs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = &client{id: id, secret: secret, redirects: append([]string(nil), redirectURIs...)}
}

// SetClock sets the clock that judges every expiry and stamps created_at.
// nil restores time.Now.
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.clock.Store(&now)
}

func (s *Server) now() time.Time { return (*s.clock.Load())() }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// RevokeAll simulates the merchant uninstalling the app, as Doorkeeper's
// AccessToken.revoke_all_for and AccessGrant.revoke_all_for do
// (lib/doorkeeper/models/access_token_mixin.rb): every code and every token
// of every grant dies (refresh → invalid_grant, API → 401).
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.families {
		f.revoked = true
	}
	for _, c := range s.codes {
		c.used = true
	}
}

// ValidAccessToken reports whether tok would be accepted by the API now. It
// does not count as a use of the token (the previous refresh token is not
// revoked).
func (s *Server) ValidAccessToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byAccess[tok]
	return r != nil && r.reason(s.now()) == ""
}

// ValidRefreshToken reports whether tok would be accepted by a refresh now.
func (s *Server) ValidRefreshToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byRefres[tok]
	return r != nil && !r.revoked && !r.fam.revoked && !s.refreshExpired(r, s.now())
}

// LiveRefreshTokens returns how many refresh tokens would be accepted by a
// refresh now, over all clients: after a revoke of every grant, none.
func (s *Server) LiveRefreshTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.byRefres {
		if !r.revoked && !r.fam.revoked && !s.refreshExpired(r, s.now()) {
			n++
		}
	}
	return n
}

// ServeHTTP serves the simulated provider.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	var body []byte
	var grant string
	switch path {
	case TokenPath, RevokePath:
		var err error
		body, err = readBody(r)
		if err != nil {
			s.oauthError(w, "invalid_request", "The request body could not be read or is larger than 64 KiB.")
			return
		}
		if path == TokenPath {
			s.mu.Lock()
			s.stats.TokenRequests++
			s.mu.Unlock()
			if p, err := parseBody(r.Header.Get("Content-Type"), body, s.cfg.TokenFormat); err == nil {
				grant = p.Get("grant_type")
			}
		}
	}
	if strings.HasPrefix(path, APIPrefix) {
		s.mu.Lock()
		s.stats.APICalls++
		s.mu.Unlock()
	}

	f := s.takeFault(path, grant)
	if f != nil {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Drop {
			drop(w)
			return
		}
		if f.Status != 0 || f.Body != "" {
			f.writeVerbatim(w)
			return
		}
		if f.DropAfterProcessing {
			s.route(&discardWriter{h: http.Header{}}, r, body, f)
			drop(w)
			return
		}
	}
	s.route(w, r, body, f)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte, f *Fault) {
	switch path := r.URL.Path; {
	case path == AuthorizePath:
		s.serveAuthorize(w, r)
	case path == NativePath:
		s.serveNative(w, r)
	case path == TokenPath:
		s.serveToken(w, r, body, f)
	case path == TokenInfoPath:
		s.serveTokenInfo(w, r)
	case path == RevokePath && s.cfg.Revoke:
		s.serveRevoke(w, r, body)
	case strings.HasPrefix(path, APIPrefix):
		s.serveAPI(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
	}
}

// randomHex returns 2n hex characters from crypto/rand.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

// splitScopes splits a scope parameter by sep (any run of spaces when sep
// is " ", as Doorkeeper's Scopes.from_string does).
func splitScopes(s, sep string) []string {
	if sep == " " {
		return strings.Fields(s)
	}
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// redirectWith returns uri with params added to its query, as Doorkeeper's
// URIBuilder.uri_with_query does.
func redirectWith(uri string, params url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
