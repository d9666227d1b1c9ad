package connector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

const (
	clientID     = "engine-test-client"
	clientSecret = "engine-test-secret-5f4e3d2c1b0a"
)

// clock is the tests' fake clock, shared by the engine and the simulators.
type clock = testclock.Clock

// world is a Jumpseller simulator on loopback and the options to reach it.
type world struct {
	sim   *simulator.Server
	srv   *httptest.Server
	clock *clock
	store *memory.Store
	keys  *store.Keyring
	opts  connector.Options
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{sim: jumpseller.NewSimulator(), clock: testclock.New(time.Now().Truncate(time.Second)), store: memory.New()}
	w.sim.SetClock(w.clock.Now)
	w.srv = httptest.NewServer(w.sim)
	t.Cleanup(w.srv.Close)
	redirect := w.srv.URL + "/callback"
	w.sim.AddClient(clientID, clientSecret, redirect)
	w.keys, _ = store.NewKeyring(store.NewRandomKey())
	w.opts = connector.Options{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect,
		Scopes: []string{"read_store", "read_orders"}, Endpoint: w.sim.Endpoint(w.srv.URL),
		Store: w.store, Keyring: w.keys, Clock: w.clock.Now,
		Retry: connector.RetryPolicy{Max: 2, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond},
	}
	return w
}

