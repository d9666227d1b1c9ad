package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/connector-go/connector/driver"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/connector-go/connector"
)

// verboseTracer writes what --verbose shows on standard error, one line
// each: every HTTP exchange (method, URL without query values, status,
// duration) through a RoundTripper given to the connector as
// Options.WrapTransport, and every store call, refresh and lease wait through
// the connector's OpenTelemetry spans (telemetry.go in the library), which
// it receives as a TracerProvider. Neither ever holds a token, a code or a
// secret: no header, body or query value is shown, and each line is
// scrubbed of the connection string's secrets as well. Its lines go
// through the env's statusLine, one at a time and below a progress line.
type verboseTracer struct {
	e *env
}

func newVerboseTracer(e *env) *verboseTracer { return &verboseTracer{e: e} }

// printf writes one trace line; a nil tracer writes nothing.
func (t *verboseTracer) printf(format string, args ...any) {
	if t == nil {
		return
	}
	line := t.e.scrub(fmt.Sprintf(format, args...))
	t.e.stderr.println(t.e.Err, "connector: trace: "+line)
}

// options makes the connector's HTTP requests and spans come here. Its
// transport wraps the connector's own (Options.WrapTransport), which keeps
// its limits.
func (t *verboseTracer) options(o *connector.Options) {
	wrap := o.WrapTransport
	o.WrapTransport = func(base http.RoundTripper) http.RoundTripper {
		if wrap != nil {
			base = wrap(base)
		}
		return &verboseTransport{t: t, base: base}
	}
	o.TracerProvider = verboseProvider{t: t}
	o.Logger = slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // the lines come as they happen
			}
			return a
		}}))
}

// logWriter writes the library's log lines as trace lines, "connector:
// log: level=INFO msg=…", scrubbed like the rest.
type logWriter struct{ t *verboseTracer }

func (w logWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.t.e.stderr.println(w.t.e.Err, "connector: log: "+w.t.e.scrub(line))
	}
	return len(b), nil
}

// root starts the span the command runs in: the connector starts the spans
// of store calls only inside a recording one.
func (t *verboseTracer) root(ctx context.Context, name string) (context.Context, func()) {
	ctx, span := verboseProvider{t: t}.Tracer("connector-cli").Start(ctx, "connector.cli."+name)
	return ctx, func() { span.End() }
}

// since is the time since start, rounded for reading.
func since(start time.Time) time.Duration {
	d := time.Since(start)
	if d > time.Millisecond {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// outcome is "ok", or "failed (code)" for err.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return "failed (" + driver.CodeOf(err).String() + ")"
}

// verboseTransport traces each HTTP exchange.
type verboseTransport struct {
	t    *verboseTracer
	base http.RoundTripper
}

func (v *verboseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		v.t.printf("http %s %s: %s (%s)", req.Method, redactURL(req.URL), transportError(err), since(start))
		return resp, err
	}
	v.t.printf("http %s %s: %s (%s)", req.Method, redactURL(req.URL), resp.Status, since(start))
	return resp, nil
}

// transportError describes a failed exchange without the URL (whose query
// *url.Error would repeat).
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// redactURL is u without user information or fragment, each query value
// replaced by "…": a query may carry a code, a state or a token.
func redactURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := r.String()
	if u.RawQuery == "" {
		return s
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return s + "?…"
	}
	var keys []string
	for k := range q {
		keys = append(keys, url.QueryEscape(k)+"=…")
	}
	slices.Sort(keys)
	return s + "?" + strings.Join(keys, "&")
}

// redactLocation is an OAuthSettingsLocation without a password or query
// values; "" is the default location.
func redactLocation(loc string) string {
	if loc == "" {
		return "(the default location)"
	}
	if !locationURL.MatchString(loc) {
		return loc
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(a location that is not a valid URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	s := redactURL(u)
	if u.User != nil && u.User.Username() != "" {
		s = strings.Replace(s, "://", "://"+u.User.Username()+"@", 1)
	}
	return s
}

// verboseProvider is an OpenTelemetry TracerProvider whose spans are trace
// lines.
type verboseProvider struct {
	embedded.TracerProvider
	t *verboseTracer
}

func (p verboseProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return verboseOT{t: p.t}
}

var _ trace.Tracer = verboseOT{}

// verboseOT is the Tracer of verboseProvider.
type verboseOT struct {
	embedded.Tracer
	t *verboseTracer
}

func (tr verboseOT) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	s := &verboseSpan{t: tr.t, name: name, start: time.Now(), attrs: cfg.Attributes()}
	return trace.ContextWithSpan(ctx, s), s
}

// verboseSpan prints itself when it ends: store calls, refreshes, lease
// waits and revocations (token requests are traced by verboseTransport).
type verboseSpan struct {
	noop.Span
	t     *verboseTracer
	name  string
	start time.Time
	mu    sync.Mutex
	attrs []attribute.KeyValue
	err   string
}

func (s *verboseSpan) IsRecording() bool { return true }

func (s *verboseSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	s.attrs = append(s.attrs, kv...)
	s.mu.Unlock()
}

func (s *verboseSpan) SetStatus(c codes.Code, desc string) {
	if c == codes.Error {
		s.mu.Lock()
		s.err = desc
		s.mu.Unlock()
	}
}

func (s *verboseSpan) TracerProvider() trace.TracerProvider { return verboseProvider{t: s.t} }

func (s *verboseSpan) End(...trace.SpanEndOption) {
	s.mu.Lock()
	attrs, failed := s.attrs, s.err
	s.mu.Unlock()
	attr := func(k string) string {
		for _, kv := range attrs {
			if string(kv.Key) == k {
				return kv.Value.Emit()
			}
		}
		return ""
	}
	var what string
	switch op, ok := strings.CutPrefix(s.name, "connector.store."); {
	case ok:
		what = "store " + op
		if k := attr("connector.store.key"); k != "" {
			what += " " + k
		}
	case s.name == "connector.refresh", s.name == "connector.revoke", s.name == "connector.lease.wait":
		what = strings.ReplaceAll(strings.TrimPrefix(s.name, "connector."), ".", " ") + " " + attr("connector.connection")
	default:
		return
	}
	result := "ok"
	if failed != "" {
		result = "failed (" + failed + ")"
	}
	s.t.printf("%s: %s (%s)", what, result, since(s.start))
}
