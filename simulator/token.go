package simulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"
)

// A family is everything issued from one authorization. Doorkeeper has no
// such record (each refresh creates an unrelated oauth_access_tokens row) and
// never revokes one when a refresh token is reused; the simulator keeps it
// for RevokeAll (Doorkeeper's AccessToken.revoke_all_for, the app's
// uninstallation) and for a replayed authorization code.
type family struct {
	clientID string
	account  string
	scopes   []string
	revoked  bool
	records  []*record
}

// A record is one oauth_access_tokens row: an access token and its refresh
// token, revoked together (Doorkeeper's Revocable#revoke sets revoked_at on
// the row, so revoking a refresh token also kills its access token).
type record struct {
	fam     *family
	access  string
	refresh string
	scopes  []string
	created time.Time
	ttl     time.Duration
	revoked bool
	// parent is the row whose refresh token produced this one: Doorkeeper's
	// previous_refresh_token, revoked when this access token is first used
	// (AccessTokenMixin#revoke_previous_refresh_token!, called from
	// OAuth::Token.authenticate in lib/doorkeeper/oauth/token.rb).
	parent *record
}

// reason says why the access token is not usable now ("" when it is), in
// Doorkeeper's InvalidTokenResponse terms.
func (r *record) reason(now time.Time) string {
	switch {
	case r.revoked || r.fam.revoked:
		return "revoked"
	case now.After(r.created.Add(r.ttl)):
		return "expired"
	}
	return ""
}

var invalidTokenDescriptions = map[string]string{
	"revoked": "The access token was revoked",
	"expired": "The access token expired",
	"unknown": "The access token is invalid",
}

// Doorkeeper 5.5's descriptions (config/locales/en.yml).
const (
	descInvalidClient  = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
	descInvalidGrant   = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
	descUnsupported    = "The authorization grant type is not supported by the authorization server."
	descInvalidScope   = "The requested scope is invalid, unknown, or malformed."
	descRevokeRefused  = "You are not authorized to revoke this token"
	descAccessDenied   = "The resource owner or authorization server denied the request."
	descInvalidRequest = "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed."
)

func missingParam(name string) string { return "Missing required parameter: " + name + "." }

// readBody reads at most maxBody bytes of r's body; more is an error.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, errors.New("body too large")
	}
	return b, nil
}

// parseBody decodes a token or revoke request body strictly as format says.
// Parameters must appear once (RFC 6749 §3.2); JSON values must be strings.
func parseBody(ctype string, body []byte, format driver.BodyFormat) (url.Values, error) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return nil, errors.New("the Content-Type header is missing or malformed")
	}
	out := url.Values{}
	add := func(k, v string) error {
		if _, dup := out[k]; dup {
			return errors.New("parameter " + strconv.Quote(k) + " is sent more than once")
		}
		out.Set(k, v)
		return nil
	}
	switch {
	case format == driver.JSON && mt == "application/json":
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&m); err != nil || m == nil {
			return nil, errors.New("the body is not a JSON object")
		}
		if dec.More() {
			return nil, errors.New("the body holds more than one JSON value")
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, errors.New("parameter " + strconv.Quote(k) + " is not a JSON string")
			}
			out.Set(k, s)
		}
		return out, nil
	case format == driver.Form && mt == "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("the form body is malformed")
		}
		for k, v := range q {
			if len(v) > 1 {
				return nil, errors.New("parameter " + strconv.Quote(k) + " is sent more than once")
			}
			out.Set(k, v[0])
		}
		return out, nil
	case format == driver.Form && mt == "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return out, nil
			}
			if err != nil || params["boundary"] == "" {
				return nil, errors.New("the multipart body is malformed")
			}
			if p.FileName() != "" {
				return nil, errors.New("the multipart body holds a file")
			}
			v, err := io.ReadAll(io.LimitReader(p, maxBody))
			if err != nil {
				return nil, errors.New("the multipart body is malformed")
			}
			if err := add(p.FormName(), string(v)); err != nil {
				return nil, err
			}
		}
	}
	want := "application/x-www-form-urlencoded (or multipart/form-data)"
	if format == driver.JSON {
		want = "application/json"
	}
	return nil, errors.New("the body must be " + want + ", not " + strconv.Quote(mt))
}

