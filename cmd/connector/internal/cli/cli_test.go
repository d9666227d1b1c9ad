package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"

	_ "github.com/connector-go/connector/providers/jumpseller"
	_ "github.com/connector-go/connector/providers/shopline"
	_ "github.com/connector-go/connector/store/memory"
	_ "github.com/connector-go/connector/store/sqlite"
)

// testClock is a settable clock shared by the commands and a simulator.
type testClock = testclock.Clock

// result is what one command run left behind.
type result struct {
	code     ExitCode
	out, err string
}

// fixture is one provider's simulator on an httptest server, an app
// registered with it, a temporary store and the connection string for all
// of that.
type fixture struct {
	t        *testing.T
	name     string
	display  string
	account  string
	apiPath  string
	sim      *simulator.Server
	srv      *httptest.Server
	clock    *testClock
	secret   string
	callback string
	location string
	dsn      string
}

var apiPaths = map[string]string{"jumpseller": "store/info.json", "shopline": "token/info"}

// providerNames are the providers every end-to-end test covers.
var providerNames = []string{"jumpseller", "shopline"}

func newFixture(t *testing.T, name string, mutate ...func(*fixture)) *fixture {
	t.Helper()
	sps, err := simulated(name)
	if err != nil {
		t.Fatalf("simulated(%q): %v", name, err)
	}
	sp := sps[0]
	f := &fixture{
		t: t, name: name, display: sp.spec.DisplayName, apiPath: apiPaths[name], sim: sp.sim.(*simulator.Server),
		clock:  testclock.New(time.Now().UTC().Truncate(time.Second)),
		secret: "test-secret-" + randomSecret(),
	}
	f.account = f.sim.Config().AccountID
	f.sim.SetClock(f.clock.Now)
	f.srv = httptest.NewServer(f.sim)
	t.Cleanup(f.srv.Close)
	f.callback = fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	f.location = filepath.Join(t.TempDir(), "connector.db")
	if !slices.Contains(store.Schemes(), "file") {
		f.location = "memory://cli-test-" + randomSecret()
	}
	for _, m := range mutate {
		m(f)
	}
	f.sim.AddClient("test-app", f.secret, f.callback, driver.OOB)
	if f.dsn, err = simulatorDSN(sp, f.sim.Endpoint(f.srv.URL), "test-app", f.secret, f.callback, f.location); err != nil {
		t.Fatalf("simulatorDSN: %v", err)
	}
	return f
}

// inMemory puts the fixture's connections in a memory store, which the
// commands of one test process share: lighter than SQLite under the race
// detector, for the tests whose point is not the store.
func inMemory(f *fixture) { f.location = "memory://cli-test-" + randomSecret() }

// io returns an IO on fresh buffers with the fixture's clock.
func (f *fixture) io(in io.Reader) (IO, *testio.Buffer, *testio.Buffer) {
	out, errb := testio.Pair()
	return IO{In: in, Out: out, Err: errb, Env: func(string) string { return "" }, Now: f.clock.Now}, out, errb
}

// run runs one command to completion with the fixture's DSN.
func (f *fixture) run(args ...string) result {
	f.t.Helper()
	return f.runIO(nil, args...)
}

