package doorkeeper

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/internal/testio"
)

// aptInstall installs what the tests need on Debian bookworm: Doorkeeper
// 5.5.0 on Rails 6.1 with SQLite (WEBrick comes with Ruby: libruby3.1
// depends on ruby-webrick).
const aptInstall = "apt-get install -y --no-install-recommends ruby-doorkeeper ruby-rails ruby-sqlite3"

// waitFor bounds every wait: generous, for a loaded two-CPU CI machine
// running the race detector; a passing test never waits that long.
const waitFor = 60 * time.Second

// oob is the out-of-band redirect URI both providers accept.
const oob = "urn:ietf:wg:oauth:2.0:oob"

// appFile is the Rails application, one file.
var appFile = filepath.Join("testdata", "app", "app.rb")

var (
	rubyOnce    sync.Once
	rubyPath    string
	rubyVersion string // Doorkeeper's and Rails's
	rubyErr     error
)

// requireDoorkeeper returns the ruby that can run the app, or skips the test
// (fails it under CI=true) saying what to install.
func requireDoorkeeper(t *testing.T) string {
	t.Helper()
	rubyOnce.Do(func() {
		if rubyPath, rubyErr = exec.LookPath("ruby"); rubyErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		out, err := exec.CommandContext(ctx, rubyPath, "-e",
			`require "rails"; require "doorkeeper"; require "sqlite3"; require "webrick"; print "doorkeeper ", Doorkeeper::VERSION::STRING, ", rails ", Rails.version`).CombinedOutput()
		if err != nil {
			first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			rubyErr = fmt.Errorf("%s cannot load the gems: %v: %s", rubyPath, err, first)
			return
		}
		rubyVersion = string(out)
	})
	if rubyErr != nil {
		testenv.Absent(t, "Doorkeeper", fmt.Sprintf("no Doorkeeper to test against (%v); install Debian's packages: %s", rubyErr, aptInstall))
	}
	return rubyPath
}

// config is one way to run Doorkeeper: a provider's wire format and a
// rotation mode.
type config struct {
	provider string // jumpseller or shopline
	// strict: the access-token table has no previous_refresh_token column,
	// so a refresh revokes the refresh token it used at once. Otherwise (the
	// install migration's default) it is revoked when the new access token
	// is first used.
	strict bool
}

func (c config) String() string {
	if c.strict {
		return c.provider + "-strict"
	}
	return c.provider + "-default"
}

// configs are the servers TestDoorkeeper starts.
var configs = []config{
	{provider: "jumpseller"},
	{provider: "jumpseller", strict: true},
	{provider: "shopline"},
	{provider: "shopline", strict: true},
}

// The providers' wire facts, stated here as literals (not read from the
// drivers' Specs), as the simulators state theirs.
var (
	// tokenType is token_type as each provider sends it.
	tokenType = map[string]string{"jumpseller": "bearer", "shopline": "Bearer"}
	// bodyFormat is how each provider takes token requests.
	bodyFormat = map[string]format{"jumpseller": formURL, "shopline": formJSON}
	// apiPath is an API resource that names the account, under the API base.
	apiPath = map[string]string{"jumpseller": "store/info.json", "shopline": "merchants"}
)

// lifetime is the lifetime of access tokens at each provider, which the
// server is configured with.
var lifetime = map[string]time.Duration{"jumpseller": time.Hour, "shopline": 15778476 * time.Second}

// apps are the client applications every server registers at boot, one per
// test so that the tests' request counts never mix. The tests of expiry
// register theirs with a short announced lifetime: the code exchange's
// answer says the token expires after it (the server keeps accepting it,
// whatever the machine's load; refreshed tokens announce the real
// lifetime).
var apps = map[string]time.Duration{
	"wire":               0,
	"wire-other":         0,
	"lib-flow":           10 * time.Second, // its test calls the API before it is due
	"lib-code":           0,
	"lib-secret":         0,
	"lib-revoke":         0,
	"lib-revoke-expired": 3 * time.Second,
	"cli-auth":           0,
	"cli-oob":            0,
	"cli-eight":          3 * time.Second,
	"cli-401":            0,
	"cli-gone":           3 * time.Second,
	"cli-secret":         3 * time.Second,
}

