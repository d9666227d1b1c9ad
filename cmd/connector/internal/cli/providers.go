package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
)

type providersOptions struct {
	output   string
	profiles stringList
}

// stringList collects a repeated flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func providersCommand() *command {
	o := &providersOptions{}
	return &command{
		name:    "providers",
		args:    "[-o text|json] [--profile FILE]…",
		summary: "list the providers (Go drivers and the catalog's profiles) and what each supports",
		examples: []string{
			"connector providers -o json | jq -r '.[] | [.name, .kind, .access_token_lifetime] | @tsv'",
			"connector providers --profile ./acme.yaml",
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.output, "o", "text", "the output `FORMAT`: text, or json (a JSON array, documented in docs/cli.md)")
			fs.StringVar(&o.output, "output", "text", "the output `FORMAT`: text, or json (a JSON array, documented in docs/cli.md)")
			fs.Var(&o.profiles, "profile", "also list the provider the YAML profile `FILE` describes, after checking it (repeatable)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("providers takes no arguments, got %q", args[0])
			}
			return runProviders(e, o)
		},
	}
}

// listedProvider is a provider as providers lists it.
type listedProvider struct {
	name string
	drv  driver.Provider
	prof *profile.Profile // nil for a Go driver
	file string           // the profile's file: catalog/NAME.yaml, or the path given
}

