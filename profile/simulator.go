package profile

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/simulator"
)

// Simulator is a profile's provider on the wire: an http.Handler that is
// strict about the profile's own wire format, for the conformance suite,
// the CLI's sandbox and demo, and users' tests.
//
// Its state machine (clients, consent, codes, tokens, Doorkeeper's
// rotation, faults, statistics, the clock) is a simulator.Server
// configured from the profile. Where the profile's wire format is
// Doorkeeper's own (Jumpseller, SHOPLINE: Native reports it) the
// Simulator is that Server and nothing else. Otherwise it translates, and
// refuses what the profile's provider would refuse:
//
//   - authorize: the profile's authorize.params must be present with
//     their values; the callback gets the profile's callback_params
//     (BigCommerce's context);
//   - token requests: the body must be in the profile's format (multipart
//     only, when it says so), carry its exchange_params and refresh_params
//     and echo its exchange_from_callback parameters; a provider without
//     refresh tokens answers unsupported_grant_type to a refresh;
//   - token answers carry the profile's fields: its paths, token_type or
//     none, expires_in, expire_in or an ISO expires_at or no expiry,
//     created_at only when documented, scope with its separator, the
//     account at its field (in its pattern); a provider whose refresh
//     tokens do not rotate keeps handing out the first one;
//   - the API takes the token only in the profile's header and scheme
//     (X-Shopify-Access-Token, "Authentication: bearer …");
//   - revocation takes the profile's parameters and headers (Square's
//     "Authorization: Client …").
//
// The simulator states no fact of its own: it plays the profile, so a
// profile checked against it tests this package's reading of the profile,
// not the profile's facts; those are cited in its sources, and the
// catalog's Jumpseller and SHOPLINE profiles are also held to the Go
// drivers' hand-written simulators.
type Simulator struct {
	p      *Profile
	inner  *simulator.Server
	native bool

	mu     sync.Mutex
	stable map[string]string // refresh token handed out → the inner's current one (non-rotating providers)
	scopes map[string]string // state → requested scope, for the callback's scope parameter
}

// innerAccount is the field the inner Server puts the account in when the
// Simulator rewrites answers.
const innerAccount = "x_profile_account"

// Simulator returns a fresh simulator of the profile (bound with its
// properties' examples where they are not bound). No client is
// registered: call AddClient.
func (p *Profile) Simulator() *Simulator {
	q := p.Example()
	s := &Simulator{p: q, native: q.nativeWire(), stable: map[string]string{}, scopes: map[string]string{}}
	a := &q.Answer
	ttl := q.dur.lifetime
	if a.Expiry.Format == ExpiryNever {
		ttl = 100 * 365 * 24 * time.Hour
	}
	tokenType := a.TokenType
	if tokenType == "none" {
		tokenType = "Bearer"
	}
	cfg := simulator.Config{
		Name:                        q.Name,
		DisplayName:                 q.DisplayName,
		Documented:                  q.Spec().Endpoint,
		TokenFormat:                 bodyFormat(q.Token.Format),
		TokenAuth:                   authStyle(q.Token.ClientAuth),
		TokenType:                   tokenType,
		AccessTTL:                   ttl,
		SendScope:                   a.Scope != "",
		RefreshRequiresRedirectURI:  q.Token.RefreshRedirectURI,
		RefreshRefusesRedirectURI:   !q.Token.RefreshRedirectURI,
		CodeTTL:                     q.dur.code,
		RefreshTTLAfterAccessExpiry: q.dur.refreshAfterExpiry,
		ScopeSeparator:              q.Authorize.ScopeSeparator,
		DefaultScopes:               q.Scopes.Default,
		RequireUserAgent:            q.API.RequireUserAgent,
		RateLimitHeaders:            q.API.RateLimitHeaders,
		AccountID:                   q.Sample.Account,
		StrictRotation:              a.Refresh.Issued && !a.Refresh.ReplaySafe,
		// Opaque access tokens of 403 characters, as long as SHOPLINE's
		// JWTs. With 64 hex digits a short answer is cut for an error's
		// excerpt inside created_at, and when a refresh token happens to
		// start with the digits before the cut, driver.Scrub's rule for
		// secrets cut in two lengthens the excerpt past the conformance
		// suite's bound (docs/profiles.md, "Known issues").
		AccessTokenFormat: func() string { return "sim" + randomHex(200) },
	}
	if q.Scopes.Closed {
		cfg.Scopes = q.Scopes.Known
	}
	if r := q.Revoke; r != nil {
		cfg.Revoke = true
		// As the driver's Spec says (none is InBody there): the
		// Simulator forwards a revocation with client_auth none with the
		// credentials it read from the profile's parameters and headers.
		cfg.RevokeAuth = authStyle(r.ClientAuth)
	}
	switch {
	case q.Account.Field == "":
	case s.native:
		cfg.AccountField = q.Account.Field
	default:
		cfg.AccountField = innerAccount
	}
	s.inner = simulator.New(cfg)
	s.routes()
	return s
}