func (f *fixture) runIO(mutate func(*IO), args ...string) result {
	f.t.Helper()
	sys, out, errb := f.io(strings.NewReader(""))
	if mutate != nil {
		mutate(&sys)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	code := Main(ctx, append(args, "--dsn", f.dsn), sys)
	r := result{code: code, out: out.String(), err: errb.String()}
	f.noSecrets(r)
	return r
}

// noSecrets fails the test if a command printed the client secret.
func (f *fixture) noSecrets(r result) {
	f.t.Helper()
	if strings.Contains(r.out, f.secret) || strings.Contains(r.err, f.secret) {
		f.t.Errorf("the client secret was printed:\nstdout: %s\nstderr: %s", r.out, r.err)
	}
}

// startAuth runs `auth` in a goroutine and returns the authorization URL it
// printed and a channel with its result.
func (f *fixture) startAuth(sys IO, out, errb *testio.Buffer, args ...string) (string, <-chan result) {
	f.t.Helper()
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	go func() {
		defer cancel()
		code := Main(ctx, append([]string{"auth", "--no-browser", "--dsn", f.dsn}, args...), sys)
		errb.Close() // a WaitLine for the URL fails now, not after its bound
		done <- result{code: code, out: out.String(), err: errb.String()}
	}()
	authURL := testio.WaitLine(f.t, errb, "authorization URL", func(l string) bool {
		return strings.HasPrefix(l, f.srv.URL+simulator.AuthorizePath+"?")
	})
	return authURL, done
}

// auth runs `auth --no-browser`, answers the consent page like a browser
// would and returns the result and the callback page.
func (f *fixture) auth(decision string) (result, *http.Response, string) {
	f.t.Helper()
	sys, out, errb := f.io(strings.NewReader(""))
	authURL, done := f.startAuth(sys, out, errb)
	resp, body := consent(f.t, authURL, decision)
	var r result
	select {
	case r = <-done:
	case <-time.After(testio.Wait):
		f.t.Fatalf("auth did not finish; stderr:\n%s", errb.String())
	}
	f.noSecrets(r)
	return r, resp, body
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// consent follows authURL as a browser would: it GETs the consent page,
// submits its form with decision ("approve" or "deny") and follows the
// redirects to the callback, whose answer it returns.
func consent(t *testing.T, authURL, decision string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: testio.Wait}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("GET consent page: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %s\n%s", resp.Status, page)
	}
	form := url.Values{"decision": {decision}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("nonce") == "" {
		t.Fatalf("the consent page has no form:\n%s", page)
	}
	action, _ := url.Parse("authorize") // the form's action, relative to the page
	resp, err = client.PostForm(resp.Request.URL.ResolveReference(action).String(), form)
	if err != nil {
		t.Fatalf("POST consent: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// TestAuthTokenCallConnections is the end-to-end path for each
// provider: auth prints the URL, a client that follows redirects completes
// the flow, auth prints the connection id; then token, call and connections
// work against the store of OAuthSettingsLocation.
func TestAuthTokenCallConnections(t *testing.T) {
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, name)
			r, resp, page := f.auth("approve")
			if r.code != ExitOK {
				t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
			}
			wantID := name + ":" + f.account
			if r.out != wantID+"\n" {
				t.Errorf("auth stdout = %q, want the connection id %q alone", r.out, wantID)
			}
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback" {
				t.Errorf("callback answered %s at %s", resp.Status, resp.Request.URL)
			}
			checkPageHeaders(t, resp.Header)
			if !strings.Contains(page, "Connected to "+f.display) {
				t.Errorf("callback page does not say it connected:\n%s", page)
			}

			r = f.run("token")
			if r.code != ExitOK {
				t.Fatalf("token exit %d; stderr:\n%s", r.code, r.err)
			}
			tok := strings.TrimSuffix(r.out, "\n")
			if tok == "" || strings.ContainsAny(tok, "\n ") || !f.sim.ValidAccessToken(tok) {
				t.Errorf("token printed %q, not one valid access token alone", r.out)
			}
			if r.err != "" {
				t.Errorf("token wrote to stderr: %s", r.err)
			}

			r = f.run("call", "GET", f.apiPath)
			if r.code != ExitOK {
				t.Fatalf("call exit %d; stderr:\n%s", r.code, r.err)
			}
			if !strings.Contains(r.out, f.account) {
				t.Errorf("call GET %s printed %q, without the account %s", f.apiPath, r.out, f.account)
			}
			if strings.Contains(r.out, tok) || strings.Contains(r.err, tok) {
				t.Errorf("call printed the access token")
			}

			r = f.run("connections")
			if r.code != ExitOK {
				t.Fatalf("connections exit %d; stderr:\n%s", r.code, r.err)
			}
			lines := strings.Split(strings.TrimSpace(r.out), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") {
				t.Fatalf("connections printed:\n%s", r.out)
			}
			// ID PROVIDER ACCOUNT APP REF SCOPES EXPIRY STATUS
			fields := strings.Fields(lines[1])
			if len(fields) != 8 || fields[0] != wantID || fields[1] != name || fields[2] != f.account || fields[3] != "test-app" || fields[7] != "active" {
				t.Errorf("connections row = %q", lines[1])
			}
			if _, err := time.Parse(time.RFC3339, fields[6]); err != nil {
				t.Errorf("EXPIRY %q is not RFC 3339", fields[6])
			}
		})
	}
}

func checkPageHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
		"Cache-Control":           "no-store",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("callback page header %s = %q, want %q", k, got, want)
		}
	}
}

