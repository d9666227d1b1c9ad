package connector_test

// Benchmarks of issue 5. Run them all, with the comparisons in the same run:
//
//	go test -run '^$' -bench . -benchmem -count 5 . | tee bench.txt
//
// The figures and their reading are in docs/benchmarks.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
	_ "github.com/connector-go/connector/store/postgres"
	_ "github.com/connector-go/connector/store/redis"
	"golang.org/x/oauth2"
)

// longLived imports a token that will not need a refresh during the benchmark.
func longLived(b testing.TB, c *connector.Connector, account string) *connector.Connection {
	b.Helper()
	now := time.Now()
	conn, err := c.Import(context.Background(), &connector.Token{AccessToken: "access-" + account, RefreshToken: "refresh-" + account,
		TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(24 * time.Hour), AccountID: account})
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

func offlineConnector(b *testing.B, st store.Store) *connector.Connector {
	b.Helper()
	c, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
		Store: st, Endpoint: jumpseller.Provider.Spec().Endpoint})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func BenchmarkTokenCached(b *testing.B) {
	ctx := context.Background()
	conn := longLived(b, offlineConnector(b, memory.New()), "cached")
	ts := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "access-cached", TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour)}))
	b.Run("connector", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conn.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x-oauth2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ts.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTokenCachedParallel(b *testing.B) {
	ctx := context.Background()
	conn := longLived(b, offlineConnector(b, memory.New()), "cached")
	ts := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "access-cached", TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour)}))
	b.Run("connector", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				conn.Token(ctx)
			}
		})
	})
	b.Run("x-oauth2", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ts.Token()
			}
		})
	})
}

// tokenEndpoint answers every POST with a fresh Doorkeeper token answer, as
// cheaply as a server can: both sides of BenchmarkRefresh hit it.
func tokenEndpoint() *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" {
			http.Error(w, `{"error":"invalid_request"}`, 400)
			return
		}
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("%064x", i), "token_type": "bearer", "expires_in": 3600,
			"refresh_token": fmt.Sprintf("r%063x", i), "created_at": time.Now().Unix(),
		})
	}))
}

func BenchmarkRefresh(b *testing.B) {
	srv := tokenEndpoint()
	defer srv.Close()
	ctx := context.Background()
	c, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
		Endpoint: jumpseller.Provider.Spec().Endpoint})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c2, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret", Store: c.Store(),
		Endpoint: driver.Endpoint{TokenURL: srv.URL}})
	if err != nil {
		b.Fatal(err)
	}
	defer c2.Close()
	conn := longLived(b, c2, "refresh")
	b.Run("connector", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conn.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same form the engine sends: a refresh token as long as the
	// endpoint's (64 characters).
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"bench"}, "client_secret": {"bench-secret"}, "refresh_token": {fmt.Sprintf("r%063x", 1)}}
	b.Run("raw-post", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := http.PostForm(srv.URL, form)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// cannedRT answers every request with body, in process.
type cannedRT struct{ body []byte }

func (c cannedRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(c.body)),
		Body: io.NopCloser(bytes.NewReader(c.body)), Request: r}, nil
}

