package connector

import (
	"context"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	_ "github.com/connector-go/connector/store/sqlite" // the default store
)

// Open returns a Connector configured by a connection string such as
//
//	Provider=jumpseller;OAuthClientId=…;OAuthClientSecret=…;CallbackURL=http://localhost:8085/callback;OAuthSettingsLocation=memory://demo
//
// It parses and validates the string (see docs/connection-strings.md),
// opens the store named by OAuthSettingsLocation and applies the endpoint
// overrides. A grant supplied in the string (OAuthAccessToken,
// OAuthRefreshToken) is imported by Default when the store holds no
// connection for the provider. extra, when given, is applied on top of the
// options the string yields (hooks, logger, clock).
//
// An empty OAuthSettingsLocation is the SQLite file under the user's config
// directory (store.DefaultLocation); SQLite and memory stores are always
// linked in, PostgreSQL and Redis when their packages are imported:
//
//	import _ "github.com/connector-go/connector/store/postgres"
//
// Close the Connector to close the store it opened.
func Open(ctx context.Context, dsn string, extra ...func(*Options)) (*Connector, error) {
	p, err := connstr.Parse(dsn)
	if err != nil {
		return nil, err
	}
	return OpenParams(ctx, p, extra...)
}

// OpenParams is Open for a parsed connection string.
func OpenParams(ctx context.Context, p *connstr.Params, extra ...func(*Options)) (*Connector, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	drv, err := Lookup(p.Provider)
	if err != nil {
		return nil, err
	}
	st, keys, err := store.Open(ctx, p.SettingsLocation)
	if err != nil {
		return nil, err
	}
	opts := Options{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.CallbackURL, Namespace: p.Namespace,
		Scopes: p.Scopes, Mode: Mode(p.InitiateOAuth), Store: st, Keyring: keys, Timeout: p.Timeout,
		Endpoint: driver.Endpoint{AuthURL: p.AuthorizationURL, TokenURL: p.AccessTokenURL,
			RefreshURL: p.RefreshTokenURL, RevokeURL: p.RevokeURL, APIBaseURL: p.APIURL},
	}
	for _, f := range extra {
		f(&opts)
	}
	c, err := newConnector(drv, opts)
	if err != nil {
		st.Close()
		return nil, err
	}
	c.ownsStore = true
	if p.AccessToken != "" || p.RefreshToken != "" {
		t := &Token{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: "Bearer", Scopes: p.Scopes}
		issued := p.TokenTimestamp
		if issued.IsZero() {
			issued = c.now()
		}
		t.IssuedAt = issued
		if p.ExpiresIn > 0 {
			t.Expiry = issued.Add(p.ExpiresIn)
		} else if p.AccessToken == "" {
			t.Expiry = issued // only a refresh token: refresh at once
		}
		c.supplied = t
	}
	return c, nil
}