// app is one confidential client application registered with a server.
type app struct {
	ID, Secret string
	// Announced is the lifetime the code exchange's answer announces; 0
	// for the real one.
	Announced time.Duration
}

// server is one running Doorkeeper.
type server struct {
	cfg    config
	base   string // http://127.0.0.1:PORT
	apps   map[string]app
	stderr *testio.Buffer
}

// startServer starts a Doorkeeper for cfg, with a new database in a
// temporary directory, waits until it accepts connections, and stops it when
// t ends (printing its log if t failed).
func startServer(t *testing.T, ruby string, cfg config) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{cfg: cfg, apps: map[string]app{}, stderr: &testio.Buffer{}}
	var regs []map[string]any
	for id, announced := range apps {
		a := app{ID: id, Secret: "secret-" + rand.Text(), Announced: announced}
		s.apps[id] = a
		reg := map[string]any{
			"uid": a.ID, "secret": a.Secret,
			// A loopback IP redirect URI matches with any port.
			"redirect_uri": "http://127.0.0.1/callback\n" + oob,
		}
		if announced > 0 {
			reg["expires_in"] = int(announced / time.Second)
		}
		regs = append(regs, reg)
	}
	clients, err := json.Marshal(regs)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "doorkeeper.sqlite3")
	rotation := "default"
	if cfg.strict {
		rotation = "strict"
	}
	cmd := exec.Command(ruby, appFile)
	cmd.Env = append(os.Environ(), "DK_PROFILE="+cfg.provider, "DK_ROTATION="+rotation, "DK_DB="+dbPath,
		"DK_CLIENTS="+string(clients), "DK_MERCHANT=merchant-default", "RUBYOPT=-W0")
	if os.Getenv("DK_LOG_LEVEL") == "" {
		// Warnings and errors only; DK_LOG_LEVEL=info logs every request.
		cmd.Env = append(cmd.Env, "DK_LOG_LEVEL=warn")
	}
	stdout := &testio.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, s.stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the %s server: %v", cfg, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// app.rb traps SIGINT and shuts WEBrick down.
		if cmd.Process.Signal(os.Interrupt) != nil {
			cmd.Process.Kill()
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if log := s.stderr.String(); t.Failed() && log != "" {
			t.Logf("the %s server's log, last lines:\n%s", cfg, lastLines(log, 80))
		}
	})
	listening := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for s.base == "" {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			s.base = "http://" + m[1]
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the %s server exited before listening (%v):\n%s", cfg, err, lastLines(s.stderr.String(), 40))
		case <-deadline.C:
			t.Fatalf("the %s server did not listen within %s:\n%s", cfg, waitFor, lastLines(s.stderr.String(), 40))
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Logf("%s: Doorkeeper listening on %s after %s", cfg, s.base, time.Since(start).Round(time.Millisecond))
	return s
}

// app returns the application registered as id.
func (s *server) app(id string) app {
	a, ok := s.apps[id]
	if !ok {
		panic("doorkeeper test: no app " + id)
	}
	return a
}

func (s *server) authorizeURL() string { return s.base + "/oauth/authorize" }
func (s *server) tokenURL() string     { return s.base + "/oauth/token" }
func (s *server) revokeURL() string    { return s.base + "/oauth/revoke" }
func (s *server) apiBase() string      { return s.base + "/api/v1/" }

