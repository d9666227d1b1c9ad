package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
)

// flushTimeout bounds how long a command waits for a rotated token to reach
// the store before it gives up (and does not use that token).
var flushTimeout = 15 * time.Second

type tokenOptions struct {
	sel    selector
	flow   flowOptions
	output outputFlag
}

func tokenCommand() *command {
	o := &tokenOptions{}
	return &command{
		name:    "token",
		global:  dsnFlags,
		args:    "[--connection ID | --ref REF] [-o text|json]",
		summary: "print a valid access token alone on standard output, refreshing it if needed",
		examples: []string{
			"curl -H \"Authorization: Bearer $(connector token --dsn-file ~/.config/connector/shop.dsn)\" https://api.jumpseller.com/v1/store/info.json",
			"CONNECTOR_CONNECTION=shopline:5e1d2c3b connector token -o json | jq -r .expiry",
		},
		flags: func(fs *flag.FlagSet) {
			o.sel.register(fs)
			o.flow.register(fs)
			o.output.register(fs)
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("token takes no arguments, got %q", args[0])
			}
			if err := o.output.check("token"); err != nil {
				return err
			}
			return runToken(ctx, e, o)
		},
	}
}

func runToken(ctx context.Context, e *env, o *tokenOptions) error {
	p, err := e.params(true)
	if err != nil {
		return err
	}
	if !canFlow(e, p) && !supplied(p) {
		if err := e.requireStore(ctx, p, "token", ExitReauth); err != nil {
			return err
		}
	}
	c, err := e.open(ctx, p)
	if err != nil {
		return err
	}
	defer c.Close()
	conn, tok, err := usableToken(ctx, e, c, p, o.sel, o.flow)
	if err != nil {
		return err
	}
	if err := flush(ctx, conn); err != nil {
		return err
	}
	if o.output == "json" {
		return writeJSON(e.Out, tokenJSONOf(conn, tok))
	}
	fmt.Fprintln(e.Out, tok.AccessToken)
	return nil
}

// tokenJSON is token -o json. The field names are documented in
// docs/cli.md and stable: fields may be added, none is renamed or removed.
// Every field is always present. The refresh token is never shown.
type tokenJSON struct {
	Connection  string     `json:"connection"`
	Provider    string     `json:"provider"`
	Account     string     `json:"account"`
	AccessToken string     `json:"access_token"`
	TokenType   string     `json:"token_type"`
	Expiry      *time.Time `json:"expiry"` // null: it does not expire
	Scopes      []string   `json:"scopes"`
}

func tokenJSONOf(conn *connector.Connection, tok *connector.Token) tokenJSON {
	info := conn.Info()
	scopes := tok.Scopes
	if len(scopes) == 0 {
		scopes = info.Scopes
	}
	return tokenJSON{Connection: conn.ID(), Provider: info.Provider, Account: info.Account, AccessToken: tok.AccessToken,
		TokenType: tok.TokenType, Expiry: timeOrNil(tok.Expiry), Scopes: nonNil(scopes)}
}

// supplied reports whether the connection string carries a grant
// (OAuthAccessToken, OAuthRefreshToken), which a command stores when the
// store holds no connection: then it may create the store.
func supplied(p *connstr.Params) bool {
	return p.AccessToken != "" || p.RefreshToken != ""
}

// usableToken returns the connection named id (or the only one) and a valid
// access token. When there is no usable grant and a person is at the
// terminal, it runs the authorization flow first (InitiateOAuth=GETANDREFRESH
// with a CallbackURL); otherwise it returns the error, whose Code makes the
// command exit 3.
func usableToken(ctx context.Context, e *env, c *connector.Connector, p *connstr.Params, sel selector, o flowOptions) (*connector.Connection, *connector.Token, error) {
	sel = e.withDefault(sel)
	conn, err := e.pick(ctx, c, sel)
	var tok *connector.Token
	if err == nil {
		tok, err = conn.Token(ctx)
		if driver.CodeOf(err) == driver.Store && conn.PendingWrite() != nil {
			// The provider rotated but the store refused the token: it is
			// used only once stored. Give the store a moment.
			if err = flush(ctx, conn); err == nil {
				tok, err = conn.Token(ctx)
			}
		}
		if err == nil {
			return conn, tok, nil
		}
	}
	code := driver.CodeOf(err)
	if code != driver.AuthorizationRequired && code != driver.ReauthRequired && (sel.ref == "" || code != driver.NotFound) || !canFlow(e, p) {
		return nil, nil, err
	}
	// A connection authorized now gets the reference it was asked by.
	e.authReq.Ref = sel.ref
	e.printf("connector: %s", describe(err))
	e.printf("Starting the authorization flow (InitiateOAuth=GETANDREFRESH).")
	if conn, err = authorize(ctx, e, c, p, o); err != nil {
		return nil, nil, err
	}
	if sel.connection != "" && conn.ID() != sel.connection {
		e.printf("connector: note: the authorization connected %s, not %s", conn.ID(), sel.connection)
	}
	if tok, err = conn.Token(ctx); err != nil {
		return nil, nil, err
	}
	return conn, tok, nil
}

// canFlow reports whether a command may run the authorization flow itself.
func canFlow(e *env, p *connstr.Params) bool {
	mode := p.InitiateOAuth
	return e.Interactive && (mode == "" || mode == connstr.ModeGetAndRefresh) && p.CallbackURL != ""
}

// flush waits, boundedly, until a rotated token is in the store. Until it
// is, the engine hands the token to no one: unused, it lets a Doorkeeper
// provider keep the stored refresh token valid for the next run.
func flush(ctx context.Context, conn *connector.Connection) error {
	fctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := conn.Flush(fctx); err != nil {
		return failf(err, "the refreshed token of %s could not be stored, so it is not used; the stored grant stays the one to use", conn.ID())
	}
	return nil
}
