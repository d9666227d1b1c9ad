package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// MaxResponseBytes is the most the engine reads of a token or revoke answer.
// A longer answer is a BadResponse.
const MaxResponseBytes = 1 << 20

// NewTokenRequest builds a POST to endpoint carrying params, encoded as
// r.Format, with the client authenticated as r.Auth. Client credentials never
// go into the URL.
func NewTokenRequest(ctx context.Context, endpoint string, r Request, cfg Config, params url.Values) (*http.Request, error) {
	creds := r.Auth == InBody
	var body []byte
	var ctype string
	switch r.Format {
	case JSON:
		m := make(map[string]string, len(params)+2)
		for k := range params {
			m[k] = params.Get(k)
		}
		if creds {
			m["client_id"], m["client_secret"] = cfg.ClientID, cfg.ClientSecret
		}
		var err error
		if body, err = json.Marshal(m); err != nil {
			return nil, &Error{Code: InvalidConfig, Op: "token request", Msg: "cannot encode body", Err: err}
		}
		ctype = "application/json"
	default:
		body = appendForm(make([]byte, 0, 256), params, creds, cfg)
		ctype = "application/x-www-form-urlencoded"
	}
	// The body stays a *bytes.Reader: net/http sends headers and body of a
	// known in-memory body in one segment, and flushes the headers apart
	// for any other reader (golang/go#22088) — a wrapper type here cost a
	// refresh 5 µs on loopback.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Code: InvalidConfig, Op: "token request", Msg: "bad endpoint URL", Err: redactURLError(err)}
	}
	req.Header["Content-Type"] = []string{ctype}
	req.Header["Accept"] = []string{"application/json"}
	if r.Auth == Basic {
		// RFC 6749 §2.3.1: form-encode id and secret before Basic.
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	}
	return req, nil
}

// appendForm appends params as url.Values.Encode writes them (keys sorted),
// with client_id and client_secret set from cfg when creds; it does not copy
// params into a new map first.
func appendForm(b []byte, params url.Values, creds bool, cfg Config) []byte {
	var stack [8]string // token requests have a handful of parameters
	keys := stack[:0]
	for k := range params {
		if !creds || k != "client_id" && k != "client_secret" {
			keys = append(keys, k)
		}
	}
	if creds {
		keys = append(keys, "client_id", "client_secret")
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := params[k]
		switch {
		case creds && k == "client_id":
			vs = []string{cfg.ClientID}
		case creds && k == "client_secret":
			vs = []string{cfg.ClientSecret}
		}
		ek := url.QueryEscape(k)
		for _, v := range vs {
			if len(b) > 0 {
				b = append(b, '&')
			}
			b = append(b, ek...)
			b = append(b, '=')
			b = append(b, url.QueryEscape(v)...)
		}
	}
	return b
}

// redactURLError drops url.Error's URL, which may carry a query.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// DoToken sends req through env.HTTP and reads the answer into a
// TokenResponse. A transport failure is an *Error: Unavailable when the
// request cannot have reached the provider (the connection was never made,
// or net/http got a connection but wrote none of a request with a body: a
// TLS handshake that stalled, say), RefreshUncertain for a refresh that
// may have been processed, Unavailable otherwise.
//
// "None written" is trusted only for a request with a body: net/http's
// HTTP/1 fires WroteHeaders before it sends anything, but its HTTP/2 fires
// it after the HEADERS frame is on the wire, and a request without a body
// is whole in that frame; with a body, the DATA frames follow the hook.
func DoToken(env *Env, req *http.Request, grant string, requested []string, prev *Token) (*TokenResponse, error) {
	var w written
	hasBody := req.Body != nil && req.Body != http.NoBody
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GetConn: w.getConn, WroteHeaders: w.wroteHeaders}))
	resp, err := env.HTTP.Do(req)
	if err != nil {
		code := Unavailable
		msg := "provider unreachable"
		if grant == "refresh_token" && MaybeSent(err) && !(hasBody && w.none()) {
			code = RefreshUncertain
			msg = "refresh request sent but no answer arrived; the provider may have rotated the refresh token"
		}
		return nil, &Error{Code: code, Op: opOf(grant), Provider: env.Provider.Spec().Name, Msg: msg, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		code := Unavailable
		if grant == "refresh_token" {
			code = RefreshUncertain
		}
		return nil, &Error{Code: code, Op: opOf(grant), Provider: env.Provider.Spec().Name, Status: resp.StatusCode, Msg: "answer cut off", Err: redactURLError(err)}
	}
	if len(body) > MaxResponseBytes {
		return nil, &Error{Code: BadResponse, Op: opOf(grant), Provider: env.Provider.Spec().Name, Status: resp.StatusCode,
			ContentType: resp.Header.Get("Content-Type"), Msg: "answer larger than 1 MiB", Excerpt: Excerpt(body)}
	}
	return &TokenResponse{Grant: grant, Status: resp.StatusCode, Header: resp.Header, Body: body, Now: env.Now(), Requested: requested, Previous: prev}, nil
}

