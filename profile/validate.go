package profile

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/connector-go/connector/driver"
)

var (
	nameRe     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	propNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	jsonPathRe = regexp.MustCompile(`^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$`)
	headerRe   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	paramRe    = regexp.MustCompile(`^[A-Za-z0-9_.\-\[\]]{1,64}$`)
)

// fieldErr returns the error for the field at path, on its line (or its
// nearest parent's, for a missing field).
func (p *Profile) fieldErr(path, msg string) error {
	line := 0
	for q := path; q != ""; q = parentPath(q) {
		if l, ok := p.lines[q]; ok {
			line = l
			break
		}
	}
	return invalid(&FieldError{File: p.file, Line: line, Field: path, Msg: msg})
}

// parentPath drops the last element of a field path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// reserved parameters are those the engine sets itself.
var (
	reservedAuthorize = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"}
	reservedToken     = []string{"grant_type", "code", "redirect_uri", "refresh_token", "client_id", "client_secret", "code_verifier"}
	reservedProps     = []string{PlaceholderClientID, PlaceholderClientSecret, PlaceholderAccount, PlaceholderVersion}
)

// validate checks every field and compiles what the driver needs. It
// applies the documented defaults first.
func (p *Profile) validate() error {
	p.defaults()
	checks := []func() error{p.checkHead, p.checkProperties, p.checkEndpoints, p.checkAuthorize, p.checkToken,
		p.checkAnswer, p.checkAccount, p.checkAPI, p.checkScopes, p.checkRevoke, p.checkSimulator, p.checkSources}
	for _, c := range checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

func (p *Profile) defaults() {
	if p.Authorize.ScopeSeparator == "" {
		p.Authorize.ScopeSeparator = " "
	}
	if p.Answer.AccessToken == "" {
		p.Answer.AccessToken = "access_token"
	}
	if p.Answer.Refresh.Issued && p.Answer.RefreshToken == "" {
		p.Answer.RefreshToken = "refresh_token"
	}
	if p.Answer.ScopeSeparator == "" {
		p.Answer.ScopeSeparator = p.Authorize.ScopeSeparator
	}
	if p.API.TokenHeader == "" {
		p.API.TokenHeader = "Authorization"
	}
	if p.API.TokenScheme == "" {
		p.API.TokenScheme = "Bearer"
	}
	if r := p.Revoke; r != nil {
		if r.Token == "" {
			r.Token = "auto"
		}
		if r.TokenParam == "" {
			r.TokenParam = "token"
		}
		if r.Revokes == "" {
			r.Revokes = "token"
		}
	}
	if p.Sample.Account == "" {
		p.Sample.Account = "sandbox"
	}
	if !strings.HasSuffix(p.Endpoints.API, "/") && p.Endpoints.API != "" {
		p.Endpoints.API += "/"
	}
}

func (p *Profile) checkHead() error {
	switch {
	case p.Name == "":
		return p.fieldErr("name", "is required")
	case !nameRe.MatchString(p.Name):
		return p.fieldErr("name", quote(p.Name)+" is not a registry name: lower-case letters, digits and '-', starting with a letter, at most 40")
	case p.DisplayName == "":
		return p.fieldErr("display_name", "is required")
	case !printable(p.DisplayName) || len(p.DisplayName) > 80:
		return p.fieldErr("display_name", "must be printable text of at most 80 bytes")
	}
	return p.checkDocURL("docs", p.Docs, true)
}

// checkDocURL checks a documentation link: an absolute https URL.
func (p *Profile) checkDocURL(field, raw string, required bool) error {
	if raw == "" {
		if required {
			return p.fieldErr(field, "is required: link the provider's documentation")
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return p.fieldErr(field, quote(raw)+" is not an https URL")
	}
	return nil
}

func (p *Profile) checkProperties() error {
	p.props = map[string]*regexp.Regexp{}
	for i, pr := range p.Properties {
		at := func(f string) string { return "properties[" + itoa(i) + "]." + f }
		switch {
		case !propNameRe.MatchString(pr.Name):
			return p.fieldErr(at("name"), quote(pr.Name)+" is not a property name: lower-case letters, digits and '_', starting with a letter")
		case slices.Contains(reservedProps, pr.Name):
			return p.fieldErr(at("name"), quote(pr.Name)+" is a built-in placeholder")
		case p.props[pr.Name] != nil:
			return p.fieldErr(at("name"), "property "+pr.Name+" is declared twice")
		case pr.Pattern == "":
			return p.fieldErr(at("pattern"), "is required: every property is declared with a pattern")
		case !strings.HasPrefix(pr.Pattern, "^") || !strings.HasSuffix(pr.Pattern, "$"):
			return p.fieldErr(at("pattern"), "must be anchored: start with ^ and end with $")
		}
		re, err := regexp.Compile(pr.Pattern)
		if err != nil {
			return p.fieldErr(at("pattern"), "is not a regular expression: "+err.Error())
		}
		p.props[pr.Name] = re
		for _, v := range []struct{ field, val string }{{"example", pr.Example}, {"default", pr.Default}} {
			if v.val == "" {
				if v.field == "example" {
					return p.fieldErr(at("example"), "is required: the simulator and the conformance suite use it")
				}
				continue
			}
			if !safeValue.MatchString(v.val) || !re.MatchString(v.val) {
				return p.fieldErr(at(v.field), quote(v.val)+" does not match the pattern, or holds a character other than letters, digits and . _ ~ -")
			}
		}
	}
	return nil
}

// checkTemplate checks that tmpl uses only the allowed placeholders: the
// profile's properties and extra.
func (p *Profile) checkTemplate(field, tmpl string, extra ...string) error {
	for _, name := range placeholders(tmpl) {
		if p.props[name] == nil && !slices.Contains(extra, name) {
			allowed := slices.Sorted(maps.Keys(p.props))
			allowed = append(allowed, extra...)
			msg := "unknown placeholder {" + name + "}"
			if len(allowed) > 0 {
				msg += " (allowed here: " + strings.Join(allowed, ", ") + ")"
			} else {
				msg += " (declare it under properties)"
			}
			return p.fieldErr(field, msg)
		}
	}
	if strings.Count(tmpl, "{") != len(placeholders(tmpl)) || strings.Count(tmpl, "}") != len(placeholders(tmpl)) {
		return p.fieldErr(field, "holds a '{' or '}' that is not part of a {placeholder}")
	}
	return nil
}

func (p *Profile) checkEndpoints() error {
	eps := []struct {
		field, val string
		required   bool
	}{
		{"endpoints.authorize", p.Endpoints.Authorize, true},
		{"endpoints.token", p.Endpoints.Token, true},
		{"endpoints.refresh", p.Endpoints.Refresh, false},
		{"endpoints.revoke", p.Endpoints.Revoke, false},
		{"endpoints.token_info", p.Endpoints.TokenInfo, false},
		{"endpoints.api", p.Endpoints.API, true},
	}
	ex := p.Example()
	for _, e := range eps {
		if e.val == "" {
			if e.required {
				return p.fieldErr(e.field, "is required")
			}
			continue
		}
		if err := p.checkTemplate(e.field, e.val, PlaceholderClientID); err != nil {
			return err
		}
		full, _ := ex.expand(e.val, map[string]string{PlaceholderClientID: "client-id"})
		if err := driver.CheckURL(e.field, full, false); err != nil {
			return p.fieldErr(e.field, strings.TrimPrefix(err.(*driver.Error).Msg, e.field+" "))
		}
		u, _ := url.Parse(full)
		if u.Scheme != "https" {
			return p.fieldErr(e.field, "must be an https URL")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return p.fieldErr(e.field, "must not carry a query or fragment: put authorize parameters under authorize.params")
		}
	}
	switch {
	case p.Endpoints.Revoke != "" && p.Revoke == nil:
		return p.fieldErr("endpoints.revoke", "is set, but the revoke section that describes its request is missing")
	case p.Endpoints.Revoke == "" && p.Revoke != nil:
		return p.fieldErr("endpoints.revoke", "is required when the revoke section is present")
	}
	return nil
}

func (p *Profile) checkAuthorize() error {
	for _, k := range slices.Sorted(maps.Keys(p.Authorize.Params)) {
		f := "authorize.params." + k
		switch {
		case !paramRe.MatchString(k):
			return p.fieldErr(f, "is not a parameter name")
		case slices.Contains(reservedAuthorize, k):
			return p.fieldErr(f, "is a parameter the engine sets itself")
		}
		if err := p.checkTemplate(f, p.Authorize.Params[k], PlaceholderClientID); err != nil {
			return err
		}
	}
	if s := p.Authorize.ScopeSeparator; len(s) > 3 || strings.IndexFunc(s, unicode.IsLetter) >= 0 || strings.IndexFunc(s, unicode.IsDigit) >= 0 {
		return p.fieldErr("authorize.scope_separator", "must be one to three characters that are not letters or digits (\" \", \",\")")
	}
	for i, c := range p.Authorize.CallbackParams {
		if !paramRe.MatchString(c) || c == "code" || c == "state" || c == "error" {
			return p.fieldErr("authorize.callback_params["+itoa(i)+"]", quote(c)+" is not a parameter name the callback may add (code, state and error are always read)")
		}
	}
	return nil
}

// The body formats and client authentications.
const (
	formatForm      = "form"
	formatJSON      = "json"
	formatMultipart = "multipart"
	authBody        = "body"
	authBasic       = "basic"
	authNone        = "none"
)

func (p *Profile) checkToken() error {
	t := &p.Token
	if !slices.Contains([]string{formatForm, formatJSON, formatMultipart}, t.Format) {
		return p.fieldErr("token.format", "must be form, json or multipart")
	}
	if !slices.Contains([]string{authBody, authBasic}, t.ClientAuth) {
		return p.fieldErr("token.client_auth", "must be body or basic")
	}
	for _, m := range []struct {
		field string
		vals  map[string]string
	}{{"token.exchange_params", t.ExchangeParams}, {"token.refresh_params", t.RefreshParams}} {
		for _, k := range slices.Sorted(maps.Keys(m.vals)) {
			f := m.field + "." + k
			switch {
			case !paramRe.MatchString(k):
				return p.fieldErr(f, "is not a parameter name")
			case slices.Contains(reservedToken, k):
				return p.fieldErr(f, "is a parameter the engine sets itself")
			}
			if err := p.checkTemplate(f, m.vals[k], PlaceholderClientID); err != nil {
				return err
			}
		}
	}
	for i, c := range t.ExchangeFromCallback {
		if !slices.Contains(p.Authorize.CallbackParams, c) {
			return p.fieldErr("token.exchange_from_callback["+itoa(i)+"]", quote(c)+" is not one of authorize.callback_params")
		}
	}
	var err error
	if p.dur.code, err = p.duration("token.code_lifetime", t.CodeLifetime); err != nil {
		return err
	}
	return nil
}

// duration parses a duration field ("600s", "1h"); empty is 0.
func (p *Profile) duration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, p.fieldErr(field, quote(s)+" is not a positive duration such as \"600s\", \"1h\" or \"4320h\"")
	}
	return d, nil
}

