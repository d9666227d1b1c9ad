package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/connector-go/connector/driver"
)

// provider is a profile made a driver. Every method is the profile read
// as data through the driver package's helpers: there is no second
// engine.
type provider struct {
	p    *Profile
	spec *driver.Spec
}

// revoker is a provider whose profile describes a revocation request.
// (A separate type, because the engine reads a driver.Revoker as "can
// revoke".)
type revoker struct{ *provider }

var (
	_ driver.Provider  = (*provider)(nil)
	_ driver.Refresher = (*provider)(nil)
	_ driver.Simulated = (*provider)(nil)
	_ APIAuthorizer    = (*provider)(nil)
	_ Exchanger        = (*provider)(nil)
	_ Prober           = (*provider)(nil)
	_ driver.Revoker   = revoker{}
)

// APIAuthorizer, Exchanger and Prober are the driver package's hooks,
// which the drivers of this package implement.
type (
	APIAuthorizer = driver.APIAuthorizer
	Exchanger     = driver.Exchanger
	Prober        = driver.Prober
)

// Driver returns the profile as a driver.Provider: the same contract as
// a Go driver, registered and run by the same engine. It implements
// driver.Refresher and driver.Simulated, driver.Revoker when the profile
// describes a revocation request, and APIAuthorizer, Exchanger and Prober.
// Bind required properties first (Missing lists them): their placeholders
// stay in the endpoints otherwise, and the engine refuses those URLs.
func (p *Profile) Driver() driver.Provider {
	pr := &provider{p: p, spec: p.Spec()}
	if p.Revoke != nil {
		return revoker{pr}
	}
	return pr
}

// FromDriver returns the profile behind a driver that Profile.Driver
// made, or nil for any other driver (a Go driver). connector.Lookup
// returns such drivers for the catalog's profiles; the CLI tells the two
// kinds of provider apart with it.
func FromDriver(d driver.Provider) *Profile {
	if pd, ok := d.(interface{ source() *Profile }); ok {
		return pd.source()
	}
	return nil
}

// source is the profile the driver reads.
func (pr *provider) source() *Profile { return pr.p }

// Spec returns the profile as a driver.Spec, with bound properties
// filled in.
func (p *Profile) Spec() *driver.Spec {
	ep := func(t string) string {
		s, _ := p.expand(t, nil)
		return s
	}
	s := &driver.Spec{
		Name:        p.Name,
		DisplayName: p.DisplayName,
		DocsURL:     p.Docs,
		Endpoint: driver.Endpoint{
			AuthURL:      ep(p.Endpoints.Authorize),
			TokenURL:     ep(p.Endpoints.Token),
			RefreshURL:   ep(p.Endpoints.Refresh),
			RevokeURL:    ep(p.Endpoints.Revoke),
			TokenInfoURL: ep(p.Endpoints.TokenInfo),
			APIBaseURL:   ep(p.Endpoints.API),
		},
		Token:                           driver.Request{Format: bodyFormat(p.Token.Format), Auth: authStyle(p.Token.ClientAuth)},
		RefreshSendsRedirectURI:         p.Token.RefreshRedirectURI,
		ScopeSeparator:                  p.Authorize.ScopeSeparator,
		DefaultScopes:                   slices.Clone(p.Scopes.Default),
		DefaultLifetime:                 p.dur.lifetime,
		CodeLifetime:                    p.dur.code,
		RefreshTokenLifetimeAfterExpiry: p.dur.refreshAfterExpiry,
		RotatesRefreshTokens:            p.Answer.Refresh.Rotates,
		RefreshReplaySafe:               p.Answer.Refresh.ReplaySafe,
		RateLimitHeaders:                slices.Clone(p.API.RateLimitHeaders),
	}
	if p.Scopes.Closed {
		s.Scopes = slices.Clone(p.Scopes.Known)
	}
	if r := p.Revoke; r != nil {
		s.Revoke = driver.Request{Format: bodyFormat(r.Format), Auth: authStyle(r.ClientAuth)}
	}
	if len(p.Authorize.Params) > 0 {
		s.AuthParams = url.Values{}
		vals, _ := p.expandMap(p.Authorize.Params, nil)
		for k, v := range vals {
			s.AuthParams.Set(k, v)
		}
	}
	if len(p.API.Headers) > 0 {
		s.APIHeaders = http.Header{}
		vals, _ := p.expandMap(p.API.Headers, nil)
		for k, v := range vals {
			s.APIHeaders.Set(k, v)
		}
	}
	return s
}

func bodyFormat(f string) driver.BodyFormat {
	if f == formatJSON {
		return driver.JSON
	}
	return driver.Form // multipart is a form body too
}

