package doorkeeper

import (
	"encoding/json"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Doorkeeper 5.5's wire, as the tests below found it. These are the facts a
// simulator of a Doorkeeper provider must match. Each check names the file
// of the gem that shows it, relative to
// /usr/share/rubygems-integration/all/gems/doorkeeper-5.5.0/.
const (
	// lib/doorkeeper/oauth/error_response.rb#status: invalid_client and
	// unauthorized_client are 401, every other error 400.
	statusInvalidGrant  = http.StatusBadRequest
	statusInvalidClient = http.StatusUnauthorized
	// config/locales/en.yml (doorkeeper.errors.messages).
	descInvalidGrant  = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
	descInvalidClient = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
	descInvalidScope  = "The requested scope is invalid, unknown, or malformed."
	descRedirectURI   = "The requested redirect uri is malformed or doesn't match client redirect URI."
)

// challenge is the WWW-Authenticate header of a Doorkeeper error
// (lib/doorkeeper/oauth/error_response.rb#authenticate_info; the realm is
// config.rb's default, "Doorkeeper").
func challenge(oauthError, desc string) string {
	return `Bearer realm="Doorkeeper", error="` + oauthError + `", error_description="` + desc + `"`
}

// The API's 401 descriptions (config/locales/en.yml,
// doorkeeper.errors.messages.invalid_token; chosen by
// lib/doorkeeper/oauth/invalid_token_response.rb#from_access_token).
const (
	descTokenUnknown = "The access token is invalid"
	descTokenRevoked = "The access token was revoked"
	descTokenExpired = "The access token expired"
)

// wireTests hold Doorkeeper's wire to what the engine and the simulators
// assume, with plain HTTP requests.
func wireTests(s *server) []subtest {
	return []subtest{
		{"token-answer", s.wireTokenAnswer},
		{"body-formats", s.wireBodyFormats},
		{"invalid-grant-400", s.wireInvalidGrant},
		{"invalid-client-401", s.wireInvalidClient},
		{"other-errors-400", s.wireOtherErrors},
		{"api-401", s.wireAPI401},
		{"rotation", s.wireRotation},
		{"token-info", s.wireTokenInfo},
		{"revoke-endpoint", s.wireRevoke},
		{"authorize-error-page", s.wireAuthorizeErrors},
		{"loopback-any-port", s.wireLoopback},
		{"out-of-band", s.wireOOB},
		{"code-lifetime", s.wireCodeLifetime},
	}
}

// wireTokenAnswer: the token answer of the code exchange and of a refresh,
// field by field (lib/doorkeeper/oauth/token_response.rb#body and #headers,
// with app.rb's patch where the provider differs from Doorkeeper 5.5:
// Jumpseller's lower-case "bearer" without scope, SHOPLINE's
// resource_owner_id).
func (s *server) wireTokenAnswer(t *testing.T) {
	a := s.app("wire")
	const merchant = "w-answer"
	before := time.Now()
	ans := s.grant(t, a, merchant)
	s.checkTokenAnswer(t, "code exchange", ans, merchant, before)
	before = time.Now()
	ref := s.refresh(t, a, ans.str("refresh_token"))
	if ref.Status != http.StatusOK {
		t.Fatalf("refresh: %s", ref)
	}
	s.checkTokenAnswer(t, "refresh", ref, merchant, before)
	if ref.str("refresh_token") == ans.str("refresh_token") {
		t.Errorf("the refresh answered the same refresh token: Doorkeeper issues a new one on every refresh")
	}
}

func (s *server) checkTokenAnswer(t *testing.T, what string, ans *answer, merchant string, before time.Time) {
	t.Helper()
	for k, want := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "Pragma": "no-cache"} {
		if got := ans.Header.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
	var keys []string
	for k := range ans.JSON {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := map[string][]string{
		"jumpseller": {"access_token", "created_at", "expires_in", "refresh_token", "token_type"},
		"shopline":   {"access_token", "created_at", "expires_in", "refresh_token", "resource_owner_id", "scope", "token_type"},
	}[s.cfg.provider]
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("%s: the answer's fields (-want +got):\n%s", what, diff)
	}
	if got, want := ans.str("token_type"), tokenType[s.cfg.provider]; got != want {
		t.Errorf("%s: token_type = %q, want %q", what, got, want)
	}
	// expires_in is what remains of the lifetime when the answer is built
	// (models/concerns/expirable.rb#expires_in_seconds): the lifetime, less
	// the time the request took.
	ttl := int64(lifetime[s.cfg.provider] / time.Second)
	if n, ok := ans.JSON["expires_in"].(json.Number); !ok {
		t.Errorf("%s: expires_in = %v, want an integer", what, ans.JSON["expires_in"])
	} else if sec, err := n.Int64(); err != nil || sec > ttl || sec < ttl-int64(time.Since(before)/time.Second)-1 {
		t.Errorf("%s: expires_in = %v, want the lifetime, %d", what, n, ttl)
	}
	if n, ok := ans.JSON["created_at"].(json.Number); !ok {
		t.Errorf("%s: created_at = %v, want an integer", what, ans.JSON["created_at"])
	} else if sec, err := n.Int64(); err != nil || sec < before.Unix()-1 || sec > time.Now().Unix()+1 {
		t.Errorf("%s: created_at = %v, want the Unix time of the answer", what, n)
	}
	if s.cfg.provider == "shopline" {
		if got := ans.str("scope"); got != "products orders" {
			t.Errorf("%s: scope = %q, want the default scopes %q", what, got, "products orders")
		}
		if got := ans.str("resource_owner_id"); got != merchant {
			t.Errorf("%s: resource_owner_id = %q, want %q", what, got, merchant)
		}
	}
}

// wireBodyFormats: Doorkeeper reads request.parameters
// (lib/doorkeeper/server.rb#parameters,
// lib/doorkeeper/oauth/client/credentials.rb#from_params), which Rails fills
// from urlencoded, multipart and JSON bodies alike; enforce_content_type is
// off by default (lib/doorkeeper/config.rb). Client authentication with
// Basic works too (client_credentials_methods: from_basic, from_params).
func (s *server) wireBodyFormats(t *testing.T) {
	a := s.app("wire")
	const redirect = "http://127.0.0.1:8085/callback"
	for _, f := range []format{formURL, formMultipart, formJSON} {
		ans := s.exchange(t, a, f, s.code(t, a, "w-formats", redirect, nil), redirect)
		if ans.Status != http.StatusOK || ans.str("access_token") == "" {
			t.Errorf("code exchange as %s: %s", f, ans)
		}
	}
	ans := s.post(t, "/oauth/token", formJSON, map[string]string{
		"grant_type": "authorization_code", "code": s.code(t, a, "w-formats", redirect, nil), "redirect_uri": redirect,
	}, &a)
	if ans.Status != http.StatusOK {
		t.Errorf("code exchange as json with Basic client authentication: %s", ans)
	}
}

// checkError checks a token endpoint error: status, body and challenge
// (lib/doorkeeper/oauth/error_response.rb #status, #body, #headers).
func checkError(t *testing.T, what string, ans *answer, status int, oauthError, desc string) {
	t.Helper()
	if ans.Status != status || ans.str("error") != oauthError {
		t.Errorf("%s: %s, want %d with error %q", what, ans, status, oauthError)
		return
	}
	if got := ans.str("error_description"); got != desc {
		t.Errorf("%s: error_description = %q, want %q", what, got, desc)
	}
	if got, want := ans.Header.Get("WWW-Authenticate"), challenge(oauthError, desc); got != want {
		t.Errorf("%s: WWW-Authenticate = %q, want %q", what, got, want)
	}
	if got := ans.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, got)
	}
}

