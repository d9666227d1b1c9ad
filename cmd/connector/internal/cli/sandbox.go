package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/simulator"
	"github.com/connector-go/connector/store"
)

// The app the sandbox registers with every simulator. The secret is not a
// secret: the sandbox is for local tries and serves loopback only.
const (
	SandboxClientID     = "sandbox-app"
	SandboxClientSecret = "sandbox-secret"
	// SandboxCallbackURL is the redirect URI registered by default.
	SandboxCallbackURL = "http://127.0.0.1:8085/callback"
)

type sandboxOptions struct {
	addr     string
	callback string
	location string
}

func sandboxCommand() *command {
	o := &sandboxOptions{}
	return &command{
		name:    "sandbox",
		args:    "[--addr 127.0.0.1:0] [--callback URL] [--store LOCATION]",
		summary: "serve every provider's simulator on loopback and print a ready connection string for each",
		examples: []string{
			"connector sandbox --addr 127.0.0.1:8086 > sandbox.dsn",
			"grep '^Provider=jumpseller;' sandbox.dsn > jumpseller.dsn && chmod 600 jumpseller.dsn && connector auth --dsn-file jumpseller.dsn",
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "the loopback `ADDRESS` to serve on (port 0: any free port)")
			fs.StringVar(&o.callback, "callback", SandboxCallbackURL, "the redirect `URI` registered with the simulators (beside "+driver.OOB+")")
			fs.StringVar(&o.location, "store", "", "the OAuthSettingsLocation `LOCATION` of the printed strings (default: connector-sandbox/connector.db in the temporary directory)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("sandbox takes no arguments, got %q", args[0])
			}
			return runSandbox(ctx, e, o)
		},
	}
}

// providerSimulator is what the sandbox and the demo use of a provider's
// simulator: a *simulator.Server (the Go drivers', and the profiles' whose
// wire format is Doorkeeper's), or a *profile.Simulator that translates
// one into its profile's wire format.
type providerSimulator interface {
	http.Handler
	AddClient(id, secret string, redirectURIs ...string)
	Approve(authorizeURL string) (*url.URL, error)
	Endpoint(base string) driver.Endpoint
	Config() simulator.Config
	SetClock(now func() time.Time)
	Stats() simulator.Stats
	ValidAccessToken(tok string) bool
	ValidRefreshToken(tok string) bool
	InjectFault(f simulator.Fault)
}

// simProvider is a provider with a fresh simulator.
type simProvider struct {
	name string
	spec *driver.Spec
	sim  providerSimulator
	// settings are the values of a profile's properties the simulator
	// plays (their examples), for ProfileSettings; nil for a Go driver.
	settings map[string]string
	// probe returns a GET path under the API base that the default
	// scopes may read (driver.Prober); nil when the driver knows none.
	probe func(account string) string
	// tokenWire and revokeWire say how token and revoke requests are
	// sent, for the demo's narration.
	tokenWire, revokeWire string
	// renews is true for a provider that issues no refresh tokens
	// (Spec.NoRefreshTokens) and whose driver renews access tokens by a
	// request of its own (driver.Refresher: SHOPLINE's global platform's
	// signed call).
	renews bool
}

// simulated returns a fresh simulator of each named provider (a
// registered driver or a catalog profile) that ships one. A provider
// named alone that ships none is a usage error; among several it is
// left out.
func simulated(names ...string) ([]simProvider, error) {
	var out []simProvider
	for _, name := range names {
		p, err := connector.Lookup(name)
		if err != nil {
			return nil, err
		}
		sp, ok := newSimProvider(strings.ToLower(strings.TrimSpace(name)), p)
		if !ok {
			if len(names) == 1 {
				return nil, usageErrorf("provider %s ships no simulator", name)
			}
			continue
		}
		out = append(out, sp)
	}
	if len(out) == 0 {
		return nil, &exitError{code: ExitFailure, msg: "no linked provider driver ships a simulator"}
	}
	return out, nil
}

// newSimProvider returns p with a fresh simulator, if it ships one. A
// profile's simulator plays the profile bound with its properties'
// examples, which settings then holds.
func newSimProvider(name string, p driver.Provider) (simProvider, bool) {
	s, ok := p.(driver.Simulated)
	if !ok {
		return simProvider{}, false
	}
	sim, ok := s.NewSimulator().(providerSimulator)
	if !ok {
		return simProvider{}, false
	}
	spec := p.Spec()
	_, refresher := p.(driver.Refresher)
	sp := simProvider{name: name, spec: spec, sim: sim,
		tokenWire:  spec.Token.Format.String() + " body",
		revokeWire: fmt.Sprintf("%s body, client auth %s", spec.Revoke.Format, spec.Revoke.Auth),
		renews:     spec.NoRefreshTokens && refresher}
	if spec.Token.Auth == driver.Signed {
		sp.tokenWire += ", signed with the client secret, which is not sent"
	}
	if prof := profile.FromDriver(p); prof != nil {
		ex := prof.Example()
		sp.settings = map[string]string{}
		for _, pr := range prof.Properties {
			sp.settings[pr.Name] = pr.Example
		}
		sp.probe = ex.Driver().(driver.Prober).ProbePath
		sp.tokenWire = prof.Token.Format + " body"
		if r := prof.Revoke; r != nil {
			sp.revokeWire = fmt.Sprintf("%s body, client auth %s", r.Format, r.ClientAuth)
			if len(r.Headers) > 0 {
				sp.revokeWire += ", headers " + strings.Join(slices.Sorted(maps.Keys(r.Headers)), ", ")
			}
		}
	} else if pr, ok := p.(driver.Prober); ok {
		sp.probe = pr.ProbePath
	}
	return sp, true
}

