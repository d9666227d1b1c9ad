package shoplineglobal

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/simulator"
)

// The simulator's own statement of SHOPLINE's wire facts, as literals from
// the sources in the package documentation, never read from the driver's
// Spec: the conformance suite compares the two.
const (
	simAuthorizePath = "/admin/oauth-web/"             // + #/oauth/authorize?appKey=…
	simCreatePath    = "/admin/oauth/token/create"     // POST {"code":…}, signed
	simRefreshPath   = "/admin/oauth/token/refresh"    // POST, no body, signed over the timestamp
	simAPIPrefix     = "/admin/openapi/v20251201/"     // Admin REST API, Bearer
	simAccessTTL     = 10 * time.Hour                  // unverified (third-party integrations)
	simCodeTTL       = 10 * time.Minute                // unverified (third-party integrations)
	simSkew          = 10 * time.Minute                // "SHOPLINE使用的时间间隔为10分钟"
	simExpireLayout  = "2006-01-02T15:04:05.000Z07:00" // ISO 8601 with milliseconds
)

// Simulator plays a SHOPLINE store on the wire, for the conformance suite
// and tests: an http.Handler with the methods of simulator.Server
// (conformance.Simulator). It translates a simulator.Server (clients,
// consent, codes, expiry, faults, counters, the clock) into SHOPLINE's
// format and is strict about it:
//
//   - the authorization page is a fragment route: Approve and Deny take
//     …/admin/oauth-web/#/oauth/authorize?appKey&responseType=code&scope&redirectUri&customField
//     and refuse the engine's own names (client_id, redirect_uri, state);
//     the redirect carries code, handle, appkey, timestamp, customField and
//     a sign over them (SignQuery with the app secret). A browser gets the
//     same: the page's script opens the simulator's consent form
//     (…/admin/oauth-web/consent?appKey…, the simulator's own path), whose
//     decision redirects to the app with that callback;
//   - POST /admin/oauth/token/create and /admin/oauth/token/refresh take
//     no client credentials but the appkey, timestamp and sign headers: a
//     missing header, an unknown app key, a timestamp more than 10 minutes
//     from the simulator's clock or a sign that is not the HMAC-SHA256 of
//     the body and the timestamp is refused with 401. token/create takes
//     exactly {"code":"…"} as application/json; token/refresh takes no
//     body and no refresh token, and refreshes the app's grant on this
//     store (the inner Server's refresh token, which never leaves the
//     simulator);
//   - answers are SHOPLINE's envelope, {"code":200,"i18nCode":"SUCCESS",
//     "message":"ok","data":{"accessToken","expireTime","scope"}}, with
//     expireTime in ISO 8601 and no refresh token;
//   - the API lives under /admin/openapi/v20251201/ with Bearer tokens;
//     merchants/shop.json answers {"data":{"handle","domain"}}.
//
// Refusals are the simulator's choice, since the token endpoints' error
// answers are not documented: SHOPLINE's envelope with a null data, 401
// for a refused signature, 400 for a refused code or authorization (the
// i18nCode values are invented and say so: SIMULATOR_…). Injected faults
// with a status or a body are answered verbatim, as a gateway in front of
// SHOPLINE would.
type Simulator struct {
	handle string
	inner  *simulator.Server
	clock  atomic.Pointer[func() time.Time]

	mu      sync.Mutex
	secrets map[string]string // app key → app secret
	codes   map[string]string // code → the redirectUri it was issued for
	grants  map[string]string // app key → the inner refresh token of its grant on this store
}

var (
	_ http.Handler = (*Simulator)(nil)
)

