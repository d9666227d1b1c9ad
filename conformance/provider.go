package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

// ProviderHarness describes the driver under test.
type ProviderHarness struct {
	// Provider is the driver. It must implement driver.Simulated unless
	// NewSimulator or Simulator is set.
	Provider driver.Provider
	// NewSimulator returns a fresh simulator of the provider; by default
	// Provider.(driver.Simulated).NewSimulator(), which must return a
	// Simulator (a *simulator.Server, or a translating simulator such as
	// *profile.Simulator).
	NewSimulator func() *simulator.Server
	// Simulator, when set, is used instead of NewSimulator: it returns a
	// fresh simulator that translates a *simulator.Server into the
	// provider's own wire format (a *profile.Simulator, say).
	Simulator func() Simulator
	// Scopes to request; by default the first two of Spec.Scopes, or
	// Spec.DefaultScopes.
	Scopes []string
	// APIPath is a GET path under the API base that a valid token may read
	// (Jumpseller "store/info.json", SHOPLINE "token/info"). Required: the
	// Client subtest fails without it.
	APIPath string
}

// Simulator is what the suite drives of a provider's simulator: the
// methods of *simulator.Server, which serves it as it is, and which a
// translating simulator such as *profile.Simulator has too. It is served
// on loopback as an http.Handler.
type Simulator interface {
	http.Handler
	AddClient(id, secret string, redirectURIs ...string)
	Approve(authorizeURL string) (*url.URL, error)
	Deny(authorizeURL string) (*url.URL, error)
	Endpoint(base string) driver.Endpoint
	Config() simulator.Config
	SetClock(now func() time.Time)
	Stats() simulator.Stats
	InjectFault(f simulator.Fault)
	ClearFaults()
	RevokeAll()
	SetLegacyErrorStatus(legacy bool)
	ValidAccessToken(tok string) bool
	LiveRefreshTokens() int
}

// TokenFacts is implemented by a simulator whose provider's tokens are
// not Doorkeeper's: access tokens that never expire, or no refresh tokens
// (*profile.Simulator implements it). The suite takes these facts from the
// simulator, never from the driver under test, so a driver that drops an
// expiry or a refresh token still fails. A simulator without it states
// that access tokens expire and refresh tokens are issued.
//
// The subtests that need what the provider does not have (an expiry to
// pass, a refresh token to present) skip with the reason; the others check
// that the driver reports the token as the provider issues it: no Expiry,
// no RefreshToken, no token request when there is nothing to refresh.
type TokenFacts interface {
	// AccessTokensExpire reports whether access tokens expire.
	AccessTokensExpire() bool
	// IssuesRefreshTokens reports whether token answers carry a refresh
	// token.
	IssuesRefreshTokens() bool
}

const (
	testClientID     = "conformance-client-id-0123456789"
	testClientSecret = "conformance-client-secret-9f8e7d6c5b4a"
)

// appKey is the store id the engine gives connection id of an application
// (the root package's connections.go).
func appKey(namespace, clientID, id string) string {
	return url.PathEscape(namespace) + "/" + url.PathEscape(clientID) + "/" + id
}

// fixture is one subtest's world: a fresh simulator on loopback, a memory
// store and a connector pointed at both.
type fixture struct {
	t       *testing.T
	h       ProviderHarness
	spec    *driver.Spec
	sim     Simulator
	srv     *httptest.Server
	clock   *testclock.Clock // shared by the engine and the simulator
	store   *memory.Store
	keys    *store.Keyring
	opts    connector.Options
	conn    *connector.Connector
	reauths atomic.Int32
	secrets []string // every secret the fixture has seen, for leak checks
}

func newFixture(t *testing.T, h ProviderHarness, mutate ...func(*connector.Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, h: h, spec: h.Provider.Spec(), clock: testclock.New(time.Now().Truncate(time.Second))}
	f.sim = newSimulator(t, h)
	f.sim.SetClock(f.clock.Now)
	f.srv = httptest.NewServer(f.sim)
	t.Cleanup(f.srv.Close)
	redirect := f.srv.URL + "/callback"
	// The second redirect URI is another application's callback on the
	// same client (State: its state is refused here).
	f.sim.AddClient(testClientID, testClientSecret, redirect, f.srv.URL+"/other-callback")
	f.store = memory.New()
	f.keys, _ = store.NewKeyring(store.NewRandomKey())
	f.opts = connector.Options{
		ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: redirect,
		Scopes:   f.scopes(),
		Endpoint: f.endpoints(),
		Store:    f.store, Keyring: f.keys,
		Clock:   f.clock.Now,
		Timeout: 5 * time.Second,
		Retry:   connector.RetryPolicy{Max: 3, WaitMin: time.Millisecond, WaitMax: 20 * time.Millisecond, Budget: 10 * time.Second},
		OnEvent: func(_ context.Context, e connector.Event) {
			if e.Kind == connector.NeedsReauth {
				f.reauths.Add(1)
			}
		},
	}
	for _, m := range mutate {
		m(&f.opts)
	}
	var err error
	if f.conn, err = connector.NewWithDriver(h.Provider, f.opts); err != nil {
		t.Fatalf("connector.NewWithDriver: %v", err)
	}
	t.Cleanup(func() { f.conn.Close() })
	f.secrets = []string{testClientSecret}
	return f
}

// newSimulator returns a fresh simulator of the harness's provider.
func newSimulator(t *testing.T, h ProviderHarness) Simulator {
	t.Helper()
	switch s, simulated := h.Provider.(driver.Simulated); {
	case h.Simulator != nil:
		return h.Simulator()
	case h.NewSimulator != nil:
		return h.NewSimulator()
	case simulated:
		handler := s.NewSimulator()
		sim, ok := handler.(Simulator)
		if !ok {
			t.Fatalf("%s: NewSimulator returns a %T, which lacks the methods of conformance.Simulator; set ProviderHarness.NewSimulator or Simulator", h.Provider.Spec().Name, handler)
		}
		return sim
	}
	t.Fatalf("%s: the driver has no simulator; implement driver.Simulated or set ProviderHarness.NewSimulator", h.Provider.Spec().Name)
	return nil
}

// tokenFacts returns whether the provider's access tokens expire and
// whether it issues refresh tokens, as its simulator states (TokenFacts).
func tokenFacts(sim Simulator) (expire, refresh bool) {
	if tf, ok := sim.(TokenFacts); ok {
		return tf.AccessTokensExpire(), tf.IssuesRefreshTokens()
	}
	return true, true
}

// RefreshFacts is implemented by a simulator whose provider issues no
// refresh tokens and yet refreshes an expiring access token, on a request
// the application signs with its own credentials (SHOPLINE's global
// platform: POST /admin/oauth/token/refresh). Its TokenFacts say that no
// refresh tokens are issued (Normalisation checks the driver reports
// none); RefreshesWithoutRefreshToken says that the subtests about
// refreshing run all the same, with no refresh token to rotate or keep.
type RefreshFacts interface {
	RefreshesWithoutRefreshToken() bool
}

// refreshesWithout reports whether sim's provider refreshes without a
// refresh token (RefreshFacts).
func refreshesWithout(sim Simulator) bool {
	rf, ok := sim.(RefreshFacts)
	return ok && rf.RefreshesWithoutRefreshToken()
}

func (f *fixture) expires() bool   { e, _ := tokenFacts(f.sim); return e }
func (f *fixture) refreshes() bool { _, r := tokenFacts(f.sim); return r }

// canRefresh reports whether an expired access token can be refreshed:
// with a refresh token, or by the provider's own refresh (RefreshFacts).
func (f *fixture) canRefresh() bool { return f.refreshes() || refreshesWithout(f.sim) }

