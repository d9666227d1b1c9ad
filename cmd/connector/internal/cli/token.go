package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
)

// flushTimeout bounds how long a command waits for a rotated token to reach
// the store before it gives up (and does not use that token).
var flushTimeout = 15 * time.Second

type tokenOptions struct {
	sel  selector
	flow flowOptions
}

func tokenCommand() *command {
	o := &tokenOptions{}
	return &command{
		name:    "token",
		args:    "[--connection ID | --ref REF]",
		summary: "print a valid access token alone on standard output, refreshing it if needed",
		flags: func(fs *flag.FlagSet) {
			o.sel.register(fs)
			o.flow.register(fs)
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("token takes no arguments, got %q", args[0])
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
	fmt.Fprintln(e.Out, tok.AccessToken)
	return nil
}

// usableToken returns the connection named id (or the only one) and a valid
// access token. When there is no usable grant and a person is at the
// terminal, it runs the authorization flow first (InitiateOAuth=GETANDREFRESH
// with a CallbackURL); otherwise it returns the error, whose Code makes the
// command exit 3.
func usableToken(ctx context.Context, e *env, c *connector.Connector, p *connstr.Params, sel selector, o flowOptions) (*connector.Connection, *connector.Token, error) {
	conn, err := pick(ctx, c, sel)
	var tok *connector.Token
	if err == nil {
		tok, err = conn.Token(ctx)
		if connector.CodeOf(err) == connector.CodeStore && conn.PendingWrite() != nil {
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
	code := connector.CodeOf(err)
	if code != connector.CodeAuthorizationRequired && code != connector.CodeReauthRequired && (sel.ref == "" || code != connector.CodeNotFound) || !canFlow(e, p) {
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
