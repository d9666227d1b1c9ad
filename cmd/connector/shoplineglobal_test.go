package main

// The CLI with SHOPLINE's global platform, in the package that links every
// driver as the connector binary does (the command package's tests link it
// too, for its demo and sandbox): a connection string that names every
// endpoint of a simulator served here, and SHOPLINE's page as a browser
// goes through it.

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/cmd/connector/internal/cli"
	"github.com/connector-go/connector/internal/testclock"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

const (
	sgAppKey    = "cli-app-key"
	sgAppSecret = "cli-app-secret-5b7c9d1e3f"
)

var sgHiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// sgBrowse follows authURL as a browser does: SHOPLINE's page (its fragment
// stays in the browser), what the page's script does with the fragment
// (open consent?… beside the page), the consent form submitted with
// decision, and the redirects to the callback, whose answer it returns.
func sgBrowse(t *testing.T, authURL, decision string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: testio.Wait}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
		}
		return resp, string(b)
	}
	page, body := get(authURL)
	if !strings.Contains(body, `location.replace("consent?"`) {
		t.Fatalf("SHOPLINE's page has no script that opens the consent form:\n%s", body)
	}
	u, _ := url.Parse(authURL)
	route, query, _ := strings.Cut(u.EscapedFragment(), "?")
	if route != "/oauth/authorize" {
		t.Fatalf("the authorization URL's fragment is %q, not #/oauth/authorize?…", u.EscapedFragment())
	}
	ref, _ := url.Parse("consent?" + query)
	consent, body := get(page.Request.URL.ResolveReference(ref).String())
	form := url.Values{"decision": {decision}}
	for _, m := range sgHiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	action, _ := url.Parse("authorize")
	resp, err := client.PostForm(consent.Request.URL.ResolveReference(action).String(), form)
	if err != nil {
		t.Fatalf("POST consent: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestShoplineGlobalCLI: `connector auth` for SHOPLINE's global platform
// prints SHOPLINE's page (through the driver's Authorizer), takes the
// signed callback on its loopback server (through its CallbackReader) and
// stores the connection; token, call and a refresh by the signed call
// follow. The connection string names the unbound registered driver and
// every endpoint of the simulator.
func TestShoplineGlobalCLI(t *testing.T) {
	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	sim := shoplineglobal.NewSimulator("open001")
	sim.SetClock(clk.Now)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	sim.AddClient(sgAppKey, sgAppSecret, callback)
	ep := sim.Endpoint(srv.URL)
	dsn := strings.Join([]string{
		"Provider=shoplineglobal", "OAuthClientId=" + sgAppKey, "OAuthClientSecret=" + sgAppSecret, "CallbackURL=" + callback,
		"Scope=read_store_information read_products",
		"OAuthAuthorizationURL=" + ep.AuthURL, "OAuthAccessTokenURL=" + ep.TokenURL, "OAuthRefreshTokenURL=" + ep.RefreshURL,
		"URL=" + ep.APIBaseURL, fmt.Sprintf("OAuthSettingsLocation=memory://shoplineglobal-cli-%d", time.Now().UnixNano()),
	}, ";")
	run := func(args ...string) (cli.ExitCode, string, string) {
		t.Helper()
		out, errb := testio.Pair()
		ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
		defer cancel()
		code := cli.Main(ctx, append(args, "--dsn", dsn), cli.IO{Out: out, Err: errb, Now: clk.Now})
		if strings.Contains(out.String()+errb.String(), sgAppSecret) {
			t.Errorf("connector %s printed the client secret", args[0])
		}
		return code, out.String(), errb.String()
	}

	// auth: the URL on stderr is SHOPLINE's page; a browser completes it.
	out, errb := testio.Pair()
	done := make(chan cli.ExitCode, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	go func() {
		code := cli.Main(ctx, []string{"auth", "--no-browser", "--dsn", dsn}, cli.IO{In: strings.NewReader(""), Out: out, Err: errb, Now: clk.Now})
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- code
	}()
	page := ep.AuthURL + "#/oauth/authorize?"
	authURL := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, page) })
	q, err := url.ParseQuery(strings.TrimPrefix(authURL, page))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "state"} {
		if q.Has(k) {
			t.Errorf("the authorization URL carries the engine's name %s", k)
		}
	}
	if q.Get("appKey") != sgAppKey || q.Get("redirectUri") != callback || q.Get("scope") != "read_store_information,read_products" || q.Get("customField") == "" {
		t.Errorf("the authorization URL's parameters: %v", q)
	}
	resp, body := sgBrowse(t, authURL, "approve")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Connected to SHOPLINE") {
		t.Errorf("callback page: %s\n%s", resp.Status, body)
	}
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Fatalf("auth exit %d; stderr:\n%s", code, errb)
		}
	case <-time.After(testio.Wait):
		t.Fatalf("auth did not finish; stderr:\n%s", errb)
	}
	if got := out.String(); got != "shoplineglobal:open001\n" {
		t.Errorf("auth stdout = %q", got)
	}

	// token and call, then a refresh by the signed call after expiry.
	code, tok1, stderr := run("token")
	if code != cli.ExitOK || !sim.ValidAccessToken(strings.TrimSpace(tok1)) {
		t.Fatalf("token: exit %d, valid at the simulator %v: %s", code, sim.ValidAccessToken(strings.TrimSpace(tok1)), stderr)
	}
	code, shop, stderr := run("call", "GET", "merchants/shop.json")
	if code != cli.ExitOK || !strings.Contains(shop, `"handle":"open001"`) {
		t.Errorf("call: exit %d: %s %s", code, shop, stderr)
	}
	clk.Advance(shoplineglobal.AccessTokenLifetime + time.Minute)
	code, tok2, stderr := run("token")
	if code != cli.ExitOK || tok2 == tok1 || !sim.ValidAccessToken(strings.TrimSpace(tok2)) {
		t.Errorf("token after expiry: exit %d, renewed %v: %s", code, tok2 != tok1, stderr)
	}
	if n := sim.Stats().Refreshes; n != 1 {
		t.Errorf("%d refreshes at the simulator, want 1", n)
	}
}

