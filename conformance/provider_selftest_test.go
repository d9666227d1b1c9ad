package conformance_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/providers/shoplineglobal"
	"github.com/connector-go/connector/simulator"
)

// The suite checks itself: each broken driver below must fail it, in the
// subtests named. The suite runs in a child process (this test binary,
// re-executed) so that its failures fail the child, not this test.

// broken wraps a working driver and changes one thing.
type broken struct {
	driver.Provider
	spec     *driver.Spec
	parse    func(r *driver.TokenResponse) (*driver.Token, error)
	identify func(ctx context.Context, env *driver.Env, tok *driver.Token) (string, error)
	refresh  func(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error)
}

func (b *broken) Spec() *driver.Spec {
	if b.spec != nil {
		return b.spec
	}
	return b.Provider.Spec()
}

func (b *broken) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	if b.parse != nil {
		return b.parse(r)
	}
	return b.Provider.ParseToken(r)
}

func (b *broken) Identify(ctx context.Context, env *driver.Env, tok *driver.Token) (string, error) {
	if b.identify != nil {
		return b.identify(ctx, env, tok)
	}
	return b.Provider.Identify(ctx, env, tok)
}

// brokenRefresher adds a Refresher to a broken driver.
type brokenRefresher struct{ *broken }

func (b brokenRefresher) Refresh(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error) {
	return b.refresh(ctx, env, tok)
}

func specWith(p driver.Provider, change func(*driver.Spec)) *driver.Spec {
	s := *p.Spec()
	change(&s)
	return &s
}

type brokenCase struct {
	name      string
	provider  driver.Provider
	sim       func() *simulator.Server
	simulator func() conformance.Simulator // a translating simulator, instead of sim
	apiPath   string
	scopes    []string // requested; by default the suite's
	mustFail  []string // subtests that must fail
}