// wireInvalidGrant: invalid_grant is 400 since Doorkeeper 5.1
// (lib/doorkeeper/oauth/error_response.rb#status), for an unknown refresh
// token (oauth/refresh_token_request.rb#validate_token), a used code and a
// redirect_uri that differs from the authorize one
// (oauth/authorization_code_request.rb#validate_grant, #validate_redirect_uri).
func (s *server) wireInvalidGrant(t *testing.T) {
	a := s.app("wire")
	const redirect = "http://127.0.0.1:8085/callback"
	used := s.code(t, a, "w-grant", redirect, nil)
	if ans := s.exchange(t, a, bodyFormat[s.cfg.provider], used, redirect); ans.Status != http.StatusOK {
		t.Fatalf("code exchange: %s", ans)
	}
	tests := []struct {
		name string
		ans  func() *answer
	}{
		{"unknown refresh token", func() *answer { return s.refresh(t, a, "no-such-refresh-token") }},
		{"code used twice", func() *answer { return s.exchange(t, a, bodyFormat[s.cfg.provider], used, redirect) }},
		{"another redirect_uri", func() *answer {
			return s.exchange(t, a, bodyFormat[s.cfg.provider], s.code(t, a, "w-grant", redirect, nil), "http://127.0.0.1:8085/other")
		}},
	}
	for _, tt := range tests {
		checkError(t, tt.name, tt.ans(), statusInvalidGrant, "invalid_grant", descInvalidGrant)
	}
}

