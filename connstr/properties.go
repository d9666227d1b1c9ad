package connstr

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"
)

// Property describes one connection-string property, for documentation and
// tools.
type Property struct {
	Name    string   // canonical spelling; keys match it case-insensitively
	Default string   // what applies when the property is absent; "" for nothing
	Allowed []string // the allowed values, compared case-insensitively; nil when free
	Secret  bool     // never printed by String, never echoed in errors
	Doc     string   // one line of documentation
}

// Properties returns the known properties, in the order String writes them.
// The result is a copy.
func Properties() []Property {
	out := make([]Property, len(table))
	for i := range table {
		out[i] = table[i].Property
		out[i].Allowed = slices.Clone(out[i].Allowed)
	}
	return out
}

// property is a Property with what Parse and encode need to know.
type property struct {
	Property
	url    bool                            // a URL whose password String redacts
	str    func(*Params) *string           // the field of a string property, else nil
	parse  func(p *Params, v string) error // checks v (unquoted) and stores it in p
	format func(p *Params) string          // the value as EncodeWithSecrets writes it
}

// table holds every property. Params.given has one bit per entry.
var table = []property{
	text(Property{Name: "Provider",
		Doc: "the driver name: jumpseller, shopline, …; required"},
		func(p *Params) *string { return &p.Provider }, nil),
	choice(Property{Name: "AuthScheme", Default: "OAuth",
		Allowed: []string{"None", "Basic", "NTLM", "OAuth", "OAuth_Client", "APIKey"},
		Doc:     "the authentication scheme; the current drivers support only OAuth"},
		func(p *Params, v string) { p.AuthScheme = v },
		func(p *Params) string { return p.AuthScheme }),
	choice(Property{Name: "InitiateOAuth", Default: string(ModeGetAndRefresh),
		Allowed: []string{string(ModeOff), string(ModeRefresh), string(ModeGetAndRefresh)},
		Doc:     "what the connector may do to get a token: OFF uses the given or stored token, REFRESH also refreshes it, GETANDREFRESH also runs the authorization flow"},
		func(p *Params, v string) { p.InitiateOAuth = Mode(v) },
		func(p *Params) string { return string(p.InitiateOAuth) }),
	text(Property{Name: "OAuthClientId",
		Doc: "the client ID of the OAuth application"},
		func(p *Params) *string { return &p.ClientID }, nil),
	text(Property{Name: "OAuthClientSecret", Secret: true,
		Doc: "the client secret of the OAuth application"},
		func(p *Params) *string { return &p.ClientSecret }, nil),
	location(Property{Name: "CallbackURL",
		Doc: "the redirect URI registered with the application; a loopback http URL runs a local callback server, " + driver.OOB + " reads the code from the terminal"},
		func(p *Params) *string { return &p.CallbackURL }, checkCallback),
	{
		Property: Property{Name: "Scope",
			Doc: "the requested scopes, separated by spaces; the provider's default when absent"},
		parse: func(p *Params, v string) error {
			p.Scopes = strings.Fields(v)
			if len(p.Scopes) == 0 {
				p.Scopes = nil
			}
			return nil
		},
		format: func(p *Params) string { return strings.Join(p.Scopes, " ") },
	},
	text(Property{Name: "OAuthAccessToken", Secret: true,
		Doc: "an access token supplied by hand"},
		func(p *Params) *string { return &p.AccessToken }, nil),
	text(Property{Name: "OAuthRefreshToken", Secret: true,
		Doc: "a refresh token supplied by hand"},
		func(p *Params) *string { return &p.RefreshToken }, nil),
	seconds(Property{Name: "OAuthExpiresIn",
		Doc: "the lifetime of OAuthAccessToken in seconds, an integer ≥ 0"},
		func(p *Params) *time.Duration { return &p.ExpiresIn }, 0),
	{
		Property: Property{Name: "OAuthTokenTimestamp",
			Doc: "when OAuthAccessToken was issued, in Unix milliseconds (an integer ≥ 0)"},
		parse: func(p *Params, v string) error {
			ms, err := strconv.ParseUint(v, 10, 63)
			if err != nil {
				return fmt.Errorf("%s is not a Unix time in milliseconds (an integer ≥ 0)", show(v))
			}
			p.TokenTimestamp = time.UnixMilli(int64(ms)).UTC()
			return nil
		},
		format: func(p *Params) string { return strconv.FormatInt(p.TokenTimestamp.UnixMilli(), 10) },
	},
	location(Property{Name: "OAuthSettingsLocation", Default: "os.UserConfigDir()/connector/connector.db",
		Doc: "the token store: a SQLite file path, memory://name, postgres://…, redis://…"},
		func(p *Params) *string { return &p.SettingsLocation }, checkSettingsLocation),
	location(Property{Name: "OAuthAuthorizationURL",
		Doc: "overrides the driver's authorization endpoint"},
		func(p *Params) *string { return &p.AuthorizationURL }, checkEndpoint),
	location(Property{Name: "OAuthAccessTokenURL",
		Doc: "overrides the driver's token endpoint for the code exchange"},
		func(p *Params) *string { return &p.AccessTokenURL }, checkEndpoint),
	location(Property{Name: "OAuthRefreshTokenURL",
		Doc: "overrides the driver's token endpoint for refreshes"},
		func(p *Params) *string { return &p.RefreshTokenURL }, checkEndpoint),
	location(Property{Name: "OAuthRevokeURL",
		Doc: "overrides the driver's revocation endpoint"},
		func(p *Params) *string { return &p.RevokeURL }, checkEndpoint),
	location(Property{Name: "URL",
		Doc: "overrides the driver's API base URL"},
		func(p *Params) *string { return &p.APIURL }, checkEndpoint),
	seconds(Property{Name: "Timeout", Default: strconv.Itoa(int(DefaultTimeout / time.Second)),
		Doc: "the time limit of one HTTP exchange of the token lifecycle (one attempt of a token or revoke request), and how long a provider may stay silent in any exchange (an API request's too: before its answer's headers or while its body is read), in seconds, an integer > 0"},
		func(p *Params) *time.Duration { return &p.Timeout }, 1),
	seconds(Property{Name: "APITimeout", Default: "0",
		Doc: "the time limit of one API request made through the connection's client, its answer's body read (each retry after a refresh or a 429 has its own), in seconds, an integer ≥ 0; 0 sets none, so that an answer that keeps coming (a large export) is read whole while Timeout still ends a silence"},
		func(p *Params) *time.Duration { return &p.APITimeout }, 0),
	seconds(Property{Name: "RetryBudget", Default: strconv.Itoa(int(DefaultRetryBudget / time.Second)),
		Doc: "the time limit of one token or revoke request with all its retries (a refresh gives up after it) in seconds, an integer > 0; the store's lease on a refreshing connection lasts it plus 10 s"},
		func(p *Params) *time.Duration { return &p.RetryBudget }, 1),
	text(Property{Name: "Namespace",
		Doc: "separates the connections of one application serving many customers; connections always belong to their client id as well"},
		func(p *Params) *string { return &p.Namespace }, nil),
	text(Property{Name: "Profile",
		Doc: "a YAML profile file that describes the provider (docs/profiles.md); Provider is optional when it is given; a CData API Profile (.apip) is refused"},
		func(p *Params) *string { return &p.Profile }, nil),
	{
		Property: Property{Name: "ProfileSettings",
			Doc: "values of the profile's properties (a shop's subdomain, say): name=value pairs separated by \";\" (quote the whole value) or \",\""},
		parse:  parseSettings,
		format: formatSettings,
	},
}

