package profile_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

const (
	lcClientID     = "lifecycle-client-id-0123456789"
	lcClientSecret = "lifecycle-client-secret-9f8e7d6c5b"
)

// lcWorld is one profile's simulator on loopback and a connector on it.
type lcWorld struct {
	t     *testing.T
	p     *profile.Profile
	drv   driver.Provider
	sim   *profile.Simulator
	srv   *httptest.Server
	clock *testclock.Clock
	opts  connector.Options
	conn  *connector.Connector
}

func newWorld(t *testing.T, p *profile.Profile) *lcWorld {
	t.Helper()
	ex, err := p.Example().Bind(map[string]string{profile.PlaceholderClientID: lcClientID})
	if err != nil {
		t.Fatal(err)
	}
	if miss := ex.Missing(); len(miss) > 0 {
		t.Fatalf("the example profile misses %v", miss)
	}
	w := &lcWorld{t: t, p: ex, drv: ex.Driver(), sim: ex.Simulator(), clock: testclock.New(time.Now().Truncate(time.Second))}
	w.sim.SetClock(w.clock.Now)
	w.srv = httptest.NewServer(w.sim)
	t.Cleanup(w.srv.Close)
	redirect := w.srv.URL + "/callback"
	w.sim.AddClient(lcClientID, lcClientSecret, redirect)
	keys, _ := store.NewKeyring(store.NewRandomKey())
	w.opts = connector.Options{
		ClientID: lcClientID, ClientSecret: lcClientSecret, RedirectURL: redirect,
		Endpoint: w.sim.Endpoint(w.srv.URL),
		Store:    memory.New(), Keyring: keys, Clock: w.clock.Now, Timeout: 5 * time.Second,
		Retry: connector.RetryPolicy{Max: 2, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond, Budget: 5 * time.Second},
	}
	if w.conn, err = connector.NewWithDriver(w.drv, w.opts); err != nil {
		t.Fatalf("connector.NewWithDriver: %v", err)
	}
	t.Cleanup(func() { w.conn.Close() })
	return w
}

func (w *lcWorld) env() *driver.Env {
	spec := w.conn.Spec()
	return &driver.Env{Provider: w.drv, HTTP: w.srv.Client(), Now: w.clock.Now, Config: driver.Config{
		ClientID: lcClientID, ClientSecret: lcClientSecret, RedirectURL: w.opts.RedirectURL,
		Scopes: spec.DefaultScopes, Endpoint: spec.Endpoint}}
}

// authorize runs the authorization through the engine's callback.
func (w *lcWorld) authorize() *connector.Connection {
	w.t.Helper()
	ctx := context.Background()
	u, err := w.conn.AuthCodeURL(nil)
	if err != nil {
		w.t.Fatalf("AuthCodeURL: %v", err)
	}
	redirect, err := w.sim.Approve(u)
	if err != nil {
		w.t.Fatalf("the simulator refused the authorize URL: %v", err)
	}
	for _, k := range w.p.Authorize.CallbackParams {
		if !redirect.Query().Has(k) {
			w.t.Errorf("the callback lacks %s", k)
		}
	}
	c, err := w.conn.HandleCallback(ctx, redirect.Query())
	if err != nil {
		w.t.Fatalf("HandleCallback: %v", err)
	}
	return c
}

