package shoplineglobal

import (
	"net/url"

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

// AuthorizeURL rewrites an authorization URL built by the engine
// (Connector.AuthURL or AuthCodeURL, for a connector of ForShop) into the
// one SHOPLINE's page takes: the parameters move after the fragment
// #/oauth/authorize, renamed (client_id → appKey, response_type →
// responseType, redirect_uri → redirectUri, state → customField; scope and
// any other parameter stay). Send the merchant's browser there.
func AuthorizeURL(engineURL string) (string, error) {
	bad := func(msg string) error {
		return &driver.Error{Code: driver.InvalidConfig, Op: "authorize", Provider: "shoplineglobal", Msg: msg}
	}
	u, err := url.Parse(engineURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", bad("the authorization URL is not an absolute URL")
	}
	q := u.Query()
	for _, k := range []string{"client_id", "redirect_uri", "state"} {
		if q.Get(k) == "" {
			return "", bad("the authorization URL has no " + k + ": pass the URL the engine built")
		}
	}
	out := url.Values{}
	for k, v := range q {
		if n, ok := renamed[k]; ok {
			k = n
		}
		out[k] = v
	}
	base := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return base.String() + "#" + authorizeRoute + "?" + out.Encode(), nil
}

// CallbackQuery returns the query of SHOPLINE's redirect to the
// application as Connector.HandleCallback takes it: the state is SHOPLINE's
// customField. Everything else stays (code, handle, appkey, timestamp,
// sign: the driver's Exchange reads the handle).
func CallbackQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	if cf := q.Get("customField"); cf != "" && q.Get("state") == "" {
		out.Set("state", cf)
	}
	return out
}
