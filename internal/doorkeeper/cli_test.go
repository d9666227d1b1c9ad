package doorkeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testio"
)

// cliTests drive the built connector command through a Doorkeeper.
func cliTests(s *server) []subtest {
	return []subtest{
		{"auth-token-call-revoke", s.cliAuth},
		{"out-of-band", s.cliOOB},
		{"eight-processes-one-refresh", s.cliEight},
		{"401-one-refresh-one-retry", s.cli401},
		{"grant-revoked-at-the-server", s.cliGrantRevoked},
		{"wrong-client-secret", s.cliWrongSecret},
	}
}

// result is what one connector process left behind.
type result struct {
	code     int
	out, err string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d; stdout %q; stderr %q", r.code, r.out, r.err)
}

// command returns the connector process for args (the command first) with
// the connection string dsn.
func command(ctx context.Context, t *testing.T, dsn string, args ...string) *exec.Cmd {
	t.Helper()
	args = append([]string{args[0], "--dsn", dsn}, args[1:]...)
	cmd := exec.CommandContext(ctx, connectorBinary(t), args...)
	// The store's key is in the environment (TestMain); the string is not.
	cmd.Env = append(os.Environ(), "CONNECTOR_DSN=")
	return cmd
}

// run runs the connector to its end.
func run(t *testing.T, dsn string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := command(ctx, t, dsn, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return result{code: exitCode(t, cmd.Run(), args[0]), out: out.String(), err: errb.String()}
}

func exitCode(t *testing.T, err error, what string) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode()
	}
	t.Fatalf("connector %s: %v", what, err)
	return -1
}

// noSecrets fails t if a process printed the client secret or a refresh
// token.
func noSecrets(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(r.out+r.err, sec) {
			t.Errorf("the connector printed a secret (%s): %s", prefixOf(sec), r)
		}
	}
}

// authorizeInto authorizes app a for merchant with the library into the
// store at location, as connector auth would, and returns the stored
// connection and the tokens the code exchange issued. It does not ask for a
// token afterwards: with a short announced lifetime on a loaded machine,
// that could refresh already.
func (s *server) authorizeInto(t *testing.T, a app, merchant, location string) (connector.ConnectionInfo, issued) {
	t.Helper()
	c := s.openAt(t, a, a.Secret, location)
	defer c.Close()
	info := s.authorize(t, c, merchant).Info()
	rows := s.issuedTokens(t, a.ID, merchant)
	if len(rows) != 1 {
		t.Fatalf("the server issued %d tokens to %s for %s, want the code exchange's", len(rows), a.ID, merchant)
	}
	return info, rows[0]
}

// status returns the STATUS column of connection id in `connector
// connections`.
func status(t *testing.T, dsn, id string) string {
	t.Helper()
	r := run(t, dsn, "connections")
	if r.code != 0 {
		t.Fatalf("connector connections: %s", r)
	}
	for _, line := range strings.Split(r.out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == id {
			return f[len(f)-1]
		}
	}
	t.Fatalf("connector connections does not list %s:\n%s", id, r.out)
	return ""
}