// NewSimulator returns a simulator of the store handle ("open001"), with no
// app registered: call AddClient.
func NewSimulator(handle string) *Simulator {
	s := &Simulator{handle: handle, secrets: map[string]string{}, codes: map[string]string{}, grants: map[string]string{}}
	now := time.Now
	s.clock.Store(&now)
	s.inner = simulator.New(simulator.Config{
		Name:        "shoplineglobal",
		DisplayName: "SHOPLINE global",
		// What the inner Server takes from this simulator, not from apps.
		TokenFormat:               driver.JSON,
		TokenAuth:                 driver.InBody,
		TokenType:                 "Bearer",
		AccessTTL:                 simAccessTTL,
		SendScope:                 true,
		RefreshRefusesRedirectURI: true,
		CodeTTL:                   simCodeTTL,
		ScopeSeparator:            ",",
		AccountID:                 handle,
		AccessTokenFormat:         func() string { return "sim" + randomHex(200) },
	})
	s.inner.Handle("GET "+simulator.APIBasePath+"merchants/shop.json", func(w http.ResponseWriter, _ *http.Request, g simulator.Grant) {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"handle": g.AccountID, "domain": g.AccountID + ".myshopline.com"}})
	})
	return s
}

// Server returns the simulator.Server behind the Simulator: its state,
// counters and faults (served at its own paths, which are not SHOPLINE's).
func (s *Simulator) Server() *simulator.Server { return s.inner }

// documented is SHOPLINE's endpoints for the store, as its documentation
// and SDK give them.
func (s *Simulator) documented() driver.Endpoint {
	host := "https://" + s.handle + ".myshopline.com"
	return driver.Endpoint{
		AuthURL:    host + "/admin/oauth-web/#/oauth/authorize",
		TokenURL:   host + "/admin/oauth/token/create",
		RefreshURL: host + "/admin/oauth/token/refresh",
		APIBaseURL: host + "/admin/openapi/v20251201/",
	}
}

// Config returns the inner Server's configuration with SHOPLINE's
// documented endpoints, and the app's authentication as SHOPLINE takes it:
// signed (the appkey, timestamp and sign headers), not the credentials in
// the body that the inner Server takes from this simulator.
func (s *Simulator) Config() simulator.Config {
	c := s.inner.Config()
	c.Documented = s.documented()
	c.TokenAuth = driver.Signed
	return c
}

// Endpoint returns the simulator's endpoints when it is served at base.
func (s *Simulator) Endpoint(base string) driver.Endpoint {
	base = strings.TrimRight(base, "/")
	return driver.Endpoint{
		AuthURL:    base + simAuthorizePath,
		TokenURL:   base + simCreatePath,
		RefreshURL: base + simRefreshPath,
		APIBaseURL: base + simAPIPrefix,
	}
}

// AddClient registers an app: its app key, app secret and callback URLs.
func (s *Simulator) AddClient(id, secret string, redirectURIs ...string) {
	s.mu.Lock()
	s.secrets[id] = secret
	s.mu.Unlock()
	s.inner.AddClient(id, secret, redirectURIs...)
}

// SetClock sets the clock of every expiry and of the signatures'
// timestamps; nil restores time.Now.
func (s *Simulator) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.clock.Store(&now)
	s.inner.SetClock(now)
}

func (s *Simulator) now() time.Time { return (*s.clock.Load())() }

// Stats, InjectFault, ClearFaults, RevokeAll (the merchant uninstalls the
// app), SetLegacyErrorStatus and ValidAccessToken are the inner Server's.
func (s *Simulator) Stats() simulator.Stats         { return s.inner.Stats() }
func (s *Simulator) InjectFault(f simulator.Fault)  { s.inner.InjectFault(f) }
func (s *Simulator) ClearFaults()                   { s.inner.ClearFaults() }
func (s *Simulator) RevokeAll()                     { s.inner.RevokeAll() }
func (s *Simulator) SetLegacyErrorStatus(l bool)    { s.inner.SetLegacyErrorStatus(l) }
func (s *Simulator) ValidAccessToken(t string) bool { return s.inner.ValidAccessToken(t) }

// LiveRefreshTokens is 0: SHOPLINE hands out no refresh token.
func (s *Simulator) LiveRefreshTokens() int { return 0 }

// ValidRefreshToken is false for every token: SHOPLINE hands out no
// refresh token (the grant's inner one never leaves the simulator), so no
// refresh token a client holds is one the store accepts.
func (s *Simulator) ValidRefreshToken(string) bool { return false }

