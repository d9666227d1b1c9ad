// Package connector connects applications to commerce platforms over OAuth 2.
//
// A Connector is one application's link to one provider (Jumpseller,
// SHOPLINE, ...): it builds authorization URLs, checks callbacks, exchanges
// codes and opens Connections. A Connection is one merchant's grant: its
// Token method returns a valid access token, refreshing it when it nears
// expiry, and its Client method returns an *http.Client for the provider's
// API.
//
// # Registering
//
// Drivers register themselves by name, as database/sql drivers do:
//
//	import _ "github.com/connector-go/connector/providers/jumpseller"
//
// # Lifecycle
//
// Every refreshed token is persisted before it is returned. A refresh runs
// once per connection at a time: single-flight inside the process, a lease
// lock in the store across processes, a re-read of the store after the lock
// is taken, and a compare-and-swap write fenced by the lease, so that a
// rotated refresh token is never lost and never presented twice.
//
// # Connection strings
//
// Open accepts CData-style connection strings (see docs/connection-strings.md).
//
// # Errors
//
// Errors have one home, package driver: every error holds a *driver.Error
// with a Code in its chain (a request through Connection.Client fails with
// net/http's *url.Error wrapping one); branch on driver.CodeOf(err), never
// on the text. Messages never hold a secret. The contract is driver.Error's.
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

// Connector is one application's link to one provider. It is safe for
// concurrent use; create one per provider and application and share it.
type Connector struct {
	name  string
	p     driver.Provider
	spec  *driver.Spec
	opts  Options
	env   *driver.Env
	store store.Store
	keys  *store.Keyring

	ctx    context.Context // cancelled by Close; ends background writes
	cancel context.CancelFunc

	coarse    bool // uses the shared coarse clock (clock.go)
	closeOnce sync.Once
	ownsStore bool   // Open opened the store; Close closes it
	supplied  *Token // a grant given in the connection string

	apiBase    *url.URL    // the API base URL, parsed once; nil without one
	apiBaseStr string      // apiBase as a string
	apiOrigin  origin      // its origin: the only one the token is sent to
	apiHeaders http.Header // what every API request carries unless it sets its own (apiHeadersOf)

	base     http.RoundTripper // what every request goes through (baseTransport)
	bodyIdle time.Duration     // with the default transport under base, Timeout: the longest wait for more of an API answer (silentBody); 0 otherwise
	apiLimit *limitError       // the cause of an API exchange's APITimeout deadline

	prefix string      // the store-id prefix of the application's connections (connections.go)
	raw    store.Store // the store as given; store is it wrapped with spans (telemetry.go)
	tel    *telemetry

	mu    sync.Mutex
	conns map[string]*Connection
}

// New returns a Connector for the registered provider.
func New(provider string, opts Options) (*Connector, error) {
	p, err := Lookup(provider)
	if err != nil {
		return nil, err
	}
	return newConnector(p, opts)
}

// NewWithDriver returns a Connector for a driver that is not registered
// (tests, private drivers).
func NewWithDriver(p driver.Provider, opts Options) (*Connector, error) {
	return newConnector(p, opts)
}

