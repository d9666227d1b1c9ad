package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store"
)

type connectionsOptions struct {
	output    outputFlag
	noHeaders bool
}

func connectionsCommand() *command {
	o := &connectionsOptions{}
	return &command{
		name:    "connections",
		global:  dsnFlags,
		args:    "[-o text|json] [--no-headers]",
		summary: "list the connections stored at the connection string's OAuthSettingsLocation, of every provider (no token is read or shown)",
		examples: []string{
			"connector connections --dsn-file ~/.config/connector/shop.dsn",
			"connector connections --dsn 'OAuthSettingsLocation=/srv/connector/connector.db' -o json | jq -r '.[].id'",
			"connector connections --no-headers | awk '$8 == \"needs_reauth\" { print $1 }'",
		},
		flags: func(fs *flag.FlagSet) {
			o.output.register(fs)
			fs.BoolVar(&o.noHeaders, "no-headers", false, "leave out the table's header line")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("connections takes no arguments, got %q", args[0])
			}
			if err := o.output.check("connections"); err != nil {
				return err
			}
			return runConnections(ctx, e, o)
		},
	}
}

func runConnections(ctx context.Context, e *env, o *connectionsOptions) error {
	// Only the store matters: a string with nothing but
	// OAuthSettingsLocation is enough.
	p, err := e.params(false)
	if err != nil {
		return err
	}
	if path, ok := sqlitePath(p.SettingsLocation); ok {
		// store.OpenExisting checks this too; a SQLite file is checked here
		// as well, before any backend is asked.
		if err := e.requireSQLite(path, "connections", ExitUsage); err != nil {
			return err
		}
	}
	start := time.Now()
	st, _, err := store.OpenExisting(ctx, p.SettingsLocation)
	e.tracer.printf("store open-existing %s: %s (%s)", redactLocation(p.SettingsLocation), outcome(err), since(start))
	if err != nil {
		if isNoStore(err) {
			return noStoreAt(noStoreWhere(err), "connections", ExitUsage)
		}
		return err
	}
	defer st.Close()
	start = time.Now()
	list, err := connector.ListConnections(ctx, st)
	if err != nil {
		e.tracer.printf("store list: %s (%s)", outcome(err), since(start))
		return err
	}
	e.tracer.printf("store list: %d connections (%s)", len(list), since(start))
	if o.output == "json" {
		return writeJSON(e.Out, connectionsJSON(list))
	}
	return writeConnections(e.Out, list, !o.noHeaders)
}

// writeConnections writes the table of connections. APP is the client id
// of the application that obtained each one (namespace/client-id with a
// namespace; - for one written before applications were recorded).
func writeConnections(w io.Writer, list []connector.ConnectionInfo, headers bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if headers {
		fmt.Fprintln(tw, "ID\tPROVIDER\tACCOUNT\tAPP\tREF\tSCOPES\tEXPIRY\tSTATUS")
	}
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

// connectionJSON is one connection in connections -o json. The field names
// are documented in docs/cli.md and stable: fields may be added, none is
// renamed or removed. Every field is always present.
type connectionJSON struct {
	ID        string     `json:"id"`
	Provider  string     `json:"provider"`
	Account   string     `json:"account"`
	App       string     `json:"app"`
	Namespace string     `json:"namespace"`
	Ref       string     `json:"ref"`
	Tags      []string   `json:"tags"`
	Scopes    []string   `json:"scopes"`
	Status    string     `json:"status"`
	Reason    string     `json:"reason"`
	Expiry    *time.Time `json:"expiry"` // null: the access token does not expire
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func connectionsJSON(list []connector.ConnectionInfo) []connectionJSON {
	out := make([]connectionJSON, len(list))
	for i, r := range list {
		out[i] = connectionJSON{ID: r.ID, Provider: r.Provider, Account: r.Account, App: r.App, Namespace: r.Namespace, Ref: r.Ref,
			Tags: nonNil(r.Tags), Scopes: nonNil(r.Scopes), Status: string(r.Status), Reason: r.Reason, Expiry: timeOrNil(r.Expiry),
			CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out
}

// nonNil makes an absent list an empty JSON array rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// timeOrNil is t in UTC, or nil (JSON null) for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// writeJSON writes v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// outputFlag is -o / --output: text or json.
type outputFlag string

func (o *outputFlag) register(fs *flag.FlagSet) {
	*o = "text"
	fs.Func("o", "the output `FORMAT`: text, or json (fields in docs/cli.md)", o.set)
	fs.Func("output", "the output `FORMAT`: text, or json (fields in docs/cli.md)", o.set)
}

func (o *outputFlag) set(v string) error {
	*o = outputFlag(strings.ToLower(v))
	return nil
}

func (o outputFlag) check(cmd string) error {
	if o != "text" && o != "json" {
		return usageErrorf("%s: -o must be text or json, not %q", cmd, string(o))
	}
	return nil
}