func authStyle(a string) driver.AuthStyle {
	if a == authBasic {
		return driver.Basic
	}
	return driver.InBody
}

// Spec returns the profile's description; always the same pointer.
func (pr *provider) Spec() *driver.Spec { return pr.spec }

// ParseToken normalises a token answer as the profile describes it, with
// driver.ParseStandardToken doing the work: a Doorkeeper-style answer is
// read as it is, any other is first rewritten into Doorkeeper's fields
// (the access token's path, a token_type that is absent, an expires_in
// from an ISO date, a scope list with another separator), so that errors,
// limits and validation are the standard parser's. The account field is
// lifted out of Extra into AccountID (matched against account.pattern
// when there is one) and must pass driver.ValidateAccount.
func (pr *provider) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	return pr.parseAnswer(r)
}

// Identify returns the account: the token's own (from the answer), or
// the field account.api names in the answer of GET {API}account.api.path.
func (pr *provider) Identify(ctx context.Context, env *driver.Env, tok *driver.Token) (string, error) {
	p := pr.p
	if tok.AccountID != "" {
		return tok.AccountID, nil
	}
	api := p.Account.API
	if api == nil {
		return "", &driver.Error{Code: driver.BadResponse, Op: "identify", Provider: p.Name,
			Msg: "the token answer carries no " + p.Account.Field + ", which names the account"}
	}
	base := env.Config.Endpoint.APIBaseURL
	if base == "" {
		base = pr.spec.Endpoint.APIBaseURL
	}
	path, _ := p.expand(api.Path, nil)
	var doc any
	if err := pr.getJSON(ctx, env, strings.TrimRight(base, "/")+"/"+path, path, tok, &doc); err != nil {
		var e *driver.Error
		if errors.As(err, &e) && e.Status == http.StatusForbidden {
			e.Msg = "API refused " + path + ": the grant may lack the scope it needs (scopes.default should request it)"
		}
		return "", err
	}
	v, _ := lookup(doc, api.Field)
	s := scalarString(v)
	if s == "" {
		return "", &driver.Error{Code: driver.BadResponse, Op: "identify", Provider: p.Name, Status: http.StatusOK,
			Msg: path + " answered without " + api.Field}
	}
	if err := driver.ValidateAccount(s); err != nil {
		return "", refused(err, p.Name, "identify", http.StatusOK, "")
	}
	return s, nil
}

// getJSON is driver.GetJSON with the token placed as the profile says.
func (pr *provider) getJSON(ctx context.Context, env *driver.Env, u, what string, tok *driver.Token, v any) error {
	if pr.bearer() {
		return driver.GetJSON(ctx, env, u, what, tok, v)
	}
	fail := func(code driver.Code, msg string) *driver.Error {
		return &driver.Error{Code: code, Op: "identify", Provider: pr.p.Name, Msg: msg}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail(driver.InvalidConfig, "bad API base URL")
	}
	for k, vs := range pr.spec.APIHeaders {
		req.Header[k] = slices.Clone(vs)
	}
	pr.AuthorizeAPIRequest(req, tok)
	req.Header.Set("Accept", "application/json")
	resp, err := env.HTTP.Do(req)
	if err != nil {
		e := fail(driver.Unavailable, "API unreachable")
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		e.Err = err
		return e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, driver.MaxResponseBytes))
	e := fail(driver.ProviderError, "")
	e.Status, e.ContentType, e.Excerpt = resp.StatusCode, resp.Header.Get("Content-Type"), driver.Excerpt(body)
	switch {
	case err != nil:
		e.Code, e.Msg = driver.Unavailable, what+" answer cut off"
		return e
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e.Code, e.Msg = driver.Unavailable, "API unavailable for "+what
		return e
	case resp.StatusCode == http.StatusUnauthorized:
		e.Msg = "API refused the access token for " + what
		return e
	case resp.StatusCode != http.StatusOK:
		e.Msg = what + " answered with an error status"
		return e
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		e.Code, e.Msg = driver.BadResponse, what+" is not the expected JSON"
		return e
	}
	return nil
}

// bearer reports whether the API takes "Authorization: Bearer <token>".
func (pr *provider) bearer() bool {
	return strings.EqualFold(pr.p.API.TokenHeader, "Authorization") && pr.p.API.TokenScheme == "Bearer"
}

// AuthorizeAPIRequest sets the access token on req as the profile's api
// section says.
func (pr *provider) AuthorizeAPIRequest(req *http.Request, tok *driver.Token) {
	v := tok.AccessToken
	if s := pr.p.API.TokenScheme; s != "none" {
		v = s + " " + v
	}
	req.Header.Set(pr.p.API.TokenHeader, v)
}