// cliAuth: connector auth with a loopback CallbackURL (the browser follows
// the authorization URL to the command's callback server), then token,
// call, connections and revoke.
func (s *server) cliAuth(t *testing.T) {
	a := s.app("cli-auth")
	const merchant = "m-cli-auth"
	id := s.cfg.provider + ":" + merchant
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	dsn := s.dsn(a, a.Secret, callback, filepath.Join(t.TempDir(), "connector.db"))

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := command(ctx, t, dsn, "auth", "--no-browser", "--timeout", "1m")
	out, errb, done := testio.Start(t, cmd)
	authURL := testio.WaitLineWithin(t, waitFor, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, s.authorizeURL()+"?") })
	// The browser: signed in as the merchant, it follows every redirect, to
	// the command's callback page.
	req := mustRequest(t, authURL)
	req.Header.Set("X-Merchant", merchant)
	resp, err := (&http.Client{Timeout: waitFor}).Do(req)
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("Connected")) {
		t.Errorf("the callback page: %d %s", resp.StatusCode, excerpt(page))
	}
	r := result{code: exitCode(t, <-done, "auth"), out: out.String(), err: errb.String()}
	if r.code != 0 || r.out != id+"\n" {
		t.Fatalf("connector auth: %s; want exit 0 and %s", r, id)
	}
	noSecrets(t, r, a.Secret)

	r = run(t, dsn, "token")
	if r.code != 0 {
		t.Fatalf("connector token: %s", r)
	}
	if ans := s.get(t, apiPath[s.cfg.provider], strings.TrimSpace(r.out)); ans.Status != http.StatusOK {
		t.Errorf("the printed token at the API: %s", ans)
	}
	r = run(t, dsn, "call", "GET", apiPath[s.cfg.provider])
	if r.code != 0 || !strings.Contains(r.out, merchant) {
		t.Errorf("connector call GET %s: %s", apiPath[s.cfg.provider], r)
	}
	if got := status(t, dsn, id); got != "active" {
		t.Errorf("status = %s, want active", got)
	}
	r = run(t, dsn, "revoke")
	if r.code != 0 || r.out != id+"\n" {
		t.Errorf("connector revoke: %s", r)
	}
	if s.cfg.provider == "shopline" {
		s.checkGrantDead(t, a, merchant)
	} else if !strings.Contains(r.err, "no revocation endpoint") {
		t.Errorf("connector revoke does not say Jumpseller has no revocation endpoint: %s", r)
	}
	if r = run(t, dsn, "token"); r.code != 3 || r.out != "" {
		t.Errorf("connector token after revoke: %s, want exit 3 and nothing on stdout", r)
	}
}

var codeOnPage = regexp.MustCompile(`<code id="authorization_code">([^<]+)</code>`)

// cliOOB: connector auth with CallbackURL=urn:ietf:wg:oauth:2.0:oob reads
// the code Doorkeeper shows at /oauth/authorize/native from standard input.
func (s *server) cliOOB(t *testing.T) {
	a := s.app("cli-oob")
	const merchant = "m-cli-oob"
	id := s.cfg.provider + ":" + merchant
	dsn := s.dsn(a, a.Secret, oob, filepath.Join(t.TempDir(), "connector.db"))

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := command(ctx, t, dsn, "auth", "--no-browser", "--timeout", "1m")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, errb, done := testio.Start(t, cmd)
	authURL := testio.WaitLineWithin(t, waitFor, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, s.authorizeURL()+"?") })
	loc := s.approve(t, authURL, merchant)
	page := s.do(t, mustRequest(t, loc.String()))
	m := codeOnPage.FindSubmatch(page.Body)
	if page.Status != http.StatusOK || m == nil {
		t.Fatalf("the code page at %s: %s", loc.Path, page)
	}
	fmt.Fprintf(stdin, "%s\n", m[1])
	stdin.Close()
	r := result{code: exitCode(t, <-done, "auth"), out: out.String(), err: errb.String()}
	if r.code != 0 || r.out != id+"\n" {
		t.Fatalf("connector auth: %s; want exit 0 and %s", r, id)
	}
	log := s.tokenRequests(t, a.ID)
	if len(log) != 1 || log[0].GrantType != "authorization_code" || log[0].Status != http.StatusOK {
		t.Errorf("token requests: %v, want one code exchange", grantTypes(log))
	}
	r = run(t, dsn, "token")
	if r.code != 0 {
		t.Fatalf("connector token: %s", r)
	}
	if ans := s.get(t, apiPath[s.cfg.provider], strings.TrimSpace(r.out)); ans.Status != http.StatusOK {
		t.Errorf("the printed token at the API: %s", ans)
	}
}