// wireOtherErrors: the other token endpoint errors are 400 too
// (lib/doorkeeper/oauth/error_response.rb#status): a grant type the server
// does not allow (lib/doorkeeper/request.rb, config grant_flows), a refresh
// without refresh_token (oauth/refresh_token_request.rb
// #validate_token_presence, oauth/invalid_request_response.rb).
func (s *server) wireOtherErrors(t *testing.T) {
	a := s.app("wire")
	tests := []struct {
		name, oauthError, desc string
		params                 map[string]string
	}{
		{"unsupported grant type", "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.",
			map[string]string{"grant_type": "password", "username": "u", "password": "p"}},
		{"refresh without refresh_token", "invalid_request", "Missing required parameter: refresh_token.",
			map[string]string{"grant_type": "refresh_token"}},
	}
	for _, tt := range tests {
		tt.params["client_id"], tt.params["client_secret"] = a.ID, a.Secret
		ans := s.post(t, "/oauth/token", bodyFormat[s.cfg.provider], tt.params, nil)
		checkError(t, tt.name, ans, http.StatusBadRequest, tt.oauthError, tt.desc)
	}
}

// wireInvalidClient: invalid_client is 401
// (lib/doorkeeper/oauth/error_response.rb#status), for a wrong secret on a
// refresh (oauth/refresh_token_request.rb#validate_client) or a code
// exchange (oauth/authorization_code_request.rb#validate_client), in the
// body or with Basic, and for an unknown client. It consumes nothing: the
// refresh token and the code still work afterwards.
func (s *server) wireInvalidClient(t *testing.T) {
	a := s.app("wire")
	wrong := a
	wrong.Secret = "wrong-" + a.Secret
	unknown := app{ID: "no-such-client", Secret: a.Secret}
	const redirect = "http://127.0.0.1:8085/callback"
	rt := s.grant(t, a, "w-client").str("refresh_token")
	code := s.code(t, a, "w-client", redirect, nil)
	tests := []struct {
		name string
		ans  func() *answer
	}{
		{"refresh, wrong secret in the body", func() *answer { return s.refresh(t, wrong, rt) }},
		{"refresh, wrong secret with Basic", func() *answer {
			return s.post(t, "/oauth/token", formURL, map[string]string{"grant_type": "refresh_token", "refresh_token": rt}, &wrong)
		}},
		{"refresh, unknown client", func() *answer { return s.refresh(t, unknown, rt) }},
		{"code exchange, wrong secret", func() *answer { return s.exchange(t, wrong, bodyFormat[s.cfg.provider], code, redirect) }},
	}
	for _, tt := range tests {
		checkError(t, tt.name, tt.ans(), statusInvalidClient, "invalid_client", descInvalidClient)
	}
	if ans := s.refresh(t, a, rt); ans.Status != http.StatusOK {
		t.Errorf("the refresh token after the refused client's attempts: %s, want 200", ans)
	}
	if ans := s.exchange(t, a, bodyFormat[s.cfg.provider], code, redirect); ans.Status != http.StatusOK {
		t.Errorf("the code after the refused client's attempt: %s, want 200", ans)
	}
}