// dsn is the connection string of app a at s: every endpoint overridden,
// the store at location. The revocation endpoint is given only for SHOPLINE,
// which documents it.
func (s *server) dsn(a app, secret, callback, location string) string {
	kv := [][2]string{
		{"Provider", s.cfg.provider},
		{"OAuthClientId", a.ID},
		{"OAuthClientSecret", secret},
		{"CallbackURL", callback},
		{"OAuthAuthorizationURL", s.authorizeURL()},
		{"OAuthAccessTokenURL", s.tokenURL()},
		{"OAuthRefreshTokenURL", s.tokenURL()},
	}
	if s.cfg.provider == "shopline" {
		kv = append(kv, [2]string{"OAuthRevokeURL", s.revokeURL()})
	}
	kv = append(kv, [2]string{"URL", s.apiBase()}, [2]string{"OAuthSettingsLocation", location})
	var b strings.Builder
	for _, p := range kv {
		v := p[1]
		if strings.ContainsAny(v, `;"'`) || strings.TrimSpace(v) != v {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		fmt.Fprintf(&b, "%s=%s;", p[0], v)
	}
	return b.String()
}

// logged is one request the server answered, from its request log.
type logged struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ClientID    string `json:"client_id"`
	GrantType   string `json:"grant_type"`
	Error       string `json:"error"`
	ContentType string `json:"content_type"`
	Bearer      bool   `json:"bearer"`
}

func (l logged) String() string {
	s := fmt.Sprintf("%s %s → %d", l.Method, l.Path, l.Status)
	if l.GrantType != "" {
		s += " grant_type=" + l.GrantType
	}
	if l.Error != "" {
		s += " error=" + l.Error
	}
	return s
}

// requests returns every token, revoke and API request the server answered
// for the app.
func (s *server) requests(t *testing.T, appID string) []logged {
	t.Helper()
	resp, err := httpClient.Get(s.base + "/test/requests?client_id=" + url.QueryEscape(appID))
	if err != nil {
		t.Fatalf("read the request log: %v", err)
	}
	defer resp.Body.Close()
	var log []logged
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("read the request log: %d, %v", resp.StatusCode, err)
	}
	return log
}

// tokenRequests returns the app's requests to the token endpoint.
func (s *server) tokenRequests(t *testing.T, appID string) []logged {
	t.Helper()
	var out []logged
	for _, l := range s.requests(t, appID) {
		if l.Path == "/oauth/token" {
			out = append(out, l)
		}
	}
	return out
}

// apiRequests returns the app's requests to the API.
func (s *server) apiRequests(t *testing.T, appID string) []logged {
	t.Helper()
	var out []logged
	for _, l := range s.requests(t, appID) {
		if strings.HasPrefix(l.Path, "/api/") {
			out = append(out, l)
		}
	}
	return out
}

// since returns the entries of log after the first n.
func since(log []logged, n int) []logged {
	if n > len(log) {
		return nil
	}
	return log[n:]
}

// admin posts params to one of the app's /test routes, which change the
// server's database as an administrator would, and decodes the answer into
// v (when not nil).
func (s *server) admin(t *testing.T, route string, params map[string]string, v any) {
	t.Helper()
	ans := s.post(t, "/test/"+route, formJSON, params, nil)
	if ans.Status/100 != 2 {
		t.Fatalf("POST /test/%s: %s", route, ans)
	}
	if v != nil {
		if err := json.Unmarshal(ans.Body, v); err != nil {
			t.Fatalf("POST /test/%s: %v", route, err)
		}
	}
}

// revokeAccessToken revokes an access token in the server's database. In
// Doorkeeper an access token and the refresh token issued with it are one
// row: the refresh token is revoked too.
func (s *server) revokeAccessToken(t *testing.T, token string) {
	t.Helper()
	s.admin(t, "revoke", map[string]string{"token": token}, nil)
}

// expireAccessToken makes an access token older than its lifetime in the
// server's database; its refresh token stays valid.
func (s *server) expireAccessToken(t *testing.T, token string) {
	t.Helper()
	s.admin(t, "expire", map[string]string{"token": token}, nil)
}

