// Package cli implements the connector command: one file per command, each
// with an options struct and a run function. Commands take their IO (standard
// streams, environment, browser opener, clock) as parameters, so that tests
// run them on buffers.
//
// # Exit codes
//
//	0  done
//	1  failure (the provider, the network or the store failed; a denial; a timeout)
//	2  bad usage or configuration (flags, connection string, unknown provider or scope,
//	   client credentials the provider refuses)
//	3  reauthorization needed (run connector auth)
//
// # Errors
//
// An error is printed as one line on standard error, "connector: …". It never
// holds a secret: the connector's own errors are redacted, and every secret
// of the connection string is scrubbed from the line before it is printed.
// The connection string itself is never printed, only its redacted form.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
)

// ExitCode is the status the connector command exits with.
type ExitCode int

// The exit codes.
const (
	// ExitOK: the command did what it was asked.
	ExitOK ExitCode = 0
	// ExitFailure: the provider, the network or the store failed, the user
	// denied the authorization, or a wait timed out.
	ExitFailure ExitCode = 1
	// ExitUsage: bad usage or configuration: flags, the connection string,
	// an unknown provider or scope.
	ExitUsage ExitCode = 2
	// ExitReauth: there is no usable grant and no authorization flow could
	// run: a user must run connector auth.
	ExitReauth ExitCode = 3
)

// EnvDSN is the environment variable read when --dsn is not given.
const EnvDSN = "CONNECTOR_DSN"

// IO is what a command may touch of the outside world.
type IO struct {
	In  io.Reader // standard input: the out-of-band code, --data @-
	Out io.Writer // standard output: only the command's result
	Err io.Writer // standard error: messages, prompts, the authorization URL
	// Env looks up an environment variable (CONNECTOR_DSN); nil reads none.
	Env func(string) string
	// Browser opens a URL in the user's browser; nil means that none can be
	// opened (the URL is printed either way).
	Browser func(ctx context.Context, url string) error
	// Interactive is true when a person sits at the terminal: then token and
	// call run the authorization flow themselves (InitiateOAuth=GETANDREFRESH
	// with a CallbackURL) instead of exiting 3 when there is no usable grant.
	Interactive bool
	// Progress is true when standard error is a terminal: then refresh
	// --due draws a progress line there (never into a log file).
	Progress bool
	// Now is the clock of the connectors the commands open; time.Now when nil.
	Now func() time.Time
}

// SystemIO returns the IO of the running process: its standard streams and
// environment, the system's browser opener, Interactive when standard
// input and standard error are terminals (a person can read the URL and
// paste a code), and Progress when standard error is one.
func SystemIO() IO {
	return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Getenv, Browser: OpenBrowser,
		Interactive: isTerminal(os.Stdin) && isTerminal(os.Stderr), Progress: isTerminal(os.Stderr)}
}