// wireAPI401: a request without a usable token is 401 with an empty body and
// a challenge that says why (lib/doorkeeper/rails/helpers.rb
// #doorkeeper_render_error: head :unauthorized with the error's headers but
// its Content-Type; oauth/invalid_token_response.rb). Jumpseller's
// store/info.json without read_store is 403, without a challenge
// (oauth/forbidden_token_response.rb#headers).
func (s *server) wireAPI401(t *testing.T) {
	a := s.app("wire")
	path := apiPath[s.cfg.provider]
	valid := s.grant(t, a, "w-api").str("access_token")
	if ans := s.get(t, path, valid); ans.Status != http.StatusOK {
		t.Fatalf("GET %s with a valid token: %s", path, ans)
	}
	revoked := s.grant(t, a, "w-api").str("access_token")
	s.revokeAccessToken(t, revoked)
	expired := s.grant(t, a, "w-api").str("access_token")
	s.expireAccessToken(t, expired)
	tests := []struct{ name, token, desc string }{
		{"no token", "", descTokenUnknown},
		{"unknown token", "no-such-token", descTokenUnknown},
		{"revoked token", revoked, descTokenRevoked},
		{"expired token", expired, descTokenExpired},
	}
	for _, tt := range tests {
		ans := s.get(t, path, tt.token)
		if ans.Status != http.StatusUnauthorized {
			t.Errorf("%s: %s, want 401", tt.name, ans)
			continue
		}
		if got, want := ans.Header.Get("WWW-Authenticate"), challenge("invalid_token", tt.desc); got != want {
			t.Errorf("%s: WWW-Authenticate = %q, want %q", tt.name, got, want)
		}
		if len(ans.Body) != 0 {
			t.Errorf("%s: body %q, want none", tt.name, excerpt(ans.Body))
		}
	}
	if s.cfg.provider == "jumpseller" {
		const redirect = "http://127.0.0.1:8085/callback"
		code := s.code(t, a, "w-api", redirect, url.Values{"scope": {"read_orders"}})
		tok := s.exchange(t, a, formURL, code, redirect).str("access_token")
		ans := s.get(t, path, tok)
		if ans.Status != http.StatusForbidden || ans.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("store/info.json with a token without read_store: %s, WWW-Authenticate %q; want 403 without a challenge",
				ans, ans.Header.Get("WWW-Authenticate"))
		}
	}
}

// wireRotation: every refresh issues a new refresh token
// (oauth/refresh_token_request.rb#create_access_token). With the
// previous_refresh_token column (orm/active_record/mixins/access_token.rb
// #refresh_token_revoked_on_use?) the previous row — refresh and access
// token — stays valid, and a lost answer can be replayed, until the new
// access token is first used (oauth/token.rb#authenticate calls
// models/access_token_mixin.rb#revoke_previous_refresh_token!). Without it
// the previous row is revoked at once under a lock, and reuse is
// invalid_grant (oauth/refresh_token_request.rb#before_successful_response).
// Neither mode revokes the newer tokens when an old one is presented.
func (s *server) wireRotation(t *testing.T) {
	a := s.app("wire")
	path := apiPath[s.cfg.provider]
	first := s.grant(t, a, "w-rotation")
	at0, rt0 := first.str("access_token"), first.str("refresh_token")
	second := s.refresh(t, a, rt0)
	if second.Status != http.StatusOK {
		t.Fatalf("refresh: %s", second)
	}
	at1, rt1 := second.str("access_token"), second.str("refresh_token")
	if rt1 == rt0 || at1 == at0 {
		t.Fatalf("the refresh reissued the same tokens")
	}
	if !s.cfg.strict {
		if ans := s.get(t, path, at0); ans.Status != http.StatusOK {
			t.Errorf("the previous access token before the new one is used: %s, want 200", ans)
		}
		replay := s.refresh(t, a, rt0)
		if replay.Status != http.StatusOK {
			t.Fatalf("replaying the previous refresh token before the new access token is used: %s, want 200", replay)
		}
		// The replay's answer is the one the client kept: use it.
		if ans := s.get(t, path, replay.str("access_token")); ans.Status != http.StatusOK {
			t.Fatalf("the replay's access token: %s", ans)
		}
	} else if ans := s.get(t, path, at0); ans.Status != http.StatusUnauthorized ||
		ans.Header.Get("WWW-Authenticate") != challenge("invalid_token", descTokenRevoked) {
		t.Errorf("the previous access token right after the refresh: %s, WWW-Authenticate %q; want 401, revoked", ans, ans.Header.Get("WWW-Authenticate"))
	}
	checkError(t, "the previous refresh token, retired", s.refresh(t, a, rt0), statusInvalidGrant, "invalid_grant", descInvalidGrant)
	if ans := s.get(t, path, at0); ans.Status != http.StatusUnauthorized {
		t.Errorf("the previous access token, retired: %s, want 401", ans)
	}
	if ans := s.refresh(t, a, rt1); ans.Status != http.StatusOK {
		t.Errorf("the newer refresh token after the old one was presented again: %s, want 200 (no family revocation)", ans)
	}

	// Default rotation: presenting the new access token anywhere, even
	// expired and refused, retires the previous row
	// (oauth/token.rb#authenticate revokes it for any token it finds).
	if s.cfg.strict {
		return
	}
	g := s.grant(t, a, "w-rotation")
	r := s.refresh(t, a, g.str("refresh_token"))
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	s.expireAccessToken(t, r.str("access_token"))
	if ans := s.tokenInfo(t, r.str("access_token")); ans.Status != http.StatusUnauthorized {
		t.Errorf("token info with an expired access token: %s, want 401", ans)
	}
	checkError(t, "the previous refresh token, once the new access token was presented expired at token info",
		s.refresh(t, a, g.str("refresh_token")), statusInvalidGrant, "invalid_grant", descInvalidGrant)
}

