package shoplineglobal

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"
)

// authorizeRoute is the fragment route of SHOPLINE's authorization page
// (shopline-sdk-go client/oauth.go AuthorizeUrl:
// https://{handle}.myshopline.com/admin/oauth-web/#/oauth/authorize?appKey=…).
const authorizeRoute = "/oauth/authorize"

// renamed maps the engine's authorize parameters to SHOPLINE's: appKey and
// redirectUri (App Bridge "Authorization"), responseType (shopline-sdk-go
// AuthorizeUrl), customField for the state (nango providers.yaml,
// authorization_url_replacements). scope keeps its name.
var renamed = map[string]string{
	"client_id":     "appKey",
	"response_type": "responseType",
	"redirect_uri":  "redirectUri",
	"state":         "customField",
}

// AuthorizeURL implements driver.Authorizer: SHOPLINE's page takes the
// engine's parameters after the fragment route #/oauth/authorize (the
// endpoint's own fragment when it has one), renamed — client_id → appKey,
// response_type → responseType, redirect_uri → redirectUri, state →
// customField; scope and any other parameter keep their names and every
// value is the engine's.
func (p *provider) AuthorizeURL(_ *driver.Env, standard *url.URL) (string, error) {
	if standard.Scheme == "" || standard.Host == "" {
		return "", p.errorf(driver.InvalidConfig, "authorize", "the authorization URL is not an absolute URL")
	}
	q := standard.Query()
	for _, k := range []string{"client_id", "redirect_uri", "state"} {
		if q.Get(k) == "" {
			return "", p.errorf(driver.InvalidConfig, "authorize", "the engine's authorization URL has no %s", k)
		}
	}
	out := url.Values{}
	for k, v := range q {
		if n, ok := renamed[k]; ok {
			k = n
		}
		out[k] = v
	}
	route, _, _ := strings.Cut(standard.Fragment, "?")
	if route == "" {
		route = authorizeRoute
	}
	base := url.URL{Scheme: standard.Scheme, Host: standard.Host, Path: standard.Path, RawPath: standard.RawPath}
	return base.String() + "#" + route + "?" + out.Encode(), nil
}

// ReadCallback implements driver.CallbackReader. SHOPLINE calls the
// redirect URI back with appkey, code, handle, customField (the state),
// timestamp and sign. A callback that carries a code must be SHOPLINE's:
// its sign must be SignQuery's with the app secret, its appkey the
// connector's client id, and its timestamp not more than MaxSkew ahead of
// the clock; otherwise it is refused (InvalidState) before the engine
// spends the state. A callback that is too old is refused later, by
// Exchange, once the engine has checked the state: its code has expired.
// A callback without a code (a refusal, whose form SHOPLINE does not
// document) is only renamed. The result is the query with state set from
// customField, everything else kept.
func (p *provider) ReadCallback(env *driver.Env, q url.Values) (url.Values, error) {
	if q.Has("code") {
		if err := checkSign(env.Config.ClientSecret, q); err != nil {
			return nil, err
		}
		if k := q.Get("appkey"); k != "" && k != env.Config.ClientID {
			return nil, callbackError("the callback is for another app key")
		}
		ts, err := callbackTime(q)
		if err != nil {
			return nil, err
		}
		if ts.Sub(env.Now()) > MaxSkew {
			return nil, callbackError("the callback's timestamp is more than 10 minutes ahead of this clock")
		}
	}
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	if cf := q.Get("customField"); cf != "" {
		out.Set("state", cf)
	}
	return out, nil
}

// callbackTime returns the time of a signed GET's timestamp (Unix
// milliseconds).
func callbackTime(q url.Values) (time.Time, error) {
	ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return time.Time{}, callbackError("the request's timestamp is not Unix milliseconds")
	}
	return time.UnixMilli(ms), nil
}

func callbackError(msg string) error {
	return &driver.Error{Code: driver.InvalidState, Op: "callback", Provider: "shoplineglobal", Msg: msg}
}
