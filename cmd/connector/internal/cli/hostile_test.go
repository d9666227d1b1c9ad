package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testio"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"
)

// The hostile-provider cases of the security review, driven through the CLI
// as a new user would: authorize with `auth`, then `token`, `call` and
// `connections`, against a provider (the simulator, with Fault.Set, or a
// plain httptest server for the API) that answers what an attacker in its
// place would. Each case states the trust rule of DESIGN.md it checks. The
// https-to-http redirect is checked at the library level, in the root
// package's hostile_redirect_test.go: the CLI takes no HTTP client, so it
// cannot be made to trust an httptest TLS certificate.

// hostileControl reports whether s holds a control character other than
// the line feed that ends a line: C0 (CR, ESC, ...), DEL or C1.
func hostileControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) })
}

// hostileLine checks that r.err is one "connector: " line without control
// characters (the line of a failed token or call).
func hostileLine(t *testing.T, r result, want ...string) {
	t.Helper()
	if hostileControl(r.err) {
		t.Errorf("stderr holds a control character: %q", r.err)
	}
	if !strings.HasPrefix(r.err, "connector: ") || strings.Count(r.err, "\n") != 1 {
		t.Errorf("stderr is not one connector: line: %q", r.err)
	}
	for _, w := range want {
		if !strings.Contains(r.err, w) {
			t.Errorf("stderr does not name %q: %q", w, r.err)
		}
	}
}

// hostileAuthFailed checks a failed `auth`: exit 1, no control character on
// either stream (so no connection id holding one), and exactly one error
// line among auth's messages on stderr (the URL, the wait, notes).
func hostileAuthFailed(t *testing.T, r result) {
	t.Helper()
	if r.code != ExitFailure {
		t.Errorf("auth exit %d, want %d; stdout %q; stderr:\n%s", r.code, ExitFailure, r.out, r.err)
	}
	if hostileControl(r.out) || hostileControl(r.err) {
		t.Errorf("auth printed a control character:\nstdout: %q\nstderr: %q", r.out, r.err)
	}
	var lines []string
	for _, l := range strings.Split(r.err, "\n") {
		if strings.HasPrefix(l, "connector: ") && !strings.HasPrefix(l, "connector: note: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Errorf("auth printed %d error lines, want 1:\n%s", len(lines), r.err)
	}
}

// hostileStoredIDs returns the ids of the connections at location.
func hostileStoredIDs(t *testing.T, location string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	st, _, err := store.Open(ctx, location)
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer st.Close()
	list, err := connector.ListConnections(ctx, st)
	if err != nil {
		t.Fatalf("list the store: %v", err)
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	return ids
}

// hostileNothingStored checks that neither the store nor `connections` holds a
// connection.
func hostileNothingStored(t *testing.T, f *fixture) {
	t.Helper()
	if ids := hostileStoredIDs(t, f.location); len(ids) != 0 {
		t.Errorf("stored connections %q, want none", ids)
	}
	if r := f.run("connections"); r.code != ExitOK || strings.Count(r.out, "\n") != 1 {
		t.Errorf("connections (exit %d) lists a connection:\n%s", r.code, r.out)
	}
}

// hostileNeverExpires reports the rows of `connections` whose EXPIRY is "never".
func hostileNeverExpires(t *testing.T, f *fixture) []string {
	t.Helper()
	r := f.run("connections")
	if r.code != ExitOK {
		t.Fatalf("connections exit %d: %s", r.code, r.err)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n")[1:] {
		if fields := strings.Fields(l); len(fields) == 6 && fields[4] == "never" {
			rows = append(rows, l)
		}
	}
	return rows
}

// hostileGrant is an authorized connection as stored.
type hostileGrant struct {
	id              string
	access, refresh string
	version         int64
}

// hostileAuthorize runs `auth` and `token` for f and returns what was stored.
func hostileAuthorize(t *testing.T, f *fixture) hostileGrant {
	t.Helper()
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	g := hostileGrant{id: f.name + ":" + f.account}
	g.access = printedToken(t, f, f.run("token"))
	rec, tok := storedGrant(t, f.location, g.id)
	g.version, g.refresh = rec.Version, tok.RefreshToken
	if tok.AccessToken != g.access || g.refresh == "" {
		t.Fatalf("the stored grant is not the one token printed")
	}
	return g
}

// hostileExpire moves the CLI's and the simulator's clock past the access
// token's expiry; the refresh token stays valid (SHOPLINE's for a day
// after).
func hostileExpire(f *fixture) { f.clock.Advance(f.sim.Config().AccessTTL + time.Hour) }

// hostileUnchanged checks that the stored grant is still g, at its version.
func hostileUnchanged(t *testing.T, f *fixture, g hostileGrant) {
	t.Helper()
	rec, tok := storedGrant(t, f.location, g.id)
	if rec.Version != g.version || tok.AccessToken != g.access || tok.RefreshToken != g.refresh {
		t.Errorf("the stored grant changed: version %d → %d, same access token %v, same refresh token %v",
			g.version, rec.Version, tok.AccessToken == g.access, tok.RefreshToken == g.refresh)
	}
}

// hostileNoTokens checks that a failed command printed none of g's tokens and
// nothing that looks like a whole token.
func hostileNoTokens(t *testing.T, r result, g hostileGrant) {
	t.Helper()
	for what, s := range map[string]string{"access": g.access, "refresh": g.refresh} {
		if s != "" && strings.Contains(r.out+r.err, s) {
			t.Errorf("the stored %s token was printed:\nstdout: %q\nstderr: %q", what, r.out, r.err)
		}
	}
	if s := longSecret.FindString(r.err); s != "" {
		t.Errorf("stderr holds what looks like a whole token: %q", r.err)
	}
}

// hostileRecorder is an httptest server that records every request it gets.
type hostileRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []hostileRequest
}

type hostileRequest struct {
	method, path, auth, body string
}

// newHostileRecorder serves handle after recording each request.
func newHostileRecorder(t *testing.T, handle http.HandlerFunc) *hostileRecorder {
	rec := &hostileRecorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, hostileRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(b)})
		rec.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *hostileRecorder) requests() []hostileRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// TestHostileAPIRedirect: the bearer token goes only to the API's own
