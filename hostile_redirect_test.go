package connector_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store/memory"
)

// TestHostileRedirectHTTPSToHTTP: the bearer token never goes from https to
// http. It is the one case of the CLI's hostile-provider tests
// (cmd/connector/internal/cli/hostile_test.go) that runs at the library
// level: the CLI takes no HTTP client, so it cannot trust an httptest TLS
// certificate. The API is an https httptest server that redirects to plain
// http: on the same host and port (only the scheme differs: one listener
// serves both, telling TLS from plain HTTP by the first byte) and on
// another port. A redirect within the https origin keeps working.
func TestHostileRedirectHTTPSToHTTP(t *testing.T) {
	const (
		querySecret = "q-secret-7c1e"
		bodyMarker  = "body-marker-52d0"
		access      = "hostile-redirect-access-token-0f3a9c"
	)
	for _, provider := range []string{"jumpseller", "shopline"} {
		for _, tc := range []struct {
			name   string
			method string
			body   string
			status int
			target string // "same port", "other port", "within"
		}{
			{"302 GET to http on the same host and port", http.MethodGet, "", http.StatusFound, "same port"},
			{"307 POST to http on the same host and port", http.MethodPost, `{"note":"` + bodyMarker + `"}`, http.StatusTemporaryRedirect, "same port"},
			{"302 GET to http on another port", http.MethodGet, "", http.StatusFound, "other port"},
			{"307 POST to http on another port", http.MethodPost, `{"note":"` + bodyMarker + `"}`, http.StatusTemporaryRedirect, "other port"},
			{"302 GET within the https origin still works", http.MethodGet, "", http.StatusFound, "within"},
		} {
			t.Run(provider+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				var mu sync.Mutex
				var plainSeen []string // what reached plain http: "auth=…, body=…"
				var apiAuth []string
				record := func(list *[]string, r *http.Request) {
					b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
					mu.Lock()
					*list = append(*list, "auth="+r.Header.Get("Authorization")+" body="+string(b))
					mu.Unlock()
				}
				plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					record(&plainSeen, r)
					io.WriteString(w, "STOLEN-ANSWER")
				})
				var target string
				api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/v1/moved" {
						io.WriteString(w, `{"moved":true}`)
						return
					}
					record(&apiAuth, r)
					http.Redirect(w, r, target, tc.status)
				})

				var ts *httptest.Server
				var plainURL string
				switch tc.target {
				case "same port", "within":
					ts, plainURL = hostileSharedPort(t, api, plain)
				case "other port":
					ts = httptest.NewTLSServer(api)
					t.Cleanup(ts.Close)
					ps := httptest.NewServer(plain)
					t.Cleanup(ps.Close)
					plainURL = ps.URL
				}
				target = plainURL + "/steal?access_token=" + querySecret
				if tc.target == "within" {
					target = "/v1/moved"
				}
				c, err := connector.New(provider, connector.Options{
					ClientID: "hostile-client", ClientSecret: "hostile-secret-value-9d8e",
					Endpoint: driver.Endpoint{
						APIBaseURL: ts.URL + "/v1/",
						// No token request is expected: these refuse connections.
						AuthURL: "http://127.0.0.1:1/oauth/authorize", TokenURL: "http://127.0.0.1:1/oauth/token",
					},
					Store: memory.New(), HTTPClient: ts.Client(), // trusts the httptest certificate
				})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				conn, err := c.Import(ctx, &connector.Token{AccessToken: access, TokenType: "Bearer",
					RefreshToken: "hostile-redirect-refresh-token", Expiry: time.Now().Add(time.Hour), AccountID: "acct-1"})
				if err != nil {
					t.Fatalf("Import: %v", err)
				}
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				req, err := conn.NewRequest(ctx, tc.method, "store/info.json", body)
				if err != nil {
					t.Fatalf("NewRequest: %v", err)
				}
				resp, err := conn.Client().Do(req)
				var got string
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					got = string(b)
				}
				t.Logf("Do: %q, %v", got, err)

				mu.Lock()
				defer mu.Unlock()
				if len(apiAuth) == 0 || !strings.HasPrefix(apiAuth[0], "auth=Bearer "+access) {
					t.Fatalf("the https API did not get the request with the token: %q", apiAuth)
				}
				for _, s := range plainSeen {
					if !strings.HasPrefix(s, "auth= ") {
						t.Errorf("plain http got an Authorization header: %q", s)
					}
					if strings.Contains(s, bodyMarker) {
						t.Errorf("plain http got the request body: %q", s)
					}
				}
				if tc.target == "within" {
					if err != nil || resp.StatusCode != http.StatusOK || got != `{"moved":true}` {
						t.Errorf("a redirect within the origin: %q, %v", got, err)
					}
					return
				}
				if err == nil {
					t.Fatalf("Do followed the redirect to http: status %d, body %q", resp.StatusCode, got)
				}
				// net/http's *url.Error carries the Location as it is
				// (client.go sets its URL to the raw Location when the
				// redirect policy refuses); the connector's own error in
				// the chain is what the CLI prints and must be clean.
				var ce *driver.Error
				if !errors.As(err, &ce) {
					t.Fatalf("the error holds no *driver.Error: %v", err)
				}
				if want := strings.TrimSuffix(plainURL, "/"); !strings.Contains(ce.Error(), want) {
					t.Errorf("the error does not name the redirect target %s: %q", want, ce.Error())
				}
				if strings.Contains(ce.Error(), querySecret) || strings.Contains(ce.Error(), access) {
					t.Errorf("the error holds the redirect's query or the token: %q", ce.Error())
				}
			})
		}
	}
}

// hostileSharedPort serves tlsHandler over TLS and plainHandler over plain
// HTTP on one loopback port, told apart by the first byte of each
// connection (a TLS handshake record starts with 0x16). It returns the TLS
// server and the plain base URL.
func hostileSharedPort(t *testing.T, tlsHandler, plainHandler http.Handler) (*httptest.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsL, plainL := newHostileChanListener(l.Addr()), newHostileChanListener(l.Addr())
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				tlsL.Close()
				plainL.Close()
				return
			}
			go func() {
				br := bufio.NewReader(c)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				b, err := br.Peek(1)
				c.SetReadDeadline(time.Time{})
				if err != nil {
					c.Close()
					return
				}
				pc := &hostilePeekedConn{Conn: c, r: br}
				if b[0] == 0x16 {
					tlsL.deliver(pc)
				} else {
					plainL.deliver(pc)
				}
			}()
		}
	}()
	ts := httptest.NewUnstartedServer(tlsHandler)
	ts.Listener.Close()
	ts.Listener = tlsL
	ts.StartTLS()
	ps := httptest.NewUnstartedServer(plainHandler)
	ps.Listener.Close()
	ps.Listener = plainL
	ps.Start()
	t.Cleanup(func() {
		l.Close()
		ts.Close()
		ps.Close()
	})
	return ts, ps.URL
}

type hostilePeekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *hostilePeekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// hostileChanListener is a net.Listener fed connections by hostileSharedPort.
type hostileChanListener struct {
	addr   net.Addr
	ch     chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newHostileChanListener(addr net.Addr) *hostileChanListener {
	return &hostileChanListener{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *hostileChanListener) deliver(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *hostileChanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *hostileChanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *hostileChanListener) Addr() net.Addr { return l.addr }