// readBody reads at most MaxResponseBytes+1 bytes of resp's body, in one
// allocation when the answer says its length.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= MaxResponseBytes {
		buf := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
}

func opOf(grant string) string {
	switch grant {
	case "authorization_code":
		return "exchange"
	case "refresh_token":
		return "refresh"
	}
	return grant
}

// written records, through net/http's trace hooks, whether a request got
// as far as having its headers written, in any of its attempts.
type written struct {
	conn, headers atomic.Bool
}

func (w *written) getConn(string) { w.conn.Store(true) }
func (w *written) wroteHeaders()  { w.headers.Store(true) }

// none reports whether net/http carried the request (it asked for a
// connection) and wrote none of it. A transport that is not net/http's
// fires no hook, and none is then false: the error decides (MaybeSent).
func (w *written) none() bool { return w.conn.Load() && !w.headers.Load() }

// MaybeSent reports whether a transport error leaves open that the server
// received and processed the request: false only when the connection was
// never established (DNS failure, connection refused).
func MaybeSent(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return false
	}
	var de *net.DNSError
	return !errors.As(err, &de)
}

// StandardExchange posts an authorization_code grant as Spec.Token says and
// parses the answer with the provider's ParseToken.
func StandardExchange(ctx context.Context, env *Env, code string) (*Token, error) {
	spec := env.Provider.Spec()
	p := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {env.Config.RedirectURL}}
	req, err := NewTokenRequest(ctx, env.Config.Endpoint.TokenURL, spec.Token, env.Config, p)
	if err != nil {
		return nil, err
	}
	r, err := DoToken(env, req, "authorization_code", env.Config.Scopes, nil)
	if err != nil {
		return nil, err
	}
	return env.Provider.ParseToken(r)
}

// StandardRefresh posts a refresh_token grant (with redirect_uri when
// Spec.RefreshSendsRedirectURI) and parses the answer. When the answer carries
// no refresh token, the previous one is kept (RFC 6749 §6), and so are the
// scopes and account when the answer omits them.
func StandardRefresh(ctx context.Context, env *Env, tok *Token) (*Token, error) {
	spec := env.Provider.Spec()
	if tok.RefreshToken == "" {
		return nil, &Error{Code: ReauthRequired, Op: "refresh", Provider: spec.Name, Msg: "no refresh token is stored"}
	}
	p := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	if spec.RefreshSendsRedirectURI {
		p.Set("redirect_uri", env.Config.RedirectURL)
	}
	endpoint := env.Config.Endpoint.RefreshURL
	if endpoint == "" {
		endpoint = env.Config.Endpoint.TokenURL
	}
	req, err := NewTokenRequest(ctx, endpoint, spec.Token, env.Config, p)
	if err != nil {
		return nil, err
	}
	r, err := DoToken(env, req, "refresh_token", tok.Scopes, tok)
	if err != nil {
		return nil, err
	}
	nt, err := env.Provider.ParseToken(r)
	if err != nil {
		return nil, err
	}
	return InheritFrom(nt, tok), nil
}

// InheritFrom fills what a refresh answer may omit from the token it replaced:
// the refresh token, the scopes and the account. It returns nt.
func InheritFrom(nt, prev *Token) *Token {
	if nt.RefreshToken == "" {
		nt.RefreshToken = prev.RefreshToken
	}
	if len(nt.Scopes) == 0 {
		nt.Scopes = prev.Scopes
	}
	if nt.AccountID == "" {
		nt.AccountID = prev.AccountID
	}
	return nt
}

