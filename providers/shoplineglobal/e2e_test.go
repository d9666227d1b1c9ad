package shoplineglobal_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testclock"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/providers/shoplineglobal"
	"github.com/connector-go/connector/store/memory"
)

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	pageScript  = regexp.MustCompile(`location\.replace\("consent\?" \+ h\.slice\(i \+ 1\)\)`)
)

// browse follows authURL as a browser does: it loads SHOPLINE's page
// (whose fragment never reaches the server), does what the page's script
// does with the fragment (opens consent?… beside the page), submits the
// consent form with decision ("approve" or "deny") and follows the
// redirects to the application's callback, whose answer it returns.
func browse(t *testing.T, authURL, decision string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	page, body := get(authURL)
	if page.StatusCode != http.StatusOK || !pageScript.MatchString(body) {
		t.Fatalf("SHOPLINE's page: %s\n%s", page.Status, body)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	route, query, _ := strings.Cut(u.EscapedFragment(), "?")
	if route != "/oauth/authorize" {
		t.Fatalf("the authorization URL's fragment is %q, not #/oauth/authorize?…", u.EscapedFragment())
	}
	consentRef, _ := url.Parse("consent?" + query)
	consent, body := get(page.Request.URL.ResolveReference(consentRef).String())
	if consent.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %s\n%s", consent.Status, body)
	}
	form := url.Values{"decision": {decision}}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("nonce") == "" {
		t.Fatalf("the consent page has no form:\n%s", body)
	}
	action, _ := url.Parse("authorize") // the form's action, relative to the page
	resp, err := client.PostForm(consent.Request.URL.ResolveReference(action).String(), form)
	if err != nil {
		t.Fatalf("POST consent: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// app is an application's callback endpoint on loopback: it hands the
// query of each request to HandleCallback, as an application does.
type app struct {
	srv *httptest.Server
	c   *connector.Connector

	mu      sync.Mutex
	queries []url.Values
	conns   []*connector.Connection
	errs    []error
}

func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		conn, err := a.c.HandleCallback(r.Context(), r.URL.Query())
		a.mu.Lock()
		a.queries, a.conns, a.errs = append(a.queries, r.URL.Query()), append(a.conns, conn), append(a.errs, err)
		a.mu.Unlock()
		if err != nil {
			http.Error(w, "authorization failed: "+driver.CodeOf(err).String(), http.StatusBadGateway)
			return
		}
		io.WriteString(w, "connected "+conn.ID())
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) last(t *testing.T) (url.Values, *connector.Connection, error) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.conns) == 0 {
		t.Fatal("the application's callback was never called")
	}
	n := len(a.conns) - 1
	return a.queries[n], a.conns[n], a.errs[n]
}

// TestEndToEnd: Connector.AuthURL → the simulator's authorization page,
// followed as a browser follows it → the simulator's redirect to the
// application → Connector.HandleCallback with that query → a stored
// connection that calls the API and refreshes by SHOPLINE's signed call.
func TestEndToEnd(t *testing.T) {
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	sim := shoplineglobal.NewSimulator("open001")
	sim.SetClock(clock.Now)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	a := newApp(t)
	redirect := a.srv.URL + "/callback"
	sim.AddClient(appKey, appSecret, redirect)
	st := memory.New()
	c, err := connector.NewWithDriver(shop(t), connector.Options{ClientID: appKey, ClientSecret: appSecret, RedirectURL: redirect,
		Scopes: []string{"read_store_information", "read_products"}, Endpoint: sim.Endpoint(srv.URL), Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a.c = c
	ctx := context.Background()

	t.Run("approve", func(t *testing.T) {
		u, err := c.AuthURL(connector.AuthRequest{Ref: "customer-42"})
		if err != nil {
			t.Fatal(err)
		}
		resp, body := browse(t, u, "approve")
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback" {
			t.Fatalf("the browser ended at %s with %s: %s", resp.Request.URL.Redacted(), resp.Status, body)
		}
		q, conn, err := a.last(t)
		if err != nil {
			t.Fatalf("HandleCallback: %v", err)
		}
		var keys []string
		for k := range q {
			keys = append(keys, k)
		}
		if d := cmp.Diff([]string{"appkey", "code", "customField", "handle", "sign", "timestamp"}, sorted(keys)); d != "" {
			t.Errorf("the callback's parameters (-want +got):\n%s", d)
		}
		stored, err := c.ConnectionByRef(ctx, "customer-42")
		if err != nil {
			t.Fatalf("ConnectionByRef: %v", err)
		}
		info := stored.Info()
		if conn.ID() != "shoplineglobal:open001" || info.Account != "open001" || info.Status != connector.StatusActive {
			t.Errorf("stored connection %s: account %q, status %v", stored.ID(), info.Account, info.Status)
		}
		tok, err := stored.Token(ctx)
		if err != nil || !sim.ValidAccessToken(tok.AccessToken) || tok.RefreshToken != "" {
			t.Fatalf("token: %v; valid at the simulator %v, refresh token set %v", err, err == nil && sim.ValidAccessToken(tok.AccessToken), err == nil && tok.RefreshToken != "")
		}
		if d := cmp.Diff([]string{"read_products", "read_store_information"}, sorted(tok.Scopes)); d != "" {
			t.Errorf("scopes (-want +got):\n%s", d)
		}

		// The API, then the expiry: a refresh by the signed call.
		get := func() string {
			t.Helper()
			req, err := stored.NewRequest(ctx, http.MethodGet, "merchants/shop.json", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := stored.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET merchants/shop.json: %s %s", resp.Status, b)
			}
			return string(b)
		}
		if body := get(); !strings.Contains(body, `"handle":"open001"`) {
			t.Errorf("merchants/shop.json: %s", body)
		}
		clock.Advance(tok.Expiry.Sub(clock.Now()) + time.Second)
		tok2, err := stored.Token(ctx)
		if err != nil {
			t.Fatalf("Token after expiry: %v", err)
		}
		if tok2.AccessToken == tok.AccessToken || !tok2.Expiry.After(clock.Now()) || sim.Stats().Refreshes != 1 {
			t.Errorf("after expiry: a new token %v, expiring later %v, %d refreshes at the simulator; want true, true, 1",
				tok2.AccessToken != tok.AccessToken, tok2.Expiry.After(clock.Now()), sim.Stats().Refreshes)
		}
		get()
	})

	t.Run("deny", func(t *testing.T) {
		u, err := c.AuthURL(connector.AuthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		before := sim.Stats().TokenRequests
		resp, body := browse(t, u, "deny")
		if resp.StatusCode != http.StatusBadGateway || resp.Request.URL.Path != "/callback" {
			t.Fatalf("the browser ended at %s with %s: %s", resp.Request.URL.Redacted(), resp.Status, body)
		}
		if _, _, err := a.last(t); driver.CodeOf(err) != driver.AccessDenied {
			t.Errorf("HandleCallback of a refusal = %v, want %v", err, driver.AccessDenied)
		}
		if n := sim.Stats().TokenRequests - before; n != 0 {
			t.Errorf("a refusal reached the token endpoint %d times", n)
		}
	})
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