func newConnector(p driver.Provider, opts Options) (*Connector, error) {
	realClock := opts.Clock == nil
	opts = opts.withDefaults()
	if pr := profile.FromDriver(p); pr != nil && opts.ClientID != "" && slices.Contains(pr.Missing(), "client_id") {
		// {client_id} in a profile's endpoints is the application's.
		if bound, err := pr.Bind(map[string]string{"client_id": opts.ClientID}); err == nil {
			p = bound.Driver()
		}
	}
	spec := p.Spec()
	c := &Connector{name: spec.Name, p: p, spec: spec, opts: opts, conns: map[string]*Connection{}}
	bad := func(msg string) error {
		return &driver.Error{Code: driver.InvalidConfig, Op: "config", Provider: spec.Name, Msg: msg}
	}
	if pr := profile.FromDriver(p); pr != nil {
		if missing := pr.Missing(); len(missing) > 0 {
			return nil, bad("the provider's profile needs the properties " + strings.Join(missing, ", ") +
				": bind them (profile.Lookup(name).Bind(values), then NewWithDriver) or set ProfileSettings in a connection string")
		}
	}
	if opts.LeaseTTL <= opts.Retry.Budget {
		return nil, bad("LeaseTTL (" + opts.LeaseTTL.String() + ") must exceed the retry budget (" + opts.Retry.Budget.String() +
			"): a lease that lapses while its holder's refresh is in flight lets another process present the same refresh token")
	}
	switch opts.Mode {
	case connstr.ModeOff, connstr.ModeRefresh, connstr.ModeGetAndRefresh:
	default:
		return nil, bad("InitiateOAuth " + quoteName(string(opts.Mode)) + " is not one of OFF, REFRESH, GETANDREFRESH")
	}
	if opts.Mode != connstr.ModeOff {
		if opts.ClientID == "" {
			return nil, bad("OAuthClientId is required")
		}
		if opts.ClientSecret == "" {
			return nil, bad("OAuthClientSecret is required")
		}
	}
	if opts.RedirectURL != "" {
		if err := driver.CheckURL("CallbackURL", opts.RedirectURL, true); err != nil {
			return nil, err
		}
	}
	ep := spec.Endpoint
	for _, o := range []struct {
		field    string
		dst      *string
		override string
	}{
		{"OAuthAuthorizationURL", &ep.AuthURL, opts.Endpoint.AuthURL},
		{"OAuthAccessTokenURL", &ep.TokenURL, opts.Endpoint.TokenURL},
		{"OAuthRefreshTokenURL", &ep.RefreshURL, opts.Endpoint.RefreshURL},
		{"OAuthRevokeURL", &ep.RevokeURL, opts.Endpoint.RevokeURL},
		{"TokenInfoURL", &ep.TokenInfoURL, opts.Endpoint.TokenInfoURL},
		{"URL", &ep.APIBaseURL, opts.Endpoint.APIBaseURL},
	} {
		if o.override != "" {
			*o.dst = o.override
		}
		if *o.dst != "" {
			if err := driver.CheckURL(o.field, *o.dst, false); err != nil {
				return nil, err
			}
		}
	}
	if ep.APIBaseURL != "" && !strings.HasSuffix(ep.APIBaseURL, "/") {
		ep.APIBaseURL += "/"
	}
	ep.RefreshURL = ep.Refresh()
	if opts.Endpoint.TokenURL != "" && opts.Endpoint.TokenInfoURL == "" && ep.TokenInfoURL != "" {
		// The token server was moved (a proxy, a simulator) and the token
		// info endpoint, which no connection string property names, was
		// not: it moves with it, so that access tokens are never presented
		// to a server other than the one that issued them.
		ep.TokenInfoURL = sameOriginAs(ep.TokenInfoURL, ep.TokenURL)
	}
	if ep.APIBaseURL != "" {
		u, err := url.Parse(ep.APIBaseURL)
		if err != nil || u.Host == "" {
			return nil, bad("the API base URL is not an absolute URL")
		}
		c.apiBase, c.apiBaseStr, c.apiOrigin = u, u.String(), originOf(u)
	}
	c.apiHeaders = apiHeadersOf(spec)
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = spec.DefaultScopes
	}
	if err := driver.ValidateScopes(spec, scopes); err != nil {
		return nil, err
	}
	c.opts.Scopes = scopes
	c.opts.Endpoint = ep

	c.store, c.keys = opts.Store, opts.Keyring
	if c.store == nil {
		c.store = memory.New()
	}
	if c.keys == nil {
		k, err := store.KeyringFromEnv()
		if errors.Is(err, store.ErrNoKey) {
			if !ephemeral(c.store) {
				return nil, bad(fmt.Sprintf("the store (%T) keeps tokens across processes, but no key is given: set Options.Keyring "+
					"or CONNECTOR_ENCRYPTION_KEY (tokens sealed with a per-process key could not be read by the next process)", c.store))
			}
			k, err = store.NewKeyring(store.NewRandomKey())
		}
		if err != nil {
			return nil, err
		}
		c.keys = k
	}
	c.env = &driver.Env{
		Provider: p,
		Config: driver.Config{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
			RedirectURL: opts.RedirectURL, Scopes: scopes, Endpoint: ep},
		Now: opts.Clock,
	}
	c.tel = newTelemetry(c)
	var ours bool
	if c.base, ours = baseTransport(&c.opts); c.base == nil {
		return nil, bad("Options.WrapTransport returned a nil transport")
	}
	if ours {
		c.bodyIdle = c.opts.Timeout
	}
	c.apiLimit = &limitError{limit: c.opts.APITimeout, whole: true}
	c.env.HTTP = tracedDoer{c: c, next: newRetryDoer(&c.opts, c.base)}
	c.raw = c.store
	c.store = tracedStore{Store: c.raw, c: c}
	c.prefix = appPrefix(opts.Namespace, opts.ClientID)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	live.Store(c, struct{}{})
	if realClock {
		c.coarse = true
		coarseStart()
	}
	return c, nil
}

