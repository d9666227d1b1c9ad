package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/connector-go/connector"
)

type deleteOptions struct {
	sel    selector
	revoke bool
}

func deleteCommand() *command {
	o := &deleteOptions{}
	return &command{
		name:    "delete",
		global:  dsnFlags,
		args:    "[--connection ID | --ref REF] [--revoke]",
		summary: "delete a connection from the store (with --revoke, revoke its grant at the provider first)",
		examples: []string{
			"connector delete --dsn-file ~/.config/connector/shopline.dsn --connection shopline:5e1d2c3b --revoke",
			"CONNECTOR_CONNECTION=jumpseller:acme connector delete",
		},
		flags: func(fs *flag.FlagSet) {
			o.sel.register(fs)
			fs.BoolVar(&o.revoke, "revoke", false, "revoke the grant at the provider first; a failed revocation keeps the connection")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("delete takes no arguments, got %q", args[0])
			}
			return runDelete(ctx, e, o)
		},
	}
}

func runDelete(ctx context.Context, e *env, o *deleteOptions) error {
	_, c, conn, err := e.openStored(ctx, "delete", o.sel)
	if err != nil {
		return err
	}
	defer c.Close()
	if o.revoke && !c.CanRevoke() {
		e.printf("connector: %s has no revocation endpoint: remove the app in %s's admin to end the grant there.", c.Spec().DisplayName, c.Spec().DisplayName)
	}
	if err := conn.Delete(ctx, connector.DeleteOptions{Revoke: o.revoke && c.CanRevoke()}); err != nil {
		return err
	}
	e.printf("Deleted connection %s.", conn.ID())
	fmt.Fprintln(e.Out, conn.ID())
	return nil
}
