package simulator

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// consentTTL is how long a consent page's nonce stays usable.
const consentTTL = 10 * time.Minute

// authCode is one oauth_access_grants row.
type authCode struct {
	clientID    string
	redirectURI string
	account     string
	scopes      []string
	created     time.Time
	used        bool
	fam         *family // the grant it was exchanged for
}

// authRequest is a validated authorize request.
type authRequest struct {
	clientID     string
	redirectURI  string
	responseType string
	responseMode string
	hasMode      bool // response_mode was sent, even empty
	state        string
	scopeParam   string
	scopes       []string
}

func (a authRequest) oob() bool { return isOOB(a.redirectURI) }

// isOOB is URIChecker.oob_uri?: an out-of-band redirect URI, with or
// without ":auto".
func isOOB(uri string) bool { return slices.Contains(oobURIs, uri) }

// onFragment reports whether an error goes back in the redirect URI's
// fragment rather than its query: PreAuthorization#response_on_fragment?
// (response_mode fragment; without response_mode, response_type token).
func (a authRequest) onFragment() bool {
	if a.hasMode {
		return a.responseMode == "fragment"
	}
	return a.responseType == "token"
}

// consent is a rendered consent page waiting for its decision.
type consent struct {
	req     authRequest
	created time.Time
}

// AuthorizeError is what Approve and Deny return when Doorkeeper answers the
// decision without a redirect (lib/doorkeeper/oauth/error_response.rb,
// ErrorResponse#redirectable?): an unknown client (invalid_client), a
// redirect URI that is missing or not registered (invalid_redirect_uri), a
// missing client_id (invalid_request; InvalidRequestResponse#redirectable?),
// or any refusal of an out-of-band request (URIChecker.oob_uri?). Doorkeeper
// answers those with JSON, 400 (401 for invalid_client).
type AuthorizeError struct {
	Code        string // RFC 6749 §4.1.2.1 error code, or invalid_redirect_uri
	Description string
}

// Error returns "simulator: code: description".
func (e *AuthorizeError) Error() string {
	return "simulator: " + e.Code + ": " + e.Description
}

// authFailure is a refused authorize request; redirect says whether
// Doorkeeper's ErrorResponse#redirectable? holds for it, that is, whether a
// POST (the consent form, Approve) or DELETE (Deny) sends the error back to
// the client (RFC 6749 §4.1.2.1). A GET never does: it shows the error page.
type authFailure struct {
	code, desc string
	redirect   bool
}