// ephemeral reports whether s lives only as long as the process (the
// memory store): only such a store may seal with a random per-process key.
func ephemeral(s store.Store) bool {
	e, ok := s.(interface{ Ephemeral() bool })
	return ok && e.Ephemeral()
}

// Provider returns the driver's name.
func (c *Connector) Provider() string { return c.name }

// Spec returns the driver's description with the endpoint overrides
// applied. Do not modify it.
func (c *Connector) Spec() driver.Spec {
	s := *c.spec
	s.Endpoint = c.env.Config.Endpoint
	return s
}

// Store returns the store the connector persists to.
func (c *Connector) Store() store.Store { return c.raw }

// Close stops background work (pending store writes) and closes the store
// if Open opened it.
func (c *Connector) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cancel()
		live.Delete(c)
		c.tel.close()
		c.releasePending()
		if c.coarse {
			coarseStop()
		}
		if c.ownsStore {
			err = c.store.Close()
		}
	})
	return err
}

func (c *Connector) now() time.Time { return c.opts.Clock() }

// releasePending gives up the leases held for rotated tokens that never
// reached the store: once this Connector is gone nobody will write them,
// and holding the lease would only make the next process wait for it to
// expire. (What a next process can do then is in lifecycle.go.)
func (c *Connector) releasePending() {
	c.mu.Lock()
	conns := make([]*Connection, 0, len(c.conns))
	for _, conn := range c.conns {
		conns = append(conns, conn)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		if p := conn.pendingWrite(); p != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = c.store.Unlock(ctx, p.lease)
			cancel()
			c.opts.Logger.Error("connector closed with a rotated token that never reached the store", "provider", c.name, "connection", conn.id)
		}
	}
}

func (c *Connector) errorf(code driver.Code, op, format string, args ...any) *driver.Error {
	e := driver.Errorf(code, format, args...)
	e.Op, e.Provider = op, c.name
	return e
}

// AuthRequest is what an application attaches to one authorization. It
// travels in the signed state (at most 1 KiB together), comes back with the
// callback and is stored with the connection.
type AuthRequest struct {
	// Ref is the application's own reference for the connection: its
	// customer or workspace id. Find the connection by it with
	// Connector.ConnectionByRef. At most 256 bytes.
	Ref string
	// Tags label the connection (List filters by them). At most 16 of at
	// most 64 bytes each; duplicates are dropped.
	Tags []string
	// Scopes, when set, replace Options.Scopes for this authorization;
	// validated like them.
	Scopes []string
	// Params adds query parameters to the authorization URL (SHOPLINE's
	// merchant_id, say). The parameters the connector sets itself —
	// client_id, redirect_uri, response_type, scope, state — are refused.
	Params url.Values
}

// reservedParams are the authorization URL's parameters the connector sets.
var reservedParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state"}

// Limits of AuthRequest.
const (
	maxRefLen = 256
	maxTags   = 16
	maxTagLen = 64
)

// AuthCodeURL returns the provider's authorization URL for a fresh one-time
// state, as AuthURL does, with extra as its query parameters.
func (c *Connector) AuthCodeURL(extra url.Values) (string, error) {
	return c.AuthURL(AuthRequest{Params: extra})
}

// AuthURL returns the provider's authorization URL for a fresh one-time
// state, bound to this provider, application and redirect URI, valid for
// Options.StateTTL and carrying r's reference, tags and scopes. The state
// is signed, not remembered (state.go): any instance of the application
// that shares the store and its keys can take the callback. Send the user
// there; the provider redirects back to the redirect URI, whose query goes
// to HandleCallback.
func (c *Connector) AuthURL(r AuthRequest) (string, error) {
	u, _, err := c.AuthURLState(r)
	return u, err
}