// cliEight: eight connector token processes started at once on an expired
// token make exactly one refresh at the server, and print the same token.
func (s *server) cliEight(t *testing.T) {
	a := s.app("cli-eight")
	location := filepath.Join(t.TempDir(), "connector.db")
	info, tok := s.authorizeInto(t, a, "m-cli-eight", location)
	dsn := s.dsn(a, a.Secret, libraryCallback, location)
	waitPast(t, info.Expiry)
	before := len(s.tokenRequests(t, a.ID))

	const n = 8
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmds := make([]*exec.Cmd, n)
	outs, errs := make([]bytes.Buffer, n), make([]bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = command(ctx, t, dsn, "token")
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &errs[i]
	}
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatalf("start process %d: %v", i, err)
		}
	}
	var printed []string
	for i, c := range cmds {
		r := result{code: exitCode(t, c.Wait(), "token"), out: outs[i].String(), err: errs[i].String()}
		noSecrets(t, r, a.Secret, tok.RefreshToken)
		if r.code != 0 {
			t.Errorf("process %d: %s", i, r)
			continue
		}
		printed = append(printed, strings.TrimSpace(r.out))
	}
	elapsed := time.Since(start)
	for i, p := range printed {
		if p != printed[0] {
			t.Errorf("the processes printed different tokens: #0 %s, #%d %s", prefixOf(printed[0]), i, prefixOf(p))
		}
	}
	log := since(s.tokenRequests(t, a.ID), before)
	if len(log) != 1 || log[0].GrantType != "refresh_token" || log[0].Status != http.StatusOK {
		t.Errorf("token requests of the eight processes: %v, want exactly one refresh", grantTypes(log))
	}
	if len(printed) > 0 {
		if printed[0] == tok.AccessToken {
			t.Errorf("the processes printed the expired token")
		}
		if ans := s.get(t, apiPath[s.cfg.provider], printed[0]); ans.Status != http.StatusOK {
			t.Errorf("the printed token at the API: %s", ans)
		}
	}
	t.Logf("%d processes: %d token requests in %s", n, len(log), elapsed.Round(time.Millisecond))
}

// cli401: an access token the server no longer accepts, though the
// connector holds it valid, makes connector call's request answer 401.
// Expired at the server (its refresh token still valid): the command
// refreshes once and retries once. Revoked at the server: in Doorkeeper the
// access token and the refresh token issued with it are one row, so the
// refresh is invalid_grant and the command exits 3 after that one request.
func (s *server) cli401(t *testing.T) {
	a := s.app("cli-401")
	tests := []struct {
		name     string
		change   func(t *testing.T, token string)
		exit     int
		grant    int   // the status of the one refresh
		statuses []int // of the API requests
	}{
		{"expired-at-the-server", s.expireAccessToken, 0, http.StatusOK, []int{http.StatusUnauthorized, http.StatusOK}},
		{"revoked-at-the-server", s.revokeAccessToken, 3, statusInvalidGrant, []int{http.StatusUnauthorized}},
	}
	for _, tt := range tests { // one after the other: they share the app's request log
		t.Run(tt.name, func(t *testing.T) {
			merchant := "m-cli-401-" + tt.name
			location := filepath.Join(t.TempDir(), "connector.db")
			_, tok := s.authorizeInto(t, a, merchant, location)
			dsn := s.dsn(a, a.Secret, libraryCallback, location)
			tt.change(t, tok.AccessToken)
			beforeToken, beforeAPI := len(s.tokenRequests(t, a.ID)), len(s.apiRequests(t, a.ID))

			r := run(t, dsn, "call", "GET", apiPath[s.cfg.provider])
			if r.code != tt.exit || tt.exit == 0 && !strings.Contains(r.out, merchant) {
				t.Errorf("connector call: %s; want exit %d", r, tt.exit)
			}
			noSecrets(t, r, a.Secret, tok.RefreshToken)
			if log := since(s.tokenRequests(t, a.ID), beforeToken); len(log) != 1 || log[0].GrantType != "refresh_token" || log[0].Status != tt.grant {
				t.Errorf("token requests: %v, want exactly one refresh, answered %d", grantTypes(log), tt.grant)
			}
			var statuses []int
			for _, l := range since(s.apiRequests(t, a.ID), beforeAPI) {
				statuses = append(statuses, l.Status)
			}
			if diff := cmp.Diff(tt.statuses, statuses); diff != "" {
				t.Errorf("API answers (-want +got):\n%s", diff)
			}
		})
	}
}

