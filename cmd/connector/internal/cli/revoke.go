package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/store"
)

type revokeOptions struct {
	sel selector
}

func revokeCommand() *command {
	o := &revokeOptions{}
	return &command{
		name:    "revoke",
		global:  dsnFlags,
		args:    "[--connection ID | --ref REF]",
		summary: "revoke the grant at the provider where it can, and mark the connection revoked",
		examples: []string{
			"connector revoke --dsn-file ~/.config/connector/shopline.dsn --connection shopline:5e1d2c3b",
			"connector revoke --ref customer-42",
		},
		flags: func(fs *flag.FlagSet) {
			o.sel.register(fs)
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("revoke takes no arguments, got %q", args[0])
			}
			return runRevoke(ctx, e, o)
		},
	}
}

func runRevoke(ctx context.Context, e *env, o *revokeOptions) error {
	p, c, conn, err := e.openStored(ctx, "revoke", o.sel)
	if err != nil {
		return err
	}
	defer c.Close()
	display := c.Spec().DisplayName
	already := conn.Info().Status == store.Revoked
	err = conn.Revoke(ctx)
	if driver.CodeOf(err) == driver.Store {
		return err // not marked
	}
	switch {
	case already:
		e.printf("Connection %s was already revoked.", conn.ID())
	case !c.CanRevoke():
		e.printf("connector: %s has no revocation endpoint: connection %s was marked revoked locally; remove the app in %s's admin to end the grant there.", display, conn.ID(), display)
	case p.InitiateOAuth == connstr.ModeOff:
		e.printf("connector: InitiateOAuth=OFF forbids calling %s: connection %s was marked revoked locally only.", display, conn.ID())
	case err == nil:
		e.printf("Revoked the grant at %s; connection %s is marked revoked.", display, conn.ID())
	}
	if err != nil {
		return failf(err, "connection %s was marked revoked locally, but %s did not confirm the revocation", conn.ID(), display)
	}
	fmt.Fprintln(e.Out, conn.ID())
	return nil
}
