package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/store"
)

type demoOptions struct {
	provider string
}

func demoCommand() *command {
	o := &demoOptions{}
	return &command{
		name:     "demo",
		global:   verboseOnly,
		args:     "[--provider NAME|all]",
		summary:  "run the whole OAuth lifecycle offline against the simulators, in a temporary store, step by step",
		examples: []string{"connector demo", "connector demo --provider shopify", "connector demo --provider all"},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.provider, "provider", "", "run the provider `NAME` (any that connector providers lists), or all of them (default: the Go drivers, those that are not profiles)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("demo takes no arguments, got %q", args[0])
			}
			return runDemo(ctx, e, o)
		},
	}
}

// demoClock is the fake clock the demo shares between the connector and the
// simulators, so that it can move time past a token's expiry.
type demoClock = testclock.Clock

// demoProviders are the providers the demo runs: the one named, all of
// them, or by default the Go drivers (the catalog's profiles run with
// --provider NAME or all).
func demoProviders(only string) []string {
	switch strings.ToLower(strings.TrimSpace(only)) {
	case "":
	case "all":
		return connector.Providers()
	default:
		return []string{only}
	}
	var names []string
	for _, n := range connector.Providers() {
		if p, err := connector.Lookup(n); err == nil && profile.FromDriver(p) == nil {
			names = append(names, n)
		}
	}
	return names
}

func runDemo(ctx context.Context, e *env, o *demoOptions) error {
	sims, err := simulated(demoProviders(o.provider)...)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "connector-demo-")
	if err != nil {
		return failf(err, "cannot create a temporary directory")
	}
	defer os.RemoveAll(dir)
	location, kind := "memory://demo-"+filepath.Base(dir), "an in-memory store"
	if slices.Contains(store.Schemes(), "file") {
		location, kind = filepath.Join(dir, "connector.db"), "a temporary SQLite file"
	}
	out := e.Out
	fmt.Fprintln(out, "connector demo: the whole OAuth 2 lifecycle, offline, against the provider simulators.")
	fmt.Fprintf(out, "Connections go to %s (%s), deleted at the end.\n", kind, location)
	fmt.Fprintln(out, "Tokens, codes and secrets are shown only as #fingerprints: the first 6 hex digits of their SHA-256.")
	rotatedAll := true
	for _, sp := range sims {
		rotated, err := demoProvider(ctx, e, sp, location)
		if err != nil {
			return err
		}
		rotatedAll = rotatedAll && rotated
	}
	st, _, err := store.Open(ctx, location)
	if err != nil {
		return err
	}
	defer st.Close()
	recs, err := connector.ListConnections(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nThe store now holds (as `connector connections` shows it):")
	if err := writeConnections(&indented{w: out, prefix: "    "}, recs, true); err != nil {
		return err
	}
	if rotatedAll {
		fmt.Fprintln(out, "\nDone: authorize, exchange, identify, API call, expiry, refresh with rotation and revoke, all offline.")
	} else {
		fmt.Fprintln(out, "\nDone: authorize, exchange, identify, API call, each provider's token lifetime (expiry and refresh where its tokens expire) and revoke, all offline.")
	}
	fmt.Fprintln(out, "Next: `connector sandbox` serves the same simulators for your own tries (docs/cli.md).")
	return nil
}