// SimulatorHandle is the store the registered driver's simulator plays
// (driver.Simulated; the CLI's demo and sandbox): open001.myshopline.com,
// the store of the examples of SHOPLINE's "App authorization".
const SimulatorHandle = "open001"

// NewSimulator implements driver.Simulated: a fresh simulator of the store
// the driver is bound to, or of SimulatorHandle for the registered driver,
// with no app registered.
func (p *provider) NewSimulator() http.Handler {
	handle := p.handle
	if handle == "" {
		handle = SimulatorHandle
	}
	return NewSimulator(handle)
}

// AccessTokensExpire is true (conformance.TokenFacts).
func (s *Simulator) AccessTokensExpire() bool { return true }

// IssuesRefreshTokens is false: answers carry no refresh token
// (conformance.TokenFacts).
func (s *Simulator) IssuesRefreshTokens() bool { return false }

// RefreshesWithoutRefreshToken is true: token/refresh renews the access
// token on the app's signature alone (conformance.RefreshFacts).
func (s *Simulator) RefreshesWithoutRefreshToken() bool { return true }

// SignsCallbacks is true: the redirect to the app carries a sign over its
// other parameters (conformance.CallbackFacts).
func (s *Simulator) SignsCallbacks() bool { return true }

// Approve is the merchant authorizing the app on SHOPLINE's page at
// authorizeURL; it returns the redirect to the app. Deny is the merchant
// refusing: the redirect carries error=access_denied and the customField
// (what SHOPLINE does then is not documented).
func (s *Simulator) Approve(authorizeURL string) (*url.URL, error) {
	return s.decide(authorizeURL, true)
}

// Deny: see Approve.
func (s *Simulator) Deny(authorizeURL string) (*url.URL, error) { return s.decide(authorizeURL, false) }

func (s *Simulator) decide(raw string, approve bool) (*url.URL, error) {
	bad := func(desc string) (*url.URL, error) {
		return nil, &simulator.AuthorizeError{Code: "invalid_request", Description: desc}
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.HasSuffix(u.Path, simAuthorizePath) {
		return bad("not SHOPLINE's authorization page (…" + simAuthorizePath + ")")
	}
	if u.RawQuery != "" {
		return bad("SHOPLINE's authorization page takes its parameters after the fragment #/oauth/authorize?…, not in the query")
	}
	route, query, _ := strings.Cut(u.EscapedFragment(), "?")
	if route != authorizeRoutePath {
		return bad("the fragment must be #/oauth/authorize?…")
	}
	iq, desc := pageParams(query)
	if desc != "" {
		return bad(desc)
	}
	base := u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, simAuthorizePath) + simulator.AuthorizePath
	decide := s.inner.Deny
	if approve {
		decide = s.inner.Approve
	}
	redirect, err := decide(base + "?" + iq.Encode())
	if err != nil {
		return nil, err
	}
	return s.callback(redirect, iq.Get("client_id"), iq.Get("redirect_uri")), nil
}

// pageParams reads the parameters of SHOPLINE's page (the fragment's
// query) and returns them with the inner Server's names, or what is wrong
// with them.
func pageParams(query string) (url.Values, string) {
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, "the fragment's parameters are malformed"
	}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "state"} {
		if q.Has(k) {
			return nil, "SHOPLINE's page takes appKey, responseType, scope, redirectUri and customField, not " + k
		}
	}
	appKey, redirectURI := q.Get("appKey"), q.Get("redirectUri")
	if appKey == "" || redirectURI == "" || q.Get("responseType") != "code" {
		return nil, "appKey, redirectUri and responseType=code are required"
	}
	iq := url.Values{"client_id": {appKey}, "redirect_uri": {redirectURI}, "response_type": {"code"}}
	if q.Has("scope") {
		iq.Set("scope", q.Get("scope"))
	}
	if cf := q.Get("customField"); cf != "" {
		iq.Set("state", cf)
	}
	return iq, ""
}