// byName maps the ASCII-lower-cased name of each property to its index.
var byName = func() map[string]int {
	if len(table) > 32 {
		panic("connstr: more properties than bits in Params.given")
	}
	m := make(map[string]int, len(table))
	for i := range table {
		m[asciiLower(table[i].Name)] = i
	}
	return m
}()

func lookup(key string) (int, bool) {
	i, ok := byName[asciiLower(key)]
	return i, ok
}

// text is a string property with an optional check.
func text(pr Property, field func(*Params) *string, check func(string) error) property {
	return property{
		Property: pr,
		str:      field,
		parse: func(p *Params, v string) error {
			if check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
			*field(p) = v
			return nil
		},
		format: func(p *Params) string { return *field(p) },
	}
}

// location is a string property that may hold a URL with a password, which
// String redacts.
func location(pr Property, field func(*Params) *string, check func(string) error) property {
	prop := text(pr, field, check)
	prop.url = true
	return prop
}

// choice is a property whose value is one of pr.Allowed, stored in its
// canonical spelling.
func choice(pr Property, set func(*Params, string), get func(*Params) string) property {
	return property{
		Property: pr,
		parse: func(p *Params, v string) error {
			for _, a := range pr.Allowed {
				if strings.EqualFold(v, a) {
					set(p, a)
					return nil
				}
			}
			return fmt.Errorf("%s is not one of %s", show(v), strings.Join(pr.Allowed, ", "))
		},
		format: get,
	}
}

// seconds is a property holding a whole number of seconds, no fewer than
// least.
func seconds(pr Property, field func(*Params) *time.Duration, least uint64) property {
	return property{
		Property: pr,
		parse: func(p *Params, v string) error {
			n, err := strconv.ParseUint(v, 10, 64)
			if errors.Is(err, strconv.ErrRange) || err == nil && n > math.MaxInt64/uint64(time.Second) {
				return fmt.Errorf("%s seconds is too long", show(v))
			}
			if err != nil {
				return fmt.Errorf("%s is not a whole number of seconds", show(v))
			}
			if n < least {
				return fmt.Errorf("%s must be at least %d", show(v), least)
			}
			*field(p) = time.Duration(n) * time.Second
			return nil
		},
		format: func(p *Params) string { return strconv.FormatInt(int64(*field(p)/time.Second), 10) },
	}
}

// settingName is what a ProfileSettings name may be: a profile property's
// name, matched case-insensitively.
var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseSettings reads a ProfileSettings value: name=value pairs separated
// by ";" or ",", names case-insensitive (stored in lower case), spaces
// around names and values trimmed, empty pairs ignored, the last duplicate
// winning. Whether a name is one of the profile's properties, and whether
// its value matches the property's pattern, is for the profile to say.
func parseSettings(p *Params, v string) error {
	var m map[string]string
	for _, pair := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return fmt.Errorf("%s is not a name=value pair", show(strings.TrimSpace(pair)))
		case !settingName.MatchString(name):
			return fmt.Errorf("%s is not a property name (letters, digits and _)", show(name))
		case value == "":
			return fmt.Errorf("%s has no value", show(name))
		}
		if m == nil {
			m = map[string]string{}
		}
		m[asciiLower(name)] = value
	}
	p.ProfileSettings = m
	return nil
}

// formatSettings writes ProfileSettings sorted by name, separated by ";".
func formatSettings(p *Params) string {
	names := slices.Sorted(maps.Keys(p.ProfileSettings))
	pairs := make([]string, len(names))
	for i, n := range names {
		pairs[i] = n + "=" + p.ProfileSettings[n]
	}
	return strings.Join(pairs, ";")
}
