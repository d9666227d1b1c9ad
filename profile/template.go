package profile

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/connector-go/connector/driver"
)

// placeholder matches {name} in a template.
var placeholder = regexp.MustCompile(`\{([a-z_][a-z0-9_]*)\}`)

// Built-in placeholders. A property may not take these names.
const (
	// PlaceholderClientID is the application's client id (Tiendanube's
	// authorize URL holds it: https://www.tiendanube.com/apps/{client_id}/authorize).
	PlaceholderClientID = "client_id"
	// PlaceholderClientSecret is the client secret, allowed only in
	// revoke.headers and revoke.params (Square's "Client {client_secret}").
	PlaceholderClientSecret = "client_secret"
	// PlaceholderAccount is the connection's account, allowed only in
	// api.probe.
	PlaceholderAccount = "account"
	// PlaceholderVersion is the connector's version, allowed in
	// api.headers (a User-Agent).
	PlaceholderVersion = "connector_version"
)

// safeValue is what a property value may hold: whatever its pattern says,
// a value never carries '/', '@', '?', '#', ':' or '%', so that it cannot
// move a URL to another host or path.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)

// placeholders returns the names used in tmpl, in order of appearance.
func placeholders(tmpl string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(tmpl, -1) {
		out = append(out, m[1])
	}
	return out
}

// expand fills tmpl's placeholders from extra, then the bound values,
// then the properties' defaults; connector_version is driver.Version.
// It returns the names it could not fill, which stay in the result.
func (p *Profile) expand(tmpl string, extra map[string]string) (string, []string) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := extra[name]; ok {
			return v
		}
		if v, ok := p.bound[name]; ok {
			return v
		}
		if name == PlaceholderVersion {
			return driver.Version
		}
		for _, pr := range p.Properties {
			if pr.Name == name && pr.Default != "" {
				return pr.Default
			}
		}
		missing = append(missing, name)
		return m
	})
	return out, missing
}

// expandMap expands every value of m.
func (p *Profile) expandMap(m map[string]string, extra map[string]string) (map[string]string, []string) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	var missing []string
	for k, v := range m {
		e, miss := p.expand(v, extra)
		out[k] = e
		missing = append(missing, miss...)
	}
	return out, missing
}

// Bind returns a copy of p with connection properties filled in: values
// maps a property's name (or client_id) to its value. Each value must
// match its property's pattern and hold only letters, digits and ". _ ~
// -". Values bound earlier are kept unless given again. The error is an
// *driver.Error with Code InvalidConfig naming the property; it shows the
// value only quoted and cut short.
func (p *Profile) Bind(values map[string]string) (*Profile, error) {
	c := *p
	c.bound = maps.Clone(p.bound)
	if c.bound == nil {
		c.bound = map[string]string{}
	}
	names := slices.Sorted(maps.Keys(values))
	for _, name := range names {
		v := values[name]
		if name == PlaceholderClientID {
			if v != "" && !safeValue.MatchString(v) {
				return nil, bindError(p, name, "holds a character other than letters, digits and . _ ~ -")
			}
			c.bound[name] = v
			continue
		}
		re, ok := p.props[name]
		if !ok {
			known := make([]string, 0, len(p.Properties))
			for _, pr := range p.Properties {
				known = append(known, pr.Name)
			}
			msg := "profile " + p.Name + " has no property " + quote(name)
			if len(known) > 0 {
				msg += " (its properties: " + strings.Join(known, ", ") + ")"
			} else {
				msg += " (it takes none)"
			}
			return nil, &driver.Error{Code: driver.InvalidConfig, Op: "profile", Provider: p.Name, Msg: msg}
		}
		switch {
		case !safeValue.MatchString(v):
			return nil, bindError(p, name, "value "+quote(v)+" holds a character other than letters, digits and . _ ~ -")
		case !re.MatchString(v):
			return nil, bindError(p, name, "value "+quote(v)+" does not match "+re.String())
		}
		c.bound[name] = v
	}
	return &c, nil
}

func bindError(p *Profile, name, msg string) error {
	return &driver.Error{Code: driver.InvalidConfig, Op: "profile", Provider: p.Name, Msg: "property " + name + ": " + msg}
}

// quote quotes s for a message with strconv.QuoteToASCII (no control or
// non-ASCII character reaches a terminal), cut to 40 bytes.
func quote(s string) string {
	if len(s) > 40 {
		return strconv.QuoteToASCII(s[:40]) + "…"
	}
	return strconv.QuoteToASCII(s)
}

// Example returns p bound with every property's Example (and client_id
// left to the caller): the profile as its simulator plays it.
func (p *Profile) Example() *Profile {
	vals := map[string]string{}
	for _, pr := range p.Properties {
		if _, ok := p.bound[pr.Name]; !ok {
			vals[pr.Name] = pr.Example
		}
	}
	c, err := p.Bind(vals)
	if err != nil {
		// Examples are checked against their patterns when the profile
		// is loaded.
		panic("profile: " + p.Name + ": example does not bind: " + err.Error())
	}
	return c
}

// Missing returns the placeholders of p's endpoints, authorize
// parameters, token parameters and API headers that have no value yet
// (a required property, or client_id where a template uses it). A
// profile with missing values cannot be used: bind them first.
func (p *Profile) Missing() []string {
	seen := map[string]bool{}
	var out []string
	add := func(miss []string) {
		for _, m := range miss {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	for _, t := range []string{p.Endpoints.Authorize, p.Endpoints.Token, p.Endpoints.Refresh, p.Endpoints.Revoke, p.Endpoints.TokenInfo, p.Endpoints.API} {
		_, miss := p.expand(t, nil)
		add(miss)
	}
	for _, m := range []map[string]string{p.Authorize.Params, p.Token.ExchangeParams, p.Token.RefreshParams, p.API.Headers} {
		_, miss := p.expandMap(m, nil)
		add(miss)
	}
	slices.Sort(out)
	return out
}