// cliGrantRevoked: a grant revoked at the server (every token of it, in its
// database: the merchant removed the app) makes connector token on an
// expired token exit 3 after exactly one token request (invalid_grant, 400),
// mark the connection needs_reauth, and never present the refresh token
// again.
func (s *server) cliGrantRevoked(t *testing.T) {
	a := s.app("cli-gone")
	const merchant = "m-cli-gone"
	location := filepath.Join(t.TempDir(), "connector.db")
	info, tok := s.authorizeInto(t, a, merchant, location)
	id := info.ID
	dsn := s.dsn(a, a.Secret, libraryCallback, location)
	s.revokeGrant(t, a.ID, merchant)
	waitPast(t, info.Expiry)
	before := len(s.tokenRequests(t, a.ID))

	r := run(t, dsn, "token")
	if r.code != 3 || r.out != "" {
		t.Errorf("connector token: %s, want exit 3 and nothing on stdout", r)
	}
	noSecrets(t, r, a.Secret, tok.RefreshToken)
	log := since(s.tokenRequests(t, a.ID), before)
	if len(log) != 1 || log[0].GrantType != "refresh_token" || log[0].Status != statusInvalidGrant || log[0].Error != "invalid_grant" {
		t.Errorf("token requests: %v, want exactly one refresh, refused with 400 invalid_grant", grantTypes(log))
	}
	if got := status(t, dsn, id); got != "needs_reauth" {
		t.Errorf("status = %s, want needs_reauth", got)
	}
	if r := run(t, dsn, "token"); r.code != 3 {
		t.Errorf("connector token again: %s, want exit 3", r)
	}
	if log := since(s.tokenRequests(t, a.ID), before+1); len(log) != 0 {
		t.Errorf("the second connector token sent %v, want nothing", grantTypes(log))
	}
}

// cliWrongSecret: a wrong client secret in the connection string makes the
// refresh invalid_client (401): the command fails after exactly one token
// request, naming invalid_client, and leaves the connection active (the
// grant is fine), so that the right secret refreshes it.
func (s *server) cliWrongSecret(t *testing.T) {
	a := s.app("cli-secret")
	const merchant = "m-cli-secret"
	location := filepath.Join(t.TempDir(), "connector.db")
	info, tok := s.authorizeInto(t, a, merchant, location)
	id := info.ID
	dsn := s.dsn(a, a.Secret, libraryCallback, location)
	wrong := "wrong-" + a.Secret
	waitPast(t, info.Expiry)
	before := len(s.tokenRequests(t, a.ID))

	r := run(t, s.dsn(a, wrong, libraryCallback, location), "token")
	t.Logf("connector token with a wrong client secret: %s", r)
	if r.code != wrongSecretExit || r.out != "" || !strings.Contains(r.err, "invalid_client") {
		t.Errorf("connector token with a wrong client secret: %s; want exit %d, nothing on stdout, invalid_client on stderr", r, wrongSecretExit)
	}
	noSecrets(t, r, a.Secret, wrong, tok.RefreshToken)
	log := since(s.tokenRequests(t, a.ID), before)
	if len(log) != 1 || log[0].GrantType != "refresh_token" || log[0].Status != statusInvalidClient || log[0].Error != "invalid_client" {
		t.Errorf("token requests: %v, want exactly one refresh, refused with 401 invalid_client", grantTypes(log))
	}
	if got := status(t, dsn, id); got != "active" {
		t.Errorf("status after invalid_client = %s, want active (a configuration error says nothing about the grant)", got)
	}
	r = run(t, dsn, "token")
	if r.code != 0 {
		t.Fatalf("connector token with the right secret: %s", r)
	}
	if ans := s.get(t, apiPath[s.cfg.provider], strings.TrimSpace(r.out)); ans.Status != http.StatusOK {
		t.Errorf("the printed token at the API: %s", ans)
	}
}

// wrongSecretExit is the connector's exit status for invalid_client: the
// driver maps it to driver.InvalidClient, a configuration error (exit 2).
const wrongSecretExit = 2