// origin, never along a redirect to another origin (another port here; the
// https-to-http case is TestHostileRedirectHTTPSToHTTP in the root
// package). The API is an httptest server (URL= in the connection string)
// that redirects; the other origin records what reaches it.
func TestHostileAPIRedirect(t *testing.T) {
	const (
		stolenAnswer = "STOLEN-ANSWER-3f9a"
		querySecret  = "q-secret-7c1e"
		bodyMarker   = "body-marker-52d0"
		movedAnswer  = `{"moved":"same-origin-answer-8b4d"}`
	)
	for _, name := range providerNames {
		for _, tc := range []struct {
			name   string
			method string
			data   string
			status int
			cross  bool // to the other origin; else to another path of the API's
		}{
			{name: "302 GET to another port", method: http.MethodGet, status: http.StatusFound, cross: true},
			{name: "307 POST with --data to another port", method: http.MethodPost, data: `{"note":"` + bodyMarker + `"}`, status: http.StatusTemporaryRedirect, cross: true},
			{name: "302 GET within the origin still works", method: http.MethodGet, status: http.StatusFound},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, name, inMemory)
				g := hostileAuthorize(t, f)

				other := newHostileRecorder(t, func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, stolenAnswer)
				})
				target := other.srv.URL + "/steal?access_token=" + querySecret
				if !tc.cross {
					target = "/v1/moved"
				}
				api := newHostileRecorder(t, func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/v1/moved" {
						w.Header().Set("Content-Type", "application/json")
						io.WriteString(w, movedAnswer)
						return
					}
					http.Redirect(w, r, target, tc.status)
				})
				f.dsn = strings.TrimSuffix(f.dsn, ";") + ";URL=" + api.srv.URL + "/v1/;"

				args := []string{"call", tc.method, f.apiPath}
				if tc.data != "" {
					args = append(args, "--data", tc.data)
				}
				r := f.run(args...)
				t.Logf("call: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)

				if reqs := api.requests(); len(reqs) == 0 || reqs[0].auth != "Bearer "+g.access {
					t.Fatalf("the API's origin did not get the request with the token: %+v", reqs)
				}
				for _, req := range other.requests() {
					if req.auth != "" {
						t.Errorf("the other origin got an Authorization header on %s %s", req.method, req.path)
					}
					if req.body != "" {
						t.Errorf("the other origin got the request body on %s %s: %q", req.method, req.path, req.body)
					}
				}
				if !tc.cross {
					if r.code != ExitOK || !strings.Contains(r.out, "same-origin-answer-8b4d") {
						t.Errorf("a redirect within the origin: exit %d, stdout %q; stderr: %s", r.code, r.out, r.err)
					}
					return
				}
				if r.code == ExitOK {
					t.Errorf("call exit 0, want a failure: a redirect to another origin was followed")
				}
				if strings.Contains(r.out, stolenAnswer) {
					t.Errorf("call printed the other origin's answer: %q", r.out)
				}
				hostileLine(t, r, strings.TrimPrefix(other.srv.URL, "http://"))
				if strings.Contains(r.err, querySecret) {
					t.Errorf("stderr holds the redirect's query: %q", r.err)
				}
				hostileNoTokens(t, r, g)
			})
		}
	}
}