// AuthURLState is AuthURL, and also returns the state the URL carries: for
// an application that recognises the provider's redirect before handing
// it to HandleCallback (the CLI's local callback server ignores requests
// without it). The URL may carry the state under another name than state,
// or outside its query (driver.Authorizer: SHOPLINE's global platform puts
// it in customField after a fragment), so read it here rather than from
// the URL. The state is the engine's to check: HandleCallback still does.
func (c *Connector) AuthURLState(r AuthRequest) (authURL, state string, err error) {
	if c.opts.Mode == connstr.ModeOff {
		return "", "", c.errorf(driver.AuthorizationRequired, "authorize", "InitiateOAuth=OFF forbids starting an authorization")
	}
	if c.opts.RedirectURL == "" {
		return "", "", c.errorf(driver.InvalidConfig, "authorize", "CallbackURL (the redirect URI) is required to authorize")
	}
	ar, err := c.authRequest(r)
	if err != nil {
		return "", "", err
	}
	ep := c.env.Config.Endpoint.AuthURL
	u, err := url.Parse(ep)
	if err != nil || ep == "" {
		return "", "", c.errorf(driver.InvalidConfig, "authorize", "the provider has no valid authorization URL")
	}
	q := u.Query()
	for k, v := range c.spec.AuthParams {
		q[k] = v
	}
	for k, v := range r.Params {
		q[k] = v
	}
	q.Set("client_id", c.opts.ClientID)
	q.Set("redirect_uri", c.opts.RedirectURL)
	q.Set("response_type", "code")
	scopes := c.opts.Scopes
	if ar.scopes != nil {
		scopes = ar.scopes
	}
	if len(scopes) > 0 {
		sep := c.spec.ScopeSeparator
		if sep == "" {
			sep = " "
		}
		q.Set("scope", strings.Join(scopes, sep))
	}
	state, err = c.issueState(c.now(), ar)
	if err != nil {
		return "", "", err
	}
	q.Set("state", state)
	u.RawQuery = q.Encode()
	if a, ok := c.p.(driver.Authorizer); ok {
		// The provider's page takes these values in its own shape.
		s, err := a.AuthorizeURL(c.env, u)
		if err != nil {
			return "", "", c.tagged(driver.Scrub(err, c.opts.ClientSecret), "authorize")
		}
		return s, state, nil
	}
	return u.String(), state, nil
}

// authRequest checks r and returns what its state carries.
func (c *Connector) authRequest(r AuthRequest) (authRequest, error) {
	bad := func(format string, args ...any) (authRequest, error) {
		return authRequest{}, c.errorf(driver.InvalidConfig, "authorize", format, args...)
	}
	for _, k := range reservedParams {
		if _, ok := r.Params[k]; ok {
			return bad("the authorization parameter %q is set by the connector (use AuthRequest.Scopes for scopes)", k)
		}
	}
	if len(r.Ref) > maxRefLen || !printable(r.Ref) {
		return bad("the reference must be printable text of at most %d bytes", maxRefLen)
	}
	tags := slices.Clone(r.Tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(tags) > maxTags {
		return bad("at most %d tags, got %d", maxTags, len(tags))
	}
	for _, t := range tags {
		if t == "" || len(t) > maxTagLen || !printable(t) {
			return bad("a tag must be printable text of 1 to %d bytes", maxTagLen)
		}
	}
	ar := authRequest{ref: r.Ref, tags: tags}
	if r.Scopes != nil {
		if err := driver.ValidateScopes(c.spec, r.Scopes); err != nil {
			return authRequest{}, err
		}
		ar.scopes = slices.Clone(r.Scopes)
		if ar.scopes == nil {
			ar.scopes = []string{}
		}
	}
	return ar, nil
}

// printable reports whether s is valid UTF-8 without control or format
// characters (spaces are fine in references and tags).
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			return false
		}
	}
	return true
}