// tokenInfo GETs /oauth/token/info with token.
func (s *server) tokenInfo(t *testing.T, token string) *answer {
	t.Helper()
	req := mustRequest(t, s.base+"/oauth/token/info")
	req.Header.Set("Authorization", "Bearer "+token)
	return s.do(t, req)
}

// wireTokenInfo: GET /oauth/token/info answers the token's JSON
// (models/access_token_mixin.rb#as_json) for an accessible token, and 401
// {"error":"invalid_token"} with the "invalid" description for any other,
// expired and revoked included
// (app/controllers/doorkeeper/token_info_controller.rb#show builds an
// InvalidTokenResponse without a reason).
func (s *server) wireTokenInfo(t *testing.T) {
	a := s.app("wire")
	const merchant = "w-info"
	g := s.grant(t, a, merchant)
	ans := s.tokenInfo(t, g.str("access_token"))
	if ans.Status != http.StatusOK {
		t.Fatalf("token info with a valid token: %s", ans)
	}
	var keys []string
	for k := range ans.JSON {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"application", "created_at", "expires_in", "resource_owner_id", "scope"}, keys); diff != "" {
		t.Errorf("token info's fields (-want +got):\n%s", diff)
	}
	if got := ans.str("resource_owner_id"); got != merchant {
		t.Errorf("token info's resource_owner_id = %q, want %q", got, merchant)
	}
	if app, _ := ans.JSON["application"].(map[string]any); app["uid"] != a.ID {
		t.Errorf("token info's application = %v, want uid %s", ans.JSON["application"], a.ID)
	}
	revoked := s.grant(t, a, merchant).str("access_token")
	s.revokeAccessToken(t, revoked)
	expired := s.grant(t, a, merchant).str("access_token")
	s.expireAccessToken(t, expired)
	want := map[string]any{"error": "invalid_token", "error_description": descTokenUnknown, "state": "unauthorized"}
	for name, tok := range map[string]string{"unknown": "no-such-token", "revoked": revoked, "expired": expired} {
		ans := s.tokenInfo(t, tok)
		checkError(t, "token info with a "+name+" token", ans, http.StatusUnauthorized, "invalid_token", descTokenUnknown)
		// ErrorResponse#body keeps InvalidTokenResponse's state, :unauthorized.
		if diff := cmp.Diff(want, ans.JSON); diff != "" {
			t.Errorf("token info with a %s token: body (-want +got):\n%s", name, diff)
		}
	}
}