// demoProvider runs the lifecycle against one provider's simulator. It
// reports whether the provider's tokens expired, were refreshed and
// rotated. The API path, the wire formats and the token's lifetime come
// from the driver (driver.Prober, its Spec or profile) and the answers,
// never from a list of providers.
func demoProvider(ctx context.Context, e *env, sp simProvider, location string) (bool, error) {
	out := e.Out
	display := sp.spec.DisplayName
	n := 0
	step := func(format string, args ...any) {
		n++
		text := fmt.Sprintf(format, args...)
		fmt.Fprintf(out, "%2d. %s\n", n, strings.ReplaceAll(text, "\n", "\n    "))
	}
	fmt.Fprintf(out, "\n== %s ==\n", display)

	// 1. The simulator, on a shared fake clock.
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	sp.sim.SetClock(clock.Now)
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, failf(err, "cannot listen for the simulator")
	}
	simSrv := &http.Server{Handler: sp.sim, ReadHeaderTimeout: 10 * time.Second}
	go simSrv.Serve(simLn) //nolint:errcheck // ends with Close
	defer simSrv.Close()
	base := "http://" + simLn.Addr().String()
	step("Started the %s simulator at %s: an OAuth server and API that behave like %s on the wire.", display, base, display)

	// 2. The app, its redirect URI and the local callback server.
	cbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, failf(err, "cannot listen for the callback")
	}
	callback := "http://" + cbLn.Addr().String() + "/callback"
	secret := randomSecret()
	e.secrets = append(e.secrets, secret)
	sp.sim.AddClient("demo-app", secret, callback)
	step("Registered the app demo-app with the simulator, with redirect URI %s\n(a local callback server listens there, as `connector auth` does).", callback)

	// 3. A connector from a connection string.
	dsn, err := simulatorDSN(sp, sp.sim.Endpoint(base), "demo-app", secret, callback, location)
	if err != nil {
		cbLn.Close()
		return false, err
	}
	p, err := connstr.Parse(dsn)
	if err != nil {
		cbLn.Close()
		return false, err
	}
	c, err := e.open(ctx, p, func(o *connector.Options) { o.Clock = clock.Now })
	if err != nil {
		cbLn.Close()
		return false, err
	}
	defer c.Close()
	step("Opened a connector from this connection string (String() redacts the secret):\n%s", p.String())

	// 4. The authorization URL.
	u, err := url.Parse(callback)
	if err != nil {
		cbLn.Close()
		return false, failf(err, "bad callback URL")
	}
	flow, err := serveCallback(ctx, e, c, u, []net.Listener{cbLn})
	if err != nil {
		return false, err
	}
	defer flow.close()
	step("Built the authorization URL, with a fresh one-time state (shortened here):\n%s", shortenState(flow.authURL, flow.state))

	// 5. Consent, redirect, callback: exchange, identify, store.
	redirect, err := sp.sim.Approve(flow.authURL)
	if err != nil {
		return false, failf(err, "the simulator refused the authorization")
	}
	code := redirect.Query().Get("code")
	if code == "" {
		return false, &exitError{code: ExitFailure, msg: "the simulator redirected without a code: " + redirect.Query().Get("error")}
	}
	step("The merchant clicked Authorize on the consent page (the simulator's Approve clicks for us);\nthe browser was sent to the callback with a one-time code %s and the state.", fingerprint(code))
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, redirect.String(), nil)
	if err != nil {
		return false, failf(err, "bad redirect")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, failf(err, "the callback request failed")
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	conn, err := flow.wait(ctx, 30*time.Second)
	if err != nil {
		return false, err
	}
	tok, err := conn.Token(ctx)
	if err != nil {
		return false, err
	}
	info := conn.Info()
	lifetime := "never expires"
	if !tok.Expiry.IsZero() {
		lifetime = fmt.Sprintf("expires %s (in %s)", tok.Expiry.Format(time.RFC3339), human(tok.Expiry.Sub(clock.Now())))
	}
	step("The callback server checked the state and answered the browser (%s); the connector exchanged the code\n"+
		"at the token endpoint (%s) and the driver identified the account: %s.\n"+
		"Connection %s is stored (status %s, version %d):\n"+
		"access token %s, %s; refresh token %s.",
		resp.Status, sp.tokenWire, info.Account, conn.ID(), info.Status, info.Version,
		fingerprint(tok.AccessToken), lifetime, fingerprint(tok.RefreshToken))

	// 6. An API call, on the path the driver names.
	path := ""
	if sp.probe != nil {
		path = sp.probe(info.Account)
	}
	if path != "" {
		status, excerpt, rate, err := demoCall(ctx, c, conn, path)
		if err != nil {
			return false, err
		}
		msg := fmt.Sprintf("API call with the access token: GET %s → %s\n%s", path, status, excerpt)
		if rate != "" {
			msg += "\nrate-limit headers: " + rate
		}
		step("%s", msg)
	}

	// 7 and 8. Expiry and refresh, as the provider's tokens live.
	rotated, cur, err := demoLifetime(ctx, e, sp, c, conn, clock, tok, path, step)
	if err != nil {
		return false, err
	}

	// 9. Revoke.
	canRevoke := c.CanRevoke()
	if err := conn.Revoke(ctx); err != nil {
		return false, err
	}
	if canRevoke {
		gone := "refuses"
		if sp.sim.ValidAccessToken(cur.AccessToken) {
			gone = "still accepts"
		}
		step("Revoked the grant at %s (POST %s, %s): the simulator now %s the access token.\n"+
			"Connection %s is marked %s.", display, simulatorPath(sp.sim.Endpoint(base).RevokeURL), sp.revokeWire, gone, conn.ID(), conn.Info().Status)
	} else {
		step("%s has no revocation endpoint: connection %s was marked %s locally\n"+
			"(a merchant removes the app in %s's admin to end the grant there).", display, conn.ID(), conn.Info().Status, display)
	}

	// 10. What a revoked connection answers.
	_, err = conn.Token(ctx)
	if driver.CodeOf(err) != driver.ReauthRequired {
		return false, &exitError{code: ExitFailure, msg: "a revoked connection still hands out tokens", err: err}
	}
	step("Token() on the revoked connection now fails with code %s (the CLI exits 3):\n%s", driver.CodeOf(err), e.scrub(describe(err)))
	return rotated, nil
}