// StandardRevoke posts {"token": …} (or token=… as a form) to the revoke
// endpoint as Spec.Revoke says (RFC 7009). Any 2xx is success.
func StandardRevoke(ctx context.Context, env *Env, tok *Token) error {
	spec := env.Provider.Spec()
	if env.Config.Endpoint.RevokeURL == "" {
		return &Error{Code: Unsupported, Op: "revoke", Provider: spec.Name, Msg: "the provider has no revocation endpoint"}
	}
	t := tok.RefreshToken
	if t == "" {
		t = tok.AccessToken
	}
	req, err := NewTokenRequest(ctx, env.Config.Endpoint.RevokeURL, spec.Revoke, env.Config, url.Values{"token": {t}})
	if err != nil {
		return err
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return &Error{Code: Unavailable, Op: "revoke", Provider: spec.Name, Msg: "provider unreachable", Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := &Error{Code: ProviderError, Op: "revoke", Provider: spec.Name, Status: resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type"), Excerpt: Excerpt(body), Msg: "revocation refused"}
	if oe, desc := oauthErrorOf(body); oe != "" {
		e.Code, e.OAuthError, e.OAuthDescription = ClassifyOAuthError(oe), Excerpt([]byte(oe)), desc
	}
	return e
}

// ClassifyOAuthError maps an RFC 6749 §5.2 error code to a Code.
func ClassifyOAuthError(code string) Code {
	switch code {
	case "invalid_grant":
		return InvalidGrant
	case "invalid_client", "unauthorized_client":
		return InvalidClient
	case "invalid_scope":
		return InvalidScope
	case "access_denied":
		return AccessDenied
	case "invalid_request", "unsupported_grant_type", "unsupported_response_type":
		return InvalidConfig
	case "temporarily_unavailable", "server_error":
		return Unavailable
	}
	return ProviderError
}

func oauthErrorOf(body []byte) (code, desc string) {
	var e struct {
		Error            any    `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	s, _ := e.Error.(string)
	return s, Excerpt([]byte(e.ErrorDescription))
}

// ParseStandardToken parses a Doorkeeper-style (RFC 6749 §5.1) token answer
// as the Provider.ParseToken contract describes. Field names: access_token,
// token_type, expires_in (a number or a numeric string), refresh_token, scope
// (joined by spec.ScopeSeparator), created_at (Unix seconds). Every other
// field lands in Extra; drivers lift their own fields (an account id, say)
// from there.
//
// An expires_in of 0 or less (or NaN) is a BadResponse, not a token that
// never expires; so is a token that ValidateToken refuses (a CR or LF in a
// token, say). Those errors carry no excerpt of the body.
func ParseStandardToken(spec *Spec, r *TokenResponse) (*Token, error) {
	fail := func(code Code, msg string) *Error {
		return &Error{Code: code, Op: opOf(r.Grant), Provider: spec.Name, Status: r.Status, ContentType: r.Header.Get("Content-Type"), Msg: msg, Excerpt: Excerpt(r.Body)}
	}
	// invalid is fail without the body: an answer refused for what its
	// fields hold carries no excerpt, which could show a short token (one
	// whose field name Excerpt does not recognise, "access_\u0074oken" say).
	invalid := func(code Code, msg string) *Error {
		return &Error{Code: code, Op: opOf(r.Grant), Provider: spec.Name, Status: r.Status, ContentType: r.Header.Get("Content-Type"), Msg: msg}
	}
	// The members are split without decoding the object into a map (this
	// is on the refresh path, whose cost is measured against a bare POST);
	// known fields are read from their raw JSON, extras decoded at the end.
	m, ok := newObjectMembers(r.Body)
	if !ok {
		// Data after the object is ignored, as a streaming decoder would.
		var first json.RawMessage
		if json.NewDecoder(bytes.NewReader(r.Body)).Decode(&first) == nil {
			m, ok = newObjectMembers(first)
		}
	}
	if !ok {
		if statusCode(r.Status, BadResponse) == Unavailable {
			return nil, fail(Unavailable, "provider unavailable")
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "text/html" || bytes.HasPrefix(bytes.TrimSpace(r.Body), []byte("<")) {
			return nil, fail(statusCode(r.Status, BadResponse), "answer is an HTML page, not a token")
		}
		return nil, fail(statusCode(r.Status, BadResponse), "answer is not a JSON object")
	}
	var at, tt, rt, ei, ca, sc, oe, od []byte // raw values; the last of duplicates wins, as in encoding/json
	extras := false
	for k, v, more := m.next(); more; k, v, more = m.next() {
		name := k[1 : len(k)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			s, _ := rawString(k) // rare: an escaped name
			name = []byte(s)
		}
		switch string(name) { // no allocation: the compiler compares the bytes
		case "access_token":
			at = v
		case "token_type":
			tt = v
		case "refresh_token":
			rt = v
		case "expires_in":
			ei = v
		case "created_at":
			ca = v
		case "scope":
			sc = v
		default:
			extras = true
			switch string(name) {
			case "error":
				oe = v
			case "error_description":
				od = v
			}
		}
	}
	if oe != nil && !isNull(oe) {
		s, _ := rawString(oe)
		e := fail(ClassifyOAuthError(s), "provider refused the request")
		if s == "" {
			e.Code = BadResponse
		}
		if e.Code == ProviderError || e.Code == BadResponse {
			// Not an RFC 6749 code ("Rate limit exceeded" in a 429, say):
			// the status decides.
			e.Code = statusCode(r.Status, e.Code)
		}
		e.OAuthError = Excerpt([]byte(s))
		if d, ok := rawString(od); ok {
			e.OAuthDescription = Excerpt([]byte(d))
		}
		if r.Status/100 == 2 {
			e.Msg = "provider sent an error inside a 200 answer"
		}
		return nil, e
	}
	if r.Status/100 != 2 {
		return nil, fail(statusCode(r.Status, BadResponse), "token endpoint answered with an error status")
	}
	access, _ := rawString(at)
	if access == "" {
		return nil, fail(BadResponse, "answer has no access_token")
	}
	typ, _ := rawString(tt)
	if !strings.EqualFold(typ, "bearer") {
		e := fail(BadResponse, "token type is not bearer")
		e.Msg = "token type " + strconv.Quote(Excerpt([]byte(typ))) + " is not bearer"
		return nil, e
	}
	t := &Token{AccessToken: access, TokenType: "Bearer"}
	t.RefreshToken, _ = rawString(rt)
	t.IssuedAt = r.Now
	// created_at is Unix seconds (Doorkeeper). A value of 1e11 or more is
	// not seconds (milliseconds, say: an expiry in the year 55000 could not
	// even be stored): the local clock is used instead.
	if ca, ok := rawNumber(ca); ok && ca > 0 && ca < 1e11 {
		t.IssuedAt = time.Unix(int64(ca), 0)
	}
	if ei, ok := rawNumber(ei); ok {
		// expires_in is the lifetime in seconds (RFC 6749 §5.1): 0 or less
		// (or NaN) is no lifetime at all. Read as "never expires" it would
		// make a token the engine never refreshes, so it is refused.
		if !(ei > 0) {
			return nil, invalid(BadResponse, "expires_in is not positive: the token's lifetime must be positive")
		}
		// A lifetime beyond time.Duration's range (1e19, "Inf") would
		// wrap around to an expiry in the past: cap it.
		d := time.Duration(math.MaxInt64)
		if ns := ei * float64(time.Second); ns < float64(math.MaxInt64) {
			d = time.Duration(ns)
		}
		t.Expiry = t.IssuedAt.Add(d)
	} else if spec.DefaultLifetime > 0 {
		t.Expiry = t.IssuedAt.Add(spec.DefaultLifetime)
	}
	if s, ok := rawString(sc); ok {
		t.Scopes = SplitScopes(s, spec.ScopeSeparator)
	} else {
		t.Scopes = append([]string(nil), r.Requested...)
	}
	if extras {
		t.Extra = map[string]any{}
		m.rewind()
		for k, v, more := m.next(); more; k, v, more = m.next() {
			switch key, _ := rawString(k); key {
			case "access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope":
			default:
				t.Extra[key] = rawValue(v)
			}
		}
	}
	if err := ValidateToken(t); err != nil {
		e := err.(*Error)
		return nil, invalid(e.Code, e.Msg)
	}
	return t, nil
}

func isNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// rawNumber reads a JSON number or a numeric string ("at least PayPal
// returns string" — golang.org/x/oauth2 internal/token.go — and so may
// others).
//
// A number beyond float64's range is ±Inf: present, and huge (capped) or
// negative (refused), rather than taken for a missing field.
func rawNumber(v []byte) (float64, bool) {
	if s, ok := rawString(v); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, parsedFloat(err)
	}
	if len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, parsedFloat(err)
}

// parsedFloat reports whether strconv.ParseFloat read a number: without
// error, or out of range (then its result is ±Inf).
func parsedFloat(err error) bool {
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// rawValue decodes an extra field as encoding/json would into an any, with
// numbers kept as json.Number.
func rawValue(v []byte) any {
	if s, ok := rawString(v); ok {
		return s
	}
	var x any
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if d.Decode(&x) != nil {
		return nil
	}
	return x
}

// statusCode classifies a non-JSON answer by its status: 429 and 5xx are
// Unavailable, anything else def.
func statusCode(status int, def Code) Code {
	if status == http.StatusTooManyRequests || status >= 500 {
		return Unavailable
	}
	return def
}

// SplitScopes splits s by sep (any run of whitespace when sep is " " or
// empty; commas are also accepted then), dropping empty parts.
func SplitScopes(s, sep string) []string {
	if sep == "" || sep == " " {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == ',' })
	}
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ValidateScopes returns an InvalidScope error naming the first requested
// scope that spec does not know. An empty Spec.Scopes accepts everything.
func ValidateScopes(spec *Spec, requested []string) error {
	if len(spec.Scopes) == 0 {
		return nil
	}
	known := make(map[string]bool, len(spec.Scopes))
	for _, s := range spec.Scopes {
		known[s] = true
	}
	for _, s := range requested {
		if !known[s] {
			return &Error{Code: InvalidScope, Op: "authorize", Provider: spec.Name,
				Msg: "unknown scope " + strconv.Quote(Excerpt([]byte(s))) + " (not among the provider's scopes: Spec().Scopes)"}
		}
	}
	return nil
}