// nativeWire reports whether a simulator.Server speaks the profile's
// wire format as it is.
func (p *Profile) nativeWire() bool {
	a := &p.Answer
	return p.isStandard() && p.Token.Format != formatMultipart &&
		len(p.Token.ExchangeParams) == 0 && len(p.Token.RefreshParams) == 0 &&
		len(p.Authorize.Params) == 0 && len(p.Authorize.CallbackParams) == 0 &&
		a.Refresh.Issued && a.Refresh.Rotates &&
		(p.Revoke == nil || p.standardRevoke()) &&
		strings.EqualFold(p.API.TokenHeader, "Authorization") && p.API.TokenScheme == "Bearer" &&
		(p.Account.API != nil || (p.Account.Pattern == "" && !strings.Contains(p.Account.Field, ".")))
}

// Native reports whether the simulator is the simulator.Server alone:
// the profile's wire format is Doorkeeper's own.
func (s *Simulator) Native() bool { return s.native }

// Server returns the simulator.Server behind the Simulator: its state,
// counters and faults. Serve the Simulator itself, not the Server, unless
// Native is true.
func (s *Simulator) Server() *simulator.Server { return s.inner }

// Profile returns the profile the simulator plays, with its properties
// bound.
func (s *Simulator) Profile() *Profile { return s.p }

// routes registers the API routes the profile names: the account call
// and the probe.
func (s *Simulator) routes() {
	p := s.p
	registered := map[string]bool{}
	handle := func(path string, answer func(g simulator.Grant) map[string]any) {
		pattern := "GET " + simulator.APIBasePath + path
		if registered[pattern] {
			return
		}
		registered[pattern] = true
		s.inner.Handle(pattern, func(w http.ResponseWriter, r *http.Request, g simulator.Grant) {
			if strings.Contains(path, "{"+PlaceholderAccount+"}") && r.PathValue(PlaceholderAccount) != g.AccountID {
				writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found", "error_description": "no such account for this token"})
				return
			}
			writeJSON(w, http.StatusOK, answer(g))
		})
	}
	if api := p.Account.API; api != nil {
		path, _ := p.expand(api.Path, nil)
		handle(path, func(g simulator.Grant) map[string]any {
			doc := map[string]any{}
			setPath(doc, api.Field, g.AccountID)
			return doc
		})
	}
	probe, _ := p.expand(p.API.Probe, map[string]string{PlaceholderAccount: "{" + PlaceholderAccount + "}"})
	handle(probe, func(g simulator.Grant) map[string]any {
		return map[string]any{"id": g.AccountID, "scopes": nonNil(g.Scopes)}
	})
}