// apiGet reads the profile's probe through the connection's client; for a
// profile whose token goes in another header than Authorization: Bearer,
// it also checks that the simulator refuses the token sent as Bearer.
func (w *lcWorld) apiGet(c *connector.Connection) int {
	w.t.Helper()
	ctx := context.Background()
	u := w.opts.Endpoint.APIBaseURL + w.drv.(profile.Prober).ProbePath(c.Info().Account)
	resp, err := c.Client().Get(u)
	if err != nil {
		w.t.Fatalf("GET probe: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if len(w.p.Hooks()) == 0 || w.p.API.TokenScheme == "Bearer" && w.p.API.TokenHeader == "Authorization" {
		return resp.StatusCode
	}
	tok, err := c.Token(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	for k, v := range w.conn.Spec().APIHeaders {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	bearer, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	bearer.Body.Close()
	if bearer.StatusCode != http.StatusUnauthorized {
		w.t.Errorf("the simulator accepted the token as Authorization: Bearer (%d), not in %s", bearer.StatusCode, w.p.API.TokenHeader)
	}
	return resp.StatusCode
}

// TestProfileLifecycle runs every catalog profile's whole lifecycle
// through the engine against its own simulator: authorize, exchange,
// normalisation, identity, an API call, expiry and refresh with the
// profile's rotation (or a token that never expires), a rejected grant,
// and revocation.
func TestProfileLifecycle(t *testing.T) {
	for _, p := range profile.Catalog() {
		t.Run(p.Name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, p)
			issued := w.clock.Now()
			c := w.authorize()
			tok, err := c.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			a := &w.p.Answer
			// Normalisation.
			if tok.TokenType != "Bearer" {
				t.Errorf("TokenType = %q", tok.TokenType)
			}
			switch a.Expiry.Format {
			case profile.ExpiryNever:
				if !tok.Expiry.IsZero() {
					t.Errorf("a token that never expires has Expiry %v", tok.Expiry)
				}
			default:
				if want := issued.Add(w.drv.Spec().DefaultLifetime); tok.Expiry.Sub(want).Abs() > time.Second {
					t.Errorf("Expiry = %v, want %v", tok.Expiry, want)
				}
			}
			if got, want := c.Info().Account, w.p.Sample.Account; got != want {
				t.Errorf("Account = %q, want %q", got, want)
			}
			if d := cmp.Diff(w.conn.Spec().DefaultScopes, tok.Scopes); d != "" && len(w.conn.Spec().DefaultScopes) > 0 {
				t.Errorf("Scopes (-requested +granted):\n%s", d)
			}
			for _, k := range []string{"access_token", "refresh_token", "token_type", "expires_in", "created_at", "scope", a.Expiry.Field, a.CreatedAt, a.Scope} {
				if _, ok := tok.Extra[k]; ok && k != "" {
					t.Errorf("Extra holds %q", k)
				}
			}
			if a.Refresh.Issued != (tok.RefreshToken != "") {
				t.Errorf("refresh token present = %v, but the profile says issued=%v", tok.RefreshToken != "", a.Refresh.Issued)
			}
			// An API call.
			if st := w.apiGet(c); st != http.StatusOK {
				t.Errorf("probe answered %d", st)
			}
			// Expiry and refresh.
			before := w.sim.Stats()
			if a.Expiry.Format == profile.ExpiryNever {
				w.clock.Advance(365 * 24 * time.Hour)
				again, err := c.Token(ctx)
				if err != nil || again.AccessToken != tok.AccessToken {
					t.Errorf("a year later Token() = %v, %v: want the same token", again, err)
				}
				if n := w.sim.Stats().TokenRequests - before.TokenRequests; n != 0 {
					t.Errorf("a token that never expires was refreshed (%d token requests)", n)
				}
			} else {
				w.clock.Advance(tok.Expiry.Sub(w.clock.Now()) + time.Second)
				nt, err := c.Token(ctx)
				if err != nil {
					t.Fatalf("Token after expiry: %v", err)
				}
				if nt.AccessToken == tok.AccessToken {
					t.Error("the expired token was returned again")
				}
				if rotated := nt.RefreshToken != tok.RefreshToken; rotated != a.Refresh.Rotates {
					t.Errorf("refresh token rotated = %v, but the profile says rotates=%v", rotated, a.Refresh.Rotates)
				}
				if !w.sim.ValidAccessToken(nt.AccessToken) || !w.sim.ValidRefreshToken(nt.RefreshToken) {
					t.Error("the refreshed tokens are not valid at the simulator")
				}
				if nt.AccountID != tok.AccountID {
					t.Errorf("account changed from %q to %q", tok.AccountID, nt.AccountID)
				}
				if st := w.apiGet(c); st != http.StatusOK {
					t.Errorf("probe with the refreshed token answered %d", st)
				}
				tok = nt
			}
			// Revocation.
			canRevoke := w.conn.CanRevoke()
			if canRevoke != (w.p.Revoke != nil) {
				t.Errorf("CanRevoke = %v with revoke section %v", canRevoke, w.p.Revoke != nil)
			}
			if err := c.Revoke(ctx); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if canRevoke {
				if w.sim.Stats().Revokes == 0 {
					t.Error("the simulator saw no revocation")
				}
				if w.sim.ValidAccessToken(tok.AccessToken) {
					t.Error("the access token is still valid after Revoke")
				}
			}
			_, err = c.Token(ctx)
			if !errors.Is(err, &driver.Error{Code: driver.ReauthRequired}) {
				t.Errorf("Token after Revoke: %v, want reauth_required", err)
			}
		})
	}
}

// TestProfileRejectedGrant: a grant the provider revoked (the merchant
// uninstalled the app) ends in reauth_required after one refresh, for
// every catalog profile that refreshes.
func TestProfileRejectedGrant(t *testing.T) {
	for _, p := range profile.Catalog() {
		if !p.Answer.Refresh.Issued {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, p)
			c := w.authorize()
			tok, _ := c.Token(ctx)
			w.sim.RevokeAll()
			w.clock.Advance(tok.Expiry.Sub(w.clock.Now()) + time.Second)
			before := w.sim.Stats().TokenRequests
			_, err := c.Token(ctx)
			if driver.CodeOf(err) != driver.ReauthRequired {
				t.Errorf("Token after the grant was revoked: %v, want reauth_required", err)
			}
			if n := w.sim.Stats().TokenRequests - before; n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}
		})
	}
}