// callback turns the inner Server's redirect to the app into SHOPLINE's:
// code, handle, appkey, timestamp, customField and a sign over them for an
// approval; error, error_description and customField (unsigned) for a
// refusal. redirectURI is the one the app gave, which token/create passes
// on with the code.
func (s *Simulator) callback(redirect *url.URL, appKey, redirectURI string) *url.URL {
	rq := redirect.Query()
	out := url.Values{}
	if code := rq.Get("code"); code != "" {
		s.mu.Lock()
		if len(s.codes) > 10000 {
			clear(s.codes)
		}
		s.codes[code] = redirectURI
		secret := s.secrets[appKey]
		s.mu.Unlock()
		out.Set("code", code)
		out.Set("handle", s.handle)
		out.Set("appkey", appKey)
		out.Set("timestamp", strconv.FormatInt(s.now().UnixMilli(), 10))
		if st := rq.Get("state"); st != "" {
			out.Set("customField", st)
		}
		out.Set("sign", simSignQuery(secret, out))
	} else {
		for _, k := range []string{"error", "error_description"} {
			if v := rq.Get(k); v != "" {
				out.Set(k, v)
			}
		}
		if st := rq.Get("state"); st != "" {
			out.Set("customField", st)
		}
	}
	r := *redirect
	r.RawQuery = out.Encode()
	return &r
}

// authorizeRoutePath is the page's fragment route, the simulator's literal.
const authorizeRoutePath = "/oauth/authorize"

// The simulator's own pages behind SHOPLINE's authorization page, under
// simAuthorizePath: the consent form (the page's script sends the browser
// there with the fragment's parameters), and the form's decision. They are
// not SHOPLINE's: its page is a browser application whose requests are not
// documented.
const (
	simConsentPage  = "consent"
	simDecisionPath = "authorize" // the inner Server's form posts to "authorize", relative to the consent page
)

