package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
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
// The provider is the one Provider names (a registered driver, else a
// catalog profile), or the one the YAML profile file Profile describes
// (then Provider is optional and, when given, must be the profile's name);
// a CData API Profile (.apip) is refused with Code InvalidConfig. A
// profile's properties (a shop's subdomain, say) come from
// ProfileSettings, such as ProfileSettings="shop=acme"; one without a value
// or a default is an InvalidConfig error that names it. See
// docs/profiles.md.
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
	drv, err := providerFor(p)
	if err != nil {
		return nil, err
	}
	st, keys, err := store.Open(ctx, p.SettingsLocation)
	if err != nil {
		return nil, err
	}
	opts := Options{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.CallbackURL, Namespace: p.Namespace,
		Scopes: p.Scopes, Mode: p.InitiateOAuth, Store: st, Keyring: keys, Timeout: p.Timeout,
		APITimeout: p.APITimeout, Retry: RetryPolicy{Budget: p.RetryBudget},
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

// providerFor returns the driver a connection string names: the profile in
// the file Profile names, else the provider registered as Provider (a Go
// driver, else a catalog profile), with the profile's properties bound from
// ProfileSettings.
func providerFor(p *connstr.Params) (driver.Provider, error) {
	bad := func(format string, args ...any) error {
		return &driver.Error{Code: driver.InvalidConfig, Op: "connection string", Msg: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(p.Profile) != "" {
		if err := profile.RefuseAPIP(p.Profile); err != nil {
			return nil, err
		}
		prof, err := profile.Load(p.Profile)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(p.Provider) != "" && providerName(p.Provider) != prof.Name {
			return nil, bad("Provider %s is not the name of the provider that Profile describes (%s): leave Provider out, or give the profile's name",
				quoteName(p.Provider), quoteName(prof.Name))
		}
		return bindProfile(prof, p)
	}
	n := providerName(p.Provider)
	if d, ok := registered(n); ok {
		if prof := profile.FromDriver(d); prof != nil {
			return bindProfile(prof, p)
		}
		if len(p.ProfileSettings) > 0 {
			return nil, bad("ProfileSettings is for providers described by a profile; %s is a Go driver, which has no profile properties", n)
		}
		return d, nil
	}
	if prof := profile.Lookup(n); prof != nil {
		return bindProfile(prof, p)
	}
	return Lookup(p.Provider)
}

// bindProfile binds ProfileSettings (and the client id, where the profile's
// URLs hold {client_id}) and returns the profile's driver; a property left
// without a value is an error that names it.
func bindProfile(prof *profile.Profile, p *connstr.Params) (driver.Provider, error) {
	b, err := prof.Bind(p.ProfileSettings)
	if err != nil {
		// Bind's own message names the property and the profile.
		var e *driver.Error
		if errors.As(err, &e) {
			return nil, &driver.Error{Code: e.Code, Op: "connection string", Msg: "ProfileSettings: " + e.Msg}
		}
		return nil, err
	}
	if p.ClientID != "" && slices.Contains(b.Missing(), profile.PlaceholderClientID) {
		if b, err = b.Bind(map[string]string{profile.PlaceholderClientID: p.ClientID}); err != nil {
			return nil, &driver.Error{Code: driver.InvalidConfig, Op: "connection string",
				Msg: "OAuthClientId cannot fill {client_id} in the URLs of profile " + prof.Name + ": it holds a character other than letters, digits and . _ ~ -"}
		}
	}
	var missing, examples []string
	for _, name := range b.Missing() {
		if name == profile.PlaceholderClientID {
			continue // only the authorize URL holds it, and only a flow needs that
		}
		missing = append(missing, name)
		ex := "…"
		for _, pr := range prof.Properties {
			if pr.Name == name && pr.Example != "" {
				ex = pr.Example
			}
		}
		examples = append(examples, name+"="+ex)
	}
	if len(missing) > 0 {
		what := "property"
		if len(missing) > 1 {
			what = "properties"
		}
		return nil, &driver.Error{Code: driver.InvalidConfig, Op: "connection string",
			Msg: fmt.Sprintf("provider %s needs the profile %s %s: set ProfileSettings, such as ProfileSettings=%q (see %s)",
				prof.Name, what, strings.Join(missing, ", "), strings.Join(examples, ";"), profile.DocsPath)}
	}
	return b.Driver(), nil
}