// checkAuthorize validates an authorize request as Doorkeeper 5.5's
// PreAuthorization does (lib/doorkeeper/oauth/pre_authorization.rb), in its
// order, with its errors and descriptions (config/locales/en.yml):
//
//  1. client_id missing: invalid_request, "Missing required parameter:
//     client_id." (never redirected: InvalidRequestResponse#redirectable?)
//  2. client unknown: invalid_client (never redirected)
//  3. redirect_uri missing, or not one registered for the client as
//     URIChecker.valid_for_authorization? matches them (redirectMatches: a
//     loopback IP URI on any port, among others): invalid_redirect_uri
//     (never redirected).
//  4. response_type missing, or scope missing with no DefaultScopes:
//     invalid_request, "Missing required parameter: …" (validate_params).
//     The simulator asks for a scope only when Config.Scopes is set: one
//     that accepts any scope also accepts none.
//  5. response_type other than code: unsupported_response_type (the
//     providers enable only the authorization_code flow).
//  6. response_mode other than query, fragment or form_post:
//     unsupported_response_mode (grant_flow.rb registers those three for
//     code). The simulator delivers the form_post mode as query.
//  7. a scope outside Config.Scopes, or a scope parameter holding a tab, CR
//     or LF: invalid_scope (helpers/scope_checker.rb#valid?).
//
// Errors 4 to 7 are redirectable unless the redirect URI is out-of-band.
// PKCE parameters are ignored, as Doorkeeper ignores them without the PKCE
// migration (validate_code_challenge_method), and so is SHOPLINE's
// merchant_id.
func (s *Server) checkAuthorize(q url.Values) (authRequest, *authFailure) {
	req := authRequest{
		clientID:     q.Get("client_id"),
		redirectURI:  q.Get("redirect_uri"),
		responseType: q.Get("response_type"),
		responseMode: q.Get("response_mode"),
		hasMode:      q.Has("response_mode"),
		state:        q.Get("state"),
		scopeParam:   q.Get("scope"),
	}
	if req.clientID == "" {
		return req, &authFailure{code: "invalid_request", desc: missingParam("client_id")}
	}
	s.mu.Lock()
	c := s.clients[req.clientID]
	s.mu.Unlock()
	if c == nil {
		return req, &authFailure{code: "invalid_client", desc: descInvalidClient}
	}
	if req.redirectURI == "" || !c.hasRedirect(req.redirectURI) {
		return req, &authFailure{code: "invalid_redirect_uri", desc: descInvalidRedirectURI}
	}
	redirect := !req.oob()
	blankScope := strings.TrimSpace(req.scopeParam) == "" // Rails' blank?
	switch {
	case req.responseType == "":
		return req, &authFailure{code: "invalid_request", desc: missingParam("response_type"), redirect: redirect}
	case blankScope && len(s.cfg.DefaultScopes) == 0 && len(s.cfg.Scopes) > 0:
		return req, &authFailure{code: "invalid_request", desc: missingParam("scope"), redirect: redirect}
	case req.responseType != "code":
		return req, &authFailure{code: "unsupported_response_type", desc: descUnsupportedResponseType, redirect: redirect}
	}
	switch req.responseMode {
	case "", "query", "fragment", "form_post":
	default:
		return req, &authFailure{code: "unsupported_response_mode", desc: descUnsupportedResponseMode, redirect: redirect}
	}
	if blankScope {
		req.scopes = append([]string(nil), s.cfg.DefaultScopes...)
	} else {
		if strings.ContainsAny(req.scopeParam, "\t\r\n") {
			return req, &authFailure{code: "invalid_scope", desc: descInvalidScope, redirect: redirect}
		}
		req.scopes = splitScopes(req.scopeParam, s.cfg.ScopeSeparator)
	}
	if len(s.cfg.Scopes) > 0 {
		for _, sc := range req.scopes {
			if !contains(s.cfg.Scopes, sc) {
				return req, &authFailure{code: "invalid_scope", desc: descInvalidScope, redirect: redirect}
			}
		}
	}
	return req, nil
}

// The descriptions of Doorkeeper 5.5's authorize errors
// (config/locales/en.yml, doorkeeper.errors.messages).
const (
	descInvalidRedirectURI      = "The requested redirect uri is malformed or doesn't match client redirect URI."
	descUnsupportedResponseType = "The authorization server does not support this response type."
	descUnsupportedResponseMode = "The authorization server does not support this response mode."
)

