package connector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/connector-go/connector/driver"
)

// transport authenticates API requests for one Connection.
type transport struct {
	conn *Connection
}

// RoundTrip sets the bearer token and the provider's headers, refreshes and
// retries once on a 401, and retries idempotent requests on 429. A request
// for another origin than the API's is refused before anything is sent:
// the token and the provider's headers go nowhere else (a redirect to
// another origin is refused here too, with an error naming it). With
// Options.APITimeout, each exchange is bounded by it, inside the transport:
// an http.Client.Timeout over a transport net/http does not know would
// cost a goroutine and a timer per request.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c := t.conn.c
	if !c.sameOrigin(req.URL) {
		closeBody(req)
		return nil, c.errorf(driver.InvalidConfig, "api", "%s is not on the API's origin %s; the token is sent only there", redactedTarget(req.URL), c.apiOrigin)
	}
	authz, tok, err := t.conn.authorization(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.send(req, authz, tok, false)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && replayable {
		drain(resp)
		if tok, err = t.conn.Refresh(ctx); err != nil {
			return nil, err
		}
		authz = []string{"Bearer " + tok.AccessToken}
		if resp, err = t.send(req, authz, tok, true); err != nil {
			return nil, err
		}
	}
	pol := c.opts.Retry
	for attempt := 0; resp.StatusCode == http.StatusTooManyRequests && idempotent(req.Method) && replayable && attempt < pol.Max; attempt++ {
		wait := backoff(pol.WaitMin, pol.WaitMax, attempt, resp)
		drain(resp)
		select {
		case <-ctx.Done():
			return nil, c.errorf(driver.Unavailable, "api", "rate limited and gave up waiting: %v", ctx.Err())
		case <-time.After(wait):
		}
		if resp, err = t.send(req, authz, tok, true); err != nil {
			return nil, err
		}
	}
	if c.tel.apiRequests.Enabled(ctx) {
		c.tel.apiRequests.Add(ctx, 1, c.tel.statusOption(resp.StatusCode))
	}
	if !isRedirect(resp.StatusCode) {
		return resp, nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		// Refused here rather than in Client's CheckRedirect, so that the
		// error net/http wraps names our request, not the target's whole
		// URL (its query included).
		if u, err := req.URL.Parse(loc); err == nil && !c.sameOrigin(u) {
			drain(resp)
			e := c.errorf(driver.ProviderError, "api", "the API redirected to %s, outside its origin %s; not followed, so that the token stays there",
				redactedTarget(u), c.apiOrigin)
			e.Status = resp.StatusCode
			return nil, e
		}
	}
	return resp, nil
}

// apiHeadersOf returns the headers every API request of spec's provider
// carries unless it sets its own: Accept: application/json (the APIs are
// JSON) and the driver's Spec.APIHeaders, which win. They go into the
// transport's private copy of each request's header, never into the
// caller's request.
func apiHeadersOf(spec *driver.Spec) http.Header {
	h := http.Header{"Accept": {"application/json"}}
	for k, v := range spec.APIHeaders {
		h[http.CanonicalHeaderKey(k)] = v
	}
	return h
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// send sends a copy of req with tok (the Authorization value authz, or as
// the driver's APIAuthorizer sets it) and the API's headers (apiHeadersOf), within
// Options.APITimeout if set; again is set for a second attempt, whose body is
// rewound. The caller's request is not modified.
func (t *transport) send(req *http.Request, authz []string, tok *Token, again bool) (*http.Response, error) {
	c := t.conn.c
	ctx, cancel := req.Context(), context.CancelFunc(nil)
	var limited context.Context // ctx, when APITimeout may end it
	if d := c.opts.APITimeout; d > 0 {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > d {
			// The cause is what a Read of the answer that the deadline
			// ends returns (limitCause).
			ctx, cancel = context.WithTimeoutCause(ctx, d, c.apiLimit)
			limited = ctx
		}
	}
	if cancel == nil && c.bodyIdle > 0 {
		// silentBody ends a Read that waits too long by cancelling the
		// exchange: a Close alone would wait on net/http's gzip reader,
		// which holds its lock while it reads the gzip header.
		ctx, cancel = context.WithCancel(ctx)
	}
	r := req.WithContext(ctx) // a shallow copy; its header is replaced below
	if again && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			if cancel != nil {
				cancel()
			}
			return nil, err
		}
		r.Body = b
	}
	h := make(http.Header, len(req.Header)+len(c.apiHeaders)+1)
	for k, v := range req.Header {
		h[k] = v // shared, not copied: neither we nor net/http change them
	}
	for k, v := range c.apiHeaders {
		if _, ok := h[k]; !ok {
			h[k] = v
		}
	}
	r.Header = h
	if az, ok := c.p.(driver.APIAuthorizer); ok {
		az.AuthorizeAPIRequest(r, tok)
	} else {
		h["Authorization"] = authz
	}
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		err = t.failed(req.Context(), ctx, err)
	}
	if err == nil && resp.Body == nil {
		// As http.Client would make it: a RoundTripper (a WrapTransport's
		// cache, say) may answer without a body.
		resp.Body = http.NoBody
	}
	if err == nil && c.bodyIdle > 0 && resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != http.NoBody {
		// Not a 101's body, the upgraded connection (an io.ReadWriteCloser,
		// idle between messages), nor an empty one.
		resp.Body = &silentBody{rc: resp.Body, d: c.bodyIdle, cancel: cancel, limited: limited}
		return resp, nil
	}
	return cancelOnClose(resp, err, cancel, limited)
}