// clientCredentials returns the client credentials of a request that
// authenticates the one way the provider documents (want): client_id and
// client_secret in the body (client_secret_post), or an HTTP Basic header
// (client_secret_basic, RFC 6749 §2.3.1: form-encoded before base64). A
// request that sends them the other way, or not at all, gets a problem to
// report instead. Doorkeeper itself takes the Basic header if there is one,
// else the body parameters (Client::Credentials.from_request with
// client_credentials [:from_basic, :from_params], lib/doorkeeper/config.rb
// and lib/doorkeeper/oauth/client/credentials.rb); the simulator is stricter
// on purpose, so that a driver with the wrong authentication fails.
func clientCredentials(r *http.Request, p url.Values, want driver.AuthStyle) (id, secret, problem string) {
	bid, bsecret, basic := basicAuth(r)
	_, hasID := p["client_id"]
	_, hasSecret := p["client_secret"]
	if want == driver.Basic {
		switch {
		case hasSecret:
			return "", "", "client_secret is in the request body, but this provider authenticates clients with HTTP Basic"
		case !basic:
			return "", "", "no HTTP Basic client authentication, which this provider requires"
		case hasID && p.Get("client_id") != bid:
			return "", "", "the body's client_id differs from the Basic one"
		}
		return bid, bsecret, ""
	}
	switch {
	case basic:
		return "", "", "HTTP Basic client authentication, but this provider takes client_id and client_secret in the request body"
	case !hasID || !hasSecret:
		return "", "", "client_id and client_secret are required in the request body"
	}
	return p.Get("client_id"), p.Get("client_secret"), ""
}

func basicAuth(r *http.Request) (id, secret string, ok bool) {
	h := r.Header.Get("Authorization")
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	if u, err := url.QueryUnescape(id); err == nil {
		id = u
	}
	if u, err := url.QueryUnescape(secret); err == nil {
		secret = u
	}
	return id, secret, true
}

// authenticate returns the client whose credentials match, or nil.
// Called with s.mu held.
func (s *Server) authenticate(id, secret string) *client {
	c := s.clients[id]
	if c == nil || id == "" {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		return nil
	}
	return c
}