// TestCallbackPageIsSelfContained checks that the page loads nothing from
// anywhere: no src, href, url() or script.
func TestCallbackPageIsSelfContained(t *testing.T) {
	for _, p := range []page{
		{OK: true, Title: "Connected", Heading: "Connected", Message: "ok"},
		{Title: "Failed", Heading: "Failed", Message: "no", Detail: `<script>alert(1)</script>`},
	} {
		rec := httptest.NewRecorder()
		writePage(rec, http.StatusOK, p)
		body := rec.Body.String()
		for _, bad := range []string{"src=", "href=", "url(", "<script", "@import", "http://", "https://"} {
			if strings.Contains(body, bad) {
				t.Errorf("page %q holds %q:\n%s", p.Title, bad, body)
			}
		}
		checkPageHeaders(t, rec.Header())
	}
}

func TestAuthDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	r, resp, page := f.auth("deny")
	if r.code != ExitFailure {
		t.Fatalf("auth exit %d, want %d; stderr:\n%s", r.code, ExitFailure, r.err)
	}
	if !strings.Contains(r.err, "authorization was denied") {
		t.Errorf("stderr does not say the authorization was denied:\n%s", r.err)
	}
	if r.out != "" {
		t.Errorf("stdout = %q, want nothing", r.out)
	}
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Authorization was denied") {
		t.Errorf("callback page: %s\n%s", resp.Status, page)
	}
	checkPageHeaders(t, resp.Header)
	if r := f.run("connections"); strings.Count(r.out, "\n") != 1 {
		t.Errorf("a denied authorization stored something:\n%s", r.out)
	}
}

func TestAuthTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "shopline", inMemory)
	start := time.Now()
	r := f.run("auth", "--no-browser", "--timeout", "300ms")
	if r.code != ExitFailure {
		t.Fatalf("auth exit %d, want %d; stderr:\n%s", r.code, ExitFailure, r.err)
	}
	if !strings.Contains(r.err, "timed out after 300ms waiting for the authorization callback") {
		t.Errorf("stderr does not report the timeout:\n%s", r.err)
	}
	if time.Since(start) > testio.Wait {
		t.Errorf("auth took %s to time out", time.Since(start))
	}
	// The port is free again: the callback server was shut down.
	u, _ := url.Parse(f.callback)
	l, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Errorf("the callback port is still taken: %v", err)
	} else {
		l.Close()
	}
}

// TestAuthCallbackServer checks the callback server while auth waits: other
// paths are 404, a callback with a foreign state is refused without ending
// the flow, and the browser opener is used (and its failure tolerated).
func TestAuthCallbackServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	sys, out, errb := f.io(strings.NewReader(""))
	opened := make(chan string, 1)
	sys.Browser = func(_ context.Context, u string) error {
		opened <- u
		return fmt.Errorf("no display")
	}
	done := make(chan result, 1)
	go func() {
		code := Main(context.Background(), []string{"auth", "--timeout", "60s", "--dsn", f.dsn}, sys)
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- result{code: code, out: out.String(), err: errb.String()}
	}()
	authURL := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, f.srv.URL) })
	select {
	case u := <-opened:
		if u != authURL {
			t.Errorf("browser opened %q, want %q", u, authURL)
		}
	case <-time.After(testio.Wait):
		t.Fatal("the browser opener was not called")
	}
	testio.WaitLine(t, errb, "the opener's failure", func(l string) bool { return strings.Contains(l, "could not open a browser (no display)") })

	cb, _ := url.Parse(f.callback)
	get := func(path string) int {
		resp, err := http.Get("http://" + cb.Host + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/favicon.ico"); got != http.StatusNotFound {
		t.Errorf("GET /favicon.ico = %d, want 404", got)
	}
	if got := get("/callback?code=stolen&state=forged"); got != http.StatusBadRequest {
		t.Errorf("GET /callback with a foreign state = %d, want 400", got)
	}
	if got := get("/callback?error=access_denied&state=forged"); got != http.StatusBadRequest {
		t.Errorf("a forged denial = %d, want 400", got)
	}
	resp, _ := consent(t, authURL, "approve")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the real callback after forged ones = %s", resp.Status)
	}
	r := <-done
	if r.code != ExitOK || r.out != "jumpseller:"+f.account+"\n" {
		t.Errorf("auth exit %d, stdout %q; stderr:\n%s", r.code, r.out, r.err)
	}
}

