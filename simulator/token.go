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

// A family is everything issued from one authorization: Doorkeeper has no
// such record (each refresh creates an unrelated oauth_access_tokens row), the
// simulator keeps it to revoke a whole grant when a refresh token is reused.
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
	// child is the latest row issued for this row's refresh token.
	child *record
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

// Doorkeeper's descriptions (config/locales/en.yml).
const (
	descInvalidClient  = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
	descInvalidGrant   = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
	descUnsupported    = "The authorization grant type is not supported by the authorization server."
	descInvalidScope   = "The requested scope is invalid, unknown, or malformed."
	descMultipleAuth   = "The request utilizes more than one mechanism for authenticating the client."
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

// clientCreds returns the credentials the request carries: in the body
// (client_secret_post) or in a Basic header (client_secret_basic, RFC 6749
// §2.3.1: form-encoded before base64). Both at once is an error, as in
// Doorkeeper's Errors::MultipleClientAuthMethods.
func clientCreds(r *http.Request, p url.Values) (id, secret, how string, err error) {
	bid, bsecret, basic := basicAuth(r)
	_, hasID := p["client_id"]
	_, hasSecret := p["client_secret"]
	if basic && hasSecret {
		return "", "", "", errors.New(descMultipleAuth)
	}
	if basic {
		return bid, bsecret, "basic", nil
	}
	if hasID || hasSecret {
		return p.Get("client_id"), p.Get("client_secret"), "body", nil
	}
	return "", "", "", nil
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

// errorStatus is the status of an OAuth error answer; see
// Config.ModernErrorStatus.
func (s *Server) errorStatus(code string) int {
	if s.cfg.ModernErrorStatus {
		if code == "invalid_client" {
			return http.StatusUnauthorized
		}
		return http.StatusBadRequest
	}
	if code == "invalid_request" {
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized
}

// oauthError writes an RFC 6749 §5.2 error with Doorkeeper's headers
// (ErrorResponse#headers in lib/doorkeeper/oauth/error_response.rb).
func (s *Server) oauthError(w http.ResponseWriter, code, desc string) {
	s.oauthErrorStatus(w, s.errorStatus(code), code, desc)
}

func (s *Server) oauthErrorStatus(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("WWW-Authenticate", `Bearer realm="Doorkeeper", error="`+sanitizeAuthParam(code)+`", error_description="`+sanitizeAuthParam(desc)+`"`)
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// sanitizeAuthParam replaces characters RFC 6750 §3 forbids in error
// attributes, as ErrorResponse#sanitize_error_values does.
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

// serveToken is POST /oauth/token.
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
	id, secret, _, err := clientCreds(r, p)
	if err != nil {
		fail("invalid_request", err.Error())
		return
	}
	if grant == "" {
		fail("invalid_request", missingParam("grant_type"))
		return
	}
	if grant != "authorization_code" && grant != "refresh_token" {
		fail("unsupported_grant_type", descUnsupported)
		return
	}

	now := s.now()
	s.mu.Lock()
	c := s.authenticate(id, secret)
	if c == nil {
		s.mu.Unlock()
		fail("invalid_client", descInvalidClient)
		return
	}
	var rec *record
	var code, desc string
	if grant == "authorization_code" {
		rec, code, desc = s.exchangeLocked(c, p, now)
	} else {
		rec, code, desc = s.refreshLocked(c, p, now)
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
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(answer)
}

// exchangeLocked runs the authorization_code grant in the order of
// Doorkeeper's AuthorizationCodeRequest validations: params, client, grant,
// redirect_uri, then grant_accessible (a reused code revokes what it issued,
// RFC 6749 §10.5). Called with s.mu held.
func (s *Server) exchangeLocked(c *client, p url.Values, now time.Time) (*record, string, string) {
	codeParam, redirect := p.Get("code"), p.Get("redirect_uri")
	switch {
	case codeParam == "":
		return nil, "invalid_request", missingParam("code")
	case redirect == "":
		return nil, "invalid_request", missingParam("redirect_uri")
	}
	ac := s.codes[codeParam]
	switch {
	case ac == nil || ac.clientID != c.id:
		return nil, "invalid_grant", descInvalidGrant
	case ac.redirectURI != redirect:
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

// refreshLocked runs the refresh_token grant in the order of Doorkeeper's
// RefreshTokenRequest (lib/doorkeeper/oauth/refresh_token_request.rb):
// token presence, token (unknown or revoked → invalid_grant), client match,
// scope. The client was authenticated before, so that a stranger cannot
// revoke a family by presenting a stolen token. Called with s.mu held.
func (s *Server) refreshLocked(c *client, p url.Values, now time.Time) (*record, string, string) {
	rt := p.Get("refresh_token")
	if rt == "" {
		return nil, "invalid_request", missingParam("refresh_token")
	}
	if s.cfg.RefreshRequiresRedirectURI {
		redirect := p.Get("redirect_uri")
		if redirect == "" {
			return nil, "invalid_request", missingParam("redirect_uri")
		}
		if !c.hasRedirect(redirect) {
			return nil, "invalid_grant", "The redirect_uri is not registered for this client. " + descInvalidGrant
		}
	}
	old := s.byRefres[rt]
	switch {
	case old == nil || old.fam.clientID != c.id:
		return nil, "invalid_grant", descInvalidGrant
	case old.fam.revoked:
		return nil, "invalid_grant", "The refresh token was revoked. " + descInvalidGrant
	case old.revoked:
		// RefreshTokenRequest: "raise Errors::InvalidGrantReuse if
		// refresh_token.revoked?". Doorkeeper stops there; the simulator
		// also revokes the grant (reuse of a revoked refresh token is the
		// sign of a stolen or mishandled token).
		if !s.cfg.ReuseKeepsFamily {
			old.fam.revoked = true
			s.stats.FamiliesRevoked++
			return nil, "invalid_grant", "The refresh token was already used and revoked; every token of this grant is now revoked. " + descInvalidGrant
		}
		return nil, "invalid_grant", "The refresh token was already used and revoked. " + descInvalidGrant
	case s.refreshExpired(old, now):
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
	if s.cfg.ImmediateRefreshRevocation {
		old.revoked = true
	} else {
		// The previous refresh token stays valid until the new access
		// token is used. Replaying it before then issues a new pair and
		// revokes the unused one, with whatever was issued from it.
		for x := old.child; x != nil; x = x.child {
			x.revoked = true
		}
		parent = old
	}
	rec := s.newRecordLocked(old.fam, scopes, parent, now)
	old.child = rec
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
// and counts it as used: as OAuth::Token.authenticate does, the first use
// revokes the previous refresh token (and its row). It returns the record and
// "" or the reason it is refused. Called without s.mu.
func (s *Server) useAccess(tok string) (*record, Grant, string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.byAccess[tok]
	if tok == "" || rec == nil {
		return nil, Grant{}, "unknown"
	}
	if why := rec.reason(now); why != "" {
		return nil, Grant{}, why
	}
	if rec.parent != nil {
		rec.parent.revoked = true
		rec.parent = nil
	}
	return rec, Grant{AccountID: rec.fam.account, Scopes: append([]string(nil), rec.scopes...), ClientID: rec.fam.clientID}, ""
}

// invalidToken writes Doorkeeper's InvalidTokenResponse.
func (s *Server) invalidToken(w http.ResponseWriter, reason string) {
	desc := invalidTokenDescriptions[reason]
	h := w.Header()
	h.Set("WWW-Authenticate", `Bearer realm="Doorkeeper", error="invalid_token", error_description="`+sanitizeAuthParam(desc)+`"`)
	h.Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
}

// serveTokenInfo is GET /oauth/token/info: AccessTokenMixin#as_json.
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
		s.invalidToken(w, why)
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

// serveRevoke is POST /oauth/revoke (RFC 7009), as Doorkeeper's
// TokensController#revoke: an unknown token is a 200 {}, a client that does
// not authenticate (or does not own the token) a 403 unauthorized_client.
// Only Config.RevokeAuth is accepted as client authentication.
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
	id, secret, how, err := clientCreds(r, p)
	if err != nil {
		s.oauthErrorStatus(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	want := "body"
	if s.cfg.RevokeAuth == driver.Basic {
		want = "basic"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.authenticate(id, secret)
	if c == nil || how != want {
		s.oauthErrorStatus(w, http.StatusForbidden, "unauthorized_client", descRevokeRefused)
		return
	}
	tok := p.Get("token")
	// Like TokensController#revocable_token: the hint orders the lookup.
	var rec *record
	isRefresh := false
	if p.Get("token_type_hint") == "refresh_token" {
		if rec = s.byRefres[tok]; rec != nil {
			isRefresh = true
		} else {
			rec = s.byAccess[tok]
		}
	} else if rec = s.byAccess[tok]; rec == nil {
		if rec = s.byRefres[tok]; rec != nil {
			isRefresh = true
		}
	}
	if rec != nil && rec.fam.clientID != c.id {
		s.oauthErrorStatus(w, http.StatusForbidden, "unauthorized_client", descRevokeRefused)
		return
	}
	if rec != nil {
		rec.revoked = true
		if isRefresh {
			// RFC 7009 §2.1: revoking a refresh token SHOULD also
			// invalidate the access tokens of the same grant.
			rec.fam.revoked = true
		}
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
