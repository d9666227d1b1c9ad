package cli

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
)

// flowOptions are the flags of the commands that may run an authorization
// flow (auth; token and call when interactive).
type flowOptions struct {
	noBrowser bool
	timeout   time.Duration
}

func (o *flowOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.noBrowser, "no-browser", false, "print the authorization URL without opening a browser")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the authorization callback (or the pasted code): a `DURATION` such as 90s or 5m")
}

type authOptions struct {
	flow flowOptions
	ref  string
	tags tagFlags
}

// tagFlags collects repeated --tag flags.
type tagFlags []string

func (t *tagFlags) String() string { return strings.Join(*t, ",") }

func (t *tagFlags) Set(v string) error {
	*t = append(*t, v)
	return nil
}

func authCommand() *command {
	o := &authOptions{}
	return &command{
		name:    "auth",
		global:  dsnFlags,
		args:    "[--ref REF] [--tag TAG]... [--no-browser] [--timeout 5m]",
		summary: "authorize the app: serve the CallbackURL, print the authorization URL, store the connection and print its id",
		examples: []string{
			"connector auth --dsn-file ~/.config/connector/jumpseller.dsn",
			"connector auth --ref customer-42 --tag eu --no-browser",
		},
		flags: func(fs *flag.FlagSet) {
			o.flow.register(fs)
			fs.StringVar(&o.ref, "ref", "", "your own reference `REF` for the connection (your customer's id), stored with it; select it later with --ref")
			fs.Var(&o.tags, "tag", "a label `TAG` stored with the connection (repeatable)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("auth takes no arguments, got %q", args[0])
			}
			return runAuth(ctx, e, o)
		},
	}
}

func runAuth(ctx context.Context, e *env, o *authOptions) error {
	e.authReq = connector.AuthRequest{Ref: o.ref, Tags: o.tags}
	p, err := e.params(true)
	if err != nil {
		return err
	}
	c, err := e.open(ctx, p)
	if err != nil {
		return err
	}
	defer c.Close()
	conn, err := authorize(ctx, e, c, p, o.flow)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Out, conn.ID())
	return nil
}

// authorize runs the authorization flow the CallbackURL calls for, and
// returns the stored connection.
func authorize(ctx context.Context, e *env, c *connector.Connector, p *connstr.Params, o flowOptions) (*connector.Connection, error) {
	if p.InitiateOAuth != "" && p.InitiateOAuth != connstr.ModeGetAndRefresh {
		return nil, usageErrorf("InitiateOAuth=%s forbids starting an authorization; use InitiateOAuth=GETANDREFRESH (the default)", p.InitiateOAuth)
	}
	if p.CallbackURL == "" {
		return nil, usageErrorf("CallbackURL is required to authorize: a loopback http URL registered with your app (such as http://127.0.0.1:8085/callback), or %s", driver.OOB)
	}
	if o.timeout <= 0 {
		o.timeout = 5 * time.Minute
	}
	for _, sc := range p.Scopes {
		if strings.Contains(sc, ",") {
			e.printf("connector: note: the scope %q holds a comma: scopes are separated by spaces (Scope=\"read_products read_orders\")", sc)
			break
		}
	}
	if strings.HasPrefix(strings.ToLower(p.SettingsLocation), "memory://") {
		e.printf("connector: note: OAuthSettingsLocation is a memory store: the connection lives only as long as this process")
	}
	display := c.Spec().DisplayName
	var (
		conn *connector.Connection
		err  error
	)
	if p.CallbackURL == driver.OOB {
		conn, err = authorizeOOB(ctx, e, c, p, o)
	} else {
		conn, err = authorizeLoopback(ctx, e, c, p, o)
	}
	if err != nil && conn == nil {
		if driver.CodeOf(err) == driver.AccessDenied {
			return nil, &exitError{code: ExitFailure, msg: "authorization was denied at " + display + " (error access_denied); nothing was stored, run connector auth to try again"}
		}
		return nil, err
	}
	if err != nil {
		e.printf("connector: warning: connected, but the account could not be identified: %s", describe(err))
	}
	info := conn.Info()
	e.printf("Connected to %s: account %s, connection %s.", display, orDash(info.Account), conn.ID())
	return conn, nil
}

