// Package simulator is an OAuth 2 authorization server and API stub that
// behaves on the wire like Doorkeeper (https://github.com/doorkeeper-gem/doorkeeper),
// the Rails engine behind Jumpseller's and SHOPLINE's OAuth servers, configured
// by one provider's quirks.
//
// It is strict on purpose: a driver that gets a quirk wrong (a form body where
// JSON is wanted, a missing redirect_uri on refresh, a reused refresh token)
// fails against it. Users run it in their own tests, the CLI's sandbox and demo
// serve it, and conformance.TestProvider drives it.
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
// Refresh tokens rotate with Doorkeeper's default semantics (the
// previous_refresh_token column, present in the install migration since
// Doorkeeper 4.0): the previous refresh token stays valid until the new access
// token is first used, so a refresh whose answer was lost can be replayed. A
// revoked refresh token presented again is refused with invalid_grant and, going
// beyond Doorkeeper (RFC 6819 §5.2.2.3, RFC 9700 §4.14.2), every token of its
// grant is revoked; Config.ReuseKeepsFamily turns that off. Revoking a refresh
// token also revokes its access token, as in Doorkeeper, where both are one
// oauth_access_tokens row.
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
// terminal use).
const OOBRedirectURI = "urn:ietf:wg:oauth:2.0:oob"

// maxBody is the most the token and revoke endpoints read of a request body.
const maxBody = 64 << 10

// Config describes the provider the simulator plays. The zero value of each
// field is Doorkeeper's default where it has one.
type Config struct {
	Name        string // registry name, e.g. "jumpseller"
	DisplayName string // shown on the consent page

	// TokenFormat is the only request body format the token endpoint (and
	// the revoke endpoint) accepts: Form also accepts multipart/form-data
	// (Jumpseller's docs use curl -F), JSON only application/json. Any
	// other Content-Type or a malformed body is a 400 invalid_request.
	TokenFormat driver.BodyFormat
	// TokenType is token_type exactly as sent: "bearer" (Jumpseller),
	// "Bearer" (SHOPLINE). Default "Bearer".
	TokenType string
	// AccessTTL is the access token lifetime, sent as expires_in.
	// Default 2 h (Doorkeeper's access_token_expires_in).
	AccessTTL time.Duration
	// SendScope adds "scope" to token answers (SHOPLINE does, Jumpseller not).
	SendScope bool
	// AccountField, when set, names the field of token answers that carries
	// AccountID ("resource_owner_id" for SHOPLINE).
	AccountField string
	// RefreshRequiresRedirectURI makes refresh requests carry a redirect_uri
	// registered for the client (SHOPLINE): missing → invalid_request, not
	// registered → invalid_grant.
	RefreshRequiresRedirectURI bool
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
	// Scopes lists the known scopes; a requested scope outside it is
	// redirected back with error=invalid_scope. Empty accepts any scope.
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
	// AccountID is the account (store code, merchant id) the simulated user
	// grants. Default "sandbox".
	AccountID string
	// AccessTokenFormat generates access tokens; 64 hex characters when nil
	// (as Jumpseller's). It must return unique, unguessable values.
	AccessTokenFormat func() string

	// ModernErrorStatus answers token errors as Doorkeeper 5.1 and later
	// do: 401 for invalid_client, 400 for everything else. By default the
	// simulator answers as older versions (error_response.rb before commit
	// 51b34447, "Use correct HTTP status codes for error responses"): 401
	// for every OAuth error except a malformed request (invalid_request, 400).
	ModernErrorStatus bool
	// ImmediateRefreshRevocation revokes a refresh token (with its access
	// token) as soon as it is used, as Doorkeeper does without the
	// previous_refresh_token column: a refresh whose answer was lost cannot
	// be replayed. Off by default.
	ImmediateRefreshRevocation bool
	// ReuseKeepsFamily answers a reused, revoked refresh token with
	// invalid_grant but leaves the rest of its grant alone, as Doorkeeper
	// itself does. Off by default: reuse revokes the family.
	ReuseKeepsFamily bool
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
	Revokes         int // revocation requests answered 200
	APICalls        int // every request under /api/, faulted or not
	FamiliesRevoked int // grants killed because a revoked refresh token was reused
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
	cfg   Config
	api   *http.ServeMux
	clock atomic.Pointer[func() time.Time]

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

func (c *client) hasRedirect(uri string) bool {
	for _, r := range c.redirects {
		if r == uri {
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
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	cfg.DefaultScopes = append([]string(nil), cfg.DefaultScopes...)
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
	return c
}

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

// AddClient registers an application. A redirect_uri must equal one of
// redirectURIs exactly; OOBRedirectURI is allowed when registered. Adding an
// id again replaces the client.
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

// RevokeAll simulates the merchant uninstalling the app: every code and every
// token of every grant dies (refresh → invalid_grant, API → 401).
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