// HandleCallback completes an authorization from the query of the request
// the provider redirected to the redirect URI: it refuses a denial
// (driver.AccessDenied) and a missing, unknown, reused, expired or foreign
// state (driver.InvalidState, without calling the token endpoint), then
// exchanges the code as Exchange does. The query is taken as the provider
// sends it: a driver whose provider uses other names, or signs the
// callback, reads it first (driver.CallbackReader).
func (c *Connector) HandleCallback(ctx context.Context, query url.Values) (*Connection, error) {
	conn, err := c.handleCallback(ctx, query)
	if err != nil {
		err = c.canceled(ctx, "callback", err)
	}
	return conn, err
}

func (c *Connector) handleCallback(ctx context.Context, query url.Values) (*Connection, error) {
	if r, ok := c.p.(driver.CallbackReader); ok {
		q, err := r.ReadCallback(c.env, query)
		if err != nil {
			return nil, c.tagged(driver.Scrub(err, c.opts.ClientSecret, query.Get("code")), "callback")
		}
		query = q
	}
	if oe := query.Get("error"); oe != "" {
		// The state is checked (and consumed) first: a forged error
		// callback is an invalid state, not a denial.
		if _, _, why, err := c.takeState(ctx, query.Get("state")); err != nil {
			return nil, err
		} else if why != "" {
			return nil, c.errorf(driver.InvalidState, "callback", "%s; start the authorization again", why)
		}
		code := driver.ClassifyOAuthError(oe)
		if oe == "access_denied" {
			code = driver.AccessDenied
		}
		e := c.errorf(code, "authorize", "the provider refused the authorization")
		e.OAuthError = driver.Excerpt([]byte(driver.ScrubString(oe, c.opts.ClientSecret)))
		e.OAuthDescription = driver.Excerpt([]byte(driver.ScrubString(query.Get("error_description"), c.opts.ClientSecret)))
		return nil, e
	}
	return c.exchange(ctx, query.Get("state"), query.Get("code"), query)
}

// Exchange checks state, exchanges code at the token endpoint with the
// identical redirect URI, identifies the account, persists the connection
// and returns it. Nothing is returned before the connection is persisted.
//
// A re-authorization of an account that already has a connection replaces
// that connection's grant and makes it active again.
//
// If identification fails after the exchange, the connection is still
// persisted (with an empty account) and returned together with the error.
func (c *Connector) Exchange(ctx context.Context, state, code string) (*Connection, error) {
	conn, err := c.exchange(ctx, state, code, url.Values{"state": {state}, "code": {code}})
	if err != nil {
		err = c.canceled(ctx, "exchange", err)
	}
	return conn, err
}

// exchange is Exchange with the callback's whole query, for a driver that
// needs more of it than the code (driver.Exchanger).
func (c *Connector) exchange(ctx context.Context, state, code string, query url.Values) (*Connection, error) {
	issued, ar, why, err := c.takeState(ctx, state)
	if err != nil {
		return nil, err
	}
	if why != "" {
		return nil, c.errorf(driver.InvalidState, "callback", "%s; start the authorization again", why)
	}
	if code == "" {
		return nil, c.errorf(driver.InvalidGrant, "callback", "the callback carries no code")
	}
	if c.opts.Mode == connstr.ModeOff {
		return nil, c.errorf(driver.AuthorizationRequired, "exchange", "InitiateOAuth=OFF forbids calling the token endpoint")
	}
	env := c.env
	if ar.scopes != nil {
		// The scopes of this authorization, for an answer that names none.
		e := *env
		e.Config.Scopes = ar.scopes
		env = &e
	}
	var tok *Token
	if ex, ok := c.p.(driver.Exchanger); ok {
		tok, err = ex.Exchange(ctx, env, query)
	} else {
		tok, err = driver.StandardExchange(ctx, env, code)
	}
	if err == nil {
		err = c.checkAnswer(tok, "exchange")
	}
	if err != nil {
		err = driver.Scrub(err, c.opts.ClientSecret, code)
		var e *driver.Error
		if errors.As(err, &e) && e.Code == driver.InvalidGrant && c.spec.CodeLifetime > 0 && c.now().Sub(issued) > c.spec.CodeLifetime {
			e.Msg = "authorization code expired: " + c.spec.DisplayName + " codes expire after " + c.spec.CodeLifetime.String() + "; authorize again"
		}
		c.log(ctx, "exchange failed", "code", driver.CodeOf(err).String())
		return nil, err
	}
	account, idErr := c.p.Identify(ctx, c.env, tok)
	if idErr != nil {
		idErr = driver.Scrub(idErr, c.opts.ClientSecret, tok.AccessToken, tok.RefreshToken)
	} else if account != "" {
		if err := c.checkAccount(account, "identify"); err != nil {
			return nil, err
		}
		tok.AccountID = account
	}
	conn, err := c.save(ctx, tok, ar)
	if err != nil {
		return nil, err
	}
	c.log(ctx, "connected", "connection", conn.id, "account", tok.AccountID)
	return conn, idErr
}

