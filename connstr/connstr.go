// Package connstr parses and validates CData-style connection strings such as
//
//	Provider=jumpseller;InitiateOAuth=GETANDREFRESH;OAuthClientId=abc;OAuthClientSecret=xyz;CallbackURL=http://localhost:8080/callback;
//
// # Syntax
//
// A connection string is a list of Key=Value segments separated by ";".
//
//   - Keys are matched case-insensitively (ASCII) against the known properties;
//     an unknown key is an error that suggests the nearest known one.
//   - Whitespace around keys and around unquoted values is trimmed.
//   - Empty segments (a trailing ";", or ";;") are ignored.
//   - The value runs to the next ";". A value that holds ";" or that begins or
//     ends with whitespace is quoted with "…" or '…'; inside the quotes a
//     doubled quote character stands for one ("a""b" is a"b). After the
//     closing quote only whitespace may come before the ";". A quote character
//     that is not the first character of a value is an ordinary character.
//   - The first "=" of a segment separates the key from the value; later ones
//     belong to the value.
//   - When a key appears twice, the last one wins (every value is still checked).
//
// # Parse and Validate
//
// Parse checks the syntax and each value on its own: allowed values,
// integers, and URLs (every endpoint override and CallbackURL must be an
// absolute https URL; plain http is accepted only for loopback hosts:
// localhost, 127.0.0.0/8 and ::1; CallbackURL may also be
// urn:ietf:wg:oauth:2.0:oob). [Params.Validate] checks what the properties
// require of each other: a Provider, AuthScheme=OAuth (the only scheme the
// current drivers support), and OAuthClientId with OAuthClientSecret when
// InitiateOAuth is REFRESH or GETANDREFRESH. Whether a CallbackURL is needed
// is known only when an authorization flow must run, so the caller checks it
// then.
//
// # Profiles
//
// Profile names a YAML profile file that describes the provider (the
// connector package loads it, and refuses a CData API Profile, .apip);
// Provider is then optional. ProfileSettings gives the values of a
// profile's properties as name=value pairs separated by ";" (quote the
// whole value) or ",": ProfileSettings="shop=acme;region=eu". Parse checks
// their syntax and stores them by lower-cased name in
// Params.ProfileSettings; whether the profile declares them is for the
// connector package to say.
//
// # Errors
//
// Every error is a *driver.Error with Code driver.InvalidConfig and Op
// "connection string", so that its message reads
//
//	connector: connection string: unknown property "OAuthClientID2" at position 57; did you mean "OAuthClientId"?
//
// Positions are 1-based byte offsets into the connection string: of the key
// for key errors, of the opening quote for an unterminated quote, and of the
// first character of the value for value errors. Errors never hold the value
// of a secret property (OAuthClientSecret, OAuthAccessToken,
// OAuthRefreshToken), nor any part of an OAuthSettingsLocation or endpoint
// URL that could hold a password. A key that follows the unquoted value of a
// secret is not echoed either, since it is most likely the rest of a secret
// that holds an unquoted ";".
//
// # Secrets
//
// [Params.String] and [Params.GoString] (fmt's %v, %s and %#v) print secrets as
// [redacted] and replace passwords in URLs (postgres://user:pass@host) by
// [redacted] too. Only [Params.EncodeWithSecrets] writes them out.
package connstr

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/connector-go/connector/driver"
)

// Mode is the value of the InitiateOAuth property: what the connector may do
// to obtain a token.
type Mode string

// The InitiateOAuth modes.
const (
	// ModeOff uses OAuthAccessToken, or the stored token, as it is and never
	// calls the token endpoint.
	ModeOff Mode = "OFF"
	// ModeRefresh refreshes the token as needed but never starts an
	// interactive authorization.
	ModeRefresh Mode = "REFRESH"
	// ModeGetAndRefresh is ModeRefresh, and runs the authorization flow when
	// there is no usable grant. It is the default.
	ModeGetAndRefresh Mode = "GETANDREFRESH"
)