// ProbePath returns api.probe with {account} and the properties filled in.
func (pr *provider) ProbePath(account string) string {
	s, _ := pr.p.expand(pr.p.API.Probe, map[string]string{PlaceholderAccount: url.PathEscape(account)})
	return s
}

// NewSimulator returns a fresh simulator of the profile (see
// Profile.Simulator), bound with the properties' examples where they are
// not bound: the *simulator.Server itself when the profile's wire format
// is Doorkeeper's (Simulator.Native), so that conformance.TestProvider
// and the CLI take it as they take a Go driver's, else the *Simulator.
func (pr *provider) NewSimulator() http.Handler {
	s := pr.p.Simulator()
	if s.Native() {
		return s.Server()
	}
	return s
}

// Exchange posts the authorization_code grant: code, redirect_uri, the
// profile's exchange_params and the callback parameters it echoes, in its
// body format, with the client authenticated as it says.
func (pr *provider) Exchange(ctx context.Context, env *driver.Env, callback url.Values) (*driver.Token, error) {
	p := pr.p
	params := url.Values{"grant_type": {"authorization_code"}, "code": {callback.Get("code")}, "redirect_uri": {env.Config.RedirectURL}}
	extra, _ := p.expandMap(p.Token.ExchangeParams, map[string]string{PlaceholderClientID: env.Config.ClientID})
	for k, v := range extra {
		params.Set(k, v)
	}
	for _, k := range p.Token.ExchangeFromCallback {
		if v := callback.Get(k); v != "" {
			params.Set(k, v)
		}
	}
	req, err := pr.tokenRequest(ctx, env.Config.Endpoint.TokenURL, env.Config, params)
	if err != nil {
		return nil, err
	}
	r, err := driver.DoToken(env, req, "authorization_code", env.Config.Scopes, nil)
	if err != nil {
		return nil, err
	}
	return pr.ParseToken(r)
}

// Refresh posts the refresh_token grant as driver.StandardRefresh does,
// with the profile's refresh_params and body format. Without a refresh
// token the connection needs a new authorization.
func (pr *provider) Refresh(ctx context.Context, env *driver.Env, tok *driver.Token) (*driver.Token, error) {
	p := pr.p
	if tok.RefreshToken == "" {
		msg := "no refresh token is stored"
		if !p.Answer.Refresh.Issued {
			msg = p.DisplayName + " issues no refresh tokens: authorize again"
		}
		return nil, &driver.Error{Code: driver.ReauthRequired, Op: "refresh", Provider: p.Name, Msg: msg}
	}
	params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	if p.Token.RefreshRedirectURI {
		params.Set("redirect_uri", env.Config.RedirectURL)
	}
	extra, _ := p.expandMap(p.Token.RefreshParams, map[string]string{PlaceholderClientID: env.Config.ClientID})
	for k, v := range extra {
		params.Set(k, v)
	}
	endpoint := env.Config.Endpoint.RefreshURL
	if endpoint == "" {
		endpoint = env.Config.Endpoint.TokenURL
	}
	req, err := pr.tokenRequest(ctx, endpoint, env.Config, params)
	if err != nil {
		return nil, err
	}
	r, err := driver.DoToken(env, req, "refresh_token", tok.Scopes, tok)
	if err != nil {
		return nil, err
	}
	nt, err := pr.ParseToken(r)
	if err != nil {
		return nil, err
	}
	return driver.InheritFrom(nt, tok), nil
}

// tokenRequest builds a token request in the profile's format: form and
// JSON through driver.NewTokenRequest, multipart here.
func (pr *provider) tokenRequest(ctx context.Context, endpoint string, cfg driver.Config, params url.Values) (*http.Request, error) {
	if pr.p.Token.Format != formatMultipart {
		return driver.NewTokenRequest(ctx, endpoint, pr.spec.Token, cfg, params)
	}
	if pr.spec.Token.Auth == driver.InBody {
		params = maps.Clone(params)
		params.Set("client_id", cfg.ClientID)
		params.Set("client_secret", cfg.ClientSecret)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if err := w.WriteField(k, params.Get(k)); err != nil {
			return nil, &driver.Error{Code: driver.InvalidConfig, Op: "token request", Provider: pr.p.Name, Msg: "cannot encode body"}
		}
	}
	if err := w.Close(); err != nil {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "token request", Provider: pr.p.Name, Msg: "cannot encode body"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "token request", Provider: pr.p.Name, Msg: "bad endpoint URL"}
	}
	req.Header["Content-Type"] = []string{w.FormDataContentType()}
	req.Header["Accept"] = []string{"application/json"}
	if pr.spec.Token.Auth == driver.Basic {
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	}
	return req, nil
}