// TestCallbackOnlyFirstCounts replays a valid callback: the second is
// refused and only one result is delivered.
func TestCallbackOnlyFirstCounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	sys, _, _ := f.io(nil)
	e := &env{IO: sys, dsn: f.dsn}
	p, err := e.params(true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, _ := url.Parse(f.callback)
	flow, err := startCallback(context.Background(), e, c, u)
	if err != nil {
		t.Fatal(err)
	}
	defer flow.close()
	target := "http://" + u.Host + "/callback?" + url.Values{"error": {"access_denied"}, "state": {flow.state}}.Encode()
	var codes []int
	for range 2 {
		rec := httptest.NewRecorder()
		flow.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		codes = append(codes, rec.Code)
	}
	if want := []int{http.StatusForbidden, http.StatusConflict}; !slices.Equal(codes, want) {
		t.Errorf("statuses = %v, want %v", codes, want)
	}
	_, err = flow.wait(context.Background(), time.Second)
	if driver.CodeOf(err) != driver.AccessDenied {
		t.Errorf("wait = %v, want access_denied", err)
	}
	select {
	case r := <-flow.results:
		t.Errorf("a second result was delivered: %v", r)
	default:
	}
}

func TestAuthOutOfBand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory, func(f *fixture) { f.callback = driver.OOB })
	pr, pw := io.Pipe()
	defer pw.Close()
	sys, out, errb := f.io(pr)
	done := make(chan result, 1)
	go func() {
		code := Main(context.Background(), []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", f.dsn}, sys)
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- result{code: code, out: out.String(), err: errb.String()}
	}()
	authURL := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, f.srv.URL) })
	testio.WaitLine(t, errb, "prompt", func(l string) bool { return strings.HasPrefix(l, "Authorization code:") })
	shown, err := f.sim.Approve(authURL)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(pw, "  "+shown.Query().Get("code")+"  ")
	r := <-done
	if r.code != ExitOK || r.out != "jumpseller:"+f.account+"\n" {
		t.Fatalf("auth exit %d, stdout %q; stderr:\n%s", r.code, r.out, r.err)
	}
	f.noSecrets(r)
}

// TestInteractiveTokenAuthorizes: at a terminal with GETANDREFRESH, token
// runs the flow itself when there is no connection yet.
func TestInteractiveTokenAuthorizes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "shopline", inMemory)
	sys, out, errb := f.io(strings.NewReader(""))
	sys.Interactive = true
	done := make(chan result, 1)
	go func() {
		code := Main(context.Background(), []string{"token", "--no-browser", "--dsn", f.dsn}, sys)
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- result{code: code, out: out.String(), err: errb.String()}
	}()
	authURL := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, f.srv.URL) })
	consent(t, authURL, "approve")
	r := <-done
	if r.code != ExitOK || !f.sim.ValidAccessToken(strings.TrimSpace(r.out)) {
		t.Fatalf("token exit %d, stdout %q; stderr:\n%s", r.code, r.out, r.err)
	}
	// Not interactive: no flow, exit 3.
	g := newFixture(t, "shopline", inMemory)
	if r := g.run("token"); r.code != ExitReauth || !strings.Contains(r.err, "connector auth") {
		t.Errorf("token without a connection: exit %d, stderr %s", r.code, r.err)
	}
}

// TestReauthRequired: the merchant uninstalls the app, the token expires;
// token answers 3 and the connection is shown as needs_reauth.
func TestReauthRequired(t *testing.T) {
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, name)
			if r, _, _ := f.auth("approve"); r.code != ExitOK {
				t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
			}
			f.sim.RevokeAll()
			f.clock.Advance(200 * 24 * time.Hour)
			r := f.run("token")
			if r.code != ExitReauth {
				t.Fatalf("token exit %d, want %d; stderr:\n%s", r.code, ExitReauth, r.err)
			}
			if r.out != "" {
				t.Errorf("token printed %q", r.out)
			}
			if !strings.HasPrefix(r.err, "connector: ") || strings.Count(r.err, "\n") != 1 || !strings.Contains(r.err, "needs reauthorization") {
				t.Errorf("stderr is not one line saying reauthorization is needed: %q", r.err)
			}
			r = f.run("connections")
			if !strings.Contains(r.out, "needs_reauth") {
				t.Errorf("connections does not show needs_reauth:\n%s", r.out)
			}
			if r := f.run("call", "GET", f.apiPath); r.code != ExitReauth {
				t.Errorf("call exit %d, want %d; stderr: %s", r.code, ExitReauth, r.err)
			}
		})
	}
}