// DefaultTimeout is the Timeout of a connection string that sets none, and
// of a connector.Options whose Timeout is zero: the time limit of one HTTP
// exchange of the token lifecycle (one attempt of a token, token-info or
// revoke request), and how long a provider may stay silent in any exchange,
// an API request's included: before an answer's headers, or while its body
// is read.
const DefaultTimeout = 30 * time.Second

// DefaultRetryBudget is the RetryBudget of a connection string that sets
// none, and of a connector.RetryPolicy whose Budget is zero: the time limit
// of one token or revoke request with all its attempts and the waits between
// them (a whole refresh gives up after it). The store's lease on a refreshing
// connection lasts it plus 10 s.
const DefaultRetryBudget = 30 * time.Second

// Params is a parsed connection string. Parse fills the fields of the
// properties that are absent with their defaults: AuthScheme "OAuth",
// InitiateOAuth ModeGetAndRefresh, Timeout DefaultTimeout, RetryBudget
// DefaultRetryBudget; every other absent property is the zero value (an
// empty SettingsLocation means store.DefaultLocation, an empty endpoint
// URL means the driver's own, a zero APITimeout means no time limit on a
// whole API request).
// Has tells whether a property was given; that record is unexported, so
// compare two Params with Has or with cmp.AllowUnexported.
//
// fmt prints a Params or *Params with its secrets redacted (see String and
// GoString), but not a Params held in an unexported field of another struct,
// which fmt prints field by field.
type Params struct {
	Provider         string        // Provider: the driver name
	AuthScheme       string        // AuthScheme, in canonical spelling
	InitiateOAuth    Mode          // InitiateOAuth
	ClientID         string        // OAuthClientId
	ClientSecret     string        // OAuthClientSecret (secret)
	CallbackURL      string        // CallbackURL: the redirect URI
	Scopes           []string      // Scope, split at whitespace; nil when empty
	AccessToken      string        // OAuthAccessToken (secret)
	RefreshToken     string        // OAuthRefreshToken (secret)
	ExpiresIn        time.Duration // OAuthExpiresIn, whole seconds
	TokenTimestamp   time.Time     // OAuthTokenTimestamp (UTC); zero when absent
	SettingsLocation string        // OAuthSettingsLocation: the token store
	AuthorizationURL string        // OAuthAuthorizationURL
	AccessTokenURL   string        // OAuthAccessTokenURL
	RefreshTokenURL  string        // OAuthRefreshTokenURL
	RevokeURL        string        // OAuthRevokeURL
	APIURL           string        // URL: the API base
	Timeout          time.Duration // Timeout, whole seconds: one HTTP exchange
	APITimeout       time.Duration // APITimeout, whole seconds: one API request, its body read; 0 for no limit
	RetryBudget      time.Duration // RetryBudget, whole seconds: one token or revoke request with its retries
	Profile          string        // Profile: a YAML profile file that describes the provider
	Namespace        string        // Namespace: the application's namespace in the store
	// ProfileSettings: the values of the profile's properties, by name in
	// lower case; nil when none are given.
	ProfileSettings map[string]string

	given uint32 // bit i is set when table[i] was in the string
}

const op = "connection string"

