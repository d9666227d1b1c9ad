package simulator

import (
	"html/template"
	"net/http"
	"net/url"
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
	state        string
	scopeParam   string
	scopes       []string
}

func (a authRequest) oob() bool { return a.redirectURI == OOBRedirectURI }

// consent is a rendered consent page waiting for its decision.
type consent struct {
	req     authRequest
	created time.Time
}

// AuthorizeError is what Approve and Deny return when the authorize request
// cannot be answered with a redirect: an unknown client, a redirect URI that
// is not registered, or an out-of-band request that is refused. (Doorkeeper
// shows these on an error page: ErrorResponse::NON_REDIRECTABLE_STATES and
// URIChecker.oob_uri?.)
type AuthorizeError struct {
	Code        string // RFC 6749 §4.1.2.1 error code, or invalid_redirect_uri
	Description string
}

// Error returns "simulator: code: description".
func (e *AuthorizeError) Error() string {
	return "simulator: " + e.Code + ": " + e.Description
}

// authFailure is a refused authorize request; redirect says whether the
// error goes back to the client (RFC 6749 §4.1.2.1) or onto an error page.
type authFailure struct {
	code, desc string
	redirect   bool
}

// checkAuthorize validates an authorize request in the order of Doorkeeper's
// PreAuthorization validations (lib/doorkeeper/oauth/pre_authorization.rb):
// client_id, client, redirect_uri (exact match), then response_type and
// scope. PKCE parameters and SHOPLINE's merchant_id are ignored.
func (s *Server) checkAuthorize(q url.Values) (authRequest, *authFailure) {
	req := authRequest{
		clientID:     q.Get("client_id"),
		redirectURI:  q.Get("redirect_uri"),
		responseType: q.Get("response_type"),
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
		return req, &authFailure{code: "invalid_redirect_uri", desc: "The requested redirect URI is malformed or doesn't match the client redirect URI."}
	}
	redirect := !req.oob()
	switch {
	case req.responseType == "":
		return req, &authFailure{code: "invalid_request", desc: missingParam("response_type"), redirect: redirect}
	case req.responseType != "code":
		return req, &authFailure{code: "unsupported_response_type", desc: "The authorization server does not support this response type.", redirect: redirect}
	}
	req.scopes = splitScopes(req.scopeParam, s.cfg.ScopeSeparator)
	if len(req.scopes) == 0 {
		req.scopes = append([]string(nil), s.cfg.DefaultScopes...)
		if len(req.scopes) == 0 && len(s.cfg.Scopes) > 0 {
			return req, &authFailure{code: "invalid_request", desc: missingParam("scope"), redirect: redirect}
		}
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

// errorRedirect is the client's redirect URI with the error and state.
func errorRedirect(req authRequest, code, desc string) string {
	return redirectWith(req.redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {req.state}})
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

// Approve is programmatic consent: it validates authorizeURL exactly as
// GET /oauth/authorize does and returns where the browser would be sent after
// the user clicks Authorize: redirect_uri?code=…&state=…, or for the
// out-of-band redirect URI the page showing the code (its query holds code).
//
// A request refused with a redirectable error (invalid_scope, say) returns
// the redirect carrying error=… and a nil error, as a browser would see it;
// one that cannot be redirected returns an *AuthorizeError.
func (s *Server) Approve(authorizeURL string) (*url.URL, error) {
	return s.decide(authorizeURL, true)
}

// Deny is Approve with the user clicking Deny: the redirect carries
// error=access_denied and the state. For the out-of-band redirect URI it
// returns an *AuthorizeError with Code "access_denied".
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
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		req, fail := s.checkAuthorize(r.URL.Query())
		if fail != nil {
			s.authorizeFailure(w, r, req, fail)
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
		s.page(w, http.StatusMethodNotAllowed, errorPage, errorData{Error: "invalid_request", Description: "Use GET or POST."}, "")
	}
}

// serveDecision handles the consent form: the nonce must be one the
// simulator rendered (once, within consentTTL), and the hidden fields must
// match what it rendered.
func (s *Server) serveDecision(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		s.page(w, http.StatusBadRequest, errorPage, errorData{Error: "invalid_request", Description: "The form is malformed."}, "")
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
		s.page(w, http.StatusBadRequest, errorPage, errorData{Error: "invalid_request",
			Description: "This consent form is unknown, expired, already answered or altered. Start the authorization again."}, "")
		return
	}
	req := c.req
	switch f.Get("decision") {
	case "approve":
		code := s.issueCode(req)
		if req.oob() {
			redirect(w, r, "authorize/native?"+url.Values{"code": {code}}.Encode())
			return
		}
		redirect(w, r, redirectWith(req.redirectURI, url.Values{"code": {code}, "state": {req.state}}))
	case "deny":
		s.authorizeFailure(w, r, req, &authFailure{code: "access_denied", desc: descAccessDenied, redirect: !req.oob()})
	default:
		s.page(w, http.StatusBadRequest, errorPage, errorData{Error: "invalid_request", Description: "Choose Authorize or Deny."}, "")
	}
}

func (s *Server) authorizeFailure(w http.ResponseWriter, r *http.Request, req authRequest, fail *authFailure) {
	if fail.redirect {
		redirect(w, r, errorRedirect(req, fail.code, fail.desc))
		return
	}
	s.page(w, http.StatusBadRequest, errorPage, errorData{Error: fail.code, Description: fail.desc}, "")
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, to, http.StatusFound)
}

// serveNative is GET /oauth/authorize/native?code=…: the page that shows an
// out-of-band code (Doorkeeper's AuthorizationsController, "Authorization
// code:").
func (s *Server) serveNative(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	s.mu.Lock()
	c := s.codes[code]
	s.mu.Unlock()
	if c == nil || c.redirectURI != OOBRedirectURI {
		s.page(w, http.StatusNotFound, errorPage, errorData{Error: "invalid_request", Description: "No such authorization code."}, "")
		return
	}
	s.page(w, http.StatusOK, nativePage, nativeData{Provider: s.cfg.DisplayName, Code: code}, "")
}

// formActionOrigin returns the CSP source of the redirect URI's origin, which
// the consent form's POST redirects to, or "" when there is none.
func formActionOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || uri == OOBRedirectURI {
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

type errorData struct{ Error, Description string }

type nativeData struct{ Provider, Code string }

const pageStyle = `<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}
.box{border:1px solid #d0d7de;border-radius:8px;padding:1.5rem 1.75rem}
h1{font-size:1.35rem;margin-top:0}
code{background:#f6f8fa;padding:.1rem .3rem;border-radius:4px;word-break:break-all}
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

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>An error has occurred</title>` + pageStyle + `</head>
<body><div class="box">
<h1>An error has occurred</h1>
<p><code>{{.Error}}</code></p>
<p>{{.Description}}</p>
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