// TestRefreshOnToken: an expired token is refreshed (rotated) and the new one
// is printed and stored.
func TestRefreshOnToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	first := strings.TrimSpace(f.run("token").out)
	f.clock.Advance(2 * time.Hour)
	r := f.run("token")
	second := strings.TrimSpace(r.out)
	if r.code != ExitOK || second == first || !f.sim.ValidAccessToken(second) {
		t.Fatalf("token after expiry: exit %d, same token %v; stderr:\n%s", r.code, second == first, r.err)
	}
	if got := f.sim.Stats().Refreshes; got != 1 {
		t.Errorf("refreshes = %d, want 1", got)
	}
	if third := strings.TrimSpace(f.run("token", "--connection", "jumpseller:"+f.account).out); third != second {
		t.Errorf("the refreshed token was not stored: a new run printed another")
	}
	// An unknown id is a usage error that names the known ones.
	if r := f.run("token", "--connection", "jumpseller:nosuchstore"); r.code != ExitUsage || !strings.Contains(r.err, "nosuchstore") ||
		!strings.Contains(r.err, "known: jumpseller:"+f.account) || r.out != "" {
		t.Errorf("token --connection of a missing connection: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
}

// failingStore wraps a store and fails every Put while failing is set.
type failingStore struct {
	store.Store
	mu      sync.Mutex
	failing bool
}

func (s *failingStore) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing {
		return 0, store.Errorf(nil, "disk full (injected)")
	}
	return s.Store.Put(ctx, rec, fence)
}

// PutUnlock fails as Put does: since the Store contract's PutUnlock, a
// refresh writes through it.
func (s *failingStore) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing {
		return 0, store.Errorf(nil, "disk full (injected)")
	}
	return s.Store.PutUnlock(ctx, rec, l)
}

func (s *failingStore) Close() error { return nil }

var (
	failingStores   sync.Map // location → *failingStore
	registerFailing sync.Once
)

// TestTokenNotPrintedWhenNotStored: a rotated token that cannot be persisted
// is not printed, and the command fails.
func TestTokenNotPrintedWhenNotStored(t *testing.T) {
	registerFailingStore()
	setTestKey(t)
	old := flushTimeout
	flushTimeout = 300 * time.Millisecond
	t.Cleanup(func() { flushTimeout = old })

	mem, _, err := store.Open(context.Background(), "memory://failing-"+randomSecret())
	if err != nil {
		t.Fatal(err)
	}
	fs := &failingStore{Store: mem}
	location := "failing://" + randomSecret()
	failingStores.Store(location, fs)
	f := newFixture(t, "jumpseller", func(f *fixture) { f.location = location })
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	fs.mu.Lock()
	fs.failing = true
	fs.mu.Unlock()
	f.clock.Advance(2 * time.Hour)
	r := f.run("token")
	if r.code != ExitFailure {
		t.Fatalf("token exit %d, want %d; stderr:\n%s", r.code, ExitFailure, r.err)
	}
	if r.out != "" {
		t.Errorf("token printed %q although the rotated token was not stored", r.out)
	}
	if !strings.Contains(r.err, "could not be stored") {
		t.Errorf("stderr does not say the token could not be saved: %s", r.err)
	}
	if f.sim.Stats().Refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", f.sim.Stats().Refreshes)
	}
}

// setTestKey sets CONNECTOR_ENCRYPTION_KEY for the rest of t: store.Open
// gives the failing store, as every backend but file and memory, the key of
// the environment, and refuses it without one.
func setTestKey(t *testing.T) {
	t.Setenv(store.EnvKey, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	t.Setenv(store.EnvOldKeys, "")
}

func TestCallFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	r := f.run("call", "GET", "no/such/route.json")
	if r.code != ExitFailure {
		t.Errorf("call of a missing route: exit %d", r.code)
	}
	if !strings.Contains(r.out, "not_found") {
		t.Errorf("the error body is not on stdout: %q", r.out)
	}
	if !strings.Contains(r.err, "404") {
		t.Errorf("the status is not on stderr: %q", r.err)
	}
	r = f.run("call", "GET", "https://evil.example/steal")
	if r.code != ExitUsage || !strings.Contains(r.err, "the access token is sent nowhere else") {
		t.Errorf("call to a foreign host: exit %d, stderr %s", r.code, r.err)
	}
	r = f.run("call", "GET")
	if r.code != ExitUsage {
		t.Errorf("call without PATH: exit %d", r.code)
	}
	// --data after the positional arguments, from a file that is missing.
	r = f.run("call", "POST", "store/info.json", "--data", "@/nonexistent/body.json")
	if r.code != ExitUsage || !strings.Contains(r.err, "--data") {
		t.Errorf("call with a missing --data file: exit %d, stderr %s", r.code, r.err)
	}
}