func (w *world) connector(t testing.TB, mutate ...func(*connector.Options)) *connector.Connector {
	t.Helper()
	o := w.opts
	for _, m := range mutate {
		m(&o)
	}
	c, err := connector.New("jumpseller", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (w *world) authorize(t testing.TB, c *connector.Connector) *connector.Connection {
	t.Helper()
	u, err := c.AuthCodeURL(nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := w.sim.Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.HandleCallback(context.Background(), back.Query())
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestTokenCachedAllocatesNothing(t *testing.T) {
	w := newWorld(t)
	conn := w.authorize(t, w.connector(t))
	ctx := context.Background()
	if _, err := conn.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { conn.Token(ctx) }); n != 0 {
		t.Errorf("cached Token() allocates %v times per call, want 0", n)
	}
}

func TestLeeway(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		leeway   time.Duration // option
		want     time.Duration // how long before expiry the refresh happens
	}{
		{"one-hour-token-one-minute", time.Hour, 0, time.Minute},
		{"five-minute-token-ten-percent", 5 * time.Minute, 0, 30 * time.Second},
		{"configured", time.Hour, 5 * time.Minute, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			c := w.connector(t, func(o *connector.Options) { o.Leeway = tc.leeway })
			now := w.clock.Now()
			conn, err := c.Import(context.Background(), &connector.Token{AccessToken: "at-" + tc.name, RefreshToken: "rt", IssuedAt: now, Expiry: now.Add(tc.lifetime), AccountID: "acc"})
			if err != nil {
				t.Fatal(err)
			}
			w.clock.Advance(tc.lifetime - tc.want - time.Second)
			tok, err := conn.Token(context.Background())
			if err != nil || tok.AccessToken != "at-"+tc.name {
				t.Fatalf("one second before the leeway: got %v, %v; want the cached token", tok, err)
			}
			w.clock.Advance(2 * time.Second)
			// Inside the leeway the engine refreshes; the simulator does not
			// know this hand-made grant, so the refresh fails with
			// invalid_grant and the connection needs reauthorization.
			_, err = conn.Token(context.Background())
			if driver.CodeOf(err) != driver.ReauthRequired {
				t.Errorf("inside the leeway: got %v, want a refresh attempt ending in reauth_required", err)
			}
		})
	}
}

// failingStore fails Put while failing is set: the store going down after
// the provider rotated a token.
type failingStore struct {
	store.Store
	failing atomic.Bool
	puts    atomic.Int32
}

func (f *failingStore) Put(ctx context.Context, r *store.Record, fence int64) (int64, error) {
	f.puts.Add(1)
	if f.failing.Load() {
		return 0, store.Errorf(errors.New("disk full"), "injected write failure")
	}
	return f.Store.Put(ctx, r, fence)
}

// PutUnlock fails as Put does: a refresh writes through it.
func (f *failingStore) PutUnlock(ctx context.Context, r *store.Record, l *store.Lease) (int64, error) {
	f.puts.Add(1)
	if f.failing.Load() {
		return 0, store.Errorf(errors.New("disk full"), "injected write failure")
	}
	return f.Store.PutUnlock(ctx, r, l)
}

// TestStoreFailsAfterRotation is the rule that a refreshed token is handed
// to no one before it is persisted, through each way a token leaves the
// engine: Token, Client's 401 path, and a TokenSource under
// oauth2.NewClient. While the store refuses the write the caller gets
// driver.Store and the provider never sees the new access token; so at a
// Doorkeeper server in its default rotation mode (the simulator's) the
// stored refresh token still works: a process that dies before the store
// recovers leaves a grant the next process refreshes. One that lives on
// stores the token once the store is back, and only then uses it.
func TestStoreFailsAfterRotation(t *testing.T) {
	vias := []struct {
		name string
		// use asks for a token the way a caller would, with the access
		// token expired (Token, TokenSource) or refused by the API (Client).
		use func(t *testing.T, w *world, conn *connector.Connection) error
		// expire makes the stored access token unusable first.
		expire bool
	}{
		{"Token", func(t *testing.T, w *world, conn *connector.Connection) error {
			_, err := conn.Token(context.Background())
			return err
		}, true},
		{"Client 401", func(t *testing.T, w *world, conn *connector.Connection) error {
			w.sim.InjectFault(simulator.Fault{Path: simulator.APIPrefix, Status: http.StatusUnauthorized, Body: `{"error":"invalid_token"}`})
			req, err := conn.NewRequest(context.Background(), "GET", "store/info.json", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := conn.Client().Do(req)
			if err == nil {
				resp.Body.Close()
				return fmt.Errorf("API answered %s", resp.Status)
			}
			return err
		}, false},
		{"TokenSource", func(t *testing.T, w *world, conn *connector.Connection) error {
			hc := oauth2.NewClient(context.Background(), conn.TokenSource(context.Background()))
			resp, err := hc.Get(w.srv.URL + "/api/v1/store/info.json")
			if err == nil {
				resp.Body.Close()
				return fmt.Errorf("API answered %s", resp.Status)
			}
			return err
		}, true},
	}
	for _, via := range vias {
		for _, recovers := range []bool{false, true} {
			name := via.name + "/process dies"
			if recovers {
				name = via.name + "/store recovers"
			}
			t.Run(name, func(t *testing.T) {
				w := newWorld(t)
				fs := &failingStore{Store: w.store}
				var storeErrs, refreshed atomic.Int32
				c := w.connector(t, func(o *connector.Options) {
					o.Store = fs
					o.OnEvent = func(_ context.Context, e connector.Event) {
						switch e.Kind {
						case connector.StoreWriteFailed:
							storeErrs.Add(1)
						case connector.Refreshed:
							refreshed.Add(1)
						}
					}
				})
				ctx := context.Background()
				conn := w.authorize(t, c)
				old, _ := conn.Token(ctx)
				if via.expire {
					w.clock.Advance(2 * time.Hour)
				}

				fs.failing.Store(true)
				err := via.use(t, w, conn)
				if driver.CodeOf(err) != driver.Store {
					t.Fatalf("with a failing store: %v; want an error with driver.Store", err)
				}
				st := w.sim.Stats()
				if st.Refreshes != 1 {
					t.Fatalf("refreshes = %d, want 1", st.Refreshes)
				}
				if storeErrs.Load() != 1 || refreshed.Load() != 0 {
					t.Errorf("StoreWriteFailed %d times, Refreshed %d times; want 1 and 0 (no event before the token is stored)", storeErrs.Load(), refreshed.Load())
				}
				if driver.CodeOf(conn.PendingWrite()) != driver.Store {
					t.Errorf("PendingWrite = %v, want a store error", conn.PendingWrite())
				}
				// Asked again while the store is down: still driver.Store, and
				// no second refresh.
				if err := via.use(t, w, conn); driver.CodeOf(err) != driver.Store {
					t.Errorf("second use: %v; want driver.Store", err)
				}
				if got := w.sim.Stats().Refreshes; got != 1 {
					t.Errorf("refreshes after a second use = %d, want 1 (the unsaved token's refresh token was presented)", got)
				}
				if recovers {
					fs.failing.Store(false)
					fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
					if err := conn.Flush(fctx); err != nil {
						t.Fatalf("Flush: %v", err)
					}
					nt, err := conn.Token(ctx)
					if err != nil || nt.RefreshToken == old.RefreshToken {
						t.Fatalf("after the store recovered: %v, %v; want the rotated token", nt, err)
					}
					if refreshed.Load() != 1 {
						t.Errorf("Refreshed %d times once stored, want 1", refreshed.Load())
					}
					c2 := w.connector(t)
					conn2, err := c2.Connection(ctx, conn.ID())
					if err != nil {
						t.Fatal(err)
					}
					if got, err := conn2.Token(ctx); err != nil || got.AccessToken != nt.AccessToken {
						t.Errorf("another connector reads %v, %v; want the stored rotated token", got, err)
					}
					return
				}
				// The process dies with the token unsaved; the store comes
				// back; the next process refreshes from the stored grant.
				c.Close()
				fs.failing.Store(false)
				c2 := w.connector(t)
				conn2, err := c2.Connection(ctx, conn.ID())
				if err != nil {
					t.Fatal(err)
				}
				got, err := conn2.Refresh(ctx)
				if err != nil {
					t.Fatalf("the stored grant no longer works: %v", err)
				}
				req, _ := conn2.NewRequest(ctx, "GET", "store/info.json", nil)
				resp, err := conn2.Client().Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("API call with the grant refreshed from the store: %v %v", resp, err)
				}
				resp.Body.Close()
				if got.RefreshToken == old.RefreshToken {
					t.Error("not refreshed")
				}
				if st := w.sim.Stats(); st.RevokedReuse != 0 || st.FailedRefreshes != 0 {
					t.Errorf("simulator stats %+v: the stored grant was damaged", st)
				}
			})
		}
	}
}

func TestStampedeAcrossConnectors(t *testing.T) {
	// Eight connectors on one store stand for eight processes.
	w := newWorld(t)
	var refreshed atomic.Int32
	w.opts.OnEvent = func(_ context.Context, e connector.Event) {
		if e.Kind == connector.Refreshed {
			refreshed.Add(1)
		}
	}
	ctx := context.Background()
	first := w.authorize(t, w.connector(t))
	tok, _ := first.Token(ctx)
	w.clock.Advance(tok.Expiry.Sub(w.clock.Now()) + time.Second)
	var wg sync.WaitGroup
	tokens := make(chan string, 8*50)
	for range 8 {
		c := w.connector(t)
		conn, err := c.Connection(ctx, first.ID())
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tk, err := conn.Token(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				tokens <- tk.AccessToken
			}()
		}
	}
	wg.Wait()
	close(tokens)
	seen := map[string]bool{}
	for s := range tokens {
		seen[s] = true
	}
	if len(seen) != 1 {
		t.Errorf("callers got %d different tokens, want 1", len(seen))
	}
	if n := w.sim.Stats().Refreshes; n != 1 {
		t.Errorf("%d refreshes across 8 connectors, want 1", n)
	}
	if n := refreshed.Load(); n != 1 {
		t.Errorf("Refreshed came %d times, want 1", n)
	}
}

