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
// Where the cause is a common slip (a typo'd command or flag, an unquoted
// connection string, scopes separated by commas, a store location given as
// the connection string) the line says what was meant (hints.go, suggest.go).
//
// # Files
//
// usage.go parses the flags and prints help; dsn.go reads the connection
// string (--dsn, --dsn-file, CONNECTOR_DSN, CONNECTOR_DSN_FILE);
// storecheck.go keeps the commands that need an existing store from
// creating one; verbose.go is --verbose; the other files are one command
// each.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/connector-go/connector/driver"

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
	// examples are shown by connector help COMMAND, one a line.
	examples []string
	// global says which global flags the command takes: its help lists
	// only those, and it accepts no other.
	global globalFlags
	// flags registers the command's own flags.
	flags func(fs *flag.FlagSet)
	// run runs the command with its positional arguments.
	run func(ctx context.Context, e *env, args []string) error
}

// globalFlags selects the global flags a command takes.
type globalFlags int

const (
	// noGlobal: neither a connection string nor --verbose.
	noGlobal globalFlags = iota
	// verboseOnly: --verbose.
	verboseOnly
	// dsnFlags: --dsn, --dsn-file and --verbose.
	dsnFlags
)

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
		versionCommand(),
	}
}

// env is a command's view of its IO and the global flags.
type env struct {
	IO
	dsn     string // from --dsn; never printed
	dsnFile string // from --dsn-file
	verbose bool
	version bool // --version, before any command
	// dsnFrom says where the connection string came from (--dsn,
	// CONNECTOR_DSN, --dsn-file FILE), for the hints of report.
	dsnFrom string
	// rawDSN is the connection string as read (quotes and spaces removed),
	// for the hints of report; never printed.
	rawDSN string
	// secrets are scrubbed from every message the command prints.
	secrets []string
	// authReq is what an authorization run by the command attaches to
	// the connection (auth --ref and --tag, or a --ref that names none yet).
	authReq connector.AuthRequest
	// tracer traces HTTP exchanges and store calls with --verbose.
	tracer *verboseTracer
	// stderr is the one writer of the lines that may come while refresh
	// --due's progress line is drawn on Err: messages and trace lines.
	stderr statusLine
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

// printf writes a message line on standard error (below a progress line
// that is drawn there).
func (e *env) printf(format string, args ...any) {
	e.stderr.println(e.Err, e.scrub(fmt.Sprintf(format, args...)))
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
	dsn, err := e.readDSN()
	if err != nil {
		return nil, err
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
			e.tracer.options(o)
		}
	}}, extra...)
	start := time.Now()
	c, err := connector.OpenParams(ctx, p, opts...)
	if c != nil {
		e.tracer.printf("open %s with the store %s: ok (%s)", c.Provider(), redactLocation(p.SettingsLocation), since(start))
	} else {
		e.tracer.printf("open the store %s: %s (%s)", redactLocation(p.SettingsLocation), outcome(err), since(start))
	}
	return c, err
}

// selector names a connection: by --connection ID, by --ref REF (the
// application's reference, given at auth), or neither (the provider's only
// connection).
type selector struct {
	connection string
	ref        string
}

func (s *selector) register(fs *flag.FlagSet) {
	fs.StringVar(&s.connection, "connection", "", "the connection `ID`, provider:account (default $"+EnvConnection+", else the provider's only connection)")
	fs.StringVar(&s.ref, "ref", "", "the connection with this reference `REF` (given with auth --ref)")
}

// withDefault returns s, with --connection from CONNECTOR_CONNECTION when
// neither --connection nor --ref is given.
func (e *env) withDefault(s selector) selector {
	if s.connection == "" && s.ref == "" {
		s.connection = strings.TrimSpace(e.getenv(EnvConnection))
	}
	return s
}

// maxKnown is how many connection ids an unknown id's message lists.
const maxKnown = 10

// openStored parses the connection string, opens its connector and picks the
// stored connection s names, for a command (cmd) that acts on one: it
// creates no store where none exists (ExitReauth: nothing stored yet),
// unless the connection string carries the grant itself. The caller closes
// the Connector.
func (e *env) openStored(ctx context.Context, cmd string, s selector) (*connstr.Params, *connector.Connector, *connector.Connection, error) {
	p, err := e.params(true)
	if err != nil {
		return nil, nil, nil, err
	}
	if !supplied(p) {
		if err := e.requireStore(ctx, p, cmd, ExitReauth); err != nil {
			return nil, nil, nil, err
		}
	}
	c, err := e.open(ctx, p)
	if err != nil {
		return nil, nil, nil, err
	}
	conn, err := e.pick(ctx, c, s)
	if err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	return p, c, conn, nil
}

// pick returns the connection s (or CONNECTOR_CONNECTION) names. An
// unknown id is a usage error that names the known ones.
func (e *env) pick(ctx context.Context, c *connector.Connector, s selector) (*connector.Connection, error) {
	s = e.withDefault(s)
	switch {
	case s.connection != "" && s.ref != "":
		return nil, usageErrorf("--connection and --ref both name a connection: give one")
	case s.ref != "":
		return c.ConnectionByRef(ctx, s.ref)
	case s.connection != "":
		conn, err := c.Connection(ctx, s.connection)
		if driver.CodeOf(err) == driver.NotFound {
			return nil, unknownConnection(ctx, c, s.connection)
		}
		return conn, err
	}
	return c.Default(ctx)
}

// unknownConnection is the error for a connection id the store does not
// hold for this provider and application: it names the ones it holds.
func unknownConnection(ctx context.Context, c *connector.Connector, id string) error {
	list, err := c.Connections(ctx)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("no %s connection %q for this application", c.Provider(), id)
	if len(list) == 0 {
		return usageErrorf("%s; there is none yet (run connector auth)", msg)
	}
	var ids []string
	for _, l := range list {
		ids = append(ids, l.ID)
	}
	known := strings.Join(ids[:min(len(ids), maxKnown)], ", ")
	if len(ids) > maxKnown {
		known += fmt.Sprintf(" … and %d more; run `connector connections`", len(ids)-maxKnown)
	}
	if s := suggest(id, ids); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return usageErrorf("%s (known: %s)", msg, known)
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
	switch driver.CodeOf(err) {
	case driver.InvalidConfig, driver.UnknownProvider, driver.InvalidScope, driver.InvalidClient:
		// invalid_client: the provider refused the app's credentials, a
		// configuration error that no retry or authorization fixes.
		return ExitUsage
	case driver.ReauthRequired, driver.AuthorizationRequired:
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
		var ce *driver.Error
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
	if driver.CodeOf(err) == driver.InvalidScope {
		msg += " (connector providers lists each provider's scopes)"
	}
	if driver.CodeOf(err) == driver.InvalidClient {
		msg += " (check OAuthClientId and OAuthClientSecret against the app registered with the provider)"
	}
	msg = e.hint(err, msg)
	fmt.Fprintln(e.Err, "connector: "+e.scrub(msg))
	return code
}