func TestRevoke(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		{"jumpseller", "has no revocation endpoint"},
		{"shopline", "Revoked the grant at SHOPLINE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.name)
			if r, _, _ := f.auth("approve"); r.code != ExitOK {
				t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
			}
			tok := strings.TrimSpace(f.run("token").out)
			r := f.run("revoke")
			if r.code != ExitOK || !strings.Contains(r.err, tc.want) {
				t.Fatalf("revoke exit %d; stderr:\n%s", r.code, r.err)
			}
			if r.out != tc.name+":"+f.account+"\n" {
				t.Errorf("revoke stdout = %q", r.out)
			}
			if revoked := !f.sim.ValidAccessToken(tok); revoked != (tc.name == "shopline") {
				t.Errorf("revoked at the provider = %v", revoked)
			}
			if r := f.run("connections"); !strings.Contains(r.out, "revoked") {
				t.Errorf("connections:\n%s", r.out)
			}
			if r := f.run("token"); r.code != ExitReauth {
				t.Errorf("token after revoke: exit %d, want %d", r.code, ExitReauth)
			}
		})
	}
}

// TestBadConfiguration: malformed connection strings and bad usage exit 2
// with a message that names the problem and never holds the secret.
func TestBadConfiguration(t *testing.T) {
	const secret = "Sup3r-S3cret-Value-42"
	base := "OAuthClientId=app;OAuthClientSecret=" + secret + ";CallbackURL=http://127.0.0.1:8085/callback;OAuthSettingsLocation=memory://bad"
	for _, tc := range []struct {
		name string
		args []string
		dsn  string
		want string
	}{
		{"unknown InitiateOAuth", []string{"token"}, "Provider=jumpseller;InitiateOAuth=SOMETIMES;" + base, "InitiateOAuth"},
		{"unknown provider", []string{"token"}, "Provider=nosuchshop;" + base, `unknown provider "nosuchshop"`},
		{"unsupported AuthScheme", []string{"auth", "--no-browser"}, "Provider=jumpseller;AuthScheme=NTLM;" + base, "AuthScheme"},
		{"unterminated quote", []string{"token"}, `Provider=jumpseller;OAuthClientSecret="` + secret + `;OAuthClientId=app`, "unterminated quote"},
		{"missing client id", []string{"auth", "--no-browser"}, "Provider=jumpseller;OAuthClientSecret=" + secret + ";OAuthSettingsLocation=memory://bad", "OAuthClientId"},
		{"unknown property", []string{"token"}, "Provider=jumpseller;OAuthClientSecrett=" + secret + ";" + base, "did you mean"},
		{"unknown scope", []string{"auth", "--no-browser"}, "Provider=jumpseller;Scope=read_everything;" + base, "read_everything"},
		{"https callback", []string{"auth", "--no-browser"}, "Provider=jumpseller;" + strings.Replace(base, "http://127.0.0.1:8085", "https://app.example", 1), "loopback http URL"},
		{"no callback", []string{"auth", "--no-browser"}, "Provider=jumpseller;OAuthClientId=app;OAuthClientSecret=" + secret, "CallbackURL is required"},
		{"auth with OFF", []string{"auth", "--no-browser"}, "Provider=jumpseller;InitiateOAuth=OFF;" + base, "InitiateOAuth=OFF forbids"},
		{"no connection string", []string{"token"}, "", "--dsn, or set CONNECTOR_DSN_FILE or CONNECTOR_DSN"},
		{"unknown command", []string{"tokens"}, "Provider=jumpseller;" + base, `unknown command "tokens"; did you mean token?`},
		{"unknown flag", []string{"token", "--conection", "x"}, "Provider=jumpseller;" + base, "unknown flag --conection; did you mean --connection?"},
		{"extra argument", []string{"token", "extra"}, "Provider=jumpseller;" + base, "takes no arguments"},
		{"non-loopback sandbox", []string{"sandbox", "--addr", "0.0.0.0:0"}, "", "loopback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, errb := testio.Pair()
			args := tc.args
			if tc.dsn != "" {
				args = append(args, "--dsn", tc.dsn)
			}
			code := Main(context.Background(), args, IO{Out: out, Err: errb, Env: func(string) string { return "" }})
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitUsage, errb)
			}
			last := lastLine(errb.String())
			if !strings.HasPrefix(last, "connector: ") || !strings.Contains(last, tc.want) {
				t.Errorf("stderr's last line = %q, want a connector: line naming %q", last, tc.want)
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("the secret was printed: %s", errb)
			}
			if out.String() != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
}