// ServeHTTP serves the simulated provider.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.native {
		s.inner.ServeHTTP(w, r)
		return
	}
	switch path := r.URL.Path; {
	case path == simulator.AuthorizePath:
		s.serveAuthorize(w, r)
	case path == simulator.TokenPath:
		s.serveToken(w, r)
	case path == simulator.RevokePath && s.p.Revoke != nil:
		s.serveRevoke(w, r)
	case strings.HasPrefix(path, simulator.APIPrefix):
		s.serveAPI(w, r)
	default:
		s.inner.ServeHTTP(w, r)
	}
}

// checkAuthorizeParams returns the first of the profile's authorize
// parameters that q lacks or holds with another value.
func (s *Simulator) checkAuthorizeParams(q url.Values) string {
	vals, _ := s.p.expandMap(s.p.Authorize.Params, map[string]string{PlaceholderClientID: q.Get("client_id")})
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if got, ok := q[k]; !ok || len(got) != 1 || got[0] != vals[k] {
			return k + "=" + vals[k]
		}
	}
	return ""
}

func (s *Simulator) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if miss := s.checkAuthorizeParams(q); miss != "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "<!DOCTYPE html><html><body><h1>Authorization error</h1><p>The authorize request lacks "+
				template(miss)+", which "+template(s.p.DisplayName)+" requires.</p></body></html>\n")
			return
		}
		s.rememberScope(q)
		s.inner.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.inner.ServeHTTP(rec, r)
	res := rec.Result()
	if loc := res.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil && u.Query().Get("code") != "" {
			res.Header.Set("Location", s.withCallbackParams(u).String())
		}
	}
	copyResponse(w, res, rec.Body.Bytes())
}

func (s *Simulator) rememberScope(q url.Values) {
	st := q.Get("state")
	if st == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.scopes) > 1000 {
		clear(s.scopes)
	}
	s.scopes[st] = q.Get("scope")
}

// callbackValue is what the simulator adds to the callback as the
// parameter name: the account in the account pattern for the account's
// field, the requested scope for scope.
func (s *Simulator) callbackValue(name string, state string) string {
	p := s.p
	switch {
	case name == p.Account.Field:
		return s.renderAccount(p.Sample.Account)
	case name == "scope":
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.scopes[state]
	}
	return "sandbox-" + name
}

func (s *Simulator) renderAccount(acc string) string {
	if pat := s.p.Account.Pattern; pat != "" {
		return strings.Replace(pat, "{"+PlaceholderAccount+"}", acc, 1)
	}
	return acc
}

func (s *Simulator) withCallbackParams(u *url.URL) *url.URL {
	if len(s.p.Authorize.CallbackParams) == 0 {
		return u
	}
	q := u.Query()
	for _, k := range s.p.Authorize.CallbackParams {
		q.Set(k, s.callbackValue(k, q.Get("state")))
	}
	c := *u
	c.RawQuery = q.Encode()
	return &c
}

// readLimited reads at most 64 KiB of a request body.
func readLimited(r *http.Request) ([]byte, bool) {
	if r.Body == nil {
		return nil, true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	return b, err == nil && len(b) <= 64<<10
}

// parseParams decodes a token or revoke body of any of the formats,
// leniently: the inner Server judges the format strictly.
func parseParams(ctype string, body []byte) (url.Values, string) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return nil, ""
	}
	out := url.Values{}
	switch mt {
	case "application/json":
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return nil, mt
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				out.Set(k, s)
			}
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, mt
		}
		out = q
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, mt
			}
			v, _ := io.ReadAll(io.LimitReader(part, 64<<10))
			out.Add(part.FormName(), string(v))
		}
	}
	return out, mt
}

// encodeFor encodes params as the inner Server's token format wants.
func encodeFor(format driver.BodyFormat, params url.Values) ([]byte, string) {
	if format == driver.JSON {
		m := make(map[string]string, len(params))
		for k := range params {
			m[k] = params.Get(k)
		}
		b, _ := json.Marshal(m)
		return b, "application/json"
	}
	return []byte(params.Encode()), "application/x-www-form-urlencoded"
}

