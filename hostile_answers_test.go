package connector_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

// newShopline returns a SHOPLINE connector on the simulator, with a memory
// store.
func newShopline(t *testing.T, mutate func(*connector.Options)) (*simulator.Server, *clock, *memory.Store, *connector.Connector) {
	t.Helper()
	clk := testclock.New(time.Now().Truncate(time.Second))
	sim := shopline.NewSimulator()
	sim.SetClock(clk.Now)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	redirect := srv.URL + "/callback"
	sim.AddClient(clientID, clientSecret, redirect)
	st := memory.New()
	o := connector.Options{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect,
		Scopes: []string{"products"}, Endpoint: sim.Endpoint(srv.URL), Clock: clk.Now, Store: st, Keyring: shoplineKeys,
		Retry: connector.RetryPolicy{Max: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}}
	if mutate != nil {
		mutate(&o)
	}
	c, err := connector.New("shopline", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return sim, clk, st, c
}

// approve runs the consent and returns the callback's query.
func approve(t *testing.T, sim *simulator.Server, c *connector.Connector) url.Values {
	t.Helper()
	u, _ := c.AuthCodeURL(nil)
	back, err := sim.Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	return back.Query()
}

// shoplineKeys seals the stores of newShopline, so that tests can open
// what they hold.
var shoplineKeys, _ = store.NewKeyring(store.NewRandomKey())

// shoplineWorld authorizes one SHOPLINE connection against the simulator.
func shoplineWorld(t *testing.T, mutate func(*connector.Options)) (*simulator.Server, *clock, *memory.Store, *connector.Connection) {
	t.Helper()
	sim, clk, st, c := newShopline(t, mutate)
	conn, err := c.HandleCallback(context.Background(), approve(t, sim, c))
	if err != nil {
		t.Fatal(err)
	}
	return sim, clk, st, conn
}

// TestRefreshNamingAnotherAccount: a refresh answer whose account differs
// from the connection's is refused whole: nothing of it is stored, the
// connection keeps its grant and is marked needs_reauth, the hook fires, and
// the error names both accounts and no token.
func TestRefreshNamingAnotherAccount(t *testing.T) {
	var reauth atomic.Int32
	sim, clk, st, conn := shoplineWorld(t, func(o *connector.Options) {
		o.OnEvent = func(_ context.Context, e connector.Event) {
			if e.Kind == connector.NeedsReauth {
				reauth.Add(1)
			}
		}
	})
	ctx := context.Background()
	old, _ := conn.Token(ctx)
	account := conn.Info().Account
	before, err := st.Get(ctx, conn.StoreKey())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(old.Expiry.Sub(clk.Now()) + time.Minute)
	sim.InjectFault(simulator.Fault{Grant: "refresh_token", Set: map[string]any{"resource_owner_id": "merchant-B"}})
	tok, err := conn.Token(ctx)
	if err == nil {
		t.Fatalf("Token = %v; want the answer refused", tok)
	}
	if driver.CodeOf(err) != driver.ReauthRequired {
		t.Errorf("code = %v, want reauth_required (%v)", driver.CodeOf(err), err)
	}
	for _, want := range []string{`"merchant-B"`, `"` + account + `"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), old.AccessToken) || strings.Contains(err.Error(), old.RefreshToken) {
		t.Error("the error holds a token")
	}
	if reauth.Load() != 1 {
		t.Errorf("the NeedsReauth event came %d times, want 1", reauth.Load())
	}
	recs, _ := st.List(ctx)
	if len(recs) != 1 {
		t.Fatalf("%d records stored, want the one connection", len(recs))
	}
	after := recs[0]
	if after.ID != conn.StoreKey() || after.Account != account || after.Status != store.NeedsReauth {
		t.Errorf("stored %s account %q status %s; want %s account %q needs_reauth", after.ID, after.Account, after.Status, conn.ID(), account)
	}
	// The status change seals the grant again (a fresh nonce): compare
	// what it holds.
	was, _ := shoplineKeys.Open(before.ID, before.Secret)
	now, err := shoplineKeys.Open(after.ID, after.Secret)
	if err != nil || string(now) != string(was) {
		t.Errorf("the stored grant changed (%v): part of the foreign answer was persisted", err)
	}
	if _, err := conn.Token(ctx); driver.CodeOf(err) != driver.ReauthRequired {
		t.Errorf("next Token = %v, want reauth_required", err)
	}
}

// TestHostileAnswersStoreNothing: a token answer with a non-positive
// lifetime, a control character in a token or an unprintable account is
// refused before anything is stored, at exchange and at refresh.
func TestHostileAnswersStoreNothing(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]any
	}{
		{"expires_in 0", map[string]any{"expires_in": 0}},
		{"expires_in negative", map[string]any{"expires_in": -3600}},
		{"CR LF in the access token", map[string]any{"access_token": "abc\r\nX-Injected: 1"}},
		{"space in the access token", map[string]any{"access_token": "abc def"}},
		{"LF in the refresh token", map[string]any{"refresh_token": "abc\ndef"}},
		{"ANSI escape in the account", map[string]any{"resource_owner_id": "\x1b[31mred"}},
		{"newline in the account", map[string]any{"resource_owner_id": "a\nb"}},
	}
	for _, tt := range tests {
		t.Run("refresh/"+tt.name, func(t *testing.T) {
			sim, clk, st, conn := shoplineWorld(t, nil)
			ctx := context.Background()
			old, _ := conn.Token(ctx)
			before, _ := st.Get(ctx, conn.StoreKey())
			clk.Advance(old.Expiry.Sub(clk.Now()) + time.Minute)
			sim.InjectFault(simulator.Fault{Grant: "refresh_token", Set: tt.set})
			if tok, err := conn.Token(ctx); err == nil {
				t.Fatalf("Token = %v; want the answer refused", tok)
			} else if strings.ContainsAny(err.Error(), "\r\n\x1b") {
				t.Errorf("the error holds a control character: %q", err)
			}
			after, _ := st.Get(ctx, conn.StoreKey())
			if after.Version != before.Version || string(after.Secret) != string(before.Secret) {
				t.Error("the refused answer was stored")
			}
		})
		t.Run("exchange/"+tt.name, func(t *testing.T) {
			sim, _, st, c := newShopline(t, nil)
			query := approve(t, sim, c)
			sim.InjectFault(simulator.Fault{Grant: "authorization_code", Set: tt.set})
			if conn, err := c.HandleCallback(context.Background(), query); err == nil {
				t.Fatalf("HandleCallback = %s; want the answer refused", conn.ID())
			} else if driver.CodeOf(err) != driver.BadResponse {
				t.Errorf("code = %v, want bad_response (%v)", driver.CodeOf(err), err)
			}
			if recs, _ := st.List(context.Background()); len(recs) != 0 {
				t.Errorf("%d connections stored, want none", len(recs))
			}
		})
	}
}