// TestHostileRefreshAccount: a refresh answer whose resource_owner_id names
// another merchant is refused before anything is stored; the connection
// needs reauthorization and keeps its grant, and no connection appears for
// the other merchant. SHOPLINE only: Jumpseller's answers name no account.
func TestHostileRefreshAccount(t *testing.T) {
	t.Parallel()
	const other = "merchant-B"
	f := newFixture(t, "shopline", inMemory)
	g := hostileAuthorize(t, f)
	hostileExpire(f)
	f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Set: map[string]any{"resource_owner_id": other}})

	r := f.run("token")
	t.Logf("token: exit %d, stderr %q", r.code, r.err)
	if r.code != ExitReauth {
		t.Errorf("token exit %d, want %d; stdout %q; stderr: %s", r.code, ExitReauth, r.out, r.err)
	}
	if r.out != "" {
		t.Errorf("token printed %q", r.out)
	}
	hostileLine(t, r, f.account, other)
	hostileNoTokens(t, r, g)
	if n := f.sim.PendingFaults(); n != 0 {
		t.Errorf("the refresh did not reach the provider")
	}

	rec, tok := storedGrant(t, f.location, g.id)
	if rec.Status != store.NeedsReauth {
		t.Errorf("the connection is %s, want %s", rec.Status, store.NeedsReauth)
	}
	if tok.AccessToken != g.access || tok.RefreshToken != g.refresh || tok.AccountID != f.account {
		t.Errorf("the stored grant changed: same access token %v, same refresh token %v, account %q",
			tok.AccessToken == g.access, tok.RefreshToken == g.refresh, tok.AccountID)
	}
	if rec.Version > g.version+1 {
		t.Errorf("stored version %d → %d: more than the status change was written", g.version, rec.Version)
	}
	if ids := hostileStoredIDs(t, f.location); !slices.Equal(ids, []string{g.id}) {
		t.Errorf("stored connections %q, want only %s", ids, g.id)
	}
	r = f.run("connections")
	if strings.Contains(r.out, other) {
		t.Errorf("connections lists the other merchant:\n%s", r.out)
	}
	row := ""
	for _, l := range strings.Split(r.out, "\n") {
		if strings.HasPrefix(l, g.id+" ") {
			row = l
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(row), string(store.NeedsReauth)) {
		t.Errorf("connections does not show %s as needs_reauth:\n%s", g.id, r.out)
	}
	if r := f.run("token"); r.code != ExitReauth || r.out != "" {
		t.Errorf("token again: exit %d, stdout %q, want exit %d and nothing", r.code, r.out, ExitReauth)
	}
}

