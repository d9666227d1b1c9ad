package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

func providersCommand() *command {
	return &command{
		name:    "providers",
		args:    "",
		summary: "list the registered provider drivers and what each supports",
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("providers takes no arguments, got %q", args[0])
			}
			return runProviders(e)
		},
	}
}

func runProviders(e *env) error {
	names := connector.Providers()
	if len(names) == 0 {
		return &exitError{code: ExitFailure, msg: "no provider driver is linked into this program"}
	}
	for i, name := range names {
		p, err := connector.Lookup(name)
		if err != nil {
			return err
		}
		s := p.Spec()
		if i > 0 {
			fmt.Fprintln(e.Out)
		}
		fmt.Fprintf(e.Out, "%s (%s)\n", s.Name, s.DisplayName)
		tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
		row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
		ep := s.Endpoint
		row("authorize", orDash(ep.AuthURL))
		row("token", orDash(ep.TokenURL))
		if ep.RefreshURL != "" && ep.RefreshURL != ep.TokenURL {
			row("refresh", ep.RefreshURL)
		}
		_, custom := p.(driver.Revoker)
		switch {
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
		row("token requests", wire(s.Token))
		rt := "kept across refreshes"
		if s.RotatesRefreshTokens {
			rt = "rotate on every refresh"
		}
		if d := s.RefreshTokenLifetimeAfterExpiry; d > 0 {
			rt += fmt.Sprintf("; die %s after their access token expires", d)
		}
		row("refresh tokens", rt)
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
		if s.DocsURL != "" {
			row("docs", s.DocsURL)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// wire describes how a request is sent.
func wire(r driver.Request) string {
	auth := "client credentials in the body"
	if r.Auth == driver.Basic {
		auth = "client credentials in a Basic header"
	}
	return fmt.Sprintf("%s body, %s", r.Format, auth)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