// pageApp stands for SHOPLINE's authorization page, a browser application:
// its script reads the parameters after the fragment #/oauth/authorize?…
// (which never reach a server) and opens the simulator's consent form with
// them. A client without JavaScript does what the script does.
const pageApp = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SHOPLINE authorization · simulator</title></head>
<body><h1>SHOPLINE authorization</h1>
<p id="m">This page reads its parameters after the fragment (#/oauth/authorize?appKey=…) and opens the consent form
(consent?appKey=… beside this page) with them.</p>
<script>
(function () {
  var h = location.hash, i = h.indexOf("?");
  if (i > 0 && h.slice(1, i) === "/oauth/authorize") {
    location.replace("consent?" + h.slice(i + 1));
  } else {
    document.getElementById("m").textContent = "No authorization request after the fragment #/oauth/authorize?…";
  }
})();
</script>
</body></html>
`

// serveConsent shows the inner Server's consent form for the parameters of
// SHOPLINE's page, or an error page when they are not SHOPLINE's.
func (s *Simulator) serveConsent(w http.ResponseWriter, r *http.Request) {
	iq, desc := pageParams(r.URL.RawQuery)
	if desc != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "SHOPLINE simulator: "+desc+"\n")
		return
	}
	in := r.Clone(r.Context())
	in.URL.Path, in.URL.RawPath, in.URL.RawQuery = simulator.AuthorizePath, "", iq.Encode()
	in.RequestURI = in.URL.RequestURI()
	s.inner.ServeHTTP(w, in)
}

// serveDecision passes the consent form's decision to the inner Server and
// turns its redirect to the app into SHOPLINE's callback.
func (s *Simulator) serveDecision(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	form, perr := url.ParseQuery(string(body))
	if err != nil || len(body) > 64<<10 || perr != nil {
		http.Error(w, "SHOPLINE simulator: the form is malformed", http.StatusBadRequest)
		return
	}
	in := r.Clone(r.Context())
	in.URL.Path, in.URL.RawPath = simulator.AuthorizePath, ""
	in.RequestURI = in.URL.RequestURI()
	in.Body, in.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	rec := httptest.NewRecorder()
	s.inner.ServeHTTP(rec, in)
	res := rec.Result()
	if loc, err := url.Parse(res.Header.Get("Location")); err == nil && loc.IsAbs() && (loc.Query().Has("code") || loc.Query().Has("error")) {
		res.Header.Set("Location", s.callback(loc, form.Get("client_id"), form.Get("redirect_uri")).String())
	}
	copyResponse(w, res, rec.Body.Bytes())
}

// ServeHTTP serves the simulated store.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch path := r.URL.Path; {
	case strings.HasSuffix(path, simAuthorizePath):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, pageApp)
	case strings.HasSuffix(path, simAuthorizePath+simConsentPage) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.serveConsent(w, r)
	case strings.HasSuffix(path, simAuthorizePath+simDecisionPath) && r.Method == http.MethodPost:
		s.serveDecision(w, r)
	case strings.HasSuffix(path, simCreatePath):
		s.serveToken(w, r, "authorization_code")
	case strings.HasSuffix(path, simRefreshPath):
		s.serveToken(w, r, "refresh_token")
	case strings.Contains(path, simAPIPrefix):
		in := r.Clone(r.Context())
		_, rest, _ := strings.Cut(path, simAPIPrefix)
		in.URL.Path = simulator.APIBasePath + rest
		in.URL.RawPath = ""
		s.inner.ServeHTTP(w, in)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
	}
}

// envelope writes SHOPLINE's answer envelope.
func envelope(w http.ResponseWriter, status int, i18n, msg string, data any) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]any{"code": status, "i18nCode": i18n, "message": msg, "data": data})
}

// serveToken serves token/create (grant authorization_code) and
// token/refresh (grant refresh_token).
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request, grant string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		envelope(w, http.StatusMethodNotAllowed, "SIMULATOR_METHOD_NOT_ALLOWED", "POST only", nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil || len(body) > 64<<10 {
		envelope(w, http.StatusBadRequest, "SIMULATOR_BAD_REQUEST", "the body could not be read or is larger than 64 KiB", nil)
		return
	}
	appKey, ts, sign := r.Header.Get("appkey"), r.Header.Get("timestamp"), r.Header.Get("sign")
	s.mu.Lock()
	secret, known := s.secrets[appKey]
	s.mu.Unlock()
	refused := ""
	switch ms, tsErr := strconv.ParseInt(ts, 10, 64); {
	case appKey == "" || ts == "" || sign == "":
		refused = "the appkey, timestamp and sign headers are required"
	case !known:
		refused = "unknown appkey"
	case tsErr != nil:
		refused = "the timestamp header is not Unix milliseconds"
	case s.now().Sub(time.UnixMilli(ms)).Abs() > simSkew:
		refused = "the timestamp is more than 10 minutes away from SHOPLINE's clock"
	case !hmacEqual(sign, simSign(secret, string(body)+ts)):
		refused = "the sign is not HMAC-SHA256(app secret, body + timestamp)"
	}
	inner := url.Values{"grant_type": {grant}, "client_id": {appKey}, "client_secret": {secret}}
	if refused != "" {
		// The inner Server refuses the client, counts the request and
		// plays any fault queued for it.
		inner.Set("client_secret", "")
		inner.Set("client_id", "simulator-refused-"+randomHex(8))
	}
	badBody := ""
	if refused == "" {
		switch grant {
		case "authorization_code":
			var p map[string]any
			code := ""
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" || json.Unmarshal(body, &p) != nil {
				badBody = "the body must be the JSON object {\"code\": …} as application/json"
			} else if code, _ = p["code"].(string); code == "" || len(p) != 1 {
				badBody = "the body must be the JSON object {\"code\": …} and nothing else"
			}
			s.mu.Lock()
			ru := s.codes[code]
			s.mu.Unlock()
			inner.Set("code", code)
			inner.Set("redirect_uri", ru)
		case "refresh_token":
			if len(body) != 0 {
				badBody = "token/refresh takes no body"
			}
			s.mu.Lock()
			rt := s.grants[appKey]
			s.mu.Unlock()
			if rt == "" {
				rt = "simulator-no-grant"
			}
			inner.Set("refresh_token", rt)
		}
		if badBody != "" {
			inner.Set("grant_type", "simulator_bad_request")
		}
	}
	in := r.Clone(r.Context())
	ib, _ := json.Marshal(flat(inner))
	in.URL.Path = simulator.TokenPath
	in.URL.RawPath = ""
	in.Body = io.NopCloser(bytes.NewReader(ib))
	in.ContentLength = int64(len(ib))
	in.Header = http.Header{"Content-Type": {"application/json"}}
	rec := httptest.NewRecorder()
	s.inner.ServeHTTP(rec, in) // a dropped answer panics with http.ErrAbortHandler, as it should
	res := rec.Result()
	out := rec.Body.Bytes()
	m, isObject := decodeObject(out)
	oauthErr, _ := m["error"].(string)
	switch {
	case isObject && res.StatusCode == http.StatusOK && m["error"] == nil:
		s.answer(w, res, m, out, appKey)
	case isObject && (res.StatusCode == http.StatusBadRequest || res.StatusCode == http.StatusUnauthorized) && oauthErr != "":
		switch {
		case refused != "":
			envelope(w, http.StatusUnauthorized, "SIMULATOR_SIGN_REFUSED", refused, nil)
		case badBody != "":
			envelope(w, http.StatusBadRequest, "SIMULATOR_BAD_REQUEST", badBody, nil)
		case oauthErr == "invalid_client":
			envelope(w, http.StatusUnauthorized, "SIMULATOR_SIGN_REFUSED", "the app is not known", nil)
		case grant == "authorization_code":
			envelope(w, http.StatusBadRequest, "SIMULATOR_CODE_REFUSED", "the code is invalid, expired or used", nil)
		default:
			envelope(w, http.StatusBadRequest, "SIMULATOR_AUTHORIZATION_REFUSED", "the app is not authorized on this store", nil)
		}
	default: // a fault's answer, verbatim
		copyResponse(w, res, out)
	}
}

// answer rewrites the inner Server's successful answer into SHOPLINE's
// envelope, keeping its refresh token as the app's grant on the store.
func (s *Simulator) answer(w http.ResponseWriter, res *http.Response, m map[string]any, raw []byte, appKey string) {
	if rt, _ := m["refresh_token"].(string); rt != "" {
		s.mu.Lock()
		s.grants[appKey] = rt
		s.mu.Unlock()
	}
	data := map[string]any{}
	for k, v := range m {
		switch k {
		case "access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope":
		default:
			data[k] = v // a fault's Set
		}
	}
	if v, ok := m["access_token"]; ok {
		data["accessToken"] = v
	}
	if tt, _ := m["token_type"].(string); tt != "Bearer" {
		data["tokenType"] = m["token_type"] // a fault's TokenType
	}
	ei, eok := m["expires_in"].(json.Number)
	ca, cok := m["created_at"].(json.Number)
	if eok && cok {
		secs, _ := ei.Int64()
		created, _ := ca.Int64()
		data["expireTime"] = time.Unix(created+secs, 0).UTC().Format(simExpireLayout)
	}
	if v, ok := m["scope"]; ok {
		data["scope"] = v
	}
	b, _ := json.Marshal(map[string]any{"code": 200, "i18nCode": "SUCCESS", "message": "ok", "data": data})
	b = append(b, raw[objectEnd(raw):]...) // a fault's PadBody
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(res.StatusCode)
	w.Write(b)
}

func flat(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

func decodeObject(b []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil || m == nil {
		return nil, false
	}
	return m, true
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

func copyResponse(w http.ResponseWriter, res *http.Response, body []byte) {
	for k, v := range res.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(res.StatusCode)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// simSign is the simulator's own HMAC-SHA256 of source in hex, not the
// driver's Sign: a driver that signs the wrong source fails against it.
func simSign(secret, source string) string {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, source)
	return hex.EncodeToString(m.Sum(nil))
}

// simSignQuery signs a redirect as SHOPLINE signs a GET: name=value of
// every parameter but sign, sorted by name, joined by "&".
func simSignQuery(secret string, q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + q.Get(k)
	}
	return simSign(secret, strings.Join(parts, "&"))
}

func hmacEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(a)), []byte(b)) == 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
