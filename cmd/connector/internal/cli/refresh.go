package cli

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
)

type refreshOptions struct {
	sel         selector
	due         string // the window of --due; "" refreshes one connection
	concurrency int
	limit       int
	rate        float64
}

func refreshCommand() *command {
	o := &refreshOptions{}
	return &command{
		name:    "refresh",
		global:  dsnFlags,
		args:    "[--connection ID | --ref REF] | --due WINDOW [--concurrency N] [--limit N] [--rate R]",
		summary: "refresh one connection now, or (--due, for cron) every one whose token expires within WINDOW; prints the ids refreshed",
		examples: []string{
			"connector refresh --dsn-file ~/.config/connector/jumpseller.dsn --connection jumpseller:acme",
			"17 3 * * *  CONNECTOR_DSN_FILE=/etc/connector/shopline.dsn connector refresh --due 72h   # crontab",
		},
		flags: func(fs *flag.FlagSet) {
			o.sel.register(fs)
			fs.StringVar(&o.due, "due", "", "refresh every active connection of the provider whose access token expires within this `WINDOW` (72h, 90m, 3d)")
			fs.IntVar(&o.concurrency, "concurrency", 0, fmt.Sprintf("with --due: `N` refreshes at once (default %d)", connector.DefaultDueConcurrency))
			fs.IntVar(&o.limit, "limit", 0, "with --due: refresh at most `N`, the most urgent first (default: all)")
			fs.Float64Var(&o.rate, "rate", 0, "with --due: at most `R` refreshes per second at the provider (default: no limit)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("refresh takes no arguments, got %q", args[0])
			}
			if o.due == "" {
				if o.concurrency != 0 || o.limit != 0 || o.rate != 0 {
					return usageErrorf("--concurrency, --limit and --rate go with --due")
				}
				return runRefreshOne(ctx, e, o)
			}
			if o.sel.connection != "" || o.sel.ref != "" {
				return usageErrorf("--due refreshes every due connection: it takes no --connection or --ref")
			}
			return runRefreshDue(ctx, e, o)
		},
	}
}

// runRefreshOne refreshes the connection the selector names, now.
func runRefreshOne(ctx context.Context, e *env, o *refreshOptions) error {
	_, c, conn, err := e.openStored(ctx, "refresh", o.sel)
	if err != nil {
		return err
	}
	defer c.Close()
	tok, err := conn.Refresh(ctx)
	if ferr := flush(ctx, conn); ferr != nil {
		return ferr
	}
	if err != nil {
		return err
	}
	expires := "never"
	if !tok.Expiry.IsZero() {
		expires = tok.Expiry.Local().Format(time.RFC3339)
	}
	e.printf("Refreshed %s; its access token expires %s.", conn.ID(), expires)
	fmt.Fprintln(e.Out, conn.ID())
	return nil
}

// progressEvery is how often the progress line is redrawn.
const progressEvery = 100 * time.Millisecond

// runRefreshDue refreshes every due connection of the provider: the ids
// refreshed on standard output, one a line; each failure and a summary on
// standard error, and a progress line there when it is a terminal.
func runRefreshDue(ctx context.Context, e *env, o *refreshOptions) error {
	window, err := parseWindow(o.due)
	if err != nil {
		return err
	}
	if o.concurrency < 0 || o.limit < 0 || o.rate < 0 {
		return usageErrorf("--concurrency, --limit and --rate must not be negative")
	}
	p, err := e.params(true)
	if err != nil {
		return err
	}
	if err := e.requireStore(ctx, p, "refresh --due", ExitUsage); err != nil {
		return err
	}
	c, err := e.open(ctx, p)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := connector.DueOptions{Window: window, Concurrency: o.concurrency, Limit: o.limit, RequestsPerSecond: o.rate}
	if e.Progress {
		// Drawn through e.stderr, as are the trace lines of --verbose and
		// the messages: a line written meanwhile clears it and draws it
		// again below itself.
		var last time.Time
		opts.OnProgress = func(pr connector.DueProgress) {
			done := pr.Refreshed + pr.Failed + pr.Skipped
			if done < pr.Due && time.Since(last) < progressEvery {
				return
			}
			last = time.Now()
			e.stderr.draw(e.Err, fmt.Sprintf("refreshing %s connections due within %s: %d/%d (refreshed %d, failed %d, skipped %d)",
				c.Provider(), o.due, done, pr.Due, pr.Refreshed, pr.Failed, pr.Skipped))
		}
	}
	res, err := c.RefreshDue(ctx, opts)
	e.stderr.clear(e.Err) // if drawn: the failures and the summary start on a clean line
	for _, id := range res.Refreshed {
		fmt.Fprintln(e.Out, id)
	}
	if err != nil && len(res.Failed) == 0 && res.NotStarted == 0 {
		return err // the store's query, or the configuration
	}
	codes := map[ExitCode]bool{}
	for _, f := range res.Failed {
		if driver.CodeOf(f.Err) == driver.Store {
			// A rotated token may wait for the store: give it a moment,
			// so that it is not lost with this process.
			if conn, cerr := c.Connection(ctx, f.ID); cerr == nil {
				_ = flush(ctx, conn)
			}
		}
		codes[exitCodeOf(f.Err)] = true
		e.printf("connector: %s: %s", f.ID, strings.Join(strings.Fields(describe(f.Err)), " "))
	}
	summary := dueSummary(c.Provider(), o.due, res)
	if len(res.Failed) == 0 && res.NotStarted == 0 {
		e.printf("connector: %s", summary)
		return nil
	}
	code := ExitFailure
	if len(codes) == 1 && res.NotStarted == 0 {
		for c := range codes {
			code = c // every failure says the same: reauthorization, or configuration
		}
	}
	return &exitError{code: code, msg: summary}
}

// dueSummary is the line that says what a sweep did.
func dueSummary(provider, window string, res *connector.DueResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d due within %s: refreshed %d, failed %d", provider, res.Due, window, len(res.Refreshed), len(res.Failed))
	if len(res.Failed) > 0 {
		by := res.FailedByCode()
		var parts []string
		for code, n := range by {
			parts = append(parts, fmt.Sprintf("%s %d", code, n))
		}
		slices.Sort(parts)
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, ", skipped %d", res.Skipped())
	if res.Skipped() > 0 {
		fmt.Fprintf(&b, " (%d held by another process, %d already refreshed by one)", res.Locked, res.Current)
	}
	if res.NotStarted > 0 {
		fmt.Fprintf(&b, ", not started %d (interrupted)", res.NotStarted)
	}
	return b.String()
}

// parseWindow reads --due: a Go duration (72h, 90m) or a whole number of
// days (3d).
func parseWindow(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if n, err = strconv.Atoi(days); err == nil {
			d = time.Duration(n) * 24 * time.Hour
			if d/(24*time.Hour) != time.Duration(n) {
				d = -1 // beyond time.Duration: it wrapped around
			}
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return 0, usageErrorf("--due %q is not a window: give a duration such as 72h, 90m or 3d", s)
	}
	return d, nil
}