// Import persists a grant obtained elsewhere (OAuthAccessToken and
// OAuthRefreshToken in a connection string, say) as a connection, and
// returns it. The account is identified when tok does not name it and the
// provider's API allows; a failure there is not an error.
func (c *Connector) Import(ctx context.Context, tok *Token) (*Connection, error) {
	if tok == nil || tok.AccessToken == "" && tok.RefreshToken == "" {
		return nil, c.errorf(driver.InvalidConfig, "import", "the token has neither an access nor a refresh token")
	}
	t := tok.Clone()
	if t.TokenType == "" {
		t.TokenType = "Bearer"
	}
	if err := c.checkAnswer(t, "import"); err != nil {
		return nil, err
	}
	if t.AccountID == "" && t.AccessToken != "" {
		if acc, err := c.p.Identify(ctx, c.env, t); err == nil && c.checkAccount(acc, "identify") == nil {
			t.AccountID = acc
		}
	}
	return c.save(ctx, t, authRequest{})
}

// checkAnswer refuses, before anything is stored, a token whose tokens
// hold characters outside the RFC 6750 / RFC 6749 grammars, whose lifetime
// is not positive, or whose account id is not printable (driver.ValidateToken).
func (c *Connector) checkAnswer(tok *Token, op string) error {
	return c.tagged(driver.ValidateToken(tok), op)
}

// checkAccount refuses an account id that is not printable or too long.
func (c *Connector) checkAccount(account, op string) error {
	return c.tagged(driver.ValidateAccount(account), op)
}

// tagged sets the operation and provider of a fresh *driver.Error.
func (c *Connector) tagged(err error, op string) error {
	if err == nil {
		return nil
	}
	var e *driver.Error
	if errors.As(err, &e) {
		e.Op, e.Provider = op, c.name
	}
	return err
}

func (c *Connector) storeErr(op string, err error) error {
	if _, ok := err.(*driver.Error); ok {
		return err
	}
	code := store.CodeOf(err) // a store's bare sentinel (store.ErrNotFound, ...)
	if code == driver.Unknown {
		code = driver.Store
	}
	e := c.errorf(code, op, "store failed")
	e.Err = err
	return e
}

// CanRevoke reports whether the provider has a revocation endpoint.
func (c *Connector) CanRevoke() bool {
	_, custom := c.p.(driver.Revoker)
	return custom || c.env.Config.Endpoint.RevokeURL != ""
}

// RateLimit returns the provider's rate-limit headers found in resp.
func (c *Connector) RateLimit(resp *http.Response) http.Header {
	h := http.Header{}
	for _, name := range c.spec.RateLimitHeaders {
		if v := resp.Header.Values(name); len(v) > 0 {
			h[http.CanonicalHeaderKey(name)] = v
		}
	}
	return h
}

func (c *Connector) log(ctx context.Context, msg string, args ...any) {
	c.logAt(ctx, slog.LevelInfo, msg, args)
}

func (c *Connector) warn(ctx context.Context, msg string, args ...any) {
	c.logAt(ctx, slog.LevelWarn, msg, args)
}

// logAt logs with the provider's name when the level is on. Its variadic
// arguments are allocated even when it is off: the refresh path checks
// Enabled before calling.
func (c *Connector) logAt(ctx context.Context, level slog.Level, msg string, args []any) {
	if !c.opts.Logger.Enabled(ctx, level) {
		return
	}
	c.opts.Logger.Log(ctx, level, msg, append([]any{"provider", c.name}, args...)...)
}