// oauthError answers as Doorkeeper 5.1 and later: 400 (401 for
// invalid_client) with {"error","error_description"}.
func oauthError(w http.ResponseWriter, code, desc string) {
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request) {
	p := s.p
	body, ok := readLimited(r)
	if !ok {
		oauthError(w, "invalid_request", "The request body could not be read or is larger than 64 KiB.")
		return
	}
	params, mt := parseParams(r.Header.Get("Content-Type"), body)
	if p.Token.Format == formatMultipart && mt != "multipart/form-data" && r.Method == http.MethodPost {
		oauthError(w, "invalid_request", "The request body must be multipart/form-data, as "+p.DisplayName+" documents.")
		return
	}
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(body))
	presented := ""
	if params != nil && r.Method == http.MethodPost {
		changed := mt == "multipart/form-data" && p.Token.Format == formatMultipart
		switch params.Get("grant_type") {
		case "authorization_code":
			if miss := s.missingParams(params, p.Token.ExchangeParams); miss != "" {
				oauthError(w, "invalid_request", "Missing or wrong parameter: "+miss+".")
				return
			}
			for _, k := range p.Token.ExchangeFromCallback {
				want := ""
				if k == p.Account.Field {
					want = s.renderAccount(p.Sample.Account)
				}
				if got := params.Get(k); got == "" || want != "" && got != want {
					oauthError(w, "invalid_request", "Missing or wrong parameter: "+k+" (send it back as the callback gave it).")
					return
				}
			}
		case "refresh_token":
			if !p.Answer.Refresh.Issued {
				oauthError(w, "unsupported_grant_type", p.DisplayName+" issues no refresh tokens.")
				return
			}
			if miss := s.missingParams(params, p.Token.RefreshParams); miss != "" {
				oauthError(w, "invalid_request", "Missing or wrong parameter: "+miss+".")
				return
			}
			presented = params.Get("refresh_token")
			if !p.Answer.Refresh.Rotates {
				s.mu.Lock()
				cur, known := s.stable[presented]
				s.mu.Unlock()
				if known && cur != presented {
					params.Set("refresh_token", cur)
					changed = true
				}
			}
		}
		if changed {
			b, ct := encodeFor(bodyFormat(p.Token.Format), params)
			inner.Body = io.NopCloser(bytes.NewReader(b))
			inner.ContentLength = int64(len(b))
			inner.Header.Set("Content-Type", ct)
		}
	}
	rec := httptest.NewRecorder()
	s.inner.ServeHTTP(rec, inner)
	res := rec.Result()
	out := rec.Body.Bytes()
	if res.StatusCode == http.StatusOK {
		if m, ok := decodeObject(out); ok && m["error"] == nil && m["access_token"] != nil {
			grant := ""
			if params != nil {
				grant = params.Get("grant_type")
			}
			// What follows the object (a fault's PadBody) follows the
			// rewritten one too.
			rest := out[objectEnd(out):]
			b, _ := json.Marshal(s.rewriteAnswer(m, grant, presented))
			out = append(b, rest...)
			res.Header.Del("Content-Length")
		}
	}
	copyResponse(w, res, out)
}

// objectEnd returns the offset just past the first JSON value of b.
func objectEnd(b []byte) int {
	d := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	if d.Decode(&v) != nil {
		return len(b)
	}
	return int(d.InputOffset())
}

// missingParams returns the first of want that params lacks or holds
// with another value.
func (s *Simulator) missingParams(params url.Values, want map[string]string) string {
	vals, _ := s.p.expandMap(want, map[string]string{PlaceholderClientID: params.Get("client_id")})
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if params.Get(k) != vals[k] {
			return k + "=" + vals[k]
		}
	}
	return ""
}