// wireRevoke: POST /oauth/revoke (app/controllers/doorkeeper/
// tokens_controller.rb#revoke) takes an access or a refresh token (#token)
// and revokes its one row, and only while the row's access token is
// accessible: 200 {} also for an unknown token or an expired row, 403
// unauthorized_client for a token of another client or without client
// authentication (#validate_presence_of_client, #authorized?).
func (s *server) wireRevoke(t *testing.T) {
	a, other := s.app("wire"), s.app("wire-other")
	path := apiPath[s.cfg.provider]
	revoke := func(token string, f format, as *app) *answer {
		return s.post(t, "/oauth/revoke", f, map[string]string{"token": token}, as)
	}
	checkRevoked := func(what string, ans *answer, rt, at string) {
		t.Helper()
		if ans.Status != http.StatusOK || string(ans.Body) != "{}" {
			t.Errorf("%s: %s, want 200 {}", what, ans)
		}
		checkError(t, what+": its refresh token", s.refresh(t, a, rt), statusInvalidGrant, "invalid_grant", descInvalidGrant)
		if ans := s.get(t, path, at); ans.Status != http.StatusUnauthorized || ans.Header.Get("WWW-Authenticate") != challenge("invalid_token", descTokenRevoked) {
			t.Errorf("%s: its access token: %s, want 401, revoked", what, ans)
		}
	}
	if ans := revoke("no-such-token", formJSON, &a); ans.Status != http.StatusOK || string(ans.Body) != "{}" {
		t.Errorf("an unknown token: %s, want 200 {}", ans)
	}
	g := s.grant(t, a, "w-revoke")
	unauthorized := map[string]string{"error": "unauthorized_client", "error_description": "You are not authorized to revoke this token"}
	for name, as := range map[string]*app{"another client's token": &other, "no client authentication": nil} {
		ans := revoke(g.str("refresh_token"), formJSON, as)
		if got := map[string]string{"error": ans.str("error"), "error_description": ans.str("error_description")}; ans.Status != http.StatusForbidden || !cmp.Equal(got, unauthorized) {
			t.Errorf("%s: %s, want 403 %v", name, ans, unauthorized)
		}
	}
	if ans := s.get(t, path, g.str("access_token")); ans.Status != http.StatusOK {
		t.Errorf("the token after the refused revocations: %s, want 200", ans)
	}
	checkRevoked("a refresh token, JSON with Basic (as SHOPLINE documents)", revoke(g.str("refresh_token"), formJSON, &a), g.str("refresh_token"), g.str("access_token"))
	g = s.grant(t, a, "w-revoke")
	checkRevoked("an access token, form with Basic", revoke(g.str("access_token"), formURL, &a), g.str("refresh_token"), g.str("access_token"))

	// Only an accessible row is revoked (#revoke_token: token.revoke if
	// token&.accessible?): with its access token expired, the answer is
	// still 200 {}, and the refresh token still works.
	g = s.grant(t, a, "w-revoke")
	s.expireAccessToken(t, g.str("access_token"))
	if ans := revoke(g.str("refresh_token"), formJSON, &a); ans.Status != http.StatusOK || string(ans.Body) != "{}" {
		t.Errorf("a refresh token whose access token expired: %s, want 200 {}", ans)
	}
	if ans := s.refresh(t, a, g.str("refresh_token")); ans.Status != http.StatusOK {
		t.Errorf("the refresh token after revoking it with its access token expired: %s, want 200 (not revoked)", ans)
	}

	// One row only: a refresh token replaced by a refresh whose access token
	// was never used stays valid (default rotation) after the newer one is
	// revoked.
	g = s.grant(t, a, "w-revoke")
	r := s.refresh(t, a, g.str("refresh_token"))
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	if ans := revoke(r.str("refresh_token"), formJSON, &a); ans.Status != http.StatusOK {
		t.Fatalf("revoke the newest refresh token: %s", ans)
	}
	old := s.refresh(t, a, g.str("refresh_token"))
	switch {
	case s.cfg.strict && old.Status != statusInvalidGrant:
		t.Errorf("the replaced refresh token after revoking its successor: %s, want 400 (strict rotation revoked it at the refresh)", old)
	case !s.cfg.strict && old.Status != http.StatusOK:
		t.Errorf("the replaced refresh token after revoking its successor: %s, want 200 (default rotation: /oauth/revoke revokes one row)", old)
	}
}