// CallbackFacts is implemented by a simulator whose provider signs its
// callback to the redirect URI (SHOPLINE's global platform: a sign over
// every other parameter). The State subtest then adds a parameter to a
// callback of the simulator and requires HandleCallback to refuse it
// (driver.InvalidState) without calling the token endpoint and without
// spending the state: the driver's driver.CallbackReader must check the
// signature.
type CallbackFacts interface {
	SignsCallbacks() bool
}

// signsCallbacks reports whether sim's provider signs its callbacks
// (CallbackFacts).
func signsCallbacks(sim Simulator) bool {
	cf, ok := sim.(CallbackFacts)
	return ok && cf.SignsCallbacks()
}

// approve runs the consent of the authorization URL u, as the engine
// built it (through the driver's driver.Authorizer, if any), at the
// simulator, and returns the simulator's redirect to the application as
// it is: HandleCallback reads it (through the driver's
// driver.CallbackReader, if any).
func (f *fixture) approve(u string) (*url.URL, error) { return f.sim.Approve(u) }

// deny is approve with the user refusing.
func (f *fixture) deny(u string) (*url.URL, error) { return f.sim.Deny(u) }

// needsRefresh skips a subtest about refreshing an expired token when the
// provider, as its simulator states, has no such thing.
func needsRefresh(t *testing.T, h ProviderHarness) {
	t.Helper()
	sim := newSimulator(t, h)
	switch expire, refresh := tokenFacts(sim); {
	case !refresh && !refreshesWithout(sim):
		t.Skip("the provider issues no refresh tokens (its simulator says so): there is no refresh to check; " +
			"Lifetime checks the token's life without one, ExchangeFaults the token endpoint's faults on the code exchange")
	case !expire:
		t.Skip("the provider's access tokens never expire (its simulator says so): nothing is refreshed on expiry; " +
			"Lifetime checks that nothing is, ExchangeFaults the token endpoint's faults on the code exchange")
	}
}

// endpoints maps each endpoint the driver declares onto the simulator: a
// URL the simulator documents (simulator.Config.Documented) goes to the
// simulator's endpoint for it, any other URL to the same path on the
// simulator, where nothing serves it. So a driver with a wrong endpoint
// fails, and one that drops an endpoint (left empty) fails too. A simulator
// that documents no endpoints gets each endpoint by its role (WireFacts
// reports that).
func (f *fixture) endpoints() driver.Endpoint {
	sim := f.sim.Endpoint(f.srv.URL)
	doc := f.sim.Config().Documented
	ep := f.spec.Endpoint
	// A simulator that serves refreshes apart from the code exchange
	// (SHOPLINE's global platform) says where; the others take both at
	// their token endpoint.
	simRefresh := sim.RefreshURL
	if simRefresh == "" {
		simRefresh = sim.TokenURL
	}
	known := []struct{ doc, sim string }{
		{doc.AuthURL, sim.AuthURL}, {doc.TokenURL, sim.TokenURL}, {doc.RefreshURL, simRefresh},
		{doc.RevokeURL, sim.RevokeURL}, {doc.TokenInfoURL, sim.TokenInfoURL}, {doc.APIBaseURL, sim.APIBaseURL},
	}
	pick := func(own, byRole string) string {
		switch {
		case own == "":
			return ""
		case doc == (driver.Endpoint{}):
			return byRole
		}
		for _, k := range known {
			if k.doc != "" && own == k.doc {
				return k.sim
			}
		}
		u, err := url.Parse(own)
		if err != nil {
			return f.srv.URL + "/not-a-url"
		}
		return f.srv.URL + u.EscapedPath()
	}
	return driver.Endpoint{
		AuthURL: pick(ep.AuthURL, sim.AuthURL), TokenURL: pick(ep.TokenURL, sim.TokenURL),
		RefreshURL: pick(ep.RefreshURL, simRefresh), RevokeURL: pick(ep.RevokeURL, sim.RevokeURL),
		TokenInfoURL: pick(ep.TokenInfoURL, sim.TokenInfoURL), APIBaseURL: pick(ep.APIBaseURL, sim.APIBaseURL),
	}
}

// api is the URL of the harness's APIPath under the driver's (mapped) API
// base.
func (f *fixture) api() string {
	return f.opts.Endpoint.APIBaseURL + f.h.APIPath
}

func (f *fixture) scopes() []string {
	if len(f.h.Scopes) > 0 {
		return f.h.Scopes
	}
	if len(f.spec.Scopes) >= 2 {
		return f.spec.Scopes[:2]
	}
	return f.spec.DefaultScopes
}

// authorize runs the whole authorization: URL, consent, callback, exchange.
func (f *fixture) authorize() *connector.Connection {
	f.t.Helper()
	u, err := f.conn.AuthCodeURL(nil)
	if err != nil {
		f.t.Fatalf("AuthCodeURL: %v", err)
	}
	redirect, err := f.approve(u)
	if err != nil {
		f.t.Fatalf("simulator refused the authorize URL %s: %v", redactQuery(u), err)
	}
	c, err := f.conn.HandleCallback(context.Background(), redirect.Query())
	if err != nil {
		f.t.Fatalf("HandleCallback: %v", err)
	}
	f.remember(c)
	return c
}

// remember adds the connection's current tokens to the leak list.
func (f *fixture) remember(c *connector.Connection) *connector.Token {
	f.t.Helper()
	tok, err := c.Token(context.Background())
	if err != nil {
		return nil
	}
	f.secrets = append(f.secrets, tok.AccessToken)
	if tok.RefreshToken != "" {
		f.secrets = append(f.secrets, tok.RefreshToken)
	}
	return tok
}

// stored returns the token persisted for id, decrypted.
func (f *fixture) stored(id string) (*store.Record, *connector.Token) {
	f.t.Helper()
	// The store qualifies connection ids by the application:
	// namespace/client-id/provider:account.
	key := appKey("", testClientID, id)
	rec, err := f.store.Get(context.Background(), key)
	if err != nil {
		f.t.Fatalf("store.Get(%q): %v", key, err)
	}
	if rec.App != testClientID {
		f.t.Errorf("the record of %s names application %q, want %q", id, rec.App, testClientID)
	}
	plain, err := f.keys.Open(key, rec.Secret)
	if err != nil {
		f.t.Fatalf("stored token of %q does not open: %v", id, err)
	}
	tok, err := decodeToken(plain)
	if err != nil {
		f.t.Fatalf("stored token of %q: %v", id, err)
	}
	return rec, tok
}

// expire moves the clock past the access token's expiry.
func (f *fixture) expire(tok *connector.Token) {
	f.t.Helper()
	if tok.Expiry.IsZero() {
		f.t.Fatalf("token has no expiry; cannot expire it")
	}
	f.clock.Advance(tok.Expiry.Sub(f.clock.Now()) + time.Second)
}

// noSecrets fails if err's text holds any secret seen so far.
func (f *fixture) noSecrets(err error) {
	f.t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range f.secrets {
		if s != "" && strings.Contains(msg, s) {
			f.t.Errorf("error text holds a secret: %q", msg)
		}
	}
}

func wantCode(t *testing.T, err error, want driver.Code) {
	t.Helper()
	if got := driver.CodeOf(err); got != want {
		t.Errorf("error code = %v, want %v (error: %v)", got, want, err)
	}
}

func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// TestProvider runs the provider conformance suite against h.Provider and
// its simulator. Each subtest gets a fresh simulator, store and clock.
func TestProvider(t *testing.T, h ProviderHarness) {
	if h.Provider == nil {
		t.Fatal("conformance: ProviderHarness.Provider is nil")
	}
	for _, tc := range providerTests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
}