// demoLifetime moves the clock past the access token's expiry and shows
// what the connector does: a refresh (rotating the refresh token or
// keeping it, as the provider does), a renewal by the driver's own request
// when the provider issues no refresh tokens but the driver renews without
// one (Spec.NoRefreshTokens and driver.Refresher), a new authorization
// when it issues none and the driver cannot, or nothing at all for a token
// that never expires. It returns whether the refresh rotated the refresh
// token, and the current token.
func demoLifetime(ctx context.Context, e *env, sp simProvider, c *connector.Connector, conn *connector.Connection,
	clock *demoClock, tok *connector.Token, path string, step func(string, ...any)) (bool, *connector.Token, error) {
	display := sp.spec.DisplayName
	requests := sp.sim.Stats().TokenRequests
	if tok.Expiry.IsZero() {
		clock.Advance(365 * 24 * time.Hour)
		again, err := conn.Token(ctx)
		if err != nil {
			return false, nil, err
		}
		if again.AccessToken != tok.AccessToken || sp.sim.Stats().TokenRequests != requests {
			return false, nil, &exitError{code: ExitFailure, msg: "a token that never expires was replaced"}
		}
		refresh := "it issues no refresh tokens either"
		if tok.RefreshToken != "" {
			refresh = "its refresh token waits for a 401"
		}
		step("%s's access tokens never expire: moved the shared clock of the connector and the simulator a year forward,\n"+
			"and Token() still returned %s without a request to the token endpoint (%s).", display, fingerprint(again.AccessToken), refresh)
		return false, again, nil
	}
	skip := tok.Expiry.Sub(clock.Now()) + time.Second
	clock.Advance(skip)
	step("Moved the shared clock of the connector and the simulator forward %s: the access token has expired.", human(skip))
	if tok.RefreshToken == "" && sp.renews {
		return demoRenew(ctx, sp, c, conn, tok, path, step)
	}
	if tok.RefreshToken == "" {
		_, err := conn.Token(ctx)
		if driver.CodeOf(err) != driver.ReauthRequired {
			return false, nil, &exitError{code: ExitFailure, msg: "an expired token without a refresh token did not ask for a new authorization", err: err}
		}
		step("%s issues no refresh tokens: Token() asks for a new authorization (code %s), without a request to the token endpoint.",
			display, driver.CodeOf(err))
		return false, tok, nil
	}
	refreshes := sp.sim.Stats().Refreshes
	tok2, err := conn.Token(ctx)
	if err != nil {
		return false, nil, err
	}
	if err := flush(ctx, conn); err != nil {
		return false, nil, err
	}
	rotated := tok2.RefreshToken != tok.RefreshToken
	how := "rotated"
	if !rotated {
		how = "kept: " + display + " does not rotate refresh tokens"
	}
	step("Token() found it expired and refreshed it (%d refresh at the simulator):\n"+
		"access %s → %s, refresh %s → %s (%s).\n"+
		"The new token was stored (version %d) before Token() returned it.",
		sp.sim.Stats().Refreshes-refreshes, fingerprint(tok.AccessToken), fingerprint(tok2.AccessToken),
		fingerprint(tok.RefreshToken), fingerprint(tok2.RefreshToken), how, conn.Info().Version)
	if tok2.AccessToken == tok.AccessToken || rotated != sp.spec.RotatesRefreshTokens {
		return false, nil, &exitError{code: ExitFailure, msg: "the refresh did not renew the tokens as the provider does"}
	}
	if path != "" {
		status, _, _, err := demoCall(ctx, c, conn, path)
		if err != nil {
			return false, nil, err
		}
		old := "refuses"
		if sp.sim.ValidRefreshToken(tok.RefreshToken) {
			old = "still accepts"
		}
		if rotated {
			step("API call with the new token: GET %s → %s. Its first use completed the rotation:\n"+
				"the simulator %s the old refresh token %s.", path, status, old, fingerprint(tok.RefreshToken))
		} else {
			step("API call with the new token: GET %s → %s. The refresh token stays the same:\n"+
				"the simulator %s %s.", path, status, old, fingerprint(tok.RefreshToken))
		}
	}
	return rotated, tok2, nil
}

