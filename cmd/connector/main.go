// Command connector connects apps to commerce platforms over OAuth 2: it
// authorizes an app (auth), prints tokens (token), refreshes connections
// ahead of expiry (refresh, refresh --due from cron), calls a provider's API
// (call), lists and revokes connections (connections, revoke), describes
// the drivers (providers), serves the provider simulators (sandbox), runs
// the whole lifecycle offline (demo) and says which build it is (version).
// See docs/cli.md.
//
// The commands live in internal/cli; this file only links the drivers and
// stores in and runs them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/connector-go/connector/cmd/connector/internal/cli"

	_ "github.com/connector-go/connector/providers/jumpseller"
	_ "github.com/connector-go/connector/providers/shopline"
	_ "github.com/connector-go/connector/providers/shoplineglobal"
	_ "github.com/connector-go/connector/store/memory"
	_ "github.com/connector-go/connector/store/postgres"
	_ "github.com/connector-go/connector/store/redis"
	_ "github.com/connector-go/connector/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.SystemIO())
	stop()
	os.Exit(int(code))
}