var providerTests = []struct {
	name string
	run  func(*testing.T, ProviderHarness)
}{
	{"WireFacts", testWireFacts},
	{"AuthCodeURL", testAuthCodeURL},
	{"State", testState},
	{"Exchange", testExchange},
	{"Normalisation", testNormalisation},
	{"Identity", testIdentity},
	{"Lifetime", testLifetime},
	{"RefreshAndRotation", testRefreshRotation},
	{"Stampede", testStampede},
	{"InvalidGrant", testInvalidGrant},
	{"InvalidClient", testInvalidClient},
	{"RetryAfter", testRetryAfter},
	{"ServerErrorRetry", testServerErrorRetry},
	{"RetryBudget", testRetryBudget},
	{"DroppedConnection", testDroppedConnection},
	{"LostAnswer", testLostAnswer},
	{"BadAnswers", testBadAnswers},
	{"ExchangeFaults", testExchangeFaults},
	{"PersistBeforeReturn", testPersistBeforeReturn},
	{"Client", testClient},
	{"Revoke", testRevoke},
}

// testWireFacts compares the driver's Spec with the facts the simulator
// states as its own literals, from the provider's documentation. The other
// subtests then show that the simulator enforces them on the wire.
func testWireFacts(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	spec, cfg := f.spec, f.sim.Config()
	if cfg.Documented == (driver.Endpoint{}) {
		t.Errorf("the simulator states no documented endpoints: set simulator.Config.Documented to the provider's endpoints as its documentation gives them")
	} else {
		want := cfg.Documented
		got := spec.Endpoint
		if got.RefreshURL == got.TokenURL && want.RefreshURL == "" {
			got.RefreshURL = ""
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Spec.Endpoint differs from the provider's documented endpoints (-simulator +Spec):\n%s", d)
		}
	}
	type facts struct {
		Name, DisplayName               string
		TokenFormat, TokenAuth          string
		RevokeFormat, RevokeAuth        string
		RefreshRedirectURI              string
		ScopeSeparator                  string
		RefreshTokenLifetimeAfterExpiry time.Duration
		RefreshReplaySafe               bool
		RateLimitHeaders                []string
	}
	sep := func(s string) string {
		if s == "" {
			return " "
		}
		return s
	}
	want := facts{
		Name: cfg.Name, DisplayName: cfg.DisplayName,
		TokenFormat: cfg.TokenFormat.String(), TokenAuth: cfg.TokenAuth.String(),
		RefreshRedirectURI:              "optional",
		ScopeSeparator:                  sep(cfg.ScopeSeparator),
		RefreshTokenLifetimeAfterExpiry: cfg.RefreshTTLAfterAccessExpiry,
		RefreshReplaySafe:               !cfg.StrictRotation,
		RateLimitHeaders:                cfg.RateLimitHeaders,
	}
	switch {
	case cfg.RefreshRequiresRedirectURI:
		want.RefreshRedirectURI = "sent"
	case cfg.RefreshRefusesRedirectURI:
		want.RefreshRedirectURI = "not sent"
	}
	got := facts{
		Name: spec.Name, DisplayName: spec.DisplayName,
		TokenFormat: spec.Token.Format.String(), TokenAuth: spec.Token.Auth.String(),
		RefreshRedirectURI:              want.RefreshRedirectURI,
		ScopeSeparator:                  sep(spec.ScopeSeparator),
		RefreshTokenLifetimeAfterExpiry: spec.RefreshTokenLifetimeAfterExpiry,
		RefreshReplaySafe:               spec.RefreshReplaySafe,
		RateLimitHeaders:                spec.RateLimitHeaders,
	}
	if want.RefreshRedirectURI != "optional" {
		got.RefreshRedirectURI = map[bool]string{true: "sent", false: "not sent"}[spec.RefreshSendsRedirectURI]
	}
	if cfg.Revoke {
		want.RevokeFormat, want.RevokeAuth = cfg.TokenFormat.String(), cfg.RevokeAuth.String()
		got.RevokeFormat, got.RevokeAuth = spec.Revoke.Format.String(), spec.Revoke.Auth.String()
	}
	if !f.refreshes() {
		// Without refresh tokens there is no refresh to replay.
		want.RefreshReplaySafe = got.RefreshReplaySafe
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("Spec differs from the provider's documented wire facts (-simulator +Spec):\n%s", d)
	}
	switch {
	case spec.NoRefreshTokens && f.refreshes():
		t.Errorf("Spec.NoRefreshTokens is set, but the provider issues refresh tokens (its simulator says so)")
	case !spec.NoRefreshTokens && refreshesWithout(f.sim):
		t.Errorf("the provider issues no refresh tokens and refreshes without one (its simulator says so), but Spec.NoRefreshTokens is not set")
	}
	if cfg.RequireUserAgent && spec.APIHeaders.Get("User-Agent") == "" {
		t.Errorf("the provider's API requires a User-Agent header, but Spec.APIHeaders sets none")
	}
	if !f.expires() && spec.DefaultLifetime != 0 {
		t.Errorf("Spec.DefaultLifetime = %v, but the provider's access tokens never expire", spec.DefaultLifetime)
	} else if f.expires() && spec.DefaultLifetime != 0 && spec.DefaultLifetime != cfg.AccessTTL {
		t.Errorf("Spec.DefaultLifetime = %v, but the provider documents access tokens of %v", spec.DefaultLifetime, cfg.AccessTTL)
	}
	if spec.CodeLifetime != 0 && spec.CodeLifetime != cfg.CodeTTL {
		t.Errorf("Spec.CodeLifetime = %v, but the provider's codes live %v", spec.CodeLifetime, cfg.CodeTTL)
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if d := cmp.Diff(sorted(cfg.Scopes), sorted(spec.Scopes), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("Spec.Scopes differ from the provider's documented scopes (-simulator +Spec):\n%s", d)
	}
	if len(cfg.Scopes) > 0 {
		for _, s := range spec.DefaultScopes {
			if !slices.Contains(cfg.Scopes, s) {
				t.Errorf("Spec.DefaultScopes holds %q, which the provider does not know", s)
			}
		}
	}
}

// testAuthCodeURL checks the authorization URL the engine returns. For a
// driver without a driver.Authorizer it reads the standard parameters
// from the query; for every driver it has the simulator take the URL,
// redirect to the redirect URI and the engine complete the callback, so
// that a driver whose Authorizer drops or alters the client id, the
// redirect URI, the scopes or the state fails on what it actually sends.
func testAuthCodeURL(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	a, err := f.conn.AuthCodeURL(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.conn.AuthCodeURL(nil)
	if a == b {
		t.Errorf("two authorize URLs are the same: the state is not fresh")
	}
	ua, _ := url.Parse(a)
	ub, _ := url.Parse(b)
	q := ua.Query()
	if _, custom := h.Provider.(driver.Authorizer); !custom {
		sep := f.spec.ScopeSeparator
		if sep == "" {
			sep = " "
		}
		want := map[string]string{
			"client_id":     testClientID,
			"redirect_uri":  f.opts.RedirectURL,
			"response_type": "code",
			"scope":         strings.Join(f.scopes(), sep),
		}
		got := map[string]string{}
		for k := range want {
			got[k] = q.Get(k)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("authorize parameters (-want +got):\n%s", d)
		}
		if st := q.Get("state"); len(st) < 32 {
			t.Errorf("state %q is shorter than 32 characters", st)
		} else if st == ub.Query().Get("state") {
			t.Errorf("two authorize URLs share the state %q", st)
		}
	}
	// Parameters may follow a fragment (a browser application's route).
	if _, fq, ok := strings.Cut(ua.EscapedFragment(), "?"); ok {
		if fv, err := url.ParseQuery(fq); err == nil {
			for k, v := range fv {
				q[k] = append(q[k], v...)
			}
		}
	}
	for _, k := range []string{"client_secret", "code_challenge", "code_challenge_method"} {
		if q.Has(k) {
			t.Errorf("authorize URL carries %s", k)
		}
	}
	if strings.Contains(a, testClientSecret) {
		t.Error("authorize URL holds the client secret")
	}
	if ua.Scheme+"://"+ua.Host+ua.Path != f.sim.Endpoint(f.srv.URL).AuthURL {
		t.Errorf("authorize URL %s is not the endpoint %s", redactQuery(a), f.sim.Endpoint(f.srv.URL).AuthURL)
	}
	// What the URL sends, as the provider's page reads it: the simulator
	// knows the client and its redirect URI, sends the browser there, and
	// the callback completes with the state the engine issued.
	redirect, err := f.approve(a)
	if err != nil {
		t.Errorf("the simulator refused the authorize URL %s: %v", redactQuery(a), err)
	} else {
		if got := redirect.Scheme + "://" + redirect.Host + redirect.Path; got != f.opts.RedirectURL {
			t.Errorf("the simulator redirected to %s, want the redirect URI %s", got, f.opts.RedirectURL)
		}
		conn, err := f.conn.HandleCallback(context.Background(), redirect.Query())
		if err != nil {
			t.Errorf("HandleCallback of the simulator's redirect: %v", err)
		} else if f.sim.Config().SendScope {
			// The provider's answer names the scopes the URL asked for.
			tok := f.remember(conn)
			if tok != nil && !slices.Equal(sortedCopy(tok.Scopes), sortedCopy(f.scopes())) {
				t.Errorf("the grant's scopes are %q, want the requested %q", tok.Scopes, f.scopes())
			}
		}
	}
	// Unknown scopes are refused before any redirect.
	if len(f.spec.Scopes) > 0 {
		_, err := connector.NewWithDriver(h.Provider, connector.Options{ClientID: "x", ClientSecret: "y", RedirectURL: f.opts.RedirectURL, Scopes: []string{"no_such_scope"}})
		wantCode(t, err, driver.InvalidScope)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// testState checks the engine's state on callbacks as the provider sends
// them (read by the driver's driver.CallbackReader, if any): a state that
// is missing, unknown, issued by another connector (another redirect URI,
// other keys) or expired is refused without calling the token endpoint;
// a good one works once; a denial is reported as such. When the
// provider signs its callbacks (CallbackFacts), a tampered callback is
// refused too, without spending the state.
func testState(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	ctx := context.Background()
	u, _ := f.conn.AuthCodeURL(nil)
	redirect, err := f.approve(u)
	if err != nil {
		t.Fatal(err)
	}
	good := redirect.Query()
	// approved returns the simulator's callback for an authorization of c.
	approved := func(c *connector.Connector) url.Values {
		t.Helper()
		u, err := c.AuthCodeURL(nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.approve(u)
		if err != nil {
			t.Fatalf("the simulator refused the authorize URL %s: %v", redactQuery(u), err)
		}
		return r.Query()
	}
	other := func(mutate func(*connector.Options)) *connector.Connector {
		t.Helper()
		o := f.opts
		mutate(&o)
		c, err := connector.NewWithDriver(h.Provider, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	otherKeys, _ := store.NewKeyring(store.NewRandomKey())
	cases := []struct {
		name  string
		query url.Values
	}{
		{"missing", url.Values{"code": {good.Get("code")}}},
		{"unknown", url.Values{"code": {good.Get("code")}, "state": {"forged-state-value-0123456789abcdef"}}},
		// A state issued for another redirect URI (another connector).
		{"another redirect URI", approved(other(func(o *connector.Options) { o.RedirectURL = f.srv.URL + "/other-callback" }))},
		// A state signed with other keys (another application's store).
		{"other keys", approved(other(func(o *connector.Options) { o.Keyring = otherKeys; o.Store = memory.New() }))},
	}
	for _, tc := range cases {
		_, err := f.conn.HandleCallback(ctx, tc.query)
		if driver.CodeOf(err) != driver.InvalidState {
			t.Errorf("%s state: error code = %v, want %v (error: %v)", tc.name, driver.CodeOf(err), driver.InvalidState, err)
		}
	}
	// Expired.
	expired := approved(f.conn)
	f.clock.Advance(16 * time.Minute)
	_, err = f.conn.HandleCallback(ctx, expired)
	wantCode(t, err, driver.InvalidState)
	if n := f.sim.Stats().TokenRequests; n != 0 {
		t.Errorf("refused callbacks reached the token endpoint %d times", n)
	}
	f.clock.Advance(-16 * time.Minute)
	if signsCallbacks(f.sim) {
		// A parameter the provider did not sign: the driver must refuse
		// the callback before the engine spends its state.
		forged := url.Values{}
		for k, v := range good {
			forged[k] = v
		}
		forged.Set("conformance_forged", "1")
		_, err := f.conn.HandleCallback(ctx, forged)
		wantCode(t, err, driver.InvalidState)
		if n := f.sim.Stats().TokenRequests; n != 0 {
			t.Errorf("a tampered callback reached the token endpoint")
		}
	}
	// The good state works once, then is spent.
	if _, err := f.conn.HandleCallback(ctx, good); err != nil {
		t.Fatalf("good callback: %v", err)
	}
	_, err = f.conn.HandleCallback(ctx, good)
	wantCode(t, err, driver.InvalidState)
	// A denial is reported as such.
	u4, _ := f.conn.AuthCodeURL(nil)
	denied, err := f.deny(u4)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.conn.HandleCallback(ctx, denied.Query())
	wantCode(t, err, driver.AccessDenied)
	if n := f.sim.Stats().TokenRequests; n != 1 {
		t.Errorf("token endpoint called %d times, want 1", n)
	}
}

func testExchange(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	c := f.authorize()
	if n := f.sim.Stats().Exchanges; n != 1 {
		t.Errorf("simulator saw %d exchanges, want 1", n)
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !f.sim.ValidAccessToken(tok.AccessToken) {
		t.Error("the access token is not one the simulator issued")
	}
	_, stored := f.stored(c.ID())
	if stored.AccessToken != tok.AccessToken || stored.RefreshToken != tok.RefreshToken {
		t.Error("the stored token differs from the returned one")
	}
	// An expired authorization code names its cause when the provider documents a lifetime.
	if f.spec.CodeLifetime > 0 {
		u, _ := f.conn.AuthCodeURL(nil)
		redirect, err := f.approve(u)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(f.spec.CodeLifetime + time.Second)
		_, err = f.conn.HandleCallback(context.Background(), redirect.Query())
		wantCode(t, err, driver.InvalidGrant)
		if err != nil && !strings.Contains(err.Error(), "expire") {
			t.Errorf("expired code error does not say it expired: %v", err)
		}
		f.noSecrets(err)
	}
}

func testNormalisation(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	issued := f.clock.Now()
	c := f.authorize()
	tok := f.remember(c)
	if tok.TokenType != "Bearer" {
		t.Errorf("TokenType = %q, want Bearer", tok.TokenType)
	}
	cfg := f.sim.Config()
	if !f.expires() {
		if !tok.Expiry.IsZero() {
			t.Errorf("Expiry = %v, but the provider's access tokens never expire", tok.Expiry)
		}
	} else if want := issued.Add(cfg.AccessTTL); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want created_at + expires_in = %v", tok.Expiry, want)
	}
	if d := cmp.Diff(f.scopes(), tok.Scopes); d != "" {
		t.Errorf("Scopes (-want +got):\n%s", d)
	}
	if tok.AccountID != cfg.AccountID {
		t.Errorf("AccountID = %q, want %q", tok.AccountID, cfg.AccountID)
	}
	switch {
	case f.refreshes() && tok.RefreshToken == "":
		t.Error("no refresh token")
	case !f.refreshes() && tok.RefreshToken != "":
		t.Error("a refresh token, but the provider issues none")
	}
	for _, k := range []string{"access_token", "refresh_token", "token_type", "expires_in", "created_at", "scope"} {
		if _, ok := tok.Extra[k]; ok {
			t.Errorf("Extra holds the standard field %q", k)
		}
	}
	// The field that names the account is lifted into AccountID, not kept
	// beside it (conformance.FuzzParseToken's Lifted says the same).
	if k := cfg.AccountField; k != "" {
		if _, ok := tok.Extra[k]; ok {
			t.Errorf("Extra holds %q, the answer's account field: ParseToken must move it into AccountID", k)
		}
	}
	if s := tok.String(); strings.Contains(s, tok.AccessToken) || tok.RefreshToken != "" && strings.Contains(s, tok.RefreshToken) {
		t.Errorf("Token.String shows a secret: %s", s)
	}
}

func testIdentity(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	c := f.authorize()
	info := c.Info()
	want := f.sim.Config().AccountID
	if info.Account != want {
		t.Errorf("Account = %q, want %q", info.Account, want)
	}
	if info.ID != f.spec.Name+":"+want {
		t.Errorf("ID = %q, want %q", info.ID, f.spec.Name+":"+want)
	}
	if info.Status != store.Active {
		t.Errorf("Status = %q, want active", info.Status)
	}
	// A second authorization of the same account updates the same connection.
	c2 := f.authorize()
	if c2.ID() != c.ID() {
		t.Errorf("re-authorization made connection %q, want %q", c2.ID(), c.ID())
	}
	list, err := f.conn.Connections(context.Background())
	if err != nil || len(list) != 1 {
		t.Errorf("Connections = %d entries (err %v), want 1", len(list), err)
	}
}

// testLifetime: an access token lives as the provider says. One that
// expires is refreshed once it has (RefreshAndRotation checks the rest);
// one that never expires is handed out again a year later without a token
// request; one that expires without a refresh token needs a new
// authorization, found without a token request, unless the provider
// refreshes without one (RefreshFacts).
func testLifetime(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	tok := f.remember(c)
	if tok == nil {
		t.Fatal("no token after the authorization")
	}
	before := f.sim.Stats()
	switch {
	case !f.expires():
		if !tok.Expiry.IsZero() {
			t.Errorf("Expiry = %v, but the provider's access tokens never expire", tok.Expiry)
		}
		f.clock.Advance(365 * 24 * time.Hour)
		again, err := c.Token(ctx)
		if err != nil {
			t.Fatalf("a year later Token(): %v", err)
		}
		if again.AccessToken != tok.AccessToken {
			t.Error("a year later Token() returned another access token")
		}
		if !f.sim.ValidAccessToken(again.AccessToken) {
			t.Error("a year later the access token is not valid at the provider")
		}
		if n := f.sim.Stats().TokenRequests - before.TokenRequests; n != 0 {
			t.Errorf("a token that never expires was refreshed (%d token requests)", n)
		}
	case !f.canRefresh():
		f.expire(tok)
		_, err := c.Token(ctx)
		wantCode(t, err, driver.ReauthRequired)
		f.noSecrets(err)
		if n := f.sim.Stats().TokenRequests - before.TokenRequests; n != 0 {
			t.Errorf("an expired token without a refresh token made %d token requests", n)
		}
	default:
		f.expire(tok)
		nt, err := c.Token(ctx)
		if err != nil {
			t.Fatalf("Token after expiry: %v", err)
		}
		if nt.AccessToken == tok.AccessToken {
			t.Error("the expired token was returned again")
		}
		if n := f.sim.Stats().Refreshes - before.Refreshes; n != 1 {
			t.Errorf("%d refreshes after expiry, want 1", n)
		}
	}
}

func testRefreshRotation(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	old := f.remember(c)
	for round := 1; round <= 3; round++ {
		cur, _ := c.Token(ctx)
		f.expire(cur)
		nt, err := c.Token(ctx)
		if err != nil {
			t.Fatalf("round %d: Token after expiry: %v", round, err)
		}
		f.remember(c)
		if nt.AccessToken == cur.AccessToken {
			t.Fatalf("round %d: expired token returned again", round)
		}
		switch rotated := nt.RefreshToken != cur.RefreshToken; {
		case f.spec.RotatesRefreshTokens && !rotated:
			t.Errorf("round %d: refresh token not rotated", round)
		case !f.spec.RotatesRefreshTokens && rotated:
			t.Errorf("round %d: the provider rotated the refresh token, but Spec.RotatesRefreshTokens is false", round)
		}
		if !f.sim.ValidAccessToken(nt.AccessToken) {
			t.Errorf("round %d: refreshed access token is not valid at the simulator", round)
		}
		_, stored := f.stored(c.ID())
		if stored.RefreshToken != nt.RefreshToken || stored.AccessToken != nt.AccessToken {
			t.Errorf("round %d: the store does not hold the rotated token", round)
		}
		if nt.AccountID != old.AccountID {
			t.Errorf("round %d: account changed from %q to %q", round, old.AccountID, nt.AccountID)
		}
		// Use the new access token, as an application would: Doorkeeper then
		// revokes the previous refresh token.
		if h.APIPath != "" {
			resp, err := c.Client().Get(f.api())
			if err != nil {
				t.Fatalf("round %d: API call: %v", round, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("round %d: API answered %d", round, resp.StatusCode)
			}
		}
	}
	if st := f.sim.Stats(); st.Refreshes != 3 || st.RevokedReuse != 0 {
		t.Errorf("simulator: %d refreshes, %d presentations of a revoked refresh token; want 3, 0", st.Refreshes, st.RevokedReuse)
	}
}

func testStampede(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	tok, _ := c.Token(ctx)
	f.expire(tok)
	const callers = 1000
	var wg sync.WaitGroup
	got := make([]string, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t, err := c.Token(ctx)
			errs[i] = err
			if err == nil {
				got[i] = t.AccessToken
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if got[i] != got[0] {
			t.Fatalf("callers got different tokens")
		}
	}
	if n := f.sim.Stats().Refreshes; n != 1 {
		t.Errorf("%d concurrent callers made %d refreshes, want 1", callers, n)
	}
	// Another connector on the same store (another process) adopts it.
	c2, _ := connector.NewWithDriver(h.Provider, f.opts)
	defer c2.Close()
	conn2, err := c2.Connection(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	t2, err := conn2.Token(ctx)
	if err != nil || t2.AccessToken != got[0] {
		t.Errorf("a second connector did not adopt the refreshed token (err %v)", err)
	}
	if n := f.sim.Stats().Refreshes; n != 1 {
		t.Errorf("the second connector refreshed again: %d refreshes", n)
	}
}

// errorStatuses runs check against the simulator answering OAuth errors as
// Doorkeeper 5.1.0 and later do (400, 401 for invalid_client) and as
// earlier versions did (401 for everything): the engine classifies by the
// error field, so the outcome must be the same.
func errorStatuses(t *testing.T, h ProviderHarness, check func(t *testing.T, f *fixture)) {
	for _, tc := range []struct {
		name   string
		legacy bool
	}{{"Doorkeeper5.1", false}, {"BeforeDoorkeeper5.1", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, h)
			f.sim.SetLegacyErrorStatus(tc.legacy)
			check(t, f)
		})
	}
}

func testInvalidGrant(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	errorStatuses(t, h, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		c := f.authorize()
		tok := f.remember(c)
		f.sim.RevokeAll()
		f.expire(tok)
		before := f.sim.Stats().TokenRequests
		_, err := c.Token(ctx)
		wantCode(t, err, driver.ReauthRequired)
		f.noSecrets(err)
		if n := f.sim.Stats().TokenRequests - before; n != 1 {
			t.Errorf("invalid_grant: %d token requests, want exactly 1 (never retried)", n)
		}
		if n := f.reauths.Load(); n != 1 {
			t.Errorf("the NeedsReauth event came %d times, want 1", n)
		}
		rec, stored := f.stored(c.ID())
		if rec.Status != store.NeedsReauth {
			t.Errorf("stored status = %q, want needs_reauth", rec.Status)
		}
		if stored.RefreshToken != tok.RefreshToken {
			t.Error("the stored grant was changed or wiped")
		}
		_, err = c.Token(ctx)
		wantCode(t, err, driver.ReauthRequired)
		if n := f.sim.Stats().TokenRequests - before; n != 1 {
			t.Errorf("a needs_reauth connection called the token endpoint again (%d requests)", n)
		}
		// Reauthorizing makes the connection active again.
		c2 := f.authorize()
		if c2.Info().Status != store.Active {
			t.Errorf("after reauthorization status = %q", c2.Info().Status)
		}
	})
}

// testInvalidClient: a refresh with a wrong client secret is a
// configuration error, never retried, and leaves the stored grant alone.
func testInvalidClient(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	errorStatuses(t, h, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		c := f.authorize()
		tok := f.remember(c)
		f.expire(tok)
		recBefore, _ := f.stored(c.ID())
		opts := f.opts
		opts.ClientSecret = "conformance-wrong-secret-0123456789"
		wrong, err := connector.NewWithDriver(h.Provider, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer wrong.Close()
		conn, err := wrong.Connection(ctx, c.ID())
		if err != nil {
			t.Fatal(err)
		}
		before := f.sim.Stats().TokenRequests
		_, err = conn.Token(ctx)
		wantCode(t, err, driver.InvalidClient)
		f.noSecrets(err)
		if n := f.sim.Stats().TokenRequests - before; n != 1 {
			t.Errorf("invalid_client: %d token requests, want exactly 1 (never retried)", n)
		}
		recAfter, stored := f.stored(c.ID())
		if recAfter.Version != recBefore.Version || recAfter.Status != store.Active || stored.RefreshToken != tok.RefreshToken {
			t.Errorf("invalid_client changed the stored grant (status %q)", recAfter.Status)
		}
		// With the right secret the grant still refreshes.
		if _, err := c.Token(ctx); err != nil {
			t.Errorf("the grant does not refresh with the right secret: %v", err)
		}
	})
}

func testRetryAfter(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	for _, ra := range []string{"0", "1", "3600", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), "-5", "soon"} {
		t.Run(ra, func(t *testing.T) {
			f := newFixture(t, h)
			ctx := context.Background()
			c := f.authorize()
			tok, _ := c.Token(ctx)
			f.expire(tok)
			f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 429, RetryAfter: ra, Times: 2, ContentType: "application/json", Body: `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`})
			before := f.sim.Stats().TokenRequests
			nt, err := c.Token(ctx)
			if err != nil {
				t.Fatalf("Token after two 429s: %v", err)
			}
			if nt.AccessToken == tok.AccessToken {
				t.Error("token not refreshed")
			}
			if n := f.sim.Stats().TokenRequests - before; n != 3 {
				t.Errorf("%d token requests, want 3", n)
			}
		})
	}
}

func testServerErrorRetry(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	for _, st := range []int{500, 502, 503, 504} {
		t.Run(http.StatusText(st), func(t *testing.T) {
			f := newFixture(t, h)
			ctx := context.Background()
			c := f.authorize()
			tok, _ := c.Token(ctx)
			f.expire(tok)
			f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: st, Times: 2, ContentType: "text/html", Body: "<html><body><h1>Bad Gateway</h1></body></html>"})
			if _, err := c.Token(ctx); err != nil {
				t.Fatalf("Token after two %d answers: %v", st, err)
			}
			if n := f.sim.Stats().Refreshes; n != 1 {
				t.Errorf("%d refreshes, want 1", n)
			}
		})
	}
}

func testRetryBudget(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	tok := f.remember(c)
	f.expire(tok)
	recBefore, _ := f.stored(c.ID())
	f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 503, RetryAfter: "1", Times: 100, ContentType: "text/html", Body: "<html>down for maintenance</html>"})
	before := f.sim.Stats().TokenRequests
	_, err := c.Token(ctx)
	wantCode(t, err, driver.Unavailable)
	f.noSecrets(err)
	if n := f.sim.Stats().TokenRequests - before; n != f.opts.Retry.Max+1 {
		t.Errorf("%d attempts, want %d (1 + Retry.Max)", n, f.opts.Retry.Max+1)
	}
	recAfter, stored := f.stored(c.ID())
	if recAfter.Version != recBefore.Version || stored.RefreshToken != tok.RefreshToken {
		t.Error("a failed refresh changed the stored grant")
	}
	// Once the provider recovers, the stored grant still works.
	f.sim.ClearFaults()
	if _, err := c.Token(ctx); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

// testDroppedConnection: the connection closes without an answer, before
// the provider processed the refresh. The engine cannot tell that from a
// lost answer: on a replay-safe provider it retries and succeeds; otherwise
// it must not present the refresh token again.
func testDroppedConnection(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	tok, _ := c.Token(ctx)
	f.expire(tok)
	f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Drop: true, Times: 2})
	before := f.sim.Stats().TokenRequests
	_, err := c.Token(ctx)
	if !f.spec.RefreshReplaySafe {
		wantCode(t, err, driver.ReauthRequired)
		if n := f.sim.Stats().TokenRequests - before; n != 1 {
			t.Errorf("a dropped refresh on a provider that is not replay-safe: %d token requests, want exactly 1", n)
		}
		return
	}
	if err != nil {
		t.Fatalf("Token after two dropped connections: %v", err)
	}
	if n := f.sim.Stats().Refreshes; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
}