func (p *Profile) checkPath(field, path string, required bool) error {
	if path == "" {
		if required {
			return p.fieldErr(field, "is required")
		}
		return nil
	}
	if !jsonPathRe.MatchString(path) {
		return p.fieldErr(field, quote(path)+" is not a JSON path: keys joined by dots, such as user.id")
	}
	return nil
}

func (p *Profile) checkAnswer() error {
	a := &p.Answer
	if err := p.checkPath("answer.access_token", a.AccessToken, true); err != nil {
		return err
	}
	if a.TokenType == "" {
		return p.fieldErr("answer.token_type", `is required: token_type as the provider sends it ("bearer", "Bearer"), or "none" when the answer has none`)
	}
	if a.TokenType != "none" && !strings.EqualFold(a.TokenType, "bearer") {
		return p.fieldErr("answer.token_type", quote(a.TokenType)+" is not bearer: only bearer tokens are supported")
	}
	e := &a.Expiry
	var err error
	switch e.Format {
	case ExpirySeconds, ExpiryDate:
		if err := p.checkPath("answer.expiry.field", e.Field, true); err != nil {
			return err
		}
		if e.Lifetime == "" {
			return p.fieldErr("answer.expiry.lifetime", "is required: the documented lifetime of access tokens")
		}
		if p.dur.lifetime, err = p.duration("answer.expiry.lifetime", e.Lifetime); err != nil {
			return err
		}
	case ExpiryNever:
		if e.Field != "" || e.Lifetime != "" {
			return p.fieldErr("answer.expiry", "a token that never expires has no field and no lifetime")
		}
	case "":
		return p.fieldErr("answer.expiry.format", "is required: seconds, date or never")
	default:
		return p.fieldErr("answer.expiry.format", quote(e.Format)+" is not seconds, date or never")
	}
	if err := p.checkPath("answer.created_at", a.CreatedAt, false); err != nil {
		return err
	}
	if err := p.checkPath("answer.scope", a.Scope, false); err != nil {
		return err
	}
	r := &a.Refresh
	if r.Issued {
		if err := p.checkPath("answer.refresh_token", a.RefreshToken, true); err != nil {
			return err
		}
		if e.Format == ExpiryNever {
			return p.fieldErr("answer.refresh.issued", "a provider whose tokens never expire issues no refresh token here: set issued: false")
		}
	} else {
		switch {
		case a.RefreshToken != "":
			return p.fieldErr("answer.refresh_token", "is set, but answer.refresh.issued is false")
		case r.Rotates || r.ReplaySafe || r.LifetimeAfterExpiry != "":
			return p.fieldErr("answer.refresh", "describes refresh tokens, but issued is false")
		}
	}
	if p.dur.refreshAfterExpiry, err = p.duration("answer.refresh.lifetime_after_expiry", r.LifetimeAfterExpiry); err != nil {
		return err
	}
	for _, f := range []struct{ field, path string }{{"answer.access_token", a.AccessToken}, {"answer.refresh_token", a.RefreshToken}, {"answer.expiry.field", e.Field}, {"answer.created_at", a.CreatedAt}, {"answer.scope", a.Scope}} {
		for _, g := range []struct{ field, path string }{{"answer.access_token", a.AccessToken}, {"answer.refresh_token", a.RefreshToken}, {"answer.expiry.field", e.Field}, {"answer.created_at", a.CreatedAt}, {"answer.scope", a.Scope}} {
			if f.field < g.field && f.path != "" && f.path == g.path {
				return p.fieldErr(g.field, "names the same field as "+f.field)
			}
		}
	}
	return nil
}