func errorf(format string, args ...any) error {
	return &driver.Error{Code: driver.InvalidConfig, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a connection string and checks each value. It does not check
// what the properties require of each other: call Validate for that. Every
// error is a *driver.Error with Code driver.InvalidConfig.
func Parse(s string) (*Params, error) {
	segs, err := scan(s)
	if err != nil {
		return nil, err
	}
	p := &Params{AuthScheme: "OAuth", InitiateOAuth: ModeGetAndRefresh, Timeout: DefaultTimeout, RetryBudget: DefaultRetryBudget}
	for _, seg := range segs {
		prop := &table[seg.prop]
		if err := prop.parse(p, seg.value); err != nil {
			return nil, errorf("invalid %s at position %d: %v", prop.Name, seg.valPos+1, err)
		}
		p.given |= 1 << seg.prop
	}
	return p, nil
}

// Has reports whether the connection string set the property key, matched
// case-insensitively. It is false for an unknown key.
func (p *Params) Has(key string) bool {
	i, ok := lookup(key)
	return ok && p.given&(1<<i) != 0
}

// Validate checks what the properties require of each other, and reports
// every problem in one error with Code driver.InvalidConfig:
//
//   - Provider is required, unless a Profile names the provider's profile
//     file.
//   - AuthScheme must be OAuth: the current drivers support nothing else.
//   - InitiateOAuth OFF needs nothing more: the connector uses
//     OAuthAccessToken, or else the stored token, and reports
//     driver.AuthorizationRequired when there is none.
//   - InitiateOAuth REFRESH and GETANDREFRESH need OAuthClientId and
//     OAuthClientSecret. GETANDREFRESH also needs a CallbackURL when an
//     authorization flow must run; the caller checks that when it starts one.
//
// An empty AuthScheme or InitiateOAuth counts as its default. Validate does
// not repeat the value checks of Parse.
func (p *Params) Validate() error {
	var problems []string
	if strings.TrimSpace(p.Provider) == "" && strings.TrimSpace(p.Profile) == "" {
		problems = append(problems, "Provider is required (or a Profile)")
	}
	if p.AuthScheme != "" && !strings.EqualFold(p.AuthScheme, "OAuth") {
		problems = append(problems, fmt.Sprintf("AuthScheme %s is not supported by the oauth drivers; use OAuth", show(p.AuthScheme)))
	}
	mode := p.InitiateOAuth
	if mode == "" {
		mode = ModeGetAndRefresh
	}
	switch mode {
	case ModeOff:
	case ModeRefresh, ModeGetAndRefresh:
		var missing []string
		if p.ClientID == "" {
			missing = append(missing, "OAuthClientId")
		}
		if p.ClientSecret == "" {
			missing = append(missing, "OAuthClientSecret")
		}
		switch len(missing) {
		case 1:
			problems = append(problems, fmt.Sprintf("%s is required when InitiateOAuth is %s", missing[0], mode))
		case 2:
			problems = append(problems, fmt.Sprintf("%s and %s are required when InitiateOAuth is %s", missing[0], missing[1], mode))
		}
	default:
		problems = append(problems, fmt.Sprintf("InitiateOAuth %s is not one of OFF, REFRESH, GETANDREFRESH", show(string(mode))))
	}
	if len(problems) == 0 {
		return nil
	}
	return errorf("%s", strings.Join(problems, "; "))
}

// String returns the canonical connection string of p: the properties that
// were given, in the order of Properties, in canonical spelling, each
// followed by ";", values quoted where needed. Secrets print as [redacted],
// and so do passwords inside URLs. It is for display: use EncodeWithSecrets to
// store a connection string.
//
// String has a value receiver so that fmt redacts a Params as well as a
// *Params.
func (p Params) String() string { return p.encode(false) }

// EncodeWithSecrets returns the canonical connection string of p like String,
// but with the secrets and URL passwords in clear: the result CONTAINS
// SECRETS. Parse(p.EncodeWithSecrets()) gives back an equal Params.
func (p *Params) EncodeWithSecrets() string { return p.encode(true) }

// GoString returns a Go-syntax representation of p (fmt's %#v) with secrets
// and URL passwords replaced by [redacted].
func (p Params) GoString() string {
	for i := range table {
		prop := &table[i]
		if prop.str == nil {
			continue
		}
		f := prop.str(&p)
		switch {
		case prop.Secret && *f != "":
			*f = redacted
		case prop.url:
			*f = redactURL(*f)
		}
	}
	type plain Params // no methods: %#v prints the fields
	return strings.Replace(fmt.Sprintf("%#v", plain(p)), "connstr.plain", "connstr.Params", 1)
}

const redacted = "[redacted]"

func (p *Params) encode(reveal bool) string {
	var b strings.Builder
	for i := range table {
		if p.given&(1<<i) == 0 {
			continue
		}
		prop := &table[i]
		v := prop.format(p)
		if !reveal {
			switch {
			case prop.Secret && v != "":
				v = redacted
			case prop.url:
				v = redactURL(v)
			}
		}
		b.WriteString(prop.Name)
		b.WriteByte('=')
		b.WriteString(quote(v))
		b.WriteByte(';')
	}
	return b.String()
}

// quote returns v as a connection-string value: as it is when Parse reads it
// back unchanged, else quoted.
func quote(v string) string {
	if v == "" || !strings.ContainsRune(v, ';') && strings.TrimSpace(v) == v && v[0] != '"' && v[0] != '\'' {
		return v
	}
	q := `"`
	if strings.Contains(v, `"`) && !strings.Contains(v, `'`) {
		q = `'`
	}
	return q + strings.ReplaceAll(v, q, q+q) + q
}

// segment is one Key=Value pair of a connection string.
type segment struct {
	prop           int    // index into table
	value          string // unquoted; trimmed when not quoted
	valPos, valEnd int    // byte span of the raw value, quotes included
}

// scan splits s into segments and resolves their keys. On an error it also
// returns the segments read before it.
func scan(s string) ([]segment, error) {
	var segs []segment
	afterSecret := ""      // the secret property whose unquoted value came last
	afterSettings := false // the unquoted value of ProfileSettings came last
	for i := 0; i < len(s); {
		end := i
		for end < len(s) && s[end] != '=' && s[end] != ';' {
			end++
		}
		raw := s[i:end]
		key := strings.TrimSpace(raw)
		keyPos := i + leadingSpace(raw)
		if end == len(s) || s[end] == ';' {
			if key == "" { // an empty segment
				i = end + 1
				continue
			}
			if k, ok := lookup(key); ok {
				return segs, errorf("property %s at position %d has no \"=\"", table[k].Name, keyPos+1)
			}
			return segs, errorf("text at position %d is not a Key=Value pair%s", keyPos+1, quoteHint(afterSecret))
		}
		if key == "" {
			return segs, errorf("missing property name before \"=\" at position %d", end+1)
		}
		k, ok := lookup(key)
		if !ok {
			if afterSecret != "" {
				return segs, errorf("unknown property at position %d%s", keyPos+1, quoteHint(afterSecret))
			}
			if afterSettings {
				return segs, errorf("unknown property %s at position %d, after the unquoted value of ProfileSettings; "+
					"quote a ProfileSettings value that holds \";\" (ProfileSettings=\"a=1;b=2\"), or separate its settings with \",\"", show(key), keyPos+1)
			}
			return segs, errorf("unknown property %s at position %d%s", show(key), keyPos+1, suggest(key))
		}
		name := table[k].Name
		j := end + 1
		j += leadingSpace(s[j:])
		seg := segment{prop: k, valPos: j}
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			q := s[j]
			var b strings.Builder
			closed := false
			m := j + 1
			for m < len(s) {
				if s[m] != q {
					b.WriteByte(s[m])
					m++
					continue
				}
				if m+1 < len(s) && s[m+1] == q {
					b.WriteByte(q)
					m += 2
					continue
				}
				closed = true
				m++
				break
			}
			if !closed {
				return segs, errorf("unterminated quote in the value of %s at position %d", name, j+1)
			}
			seg.value, seg.valEnd = b.String(), m
			m += leadingSpace(s[m:])
			if m < len(s) && s[m] != ';' {
				return segs, errorf("unexpected text after the closing quote of %s at position %d; quote the whole value", name, m+1)
			}
			afterSecret, afterSettings = "", false
			i = m + 1
		} else {
			m := j
			for m < len(s) && s[m] != ';' {
				m++
			}
			seg.value = strings.TrimRightFunc(s[j:m], unicode.IsSpace)
			seg.valEnd = j + len(seg.value)
			afterSecret, afterSettings = "", name == "ProfileSettings"
			if table[k].Secret {
				afterSecret = name
			}
			i = m + 1
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

func leadingSpace(s string) int {
	return len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
}

func quoteHint(afterSecret string) string {
	if afterSecret != "" {
		return fmt.Sprintf(", after the unquoted value of %s; a value that holds \";\" must be quoted", afterSecret)
	}
	return "; a value that holds \";\" must be quoted"
}

// show quotes a non-secret value for an error message, truncated.
func show(v string) string {
	const limit = 40
	if len(v) > limit {
		cut := limit
		for cut > 0 && v[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return strconv.Quote(v[:cut]) + "…"
	}
	return strconv.Quote(v)
}

// suggest returns "; did you mean ...?" naming the known property nearest to
// key, or "" when none is near.
func suggest(key string) string {
	k := asciiLower(key)
	if len(k) > 64 {
		return ""
	}
	best, bestDist := -1, 0
	for i := range table {
		d := distance(k, asciiLower(table[i].Name))
		if best < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	name := table[best].Name
	if bestDist <= max(2, len(name)/3) {
		return fmt.Sprintf("; did you mean %q?", name)
	}
	// A known name inside the key, as in "OAuthCallbackURL": the longest.
	best = -1
	for i := range table {
		n := asciiLower(table[i].Name)
		if len(n) >= 5 && strings.Contains(k, n) && (best < 0 || len(n) > len(table[best].Name)) {
			best = i
		}
	}
	if best >= 0 {
		return fmt.Sprintf("; did you mean %q?", table[best].Name)
	}
	return ""
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// checkEndpoint checks an endpoint override: empty (the driver's default), or
// an absolute https URL, or http for a loopback host. Its messages never
// echo the URL, which could hold a password.
func checkEndpoint(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("not a valid URL")
	}
	if u.Scheme == "" || u.Hostname() == "" {
		return fmt.Errorf("not an absolute URL (it needs a scheme and a host)")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("plain http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1), not %s; use https", show(u.Hostname()))
	default:
		return fmt.Errorf("scheme %s is not allowed; use https", show(u.Scheme))
	}
}

// checkCallback checks a CallbackURL: an endpoint URL or driver.OOB.
func checkCallback(v string) error {
	if v == driver.OOB {
		return nil
	}
	if err := checkEndpoint(v); err != nil {
		return fmt.Errorf("%v, or %s", err, driver.OOB)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkSettingsLocation checks an OAuthSettingsLocation: a file path, or a URL
// (memory://name, postgres://…, redis://…) that parses. Which schemes exist is
// for the store registry to say. Its messages never echo the value.
func checkSettingsLocation(v string) error {
	if !strings.Contains(v, "://") {
		return nil // a file path
	}
	if u, err := url.Parse(v); err != nil || u.Scheme == "" {
		return fmt.Errorf("the value looks like a URL but is not a valid one")
	}
	return nil
}

// redactURL replaces the password of a URL, and the values of its query
// parameters that name a password, secret or token, by [redacted]. It looks
// at values that hold "://" or start with "//" (a URL without a scheme); one
// of those that does not parse is redacted whole.
func redactURL(v string) string {
	if !strings.Contains(v, "://") && !strings.HasPrefix(v, "//") {
		return v // a file path, or a name
	}
	u, err := url.Parse(v)
	if err != nil {
		return redacted
	}
	if u.Opaque != "" {
		return redacted // user information would hide in the opaque part
	}
	_, hasPassword := u.User.Password()
	if hasPassword {
		u.User = url.User(u.User.Username())
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, part := range parts {
			name, _, _ := strings.Cut(part, "=")
			n := asciiLower(name)
			if strings.Contains(n, "password") || strings.Contains(n, "secret") || strings.Contains(n, "token") {
				parts[i] = name + "=" + redacted
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	s := u.String()
	if hasPassword {
		prefix := "//" + u.User.String()
		if u.Scheme != "" {
			prefix = u.Scheme + ":" + prefix
		}
		if !strings.HasPrefix(s, prefix) {
			return redacted
		}
		s = prefix + ":" + redacted + s[len(prefix):]
	}
	return s
}