// authorizeLoopback serves the CallbackURL on loopback, prints the
// authorization URL and waits for the provider's redirect.
func authorizeLoopback(ctx context.Context, e *env, c *connector.Connector, p *connstr.Params, o flowOptions) (*connector.Connection, error) {
	u, err := loopbackCallback(p.CallbackURL)
	if err != nil {
		return nil, err
	}
	flow, err := startCallback(ctx, e, c, u) // listening before the URL is shown
	if err != nil {
		return nil, err
	}
	defer flow.close()
	flow.hint = refusalHint(c.Spec().DisplayName, flow.authURL, p)
	flow.say = e.printf
	e.printf("Open this URL in a browser to authorize the app at %s:", c.Spec().DisplayName)
	fmt.Fprintln(e.Err, flow.authURL)
	if !o.noBrowser {
		openBrowser(ctx, e, flow.authURL)
	}
	e.printf("Waiting up to %s for the callback on %s …", o.timeout, p.CallbackURL)
	return flow.wait(ctx, o.timeout)
}

// authorizeOOB prints the authorization URL and reads the code the provider
// shows from standard input.
func authorizeOOB(ctx context.Context, e *env, c *connector.Connector, p *connstr.Params, o flowOptions) (*connector.Connection, error) {
	authURL, state, err := c.AuthURLState(e.authReq)
	if err != nil {
		return nil, err
	}
	e.printf("Open this URL in a browser, authorize the app at %s and paste the code it shows:", c.Spec().DisplayName)
	fmt.Fprintln(e.Err, authURL)
	if !o.noBrowser {
		openBrowser(ctx, e, authURL)
	}
	const prompt = "Authorization code: "
	fmt.Fprint(e.Err, prompt)
	hint := refusalHint(c.Spec().DisplayName, authURL, p)
	code, err := readLine(ctx, e.In, o.timeout, func() {
		fmt.Fprintln(e.Err)
		e.printf("connector: no code after %s. %s.", hintDelay(o.timeout), hint)
		fmt.Fprint(e.Err, prompt)
	}, hint)
	if err != nil {
		fmt.Fprintln(e.Err) // end the prompt's line: the error is a line of its own
		return nil, err
	}
	if code == "" {
		return nil, &exitError{code: ExitFailure, msg: "no authorization code was entered; nothing was stored"}
	}
	return c.Exchange(ctx, state, code)
}

// hintAfter is how long auth waits for the callback (or the pasted code)
// before it says what an error page at the provider means. At Doorkeeper a
// refused request (an unknown scope, a redirect URI not registered, an
// unknown client id) shows an error page and never calls back
// (AuthorizationsController#render_error), so the command would otherwise
// wait in silence until its timeout. The hint is not printed with the URL:
// it would be noise in every flow that works, and most are done well within
// 30 s; a user who meets the error page comes back to the terminal and finds
// it there. A shorter --timeout brings it forward to half the timeout.
const hintAfter = 30 * time.Second

// hintDelay is when the hint is printed during a wait of timeout.
func hintDelay(timeout time.Duration) time.Duration {
	return min(hintAfter, timeout/2)
}

// refusalHint says what an error page at the provider means and what to
// check: the scopes authURL requests, the CallbackURL and the client id,
// each as the connection string has it. It holds no secret.
func refusalHint(display, authURL string, p *connstr.Params) string {
	scope := "none"
	if u, err := url.Parse(authURL); err == nil {
		if s := u.Query().Get("scope"); s != "" {
			scope = strconv.Quote(s)
		}
	}
	outcome := "will not call back"
	if p.CallbackURL == driver.OOB {
		outcome = "shows no code"
	}
	return fmt.Sprintf("If %s showed an error page instead of asking you to authorize, it refused the request and %s: "+
		"check that the app may request the scopes sent (%s; Scope in the connection string), that CallbackURL %s is registered "+
		"with the app as a redirect URI, and that OAuthClientId %s is the app's client id",
		display, outcome, scope, p.CallbackURL, strconv.Quote(p.ClientID))
}

func openBrowser(ctx context.Context, e *env, u string) {
	if e.Browser == nil {
		e.printf("connector: no browser can be opened from here; open the URL above yourself")
		return
	}
	if err := e.Browser(ctx, u); err != nil {
		e.printf("connector: could not open a browser (%v); open the URL above yourself", err)
	}
}