func (p *Profile) checkAccount() error {
	a := &p.Account
	switch {
	case a.Field == "" && a.API == nil:
		return p.fieldErr("account", "is required: a field of the token answer, or an api call")
	case a.Field != "" && a.API != nil:
		return p.fieldErr("account", "set either field or api, not both")
	}
	if a.Field != "" {
		if err := p.checkPath("account.field", a.Field, true); err != nil {
			return err
		}
		for _, f := range []string{p.Answer.AccessToken, p.Answer.RefreshToken, p.Answer.Expiry.Field, p.Answer.CreatedAt, p.Answer.Scope} {
			if f == a.Field {
				return p.fieldErr("account.field", "names a field the answer section already uses")
			}
		}
	}
	if a.Pattern != "" {
		if a.Field == "" {
			return p.fieldErr("account.pattern", "needs account.field")
		}
		if strings.Count(a.Pattern, "{"+PlaceholderAccount+"}") != 1 || len(placeholders(a.Pattern)) != 1 {
			return p.fieldErr("account.pattern", "must hold {account} exactly once and no other placeholder")
		}
		i := strings.Index(a.Pattern, "{account}")
		p.acctRe = regexp.MustCompile("^" + regexp.QuoteMeta(a.Pattern[:i]) + `(\S+?)` + regexp.QuoteMeta(a.Pattern[i+len("{account}"):]) + "$")
	}
	if api := a.API; api != nil {
		if err := p.checkAPIPath("account.api.path", api.Path, false); err != nil {
			return err
		}
		if err := p.checkPath("account.api.field", api.Field, true); err != nil {
			return err
		}
	}
	return nil
}