// TestShoplineGlobalProviders: `connector providers` says what the driver
// says of itself: signed token requests, no refresh tokens and a refresh
// without one, in text and in JSON.
func TestShoplineGlobalProviders(t *testing.T) {
	run := func(args ...string) string {
		t.Helper()
		out, errb := testio.Pair()
		if code := cli.Main(context.Background(), args, cli.IO{Out: out, Err: errb}); code != cli.ExitOK {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errb)
		}
		return out.String()
	}
	text := run("providers")
	i := strings.Index(text, "shoplineglobal (SHOPLINE global)\n")
	if i < 0 {
		t.Fatalf("providers lists no shoplineglobal:\n%s", text)
	}
	block, _, _ := strings.Cut(text[i:], "\n\n")
	rows := map[string]string{}
	for _, line := range strings.Split(block, "\n")[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "  ")
		rows[k] = strings.TrimSpace(v)
	}
	want := map[string]string{
		"token requests": "json body, signed: the client id and a signature made with the client secret in headers, the secret never sent",
		"refresh tokens": "none issued: the driver renews access tokens by its own request, without one",
	}
	got := map[string]string{"token requests": rows["token requests"], "refresh tokens": rows["refresh tokens"]}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("providers rows of shoplineglobal (-want +got):\n%s", d)
	}

	var list []struct {
		Name  string `json:"name"`
		Token struct {
			ClientAuth string `json:"client_auth"`
		} `json:"token_request"`
		Refresh struct {
			Issued bool `json:"issued"`
			Rotate bool `json:"rotate"`
		} `json:"refresh_tokens"`
	}
	if err := json.Unmarshal([]byte(run("providers", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Name == "shoplineglobal" {
			if p.Token.ClientAuth != "signed" || p.Refresh.Issued || p.Refresh.Rotate {
				t.Errorf("providers -o json: shoplineglobal %+v; want client_auth signed, no refresh tokens issued or rotated", p)
			}
			return
		}
	}
	t.Error("providers -o json lists no shoplineglobal")
}