// standardRevoke reports whether the profile's revocation is RFC 7009's
// as driver.StandardRevoke sends it.
func (p *Profile) standardRevoke() bool {
	r := p.Revoke
	return r != nil && r.ClientAuth != authNone && r.Token == "auto" && r.TokenParam == "token" && len(r.Params) == 0 && len(r.Headers) == 0 && r.Revokes == "token"
}

// Revoke revokes tok as the profile's revoke section says:
// driver.StandardRevoke for RFC 7009's request, else the token under
// token_param with the section's parameters and headers. Any 2xx is
// success.
func (r revoker) Revoke(ctx context.Context, env *driver.Env, tok *driver.Token) error {
	p := r.p
	if p.standardRevoke() {
		return driver.StandardRevoke(ctx, env, tok)
	}
	rv := p.Revoke
	fail := func(code driver.Code, msg string) *driver.Error {
		return &driver.Error{Code: code, Op: "revoke", Provider: p.Name, Msg: msg}
	}
	endpoint := env.Config.Endpoint.RevokeURL
	if endpoint == "" {
		return fail(driver.Unsupported, "the provider has no revocation endpoint")
	}
	t := tok.RefreshToken
	if rv.Token == "access" || t == "" {
		t = tok.AccessToken
	}
	vars := map[string]string{PlaceholderClientID: env.Config.ClientID, PlaceholderClientSecret: env.Config.ClientSecret}
	params := url.Values{rv.TokenParam: {t}}
	extra, _ := p.expandMap(rv.Params, vars)
	for k, v := range extra {
		params.Set(k, v)
	}
	req, err := r.revokeRequest(ctx, endpoint, env.Config, params)
	if err != nil {
		return err
	}
	headers, _ := p.expandMap(rv.Headers, vars)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		e := fail(driver.Unavailable, "provider unreachable")
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		e.Err = err
		return e
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := fail(driver.ProviderError, "revocation refused")
	e.Status, e.ContentType, e.Excerpt = resp.StatusCode, resp.Header.Get("Content-Type"), driver.Excerpt(body)
	if m, ok := decodeObject(body); ok {
		if s, _ := m["error"].(string); s != "" {
			e.Code, e.OAuthError = driver.ClassifyOAuthError(s), driver.Excerpt([]byte(s))
			if d, _ := m["error_description"].(string); d != "" {
				e.OAuthDescription = driver.Excerpt([]byte(d))
			}
		}
	}
	return e
}

// revokeRequest encodes a revocation without the engine adding client
// credentials to its body when client_auth is none.
func (r revoker) revokeRequest(ctx context.Context, endpoint string, cfg driver.Config, params url.Values) (*http.Request, error) {
	spec := r.spec.Revoke
	if r.p.Revoke.ClientAuth != authNone {
		return driver.NewTokenRequest(ctx, endpoint, spec, cfg, params)
	}
	var body []byte
	ctype := "application/x-www-form-urlencoded"
	if spec.Format == driver.JSON {
		m := make(map[string]string, len(params))
		for k := range params {
			m[k] = params.Get(k)
		}
		body, _ = json.Marshal(m)
		ctype = "application/json"
	} else {
		body = []byte(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "revoke", Provider: r.p.Name, Msg: "bad endpoint URL"}
	}
	req.Header["Content-Type"] = []string{ctype}
	req.Header["Accept"] = []string{"application/json"}
	return req, nil
}

// Hooks names the driver hooks beyond the standard requests that the
// profile's driver relies on (driver.Exchanger, driver.APIAuthorizer), with
// the profile fields that call for them; empty when the standard requests
// do. The engine calls both.
func (p *Profile) Hooks() []string {
	var out []string
	var why []string
	if p.Token.Format == formatMultipart {
		why = append(why, "a multipart code exchange")
	}
	if len(p.Token.ExchangeParams) > 0 {
		why = append(why, "token.exchange_params")
	}
	if len(p.Token.ExchangeFromCallback) > 0 {
		why = append(why, "token.exchange_from_callback")
	}
	if len(why) > 0 {
		out = append(out, "Exchanger (for "+strings.Join(why, ", ")+")")
	}
	if !strings.EqualFold(p.API.TokenHeader, "Authorization") || p.API.TokenScheme != "Bearer" {
		out = append(out, "APIAuthorizer (for api.token_header "+p.API.TokenHeader+" / token_scheme "+p.API.TokenScheme+")")
	}
	return out
}