// checkAPIPath checks a path under the API base.
func (p *Profile) checkAPIPath(field, path string, account bool) error {
	if path == "" {
		return p.fieldErr(field, "is required: a GET path under the API base")
	}
	u, err := url.Parse(path)
	if err != nil || u.IsAbs() || u.Host != "" || strings.HasPrefix(path, "/") || strings.Contains(path, "..") || u.Fragment != "" {
		return p.fieldErr(field, quote(path)+" is not a relative path under the API base (no leading '/', no '..')")
	}
	var extra []string
	if account {
		extra = append(extra, PlaceholderAccount)
	}
	return p.checkTemplate(field, path, extra...)
}

func (p *Profile) checkAPI() error {
	a := &p.API
	if !headerRe.MatchString(a.TokenHeader) {
		return p.fieldErr("api.token_header", "is not a header name")
	}
	if a.TokenScheme != "none" && !headerRe.MatchString(a.TokenScheme) {
		return p.fieldErr("api.token_scheme", `must be a scheme such as Bearer, or "none" for the bare token`)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Headers)) {
		f := "api.headers." + k
		if !headerRe.MatchString(k) {
			return p.fieldErr(f, "is not a header name")
		}
		if strings.EqualFold(k, a.TokenHeader) {
			return p.fieldErr(f, "is the header that carries the token")
		}
		if !printable(a.Headers[k]) {
			return p.fieldErr(f, "must be printable text")
		}
		if err := p.checkTemplate(f, a.Headers[k], PlaceholderVersion); err != nil {
			return err
		}
	}
	if a.RequireUserAgent && headerValue(a.Headers, "User-Agent") == "" {
		return p.fieldErr("api.headers", "the API requires a User-Agent, but api.headers sets none")
	}
	for i, h := range a.RateLimitHeaders {
		if !headerRe.MatchString(h) {
			return p.fieldErr("api.rate_limit_headers["+itoa(i)+"]", "is not a header name")
		}
	}
	return p.checkAPIPath("api.probe", a.Probe, true)
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (p *Profile) checkScopes() error {
	s := &p.Scopes
	seen := map[string]bool{}
	for i, sc := range s.Known {
		f := "scopes.known[" + itoa(i) + "]"
		switch {
		case sc == "" || !printable(sc) || strings.ContainsAny(sc, " \t,"):
			return p.fieldErr(f, quote(sc)+" is not a scope: printable, without spaces or commas")
		case seen[sc]:
			return p.fieldErr(f, quote(sc)+" is listed twice")
		}
		seen[sc] = true
	}
	if s.Closed && len(s.Known) == 0 {
		return p.fieldErr("scopes.closed", "a closed scope list needs scopes.known")
	}
	for i, sc := range s.Default {
		f := "scopes.default[" + itoa(i) + "]"
		if sc == "" || !printable(sc) || strings.ContainsAny(sc, " \t,") {
			return p.fieldErr(f, quote(sc)+" is not a scope")
		}
		if s.Closed && !seen[sc] {
			return p.fieldErr(f, quote(sc)+" is not in scopes.known")
		}
	}
	return nil
}