func runProviders(e *env, o *providersOptions) error {
	format := strings.ToLower(o.output)
	if format != "text" && format != "json" {
		return usageErrorf("providers: -o must be text or json, not %q", o.output)
	}
	var list []listedProvider
	for _, name := range connector.Providers() {
		p, err := connector.Lookup(name)
		if err != nil {
			return err
		}
		lp := listedProvider{name: name, drv: p, prof: profile.FromDriver(p)}
		if lp.prof != nil {
			lp.file = lp.prof.File()
		}
		list = append(list, lp)
	}
	for _, path := range o.profiles {
		prof, err := profile.Load(path)
		if err != nil {
			return err
		}
		list = append(list, listedProvider{name: prof.Name, drv: prof.Driver(), prof: prof, file: path})
	}
	if len(list) == 0 {
		return &exitError{code: ExitFailure, msg: "no provider driver is linked into this program"}
	}
	if format == "json" {
		out := make([]providerJSON, len(list))
		for i, lp := range list {
			out[i] = describeProvider(lp)
		}
		enc := json.NewEncoder(e.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for i, lp := range list {
		if i > 0 {
			fmt.Fprintln(e.Out)
		}
		if err := writeProvider(e.Out, lp); err != nil {
			return err
		}
	}
	return nil
}

// writeProvider writes one provider as text.
func writeProvider(w io.Writer, lp listedProvider) error {
	p, s := lp.drv, lp.drv.Spec()
	fmt.Fprintf(w, "%s (%s)\n", s.Name, s.DisplayName)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	if lp.prof != nil {
		row("kind", "profile ("+lp.file+")")
		for _, pr := range lp.prof.Properties {
			v := pr.Name + ": " + pr.Description + "; required (ProfileSettings), such as " + pr.Example
			if pr.Default != "" {
				v = pr.Name + ": " + pr.Description + "; default " + pr.Default
			}
			row("property", v)
		}
	} else {
		row("kind", "Go driver")
	}
	ep := s.Endpoint
	row("authorize", orDash(ep.AuthURL))
	row("token", orDash(ep.TokenURL))
	if r := ep.Refresh(); r != ep.TokenURL {
		row("refresh", r)
	}
	_, custom := p.(driver.Revoker)
	switch {
	case lp.prof != nil && lp.prof.Revoke != nil:
		r := lp.prof.Revoke
		row("revoke", fmt.Sprintf("yes: %s (%s body, client auth %s)", ep.RevokeURL, r.Format, r.ClientAuth))
	case custom:
		row("revoke", "yes (driver's own request)")
	case ep.RevokeURL != "":
		row("revoke", fmt.Sprintf("yes: %s (%s)", ep.RevokeURL, wire(s.Revoke)))
	default:
		row("revoke", "no endpoint: revoke marks the connection revoked locally")
	}
	if ep.TokenInfoURL != "" {
		row("token info", ep.TokenInfoURL)
	}
	row("API", orDash(ep.APIBaseURL))
	if lp.prof != nil {
		row("token requests", fmt.Sprintf("%s body, client credentials %s", lp.prof.Token.Format, authWords(lp.prof.Token.ClientAuth)))
	} else {
		row("token requests", wire(s.Token))
	}
	if lt := accessLifetime(lp); lt != "" {
		row("access tokens", lt)
	}
	row("refresh tokens", refreshWords(lp))
	if s.CodeLifetime > 0 {
		row("codes", fmt.Sprintf("expire after %s", s.CodeLifetime))
	}
	sep := s.ScopeSeparator
	if sep == "" || sep == " " {
		sep = "space"
	}
	scopes := fmt.Sprintf("%d known, %s-separated", len(s.Scopes), sep)
	if len(s.Scopes) == 0 {
		scopes = "any (not checked)"
	}
	row("scopes", scopes)
	if len(s.DefaultScopes) > 0 {
		row("default scopes", strings.Join(s.DefaultScopes, " "))
	}
	_, sim := p.(driver.Simulated)
	row("simulator", yesNo(sim))
	if lp.prof != nil {
		for _, h := range lp.prof.Hooks() {
			row("hook", h)
		}
		// Facts that share a note (one unverified source) on one row.
		un := lp.prof.Unverified()
		byNote := map[string][]string{}
		for _, f := range slices.Sorted(maps.Keys(un)) {
			byNote[un[f]] = append(byNote[un[f]], f)
		}
		for _, note := range slices.Sorted(maps.Keys(byNote)) {
			row("unverified", strings.Join(byNote[note], ", ")+": "+note)
		}
	}
	if s.DocsURL != "" {
		row("docs", s.DocsURL)
	}
	return tw.Flush()
}

// accessLifetime says how long access tokens live, when it is known.
func accessLifetime(lp listedProvider) string {
	if lp.prof != nil && lp.prof.Answer.Expiry.Format == profile.ExpiryNever {
		return "never expire"
	}
	if d := lp.drv.Spec().DefaultLifetime; d > 0 {
		return "live " + d.String()
	}
	return ""
}

func refreshWords(lp listedProvider) string {
	s := lp.drv.Spec()
	_, refresher := lp.drv.(driver.Refresher)
	switch {
	case lp.prof != nil && !lp.prof.Answer.Refresh.Issued, s.NoRefreshTokens && !refresher:
		return "none issued: a connection whose token is refused needs a new authorization"
	case s.NoRefreshTokens:
		return "none issued: the driver renews access tokens by its own request, without one"
	}
	rt := "kept across refreshes"
	if s.RotatesRefreshTokens {
		rt = "rotate on every refresh"
	}
	if d := s.RefreshTokenLifetimeAfterExpiry; d > 0 {
		rt += fmt.Sprintf("; die %s after their access token expires", d)
	}
	return rt
}

func authWords(a string) string {
	if a == "basic" {
		return "in a Basic header"
	}
	return "in the body"
}

// providerJSON is one provider in `providers -o json`. The fields are
// documented in docs/cli.md; new fields may be added, none is renamed.
type providerJSON struct {
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	Kind        string         `json:"kind"`              // "go" or "profile"
	Profile     string         `json:"profile,omitempty"` // the profile's file
	Docs        string         `json:"docs,omitempty"`
	Properties  []propertyJSON `json:"properties,omitempty"`
	Endpoints   endpointsJSON  `json:"endpoints"`
	Token       requestJSON    `json:"token_request"`
	// AccessTokenLifetime is a Go duration ("1h0m0s"), "never", or empty
	// when unknown.
	AccessTokenLifetime string      `json:"access_token_lifetime,omitempty"`
	CodeLifetime        string      `json:"code_lifetime,omitempty"`
	RefreshTokens       refreshJSON `json:"refresh_tokens"`
	Scopes              scopesJSON  `json:"scopes"`
	Revoke              revokeJSON  `json:"revoke"`
	API                 apiJSON     `json:"api"`
	Simulator           bool        `json:"simulator"`
	// Verified, Unverified and Hooks are set for profiles only.
	Verified   *bool      `json:"verified,omitempty"`
	Unverified []factJSON `json:"unverified,omitempty"`
	Hooks      []string   `json:"hooks,omitempty"`
}

type propertyJSON struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Pattern     string `json:"pattern"`
	Default     string `json:"default,omitempty"`
	Example     string `json:"example"`
	Required    bool   `json:"required"`
}

type endpointsJSON struct {
	Authorize string `json:"authorize"`
	Token     string `json:"token"`
	Refresh   string `json:"refresh,omitempty"`
	Revoke    string `json:"revoke,omitempty"`
	TokenInfo string `json:"token_info,omitempty"`
	API       string `json:"api"`
}

type requestJSON struct {
	Format     string `json:"format"`      // form, json or multipart
	ClientAuth string `json:"client_auth"` // body, basic or none
}

type refreshJSON struct {
	Issued              bool   `json:"issued"`
	Rotate              bool   `json:"rotate"`
	ReplaySafe          bool   `json:"replay_safe"`
	LifetimeAfterExpiry string `json:"lifetime_after_expiry,omitempty"`
	SendsRedirectURI    bool   `json:"sends_redirect_uri"`
}

type scopesJSON struct {
	Known     []string `json:"known"`
	Closed    bool     `json:"closed"`
	Default   []string `json:"default"`
	Separator string   `json:"separator"`
}

type revokeJSON struct {
	Supported  bool   `json:"supported"`
	Format     string `json:"format,omitempty"`
	ClientAuth string `json:"client_auth,omitempty"`
}

type apiJSON struct {
	TokenHeader      string   `json:"token_header"`
	TokenScheme      string   `json:"token_scheme"`
	RateLimitHeaders []string `json:"rate_limit_headers"`
	Probe            string   `json:"probe,omitempty"`
}

type factJSON struct {
	Fact string `json:"fact"`
	Note string `json:"note"`
}

// describeProvider returns lp for `providers -o json`.
func describeProvider(lp listedProvider) providerJSON {
	p, s := lp.drv, lp.drv.Spec()
	nonNil := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return slices.Clone(v)
	}
	dur := func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return d.String()
	}
	sep := s.ScopeSeparator
	if sep == "" {
		sep = " "
	}
	ep := s.Endpoint
	out := providerJSON{
		Name: s.Name, DisplayName: s.DisplayName, Kind: "go", Docs: s.DocsURL,
		Endpoints:           endpointsJSON{Authorize: ep.AuthURL, Token: ep.TokenURL, Revoke: ep.RevokeURL, TokenInfo: ep.TokenInfoURL, API: ep.APIBaseURL},
		Token:               requestJSON{Format: s.Token.Format.String(), ClientAuth: s.Token.Auth.String()},
		AccessTokenLifetime: dur(s.DefaultLifetime),
		CodeLifetime:        dur(s.CodeLifetime),
		RefreshTokens: refreshJSON{Issued: !s.NoRefreshTokens, Rotate: s.RotatesRefreshTokens, ReplaySafe: s.RefreshReplaySafe,
			LifetimeAfterExpiry: dur(s.RefreshTokenLifetimeAfterExpiry), SendsRedirectURI: s.RefreshSendsRedirectURI},
		Scopes:    scopesJSON{Known: nonNil(s.Scopes), Closed: len(s.Scopes) > 0, Default: nonNil(s.DefaultScopes), Separator: sep},
		API:       apiJSON{TokenHeader: "Authorization", TokenScheme: "Bearer", RateLimitHeaders: nonNil(s.RateLimitHeaders)},
		Simulator: isSimulated(p),
	}
	if r := ep.Refresh(); r != ep.TokenURL {
		out.Endpoints.Refresh = r
	}
	_, custom := p.(driver.Revoker)
	if custom || ep.RevokeURL != "" {
		out.Revoke = revokeJSON{Supported: true, Format: s.Revoke.Format.String(), ClientAuth: s.Revoke.Auth.String()}
	}
	if pr, ok := p.(driver.Prober); ok {
		out.API.Probe = pr.ProbePath("{account}")
	}
	prof := lp.prof
	if prof == nil {
		return out
	}
	out.Kind, out.Profile = "profile", lp.file
	for _, pr := range prof.Properties {
		out.Properties = append(out.Properties, propertyJSON{Name: pr.Name, Description: pr.Description, Pattern: pr.Pattern,
			Default: pr.Default, Example: pr.Example, Required: pr.Default == ""})
	}
	out.Token = requestJSON{Format: prof.Token.Format, ClientAuth: prof.Token.ClientAuth}
	if prof.Answer.Expiry.Format == profile.ExpiryNever {
		out.AccessTokenLifetime = "never"
	}
	out.RefreshTokens.Issued = prof.Answer.Refresh.Issued
	out.Scopes.Known, out.Scopes.Closed = nonNil(prof.Scopes.Known), prof.Scopes.Closed
	if r := prof.Revoke; r != nil {
		out.Revoke = revokeJSON{Supported: true, Format: r.Format, ClientAuth: r.ClientAuth}
	}
	out.API.TokenHeader, out.API.TokenScheme, out.API.Probe = prof.API.TokenHeader, prof.API.TokenScheme, prof.API.Probe
	verified := prof.Verified()
	out.Verified = &verified
	un := prof.Unverified()
	for _, f := range slices.Sorted(maps.Keys(un)) {
		out.Unverified = append(out.Unverified, factJSON{Fact: f, Note: un[f]})
	}
	out.Hooks = prof.Hooks()
	return out
}

func isSimulated(p driver.Provider) bool {
	_, ok := p.(driver.Simulated)
	return ok
}

// wire describes how a request is sent.
func wire(r driver.Request) string {
	auth := "client credentials in the body"
	switch r.Auth {
	case driver.Basic:
		auth = "client credentials in a Basic header"
	case driver.Signed:
		auth = "signed: the client id and a signature made with the client secret in headers, the secret never sent"
	}
	return fmt.Sprintf("%s body, %s", r.Format, auth)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