func brokenDrivers() []brokenCase {
	js, sl := jumpseller.Provider, shopline.Provider
	jsSim := func() *simulator.Server { return jumpseller.NewSimulator() }
	slSim := func() *simulator.Server { return shopline.NewSimulator() }
	// spec breaks one fact of a driver's Spec and nothing else: its
	// simulator states the provider's facts itself, so the suite must catch
	// every one.
	spec := func(name string, p driver.Provider, change func(*driver.Spec), mustFail ...string) brokenCase {
		bc := brokenCase{name: name, provider: &broken{Provider: p, spec: specWith(p, change)}, mustFail: mustFail}
		if p == js {
			bc.sim, bc.apiPath = jsSim, "store/info.json"
		} else {
			bc.sim, bc.apiPath = slSim, "token/info"
		}
		return bc
	}
	cases := []brokenCase{
		// Spec only.
		spec("shopline-form-body", sl, func(s *driver.Spec) { s.Token.Format = driver.Form },
			"WireFacts", "Exchange", "RefreshAndRotation", "Stampede"),
		spec("jumpseller-json-body", js, func(s *driver.Spec) { s.Token.Format = driver.JSON },
			"WireFacts", "Exchange", "RefreshAndRotation"),
		spec("jumpseller-basic-auth", js, func(s *driver.Spec) { s.Token.Auth = driver.Basic },
			"WireFacts", "Exchange", "RefreshAndRotation"),
		spec("shopline-basic-auth", sl, func(s *driver.Spec) { s.Token.Auth = driver.Basic },
			"WireFacts", "Exchange", "RefreshAndRotation"),
		spec("shopline-revoke-credentials-in-body", sl, func(s *driver.Spec) { s.Revoke.Auth = driver.InBody },
			"WireFacts", "Revoke"),
		spec("shopline-revoke-as-form", sl, func(s *driver.Spec) { s.Revoke.Format = driver.Form },
			"WireFacts", "Revoke"),
		spec("drops-revoke-endpoint", sl, func(s *driver.Spec) { s.Endpoint.RevokeURL = "" },
			"WireFacts", "Revoke"),
		spec("shopline-refresh-without-redirect-uri", sl, func(s *driver.Spec) { s.RefreshSendsRedirectURI = false },
			"WireFacts", "RefreshAndRotation"),
		spec("jumpseller-refresh-with-redirect-uri", js, func(s *driver.Spec) { s.RefreshSendsRedirectURI = true },
			"WireFacts", "RefreshAndRotation"),
		spec("jumpseller-wrong-token-path", js, func(s *driver.Spec) { s.Endpoint.TokenURL = "https://accounts.jumpseller.com/oauth/access_token" },
			"WireFacts", "Exchange"),
		spec("jumpseller-wrong-authorize-path", js, func(s *driver.Spec) { s.Endpoint.AuthURL = "https://accounts.jumpseller.com/oauth/authorise" },
			"WireFacts", "AuthCodeURL", "Exchange"),
		spec("jumpseller-wrong-token-host", js, func(s *driver.Spec) { s.Endpoint.TokenURL = "https://api.jumpseller.com/oauth/token" },
			"WireFacts"),
		spec("shopline-wrong-api-base", sl, func(s *driver.Spec) { s.Endpoint.APIBaseURL = "https://open.shopline.io/v2/" },
			"WireFacts", "Client"),
		spec("shopline-no-user-agent", sl, func(s *driver.Spec) { s.APIHeaders = nil },
			"WireFacts", "Client"),
		spec("jumpseller-misspelt-scope", js, func(s *driver.Spec) {
			s.Scopes = append(slices.Clone(s.Scopes[:len(s.Scopes)-1]), "write_store_setups")
		}, "WireFacts"),
		spec("jumpseller-scopes-joined-by-commas", js, func(s *driver.Spec) { s.ScopeSeparator = "," },
			"WireFacts", "Exchange"),
		spec("shopline-code-lifetime", sl, func(s *driver.Spec) { s.CodeLifetime = 300 * time.Second },
			"WireFacts", "Exchange"),
		spec("shopline-default-lifetime", sl, func(s *driver.Spec) { s.DefaultLifetime = time.Hour },
			"WireFacts"),
		spec("shopline-refresh-token-lifetime", sl, func(s *driver.Spec) { s.RefreshTokenLifetimeAfterExpiry = 0 },
			"WireFacts"),
		spec("jumpseller-not-replay-safe", js, func(s *driver.Spec) { s.RefreshReplaySafe = false },
			"WireFacts"),
		spec("jumpseller-no-rotation", js, func(s *driver.Spec) { s.RotatesRefreshTokens = false },
			"RefreshAndRotation"),
		spec("jumpseller-rate-limit-headers", js, func(s *driver.Spec) { s.RateLimitHeaders = s.RateLimitHeaders[:2] },
			"WireFacts"),
		spec("jumpseller-display-name", js, func(s *driver.Spec) { s.DisplayName = "JumpSeller" },
			"WireFacts"),
		spec("jumpseller-claims-no-refresh-tokens", js, func(s *driver.Spec) { s.NoRefreshTokens = true },
			"WireFacts"),

		// Code.
		{
			name: "ignores-rotation",
			provider: &broken{Provider: js, parse: func(r *driver.TokenResponse) (*driver.Token, error) {
				t, err := js.ParseToken(r)
				if err == nil && r.Grant == "refresh_token" {
					t.RefreshToken = "" // the engine then keeps the previous one
				}
				return t, err
			}},
			sim: jsSim, apiPath: "store/info.json",
			mustFail: []string{"RefreshAndRotation"},
		},
		{
			name: "misnamed-resource-owner-id",
			provider: &broken{Provider: sl,
				parse: func(r *driver.TokenResponse) (*driver.Token, error) {
					t, err := driver.ParseStandardToken(sl.Spec(), r)
					if err == nil {
						t.AccountID, _ = t.Extra["resource_owner"].(string)
					}
					return t, err
				},
				identify: func(_ context.Context, _ *driver.Env, tok *driver.Token) (string, error) { return tok.AccountID, nil },
			},
			sim: slSim, apiPath: "token/info",
			mustFail: []string{"Normalisation", "Identity"},
		},
		{
			// The account is lifted, but a copy stays in Extra.
			name: "shopline-account-left-in-extra",
			provider: &broken{Provider: sl, parse: func(r *driver.TokenResponse) (*driver.Token, error) {
				t, err := driver.ParseStandardToken(sl.Spec(), r)
				if err == nil {
					t.AccountID, _ = t.Extra["resource_owner_id"].(string)
				}
				return t, err
			}},
			sim: slSim, apiPath: "token/info",
			mustFail: []string{"Normalisation"},
		},
		{
			name: "misnamed-refresh-grant",
			provider: brokenRefresher{&broken{Provider: js, refresh: func(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error) {
				req, err := driver.NewTokenRequest(ctx, env.Config.Endpoint.TokenURL, js.Spec().Token, env.Config,
					url.Values{"grant_type": {"refresh"}, "refresh_token": {tok.RefreshToken}})
				if err != nil {
					return nil, err
				}
				r, err := driver.DoToken(env, req, "refresh_token", tok.Scopes, tok)
				if err != nil {
					return nil, err
				}
				return js.ParseToken(r)
			}}},
			sim: jsSim, apiPath: "store/info.json",
			mustFail: []string{"RefreshAndRotation", "Stampede"},
		},
		{
			name: "accepts-non-bearer",
			provider: &broken{Provider: js, parse: func(r *driver.TokenResponse) (*driver.Token, error) {
				r.Body = regexp.MustCompile(`"token_type":\s*"[^"]*"`).ReplaceAll(r.Body, []byte(`"token_type":"bearer"`))
				return js.ParseToken(r)
			}},
			sim: jsSim, apiPath: "store/info.json",
			mustFail: []string{"BadAnswers/NonBearerType"},
		},
		{
			// token_type compared case-sensitively: Jumpseller sends "bearer".
			name: "jumpseller-token-type-case-sensitive",
			provider: &broken{Provider: js, parse: func(r *driver.TokenResponse) (*driver.Token, error) {
				var a struct {
					TokenType string `json:"token_type"`
				}
				if json.Unmarshal(r.Body, &a) == nil && a.TokenType != "" && a.TokenType != "Bearer" {
					return nil, &driver.Error{Code: driver.BadResponse, Op: "exchange", Provider: "jumpseller", Msg: "token type " + a.TokenType + " is not Bearer"}
				}
				return js.ParseToken(r)
			}},
			sim: jsSim, apiPath: "store/info.json",
			mustFail: []string{"Exchange", "Normalisation"},
		},
		{
			// Says the provider is not replay-safe, then presents the
			// refresh token again itself after a lost answer.
			name: "replays-when-not-replay-safe",
			provider: brokenRefresher{&broken{Provider: js,
				spec: specWith(js, func(s *driver.Spec) { s.RefreshReplaySafe = false }),
				refresh: func(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error) {
					nt, err := driver.StandardRefresh(ctx, env, tok)
					if driver.CodeOf(err) == driver.RefreshUncertain {
						return driver.StandardRefresh(ctx, env, tok)
					}
					return nt, err
				}}},
			sim: jsSim, apiPath: "store/info.json",
			mustFail: []string{"WireFacts", "DroppedConnection", "LostAnswer"},
		},
		{
			name:     "no-api-path",
			provider: js,
			sim:      jsSim, apiPath: "",
			mustFail: []string{"Client"},
		},
	}
	cases = append(cases, brokenBrowserLegs()...)
	return append(cases, brokenProfiles()...)
}