// wireAuthorizeErrors: an authorization request Doorkeeper refuses shows its
// own error page, 200 text/html, and redirects nowhere
// (app/controllers/doorkeeper/authorizations_controller.rb#render_error,
// app/views/doorkeeper/authorizations/error.html.erb;
// lib/doorkeeper/oauth/pre_authorization.rb validates client, redirect_uri
// and scopes).
func (s *server) wireAuthorizeErrors(t *testing.T) {
	a := s.app("wire")
	valid := url.Values{"client_id": {a.ID}, "redirect_uri": {"http://127.0.0.1:8085/callback"}, "response_type": {"code"}, "state": {"st"}}
	with := func(k, v string) url.Values {
		q := maps.Clone(valid)
		q.Set(k, v)
		return q
	}
	tests := []struct {
		name  string
		query url.Values
		desc  string
	}{
		{"unknown scope", with("scope", "no_such_scope"), descInvalidScope},
		{"unregistered redirect_uri", with("redirect_uri", "https://attacker.example/callback"), descRedirectURI},
		{"unknown client", with("client_id", "no-such-client"), descInvalidClient},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, s.authorizeURL()+"?"+tt.query.Encode(), nil)
		req.Header.Set("X-Merchant", "w-errors")
		ans := s.do(t, req)
		if ans.Status != http.StatusOK || ans.Header.Get("Location") != "" || !strings.HasPrefix(ans.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d, Location %q, Content-Type %q; want 200 text/html and no redirect",
				tt.name, ans.Status, ans.Header.Get("Location"), ans.Header.Get("Content-Type"))
		}
		if !strings.Contains(html.UnescapeString(string(ans.Body)), tt.desc) {
			t.Errorf("%s: the page does not say %q:\n%s", tt.name, tt.desc, excerpt(ans.Body))
		}
	}
}

// wireLoopback: a registered loopback IP redirect URI matches with any port
// (RFC 8252 §7.3; lib/doorkeeper/oauth/helpers/uri_checker.rb#matches?),
// at authorize and at the exchange.
func (s *server) wireLoopback(t *testing.T) {
	a := s.app("wire")
	for _, port := range []string{"8085", "54321"} {
		redirect := "http://127.0.0.1:" + port + "/callback"
		q := url.Values{"client_id": {a.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"st"}}
		loc := s.approve(t, s.authorizeURL()+"?"+q.Encode(), "w-loopback")
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
			t.Errorf("registered http://127.0.0.1/callback, asked %s: redirected to %s", redirect, got)
		}
		if ans := s.exchange(t, a, bodyFormat[s.cfg.provider], loc.Query().Get("code"), redirect); ans.Status != http.StatusOK {
			t.Errorf("exchange with %s: %s", redirect, ans)
		}
	}
}

// wireOOB: with redirect_uri urn:ietf:wg:oauth:2.0:oob the authorize
// endpoint redirects to its own /oauth/authorize/native?code=… (no state),
// which shows the code in <code id="authorization_code">
// (lib/doorkeeper/oauth/code_response.rb#redirect_uri,
// oauth/authorization/code.rb#oob_redirect,
// app/views/doorkeeper/authorizations/show.html.erb); the code is exchanged
// with the same redirect_uri.
func (s *server) wireOOB(t *testing.T) {
	a := s.app("wire")
	q := url.Values{"client_id": {a.ID}, "redirect_uri": {oob}, "response_type": {"code"}, "state": {"st"}}
	loc := s.approve(t, s.authorizeURL()+"?"+q.Encode(), "w-oob")
	code := loc.Query().Get("code")
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != s.base+"/oauth/authorize/native" || code == "" || loc.Query().Has("state") {
		t.Fatalf("out-of-band authorization redirected to %s, want %s/oauth/authorize/native?code=… without state", loc.Redacted(), s.base)
	}
	page := s.do(t, mustRequest(t, loc.String()))
	if want := `<code id="authorization_code">` + code + `</code>`; page.Status != http.StatusOK || !strings.Contains(string(page.Body), want) {
		t.Errorf("the code page: %s; want 200 with %s", page, want)
	}
	if ans := s.exchange(t, a, bodyFormat[s.cfg.provider], code, oob); ans.Status != http.StatusOK {
		t.Errorf("exchange with redirect_uri %s: %s", oob, ans)
	}
}

// wireCodeLifetime: a code lives authorization_code_expires_in, 600 s by
// default (lib/doorkeeper/config.rb), SHOPLINE's documented lifetime; an
// older one is invalid_grant (oauth/authorization_code_request.rb
// #validate_grant: models/concerns/accessible.rb, expirable.rb).
func (s *server) wireCodeLifetime(t *testing.T) {
	a := s.app("wire")
	const redirect = "http://127.0.0.1:8085/callback"
	code := s.code(t, a, "w-code", redirect, nil)
	if ttl := s.ageCode(t, code); ttl != 600*time.Second {
		t.Errorf("the code's lifetime = %s, want 600 s", ttl)
	}
	checkError(t, "an expired code", s.exchange(t, a, bodyFormat[s.cfg.provider], code, redirect), statusInvalidGrant, "invalid_grant", descInvalidGrant)
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