// rewriteAnswer turns the inner Server's Doorkeeper answer into the
// profile's.
func (s *Simulator) rewriteAnswer(m map[string]any, grant, presented string) map[string]any {
	p := s.p
	a := &p.Answer
	out := map[string]any{}
	for k, v := range m {
		if !isStandardName(k) && k != innerAccount {
			out[k] = v
		}
	}
	if v, ok := m["access_token"]; ok {
		setPath(out, a.AccessToken, v)
	}
	if tt, _ := m["token_type"].(string); a.TokenType != "none" || tt != "Bearer" {
		out["token_type"] = m["token_type"]
	}
	ei, _ := m["expires_in"].(json.Number)
	ca, _ := m["created_at"].(json.Number)
	switch a.Expiry.Format {
	case ExpirySeconds:
		setPath(out, a.Expiry.Field, ei)
	case ExpiryDate:
		secs, _ := ei.Int64()
		created, _ := ca.Int64()
		setPath(out, a.Expiry.Field, time.Unix(created+secs, 0).UTC().Format(time.RFC3339))
	}
	if a.CreatedAt != "" {
		setPath(out, a.CreatedAt, ca)
	}
	if a.Refresh.Issued {
		rt, _ := m["refresh_token"].(string)
		if !a.Refresh.Rotates {
			handed := rt
			if grant == "refresh_token" && presented != "" {
				handed = presented
			}
			s.mu.Lock()
			s.stable[handed] = rt
			s.mu.Unlock()
			rt = handed
		}
		setPath(out, a.RefreshToken, rt)
	}
	if a.Scope != "" {
		if sc, ok := m["scope"].(string); ok {
			setPath(out, a.Scope, strings.Join(driver.SplitScopes(sc, p.Authorize.ScopeSeparator), a.ScopeSeparator))
		}
	}
	if p.Account.Field != "" {
		if acc, ok := m[innerAccount].(string); ok {
			setPath(out, p.Account.Field, s.renderAccount(acc))
		}
	}
	return out
}

func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	api := &s.p.API
	if strings.EqualFold(api.TokenHeader, "Authorization") && api.TokenScheme == "Bearer" {
		s.inner.ServeHTTP(w, r)
		return
	}
	refuse := func(why string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": why})
	}
	v := r.Header.Get(api.TokenHeader)
	if v == "" {
		refuse("the access token goes in the " + api.TokenHeader + " header")
		return
	}
	tok := v
	if api.TokenScheme != "none" {
		prefix := api.TokenScheme + " "
		if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
			refuse("the " + api.TokenHeader + " header must be \"" + api.TokenScheme + " <token>\"")
			return
		}
		tok = strings.TrimSpace(v[len(prefix):])
	}
	inner := r.Clone(r.Context())
	inner.Header.Del(api.TokenHeader)
	inner.Header.Set("Authorization", "Bearer "+tok)
	s.inner.ServeHTTP(w, inner)
}

