package simulator_test

import (
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/simulator"
)

// Doorkeeper 5.5's descriptions (config/locales/en.yml), as its error page
// shows them.
const (
	descMissingClientID   = "Missing required parameter: client_id."
	descMissingResponse   = "Missing required parameter: response_type."
	descMissingScope      = "Missing required parameter: scope."
	descUnknownClient     = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
	descBadRedirectURI    = "The requested redirect uri is malformed or doesn't match client redirect URI."
	descBadResponseType   = "The authorization server does not support this response type."
	descBadResponseMode   = "The authorization server does not support this response mode."
	descBadScope          = "The requested scope is invalid, unknown, or malformed."
	descDenied            = "The resource owner or authorization server denied the request."
	errorPageTitle        = "An error has occurred"
	authorizationCodeOpen = `<code id="authorization_code">`
)

// TestAuthorizeErrors holds every authorize error to what Doorkeeper 5.5
// does with it (checked against Debian's ruby-doorkeeper 5.5.0 with
// internal/doorkeeper's app):
//
//   - GET /oauth/authorize shows the error page, 200 text/html, with the
//     error_description, and redirects nowhere, for every error
//     (app/controllers/doorkeeper/authorizations_controller.rb#new →
//     #render_error; app/views/doorkeeper/authorizations/error.html.erb);
//   - the decision (POST, Approve) sends the error to the client when
//     ErrorResponse#redirectable? (lib/doorkeeper/oauth/error_response.rb:
//     not invalid_redirect_uri, invalid_client or unauthorized_client, not a
//     missing client_id, not out-of-band), in the query, or in the fragment
//     per PreAuthorization#response_on_fragment?; else it answers JSON,
//     which Approve returns as an *AuthorizeError.
func TestAuthorizeErrors(t *testing.T) {
	type want struct {
		Desc     string // on the error page, and error_description
		Code     string // the error
		Redirect string // "query", "fragment", or "" for an *AuthorizeError
	}
	oob := url.Values{"redirect_uri": {simulator.OOBRedirectURI}}
	with := func(a, b url.Values) url.Values {
		out := url.Values{}
		for _, v := range []url.Values{a, b} {
			for k, vs := range v {
				out[k] = vs
			}
		}
		return out
	}
	tests := []struct {
		name  string
		extra url.Values
		want  want
	}{
		{"missing client_id", url.Values{"client_id": nil}, want{descMissingClientID, "invalid_request", ""}},
		{"unknown client", url.Values{"client_id": {"nobody"}}, want{descUnknownClient, "invalid_client", ""}},
		{"missing redirect_uri", url.Values{"redirect_uri": nil}, want{descBadRedirectURI, "invalid_redirect_uri", ""}},
		{"unregistered redirect_uri", url.Values{"redirect_uri": {"https://attacker.example/cb"}}, want{descBadRedirectURI, "invalid_redirect_uri", ""}},
		{"redirect_uri of another client", url.Values{"redirect_uri": {"https://other.example/cb"}}, want{descBadRedirectURI, "invalid_redirect_uri", ""}},
		{"unknown client before a bad redirect_uri", url.Values{"client_id": {"nobody"}, "redirect_uri": {"https://attacker.example/cb"}}, want{descUnknownClient, "invalid_client", ""}},
		{"missing response_type", url.Values{"response_type": nil}, want{descMissingResponse, "invalid_request", "query"}},
		{"missing scope without default scopes", url.Values{"scope": nil}, want{descMissingScope, "invalid_request", "query"}},
		{"blank scope is a missing scope", url.Values{"scope": {"  "}}, want{descMissingScope, "invalid_request", "query"}},
		{"missing scope before an unsupported response_type", url.Values{"scope": nil, "response_type": {"token"}}, want{descMissingScope, "invalid_request", "fragment"}},
		{"implicit grant, answered in the fragment", url.Values{"response_type": {"token"}}, want{descBadResponseType, "unsupported_response_type", "fragment"}},
		{"unknown response_mode", url.Values{"response_mode": {"bogus"}}, want{descBadResponseMode, "unsupported_response_mode", "query"}},
		{"unknown scope", url.Values{"scope": {"read_store read_everything"}}, want{descBadScope, "invalid_scope", "query"}},
		{"scopes joined by commas", url.Values{"scope": {"read_store,read_orders"}}, want{descBadScope, "invalid_scope", "query"}},
		{"scope with a tab", url.Values{"scope": {"read_store\tread_orders"}}, want{descBadScope, "invalid_scope", "query"}},
		{"unknown scope, response_mode fragment", url.Values{"scope": {"nope"}, "response_mode": {"fragment"}}, want{descBadScope, "invalid_scope", "fragment"}},
		{"out-of-band unknown scope", with(oob, url.Values{"scope": {"nope"}}), want{descBadScope, "invalid_scope", ""}},
		{"out-of-band missing response_type", with(oob, url.Values{"response_type": nil}), want{descMissingResponse, "invalid_request", ""}},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jumpsellerLike())
			authURL := h.authorizeURL(tt.extra)

			// What the browser sees: the error page, never a redirect.
			resp, err := noRedirect.Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := html.UnescapeString(string(body))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("GET: %d, Location %q, Content-Type %q; want 200 text/html and no redirect",
					resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type"))
			}
			for _, s := range []string{errorPageTitle, "<pre>" + tt.want.Desc + "</pre>", tt.want.Code} {
				if !strings.Contains(page, s) {
					t.Errorf("the error page lacks %q:\n%s", s, page)
				}
			}
			if strings.Contains(page, `name="nonce"`) {
				t.Error("the error page holds a consent form")
			}

			// The decision on the same parameters: Doorkeeper's POST.
			u, err := h.srv.Approve(authURL)
			var got want
			var ae *simulator.AuthorizeError
			switch {
			case errors.As(err, &ae):
				got = want{Desc: ae.Description, Code: ae.Code}
			case err != nil:
				t.Fatalf("Approve: %v", err)
			default:
				params := u.Query()
				got.Redirect = "query"
				if u.Fragment != "" {
					got.Redirect = "fragment"
					if params, err = url.ParseQuery(u.Fragment); err != nil {
						t.Fatalf("fragment %q: %v", u.Fragment, err)
					}
				}
				got.Code, got.Desc = params.Get("error"), params.Get("error_description")
				if s := params.Get("state"); s != "st-1" {
					t.Errorf("the redirected error carries state %q, want st-1", s)
				}
				if base := u.Scheme + "://" + u.Host + u.Path; base != callback {
					t.Errorf("the error went to %s, want %s", base, callback)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Approve (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecisionRefusedOutOfBand: Deny on the consent page of an out-of-band
// request has nowhere to redirect to, and Doorkeeper answers JSON, 400
// (AuthorizationsController#redirect_or_render, render json: auth.body).
func TestDecisionRefusedOutOfBand(t *testing.T) {
	h := newHarness(t, jumpsellerLike())
	c := browserClient()
	page, err := c.get(h.authorizeURL(url.Values{"redirect_uri": {simulator.OOBRedirectURI}}))
	if err != nil {
		t.Fatal(err)
	}
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, body, err := c.submit(t, page, "deny")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("deny: %d %s: %v", resp.StatusCode, body, err)
	}
	want := map[string]string{"error": "access_denied", "error_description": descDenied, "state": "st-1"}
	if diff := cmp.Diff(want, got); resp.StatusCode != http.StatusBadRequest || diff != "" {
		t.Errorf("deny: status %d, want 400; body (-want +got):\n%s", resp.StatusCode, diff)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestOutOfBandMounted is the out-of-band flow as a browser runs it, with
// the simulator mounted under a path by http.StripPrefix, as the CLI's
// sandbox mounts it: the consent page, its form posted as its HTML says, the
// redirects followed to the page that shows the code (200), and the code
// exchanged. The redirect to that page stays under the mount point, as
// Rails' url_for keeps SCRIPT_NAME.
func TestOutOfBandMounted(t *testing.T) {
	for _, tt := range []struct{ name, mount string }{
		{"at the root", ""},
		{"under one segment", "/jumpseller"},
		{"under two segments", "/sims/jumpseller"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jumpsellerLike())
			var handler http.Handler = h.srv
			if tt.mount != "" {
				mux := http.NewServeMux()
				mux.Handle(tt.mount+"/", http.StripPrefix(tt.mount, h.srv))
				handler = mux
			}
			ts := httptest.NewServer(handler)
			defer ts.Close()
			q := url.Values{"client_id": {clientID}, "redirect_uri": {simulator.OOBRedirectURI}, "response_type": {"code"},
				"scope": {"read_store"}, "state": {"st-1"}}
			c := browserClient()
			page, err := c.get(ts.URL + tt.mount + simulator.AuthorizePath + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp, body, err := c.submit(t, page, "approve")
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.mount + simulator.NativePath; resp.StatusCode != http.StatusOK || resp.Request.URL.Path != want {
				t.Fatalf("after Authorize: %d at %s, want 200 at %s\n%s", resp.StatusCode, resp.Request.URL.Path, want, body)
			}
			m := regexp.MustCompile(regexp.QuoteMeta(authorizationCodeOpen) + `([^<]+)</code>`).FindSubmatch(body)
			if m == nil || string(m[1]) != resp.Request.URL.Query().Get("code") {
				t.Fatalf("the page does not show the code of its URL:\n%s", body)
			}
			tok, err := http.PostForm(ts.URL+tt.mount+simulator.TokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {string(m[1])},
				"redirect_uri": {simulator.OOBRedirectURI}, "client_id": {clientID}, "client_secret": {clientSecret}})
			if err != nil {
				t.Fatal(err)
			}
			tok.Body.Close()
			if tok.StatusCode != http.StatusOK {
				t.Errorf("exchange of the shown code: %s", tok.Status)
			}
		})
	}
}

// TestOutOfBandRedirectStaysLocal: the mount point in the out-of-band
// redirect comes from the request's path, and a path that would make the
// Location point at another host is not used.
func TestOutOfBandRedirectStaysLocal(t *testing.T) {
	for _, tt := range []struct{ name, requestURI, want string }{
		{"mounted", "/p/oauth/authorize", "/p/oauth/authorize/native"},
		{"root", "/oauth/authorize", "/oauth/authorize/native"},
		{"protocol-relative prefix", "//evil.example/oauth/authorize", "/oauth/authorize/native"},
		{"absolute-form request target", "http://127.0.0.1/p/oauth/authorize", "/p/oauth/authorize/native"},
		{"rewritten path", "/elsewhere", "/oauth/authorize/native"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jumpsellerLike())
			q := url.Values{"client_id": {clientID}, "redirect_uri": {simulator.OOBRedirectURI}, "response_type": {"code"},
				"scope": {"read_store"}, "state": {"st-1"}}
			rec := httptest.NewRecorder()
			h.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, simulator.AuthorizePath+"?"+q.Encode(), nil))
			form := url.Values{"decision": {"approve"}}
			for _, in := range parseForm(t, rec.Body.String()).inputs {
				form.Set(in.name, in.value)
			}
			req := httptest.NewRequest(http.MethodPost, simulator.AuthorizePath, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RequestURI = tt.requestURI // what a handler in front left of the original
			rec = httptest.NewRecorder()
			h.srv.ServeHTTP(rec, req)
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil || rec.Code != http.StatusFound {
				t.Fatalf("%d, Location %q", rec.Code, rec.Header().Get("Location"))
			}
			if loc.Host != "" || loc.Path != tt.want || loc.Query().Get("code") == "" {
				t.Errorf("Location %q, want the path %s?code=…", loc, tt.want)
			}
		})
	}
}

