package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/simulator"
)

// These tests hold the callback listener of a localhost CallbackURL to
// every loopback family a browser may resolve localhost to: a program
// holding [::1]:PORT or 127.0.0.1:PORT must stop auth before the
// authorization URL exists, never receive the code. They use real sockets,
// on loopback only.

// ipv6Loopback reports whether this machine can listen on ::1.
func ipv6Loopback() bool {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// needFamily skips the test when ip is ::1 and the machine has no IPv6
// loopback.
func needFamily(t *testing.T, ip string) {
	t.Helper()
	if ip == "::1" && !ipv6Loopback() {
		t.Skip("this machine has no IPv6 loopback (cannot listen on [::1]:0): the ::1 case cannot run here")
	}
}

// otherFamily returns the loopback address of the other family.
func otherFamily(ip string) string {
	if ip == "::1" {
		return "127.0.0.1"
	}
	return "::1"
}

// squatter is another program's HTTP server on one loopback address.
type squatter struct {
	port int
	mu   sync.Mutex
	got  []string // the requests it received
}

func (s *squatter) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// squat listens on ip at a port free on the other family (if it has a
// loopback) a moment ago, and serves HTTP there until the test ends.
func squat(t *testing.T, ip string) *squatter {
	t.Helper()
	v6 := ipv6Loopback()
	for range 20 {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if other := otherFamily(ip); other != "::1" || v6 {
			o, err := net.Listen("tcp", net.JoinHostPort(other, strconv.Itoa(port)))
			if err != nil {
				l.Close()
				continue
			}
			o.Close()
		}
		s := &squatter{port: port}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.got = append(s.got, r.URL.String())
			s.mu.Unlock()
			io.WriteString(w, "squatted")
		})}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		return s
	}
	t.Fatalf("no port free on both loopback families after 20 tries")
	return nil
}

// dualFreePort returns a port free on 127.0.0.1 and (where it exists) ::1
// a moment ago.
func dualFreePort(t *testing.T) int {
	t.Helper()
	v6 := ipv6Loopback()
	for range 20 {
		port := testio.FreePort(t)
		if !v6 {
			return port
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port))); err == nil {
			l.Close()
			return port
		}
	}
	t.Fatalf("no port free on both loopback families after 20 tries")
	return 0
}

// localhostCallback gives the fixture the CallbackURL http://localhost:port/callback.
func localhostCallback(port int) func(*fixture) {
	return func(f *fixture) { f.callback = fmt.Sprintf("http://localhost:%d/callback", port) }
}

// via returns a client that, like a browser that resolved localhost to ip,
// dials ip for every request whatever its host (which it sends unchanged).
func via(ip string) *http.Client {
	d := &net.Dialer{Timeout: testio.Wait}
	return &http.Client{Timeout: testio.Wait, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, "tcp", net.JoinHostPort(ip, port))
		},
	}}
}

// get GETs target through c and returns the status and body.
func get(t *testing.T, c *http.Client, target string) (int, string) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestAuthLocalhostSquatted: with one loopback family of a localhost
// CallbackURL's port held by another program, auth fails at once naming the
// held address, prints no authorization URL, opens no browser, and the
// squatter receives nothing. The fake browser would consent and follow the
// redirect to the held family, as a browser that resolved localhost to it.
func TestAuthLocalhostSquatted(t *testing.T) {
	for _, tc := range []struct {
		name string
		held string // the squatter's address
	}{
		{name: "ipv6-loopback-held", held: "::1"},
		{name: "ipv4-loopback-held", held: "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			needFamily(t, tc.held)
			t.Parallel()
			sq := squat(t, tc.held)
			f := newFixture(t, "jumpseller", inMemory, localhostCallback(sq.port))
			var opened []string
			var mu sync.Mutex
			browser := func(_ context.Context, authURL string) error {
				mu.Lock()
				opened = append(opened, authURL)
				mu.Unlock()
				redirect, err := f.sim.Approve(authURL)
				if err != nil {
					return err
				}
				resp, err := via(tc.held).Get(redirect.String())
				if err != nil {
					return err
				}
				resp.Body.Close()
				return nil
			}
			const timeout = 10 * time.Second
			start := time.Now()
			r := f.runIO(func(sys *IO) { sys.Browser = browser }, "auth", "--timeout", timeout.String())
			elapsed := time.Since(start)

			if r.code != ExitFailure {
				t.Errorf("auth exit %d, want %d", r.code, ExitFailure)
			}
			held := net.JoinHostPort(tc.held, strconv.Itoa(sq.port))
			want := "connector: cannot listen on " + held + " for the callback: address already in use (another program holds it); free it or choose another port in CallbackURL"
			lines := strings.Split(strings.TrimSuffix(r.err, "\n"), "\n")
			if last := lines[len(lines)-1]; last != want {
				t.Errorf("stderr ends with:\n%s\nwant:\n%s", last, want)
			}
			if strings.Contains(r.err, f.srv.URL) || strings.Contains(r.err, simulator.AuthorizePath) {
				t.Errorf("the authorization URL was printed:\n%s", r.err)
			}
			if r.out != "" {
				t.Errorf("stdout = %q, want nothing", r.out)
			}
			mu.Lock()
			if len(opened) != 0 {
				t.Errorf("a browser was opened on %q", opened)
			}
			mu.Unlock()
			if got := sq.requests(); len(got) != 0 {
				t.Errorf("the squatter on %s received %q", held, got)
			}
			if elapsed >= timeout {
				t.Errorf("auth took %s: it waited for a callback instead of failing at once", elapsed)
			}
			// Nothing of ours is left listening on the other family.
			other := net.JoinHostPort(otherFamily(tc.held), strconv.Itoa(sq.port))
			if otherFamily(tc.held) != "::1" || ipv6Loopback() {
				l, err := net.Listen("tcp", other)
				if err != nil {
					t.Errorf("%s is still held after auth failed: %v", other, err)
				} else {
					l.Close()
				}
			}
		})
	}
}