// errorRedirect is the client's redirect URI with the error and state
// (ErrorResponse#redirect_uri: URIBuilder.uri_with_query, or
// uri_with_fragment per onFragment; blank values are left out).
func errorRedirect(req authRequest, code, desc string) string {
	params := url.Values{"error": {code}, "error_description": {desc}, "state": {req.state}}
	if !req.onFragment() {
		return redirectWith(req.redirectURI, params)
	}
	u, err := url.Parse(req.redirectURI)
	if err != nil {
		return req.redirectURI
	}
	for k, v := range params {
		if v[0] == "" {
			delete(params, k)
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String() + "#" + params.Encode()
}

// issueCode stores a fresh authorization code for req.
func (s *Server) issueCode(req authRequest) string {
	code := randomHex(32)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.codes) > 4096 { // keep memory bounded in long sandbox runs
		for k, c := range s.codes {
			if now.Sub(c.created) > 2*s.cfg.CodeTTL {
				delete(s.codes, k)
			}
		}
	}
	s.codes[code] = &authCode{
		clientID:    req.clientID,
		redirectURI: req.redirectURI,
		account:     s.cfg.AccountID,
		scopes:      req.scopes,
		created:     now,
	}
	return code
}

// Approve is programmatic consent, the user clicking Authorize on the
// consent page: it answers authorizeURL's parameters as Doorkeeper 5.5's
// POST /oauth/authorize does (AuthorizationsController#create, which
// validates them again), and returns where the browser is sent:
// redirect_uri?code=…&state=…, or for the out-of-band redirect URI the page
// showing the code (its query holds code).
//
// An invalid request is answered as that POST answers it: a redirectable
// error (invalid_scope, say, for a registered redirect URI that is not
// out-of-band) returns the redirect carrying error=… and a nil error; any
// other returns an *AuthorizeError. A browser never gets that far with an
// invalid request: GET /oauth/authorize shows Doorkeeper's error page
// instead of the consent form, for every error.
func (s *Server) Approve(authorizeURL string) (*url.URL, error) {
	return s.decide(authorizeURL, true)
}

// Deny is Approve with the user clicking Deny (Doorkeeper's
// DELETE /oauth/authorize): the redirect carries error=access_denied and the
// state. For the out-of-band redirect URI it returns an *AuthorizeError with
// Code "access_denied". The request is validated first, and an invalid one
// is answered as Approve answers it; Doorkeeper 5.5's #destroy does not
// validate and redirects access_denied to any redirect_uri it is given.
func (s *Server) Deny(authorizeURL string) (*url.URL, error) {
	return s.decide(authorizeURL, false)
}

func (s *Server) decide(raw string, approve bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !strings.HasSuffix(u.Path, AuthorizePath) {
		return nil, &AuthorizeError{Code: "invalid_request", Description: "not an authorize URL of this simulator"}
	}
	req, fail := s.checkAuthorize(u.Query())
	if fail != nil {
		if fail.redirect {
			return url.Parse(errorRedirect(req, fail.code, fail.desc))
		}
		return nil, &AuthorizeError{Code: fail.code, Description: fail.desc}
	}
	if !approve {
		if req.oob() {
			return nil, &AuthorizeError{Code: "access_denied", Description: descAccessDenied}
		}
		return url.Parse(errorRedirect(req, "access_denied", descAccessDenied))
	}
	code := s.issueCode(req)
	if req.oob() {
		n := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, AuthorizePath) + NativePath}
		n.RawQuery = url.Values{"code": {code}}.Encode()
		return n, nil
	}
	return url.Parse(redirectWith(req.redirectURI, url.Values{"code": {code}, "state": {req.state}}))
}

// serveAuthorize is GET (the consent page) and POST (the decision) on
// /oauth/authorize.
//
// A GET that Doorkeeper 5.5 refuses shows its error page, status 200,
// whatever the error and whatever the redirect URI: it never redirects to
// the client (AuthorizationsController#new → #render_error → render :error,
// app/views/doorkeeper/authorizations/error.html.erb, which shows the
// error_description). The application is never called back, and its
// callback server waits in vain.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		req, fail := s.checkAuthorize(r.URL.Query())
		if fail != nil {
			s.page(w, http.StatusOK, errorPage, s.errorData(fail.code, fail.desc), "")
			return
		}
		nonce := randomHex(16)
		now := s.now()
		s.mu.Lock()
		if len(s.consents) > 1024 {
			for k, c := range s.consents {
				if now.Sub(c.created) > consentTTL {
					delete(s.consents, k)
				}
			}
		}
		s.consents[nonce] = &consent{req: req, created: now}
		s.mu.Unlock()
		s.page(w, http.StatusOK, consentPage, consentData{
			Provider:    s.cfg.DisplayName,
			App:         req.clientID,
			Account:     s.cfg.AccountID,
			Scopes:      req.scopes,
			ClientID:    req.clientID,
			RedirectURI: req.redirectURI,
			State:       req.state,
			Scope:       req.scopeParam,
			Nonce:       nonce,
		}, formActionOrigin(req.redirectURI))
	case http.MethodPost:
		s.serveDecision(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		s.page(w, http.StatusMethodNotAllowed, errorPage, s.errorData("invalid_request", "Use GET or POST."), "")
	}
}