func (s *Simulator) serveRevoke(w http.ResponseWriter, r *http.Request) {
	p := s.p
	rv := p.Revoke
	if p.standardRevoke() || r.Method != http.MethodPost {
		s.inner.ServeHTTP(w, r)
		return
	}
	refused := map[string]string{"error": "unauthorized_client", "error_description": "You are not authorized to revoke this token"}
	body, ok := readLimited(r)
	if !ok {
		oauthError(w, "invalid_request", "The request body could not be read or is larger than 64 KiB.")
		return
	}
	params, mt := parseParams(r.Header.Get("Content-Type"), body)
	wantType := "application/x-www-form-urlencoded"
	if rv.Format == formatJSON {
		wantType = "application/json"
	}
	if params == nil || mt != wantType {
		oauthError(w, "invalid_request", "The body must be "+wantType+".")
		return
	}
	// Who is the client? Basic, body, or (client_auth none) what the
	// profile's parameters and headers hold where they say {client_id}
	// and {client_secret}.
	id, secret, _ := r.BasicAuth()
	switch rv.ClientAuth {
	case authBody:
		id, secret = params.Get("client_id"), params.Get("client_secret")
	case authNone:
		if _, _, basic := r.BasicAuth(); basic || params.Has("client_secret") && !templatesHold(rv.Params, "client_secret") {
			writeJSON(w, http.StatusForbidden, refused)
			return
		}
		id, secret = "", ""
		got := map[string]string{}
		for k, t := range rv.Params {
			p.extractInto(got, t, params.Get(k))
		}
		for k, t := range rv.Headers {
			p.extractInto(got, t, r.Header.Get(k))
		}
		id, secret = got[PlaceholderClientID], got[PlaceholderClientSecret]
	}
	vars := map[string]string{PlaceholderClientID: id, PlaceholderClientSecret: secret}
	wantParams, _ := p.expandMap(rv.Params, vars)
	wantHeaders, _ := p.expandMap(rv.Headers, vars)
	good := id != ""
	for k, v := range wantParams {
		good = good && params.Get(k) == v
	}
	for k, v := range wantHeaders {
		good = good && r.Header.Get(k) == v
	}
	if !good {
		writeJSON(w, http.StatusForbidden, refused)
		return
	}
	tok := params.Get(rv.TokenParam)
	if !p.Answer.Refresh.Rotates {
		s.mu.Lock()
		if cur, ok := s.stable[tok]; ok {
			tok = cur
		}
		s.mu.Unlock()
	}
	fwd := url.Values{"token": {tok}}
	if rv.ClientAuth != authBasic {
		fwd.Set("client_id", id)
		fwd.Set("client_secret", secret)
	}
	b, ct := encodeFor(bodyFormat(p.Token.Format), fwd)
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(b))
	inner.ContentLength = int64(len(b))
	for k := range wantHeaders {
		inner.Header.Del(k)
	}
	inner.Header.Set("Content-Type", ct)
	inner.Header.Del("Authorization")
	if rv.ClientAuth == authBasic {
		inner.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	}
	if rv.Revokes != "grant" {
		s.inner.ServeHTTP(w, inner)
		return
	}
	rec := httptest.NewRecorder()
	s.inner.ServeHTTP(rec, inner)
	res := rec.Result()
	if res.StatusCode/100 == 2 {
		// The provider revokes every token of the app for the account.
		// The simulated merchant is one account, whose grants RevokeAll
		// ends (other clients' grants too: the simulator serves one app
		// at a time in practice).
		s.inner.RevokeAll()
	}
	copyResponse(w, res, rec.Body.Bytes())
}

// templatesHold reports whether a template of m uses {name}.
func templatesHold(m map[string]string, name string) bool {
	for _, t := range m {
		if strings.Contains(t, "{"+name+"}") {
			return true
		}
	}
	return false
}

// extractInto matches value against template (its {client_id} and
// {client_secret} as wildcards, everything else literal) and records
// what the wildcards matched.
func (p *Profile) extractInto(got map[string]string, template, value string) {
	names := placeholders(template)
	var re strings.Builder
	re.WriteString("^")
	rest := template
	var caps []string
	for _, n := range names {
		i := strings.Index(rest, "{"+n+"}")
		re.WriteString(regexp.QuoteMeta(rest[:i]))
		switch n {
		case PlaceholderClientID, PlaceholderClientSecret:
			re.WriteString("(.+?)")
			caps = append(caps, n)
		default:
			v, _ := p.expand("{"+n+"}", nil)
			re.WriteString(regexp.QuoteMeta(v))
		}
		rest = rest[i+len(n)+2:]
	}
	re.WriteString(regexp.QuoteMeta(rest) + "$")
	m := regexp.MustCompile(re.String()).FindStringSubmatch(value)
	for i, n := range caps {
		if m != nil {
			got[n] = m[i+1]
		}
	}
}

// AddClient registers an application, as simulator.Server.AddClient does.
func (s *Simulator) AddClient(id, secret string, redirectURIs ...string) {
	s.inner.AddClient(id, secret, redirectURIs...)
}