// BenchmarkRefreshEngine is BenchmarkRefresh/connector against a canned
// in-process transport: the engine's own CPU and allocations per refresh,
// without the network (docs/benchmarks.md).
func BenchmarkRefreshEngine(b *testing.B) {
	// created_at is now: a token that expired on arrival is no refresh.
	body := []byte(`{"access_token":"0000000000000000000000000000000000000000000000000000000000000001","token_type":"bearer","expires_in":3600,"refresh_token":"r000000000000000000000000000000000000000000000000000000000000001","created_at":` +
		strconv.FormatInt(time.Now().Unix(), 10) + `}`)
	c, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
		Endpoint: driver.Endpoint{TokenURL: "http://127.0.0.1:1/token"}, HTTPClient: &http.Client{Transport: cannedRT{body}}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	conn := longLived(b, c, "refresh")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

var backends = []string{"memory", "sqlite", "postgres", "redis"}

// openBench opens a fresh store of the named backend, as the scheduler's
// tests do (dueBackends): a PostgreSQL schema or Redis prefix of its own,
// dropped or deleted when the benchmark ends, so that no benchmark leaves
// anything behind. A backend whose server is absent is skipped (and fails
// under CI=true).
func openBench(b *testing.B, name string) (store.Store, *store.Keyring) {
	b.Helper()
	for _, be := range dueBackends {
		if be.name == name {
			keys, err := store.NewKeyring(store.NewRandomKey())
			if err != nil {
				b.Fatal(err)
			}
			return be.open(b), keys
		}
	}
	b.Fatalf("no backend %q", name)
	return nil, nil
}

func BenchmarkStampede(b *testing.B) {
	for _, name := range backends {
		b.Run(name, func(b *testing.B) {
			st, keys := openBench(b, name)
			w := newWorld(b)
			w.opts.Store, w.opts.Keyring = st, keys
			// Eight connectors stand for eight processes on one store.
			var conns []*connector.Connection
			first := w.connector(b)
			id := w.authorize(b, first).ID()
			for range 8 {
				conn, err := w.connector(b).Connection(context.Background(), id)
				if err != nil {
					b.Fatal(err)
				}
				conns = append(conns, conn)
			}
			before := w.sim.Stats().Refreshes
			for b.Loop() {
				w.clock.Advance(2 * time.Hour)
				var wg sync.WaitGroup
				for i := range 1000 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := conns[i%len(conns)].Token(context.Background()); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(w.sim.Stats().Refreshes-before)/float64(b.N), "refreshes/op")
		})
	}
}

func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	for _, name := range backends {
		b.Run(name, func(b *testing.B) {
			st, keys := openBench(b, name)
			secret, _ := keys.Seal("bench:1", []byte(`{"access_token":"x"}`))
			rec := &store.Record{ID: "bench:1", Provider: "jumpseller", Account: "a", Status: store.Active, Secret: secret}
			v, err := st.Put(ctx, rec, 0)
			if err != nil {
				b.Fatal(err)
			}
			rec.Version = v
			b.Run("get", func(b *testing.B) {
				for b.Loop() {
					if _, err := st.Get(ctx, "bench:1"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("put", func(b *testing.B) {
				for b.Loop() {
					v, err := st.Put(ctx, rec, 0)
					if err != nil {
						b.Fatal(err)
					}
					rec.Version = v
				}
			})
			b.Run("lock", func(b *testing.B) {
				for b.Loop() {
					l, _, err := st.Lock(ctx, "bench:1", time.Minute)
					if err != nil {
						b.Fatal(err)
					}
					if err := st.Unlock(ctx, l); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkConnections shows how cost grows with the connections held: the
// latency of a cached Token() on one of n connections, and the memory a
// process pays for each connection it holds (B/conn): its Connection, the
// opened token and the record's fields. The store is filled first, by
// another Connector, so that B/conn does not count the records a store
// keeps: a platform holding 100k connections keeps them in PostgreSQL or
// Redis, outside its process. What the memory store itself keeps per record
// is reported apart (store-B/conn). Tokens are 43 characters, as
// Doorkeeper issues them.
func BenchmarkConnections(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var empty, filled, held runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&empty)
			st := memory.New()
			ids := make([]string, n)
			kr, err := store.NewKeyring(store.NewRandomKey())
			if err != nil {
				b.Fatal(err)
			}
			fill, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
				Store: st, Keyring: kr, Endpoint: jumpseller.Provider.Spec().Endpoint})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for i := range ids {
				acc := fmt.Sprintf("store-%06d", i)
				conn, err := fill.Import(ctx, &connector.Token{AccessToken: doorkeeperToken("a", i), RefreshToken: doorkeeperToken("r", i),
					TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(24 * time.Hour), AccountID: acc})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = conn.ID()
			}
			fill.Close()
			fill = nil
			runtime.GC()
			runtime.ReadMemStats(&filled)

			c := keyedConnector(b, st, kr)
			conns := make([]*connector.Connection, n)
			for i, id := range ids {
				conn, err := c.Connection(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				conns[i] = conn
			}
			runtime.GC()
			runtime.ReadMemStats(&held)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				conns[i].Token(ctx)
				if i++; i == n {
					i = 0
				}
			}
			// The conns slice itself (8 B a connection) is the benchmark's.
			b.ReportMetric(float64(held.HeapAlloc-filled.HeapAlloc)/float64(n)-8, "B/conn")
			b.ReportMetric(float64(filled.HeapAlloc-empty.HeapAlloc)/float64(n), "store-B/conn")
			runtime.KeepAlive(conns)
			runtime.KeepAlive(ids)
		})
	}
}

func keyedConnector(b *testing.B, st store.Store, kr *store.Keyring) *connector.Connector {
	b.Helper()
	c, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
		Store: st, Keyring: kr, Endpoint: jumpseller.Provider.Spec().Endpoint})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// doorkeeperToken returns a distinct 43-character token, the length of
// Doorkeeper's (32 random bytes, base64url without padding).
func doorkeeperToken(kind string, i int) string {
	return fmt.Sprintf("%s%042d", kind, i)
}

// BenchmarkAPIRequest is one API request through Connection.Client against
// net/http setting the same bearer header by hand, all on the same
// in-process canned transport: the connector's cost per API call.
// connector has the default options (the request's context bounds the
// exchange) and compares with plain (issue 13's reference);
// connector-apitimeout bounds each exchange by Options.APITimeout, inside
// the transport, and compares with plain-deadline (the same bound as a
// context deadline per request, the cheapest way net/http offers it),
// plain-timeout (the bound as http.Client.Timeout, which over a transport
// net/http does not know costs a goroutine and a timer per request) and
// oauth2-deadline (golang.org/x/oauth2's Transport with a context deadline
// per request: x/oauth2 plus the glue a user would write).
func BenchmarkAPIRequest(b *testing.B) {
	body := []byte(`{"store":{"code":"bench"}}`)
	rt := cannedRT{body}
	c, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
		Endpoint: jumpseller.Provider.Spec().Endpoint, HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	bounded, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
		Endpoint: jumpseller.Provider.Spec().Endpoint, HTTPClient: &http.Client{Transport: rt}, APITimeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer bounded.Close()
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		c    *connector.Connector
	}{
		{"connector", c},
		{"connector-apitimeout", bounded}, // compare with plain-deadline
	} {
		conn := longLived(b, bc.c, "api")
		b.Run(bc.name, func(b *testing.B) { benchAPICalls(b, conn) })
	}
	static := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "access-api", TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour)}))
	for _, bc := range []struct {
		name     string
		client   *http.Client
		auth     bool // the caller sets Authorization itself
		deadline bool // a context deadline per request
	}{
		{"plain", &http.Client{Transport: rt}, true, false},
		{"plain-deadline", &http.Client{Transport: rt}, true, true},
		{"plain-timeout", &http.Client{Transport: rt, Timeout: 30 * time.Second}, true, false},
		{"oauth2-deadline", &http.Client{Transport: &oauth2.Transport{Source: static, Base: rt}}, false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rctx, cancel := ctx, context.CancelFunc(func() {})
				if bc.deadline {
					rctx, cancel = context.WithTimeout(ctx, 30*time.Second)
				}
				req, err := http.NewRequestWithContext(rctx, "GET", "https://api.jumpseller.com/v1/store/info.json", nil)
				if err != nil {
					b.Fatal(err)
				}
				if bc.auth {
					req.Header.Set("Authorization", "Bearer access-api")
				}
				req.Header.Set("Accept", "application/json")
				resp, err := bc.client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				cancel()
			}
		})
	}
}