// serveDecision handles the consent form: the nonce must be one the
// simulator rendered (once, within consentTTL), and the hidden fields must
// match what it rendered. (The nonce stands for Rails' authenticity token;
// Rails refuses a form without one with 422.)
func (s *Server) serveDecision(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		s.page(w, http.StatusBadRequest, errorPage, s.errorData("invalid_request", "The form is malformed."), "")
		return
	}
	f := r.PostForm
	nonce := f.Get("nonce")
	now := s.now()
	s.mu.Lock()
	c := s.consents[nonce]
	delete(s.consents, nonce)
	s.mu.Unlock()
	if c == nil || now.Sub(c.created) > consentTTL ||
		f.Get("client_id") != c.req.clientID || f.Get("redirect_uri") != c.req.redirectURI ||
		f.Get("state") != c.req.state || f.Get("scope") != c.req.scopeParam {
		s.page(w, http.StatusBadRequest, errorPage, s.errorData("invalid_request",
			"This consent form is unknown, expired, already answered or altered. Start the authorization again."), "")
		return
	}
	req := c.req
	switch f.Get("decision") {
	case "approve":
		code := s.issueCode(req)
		if req.oob() {
			redirect(w, r, mountPath(r)+NativePath+"?"+url.Values{"code": {code}}.Encode())
			return
		}
		redirect(w, r, redirectWith(req.redirectURI, url.Values{"code": {code}, "state": {req.state}}))
	case "deny":
		s.decisionFailure(w, r, req, &authFailure{code: "access_denied", desc: descAccessDenied, redirect: !req.oob()})
	default:
		s.page(w, http.StatusBadRequest, errorPage, s.errorData("invalid_request", "Choose Authorize or Deny."), "")
	}
}

// decisionFailure answers a refused decision as Doorkeeper's
// AuthorizationsController#redirect_or_render does: the error redirected to
// the client when it is redirectable, else the error as JSON with
// ErrorResponse#status (401 for invalid_client, 400 otherwise).
func (s *Server) decisionFailure(w http.ResponseWriter, r *http.Request, req authRequest, fail *authFailure) {
	if fail.redirect {
		redirect(w, r, errorRedirect(req, fail.code, fail.desc))
		return
	}
	body := map[string]string{"error": fail.code, "error_description": fail.desc}
	if req.state != "" {
		body["state"] = req.state
	}
	status := http.StatusBadRequest
	if fail.code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, body)
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, to, http.StatusFound)
}

// mountPath returns the path the simulator is mounted under: the part of
// the request's path that a handler in front of it (http.StripPrefix, as in
// the CLI's sandbox) removed, "" at the root. Redirects to the simulator's
// own pages start with it, as Rails' url_for starts them with SCRIPT_NAME
// (Doorkeeper's out-of-band redirect is url_for(action: :show, code: …),
// oauth/authorization/code.rb#oob_redirect): http.Redirect would otherwise
// resolve even a relative URL against the stripped path, and send the
// browser out of the mount point. The Location is a path, without the Host
// header's host, which the simulator does not trust.
func mountPath(r *http.Request) string {
	orig, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	full, rest := orig.EscapedPath(), r.URL.EscapedPath()
	prefix, ok := strings.CutSuffix(full, rest)
	if !ok || prefix == "" || prefix[0] != '/' || strings.HasPrefix(prefix, "//") || strings.ContainsAny(prefix, "\\?#") {
		return ""
	}
	return prefix
}