// OpenBrowser opens url with the system's opener: xdg-open, open (macOS) or
// rundll32 (Windows). It returns once the opener has started.
func OpenBrowser(ctx context.Context, url string) error {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return errors.New("not an http(s) URL")
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.CommandContext(ctx, "open", url)
	case "windows":
		cmd = exec.CommandContext(ctx, "rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.CommandContext(ctx, "xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // the opener's own status says little
	return nil
}

// command is one subcommand: its flags and its run function.
type command struct {
	name    string
	args    string // the usage after the name
	summary string
	// flags registers the command's own flags.
	flags func(fs *flag.FlagSet)
	// run runs the command with its positional arguments.
	run func(ctx context.Context, e *env, args []string) error
}

func commands() []*command {
	return []*command{
		authCommand(),
		tokenCommand(),
		refreshCommand(),
		callCommand(),
		connectionsCommand(),
		revokeCommand(),
		deleteCommand(),
		providersCommand(),
		sandboxCommand(),
		demoCommand(),
	}
}

// env is a command's view of its IO and the global flags.
type env struct {
	IO
	dsn     string // from --dsn or CONNECTOR_DSN; never printed
	verbose bool
	// secrets are scrubbed from every message the command prints.
	secrets []string
	// authReq is what an authorization run by the command attaches to
	// the connection (auth --ref and --tag, or a --ref that names none yet).
	authReq connector.AuthRequest
}

func (e *env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *env) getenv(k string) string {
	if e.Env == nil {
		return ""
	}
	return e.Env(k)
}

// printf writes a message line on standard error.
func (e *env) printf(format string, args ...any) {
	fmt.Fprintln(e.Err, e.scrub(fmt.Sprintf(format, args...)))
}

// scrub replaces every known secret in s.
func (e *env) scrub(s string) string {
	for _, sec := range e.secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// params parses and validates the connection string, and remembers its
// secrets for scrubbing.
func (e *env) params(validate bool) (*connstr.Params, error) {
	dsn := e.dsn
	if dsn == "" {
		dsn = e.getenv(EnvDSN)
	}
	if strings.TrimSpace(dsn) == "" {
		return nil, usageErrorf("no connection string: pass --dsn or set %s", EnvDSN)
	}
	p, err := connstr.Parse(dsn)
	if err != nil {
		return nil, err
	}
	e.secrets = append(e.secrets, p.ClientSecret, p.AccessToken, p.RefreshToken)
	if u, err := url.Parse(p.SettingsLocation); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			e.secrets = append(e.secrets, pw)
		}
	}
	if validate {
		if err := p.Validate(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// open opens a Connector for p with the command's clock and logger.
func (e *env) open(ctx context.Context, p *connstr.Params, extra ...func(*connector.Options)) (*connector.Connector, error) {
	var waitOnce sync.Once
	opts := append([]func(*connector.Options){func(o *connector.Options) {
		if e.Now != nil {
			o.Clock = e.Now
		}
		// A refresh waiting for another process's lease (one killed
		// mid-refresh, say) says so at once rather than sit silent.
		o.OnEvent = func(_ context.Context, ev connector.Event) {
			if ev.Kind != connector.LeaseWait {
				return
			}
			waitOnce.Do(func() {
				e.printf("connector: waiting for another process's refresh of %s (its lock lapses by %s at the latest)", ev.Connection.ID, ev.Until.Local().Format("15:04:05"))
			})
		}
		if e.verbose {
			o.Logger = slog.New(slog.NewTextHandler(e.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}}, extra...)
	return connector.OpenParams(ctx, p, opts...)
}

// selector names a connection: by --connection ID, by --ref REF (the
// application's reference, given at auth), or neither (the provider's only
// connection).
type selector struct {
	connection string
	ref        string
}

func (s *selector) register(fs *flag.FlagSet) {
	fs.StringVar(&s.connection, "connection", "", "the connection id, provider:account (default: the provider's only connection)")
	fs.StringVar(&s.ref, "ref", "", "the connection with this reference (given with auth --ref)")
}

// pick returns the connection s names.
func pick(ctx context.Context, c *connector.Connector, s selector) (*connector.Connection, error) {
	switch {
	case s.connection != "" && s.ref != "":
		return nil, usageErrorf("--connection and --ref both name a connection: give one")
	case s.ref != "":
		return c.ConnectionByRef(ctx, s.ref)
	case s.connection != "":
		return c.Connection(ctx, s.connection)
	}
	return c.Default(ctx)
}

// exitError is an error with its own exit code and message.
type exitError struct {
	code ExitCode
	msg  string
	err  error // the cause, printed after the message
}

func (e *exitError) Error() string {
	switch {
	case e.err == nil:
		return e.msg
	case e.msg == "":
		return describe(e.err)
	}
	return e.msg + ": " + describe(e.err)
}

func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

func failf(err error, format string, args ...any) error {
	return &exitError{code: ExitFailure, msg: fmt.Sprintf(format, args...), err: err}
}

// exitCodeOf maps an error to the exit code.
func exitCodeOf(err error) ExitCode {
	if err == nil {
		return ExitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return xe.code
	}
	switch connector.CodeOf(err) {
	case connector.CodeInvalidConfig, connector.CodeUnknownProvider, connector.CodeInvalidScope, connector.CodeInvalidClient:
		// invalid_client: the provider refused the app's credentials, a
		// configuration error that no retry or authorization fixes.
		return ExitUsage
	case connector.CodeReauthRequired, connector.CodeAuthorizationRequired:
		return ExitReauth
	}
	return ExitFailure
}

// describe returns err's message without the "connector: " prefix. A
// connector error wrapped by net/http (whose message would repeat the URL)
// is described by itself.
func describe(err error) string {
	var xe *exitError
	if !errors.As(err, &xe) {
		var ce *connector.Error
		if errors.As(err, &ce) {
			err = ce
		}
	}
	return strings.TrimPrefix(err.Error(), "connector: ")
}

// report prints err as one line on standard error and returns its exit code.
func (e *env) report(err error) ExitCode {
	msg := strings.Join(strings.Fields(describe(err)), " ")
	code := exitCodeOf(err)
	if code == ExitReauth && !strings.Contains(msg, "connector auth") {
		msg += " (run connector auth)"
	}
	if connector.CodeOf(err) == connector.CodeInvalidScope {
		msg += " (connector providers lists each provider's scopes)"
	}
	if connector.CodeOf(err) == connector.CodeInvalidClient {
		msg += " (check OAuthClientId and OAuthClientSecret against the app registered with the provider)"
	}
	fmt.Fprintln(e.Err, "connector: "+e.scrub(msg))
	return code
}

// Main runs the connector command with args (without the program name) and
// returns the exit code. It never calls os.Exit.
func Main(ctx context.Context, args []string, sys IO) ExitCode {
	if sys.In == nil {
		sys.In = strings.NewReader("")
	}
	if sys.Out == nil {
		sys.Out = io.Discard
	}
	if sys.Err == nil {
		sys.Err = io.Discard
	}
	e := &env{IO: sys}
	g := flag.NewFlagSet("connector", flag.ContinueOnError)
	g.SetOutput(io.Discard)
	registerGlobal(g, e)
	if err := g.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(e.Out)
			return ExitOK
		}
		usage(e.Err)
		return e.report(usageErrorf("%v", err))
	}
	rest := g.Args()
	if len(rest) == 0 {
		usage(e.Err)
		return e.report(usageErrorf("no command given"))
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) > 0 {
			if cmd := find(rest[0]); cmd != nil {
				commandUsage(e.Out, cmd)
				return ExitOK
			}
		}
		usage(e.Out)
		return ExitOK
	}
	cmd := find(name)
	if cmd == nil {
		usage(e.Err)
		return e.report(usageErrorf("unknown command %q", name))
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	registerGlobal(fs, e)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(e.Out, cmd)
			return ExitOK
		}
		fmt.Fprintf(e.Err, "usage: connector %s %s\n", cmd.name, cmd.args)
		return e.report(usageErrorf("%s: %v", cmd.name, err))
	}
	if err := cmd.run(ctx, e, pos); err != nil {
		return e.report(err)
	}
	return ExitOK
}

func registerGlobal(fs *flag.FlagSet, e *env) {
	fs.StringVar(&e.dsn, "dsn", e.dsn, "the connection string (default $"+EnvDSN+")")
	fs.BoolVar(&e.verbose, "verbose", e.verbose, "log what the connector does on standard error")
}

// parseInterspersed parses flags that may come before, between and after
// the positional arguments ("call GET store/info.json --data @body.json").
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func find(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `connector connects apps to commerce platforms over OAuth 2.

Usage: connector <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Every command that needs a connection string reads it from --dsn or $%s.
Exit codes: 0 done, 1 failure, 2 bad usage or configuration, 3 reauthorization needed.
Run "connector help <command>" for a command's flags; docs/cli.md has examples.
`, EnvDSN)
}

func commandUsage(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage: connector %s %s\n\n%s\n\nFlags:\n", cmd.name, cmd.args, cmd.summary)
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	var e env
	registerGlobal(fs, &e)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
}
