package connector_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
	"github.com/connector-go/connector/store/sqlite"
)

// platform is one store shared by several applications, with a simulator
// per provider and one shared clock.
type platform struct {
	clk   *clock
	sims  map[string]*simulator.Server
	srvs  map[string]*httptest.Server
	store store.Store
	keys  *store.Keyring
}

func newPlatform(t *testing.T, st store.Store) *platform {
	t.Helper()
	p := &platform{clk: testclock.New(time.Now().Truncate(time.Second)), sims: map[string]*simulator.Server{}, srvs: map[string]*httptest.Server{}, store: st}
	p.keys, _ = store.NewKeyring(store.NewRandomKey())
	for name, sim := range map[string]*simulator.Server{"jumpseller": jumpseller.NewSimulator(), "shopline": shopline.NewSimulator()} {
		sim.SetClock(p.clk.Now)
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		p.sims[name], p.srvs[name] = sim, srv
	}
	return p
}

// connector returns a connector of application app (a client id, also
// registered at the simulator) in namespace ns.
func (p *platform) connector(t *testing.T, provider, app, ns string) *connector.Connector {
	t.Helper()
	sim, srv := p.sims[provider], p.srvs[provider]
	redirect := srv.URL + "/callback"
	sim.AddClient(app, app+"-secret", redirect)
	scopes := []string{"read_store"}
	if provider == "shopline" {
		scopes = []string{"products"}
	}
	c, err := connector.New(provider, connector.Options{ClientID: app, ClientSecret: app + "-secret", RedirectURL: redirect, Namespace: ns,
		Scopes: scopes, Endpoint: sim.Endpoint(srv.URL), Store: p.store, Keyring: p.keys, Clock: p.clk.Now,
		Retry: connector.RetryPolicy{Max: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (p *platform) authorize(t *testing.T, c *connector.Connector, r connector.AuthRequest) *connector.Connection {
	t.Helper()
	u, err := c.AuthURL(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.sims[c.Provider()].Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.HandleCallback(context.Background(), back.Query())
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestApplicationsShareAStore: two applications (and a namespace of one)
// authorize the same merchant of both providers into one store: six
// independent connections, each refreshing its own grant, none seeing
// the others'.
func TestApplicationsShareAStore(t *testing.T) {
	stores := map[string]func(t *testing.T) store.Store{
		"memory": func(*testing.T) store.Store { return memory.New() },
		"sqlite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "shared.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for sname, open := range stores {
		t.Run(sname, func(t *testing.T) {
			p := newPlatform(t, open(t))
			ctx := context.Background()
			type app struct{ client, ns string }
			apps := []app{{"app-a", ""}, {"app-b", ""}, {"app-a", "customer-7"}}
			conns := map[string]*connector.Connection{}
			tokens := map[string]*connector.Token{}
			for _, provider := range []string{"jumpseller", "shopline"} {
				for _, a := range apps {
					c := p.connector(t, provider, a.client, a.ns)
					conn := p.authorize(t, c, connector.AuthRequest{Ref: a.client + "/" + a.ns})
					name := provider + "/" + a.ns + "/" + a.client
					conns[name] = conn
					tokens[name], _ = conn.Token(ctx)
					if list, err := c.Connections(ctx); err != nil || len(list) != 1 || list[0].ID != conn.ID() || list[0].App != a.client || list[0].Namespace != a.ns {
						t.Errorf("%s lists %+v, %v; want only its own connection", name, list, err)
					}
				}
			}
			all, err := connector.ListConnections(ctx, p.store)
			if err != nil || len(all) != 6 {
				t.Fatalf("the store holds %d connections (%v), want 6", len(all), err)
			}
			// Every grant expires (SHOPLINE's last; its refresh tokens live a
			// day longer); each connection refreshes its own.
			p.clk.Advance(tokens["shopline//app-a"].Expiry.Sub(p.clk.Now()) + time.Minute)
			for name, conn := range conns {
				tok, err := conn.Token(ctx)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if tok.RefreshToken == tokens[name].RefreshToken {
					t.Errorf("%s was not refreshed", name)
				}
			}
			for provider, sim := range p.sims {
				if st := sim.Stats(); st.FailedRefreshes != 0 || st.RevokedReuse != 0 || st.Refreshes != 3 {
					t.Errorf("%s simulator: %+v; want 3 refreshes, none failed", provider, st)
				}
			}
			for _, info := range all {
				if info.Status != connector.StatusActive {
					t.Errorf("%s of %s/%s is %s", info.ID, info.Namespace, info.App, info.Status)
				}
			}
		})
	}
}

// TestStateOfAnotherApplication: a callback carrying a state another
// application (or namespace) issued is refused before the token endpoint.
func TestStateOfAnotherApplication(t *testing.T) {
	p := newPlatform(t, memory.New())
	a := p.connector(t, "jumpseller", "app-a", "")
	for _, other := range []*connector.Connector{p.connector(t, "jumpseller", "app-b", ""), p.connector(t, "jumpseller", "app-a", "ns")} {
		u, _ := a.AuthURL(connector.AuthRequest{})
		back, err := p.sims["jumpseller"].Approve(u)
		if err != nil {
			t.Fatal(err)
		}
		before := p.sims["jumpseller"].Stats().TokenRequests
		if _, err := other.HandleCallback(context.Background(), back.Query()); driver.CodeOf(err) != driver.InvalidState {
			t.Errorf("another application's callback: %v, want invalid_state", err)
		}
		if p.sims["jumpseller"].Stats().TokenRequests != before {
			t.Error("the token endpoint was called")
		}
	}
}

// TestAuthRequest: the application's reference and tags travel in the
// signed state, come back with the callback, are stored, found and
// filtered by, and survive a refresh; scopes can be chosen per
// authorization; a reserved parameter is an error.
func TestAuthRequest(t *testing.T) {
	p := newPlatform(t, memory.New())
	ctx := context.Background()
	c := p.connector(t, "shopline", "app-a", "")
	u, err := c.AuthURL(connector.AuthRequest{Ref: "customer 42/ü", Tags: []string{"pro", "eu", "pro"}, Scopes: []string{"orders", "products"},
		Params: url.Values{"merchant_id": {"5e1d2c3b4a5f6e7d8c9b0a12"}}})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(u)
	if got := q.Query().Get("scope"); got != "orders products" {
		t.Errorf("scope = %q, want the authorization's", got)
	}
	if got := q.Query().Get("merchant_id"); got == "" {
		t.Error("merchant_id dropped")
	}
	back, err := p.sims["shopline"].Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.HandleCallback(ctx, back.Query())
	if err != nil {
		t.Fatal(err)
	}
	want := connector.ConnectionInfo{Ref: "customer 42/ü", Tags: []string{"eu", "pro"}}
	check := func(when string, info connector.ConnectionInfo) {
		t.Helper()
		if diff := cmp.Diff(want, connector.ConnectionInfo{Ref: info.Ref, Tags: info.Tags}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", when, diff)
		}
	}
	check("from the callback", conn.Info())
	byRef, err := c.ConnectionByRef(ctx, "customer 42/ü")
	if err != nil || byRef != conn {
		t.Errorf("ConnectionByRef = %v, %v; want the connection", byRef, err)
	}
	if _, err := c.ConnectionByRef(ctx, "nobody"); driver.CodeOf(err) != driver.NotFound {
		t.Errorf("ConnectionByRef of an unknown reference: %v, want not_found", err)
	}
	for _, tt := range []struct {
		f    connector.Filter
		want int
	}{{connector.Filter{Tag: "eu"}, 1}, {connector.Filter{Tag: "us"}, 0}, {connector.Filter{Ref: "customer 42/ü"}, 1}, {connector.Filter{Status: connector.StatusRevoked}, 0}} {
		if list, err := c.List(ctx, tt.f); err != nil || len(list) != tt.want {
			t.Errorf("List(%+v) = %d connections (%v), want %d", tt.f, len(list), err, tt.want)
		}
	}
	tok, _ := conn.Token(ctx)
	p.clk.Advance(tok.Expiry.Sub(p.clk.Now()) + time.Minute)
	if _, err := conn.Token(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a refresh", conn.Info())
	c2 := p.connector(t, "shopline", "app-a", "")
	conn2, err := c2.Connection(ctx, conn.ID())
	if err != nil {
		t.Fatal(err)
	}
	check("read back by another connector", conn2.Info())

	for _, tt := range []struct {
		name string
		r    connector.AuthRequest
	}{
		{"state in Params", connector.AuthRequest{Params: url.Values{"state": {"mine"}}}},
		{"scope in Params", connector.AuthRequest{Params: url.Values{"scope": {"all"}}}},
		{"client_id in Params", connector.AuthRequest{Params: url.Values{"client_id": {"x"}}}},
		{"redirect_uri in Params", connector.AuthRequest{Params: url.Values{"redirect_uri": {"https://evil.example/"}}}},
		{"response_type in Params", connector.AuthRequest{Params: url.Values{"response_type": {"token"}}}},
		{"reference too long", connector.AuthRequest{Ref: strings.Repeat("r", 257)}},
		{"control character in the reference", connector.AuthRequest{Ref: "a\nb"}},
		{"too many tags", connector.AuthRequest{Tags: slices.Repeat([]string{"t"}, 17)[:0:0]}},
		{"empty tag", connector.AuthRequest{Tags: []string{""}}},
	} {
		if tt.name == "too many tags" {
			for i := range 17 {
				tt.r.Tags = append(tt.r.Tags, strings.Repeat("t", i+1))
			}
		}
		if _, err := c.AuthURL(tt.r); driver.CodeOf(err) != driver.InvalidConfig {
			t.Errorf("%s: %v, want invalid_config", tt.name, err)
		}
	}
}

// TestDelete: Delete removes a connection from the store and from every
// Connector of the process; with Revoke it ends the grant at the provider
// first.
func TestDelete(t *testing.T) {
	for _, revoke := range []bool{false, true} {
		p := newPlatform(t, memory.New())
		ctx := context.Background()
		c := p.connector(t, "shopline", "app-a", "")
		conn := p.authorize(t, c, connector.AuthRequest{})
		tok, _ := conn.Token(ctx)
		other := p.connector(t, "shopline", "app-a", "")
		held, err := other.Connection(ctx, conn.ID())
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Delete(ctx, connector.DeleteOptions{Revoke: revoke}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if list, _ := connector.ListConnections(ctx, p.store); len(list) != 0 {
			t.Errorf("the store still holds %v", list)
		}
		for name, cn := range map[string]*connector.Connection{"the deleted one": conn, "another connector's": held} {
			if _, err := cn.Token(ctx); driver.CodeOf(err) != driver.NotFound {
				t.Errorf("Token of %s after Delete: %v, want not_found", name, err)
			}
		}
		if _, err := c.Connection(ctx, conn.ID()); driver.CodeOf(err) != driver.NotFound {
			t.Errorf("Connection after Delete: %v, want not_found", err)
		}
		if live := p.sims["shopline"].ValidRefreshToken(tok.RefreshToken); live == revoke {
			t.Errorf("revoke=%v: the refresh token is valid at the provider: %v", revoke, live)
		}
		if err := conn.Delete(ctx, connector.DeleteOptions{}); driver.CodeOf(err) != driver.NotFound {
			t.Errorf("a second Delete: %v, want not_found", err)
		}
	}
}

// TestLegacyRecordAdopted: a record written before applications were
// recorded (bare id, no App) is listed by a connector of its provider and
// adopted by the first that loads it: re-sealed under the application's
// id, the bare record deleted, the grant working.
func TestLegacyRecordAdopted(t *testing.T) {
	p := newPlatform(t, memory.New())
	ctx := context.Background()
	c := p.connector(t, "jumpseller", "app-a", "")
	conn := p.authorize(t, c, connector.AuthRequest{})
	tok, _ := conn.Token(ctx)
	// Rewrite it as today's engine wrote it: id provider:account, no App.
	cur, err := p.store.Get(ctx, conn.StoreKey())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := p.keys.Open(cur.ID, cur.Secret)
	if err != nil {
		t.Fatal(err)
	}
	legacy := cur.Clone()
	legacy.ID, legacy.App, legacy.Namespace, legacy.Version = conn.ID(), "", "", 0
	if legacy.Secret, err = p.keys.Seal(legacy.ID, plain); err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.Put(ctx, legacy, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.store.Delete(ctx, cur.ID); err != nil {
		t.Fatal(err)
	}

	fresh := p.connector(t, "jumpseller", "app-a", "")
	list, err := fresh.Connections(ctx)
	if err != nil || len(list) != 1 || list[0].ID != conn.ID() || list[0].App != "" {
		t.Fatalf("Connections before adoption = %+v, %v; want the legacy connection", list, err)
	}
	adopted, err := fresh.Connection(ctx, conn.ID())
	if err != nil {
		t.Fatalf("Connection: %v", err)
	}
	got, err := adopted.Token(ctx)
	if err != nil || got.AccessToken != tok.AccessToken {
		t.Fatalf("adopted token: %v, %v", got, err)
	}
	all, _ := connector.ListConnections(ctx, p.store)
	if len(all) != 1 || all[0].App != "app-a" || all[0].ID != conn.ID() {
		t.Errorf("after adoption the store holds %+v; want only app-a's %s", all, conn.ID())
	}
	p.clk.Advance(2 * time.Hour)
	if _, err := adopted.Token(ctx); err != nil {
		t.Errorf("refresh of the adopted connection: %v", err)
	}
}