// errorStatus is the status of an OAuth error answer of the token endpoint:
// with Config.LegacyErrorStatus 401 for every error, as Doorkeeper before
// 5.1.0 (ErrorResponse#status was ":unauthorized"); otherwise Doorkeeper
// 5.5's ErrorResponse#status (lib/doorkeeper/oauth/error_response.rb): 401
// for invalid_client and unauthorized_client, 400 for every other error
// (InvalidRequestResponse#status is 400 too).
func (s *Server) errorStatus(code string) int {
	if s.legacy.Load() {
		return http.StatusUnauthorized
	}
	switch code {
	case "invalid_client", "unauthorized_client":
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// oauthError writes an RFC 6749 §5.2 error with Doorkeeper 5.5's headers
// (ErrorResponse#headers in lib/doorkeeper/oauth/error_response.rb:
// Cache-Control no-store, Pragma no-cache, WWW-Authenticate).
func (s *Server) oauthError(w http.ResponseWriter, code, desc string) {
	s.oauthErrorStatus(w, s.errorStatus(code), code, desc)
}

func (s *Server) oauthErrorStatus(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("WWW-Authenticate", authenticateInfo(code, desc))
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// authenticateInfo is ErrorResponse#authenticate_info: the WWW-Authenticate
// value of an error, realm "Doorkeeper" (the realm option's default,
// lib/doorkeeper/config.rb).
func authenticateInfo(code, desc string) string {
	return `Bearer realm="Doorkeeper", error="` + sanitizeAuthParam(code) + `", error_description="` + sanitizeAuthParam(desc) + `"`
}

// sanitizeAuthParam replaces characters RFC 6750 §3 forbids in error
// attributes, as ErrorResponse#sanitize_error_values does since Doorkeeper
// 5.9.1 (5.5 sends them as they are; the simulator's descriptions hold none
// but a quoted parameter name could).
func sanitizeAuthParam(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0x20 || r == 0x21 || r >= 0x23 && r <= 0x5B || r >= 0x5D && r <= 0x7E {
			return r
		}
		return '_'
	}, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveToken is POST /oauth/token (TokensController#create).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte, f *Fault) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.oauthErrorStatus(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint accepts POST only.")
		return
	}
	p, err := parseBody(r.Header.Get("Content-Type"), body, s.cfg.TokenFormat)
	if err != nil {
		s.oauthError(w, "invalid_request", descInvalidRequest+" ("+err.Error()+")")
		return
	}
	grant := p.Get("grant_type")
	fail := func(code, desc string) {
		if grant == "refresh_token" {
			s.mu.Lock()
			s.stats.FailedRefreshes++
			s.mu.Unlock()
		}
		s.oauthError(w, code, desc)
	}
	// Request.token_strategy (lib/doorkeeper/request.rb) picks the grant
	// before anything else is looked at.
	if grant == "" {
		fail("invalid_request", missingParam("grant_type"))
		return
	}
	if grant != "authorization_code" && grant != "refresh_token" {
		fail("unsupported_grant_type", descUnsupported)
		return
	}
	creds := tokenCreds{}
	creds.id, creds.secret, creds.problem = clientCredentials(r, p, s.cfg.TokenAuth)

	now := s.now()
	s.mu.Lock()
	var rec *record
	var code, desc string
	if grant == "authorization_code" {
		rec, code, desc = s.exchangeLocked(creds, p, now)
	} else {
		rec, code, desc = s.refreshLocked(creds, p, now)
	}
	var answer []byte
	if rec != nil {
		answer = s.tokenAnswer(rec, f)
	}
	s.mu.Unlock()

	if rec == nil {
		fail(code, desc)
		return
	}
	// TokenResponse#headers (lib/doorkeeper/oauth/token_response.rb, 5.5).
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(answer)
}

// tokenCreds is what a token request says about its client.
type tokenCreds struct {
	id, secret string
	problem    string // why the request does not authenticate as the provider documents
}

// clientLocked authenticates the client of a token request: a request that
// does not authenticate the documented way, or whose credentials are wrong,
// is invalid_client. Called with s.mu held.
func (s *Server) clientLocked(creds tokenCreds) (*client, string) {
	if creds.problem != "" {
		return nil, descInvalidClient + " (" + creds.problem + ")"
	}
	if c := s.authenticate(creds.id, creds.secret); c != nil {
		return c, ""
	}
	return nil, descInvalidClient
}

// exchangeLocked runs the authorization_code grant in the order of
// Doorkeeper 5.5 (lib/doorkeeper/request/authorization_code.rb, then
// AuthorizationCodeRequest in lib/doorkeeper/oauth/authorization_code_request.rb):
// code present, redirect_uri present, client, grant (unknown or another
// client's), redirect_uri (URIChecker.valid_for_authorization?, see
// redirectMatches), then whether the code is still accessible. (5.5 checks
// accessibility with the grant, before redirect_uri; the simulator checks it
// last, as Doorkeeper 6's validate :grant_accessible does, so that only a
// caller who proves possession of the code triggers what follows.)
//
// Unlike Doorkeeper 5.5, which only refuses a used code, the simulator also
// revokes the tokens the code was exchanged for (RFC 6749 §10.5). Called
// with s.mu held.
func (s *Server) exchangeLocked(creds tokenCreds, p url.Values, now time.Time) (*record, string, string) {
	codeParam, redirect := p.Get("code"), p.Get("redirect_uri")
	switch {
	case codeParam == "":
		return nil, "invalid_request", missingParam("code")
	case redirect == "":
		return nil, "invalid_request", missingParam("redirect_uri")
	}
	c, why := s.clientLocked(creds)
	if c == nil {
		return nil, "invalid_client", why
	}
	ac := s.codes[codeParam]
	switch {
	case ac == nil || ac.clientID != c.id:
		return nil, "invalid_grant", descInvalidGrant
	case !redirectMatches(redirect, ac.redirectURI):
		return nil, "invalid_grant", "The redirect_uri does not match the one the authorization code was issued for. " + descInvalidGrant
	case ac.used:
		if ac.fam != nil && !ac.fam.revoked {
			ac.fam.revoked = true
		}
		s.stats.CodeReplays++
		return nil, "invalid_grant", "The authorization code was already used; the tokens issued for it are revoked. " + descInvalidGrant
	case now.After(ac.created.Add(s.cfg.CodeTTL)):
		return nil, "invalid_grant", "The authorization code expired (codes live " + seconds(s.cfg.CodeTTL) + "). " + descInvalidGrant
	}
	ac.used = true
	fam := &family{clientID: c.id, account: ac.account, scopes: ac.scopes}
	s.families = append(s.families, fam)
	ac.fam = fam
	rec := s.newRecordLocked(fam, ac.scopes, nil, now)
	s.stats.Exchanges++
	return rec, "", ""
}

// refreshLocked runs the refresh_token grant in the order of Doorkeeper
// 5.5's RefreshTokenRequest (lib/doorkeeper/oauth/refresh_token_request.rb):
// token present (invalid_request), token known and not revoked
// (invalid_grant), client (invalid_client), client match (invalid_grant),
// scope (invalid_scope). The provider's own rules come where they fit:
// SHOPLINE's redirect_uri before the lookup, its refresh-token expiry after
// the client match.
//
// Then, as before_successful_response does under the row's lock, a new row
// is issued and, under Config.StrictRotation, the old one revoked; by
// default (the previous_refresh_token column) the new row remembers the old
// one, which useAccess revokes at the new access token's first use. A
// revoked refresh token is refused and revokes nothing else. Called with
// s.mu held (the simulator's row lock).
func (s *Server) refreshLocked(creds tokenCreds, p url.Values, now time.Time) (*record, string, string) {
	rt := p.Get("refresh_token")
	if rt == "" {
		return nil, "invalid_request", missingParam("refresh_token")
	}
	redirect, hasRedirect := p["redirect_uri"]
	switch {
	case s.cfg.RefreshRefusesRedirectURI && hasRedirect:
		return nil, "invalid_request", descInvalidRequest + " (this provider's refresh request takes no redirect_uri)"
	case s.cfg.RefreshRequiresRedirectURI && (!hasRedirect || redirect[0] == ""):
		return nil, "invalid_request", missingParam("redirect_uri")
	}
	old := s.byRefres[rt]
	if old == nil {
		return nil, "invalid_grant", descInvalidGrant
	}
	if old.revoked || old.fam.revoked {
		// validate_token: "refresh_token.present? && !refresh_token.revoked?";
		// under the lock, "raise Errors::InvalidGrantReuse if
		// refresh_token.revoked?". Nothing else is revoked.
		s.stats.RevokedReuse++
		return nil, "invalid_grant", "The refresh token was revoked (used, superseded or revoked at /oauth/revoke). " + descInvalidGrant
	}
	c, why := s.clientLocked(creds)
	if c == nil {
		return nil, "invalid_client", why
	}
	if old.fam.clientID != c.id {
		return nil, "invalid_grant", descInvalidGrant
	}
	if s.cfg.RefreshRequiresRedirectURI && !c.hasRedirect(redirect[0]) {
		return nil, "invalid_grant", "The redirect_uri is not registered for this client. " + descInvalidGrant
	}
	if s.refreshExpired(old, now) {
		return nil, "invalid_grant", "The refresh token expired (" + seconds(s.cfg.RefreshTTLAfterAccessExpiry) + " after its access token). " + descInvalidGrant
	}
	scopes := old.scopes
	if sp := p.Get("scope"); sp != "" {
		req := splitScopes(sp, s.cfg.ScopeSeparator)
		for _, sc := range req {
			if !contains(old.scopes, sc) {
				return nil, "invalid_scope", descInvalidScope
			}
		}
		scopes = req
	}
	var parent *record
	if s.strict.Load() {
		old.revoked = true // refresh_token.revoke unless refresh_token_revoked_on_use?
	} else {
		// attributes[:previous_refresh_token] = refresh_token.refresh_token.
		// A replay before the new access token is used issues yet another
		// row and leaves the unused one valid, as Doorkeeper does.
		parent = old
	}
	rec := s.newRecordLocked(old.fam, scopes, parent, now)
	s.stats.Refreshes++
	return rec, "", ""
}

// refreshExpired applies Config.RefreshTTLAfterAccessExpiry.
func (s *Server) refreshExpired(r *record, now time.Time) bool {
	d := s.cfg.RefreshTTLAfterAccessExpiry
	return d > 0 && now.After(r.created.Add(r.ttl).Add(d))
}

func (s *Server) newRecordLocked(fam *family, scopes []string, parent *record, now time.Time) *record {
	gen := s.cfg.AccessTokenFormat
	if gen == nil {
		gen = func() string { return randomHex(32) }
	}
	rec := &record{
		fam:     fam,
		access:  gen(),
		refresh: randomHex(32),
		scopes:  scopes,
		created: now.Truncate(time.Second), // created_at is sent in whole seconds
		ttl:     s.cfg.AccessTTL,
		parent:  parent,
	}
	fam.records = append(fam.records, rec)
	s.byAccess[rec.access] = rec
	s.byRefres[rec.refresh] = rec
	return rec
}

// tokenAnswer encodes Doorkeeper's TokenResponse#body (access_token,
// token_type, expires_in, refresh_token, scope, created_at) with the
// provider's quirks, then applies the after-processing parts of f.
func (s *Server) tokenAnswer(rec *record, f *Fault) []byte {
	tt := s.cfg.TokenType
	if f != nil && f.TokenType != "" {
		tt = f.TokenType
	}
	type kv struct {
		k string
		v any
	}
	var fields []kv
	if f == nil || !f.OmitAccessToken {
		fields = append(fields, kv{"access_token", rec.access})
	}
	fields = append(fields,
		kv{"token_type", tt},
		kv{"expires_in", int64(rec.ttl / time.Second)},
		kv{"refresh_token", rec.refresh})
	if s.cfg.SendScope && len(rec.scopes) > 0 {
		fields = append(fields, kv{"scope", strings.Join(rec.scopes, s.cfg.ScopeSeparator)})
	}
	fields = append(fields, kv{"created_at", rec.created.Unix()})
	if s.cfg.AccountField != "" {
		fields = append(fields, kv{s.cfg.AccountField, rec.fam.account})
	}
	if f != nil && len(f.Set) > 0 {
		keys := make([]string, 0, len(f.Set))
		for k := range f.Set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	next:
		for _, k := range keys {
			for i := range fields {
				if fields[i].k == k {
					fields[i].v = f.Set[k]
					continue next
				}
			}
			fields = append(fields, kv{k, f.Set[k]})
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, fl := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(marshalVerbatim(fl.k))
		b.WriteByte(':')
		b.Write(marshalVerbatim(fl.v))
	}
	b.WriteByte('}')
	if f != nil && f.PadBody > 0 {
		b.Write(bytes.Repeat([]byte{' '}, f.PadBody))
	}
	return b.Bytes()
}

// marshalVerbatim encodes v as JSON without HTML escaping (a value set by
// Fault.Set reads in the answer as it was given; control characters are
// escaped, as JSON requires). A value that cannot be encoded is null.
func marshalVerbatim(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

// bearer returns the token of an "Authorization: Bearer …" header (the
// scheme compared case-insensitively, as Token.from_bearer_authorization
// does), or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(h[len(prefix):])
}

// useAccess authenticates an access token presented at the API or token info
// as OAuth::Token.authenticate does (lib/doorkeeper/oauth/token.rb): a token
// that is found counts as used, and its row's previous refresh token (the
// whole previous row) is revoked (AccessTokenMixin#revoke_previous_refresh_token!,
// lib/doorkeeper/models/access_token_mixin.rb) before its own validity is
// judged, as Doorkeeper does. It returns the record and "" or the reason the
// token is refused. Called without s.mu.
func (s *Server) useAccess(tok string) (*record, Grant, string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.byAccess[tok]
	if tok == "" || rec == nil {
		return nil, Grant{}, "unknown"
	}
	if rec.parent != nil {
		rec.parent.revoked = true
		rec.parent = nil
	}
	if why := rec.reason(now); why != "" {
		return nil, Grant{}, why
	}
	return rec, Grant{AccountID: rec.fam.account, Scopes: append([]string(nil), rec.scopes...), ClientID: rec.fam.clientID}, ""
}

// invalidToken answers a request under /api/ whose token is missing,
// unknown, expired or revoked as doorkeeper_authorize! does
// (lib/doorkeeper/rails/helpers.rb, doorkeeper_render_error): 401 with
// InvalidTokenResponse's headers but its Content-Type
// (lib/doorkeeper/oauth/invalid_token_response.rb: WWW-Authenticate
// Bearer realm="Doorkeeper", error="invalid_token", error_description by
// reason; Cache-Control no-store; Pragma no-cache) and an empty body
// ("head status").
func (s *Server) invalidToken(w http.ResponseWriter, reason string) {
	h := w.Header()
	h.Set("WWW-Authenticate", authenticateInfo("invalid_token", invalidTokenDescriptions[reason]))
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// serveTokenInfo is GET /oauth/token/info (TokenInfoController#show in
// app/controllers/doorkeeper/token_info_controller.rb): the token as
// AccessTokenMixin#as_json renders it, or, for a token that is not
// accessible, InvalidTokenResponse.new: 401 with its headers and its JSON
// body, whose reason is always "unknown" and whose state is "unauthorized".
func (s *Server) serveTokenInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenInfoCalls++
	s.mu.Unlock()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	rec, g, why := s.useAccess(bearer(r))
	if why != "" {
		desc := invalidTokenDescriptions["unknown"]
		h := w.Header()
		h.Set("WWW-Authenticate", authenticateInfo("invalid_token", desc))
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc, "state": "unauthorized"})
		return
	}
	left := rec.created.Add(rec.ttl).Sub(s.now())
	writeJSON(w, http.StatusOK, TokenInfo{
		ResourceOwnerID: g.AccountID,
		Scope:           nonNil(g.Scopes),
		ExpiresIn:       int64(left / time.Second),
		Application:     TokenInfoApplication{UID: g.ClientID},
		CreatedAt:       rec.created.Unix(),
	})
}

// TokenInfo is the answer of GET /oauth/token/info, as Doorkeeper renders
// an access token (AccessTokenMixin#as_json).
type TokenInfo struct {
	ResourceOwnerID string               `json:"resource_owner_id"`
	Scope           []string             `json:"scope"`
	ExpiresIn       int64                `json:"expires_in"`
	Application     TokenInfoApplication `json:"application"`
	CreatedAt       int64                `json:"created_at"`
}

// TokenInfoApplication is TokenInfo's application field.
type TokenInfoApplication struct {
	UID string `json:"uid"`
}

// serveRevoke is POST /oauth/revoke (RFC 7009) as Doorkeeper 5.5's
// TokensController#revoke (app/controllers/doorkeeper/tokens_controller.rb):
//
//   - a client that does not authenticate (validate_presence_of_client:
//     server.client is nil) gets 403 {"error":"unauthorized_client",
//     "error_description":"You are not authorized to revoke this token"},
//     rendered as plain JSON, without WWW-Authenticate; the simulator also
//     counts credentials sent other than as Config.RevokeAuth as none;
//   - the token is looked up as an access token, then as a refresh token;
//     5.5 ignores token_type_hint ("Doorkeeper does not use the
//     token_type_hint logic"; 5.6.0 added it);
//   - an unknown token is a 200 {};
//   - a token of another client (authorized? compares the applications of a
//     confidential client) is a 403 as above;
//   - otherwise the token's row (its access token and its refresh token,
//     Revocable#revoke in lib/doorkeeper/models/concerns/revocable.rb) is
//     revoked, but only if its access token is still accessible ("token.revoke
//     if token&.accessible?": neither expired nor revoked; 5.8.1 lets an
//     expired row's refresh token be revoked), and the answer is 200 {}.
//
// Nothing else is revoked: not the previous row, not the rest of the grant.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.oauthErrorStatus(w, http.StatusMethodNotAllowed, "invalid_request", "The revocation endpoint accepts POST only.")
		return
	}
	p, err := parseBody(r.Header.Get("Content-Type"), body, s.cfg.TokenFormat)
	if err != nil {
		s.oauthErrorStatus(w, http.StatusBadRequest, "invalid_request", descInvalidRequest+" ("+err.Error()+")")
		return
	}
	refused := map[string]string{"error": "unauthorized_client", "error_description": descRevokeRefused}
	id, secret, problem := clientCredentials(r, p, s.cfg.RevokeAuth)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.authenticate(id, secret)
	if problem != "" || c == nil {
		writeJSON(w, http.StatusForbidden, refused)
		return
	}
	tok := p.Get("token")
	rec := s.byAccess[tok]
	if rec == nil {
		rec = s.byRefres[tok]
	}
	if rec != nil && rec.fam.clientID != c.id {
		writeJSON(w, http.StatusForbidden, refused)
		return
	}
	if rec != nil && rec.reason(now) == "" {
		rec.revoked = true
	}
	s.stats.Revokes++
	writeJSON(w, http.StatusOK, struct{}{})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + " s"
}