func TestDSNFromEnvironment(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	// connections creates no store: make the memory one.
	st, _, err := store.Open(context.Background(), f.location)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sys, out, errb := f.io(nil)
	sys.Env = func(k string) string {
		if k == EnvDSN {
			return f.dsn
		}
		return ""
	}
	code := Main(context.Background(), []string{"connections"}, sys)
	if code != ExitOK || !strings.HasPrefix(out.String(), "ID") {
		t.Errorf("connections with %s: exit %d, stdout %q, stderr %q", EnvDSN, code, out, errb)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestExitCodeOf(t *testing.T) {
	for _, tc := range []struct {
		code driver.Code
		want ExitCode
	}{
		{driver.InvalidConfig, ExitUsage},
		{driver.UnknownProvider, ExitUsage},
		{driver.InvalidScope, ExitUsage},
		{driver.InvalidClient, ExitUsage},
		{driver.ReauthRequired, ExitReauth},
		{driver.AuthorizationRequired, ExitReauth},
		{driver.AccessDenied, ExitFailure},
		{driver.Unavailable, ExitFailure},
		{driver.Store, ExitFailure},
	} {
		err := fmt.Errorf("wrapped: %w", &driver.Error{Code: tc.code})
		if got := exitCodeOf(err); got != tc.want {
			t.Errorf("exitCodeOf(%s) = %d, want %d", tc.code, got, tc.want)
		}
	}
	if got := exitCodeOf(nil); got != ExitOK {
		t.Errorf("exitCodeOf(nil) = %d", got)
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantPos  []string
		wantData string
	}{
		{[]string{"GET", "a"}, []string{"GET", "a"}, ""},
		{[]string{"--data", "x", "POST", "a"}, []string{"POST", "a"}, "x"},
		{[]string{"POST", "--data", "x", "a"}, []string{"POST", "a"}, "x"},
		{[]string{"POST", "a", "--data", "x"}, []string{"POST", "a"}, "x"},
		{[]string{"POST", "--", "--data", "x"}, []string{"POST", "--data", "x"}, ""},
	} {
		var o callOptions
		set := flag.NewFlagSet("call", flag.ContinueOnError)
		set.StringVar(&o.data, "data", "", "")
		pos, err := parseInterspersed(set, tc.args)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if !slices.Equal(pos, tc.wantPos) || o.data != tc.wantData {
			t.Errorf("%q: positional %q, data %q; want %q, %q", tc.args, pos, o.data, tc.wantPos, tc.wantData)
		}
	}
}

func TestProviders(t *testing.T) {
	t.Parallel()
	out, errb := testio.Pair()
	if code := Main(context.Background(), []string{"providers"}, IO{Out: out, Err: errb}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, want := range []string{
		"jumpseller (Jumpseller)", "shopline (SHOPLINE)",
		"https://accounts.jumpseller.com/oauth/authorize", "form body", "json body",
		"no endpoint: revoke marks the connection revoked locally", "/oauth/revoke", "simulator",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("providers output lacks %q:\n%s", want, out)
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	out := &testio.Buffer{}
	if code := Main(context.Background(), []string{"help"}, IO{Out: out}); code != ExitOK {
		t.Fatalf("help exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), c.name) {
			t.Errorf("help does not list %s", c.name)
		}
	}
	out = &testio.Buffer{}
	if code := Main(context.Background(), []string{"call", "-h"}, IO{Out: out}); code != ExitOK || !strings.Contains(out.String(), "-data") {
		t.Errorf("call -h: exit %d:\n%s", code, out)
	}
	if code := Main(context.Background(), nil, IO{}); code != ExitUsage {
		t.Errorf("no command: exit %d, want %d", code, ExitUsage)
	}
}

// TestSandbox runs the sandbox and authorizes against it with the
// connection string it printed.
func TestSandbox(t *testing.T) {
	t.Parallel()
	out, errb := testio.Pair()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan ExitCode, 1)
	callback := fmt.Sprintf("http://127.0.0.1:%d/cb", testio.FreePort(t))
	location := filepath.Join(t.TempDir(), "sandbox.db")
	go func() {
		code := Main(ctx, []string{"sandbox", "--callback", callback, "--store", location}, IO{Out: out, Err: errb})
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- code
	}()
	var dsns []string
	for _, name := range providerNames {
		dsns = append(dsns, testio.WaitLine(t, out, name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+name+";") }))
	}
	for i, name := range providerNames {
		p := dsns[i]
		for _, want := range []string{"OAuthClientId=" + SandboxClientID, "OAuthClientSecret=" + SandboxClientSecret, "CallbackURL=" + callback,
			"OAuthAuthorizationURL=http://127.0.0.1:", "OAuthAccessTokenURL=", "URL=", "OAuthSettingsLocation=" + location} {
			if !strings.Contains(p, want) {
				t.Errorf("%s string lacks %q: %s", name, want, p)
			}
		}
		if strings.Contains(p, "OAuthRevokeURL=") != (name == "shopline") {
			t.Errorf("%s string: OAuthRevokeURL presence is wrong: %s", name, p)
		}
		sys := IO{Out: &testio.Buffer{}, Err: &testio.Buffer{}}
		aout, aerr := sys.Out.(*testio.Buffer), sys.Err.(*testio.Buffer)
		adone := make(chan ExitCode, 1)
		go func() {
			code := Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", p}, sys)
			aout.Close() // a WaitLine on its output fails now, not after its bound
			aerr.Close()
			adone <- code
		}()
		authURL := testio.WaitLine(t, aerr, "authorization URL", func(l string) bool { return strings.Contains(l, "/"+name+"/oauth/authorize?") })
		resp, page := consent(t, authURL, "approve")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s callback: %s %s", name, resp.Status, page)
		}
		if code := <-adone; code != ExitOK {
			t.Fatalf("%s auth exit %d: %s", name, code, aerr)
		}
		id := strings.TrimSpace(aout.String())
		cout, cerr := testio.Pair()
		if code := Main(ctx, []string{"call", "GET", apiPaths[name], "--dsn", p}, IO{Out: cout, Err: cerr}); code != ExitOK {
			t.Errorf("%s call exit %d: %s", name, code, cerr)
		}
		if !strings.Contains(id, name+":") {
			t.Errorf("%s auth printed %q", name, id)
		}
	}
	// The root page lists the simulators.
	base := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(errb.String())
	if base == nil {
		t.Fatalf("sandbox did not print its address:\n%s", errb)
	}
	resp, err := http.Get(base[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(idx), "SHOPLINE") {
		t.Errorf("index page:\n%s", idx)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("sandbox exit %d: %s", code, errb)
		}
	case <-time.After(testio.Wait):
		t.Fatal("sandbox did not stop when its context was cancelled")
	}
}

// longSecret matches what a whole token, code or generated secret looks like.
var longSecret = regexp.MustCompile(`[A-Za-z0-9_]{32,}`)

func TestDemo(t *testing.T) {
	t.Parallel()
	out, errb := testio.Pair()
	code := Main(context.Background(), []string{"demo"}, IO{Out: out, Err: errb})
	if code != ExitOK {
		t.Fatalf("demo exit %d; stdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	all := out.String() + errb.String()
	if m := longSecret.FindString(all); m != "" {
		t.Errorf("demo printed something that looks like a whole token or secret: %q", m)
	}
	for _, want := range []string{"== Jumpseller ==", "== SHOPLINE ==", "(rotated)", "refuses the old refresh token",
		"has no revocation endpoint", "Revoked the grant at SHOPLINE", "reauth_required", "OAuthClientSecret=[redacted]"} {
		if !strings.Contains(all, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	if a, b := fingerprint("token-a"), fingerprint("token-b"); a == b || len(a) != 7 || strings.Contains(a, "token") {
		t.Errorf("fingerprints %q, %q", a, b)
	}
	if got := fingerprint(""); got != "(none)" {
		t.Errorf("fingerprint(\"\") = %q", got)
	}
}