func (p *Profile) checkRevoke() error {
	r := p.Revoke
	if r == nil {
		return nil
	}
	if !slices.Contains([]string{formatForm, formatJSON}, r.Format) {
		return p.fieldErr("revoke.format", "must be form or json")
	}
	if !slices.Contains([]string{authBody, authBasic, authNone}, r.ClientAuth) {
		return p.fieldErr("revoke.client_auth", "must be body, basic or none")
	}
	if !slices.Contains([]string{"auto", "access", "refresh"}, r.Token) {
		return p.fieldErr("revoke.token", "must be auto, access or refresh")
	}
	if r.Token == "refresh" && !p.Answer.Refresh.Issued {
		return p.fieldErr("revoke.token", "is refresh, but the provider issues no refresh tokens")
	}
	if !slices.Contains([]string{"token", "grant"}, r.Revokes) {
		return p.fieldErr("revoke.revokes", "must be token or grant")
	}
	if !paramRe.MatchString(r.TokenParam) {
		return p.fieldErr("revoke.token_param", "is not a parameter name")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		f := "revoke.params." + k
		if !paramRe.MatchString(k) || k == r.TokenParam {
			return p.fieldErr(f, "is not a parameter name, or is the token's")
		}
		if r.ClientAuth != authNone && (k == "client_id" || k == "client_secret") {
			return p.fieldErr(f, "the client authenticates as client_auth says; use client_auth: none to send credentials yourself")
		}
		if err := p.checkTemplate(f, r.Params[k], PlaceholderClientID, PlaceholderClientSecret); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
		f := "revoke.headers." + k
		if !headerRe.MatchString(k) || strings.EqualFold(k, "Content-Type") || strings.EqualFold(k, "Content-Length") {
			return p.fieldErr(f, "is not a header name the profile may set")
		}
		if r.ClientAuth == authBasic && strings.EqualFold(k, "Authorization") {
			return p.fieldErr(f, "client_auth basic already sets Authorization")
		}
		if err := p.checkTemplate(f, r.Headers[k], PlaceholderClientID, PlaceholderClientSecret); err != nil {
			return err
		}
	}
	return nil
}

func (p *Profile) checkSimulator() error {
	acc := p.Sample.Account
	if err := driver.ValidateAccount(acc); err != nil {
		return p.fieldErr("simulator.account", strings.TrimPrefix(err.(*driver.Error).Msg, "account id "))
	}
	if strings.ContainsAny(acc, "/?#%") {
		return p.fieldErr("simulator.account", "must not hold / ? # or %: the simulator puts it in API paths")
	}
	return nil
}