// TestAuthLocalhostBothFamilies: with a localhost CallbackURL auth serves
// the callback on 127.0.0.1 and ::1 alike. In each case a request with a
// foreign state sent through one family reaches the connector (which
// refuses it and keeps waiting), and the real callback sent through the
// other completes the flow.
func TestAuthLocalhostBothFamilies(t *testing.T) {
	for _, tc := range []struct {
		name string
		via  string // the family that delivers the real callback
	}{
		{name: "callback-via-ipv6-loopback", via: "::1"},
		{name: "callback-via-ipv4-loopback", via: "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			needFamily(t, tc.via)
			t.Parallel()
			f := newFixture(t, "jumpseller", inMemory, localhostCallback(dualFreePort(t)))
			sys, out, errb := f.io(strings.NewReader(""))
			authURL, done := f.startAuth(sys, out, errb)
			cb, _ := url.Parse(f.callback)

			if other := otherFamily(tc.via); other != "::1" || ipv6Loopback() {
				forged := f.callback + "?" + url.Values{"code": {"stolen"}, "state": {"forged"}}.Encode()
				status, body := get(t, via(other), forged)
				if status != http.StatusBadRequest || !strings.Contains(body, "does not match the authorization in progress") {
					t.Errorf("a foreign state through %s: %d, want the connector's 400 page:\n%s", other, status, body)
				}
			}

			redirect, err := f.sim.Approve(authURL)
			if err != nil {
				t.Fatalf("Approve: %v", err)
			}
			if redirect.Host != cb.Host {
				t.Fatalf("the provider redirects to %s, want %s", redirect, cb.Host)
			}
			status, body := get(t, via(tc.via), redirect.String())
			if status != http.StatusOK || !strings.Contains(body, "Connected to "+f.display) {
				t.Errorf("the callback through %s: %d\n%s", tc.via, status, body)
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(testio.Wait):
				t.Fatalf("auth did not finish; stderr:\n%s", errb.String())
			}
			f.noSecrets(r)
			if r.code != ExitOK || r.out != "jumpseller:"+f.account+"\n" {
				t.Errorf("auth exit %d, stdout %q; stderr:\n%s", r.code, r.out, r.err)
			}
		})
	}
}

// TestListenLoopback checks which addresses a CallbackURL is served on: an
// IP literal on itself alone, localhost on every loopback family and on
// one port, port 0 included.
func TestListenLoopback(t *testing.T) {
	v6 := ipv6Loopback()
	both := []string{"127.0.0.1"}
	if v6 {
		both = append(both, "::1")
	}
	port := strconv.Itoa(dualFreePort(t))
	for _, tc := range []struct {
		name   string
		host   string
		needV6 bool
		want   []string // the listeners' IPs, in order
	}{
		{name: "localhost-port-0", host: "localhost:0", want: both},
		{name: "localhost-fixed-port", host: "localhost:" + port, want: both},
		{name: "LOCALHOST-any-case", host: "LOCALHOST:0", want: both},
		{name: "ipv4-literal-port-0", host: "127.0.0.1:0", want: []string{"127.0.0.1"}},
		{name: "ipv6-literal-port-0", host: "[::1]:0", needV6: true, want: []string{"::1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needV6 {
				needFamily(t, "::1")
			}
			ls, err := listenLoopback(&url.URL{Scheme: "http", Host: tc.host, Path: "/callback"})
			if err != nil {
				t.Fatalf("listenLoopback(%s): %v", tc.host, err)
			}
			var ips []string
			ports := map[int]bool{}
			for _, l := range ls {
				a := l.Addr().(*net.TCPAddr)
				ips = append(ips, a.IP.String())
				ports[a.Port] = true
				l.Close()
			}
			if diff := cmp.Diff(tc.want, ips); diff != "" {
				t.Errorf("listeners (-want +got):\n%s", diff)
			}
			if len(ports) != 1 {
				t.Errorf("the listeners are on ports %v, want one port", ports)
			}
			if _, p, _ := net.SplitHostPort(tc.host); p != "0" && !ports[atoi(t, p)] {
				t.Errorf("the listeners are on ports %v, want %s", ports, p)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