// notReplaySafe is Jumpseller as if its server revoked a refresh token the
// moment it is used.
type notReplaySafe struct{ driver.Provider }

func (p notReplaySafe) Spec() *driver.Spec {
	s := *p.Provider.Spec()
	s.RefreshReplaySafe = false
	return &s
}

func TestLostAnswerWithoutReplaySafety(t *testing.T) {
	w := newWorld(t)
	w.sim = simulator.New(func() simulator.Config {
		cfg := jumpseller.NewSimulator().Config()
		cfg.StrictRotation = true
		return cfg
	}())
	w.sim.SetClock(w.clock.Now)
	w.srv.Config.Handler = w.sim
	w.sim.AddClient(clientID, clientSecret, w.opts.RedirectURL)
	w.opts.Scopes = nil
	c, err := connector.NewWithDriver(notReplaySafe{jumpseller.Provider}, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	u, _ := c.AuthCodeURL(nil)
	back, err := w.sim.Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	// This bare simulator has no API routes: identification fails, and the
	// connection is persisted and returned all the same.
	conn, err := c.HandleCallback(ctx, back.Query())
	if conn == nil {
		t.Fatalf("HandleCallback: %v", err)
	}
	w.clock.Advance(2 * time.Hour)
	w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", DropAfterProcessing: true})
	_, err = conn.Token(ctx)
	if driver.CodeOf(err) != driver.ReauthRequired {
		t.Fatalf("after a lost answer on a non-replay-safe provider: %v, want reauth_required", err)
	}
	before := w.sim.Stats().TokenRequests
	for range 3 {
		conn.Token(ctx)
	}
	if n := w.sim.Stats().TokenRequests - before; n != 0 {
		t.Errorf("the engine presented a possibly spent refresh token %d more times", n)
	}
	if st := w.sim.Stats(); st.RevokedReuse != 0 {
		t.Errorf("a revoked refresh token was presented: %+v", st)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	w := newWorld(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&buf, &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := w.connector(t, func(o *connector.Options) { o.Logger = logger })
	ctx := context.Background()
	conn := w.authorize(t, c)
	secrets := []string{clientSecret}
	collect := func() {
		if tk, err := conn.Token(ctx); err == nil {
			secrets = append(secrets, tk.AccessToken, tk.RefreshToken)
		}
	}
	collect()
	for _, f := range []simulator.Fault{
		{Grant: "refresh_token", Status: 503, Times: 1, ContentType: "text/html", Body: "<html>oops</html>"},
		{Grant: "refresh_token", Status: 200, ContentType: "application/json", Body: `{"error":"server_error"}`},
	} {
		w.clock.Advance(2 * time.Hour)
		w.sim.InjectFault(f)
		conn.Token(ctx)
		collect()
	}
	w.sim.RevokeAll()
	w.clock.Advance(2 * time.Hour)
	_, err := conn.Token(ctx)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "refresh failed") {
		t.Fatalf("expected refresh failures in the log, got:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds a secret:\n%s", out)
		}
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error holds a secret: %v", err)
		}
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// A token endpoint that redirects must not make the engine carry the client
// credentials to the redirect's target.
func TestTokenEndpointRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/oauth/token", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	w := newWorld(t)
	c := w.connector(t)
	conn := w.authorize(t, c)
	c2 := w.connector(t, func(o *connector.Options) {
		o.Endpoint.TokenURL = redirector.URL + "/oauth/token"
		o.Endpoint.RefreshURL = ""
	})
	conn2, err := c2.Connection(context.Background(), conn.ID())
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Hour)
	_, err = conn2.Token(context.Background())
	if err == nil {
		t.Fatal("a redirecting token endpoint gave a token")
	}
	if hits.Load() != 0 {
		t.Errorf("the engine followed the token endpoint's redirect %d times", hits.Load())
	}
	if strings.Contains(err.Error(), clientSecret) {
		t.Errorf("error holds the client secret: %v", err)
	}
}