// testLostAnswer: the provider rotates the token but the answer never
// arrives. The engine must not lose the grant: on a replay-safe provider the
// retry with the previous refresh token succeeds; otherwise the refresh token
// may be spent, so the engine must not present it again: the connection ends
// needs_reauth after that one request, never in a loop of refreshes.
func testLostAnswer(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	tok := f.remember(c)
	f.expire(tok)
	f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", DropAfterProcessing: true, Times: 1})
	before := f.sim.Stats()
	nt, err := c.Token(ctx)
	if f.spec.RefreshReplaySafe {
		if err != nil {
			t.Fatalf("replay-safe provider: Token after a lost answer: %v", err)
		}
		if st := f.sim.Stats(); st.RevokedReuse != before.RevokedReuse {
			t.Errorf("the retry presented a revoked refresh token")
		}
		if !f.sim.ValidAccessToken(nt.AccessToken) {
			t.Error("the token after a lost answer is not valid")
		}
		f.expire(nt)
		if _, err := c.Token(ctx); err != nil {
			t.Errorf("the grant does not refresh after a lost answer: %v", err)
		}
		return
	}
	f.noSecrets(err)
	if err == nil {
		t.Errorf("the provider is not replay-safe (Spec.RefreshReplaySafe is false), yet Token succeeded after a lost refresh answer: the refresh token, possibly spent, was presented again")
	} else {
		wantCode(t, err, driver.ReauthRequired)
	}
	if n := f.sim.Stats().TokenRequests - before.TokenRequests; n != 1 {
		t.Errorf("after a lost answer on a provider that is not replay-safe: %d token requests, want exactly 1", n)
	}
	before = f.sim.Stats()
	for range 3 {
		c.Token(ctx)
	}
	if n := f.sim.Stats().TokenRequests - before.TokenRequests; n > 0 {
		t.Errorf("after a lost answer the engine kept refreshing (%d requests)", n)
	}
}

