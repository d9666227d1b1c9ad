package shoplineglobal

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"
)

// standardNames are the RFC 6749 §5.1 fields (and Doorkeeper's created_at)
// that driver.ParseStandardToken reads; a field of SHOPLINE's data object
// with one of these names is not SHOPLINE's and is dropped.
var standardNames = []string{"access_token", "token_type", "refresh_token", "expires_in", "created_at", "scope"}

// ParseToken normalises an answer of token/create or token/refresh:
//
//	{"code":200,"i18nCode":"SUCCESS","message":"ok",
//	 "data":{"accessToken":"…","expireTime":"2026-07-19T05:00:00.000Z","scope":"read_products,read_orders"}}
//
// (shopline-sdk-go client/oauth.go TokenResponse and client/oauth_test.go).
// data.accessToken is the access token, used as a Bearer token; the
// answer has no token type, and one that names a type other than bearer
// (data.tokenType or data.token_type) is refused. data.expireTime, an ISO
// 8601 date (RFC 3339 with or without fractions of a second, or a bare
// date taken as UTC midnight), is the expiry: one that is not after the
// answer's arrival is a BadResponse; without one the token lives
// Spec().DefaultLifetime. data.scope is split at commas (the requested
// scopes when absent). Other fields of data land in Extra. No refresh
// token is issued.
//
// A refusal, in SHOPLINE's envelope (a code other than 200, or a status
// other than 2xx), is classified by the status and the envelope's code,
// since the token endpoints' error codes are not documented: 429 and 5xx
// are Unavailable, 401 and 403 InvalidClient (SHOPLINE refused the app's
// key or signature), any other 4xx InvalidGrant (the code, or on refresh
// the store's authorization, was refused: the connection needs a new
// authorization). The i18nCode and message are kept as the error's
// OAuthError and OAuthDescription. An RFC 6749 error object (a gateway's,
// say), an HTML page or malformed JSON are judged as
// driver.ParseStandardToken judges them.
func (p *provider) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	var top map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(r.Body)).Decode(&top) != nil || top == nil {
		// Not a JSON object: the standard parser names what it is.
		return driver.ParseStandardToken(p.spec, r)
	}
	if v, ok := top["error"]; ok && !isNull(v) {
		return driver.ParseStandardToken(p.spec, r)
	}
	op := opOf(r.Grant)
	ctype := r.Header.Get("Content-Type")
	fail := func(code driver.Code, msg string) *driver.Error {
		return &driver.Error{Code: code, Op: op, Provider: p.spec.Name, Status: r.Status, ContentType: ctype,
			Msg: msg, Excerpt: driver.Excerpt(r.Body)}
	}
	// invalid refuses what a field holds, without an excerpt of the body.
	invalid := func(msg string) *driver.Error {
		return &driver.Error{Code: driver.BadResponse, Op: op, Provider: p.spec.Name, Status: r.Status, ContentType: ctype, Msg: msg}
	}
	code, hasCode := envelopeCode(top["code"])
	data := top["data"]
	if r.Status/100 != 2 || hasCode && code != 200 || isNull(data) {
		e := fail(classify(r.Status, code), "")
		switch e.Code {
		case driver.Unavailable:
			e.Msg = "SHOPLINE unavailable"
		case driver.InvalidClient:
			e.Msg = "SHOPLINE refused the app's signature: check OAuthClientId (the app key), OAuthClientSecret (the app secret) and the clock"
		case driver.InvalidGrant:
			if r.Grant == "authorization_code" {
				e.Msg = "SHOPLINE refused the authorization code (codes expire after " + strconv.Itoa(int(CodeLifetime/time.Minute)) +
					" minutes and work once); authorize again"
			} else {
				e.Msg = "SHOPLINE refused to refresh the store's authorization (the app may have been uninstalled); authorize again"
			}
		default:
			if isNull(data) && r.Status/100 == 2 {
				e.Msg = "answer has no data: not a token"
			} else {
				e.Msg = "SHOPLINE answered with an error"
			}
		}
		if s, ok := rawString(top["i18nCode"]); ok {
			e.OAuthError = driver.Excerpt([]byte(s))
		}
		if s, ok := rawString(top["message"]); ok {
			e.OAuthDescription = driver.Excerpt([]byte(s))
		}
		return nil, e
	}
	var d map[string]json.RawMessage
	if json.Unmarshal(data, &d) != nil || d == nil {
		return nil, fail(driver.BadResponse, "answer's data is not a JSON object")
	}
	// A top-level expires_in is no field of SHOPLINE's, but an answer
	// that carries a lifetime of 0 or less is refused, whatever its shape.
	if v, ok := top["expires_in"]; ok {
		if n, isNum := rawNumber(v); isNum && !(n > 0) {
			return nil, invalid("expires_in is not positive: the token's lifetime must be positive")
		}
	}
	std := map[string]json.RawMessage{}
	for k, v := range d {
		switch k {
		case "accessToken", "expireTime", "scope", "tokenType":
		default:
			if !isStandard(k) {
				std[k] = v // an extra
			}
		}
	}
	if v, ok := d["accessToken"]; ok {
		std["access_token"] = v
	}
	std["token_type"] = json.RawMessage(`"Bearer"`)
	for _, k := range []string{"tokenType", "token_type"} {
		if v, ok := d[k]; ok && !isNull(v) {
			std["token_type"] = v
		}
	}
	if v, ok := d["scope"]; ok && !isNull(v) {
		std["scope"] = v
	}
	var expiry time.Time
	if v, ok := d["expireTime"]; ok && !isNull(v) {
		s, isString := rawString(v)
		if !isString {
			return nil, invalid("expireTime is not a string")
		}
		t, ok := parseExpireTime(s)
		if !ok {
			return nil, invalid("expireTime is not an ISO 8601 date")
		}
		if !t.After(r.Now) {
			return nil, invalid("expireTime is not after the answer's arrival: the token's lifetime must be positive")
		}
		expiry = t
		secs := math.Ceil(t.Sub(r.Now).Seconds())
		std["expires_in"] = json.RawMessage(strconv.FormatFloat(secs, 'f', -1, 64))
	}
	body, err := json.Marshal(std)
	if err != nil {
		return nil, fail(driver.BadResponse, "answer's data cannot be read")
	}
	sr := *r
	sr.Body = body
	t, err := driver.ParseStandardToken(p.spec, &sr)
	if err != nil {
		if e, ok := err.(*driver.Error); ok && e.Excerpt != "" {
			e.Excerpt = driver.Excerpt(r.Body) // the answer as SHOPLINE sent it
		}
		return nil, err
	}
	if !expiry.IsZero() {
		t.Expiry = expiry
	}
	return t, nil
}