// readLine reads one line from r, within timeout. If nothing was read after
// hintDelay(timeout), it calls waiting (when not nil), once; hint, when not
// empty, ends the timeout's message.
func readLine(ctx context.Context, r io.Reader, timeout time.Duration, waiting func(), hint string) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var hintC <-chan time.Time
	if waiting != nil {
		h := time.NewTimer(hintDelay(timeout))
		defer h.Stop()
		hintC = h.C
	}
	for {
		select {
		case <-hintC:
			hintC = nil
			waiting()
		case res := <-ch:
			if res.err != nil && res.line == "" {
				if errors.Is(res.err, io.EOF) {
					return "", &exitError{code: ExitFailure, msg: "standard input ended before an authorization code was entered; nothing was stored"}
				}
				return "", failf(res.err, "cannot read the authorization code")
			}
			return res.line, nil
		case <-t.C:
			return "", &exitError{code: ExitFailure, msg: timeoutMessage(fmt.Sprintf("timed out after %s waiting for the authorization code", timeout), hint)}
		case <-ctx.Done():
			return "", failf(ctx.Err(), "interrupted while waiting for the authorization code")
		}
	}
}

// timeoutMessage is what ends a wait that timed out: nothing was stored,
// the hint if any, and what to run.
func timeoutMessage(what, hint string) string {
	if hint == "" {
		return what + "; nothing was stored, run connector auth again"
	}
	return what + "; nothing was stored. " + hint + "; then run connector auth again"
}

// carriesState reports whether a request to the callback path carries the
// state of the authorization in progress, under whatever name: the
// provider echoes it as state (RFC 6749 §4.1.2) or under its own name
// (SHOPLINE's global platform: customField), which only the driver knows
// (driver.CallbackReader), and the engine then checks it there. The state
// is unguessable and issued for this flow alone, so a request without it —
// a stray GET, a page probing the port, another flow's callback — is not
// the provider's redirect for this flow and never reaches the engine.
// Every value is compared in constant time.
func carriesState(q url.Values, state string) bool {
	if state == "" {
		return false
	}
	found := 0
	for _, vs := range q {
		for _, v := range vs {
			found |= subtle.ConstantTimeCompare([]byte(v), []byte(state))
		}
	}
	return found == 1
}

// loopbackCallback checks that the CallbackURL is one the CLI can serve.
func loopbackCallback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || !driver.IsLoopback(u.Hostname()) || u.User != nil {
		return nil, usageErrorf("connector serves the CallbackURL itself, so it must be a loopback http URL registered with your app (such as http://127.0.0.1:8085/callback) or %s", driver.OOB)
	}
	return u, nil
}

// callbackFlow is the local server that receives the provider's redirect.
type callbackFlow struct {
	c         *connector.Connector
	ctx       context.Context // for the exchange; outlives a browser that goes away
	cancel    context.CancelFunc
	callback  string // the CallbackURL
	path      string
	state     string // the engine's state for this flow (AuthURLState), not read from the URL
	authURL   string
	scrub     func(string) string
	servers   []*http.Server
	listeners []net.Listener
	results   chan flowResult
	failed    chan error
	hint      string               // what an error page at the provider means; "" for none
	say       func(string, ...any) // prints the hint while waiting; nil: not printed

	mu   sync.Mutex
	done bool // the first valid callback was handled
}

type flowResult struct {
	conn *connector.Connection
	err  error
}

// startCallback listens on the CallbackURL's host and port, then builds the
// authorization URL (whose state it expects back) and starts serving.
func startCallback(ctx context.Context, e *env, c *connector.Connector, u *url.URL) (*callbackFlow, error) {
	ls, err := listenLoopback(u)
	if err != nil {
		return nil, err
	}
	return serveCallback(ctx, e, c, u, ls)
}

// serveCallback is startCallback on listeners already open.
func serveCallback(ctx context.Context, e *env, c *connector.Connector, u *url.URL, ls []net.Listener) (*callbackFlow, error) {
	authURL, state, err := c.AuthURLState(e.authReq)
	if err != nil {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	f := &callbackFlow{
		c: c, callback: u.String(), path: u.Path, state: state, authURL: authURL, scrub: e.scrub,
		results: make(chan flowResult, 1), failed: make(chan error, len(ls)),
	}
	if f.path == "" {
		f.path = "/"
	}
	f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	f.listeners = ls
	for _, l := range ls {
		srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
		f.servers = append(f.servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				f.failed <- err
			}
		}()
	}
	return f, nil
}

