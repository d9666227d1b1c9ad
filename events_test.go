package connector_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store/memory"
)

// TestEvents: every state change of a connection is observed through
// Options.OnEvent, with the connection's id, application and reference,
// and never a secret.
func TestEvents(t *testing.T) {
	fs := &failingStore{Store: memory.New()}
	p := newPlatform(t, fs)
	ctx := context.Background()
	var mu sync.Mutex
	var got []connector.Event
	c := p.connector(t, "shopline", "app-a", "")
	// The platform helper builds options; add the observer by a second
	// connector with the same options but OnEvent set.
	c.Close()
	sim, srv := p.sims["shopline"], p.srvs["shopline"]
	c, err := connector.New("shopline", connector.Options{ClientID: "app-a", ClientSecret: "app-a-secret", RedirectURL: srv.URL + "/callback",
		Scopes: []string{"products"}, Endpoint: sim.Endpoint(srv.URL), Store: fs, Keyring: p.keys, Clock: p.clk.Now,
		Retry:    connector.RetryPolicy{Max: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond, Budget: 300 * time.Millisecond},
		LeaseTTL: 1500 * time.Millisecond,
		OnEvent: func(_ context.Context, e connector.Event) {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var secrets []string
	remember := func(conn *connector.Connection) {
		if tok, _ := conn.Token(ctx); tok != nil {
			secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		}
	}
	conn := p.authorize(t, c, connector.AuthRequest{Ref: "cust-1"})
	remember(conn)
	conn = p.authorize(t, c, connector.AuthRequest{Ref: "cust-1"}) // again: reauthorized
	remember(conn)
	tok, _ := conn.Token(ctx)
	p.clk.Advance(tok.Expiry.Sub(p.clk.Now()) + time.Minute)
	remember(conn) // refreshed

	// A refused write, then its recovery.
	p.clk.Advance(183 * 24 * time.Hour)
	fs.failing.Store(true)
	if _, err := conn.Token(ctx); driver.CodeOf(err) != driver.Store {
		t.Fatalf("Token with a failing store: %v", err)
	}
	fs.failing.Store(false)
	if err := conn.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	remember(conn)

	// A long wait for another holder's lease.
	if _, _, err := fs.Lock(ctx, conn.StoreKey(), time.Second); err != nil {
		t.Fatal(err)
	}
	p.clk.Advance(183 * 24 * time.Hour)
	remember(conn)

	// The grant dies at the provider: refresh failed, needs reauth.
	sim.RevokeAll()
	p.clk.Advance(183 * 24 * time.Hour)
	conn.Token(ctx)
	conn = p.authorize(t, c, connector.AuthRequest{Ref: "cust-1"})
	remember(conn)
	if err := conn.Revoke(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.Delete(ctx, connector.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	for _, e := range got {
		kinds = append(kinds, e.Kind.String())
		if e.Connection.ID != conn.ID() || e.Connection.App != "app-a" || e.Connection.Ref != "cust-1" {
			t.Errorf("%s names %q of %q with reference %q", e.Kind, e.Connection.ID, e.Connection.App, e.Connection.Ref)
		}
		if e.Err != nil {
			for _, s := range secrets {
				if s != "" && strings.Contains(e.Err.Error(), s) {
					t.Errorf("%s carries a token in its error", e.Kind)
				}
			}
		}
		if e.Kind == connector.RefreshFailed && e.Retry {
			t.Errorf("a refresh refused with invalid_grant says it will be retried")
		}
	}
	want := []string{"created", "reauthorized", "refreshed", "store_write_failed", "store_write_recovered", "refreshed",
		"lease_wait", "refreshed", "refresh_failed", "needs_reauth", "reauthorized", "revoked", "deleted"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