// TestHostileLifetime: a token answer whose lifetime is ≤ 0 is refused,
// at the exchange and at a refresh, for both providers: nothing new is
// stored, and no connection is shown as never expiring.
func TestHostileLifetime(t *testing.T) {
	for _, name := range providerNames {
		for _, expiresIn := range []int{0, -1} {
			t.Run(fmt.Sprintf("%s/expires_in %d at exchange", name, expiresIn), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, name, inMemory)
				f.sim.InjectFault(simulator.Fault{Grant: "authorization_code", Set: map[string]any{"expires_in": expiresIn}})
				r, _, _ := f.auth("approve")
				t.Logf("auth: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
				hostileAuthFailed(t, r)
				if r.out != "" {
					t.Errorf("auth printed %q", r.out)
				}
				if rows := hostileNeverExpires(t, f); len(rows) != 0 {
					t.Errorf("connections shows a connection that never expires: %q", rows)
				}
				hostileNothingStored(t, f)
			})
			t.Run(fmt.Sprintf("%s/expires_in %d at refresh", name, expiresIn), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, name, inMemory)
				g := hostileAuthorize(t, f)
				hostileExpire(f)
				f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Set: map[string]any{"expires_in": expiresIn}})
				r := f.run("token")
				t.Logf("token: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
				if r.code != ExitFailure {
					t.Errorf("token exit %d, want %d", r.code, ExitFailure)
				}
				if r.out != "" {
					t.Errorf("token printed %q", r.out)
				}
				hostileLine(t, r)
				hostileNoTokens(t, r, g)
				hostileUnchanged(t, f, g)
				if rows := hostileNeverExpires(t, f); len(rows) != 0 {
					t.Errorf("connections shows a connection that never expires: %q", rows)
				}
			})
		}
	}
}

// TestHostileControlCharacters: tokens outside the RFC 6750/6749 grammars
// (CR LF: `curl -H "Authorization: Bearer $(connector token)"` would send
// an injected header) and an account id with an ANSI escape or a newline
// (which would become part of a connection id, and reach the terminal) are
// refused before anything is stored. Every output stays free of control
// characters.
func TestHostileControlCharacters(t *testing.T) {
	const injected = "X-Injected: 1"
	for _, tc := range []struct {
		name      string
		providers []string
		grant     string // "authorization_code" (auth) or "refresh_token" (token)
		set       map[string]any
	}{
		{"CR LF in access_token at exchange", providerNames, "authorization_code", map[string]any{"access_token": "a1b2c3\r\n" + injected}},
		{"CR LF in refresh_token at exchange", providerNames, "authorization_code", map[string]any{"refresh_token": "r1b2c3\r\n" + injected}},
		{"CR LF in access_token at refresh", providerNames, "refresh_token", map[string]any{"access_token": "a1b2c3\r\n" + injected}},
		{"CR LF in refresh_token at refresh", providerNames, "refresh_token", map[string]any{"refresh_token": "r1b2c3\r\n" + injected}},
		{"ANSI escape in resource_owner_id at exchange", []string{"shopline"}, "authorization_code", map[string]any{"resource_owner_id": "\x1b[31mmerchant-red"}},
		{"newline in resource_owner_id at exchange", []string{"shopline"}, "authorization_code", map[string]any{"resource_owner_id": "merchant\nforged"}},
	} {
		for _, name := range tc.providers {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, name, inMemory)
				fault := simulator.Fault{Grant: tc.grant, Set: tc.set}
				var r result
				var g hostileGrant
				if tc.grant == "authorization_code" {
					f.sim.InjectFault(fault)
					r, _, _ = f.auth("approve")
					t.Logf("auth: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
					hostileAuthFailed(t, r)
					hostileNothingStored(t, f)
				} else {
					g = hostileAuthorize(t, f)
					hostileExpire(f)
					f.sim.InjectFault(fault)
					r = f.run("token")
					t.Logf("token: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
					if r.code != ExitFailure {
						t.Errorf("token exit %d, want %d", r.code, ExitFailure)
					}
					if r.out != "" {
						t.Errorf("token printed %q", r.out)
					}
					hostileLine(t, r)
					hostileNoTokens(t, r, g)
					hostileUnchanged(t, f, g)
				}
				if n := f.sim.PendingFaults(); n != 0 {
					t.Errorf("the faulted request did not reach the provider")
				}
				for _, s := range []string{injected, "a1b2c3", "r1b2c3"} {
					if strings.Contains(r.out+r.err, s) {
						t.Errorf("the refused token was printed (%q):\nstdout: %q\nstderr: %q", s, r.out, r.err)
					}
				}
			})
		}
	}
}