// classify maps a refused answer's status and envelope code to a Code.
func classify(status, code int) driver.Code {
	switch {
	case status == 429 || status >= 500 || code == 429 || code >= 500:
		return driver.Unavailable
	case status == 401 || status == 403 || code == 401 || code == 403:
		return driver.InvalidClient
	case status/100 == 4 || code/100 == 4:
		return driver.InvalidGrant
	}
	return driver.BadResponse
}

// envelopeCode reads the envelope's code, a number or a numeric string
// (shopline-sdk-go's error example has "500").
func envelopeCode(v json.RawMessage) (int, bool) {
	if isNull(v) {
		return 0, false
	}
	if s, ok := rawString(v); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return n, err == nil
	}
	n, err := strconv.Atoi(string(v))
	return n, err == nil
}

// expireLayouts are the forms of expireTime read: RFC 3339 (fractions of a
// second allowed), the same without a zone (taken as UTC), a bare date.
var expireLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"}

func parseExpireTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range expireLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isStandard(k string) bool {
	for _, s := range standardNames {
		if k == s {
			return true
		}
	}
	return false
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

func rawString(v json.RawMessage) (string, bool) {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// rawNumber reads a JSON number or a numeric string, as
// driver.ParseStandardToken reads expires_in.
func rawNumber(v json.RawMessage) (float64, bool) {
	s := string(v)
	if u, ok := rawString(v); ok {
		s = strings.TrimSpace(u)
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil || strings.Contains(err.Error(), "range")
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
