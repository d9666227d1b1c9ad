package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"
)

// standardNames are the fields driver.ParseStandardToken reads.
var standardNames = []string{"access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope"}

// escapePrefix hides a field of the provider's answer that carries a
// standard name the profile does not map (an expires_in of a provider
// whose tokens never expire, say) from ParseStandardToken, so that it
// lands in Extra under its own name.
const escapePrefix = "\x00profile:"

// lookup returns the value at a dotted path in a decoded JSON value.
func lookup(v any, path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// setPath sets the value at a dotted path, creating objects on the way.
func setPath(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// deletePath deletes the value at a dotted path.
func deletePath(m map[string]any, path string) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, keys[len(keys)-1])
}

// topKey is the first key of a dotted path.
func topKey(path string) string {
	if i := strings.IndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return path
}

// scalarString renders a JSON string or number as a string; anything else
// is "".
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// decodeObject decodes body as one JSON object with numbers kept as
// json.Number (data after it is ignored, as a streaming decoder would).
func decodeObject(body []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// isStandard reports whether p's answer is Doorkeeper's own: then
// driver.ParseStandardToken reads it as it is, exactly as a Go driver
// does.
func (p *Profile) isStandard() bool {
	a := &p.Answer
	return a.AccessToken == "access_token" &&
		(!a.Refresh.Issued || a.RefreshToken == "refresh_token") &&
		a.TokenType != "none" &&
		a.Expiry.Format == ExpirySeconds && a.Expiry.Field == "expires_in" &&
		a.CreatedAt == "created_at" &&
		(a.Scope == "" || a.Scope == "scope") && a.ScopeSeparator == p.Authorize.ScopeSeparator
}

// translate rewrites a successful answer in the profile's format into
// Doorkeeper's, for ParseStandardToken. It returns the new body and, for
// a date expiry, the exact expiry (zero when not a date or absent). ok is
// false when body is not a JSON object, carries an error field or the
// status is not 2xx: ParseStandardToken judges the original then.
func (p *Profile) translate(r *driver.TokenResponse) (body []byte, expiry time.Time, ok bool, err error) {
	if r.Status/100 != 2 {
		return nil, time.Time{}, false, nil
	}
	m, isObj := decodeObject(r.Body)
	if !isObj {
		return nil, time.Time{}, false, nil
	}
	if e, has := m["error"]; has && e != nil {
		return nil, time.Time{}, false, nil
	}
	a := &p.Answer
	out := make(map[string]any, len(m)+2)
	consumed := map[string]bool{}
	mapped := func(path string) (any, bool) {
		v, found := lookup(m, path)
		if found && !strings.Contains(path, ".") {
			consumed[path] = true
		}
		return v, found
	}
	if v, found := mapped(a.AccessToken); found {
		out["access_token"] = v
	}
	if v, found := m["token_type"]; found {
		consumed["token_type"] = true
		out["token_type"] = v
	} else if a.TokenType == "none" {
		// The provider sends no token_type: its tokens are bearer tokens
		// by its documentation.
		out["token_type"] = "Bearer"
	}
	if a.Refresh.Issued {
		if v, found := mapped(a.RefreshToken); found {
			out["refresh_token"] = v
		}
	}
	var base time.Time // when the token was issued, for a date expiry
	if a.CreatedAt != "" {
		if v, found := mapped(a.CreatedAt); found {
			out["created_at"] = v
			if n, isNum := v.(json.Number); isNum {
				if f, err := n.Float64(); err == nil && f > 0 && f < 1e11 {
					base = time.Unix(int64(f), 0)
				}
			}
		}
	}
	switch a.Expiry.Format {
	case ExpirySeconds:
		if v, found := mapped(a.Expiry.Field); found {
			out["expires_in"] = v
		}
	case ExpiryDate:
		if v, found := mapped(a.Expiry.Field); found {
			s, isStr := v.(string)
			t, perr := time.Parse(time.RFC3339Nano, s)
			if !isStr || perr != nil {
				return nil, time.Time{}, false, &driver.Error{Code: driver.BadResponse, Op: opOf(r.Grant), Provider: p.Name,
					Status: r.Status, ContentType: r.Header.Get("Content-Type"),
					Msg: a.Expiry.Field + " is not an ISO 8601 date"}
			}
			if base.IsZero() {
				base = r.Now
			}
			secs := t.Sub(base).Seconds()
			if math.IsNaN(secs) || secs <= 0 {
				// ParseStandardToken refuses a lifetime ≤ 0.
				secs = 0
			}
			out["expires_in"] = json.Number(strconv.FormatFloat(secs, 'f', -1, 64))
			expiry = t
		}
	}
	if a.Scope != "" {
		if v, found := mapped(a.Scope); found {
			var parts []string
			switch x := v.(type) {
			case string:
				parts = driver.SplitScopes(x, a.ScopeSeparator)
			case []any:
				for _, e := range x {
					if s, isStr := e.(string); isStr && s != "" {
						parts = append(parts, s)
					}
				}
			}
			out["scope"] = strings.Join(parts, p.Authorize.ScopeSeparator)
		}
	}
	for k, v := range m {
		if consumed[k] {
			continue
		}
		if isStandardName(k) {
			out[escapePrefix+k] = v
			continue
		}
		out[k] = v
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		return nil, time.Time{}, false, nil
	}
	return b, expiry, true, nil
}

func isStandardName(k string) bool {
	for _, s := range standardNames {
		if s == k {
			return true
		}
	}
	return false
}

// parseAnswer is ParseToken: the standard parser for a Doorkeeper-style
// answer, or the profile's translation first.
func (pr *provider) parseAnswer(r *driver.TokenResponse) (*driver.Token, error) {
	p := pr.p
	if p.isStandard() {
		t, err := driver.ParseStandardToken(pr.spec, r)
		if err != nil {
			return nil, pr.codeMessage(r, err)
		}
		return pr.liftAccount(t, r)
	}
	body, expiry, ok, err := p.translate(r)
	if err != nil {
		return nil, err
	}
	if !ok {
		_, err := driver.ParseStandardToken(pr.spec, r)
		if err == nil {
			// Unreachable: an answer translate declines is one the
			// standard parser refuses. Refuse it anyway.
			err = &driver.Error{Code: driver.BadResponse, Op: opOf(r.Grant), Provider: p.Name, Status: r.Status, Msg: "answer is not a token"}
		}
		return nil, pr.codeMessage(r, err)
	}
	tr := *r
	tr.Body = body
	t, err := driver.ParseStandardToken(pr.spec, &tr)
	if err != nil {
		var e *driver.Error
		if errors.As(err, &e) && e.Excerpt != "" {
			// The excerpt shows what the provider sent, not the translation.
			e.Excerpt = driver.Excerpt(r.Body)
		}
		return nil, err
	}
	for k, v := range t.Extra {
		if strings.HasPrefix(k, escapePrefix) {
			delete(t.Extra, k)
			t.Extra[strings.TrimPrefix(k, escapePrefix)] = v
		}
	}
	if !expiry.IsZero() {
		t.Expiry = expiry
		if err := driver.ValidateToken(t); err != nil {
			return nil, refused(err, p.Name, opOf(r.Grant), r.Status, r.Header.Get("Content-Type"))
		}
	}
	return pr.liftAccount(t, r)
}

// liftAccount moves the account field out of Extra into AccountID.
func (pr *provider) liftAccount(t *driver.Token, r *driver.TokenResponse) (*driver.Token, error) {
	acc := &pr.p.Account
	if acc.Field == "" {
		return t, nil
	}
	v, found := lookup(map[string]any(t.Extra), acc.Field)
	if !found {
		return t, nil
	}
	s := scalarString(v)
	if !strings.Contains(acc.Field, ".") {
		delete(t.Extra, acc.Field)
	}
	if s == "" {
		return t, nil
	}
	if re := pr.p.acctRe; re != nil {
		sub := re.FindStringSubmatch(s)
		if sub == nil {
			return nil, &driver.Error{Code: driver.BadResponse, Op: opOf(r.Grant), Provider: pr.p.Name, Status: r.Status,
				ContentType: r.Header.Get("Content-Type"), Msg: acc.Field + " does not have the documented form " + acc.Pattern}
		}
		s = sub[1]
	}
	if err := driver.ValidateAccount(s); err != nil {
		return nil, refused(err, pr.p.Name, opOf(r.Grant), r.Status, r.Header.Get("Content-Type"))
	}
	t.AccountID = s
	return t, nil
}

// codeMessage explains a refused authorization code when the profile
// documents the code's lifetime, as the SHOPLINE driver does: Doorkeeper's
// description does not tell an expired code from a used one.
func (pr *provider) codeMessage(r *driver.TokenResponse, err error) error {
	var e *driver.Error
	if r.Grant != "authorization_code" || pr.p.dur.code <= 0 || !errors.As(err, &e) || e.OAuthError != "invalid_grant" {
		return err
	}
	life := strconv.Itoa(int(pr.p.dur.code/time.Second)) + " s"
	if e.OAuthDescription == "" || strings.Contains(strings.ToLower(e.OAuthDescription), "expire") {
		e.Msg = "authorization code expired or invalid: " + pr.p.DisplayName + " authorization codes expire after " + life +
			"; authorize again and exchange the code as soon as the callback arrives"
	} else {
		e.Msg = "authorization code refused (" + pr.p.DisplayName + " authorization codes expire after " + life +
			"; the redirect_uri must equal the authorize request's)"
	}
	return err
}

// refused completes an error of driver.ValidateAccount or ValidateToken
// with where it arose. It carries no excerpt of the answer.
func refused(err error, provider, op string, status int, ctype string) error {
	var e *driver.Error
	if errors.As(err, &e) {
		e.Op, e.Provider, e.Status, e.ContentType = op, provider, status, ctype
	}
	return err
}

// opOf names a grant as driver errors do.
func opOf(grant string) string {
	switch grant {
	case "authorization_code":
		return "exchange"
	case "refresh_token":
		return "refresh"
	}
	return grant
}
