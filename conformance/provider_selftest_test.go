package conformance_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
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
	name     string
	provider driver.Provider
	sim      func() *simulator.Server
	apiPath  string
	mustFail []string // subtests that must fail
}

func brokenDrivers() []brokenCase {
	js, sl := jumpseller.Provider, shopline.Provider
	jsSim := func() *simulator.Server { return jumpseller.NewSimulator() }
	slSim := func() *simulator.Server { return shopline.NewSimulator() }
	return []brokenCase{
		{
			name:     "shopline-form-body",
			provider: &broken{Provider: sl, spec: specWith(sl, func(s *driver.Spec) { s.Token.Format = driver.Form })},
			sim:      slSim, apiPath: "token/info",
			mustFail: []string{"Exchange", "RefreshAndRotation", "Stampede"},
		},
		{
			name:     "jumpseller-json-body",
			provider: &broken{Provider: js, spec: specWith(js, func(s *driver.Spec) { s.Token.Format = driver.JSON })},
			sim:      jsSim, apiPath: "store/info.json",
			mustFail: []string{"Exchange", "RefreshAndRotation"},
		},
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
			name:     "drops-revoke-endpoint",
			provider: &broken{Provider: sl, spec: specWith(sl, func(s *driver.Spec) { s.Endpoint.RevokeURL = "" })},
			sim:      slSim, apiPath: "token/info",
			mustFail: []string{"Revoke"},
		},
		{
			name:     "shopline-refresh-without-redirect-uri",
			provider: &broken{Provider: sl, spec: specWith(sl, func(s *driver.Spec) { s.RefreshSendsRedirectURI = false })},
			sim:      slSim, apiPath: "token/info",
			mustFail: []string{"RefreshAndRotation"},
		},
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
			conformance.TestProvider(t, conformance.ProviderHarness{Provider: bc.provider, NewSimulator: bc.sim, APIPath: bc.apiPath})
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
	for _, h := range []conformance.ProviderHarness{
		{Provider: jumpseller.Provider, APIPath: "store/info.json"},
		{Provider: shopline.Provider, APIPath: "token/info"},
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