// revokeGrant revokes every token of the merchant's grant to the app in the
// server's database: the merchant removed the app.
func (s *server) revokeGrant(t *testing.T, appID, merchant string) {
	t.Helper()
	var res struct{ Revoked int }
	s.admin(t, "revoke_grant", map[string]string{"client_id": appID, "merchant": merchant}, &res)
	if res.Revoked == 0 {
		t.Fatalf("revoke the grant of %s to %s: no token to revoke", merchant, appID)
	}
}

// ageCode makes an authorization code older than its lifetime in the
// server's database, and returns that lifetime.
func (s *server) ageCode(t *testing.T, code string) time.Duration {
	t.Helper()
	var res struct {
		ExpiresIn int `json:"expires_in"`
	}
	s.admin(t, "age_code", map[string]string{"code": code}, &res)
	return time.Duration(res.ExpiresIn) * time.Second
}

// issued is one row of oauth_access_tokens.
type issued struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Revoked      bool   `json:"revoked"`
}

// issuedTokens returns every token the server issued to the app for the
// merchant, oldest first.
func (s *server) issuedTokens(t *testing.T, appID, merchant string) []issued {
	t.Helper()
	req := mustRequest(t, s.base+"/test/tokens?"+url.Values{"client_id": {appID}, "merchant": {merchant}}.Encode())
	ans := s.do(t, req)
	var out []issued
	if ans.Status != http.StatusOK || json.Unmarshal(ans.Body, &out) != nil {
		t.Fatalf("GET /test/tokens: %s", ans)
	}
	return out
}

// httpClient is the tests' own client: it never follows redirects, so that
// each hop is seen.
var httpClient = &http.Client{
	Timeout:       waitFor,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// approve plays the merchant's browser at an authorization URL: signed in
// as merchant, it is redirected at once (the app skips the consent page).
// It returns the redirect's Location without following it.
func (s *server) approve(t *testing.T, authURL, merchant string) *url.URL {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatalf("authorization URL %q: %v", authURL, err)
	}
	req.Header.Set("X-Merchant", merchant)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET the authorization URL: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET the authorization URL: %d, want a 302 redirect; body:\n%s", resp.StatusCode, excerpt(body))
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("the authorization redirect: %v", err)
	}
	return loc
}

// format is a token request's body format.
type format int

const (
	formURL       format = iota // application/x-www-form-urlencoded
	formMultipart               // multipart/form-data (curl -F, as Jumpseller documents)
	formJSON                    // application/json (as SHOPLINE documents)
)

func (f format) String() string {
	return [...]string{"urlencoded", "multipart", "json"}[f]
}

// answer is a server's answer, read whole.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any // nil when the body is not a JSON object
}

func (a *answer) String() string { return fmt.Sprintf("%d %s", a.Status, excerpt(a.Body)) }

// str returns the string field k of the JSON answer.
func (a *answer) str(k string) string {
	s, _ := a.JSON[k].(string)
	return s
}

// post sends params to the server's path in format f, with Basic client
// authentication when basic is set.
func (s *server) post(t *testing.T, path string, f format, params map[string]string, basic *app) *answer {
	t.Helper()
	var (
		body  bytes.Buffer
		ctype string
	)
	switch f {
	case formURL:
		v := url.Values{}
		for k, p := range params {
			v.Set(k, p)
		}
		body.WriteString(v.Encode())
		ctype = "application/x-www-form-urlencoded"
	case formMultipart:
		w := multipart.NewWriter(&body)
		for k, p := range params {
			w.WriteField(k, p)
		}
		w.Close()
		ctype = w.FormDataContentType()
	case formJSON:
		json.NewEncoder(&body).Encode(params)
		ctype = "application/json"
	}
	req, err := http.NewRequest(http.MethodPost, s.base+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	if basic != nil {
		req.SetBasicAuth(basic.ID, basic.Secret)
	}
	return s.do(t, req)
}

// get sends a GET to the API with token as the bearer token ("" for none).
func (s *server) get(t *testing.T, path, token string) *answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.apiBase()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "internal/doorkeeper test")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.do(t, req)
}