// Approve clicks Authorize on the consent page for authorizeURL, as
// simulator.Server.Approve does, and returns the redirect with the
// profile's callback parameters. An authorize URL without the profile's
// authorize parameters is refused with a *simulator.AuthorizeError.
func (s *Simulator) Approve(authorizeURL string) (*url.URL, error) {
	u, err := url.Parse(authorizeURL)
	if err == nil && !s.native {
		if miss := s.checkAuthorizeParams(u.Query()); miss != "" {
			return nil, &simulator.AuthorizeError{Code: "invalid_request", Description: "the authorize request lacks " + miss}
		}
		s.rememberScope(u.Query())
	}
	red, err := s.inner.Approve(authorizeURL)
	if err != nil || s.native || red.Query().Get("code") == "" {
		return red, err
	}
	return s.withCallbackParams(red), nil
}

// Deny clicks Deny, as simulator.Server.Deny does.
func (s *Simulator) Deny(authorizeURL string) (*url.URL, error) { return s.inner.Deny(authorizeURL) }

// Endpoint returns the simulator's endpoints when it is served at base,
// as simulator.Server.Endpoint does.
func (s *Simulator) Endpoint(base string) driver.Endpoint { return s.inner.Endpoint(base) }

// SetClock sets the clock that judges every expiry (nil: time.Now).
func (s *Simulator) SetClock(now func() time.Time) { s.inner.SetClock(now) }

// Stats returns the inner Server's counters.
func (s *Simulator) Stats() simulator.Stats { return s.inner.Stats() }

// Config returns the inner Server's configuration.
func (s *Simulator) Config() simulator.Config { return s.inner.Config() }

// InjectFault queues a fault, as simulator.Server.InjectFault does.
func (s *Simulator) InjectFault(f simulator.Fault) { s.inner.InjectFault(f) }

// ClearFaults drops every queued fault.
func (s *Simulator) ClearFaults() { s.inner.ClearFaults() }

// RevokeAll simulates the merchant uninstalling the app.
func (s *Simulator) RevokeAll() { s.inner.RevokeAll() }

// SetLegacyErrorStatus answers every token error with 401 (Doorkeeper
// before 5.1.0) when legacy is true.
func (s *Simulator) SetLegacyErrorStatus(legacy bool) { s.inner.SetLegacyErrorStatus(legacy) }

// ValidAccessToken reports whether tok would be accepted by the API now.
func (s *Simulator) ValidAccessToken(tok string) bool { return s.inner.ValidAccessToken(tok) }

// ValidRefreshToken reports whether tok (as handed out) would be accepted
// by a refresh now.
func (s *Simulator) ValidRefreshToken(tok string) bool {
	s.mu.Lock()
	if cur, ok := s.stable[tok]; ok {
		tok = cur
	}
	s.mu.Unlock()
	return s.inner.ValidRefreshToken(tok)
}

// LiveRefreshTokens returns how many refresh tokens the inner Server
// would still accept, as simulator.Server.LiveRefreshTokens does.
func (s *Simulator) LiveRefreshTokens() int { return s.inner.LiveRefreshTokens() }

// AccessTokensExpire reports whether the profile's access tokens expire
// (answer.expiry.format is not never). With IssuesRefreshTokens it states
// what a simulator.Server cannot, for conformance.TokenFacts: the suite
// takes these facts from the simulator, not from the driver under test.
func (s *Simulator) AccessTokensExpire() bool { return s.p.Answer.Expiry.Format != ExpiryNever }

// IssuesRefreshTokens reports whether the profile's answers carry refresh
// tokens (answer.refresh.issued).
func (s *Simulator) IssuesRefreshTokens() bool { return s.p.Answer.Refresh.Issued }

// copyResponse writes a recorded response.
func copyResponse(w http.ResponseWriter, res *http.Response, body []byte) {
	h := w.Header()
	for k, v := range res.Header {
		h[k] = v
	}
	if h.Get("Content-Length") != "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// randomHex returns 2n hex digits from crypto/rand.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// template escapes text for an HTML page.
func template(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	return r.Replace(s)
}