func testBadAnswers(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	cases := []struct {
		name  string
		fault simulator.Fault
		want  driver.Code
	}{
		{"HTMLPage", simulator.Fault{Status: 200, ContentType: "text/html", Body: "<!DOCTYPE html><html><head><title>Login</title></head><body>" + strings.Repeat("<p>please sign in</p>", 200) + "</body></html>"}, driver.BadResponse},
		{"MalformedJSON", simulator.Fault{Status: 200, ContentType: "application/json", Body: `{"access_token": "abc", "token_type":`}, driver.BadResponse},
		{"ErrorInside200", simulator.Fault{Status: 200, ContentType: "application/json", Body: `{"error":"server_error","error_description":"try later"}`}, driver.Unavailable},
		{"NoAccessToken", simulator.Fault{OmitAccessToken: true}, driver.BadResponse},
		{"NonBearerType", simulator.Fault{TokenType: "mac"}, driver.BadResponse},
		{"OverOneMiB", simulator.Fault{PadBody: 1 << 20}, driver.BadResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, h, func(o *connector.Options) { o.Retry.Max = -1 })
			ctx := context.Background()
			c := f.authorize()
			tok := f.remember(c)
			f.expire(tok)
			recBefore, _ := f.stored(c.ID())
			fault := tc.fault
			fault.Grant = "refresh_token"
			f.sim.InjectFault(fault)
			_, err := c.Token(ctx)
			wantCode(t, err, tc.want)
			f.noSecrets(err)
			var e *driver.Error
			if errors.As(err, &e) {
				if e.Status == 0 {
					t.Errorf("error carries no status: %v", err)
				}
				if len(e.Excerpt) > driver.ExcerptLimit+4 {
					t.Errorf("excerpt of %d bytes", len(e.Excerpt))
				}
			}
			if len(err.Error()) > 600 {
				t.Errorf("error text of %d bytes: the body is not reduced to an excerpt", len(err.Error()))
			}
			recAfter, stored := f.stored(c.ID())
			if recAfter.Version != recBefore.Version || stored.AccessToken != tok.AccessToken || stored.RefreshToken != tok.RefreshToken {
				t.Error("a bad answer changed the stored grant")
			}
			// The stored grant still works once the provider recovers.
			// Unless the provider rotated before the answer went bad and
			// does not keep the previous refresh token: then the grant is
			// gone, and the connection must end needs_reauth.
			processed := fault.Status == 0 && fault.Body == ""
			_, err = c.Token(ctx)
			switch {
			case err == nil:
			case processed && !f.spec.RefreshReplaySafe:
				wantCode(t, err, driver.ReauthRequired)
			default:
				t.Errorf("after recovery: %v", err)
			}
		})
	}
}