// localhostAddrs are the addresses a localhost CallbackURL is served on.
//
// They are a fixed set, not the answer of net.DefaultResolver.LookupIPAddr:
// the browser resolves localhost with its own resolver (Chromium and Firefox
// answer it themselves, with both families, whatever the hosts file says),
// which need not agree with Go's, and serving only the family Go happened to
// return left the other one to whoever held it: a program listening on
// [::1]:PORT received the code and the state of a browser that chose ::1. A
// fixed set also never listens off loopback, where a hosts file that maps
// localhost to another address would have sent it.
var localhostAddrs = []string{"127.0.0.1", "::1"}

// localhostTries bounds the attempts at a port 0 free on every family of
// localhostAddrs: the port the first listener got may be taken on another.
const localhostTries = 5

// listenLoopback listens on the CallbackURL's port: on its host when that is
// an IP literal (one listener), and for localhost on every address of
// localhostAddrs, all on one port (with port 0, the one the first listener
// got). An address that exists but is taken fails the command at once, before
// the authorization URL is printed, and the error names it; only an address
// the machine lacks (no IPv6 loopback) is skipped, since no one can hold it.
func listenLoopback(u *url.URL) ([]net.Listener, error) {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	host := u.Hostname()
	if !strings.EqualFold(host, "localhost") {
		addr := net.JoinHostPort(host, port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, &exitError{code: ExitFailure, err: &listenError{addr: addr, err: err}}
		}
		return []net.Listener{l}, nil
	}
	var err error
	for range localhostTries {
		var ls []net.Listener
		if ls, err = listenAll(localhostAddrs, port); err == nil {
			return ls, nil
		}
		if port != "0" || !addrInUse(err) {
			break
		}
	}
	return nil, &exitError{code: ExitFailure, err: err}
}

// listenAll listens on port at every one of hosts that exists, or on none.
// Port 0 becomes the port of the first listener.
func listenAll(hosts []string, port string) ([]net.Listener, error) {
	var (
		ls     []net.Listener
		absent error
	)
	for _, h := range hosts {
		addr := net.JoinHostPort(h, port)
		l, err := net.Listen("tcp", addr)
		switch {
		case err == nil:
			ls = append(ls, l)
			if port == "0" {
				port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
			}
		case addrAbsent(err):
			if absent == nil {
				absent = &listenError{addr: addr, err: err}
			}
		default:
			for _, l := range ls {
				l.Close()
			}
			return nil, &listenError{addr: addr, err: err}
		}
	}
	if len(ls) == 0 {
		return nil, absent
	}
	return ls, nil
}

// listenError is a callback address that cannot be listened on.
type listenError struct {
	addr string // host:port
	err  error
}

func (e *listenError) Error() string {
	if addrInUse(e.err) {
		return "cannot listen on " + e.addr + " for the callback: address already in use (another program holds it); free it or choose another port in CallbackURL"
	}
	reason := e.err.Error()
	var se *os.SyscallError
	if errors.As(e.err, &se) {
		reason = se.Err.Error()
	}
	return "cannot listen on " + e.addr + " for the callback: " + reason
}

func (e *listenError) Unwrap() error { return e.err }

// Winsock's codes, which package syscall names only on Unix.
const (
	wsaEAFNOSUPPORT  syscall.Errno = 10047
	wsaEADDRINUSE    syscall.Errno = 10048
	wsaEADDRNOTAVAIL syscall.Errno = 10049
)

// addrInUse reports whether a listen failed because another socket holds
// the address.
func addrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || runtime.GOOS == "windows" && errors.Is(err, wsaEADDRINUSE)
}

// addrAbsent reports whether a listen failed because the machine has no such
// address (IPv6 loopback disabled: EADDRNOTAVAIL) or no such family at all.
func addrAbsent(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) ||
		runtime.GOOS == "windows" && (errors.Is(err, wsaEADDRNOTAVAIL) || errors.Is(err, wsaEAFNOSUPPORT))
}