func TestRefreshDueKeepsIdleGrantsAlive(t *testing.T) {
	clk := testclock.New(time.Now().Truncate(time.Second))
	sim := shopline.NewSimulator()
	sim.SetClock(clk.Now)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	redirect := srv.URL + "/callback"
	sim.AddClient(clientID, clientSecret, redirect)
	c, err := connector.New("shopline", connector.Options{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect,
		Scopes: []string{"products"}, Endpoint: sim.Endpoint(srv.URL), Clock: clk.Now,
		Retry: connector.RetryPolicy{Max: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	u, _ := c.AuthCodeURL(nil)
	back, err := sim.Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.HandleCallback(ctx, back.Query())
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := conn.Token(ctx)

	due := connector.DueOptions{Window: 72 * time.Hour}
	if res, err := c.RefreshDue(ctx, due); err != nil || res.Due != 0 || len(res.Refreshed) != 0 {
		t.Fatalf("RefreshDue on a fresh grant = %+v, %v; want nothing due", res, err)
	}
	// Two days before the access token expires, nobody has used the grant.
	clk.Advance(tok.Expiry.Sub(clk.Now()) - 48*time.Hour)
	res, err := c.RefreshDue(ctx, due)
	if err != nil || res.Due != 1 || len(res.Refreshed) != 1 || res.Refreshed[0] != conn.ID() {
		t.Fatalf("RefreshDue = %+v, %v; want [%s] refreshed", res, err, conn.ID())
	}
	// Six months later (hours past the new access token's expiry) the
	// grant still refreshes: RefreshDue renewed its refresh token.
	clk.Advance(183 * 24 * time.Hour)
	if _, err := conn.Token(ctx); err != nil {
		t.Errorf("after RefreshDue the idle grant died: %v", err)
	}
	if st := sim.Stats(); st.Refreshes != 2 || st.FailedRefreshes != 0 {
		t.Errorf("simulator stats %+v, want 2 refreshes", st)
	}

	// Without RefreshDue, a grant idle past its refresh token's last day dies.
	u2, _ := c.AuthCodeURL(nil)
	back2, _ := sim.Approve(u2)
	conn2, err := c.HandleCallback(ctx, back2.Query())
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := conn2.Token(ctx)
	clk.Advance(tok2.Expiry.Sub(clk.Now()) + 25*time.Hour)
	if _, err := conn2.Token(ctx); driver.CodeOf(err) != driver.ReauthRequired {
		t.Errorf("a grant idle past its refresh token's lifetime: %v, want reauth_required", err)
	}
}