// browserLeg is SHOPLINE's global platform with every hook of its driver
// (the broken wrapper hides them), its Authorizer or CallbackReader
// replaced when set.
type browserLeg struct {
	driver.Provider
	spec      *driver.Spec
	authorize func(env *driver.Env, standard *url.URL) (string, error)
	read      func(env *driver.Env, q url.Values) (url.Values, error)
}

func (b browserLeg) Spec() *driver.Spec {
	if b.spec != nil {
		return b.spec
	}
	return b.Provider.Spec()
}

func (b browserLeg) AuthorizeURL(env *driver.Env, standard *url.URL) (string, error) {
	if b.authorize != nil {
		return b.authorize(env, standard)
	}
	return b.Provider.(driver.Authorizer).AuthorizeURL(env, standard)
}

func (b browserLeg) ReadCallback(env *driver.Env, q url.Values) (url.Values, error) {
	if b.read != nil {
		return b.read(env, q)
	}
	return b.Provider.(driver.CallbackReader).ReadCallback(env, q)
}

func (b browserLeg) Exchange(ctx context.Context, env *driver.Env, callback url.Values) (*driver.Token, error) {
	return b.Provider.(driver.Exchanger).Exchange(ctx, env, callback)
}

func (b browserLeg) Refresh(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error) {
	return b.Provider.(driver.Refresher).Refresh(ctx, env, tok)
}

// withoutBrowserHooks is SHOPLINE's global platform whose browser leg is
// the engine's standard one: its Exchanger and Refresher only.
type withoutBrowserHooks struct{ driver.Provider }

func (w withoutBrowserHooks) Exchange(ctx context.Context, env *driver.Env, callback url.Values) (*driver.Token, error) {
	return w.Provider.(driver.Exchanger).Exchange(ctx, env, callback)
}

func (w withoutBrowserHooks) Refresh(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error) {
	return w.Provider.(driver.Refresher).Refresh(ctx, env, tok)
}