// factPaths are the fields that state a fact about the provider; each
// must be covered by a source when it is set (the first group always).
var (
	alwaysFacts = []string{"endpoints.authorize", "endpoints.token", "endpoints.api", "token.format", "token.client_auth",
		"token.refresh_redirect_uri", "answer.token_type", "answer.expiry", "answer.refresh", "account", "api.token_header", "api.probe"}
	allFacts = append(slices.Clone(alwaysFacts), "properties", "endpoints.refresh", "endpoints.revoke", "endpoints.token_info",
		"authorize.params", "authorize.scope_separator", "authorize.callback_params", "token.exchange_params", "token.refresh_params",
		"token.exchange_from_callback", "token.code_lifetime", "answer.access_token", "answer.refresh_token", "answer.created_at",
		"answer.scope", "answer.scope_separator", "api.token_scheme", "api.headers", "api.require_user_agent",
		"api.rate_limit_headers", "scopes.known", "scopes.closed", "scopes.default", "revoke")
)

// setFacts returns the fact paths p states.
func (p *Profile) setFacts() []string {
	out := slices.Clone(alwaysFacts)
	add := func(ok bool, f string) {
		if ok {
			out = append(out, f)
		}
	}
	add(len(p.Properties) > 0, "properties")
	add(p.Endpoints.Refresh != "", "endpoints.refresh")
	add(p.Endpoints.Revoke != "", "endpoints.revoke")
	add(p.Endpoints.TokenInfo != "", "endpoints.token_info")
	add(len(p.Authorize.Params) > 0, "authorize.params")
	add(p.Authorize.ScopeSeparator != " ", "authorize.scope_separator")
	add(len(p.Authorize.CallbackParams) > 0, "authorize.callback_params")
	add(len(p.Token.ExchangeParams) > 0, "token.exchange_params")
	add(len(p.Token.RefreshParams) > 0, "token.refresh_params")
	add(len(p.Token.ExchangeFromCallback) > 0, "token.exchange_from_callback")
	add(p.Token.CodeLifetime != "", "token.code_lifetime")
	add(p.Answer.AccessToken != "access_token", "answer.access_token")
	add(p.Answer.RefreshToken != "" && p.Answer.RefreshToken != "refresh_token", "answer.refresh_token")
	add(p.Answer.CreatedAt != "", "answer.created_at")
	add(p.Answer.Scope != "", "answer.scope")
	add(p.Answer.ScopeSeparator != p.Authorize.ScopeSeparator, "answer.scope_separator")
	add(p.API.TokenScheme != "Bearer", "api.token_scheme")
	add(len(p.API.Headers) > 0, "api.headers")
	add(p.API.RequireUserAgent, "api.require_user_agent")
	add(len(p.API.RateLimitHeaders) > 0, "api.rate_limit_headers")
	add(len(p.Scopes.Known) > 0, "scopes.known")
	add(len(p.Scopes.Default) > 0, "scopes.default")
	add(p.Revoke != nil, "revoke")
	return out
}

// covers reports whether the source fact s covers the field path f.
func covers(s, f string) bool {
	return s == f || strings.HasPrefix(f, s+".")
}

func (p *Profile) checkSources() error {
	if len(p.Sources) == 0 {
		return p.fieldErr("sources", "is required: cite the provider's documentation for every fact")
	}
	for i, s := range p.Sources {
		at := "sources[" + itoa(i) + "]"
		if len(s.Facts) == 0 {
			return p.fieldErr(at+".facts", "is required: the field paths this source supports")
		}
		for j, f := range s.Facts {
			known := false
			for _, a := range allFacts {
				if covers(f, a) || covers(a, f) {
					known = true
					break
				}
			}
			if !known {
				return p.fieldErr(at+".facts["+itoa(j)+"]", quote(f)+" is not a fact of the profile (such as endpoints.token or answer.expiry)")
			}
		}
		if err := p.checkDocURL(at+".url", s.URL, true); err != nil {
			return err
		}
		if !s.Verified && strings.TrimSpace(s.Note) == "" {
			return p.fieldErr(at+".note", "is required when verified is false: say what could not be verified, and why")
		}
	}
	for _, f := range p.setFacts() {
		covered := false
		for _, s := range p.Sources {
			for _, sf := range s.Facts {
				if covers(sf, f) {
					covered = true
				}
			}
		}
		if !covered {
			return p.fieldErr(f, "no source cites the documentation for this fact: add it to a sources entry's facts")
		}
	}
	return nil
}

// printable reports whether s is non-empty and every character is
// printable (strconv.IsPrint's sense: no control or format characters).
func printable(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