func (s *server) do(t *testing.T, req *http.Request) *answer {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", req.Method, req.URL.Path, err)
	}
	a := &answer{Status: resp.StatusCode, Header: resp.Header, Body: body}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&a.JSON) != nil {
		a.JSON = nil
	}
	return a
}

// code authorizes a for merchant with redirectURI, straight from the
// authorize endpoint, and returns the code.
func (s *server) code(t *testing.T, a app, merchant, redirectURI string, extra url.Values) string {
	t.Helper()
	q := url.Values{"client_id": {a.ID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "state": {"st-" + rand.Text()}}
	for k, v := range extra {
		q[k] = v
	}
	loc := s.approve(t, s.authorizeURL()+"?"+q.Encode(), merchant)
	if redirectURI == oob {
		return loc.Query().Get("code")
	}
	if got := loc.Query().Get("state"); got != q.Get("state") {
		t.Fatalf("the redirect's state = %q, want %q", got, q.Get("state"))
	}
	c := loc.Query().Get("code")
	if c == "" {
		t.Fatalf("the redirect to %s has no code", loc.Redacted())
	}
	return c
}

// exchange posts the code in format f with the client's credentials in the
// body.
func (s *server) exchange(t *testing.T, a app, f format, code, redirectURI string) *answer {
	t.Helper()
	return s.post(t, "/oauth/token", f, map[string]string{
		"grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI,
		"client_id": a.ID, "client_secret": a.Secret,
	}, nil)
}

// refresh posts a refresh in the provider's format, SHOPLINE's with its
// redirect_uri as its SDK sends it.
func (s *server) refresh(t *testing.T, a app, refreshToken string) *answer {
	t.Helper()
	params := map[string]string{"grant_type": "refresh_token", "refresh_token": refreshToken, "client_id": a.ID, "client_secret": a.Secret}
	if s.cfg.provider == "shopline" {
		params["redirect_uri"] = "http://127.0.0.1/callback"
	}
	return s.post(t, "/oauth/token", bodyFormat[s.cfg.provider], params, nil)
}

// grant authorizes and exchanges a code for merchant: the token answer.
func (s *server) grant(t *testing.T, a app, merchant string) *answer {
	t.Helper()
	const redirect = "http://127.0.0.1:8085/callback"
	ans := s.exchange(t, a, bodyFormat[s.cfg.provider], s.code(t, a, merchant, redirect, nil), redirect)
	if ans.Status != http.StatusOK || ans.str("access_token") == "" || ans.str("refresh_token") == "" {
		t.Fatalf("code exchange: %s", ans)
	}
	return ans
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// excerpt shortens a body for a failure message.
func excerpt(b []byte) string {
	const max = 400
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// prefixOf is the start of a token, enough to tell two apart in a message.
func prefixOf(tok string) string {
	if len(tok) > 8 {
		return tok[:8] + "…"
	}
	return tok
}

// runAll runs the subtests at once, each in its own goroutine, and returns
// when all have ended. Not t.Parallel: -parallel defaults to GOMAXPROCS (two
// on a small CI machine), and these tests mostly wait — for a Rails server
// that answers one request at a time, for tokens to expire, for processes.
func runAll(t *testing.T, tests []subtest) {
	t.Helper()
	var wg sync.WaitGroup
	for _, st := range tests {
		wg.Go(func() { t.Run(st.name, st.run) })
	}
	wg.Wait()
}

// subtest is one named subtest.
type subtest struct {
	name string
	run  func(t *testing.T)
}

// waitPast sleeps until an access token that expires at expiry is past it
// by the connector's clock. The wait is bounded: a token that expires later
// than the short announced lifetimes of the tests is not the one they meant.
func waitPast(t *testing.T, expiry time.Time) {
	t.Helper()
	d := time.Until(expiry.Add(300 * time.Millisecond))
	if d > time.Minute {
		t.Fatalf("the token expires in %s, not within seconds", d.Round(time.Second))
	}
	time.Sleep(d)
}