// testExchangeFaults: the token endpoint misbehaves on the code exchange
// (every provider has one, refresh tokens or not). Rate limits and server
// errors are retried within the budget; a refused client, a bad answer or
// an exhausted budget fail with their code, and nothing is stored.
func testExchangeFaults(t *testing.T, h ProviderHarness) {
	// exchange runs an authorization whose code exchange meets fault.
	exchange := func(t *testing.T, f *fixture, conn *connector.Connector, fault *simulator.Fault) (*connector.Connection, error) {
		t.Helper()
		u, err := conn.AuthCodeURL(nil)
		if err != nil {
			t.Fatalf("AuthCodeURL: %v", err)
		}
		redirect, err := f.approve(u)
		if err != nil {
			t.Fatalf("simulator refused the authorize URL %s: %v", redactQuery(u), err)
		}
		if fault != nil {
			fault.Grant = "authorization_code"
			f.sim.InjectFault(*fault)
		}
		return conn.HandleCallback(context.Background(), redirect.Query())
	}
	nothingStored := func(t *testing.T, f *fixture) {
		t.Helper()
		if list, err := f.conn.Connections(context.Background()); err != nil || len(list) != 0 {
			t.Errorf("a failed exchange stored %d connections (err %v)", len(list), err)
		}
	}
	t.Run("RetryAfter", func(t *testing.T) {
		f := newFixture(t, h)
		_, err := exchange(t, f, f.conn, &simulator.Fault{Status: 429, RetryAfter: "1", Times: 2, ContentType: "application/json", Body: `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`})
		if err != nil {
			t.Fatalf("exchange after two 429s: %v", err)
		}
		if st := f.sim.Stats(); st.TokenRequests != 3 || st.Exchanges != 1 {
			t.Errorf("%d token requests, %d exchanges; want 3, 1", st.TokenRequests, st.Exchanges)
		}
	})
	t.Run("ServerError", func(t *testing.T) {
		f := newFixture(t, h)
		_, err := exchange(t, f, f.conn, &simulator.Fault{Status: 502, Times: 2, ContentType: "text/html", Body: "<html><body><h1>Bad Gateway</h1></body></html>"})
		if err != nil {
			t.Fatalf("exchange after two 502s: %v", err)
		}
		if n := f.sim.Stats().Exchanges; n != 1 {
			t.Errorf("%d exchanges, want 1", n)
		}
	})
	t.Run("RetryBudget", func(t *testing.T) {
		f := newFixture(t, h)
		_, err := exchange(t, f, f.conn, &simulator.Fault{Status: 503, RetryAfter: "1", Times: 100, ContentType: "text/html", Body: "<html>down for maintenance</html>"})
		wantCode(t, err, driver.Unavailable)
		f.noSecrets(err)
		if n := f.sim.Stats().TokenRequests; n != f.opts.Retry.Max+1 {
			t.Errorf("%d attempts, want %d (1 + Retry.Max)", n, f.opts.Retry.Max+1)
		}
		nothingStored(t, f)
	})
	t.Run("InvalidClient", func(t *testing.T) {
		f := newFixture(t, h)
		opts := f.opts
		opts.ClientSecret = "conformance-wrong-secret-0123456789"
		wrong, err := connector.NewWithDriver(h.Provider, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer wrong.Close()
		_, err = exchange(t, f, wrong, nil)
		f.noSecrets(err)
		if signsCallbacks(f.sim) {
			// The provider signs the callback with the app's secret: a
			// connector with another secret refuses the callback itself,
			// before any token request.
			wantCode(t, err, driver.InvalidState)
			if n := f.sim.Stats().TokenRequests; n != 0 {
				t.Errorf("a callback signed with another secret: %d token requests, want none", n)
			}
			// The token endpoint's refusal: the app's secret is replaced
			// at the provider after the callback was signed.
			u, uerr := f.conn.AuthCodeURL(nil)
			if uerr != nil {
				t.Fatal(uerr)
			}
			redirect, aerr := f.approve(u)
			if aerr != nil {
				t.Fatalf("simulator refused the authorize URL %s: %v", redactQuery(u), aerr)
			}
			f.sim.AddClient(testClientID, "conformance-replaced-secret-0123456789", f.opts.RedirectURL)
			_, err = f.conn.HandleCallback(context.Background(), redirect.Query())
		}
		wantCode(t, err, driver.InvalidClient)
		f.noSecrets(err)
		if n := f.sim.Stats().TokenRequests; n != 1 {
			t.Errorf("invalid_client: %d token requests, want exactly 1 (never retried)", n)
		}
		nothingStored(t, f)
	})
	for _, tc := range []struct {
		name  string
		fault simulator.Fault
		want  driver.Code
	}{
		{"HTMLPage", simulator.Fault{Status: 200, ContentType: "text/html", Body: "<!DOCTYPE html><html><body>" + strings.Repeat("<p>please sign in</p>", 200) + "</body></html>"}, driver.BadResponse},
		{"MalformedJSON", simulator.Fault{Status: 200, ContentType: "application/json", Body: `{"access_token": "abc", "token_type":`}, driver.BadResponse},
		{"NoAccessToken", simulator.Fault{OmitAccessToken: true}, driver.BadResponse},
		{"NonBearerType", simulator.Fault{TokenType: "mac"}, driver.BadResponse},
		{"OverOneMiB", simulator.Fault{PadBody: 1 << 20}, driver.BadResponse},
	} {
		t.Run("BadAnswer/"+tc.name, func(t *testing.T) {
			f := newFixture(t, h, func(o *connector.Options) { o.Retry.Max = -1 })
			fault := tc.fault
			_, err := exchange(t, f, f.conn, &fault)
			wantCode(t, err, tc.want)
			f.noSecrets(err)
			if err != nil && len(err.Error()) > 600 {
				t.Errorf("error text of %d bytes: the body is not reduced to an excerpt", len(err.Error()))
			}
			nothingStored(t, f)
		})
	}
}

// persistCheck wraps the fixture's store to see what was written before the
// engine returned.
type persistCheck struct {
	store.Store
	mu     sync.Mutex
	writes int
}

func (p *persistCheck) Put(ctx context.Context, r *store.Record, fence int64) (int64, error) {
	v, err := p.Store.Put(ctx, r, fence)
	if err == nil {
		p.mu.Lock()
		p.writes++
		p.mu.Unlock()
	}
	return v, err
}

// PutUnlock counts a write that also releases the refresh's lease, in a
// store that makes both in one call.
func (p *persistCheck) PutUnlock(ctx context.Context, r *store.Record, l *store.Lease) (int64, error) {
	pu, ok := p.Store.(interface {
		PutUnlock(context.Context, *store.Record, *store.Lease) (int64, error)
	})
	if !ok {
		return 0, errors.New("conformance: the store has no PutUnlock")
	}
	v, err := pu.PutUnlock(ctx, r, l)
	if err == nil {
		p.mu.Lock()
		p.writes++
		p.mu.Unlock()
	}
	return v, err
}

func (p *persistCheck) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

func testPersistBeforeReturn(t *testing.T, h ProviderHarness) {
	pc := &persistCheck{}
	f := newFixture(t, h, func(o *connector.Options) {
		pc.Store = o.Store
		o.Store = pc
	})
	ctx := context.Background()
	c := f.authorize()
	if pc.count() != 1 {
		t.Errorf("Exchange returned after %d writes, want 1", pc.count())
	}
	if !f.expires() || !f.canRefresh() {
		needsRefresh(t, h)
	}
	tok, _ := c.Token(ctx)
	f.expire(tok)
	nt, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pc.count() != 2 {
		t.Errorf("refresh returned after %d writes, want 2", pc.count())
	}
	_, stored := f.stored(c.ID())
	if stored.AccessToken != nt.AccessToken {
		t.Error("the returned token is not the persisted one")
	}
}

func testClient(t *testing.T, h ProviderHarness) {
	if h.APIPath == "" {
		t.Fatal("ProviderHarness.APIPath is not set, so the API client cannot be checked: set it to a GET path under the API base that a valid token may read (Jumpseller \"store/info.json\", SHOPLINE \"token/info\")")
	}
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	api := f.api()
	resp, err := c.Client().Get(api)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("API answered %d", resp.StatusCode)
	}
	// 429 on an idempotent request is retried.
	f.sim.InjectFault(simulator.Fault{Path: "/api/", Status: 429, RetryAfter: "0", Times: 1, ContentType: "application/json", Body: `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`})
	resp, err = c.Client().Get(api)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after one 429 the API answered %d, want 200", resp.StatusCode)
	}
	// A 401 forces one refresh and one retry; without refresh tokens it
	// ends the grant, without a token request.
	f.sim.InjectFault(simulator.Fault{Path: "/api/", Status: 401, Times: 1, ContentType: "application/json", Body: `{"error":"invalid_token"}`})
	if !f.canRefresh() {
		requests := f.sim.Stats().TokenRequests
		resp, err := c.Client().Get(api)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("after a 401, without refresh tokens, the API answered %d, want reauth_required", resp.StatusCode)
		}
		wantCode(t, err, driver.ReauthRequired)
		f.noSecrets(err)
		if n := f.sim.Stats().TokenRequests - requests; n != 0 {
			t.Errorf("a 401 made %d token requests, but the provider issues no refresh tokens", n)
		}
		return
	}
	before := f.sim.Stats().Refreshes
	resp, err = c.Client().Get(api)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after a 401 the API answered %d, want 200", resp.StatusCode)
	}
	if n := f.sim.Stats().Refreshes - before; n != 1 {
		t.Errorf("a 401 caused %d refreshes, want 1", n)
	}
	// The oauth2.TokenSource view gives the same token.
	ot, err := c.TokenSource(ctx).Token()
	cur, _ := c.Token(ctx)
	if err != nil || ot.AccessToken != cur.AccessToken || ot.RefreshToken != "" {
		t.Errorf("TokenSource: %v", err)
	}
}