// wait returns the outcome of the first valid callback. With a hint and a
// say, it prints the hint once after hintDelay(timeout) without a callback,
// and ends the timeout's message with it.
func (f *callbackFlow) wait(ctx context.Context, timeout time.Duration) (*connector.Connection, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	var hintC <-chan time.Time
	if f.hint != "" && f.say != nil {
		h := time.NewTimer(hintDelay(timeout))
		defer h.Stop()
		hintC = h.C
	}
	for {
		select {
		case <-hintC:
			hintC = nil
			f.say("connector: no callback after %s. %s.", hintDelay(timeout), f.hint)
		case r := <-f.results:
			return r.conn, r.err
		case err := <-f.failed:
			return nil, failf(err, "the callback server failed")
		case <-t.C:
			return nil, &exitError{code: ExitFailure, msg: timeoutMessage(fmt.Sprintf("timed out after %s waiting for the authorization callback on %s", timeout, f.callback), f.hint)}
		case <-ctx.Done():
			return nil, failf(ctx.Err(), "interrupted while waiting for the authorization callback")
		}
	}
}

// close stops the servers once the page of the callback has been sent.
func (f *callbackFlow) close() {
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range f.servers {
		if s.Shutdown(sctx) != nil {
			s.Close()
		}
	}
	// Serve may not have started yet: free the port now in any case.
	for _, l := range f.listeners {
		l.Close()
	}
	f.cancel()
}

// ServeHTTP answers the callback path; every other path is a 404.
func (f *callbackFlow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if host, _, err := net.SplitHostPort(r.Host); err != nil && !driver.IsLoopback(r.Host) || err == nil && !driver.IsLoopback(host) {
		// Not addressed to a loopback name: a DNS-rebinding page, say.
		http.Error(w, "misdirected request", http.StatusMisdirectedRequest)
		return
	}
	if r.URL.Path != f.path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	display := f.c.Spec().DisplayName
	q := r.URL.Query()
	if !carriesState(q, f.state) {
		writePage(w, http.StatusBadRequest, page{Title: "Unexpected callback", Heading: "This callback does not match the authorization in progress",
			Message: "Its state parameter is missing or different. The terminal is still waiting; open the URL it printed to authorize."})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		writePage(w, http.StatusConflict, page{Title: "Already handled", Heading: "This authorization was already handled",
			Message: "You can close this window and return to the terminal."})
		return
	}
	f.done = true
	conn, err := f.c.HandleCallback(f.ctx, q)
	switch {
	case conn != nil:
		acc := conn.Info().Account
		msg := "Account " + orDash(acc) + " is connected (connection " + conn.ID() + "). You can close this window and return to the terminal."
		writePage(w, http.StatusOK, page{OK: true, Title: "Connected to " + display, Heading: "Connected to " + display, Message: msg})
	case driver.CodeOf(err) == driver.AccessDenied:
		writePage(w, http.StatusForbidden, page{Title: "Authorization denied", Heading: "Authorization was denied",
			Message: "Nothing was stored. To try again, run connector auth in the terminal."})
	default:
		writePage(w, http.StatusBadGateway, page{Title: "Authorization failed", Heading: "Authorization failed",
			Message: "Nothing was stored. The terminal shows the details; run connector auth to try again.", Detail: f.scrub(describe(err))})
	}
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	f.results <- flowResult{conn, err}
}

// page is the small self-contained page the callback answers with.
type page struct {
	OK                              bool
	Title, Heading, Message, Detail string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · connector</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}
main{border:1px solid #d0d7de;border-left:6px solid #cf222e;border-radius:8px;padding:1.25rem 1.5rem}
main.ok{border-left-color:#1f883d}
h1{font-size:1.3rem;margin-top:0}
.detail{font-family:ui-monospace,monospace;font-size:.85rem;background:#f6f8fa;padding:.5rem;border-radius:4px;word-break:break-word}
.note{color:#656d76;font-size:.85rem}
</style></head>
<body><main{{if .OK}} class="ok"{{end}}>
<h1>{{.Heading}}</h1>
<p>{{.Message}}</p>
{{if .Detail}}<p class="detail">{{.Detail}}</p>{{end}}
<p class="note">This page was served by the connector command on your computer.</p>
</main></body></html>
`))

// writePage answers with p: no third-party content, inline CSS only, no
// referrer (the URL holds the code), not cached, not framed.
func writePage(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, p)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
