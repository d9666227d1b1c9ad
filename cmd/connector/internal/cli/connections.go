package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store"
)

func connectionsCommand() *command {
	return &command{
		name:    "connections",
		args:    "",
		summary: "list the connections stored at the connection string's OAuthSettingsLocation, of every provider",
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("connections takes no arguments, got %q", args[0])
			}
			return runConnections(ctx, e)
		},
	}
}

func runConnections(ctx context.Context, e *env) error {
	// Only the store matters: a string with nothing but
	// OAuthSettingsLocation is enough.
	p, err := e.params(false)
	if err != nil {
		return err
	}
	st, _, err := store.Open(ctx, p.SettingsLocation)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := connector.ListConnections(ctx, st)
	if err != nil {
		return err
	}
	return writeConnections(e.Out, list)
}

// writeConnections writes the table of connections. APP is the client id
// of the application that obtained each one (namespace/client-id with a
// namespace; - for one written before applications were recorded).
func writeConnections(w io.Writer, list []connector.ConnectionInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROVIDER\tACCOUNT\tAPP\tREF\tSCOPES\tEXPIRY\tSTATUS")
	for _, r := range list {
		scopes := strings.Join(r.Scopes, ",")
		expiry := "never"
		if !r.Expiry.IsZero() {
			expiry = r.Expiry.UTC().Format(time.RFC3339)
		}
		app := r.App
		if r.Namespace != "" {
			app = r.Namespace + "/" + app
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Provider, orDash(r.Account), orDash(app), orDash(r.Ref), orDash(scopes), expiry, r.Status)
	}
	return tw.Flush()
}