func testRevoke(t *testing.T, h ProviderHarness) {
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	tok := f.remember(c)
	err := c.Revoke(ctx)
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if f.conn.CanRevoke() {
		if n := f.sim.Stats().Revokes; n != 1 {
			t.Errorf("simulator saw %d revocations, want 1", n)
		}
		if f.sim.ValidAccessToken(tok.AccessToken) {
			t.Error("the access token is still valid at the provider after Revoke")
		}
	} else if f.sim.Config().Revoke {
		t.Error("the provider has a revocation endpoint but the driver does not use it")
	}
	rec, _ := f.stored(c.ID())
	if rec.Status != store.Revoked {
		t.Errorf("status after Revoke = %q, want revoked", rec.Status)
	}
	if f.expires() {
		f.expire(tok)
	}
	before := f.sim.Stats().TokenRequests
	_, err = c.Token(ctx)
	wantCode(t, err, driver.ReauthRequired)
	if n := f.sim.Stats().TokenRequests - before; n != 0 {
		t.Errorf("a revoked connection called the token endpoint %d times", n)
	}
	if f.conn.CanRevoke() {
		t.Run("IdleGrant", func(t *testing.T) { testRevokeIdleGrant(t, h) })
	}
}

// testRevokeIdleGrant: a grant refreshed twice without its new access
// tokens being used (Doorkeeper keeps each previous row alive until then),
// revoked after its access token expired (Doorkeeper revokes only
// unexpired rows): afterwards no refresh token works at the provider.
func testRevokeIdleGrant(t *testing.T, h ProviderHarness) {
	needsRefresh(t, h)
	f := newFixture(t, h)
	ctx := context.Background()
	c := f.authorize()
	tok := f.remember(c)
	for range 2 {
		f.expire(tok)
		if tok = f.remember(c); tok == nil {
			t.Fatal("refresh failed")
		}
	}
	f.expire(tok)
	if err := c.Revoke(ctx); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if n := f.sim.LiveRefreshTokens(); n != 0 {
		t.Errorf("%d refresh tokens of the grant still work at the provider after Revoke, want 0", n)
	}
}