// serveNative is GET /oauth/authorize/native?code=…: the page that shows an
// out-of-band code (Doorkeeper's AuthorizationsController, "Authorization
// code:").
func (s *Server) serveNative(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	s.mu.Lock()
	c := s.codes[code]
	s.mu.Unlock()
	if c == nil || !isOOB(c.redirectURI) {
		s.page(w, http.StatusNotFound, errorPage, s.errorData("invalid_request", "No such authorization code."), "")
		return
	}
	s.page(w, http.StatusOK, nativePage, nativeData{Provider: s.cfg.DisplayName, Code: code}, "")
}

// formActionOrigin returns the CSP source of the redirect URI's origin, which
// the consent form's POST redirects to, or "" when there is none.
func formActionOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || isOOB(uri) {
		return ""
	}
	src := u.Scheme + ":"
	if u.Host != "" {
		src = u.Scheme + "://" + u.Host
	}
	for _, r := range src {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".+-:/[]", r)) {
			return ""
		}
	}
	return src
}

// page renders a self-contained HTML page: no external resources, no
// referrer, no framing, forms only to the simulator (and formOrigin, where
// the consent form's redirect lands).
func (s *Server) page(w http.ResponseWriter, status int, t *template.Template, data any, formOrigin string) {
	h := w.Header()
	csp := "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	if formOrigin != "" {
		csp += " " + formOrigin
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = t.Execute(w, data)
}

type consentData struct {
	Provider, App, Account                     string
	Scopes                                     []string
	ClientID, RedirectURI, State, Scope, Nonce string
}

type errorData struct{ Provider, Error, Description string }

func (s *Server) errorData(code, desc string) errorData {
	return errorData{Provider: s.cfg.DisplayName, Error: code, Description: desc}
}

type nativeData struct{ Provider, Code string }

const pageStyle = `<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}
.box{border:1px solid #d0d7de;border-radius:8px;padding:1.5rem 1.75rem}
h1{font-size:1.35rem;margin-top:0}
code{background:#f6f8fa;padding:.1rem .3rem;border-radius:4px;word-break:break-all}
pre{white-space:pre-wrap;font-size:1rem}
button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;cursor:pointer}
button.approve{background:#1f883d;border-color:#1f883d;color:#fff}
.note{color:#656d76;font-size:.85rem;margin-top:1.5rem}
</style>`

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Authorization required · {{.Provider}} simulator</title>` + pageStyle + `</head>
<body><div class="box">
<h1>Authorization required</h1>
<p>Authorize <code>{{.App}}</code> to use the {{.Provider}} account <strong>{{.Account}}</strong>?</p>
{{if .Scopes}}<p>This application will be able to:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
<form method="post" action="authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="nonce" value="{{.Nonce}}">
<button class="approve" type="submit" name="decision" value="approve">Authorize</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class="note">{{.Provider}} simulator: no real account is involved. The answer goes to <code>{{.RedirectURI}}</code>.</p>
</div></body></html>
`))

// errorPage is Doorkeeper's app/views/doorkeeper/authorizations/error.html.erb:
// the title, and the error_description in <pre>. The error code is added in
// a note.
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>An error has occurred</title>` + pageStyle + `</head>
<body><div class="box">
<h1>An error has occurred</h1>
<main role="main"><pre>{{.Description}}</pre></main>
<p class="note">{{.Provider}} simulator: error <code>{{.Error}}</code>.</p>
</div></body></html>
`))

var nativePage = template.Must(template.New("native").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Authorization code · {{.Provider}} simulator</title>` + pageStyle + `</head>
<body><div class="box">
<h1>Authorization code:</h1>
<p><code id="authorization_code">{{.Code}}</code></p>
<p class="note">Paste it where the application asks for it.</p>
</div></body></html>
`))