// brokenBrowserLegs are SHOPLINE's global platform's driver broken in its
// driver.Authorizer or driver.CallbackReader: the suite drives them through
// the engine's AuthURL and HandleCallback, and must fail each.
func brokenBrowserLegs() []brokenCase {
	sg, err := shoplineglobal.ForShop("open001")
	if err != nil {
		panic(err)
	}
	sgSim := func() conformance.Simulator { return shoplineglobal.NewSimulator("open001") }
	sgScopes := []string{"read_store_information", "read_products"}
	real := sg.(driver.Authorizer)
	// fragmentQuery edits the parameters after the page URL's fragment.
	fragmentQuery := func(u string, edit func(url.Values)) string {
		page, query, _ := strings.Cut(u, "?")
		q, _ := url.ParseQuery(query)
		edit(q)
		return page + "?" + q.Encode()
	}
	leg := func(name string, b browserLeg, mustFail ...string) brokenCase {
		b.Provider = sg
		return brokenCase{name: name, provider: b, simulator: sgSim, apiPath: "merchants/shop.json", scopes: sgScopes, mustFail: mustFail}
	}
	return []brokenCase{
		// The Authorizer drops the state: the callback carries none.
		leg("shoplineglobal-authorizer-drops-state", browserLeg{authorize: func(env *driver.Env, u *url.URL) (string, error) {
			s, err := real.AuthorizeURL(env, u)
			return fragmentQuery(s, func(q url.Values) { q.Del("customField") }), err
		}}, "AuthCodeURL", "State", "Exchange"),
		// The Authorizer sends the scopes joined by spaces, not commas.
		leg("shoplineglobal-authorizer-space-scopes", browserLeg{authorize: func(env *driver.Env, u *url.URL) (string, error) {
			s, err := real.AuthorizeURL(env, u)
			return fragmentQuery(s, func(q url.Values) { q.Set("scope", strings.ReplaceAll(q.Get("scope"), ",", " ")) }), err
		}}, "AuthCodeURL"),
		// The CallbackReader does not read customField as the state.
		leg("shoplineglobal-reader-ignores-customfield", browserLeg{read: func(_ *driver.Env, q url.Values) (url.Values, error) {
			return q, nil
		}}, "AuthCodeURL", "State", "Exchange"),
		// The CallbackReader trusts any callback: a tampered one is
		// exchanged.
		leg("shoplineglobal-reader-skips-sign", browserLeg{read: func(_ *driver.Env, q url.Values) (url.Values, error) {
			out := url.Values{}
			for k, v := range q {
				out[k] = v
			}
			out.Set("state", q.Get("customField"))
			return out, nil
		}}, "State"),
		// No browser hooks: the engine's standard URL, which SHOPLINE's
		// page does not take.
		// Its Spec says what the standard helpers send, not what it does.
		leg("shoplineglobal-credentials-in-body", browserLeg{spec: specWith(sg, func(s *driver.Spec) { s.Token.Auth = driver.InBody })},
			"WireFacts"),
		leg("shoplineglobal-claims-refresh-tokens", browserLeg{spec: specWith(sg, func(s *driver.Spec) { s.NoRefreshTokens = false })},
			"WireFacts"),
		{name: "shoplineglobal-without-browser-hooks", provider: withoutBrowserHooks{sg}, simulator: sgSim, apiPath: "merchants/shop.json", scopes: sgScopes,
			mustFail: []string{"AuthCodeURL", "State", "Exchange"}},
	}
}