// TestHostileSecretEcho: a token endpoint that echoes the client secret in
// error_description. Provider-supplied text is scrubbed of every secret the
// engine holds before it reaches an error: the CLI's line (which scrubs the
// connection string's secrets itself) and the library's error alike, for
// secrets of several shapes (quoted in the connection string where they
// must be).
func TestHostileSecretEcho(t *testing.T) {
	for _, name := range providerNames {
		for _, sc := range []struct {
			name   string
			secret string // "" is the fixture's generated one
		}{
			{"generated", ""},
			{"two characters", "s3"},
			{"connection-string and URL metacharacters", "p@ss;w0rd&x=1+/"},
			{"base64", "c2VjcmV0K3NlY3JldA=="},
		} {
			for _, via := range []string{"cli", "library"} {
				t.Run(name+"/"+sc.name+"/"+via, func(t *testing.T) {
					t.Parallel()
					f := newFixture(t, name, inMemory, func(f *fixture) {
						if sc.secret != "" {
							f.secret = sc.secret
						}
					})
					secret := f.secret
					p, err := connstr.Parse(f.dsn)
					if err != nil || p.ClientSecret != secret {
						t.Fatalf("the connection string does not carry the secret as it is: %v", err)
					}
					// A two-character secret may occur by chance in what
					// auth and token print (the base64url state of the
					// authorization URL, a token): look for it only in what
					// the faulted run prints.
					if len(secret) < 4 {
						f.secret = "\x00not printed"
					}
					g := hostileAuthorize(t, f)
					f.secret = secret
					hostileExpire(f)
					var desc bytes.Buffer
					enc := json.NewEncoder(&desc)
					enc.SetEscapeHTML(false) // the secret as it is, & included
					enc.Encode(map[string]string{"error": "invalid_client", "error_description": "client secret " + secret + " is not valid"})
					f.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: http.StatusUnauthorized, Body: desc.String()})

					if via == "cli" {
						r := f.run("token") // f.run checks that neither stream holds the secret
						t.Logf("token: exit %d, stderr %q", r.code, r.err)
						if r.code == ExitOK {
							t.Errorf("token exit 0 on invalid_client")
						}
						oneLine(t, r, "invalid_client")
						if strings.Contains(r.err, secret) {
							t.Errorf("stderr holds the client secret: %q", r.err)
						}
						hostileNoTokens(t, r, g)
					} else {
						ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
						defer cancel()
						c, err := connector.Open(ctx, f.dsn, func(o *connector.Options) { o.Clock = f.clock.Now })
						if err != nil {
							t.Fatalf("Open: %v", err)
						}
						defer c.Close()
						conn, err := c.Connection(ctx, g.id)
						if err != nil {
							t.Fatalf("Connection: %v", err)
						}
						tok, err := conn.Token(ctx)
						if err == nil {
							t.Fatalf("Token = %v, want an error", tok)
						}
						t.Logf("Token: %v", err)
						if got := driver.CodeOf(err); got != driver.InvalidClient {
							t.Errorf("CodeOf = %s, want %s", got, driver.InvalidClient)
						}
						if strings.Contains(err.Error(), secret) {
							t.Errorf("err.Error() holds the client secret: %q", err)
						}
						var ce *driver.Error
						if errors.As(err, &ce) {
							for field, v := range map[string]string{"Msg": ce.Msg, "OAuthDescription": ce.OAuthDescription, "Excerpt": ce.Excerpt} {
								if strings.Contains(v, secret) {
									t.Errorf("Error.%s holds the client secret: %q", field, v)
								}
							}
						}
					}
					if n := f.sim.PendingFaults(); n != 0 {
						t.Errorf("the refresh did not reach the provider")
					}
				})
			}
		}
	}
}