func runSandbox(ctx context.Context, e *env, o *sandboxOptions) error {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil || !driver.IsLoopback(host) {
		return usageErrorf("--addr must be a loopback host:port such as 127.0.0.1:8086: the sandbox serves nobody else")
	}
	if err := driver.CheckURL("--callback", o.callback, false); err != nil {
		return usageErrorf("%s", describe(err))
	}
	sims, err := simulated(connector.Providers()...)
	if err != nil {
		return err
	}
	location := o.location
	if location == "" {
		if location, err = defaultSandboxStore(e); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return failf(err, "cannot listen on %s", o.addr)
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	var index strings.Builder
	index.WriteString("connector sandbox: provider simulators\n\n")
	var dsns []string
	for _, sp := range sims {
		prefix := "/" + sp.name
		// The simulator sees paths without the prefix; its redirects to its
		// own pages (the out-of-band code page) put back what StripPrefix
		// removed, so that the browser stays under the prefix.
		mux.Handle(prefix+"/", http.StripPrefix(prefix, sp.sim))
		sp.sim.AddClient(SandboxClientID, SandboxClientSecret, o.callback, driver.OOB)
		dsn, err := simulatorDSN(sp, sp.sim.Endpoint(base+prefix), SandboxClientID, SandboxClientSecret, o.callback, location)
		if err != nil {
			ln.Close()
			return err
		}
		dsns = append(dsns, dsn)
		fmt.Fprintf(&index, "%s\t%s\n", sp.spec.DisplayName, sp.sim.Endpoint(base+prefix).AuthURL)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, index.String())
	})

	e.printf("connector sandbox: the provider simulators, on loopback only, at %s", base)
	for _, sp := range sims {
		e.printf("  %-12s %s/%s  (the consent page grants account %q)", sp.name, base, sp.name, sp.sim.Config().AccountID)
	}
	e.printf("App registered with each: client id %s, client secret %s, redirect URIs %s and %s.", SandboxClientID, SandboxClientSecret, o.callback, driver.OOB)
	e.printf("Connections are stored at %s.", location)
	e.printf("Connection strings, one per provider, follow on standard output. Try:")
	e.printf("  export %s='<one of them>'; connector auth; connector token; connector connections", EnvDSN)
	for _, d := range dsns {
		fmt.Fprintln(e.Out, d)
	}
	e.printf("Serving until interrupted (Ctrl-C).")

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		e.printf("connector sandbox: stopped.")
		return nil
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return failf(err, "the sandbox server failed")
	}
}

// defaultSandboxStore is a SQLite file in its own directory under the
// temporary directory (its key file goes beside it), or a memory store when
// no SQLite backend is linked.
func defaultSandboxStore(e *env) (string, error) {
	if !slices.Contains(store.Schemes(), "file") {
		e.printf("connector: note: no SQLite store is linked: the printed strings use memory://sandbox, which each command forgets on exit")
		return "memory://sandbox", nil
	}
	dir := filepath.Join(os.TempDir(), "connector-sandbox")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", failf(err, "cannot create %s", dir)
	}
	return filepath.Join(dir, "connector.db"), nil
}

// simulatorDSN returns the connection string of an app registered with a
// simulator served at ep, secrets in clear.
func simulatorDSN(sp simProvider, ep driver.Endpoint, id, secret, callback, location string) (string, error) {
	kv := [][2]string{
		{"Provider", sp.name},
		{"OAuthClientId", id},
		{"OAuthClientSecret", secret},
		{"CallbackURL", callback},
		{"OAuthAuthorizationURL", ep.AuthURL},
		{"OAuthAccessTokenURL", ep.TokenURL},
	}
	if ep.RefreshURL != "" && ep.RefreshURL != ep.TokenURL {
		// A simulator that serves refreshes apart from the code exchange
		// (SHOPLINE's global platform: token/refresh beside token/create).
		kv = append(kv, [2]string{"OAuthRefreshTokenURL", ep.RefreshURL})
	}
	if ep.RevokeURL != "" {
		kv = append(kv, [2]string{"OAuthRevokeURL", ep.RevokeURL})
	}
	if len(sp.settings) > 0 {
		var pairs []string
		for _, k := range slices.Sorted(maps.Keys(sp.settings)) {
			pairs = append(pairs, k+"="+sp.settings[k])
		}
		kv = append(kv, [2]string{"ProfileSettings", strings.Join(pairs, ";")})
	}
	kv = append(kv, [2]string{"URL", ep.APIBaseURL}, [2]string{"OAuthSettingsLocation", location})
	var b strings.Builder
	for _, p := range kv {
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(quoteValue(p[1]))
		b.WriteByte(';')
	}
	p, err := connstr.Parse(b.String())
	if err != nil {
		return "", err
	}
	return p.EncodeWithSecrets(), nil
}

// quoteValue quotes a connection-string value where Parse needs it.
func quoteValue(v string) string {
	if !strings.ContainsAny(v, `;"'`) && strings.TrimSpace(v) == v {
		return v
	}
	return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
}