// brokenProfiles are catalog profiles' drivers broken in what only a
// translating simulator states: tokens that never expire, no refresh
// tokens, the driver hooks.
func brokenProfiles() []brokenCase {
	profileCase := func(name, provider string, wrap func(d driver.Provider) driver.Provider, mustFail ...string) brokenCase {
		ex := profile.Lookup(provider).Example()
		d := ex.Driver()
		return brokenCase{name: name, provider: wrap(d), mustFail: mustFail,
			simulator: func() conformance.Simulator { return ex.Simulator() },
			apiPath:   d.(driver.Prober).ProbePath(ex.Sample.Account)}
	}
	return []brokenCase{
		// Ecwid's tokens never expire; this driver gives them an hour.
		profileCase("ecwid-invents-expiry", "ecwid", func(d driver.Provider) driver.Provider {
			return &broken{Provider: d, parse: func(r *driver.TokenResponse) (*driver.Token, error) {
				t, err := d.ParseToken(r)
				if err == nil {
					t.Expiry = time.Now().Add(time.Hour)
				}
				return t, err
			}}
		}, "Normalisation", "Lifetime"),
		// Ecwid issues no refresh tokens; this driver makes one up.
		profileCase("ecwid-invents-refresh-token", "ecwid", func(d driver.Provider) driver.Provider {
			return &broken{Provider: d, parse: func(r *driver.TokenResponse) (*driver.Token, error) {
				t, err := d.ParseToken(r)
				if err == nil {
					t.RefreshToken = "invented-refresh-token"
				}
				return t, err
			}}
		}, "Normalisation"),
		// Without its Exchanger and APIAuthorizer (the wrapper hides
		// them), BigCommerce's code exchange lacks the callback's context
		// and its API calls carry the token as Bearer.
		profileCase("bigcommerce-without-hooks", "bigcommerce", func(d driver.Provider) driver.Provider {
			return &broken{Provider: d}
		}, "Exchange", "Client"),
		// Square keeps its refresh token; this driver says it rotates.
		profileCase("square-claims-rotation", "square", func(d driver.Provider) driver.Provider {
			return brokenRefresher{&broken{Provider: d, spec: specWith(d, func(s *driver.Spec) { s.RotatesRefreshTokens = true }),
				refresh: d.(driver.Refresher).Refresh}}
		}, "RefreshAndRotation"),
	}
}

const childEnv = "CONFORMANCE_BROKEN_DRIVER"

// TestBrokenDriverChild runs the suite on one broken driver when re-executed
// by TestSuiteFailsBrokenDrivers; otherwise it returns at once.
func TestBrokenDriverChild(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		return
	}
	for _, bc := range brokenDrivers() {
		if bc.name == name {
			conformance.TestProvider(t, conformance.ProviderHarness{Provider: bc.provider, NewSimulator: bc.sim, Simulator: bc.simulator, APIPath: bc.apiPath, Scopes: bc.scopes})
			return
		}
	}
	t.Fatalf("no broken driver %q", name)
}

func TestSuiteFailsBrokenDrivers(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		return
	}
	for _, bc := range brokenDrivers() {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenDriverChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+bc.name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed the broken driver %s:\n%s", bc.name, tail(out))
			}
			for _, sub := range bc.mustFail {
				if !strings.Contains(string(out), "--- FAIL: TestBrokenDriverChild/"+sub+" ") {
					t.Errorf("subtest %s did not fail for %s:\n%s", sub, bc.name, tail(out))
				}
			}
		})
	}
}

// TestSuitePassesGoodDrivers is the other half of the self-check: the
// unbroken drivers pass in a child exactly as they do in their packages.
func TestSuitePassesGoodDrivers(t *testing.T) {
	sg, err := shoplineglobal.ForShop("open001")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []conformance.ProviderHarness{
		{Provider: jumpseller.Provider, APIPath: "store/info.json"},
		{Provider: shopline.Provider, APIPath: "token/info"},
		{Provider: sg, APIPath: "merchants/shop.json", Scopes: []string{"read_store_information", "read_products"},
			Simulator: func() conformance.Simulator { return shoplineglobal.NewSimulator("open001") }},
		// Its hooks reached through a wrapper, as a third party's would be.
		{Provider: browserLeg{Provider: sg}, APIPath: "merchants/shop.json", Scopes: []string{"read_products"},
			Simulator: func() conformance.Simulator { return shoplineglobal.NewSimulator("open001") }},
	} {
		t.Run(h.Provider.Spec().Name, func(t *testing.T) { conformance.TestProvider(t, h) })
	}
}

func tail(out []byte) string {
	lines := strings.Split(string(out), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// strictJumpseller is Jumpseller as if its Doorkeeper had no
// previous_refresh_token column: the driver says so, and so does the
// simulator.
type strictJumpseller struct{ driver.Provider }

func (p strictJumpseller) Spec() *driver.Spec {
	s := *p.Provider.Spec()
	s.RefreshReplaySafe = false
	return &s
}

// TestSuitePassesStrictRotation: a driver for a provider that is not
// replay-safe passes against a simulator that rotates strictly.
func TestSuitePassesStrictRotation(t *testing.T) {
	conformance.TestProvider(t, conformance.ProviderHarness{
		Provider: strictJumpseller{jumpseller.Provider},
		NewSimulator: func() *simulator.Server {
			s := jumpseller.NewSimulator()
			s.SetStrictRotation(true)
			return s
		},
		APIPath: "store/info.json",
	})
}