// benchAPICalls is the loop of BenchmarkAPIRequest's connector cases:
// GET store/info.json through conn's Client, its answer read.
func benchAPICalls(b *testing.B, conn *connector.Connection) {
	ctx := context.Background()
	hc := conn.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, err := conn.NewRequest(ctx, "GET", "store/info.json", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkAPIRequestLoopback is BenchmarkAPIRequest over real HTTP on
// loopback: what the default transport's bound on a wait for more of an
// answer (silentBody, a timer per answer) costs an API call, against the
// same transport without it (connector-no-silence: a program's clone of
// http.DefaultTransport that only waits Timeout for headers) and a plain
// client on that clone.
//
//	go test -run '^$' -bench 'BenchmarkAPIRequestLoopback' -benchmem -count 10 .
func BenchmarkAPIRequestLoopback(b *testing.B) {
	body := []byte(`{"store":{"code":"bench"}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	headers := http.DefaultTransport.(*http.Transport).Clone()
	headers.ResponseHeaderTimeout = connstr.DefaultTimeout
	defer headers.CloseIdleConnections()
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		client *http.Client // Options.HTTPClient
	}{
		{"connector", nil},
		{"connector-no-silence", &http.Client{Transport: headers}},
	} {
		c, err := connector.New("jumpseller", connector.Options{ClientID: "bench", ClientSecret: "bench-secret",
			Endpoint: driver.Endpoint{APIBaseURL: srv.URL + "/v1/"}, HTTPClient: bc.client})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conn := longLived(b, c, "api")
		b.Run(bc.name, func(b *testing.B) { benchAPICalls(b, conn) })
	}
	b.Run("plain", func(b *testing.B) {
		hc := &http.Client{Transport: headers}
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/store/info.json", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer access-api")
			req.Header.Set("Accept", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