// browser is an HTTP client with cookies that follows redirects.
type browser struct{ http *http.Client }

func browserClient() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{http: &http.Client{Jar: jar}}
}

// page is a fetched HTML page and where it was fetched from.
type page struct {
	url  *url.URL
	body string
}

func (b *browser) get(u string) (*page, error) {
	resp, err := b.http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("GET " + u + ": " + resp.Status + "\n" + string(body))
	}
	return &page{url: resp.Request.URL, body: string(body)}, nil
}

// submit submits the page's form as a browser does when the user clicks the
// submit button whose value is button: to the form's action resolved
// against the page's URL, with its method, its inputs and that button's
// name and value. It returns the last response and its body.
func (b *browser) submit(t *testing.T, p *page, button string) (*http.Response, []byte, error) {
	t.Helper()
	f := parseForm(t, p.body)
	values := url.Values{}
	for _, in := range f.inputs {
		values.Add(in.name, in.value)
	}
	clicked := false
	for _, btn := range f.buttons {
		if btn.value == button {
			values.Set(btn.name, btn.value)
			clicked = true
		}
	}
	if !clicked {
		t.Fatalf("the form has no %q button:\n%s", button, p.body)
	}
	action, err := url.Parse(f.action)
	if err != nil {
		t.Fatalf("form action %q: %v", f.action, err)
	}
	if !strings.EqualFold(f.method, http.MethodPost) {
		t.Fatalf("form method %q, want post", f.method)
	}
	resp, err := b.http.PostForm(p.url.ResolveReference(action).String(), values)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

type field struct{ name, value string }

type form struct {
	action, method string
	inputs         []field // hidden and text inputs
	buttons        []field // submit buttons
}

var (
	formTag   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputTag  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	buttonTag = regexp.MustCompile(`(?is)<button\b([^>]*)>`)
	attr      = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*"([^"]*)"`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attr.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// parseForm returns the page's only form.
func parseForm(t *testing.T, body string) form {
	t.Helper()
	fs := formTag.FindAllStringSubmatch(body, -1)
	if len(fs) != 1 {
		t.Fatalf("the page has %d forms, want 1:\n%s", len(fs), body)
	}
	a := attrs(fs[0][1])
	f := form{action: a["action"], method: a["method"]}
	if f.method == "" {
		f.method = http.MethodGet
	}
	for _, in := range inputTag.FindAllStringSubmatch(fs[0][2], -1) {
		a := attrs(in[1])
		switch strings.ToLower(a["type"]) {
		case "submit":
			f.buttons = append(f.buttons, field{a["name"], a["value"]})
		case "checkbox", "radio", "button", "reset", "image", "file":
		default:
			if a["name"] != "" {
				f.inputs = append(f.inputs, field{a["name"], a["value"]})
			}
		}
	}
	for _, btn := range buttonTag.FindAllStringSubmatch(fs[0][2], -1) {
		if a := attrs(btn[1]); a["type"] == "" || strings.EqualFold(a["type"], "submit") {
			f.buttons = append(f.buttons, field{a["name"], a["value"]})
		}
	}
	return f
}