// demoRenew shows the refresh of a provider that issues no refresh tokens
// and whose driver renews the expired access token by a request of its
// own (SHOPLINE's global platform: a signed call): Token() must renew it,
// store it, and hand out no refresh token.
func demoRenew(ctx context.Context, sp simProvider, c *connector.Connector, conn *connector.Connection,
	tok *connector.Token, path string, step func(string, ...any)) (bool, *connector.Token, error) {
	display := sp.spec.DisplayName
	refreshes := sp.sim.Stats().Refreshes
	tok2, err := conn.Token(ctx)
	if err != nil {
		return false, nil, err
	}
	if err := flush(ctx, conn); err != nil {
		return false, nil, err
	}
	n := sp.sim.Stats().Refreshes - refreshes
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken != "" || n != 1 {
		return false, nil, &exitError{code: ExitFailure, msg: fmt.Sprintf("the refresh did not renew the access token as the provider does (%d refreshes at the simulator)", n)}
	}
	how := "a request of its own"
	if sp.spec.Token.Auth == driver.Signed {
		how = "a request signed with the client secret"
	}
	lifetime := "no expiry"
	if !tok2.Expiry.IsZero() {
		lifetime = "expires " + tok2.Expiry.Format(time.RFC3339)
	}
	step("%s issues no refresh tokens: Token() found the access token expired and the driver renewed it by\n"+
		"%s, without a refresh token (%d refresh at the simulator): access %s → %s, %s.\n"+
		"The new token was stored (version %d) before Token() returned it.",
		display, how, n, fingerprint(tok.AccessToken), fingerprint(tok2.AccessToken), lifetime, conn.Info().Version)
	if path != "" {
		status, _, _, err := demoCall(ctx, c, conn, path)
		if err != nil {
			return false, nil, err
		}
		step("API call with the renewed token: GET %s → %s (there is no refresh token to rotate).", path, status)
	}
	return false, tok2, nil
}

// demoCall sends GET path and returns the status, a redacted excerpt of the
// body and the rate-limit headers.
func demoCall(ctx context.Context, c *connector.Connector, conn *connector.Connection, path string) (status, excerpt, rate string, err error) {
	req, err := conn.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", "", "", err
	}
	resp, err := conn.Client().Do(req)
	if err != nil {
		if driver.CodeOf(err) != driver.Unknown {
			return "", "", "", err
		}
		return "", "", "", failf(err, "GET %s failed", path)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", "", "", &exitError{code: ExitFailure, msg: fmt.Sprintf("GET %s: %s", path, resp.Status)}
	}
	var rl []string
	for _, name := range c.Spec().RateLimitHeaders {
		if v := resp.Header.Get(name); v != "" {
			rl = append(rl, name+": "+v)
		}
	}
	return resp.Status, driver.Excerpt(body), strings.Join(rl, "; "), nil
}

// human formats a duration for reading: days beyond two days.
func human(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Second).String()
}

// fingerprint identifies a secret without showing it.
func fingerprint(s string) string {
	if s == "" {
		return "(none)"
	}
	sum := sha256.Sum256([]byte(s))
	return "#" + hex.EncodeToString(sum[:3])
}

// shortenState shows an authorization URL with its state cut short,
// wherever the URL carries it (state in the query; SHOPLINE's global
// platform: customField after the fragment).
func shortenState(authURL, state string) string {
	if len(state) <= 6 {
		return authURL
	}
	return strings.Replace(authURL, url.QueryEscape(state), state[:6]+"…", 1)
}

// simulatorPath is the path of a simulator URL.
func simulatorPath(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	return raw
}

func randomSecret() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed"))
	}
	return hex.EncodeToString(b)
}

// indented prefixes every line written through it.
type indented struct {
	w      io.Writer
	prefix string
	mid    bool // within a line
}

func (i *indented) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !i.mid {
			if _, err := io.WriteString(i.w, i.prefix); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(i.w, line); err != nil {
			return 0, err
		}
		i.mid = !strings.HasSuffix(line, "\n")
	}
	return len(b), nil
}