// failed gives an exchange that got no answer its Code, so that every
// error of Client holds an *driver.Error: driver.Canceled when the caller's context
// ended (errors.Is(err, context.Canceled) still holds), else
// driver.Unavailable, naming Options.APITimeout or Options.Timeout when it
// is what ended the wait.
func (t *transport) failed(caller, ctx context.Context, err error) error {
	c := t.conn.c
	var e *driver.Error
	switch {
	case driver.CodeOf(err) != driver.Unknown:
		return err
	case caller.Err() != nil:
		e = c.errorf(driver.Canceled, "api", "the caller's context ended before the API answered")
	case ctx.Err() != nil:
		e = c.errorf(driver.Unavailable, "api", "no answer from the API within %s (APITimeout)", c.opts.APITimeout)
		if errors.Is(err, c.apiLimit) {
			// net/http's HTTP/1 returns the deadline's cause, which would
			// say the same again; its HTTP/2, the bare deadline error.
			err = context.DeadlineExceeded
		}
	case errors.Is(err, context.DeadlineExceeded) && c.bodyIdle > 0:
		// The default transport's ResponseHeaderTimeout.
		e = c.errorf(driver.Unavailable, "api", "no answer from the API within %s (Timeout)", c.opts.Timeout)
	case errors.Is(err, context.DeadlineExceeded):
		// A time limit of the program's own transport.
		e = c.errorf(driver.Unavailable, "api", "no answer from the API within its transport's time limit")
	default:
		e = c.errorf(driver.Unavailable, "api", "no answer from the API")
	}
	e.Err = err
	return e
}

// authorization returns the Authorization header value of a valid token:
// built once per token (the snapshot keeps it), without an allocation when
// the cached token is fresh.
func (conn *Connection) authorization(ctx context.Context) ([]string, *Token, error) {
	if s := conn.snap.Load(); s != nil && s.usable {
		if conn.c.coarse {
			if now := coarse.now.Load(); now != 0 && now < s.refreshAtCoarse {
				return s.authz[:], s.tok, nil
			}
		}
		if s.fresh(conn.c.opts.Clock()) {
			return s.authz[:], s.tok, nil
		}
	}
	tok, err := conn.slowToken(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	if s := conn.snap.Load(); s != nil && s.tok == tok {
		return s.authz[:], tok, nil
	}
	return []string{"Bearer " + tok.AccessToken}, tok, nil
}

// statusOption returns the measurement option of an API status, built once
// per status.
func (t *telemetry) statusOption(status int) metric.MeasurementOption {
	if status < 100 || status >= len(t.byStatus)+100 {
		return metric.WithAttributes(attribute.String("provider", t.provider), attribute.Int("status", status))
	}
	p := &t.byStatus[status-100]
	if o := p.Load(); o != nil {
		return *o
	}
	o := metric.WithAttributeSet(attribute.NewSet(attribute.String("provider", t.provider), attribute.Int("status", status)))
	p.Store(&o)
	return o
}

// statusOptions holds one option per HTTP status 100–599.
type statusOptions [500]atomic.Pointer[metric.MeasurementOption]

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
