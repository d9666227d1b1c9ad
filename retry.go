package connector

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"
	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// noReplayKey marks the context of a request that must not be sent twice
// once it may have reached the provider.
type noReplayKey struct{}

// checkRetry is the retry policy of token and revoke requests, in
// go-retryablehttp's shape: retry connection failures (other than bad URLs
// and TLS failures), 429 and every 5xx; never retry once ctx is done. The
// answer's body is not consulted: a 503 is retried whatever it says.
//
// A refresh for a provider that spends a refresh token on first use
// (driver.Spec.RefreshReplaySafe false) is not retried after a transport
// error that may have followed the request's arrival: presenting the token
// again could revoke the whole grant.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if ctx.Value(noReplayKey{}) != nil && driver.MaybeSent(err) {
			return false, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, nil
}

// parseRetryAfter reads a Retry-After header value (RFC 9110 §10.2.3): a
// non-negative number of seconds or an HTTP date. A date in the past gives
// 0. A negative number, garbage or an empty value gives ok == false.
// Durations that overflow are reported as the largest time.Duration; callers
// cap them.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, _ := err.(*strconv.NumError); ne != nil && ne.Err == strconv.ErrRange {
				return time.Duration(1<<63 - 1), true
			}
			return 0, false
		}
		if n > uint64((1<<63-1)/int64(time.Second)) {
			return time.Duration(1<<63 - 1), true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d = t.Sub(now); d < 0 {
		d = 0
	}
	return d, true
}

// backoff returns how long to wait before retry number attempt (0-based):
// the answer's Retry-After when it is a 429 or 503 that carries a valid one,
// else min·2^attempt with jitter; always between 0 and max.
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if d > max {
				d = max
			}
			return d
		}
	}
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	// Jitter in [d/2, d].
	if half := int64(d / 2); half > 0 {
		d = time.Duration(half + rand.Int64N(half+1))
	}
	return d
}

// newRetryDoer returns the HTTP client of token and revoke requests: go-
// retryablehttp with checkRetry and backoff, each attempt bounded by
// o.Timeout and the whole request by o.Retry.Budget, over base
// (baseTransport).
func newRetryDoer(o *Options, base http.RoundTripper) *budgetDoer {
	rc := retryablehttp.NewClient()
	rt := base
	if o.Timeout < o.Retry.Budget {
		// Every request through the budgetDoer ends within the budget: a
		// per-attempt limit as long or longer could never fire.
		rt = &attemptTimeout{base: base, d: o.Timeout}
	}
	rc.HTTPClient = &http.Client{Transport: rt, CheckRedirect: noRedirects}
	rc.Logger = nil
	rc.RetryMax = o.Retry.Max
	rc.RetryWaitMin = o.Retry.WaitMin
	rc.RetryWaitMax = o.Retry.WaitMax
	rc.CheckRetry = checkRetry
	rc.Backoff = backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.PrepareRetry = rewindBody
	return &budgetDoer{c: rc, budget: o.Retry.Budget}
}

// attemptTimeout bounds each attempt (the exchange and the reading of its
// answer) by d. It does what http.Client.Timeout does, except that it adds
// nothing when the request's context already ends sooner (the budget
// usually does), and costs no goroutine for a transport net/http does not
// know (an instrumented one, say): with Client.Timeout, net/http starts a
// goroutine and a timer per request for those.
type attemptTimeout struct {
	base http.RoundTripper
	d    time.Duration
}

func (t *attemptTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	req, cancel := within(req, t.d)
	resp, err := t.base.RoundTrip(req)
	return cancelOnClose(resp, err, cancel, nil)
}

// within returns req with a deadline at most d away, and the cancel to call
// once its answer is read: nil when req's context already ends sooner.
func within(req *http.Request, d time.Duration) (*http.Request, context.CancelFunc) {
	if dl, ok := req.Context().Deadline(); ok && time.Until(dl) <= d {
		return req, nil
	}
	ctx, cancel := context.WithTimeout(req.Context(), d)
	return req.WithContext(ctx), cancel
}

// cancelOnClose ties cancel (if any) to the closing of resp's body, or calls
// it at once when there is no answer. limited is the exchange's context when
// a deadline of the connector's (APITimeout) may end it, else nil (see
// cancelBody).
func cancelOnClose(resp *http.Response, err error, cancel context.CancelFunc, limited context.Context) (*http.Response, error) {
	if cancel == nil {
		return resp, err
	}
	if err != nil || resp == nil {
		cancel()
		return resp, err
	}
	if resp.Body == http.NoBody {
		cancel() // nothing to read: the exchange is over
		return resp, nil
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
		// A 101's body, the upgraded connection: it stays writable.
		resp.Body = cancelConn{cancelBody: &cancelBody{ReadCloser: rwc, cancel: cancel, limited: limited}, Writer: rwc}
		return resp, nil
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel, limited: limited}
	return resp, nil
}

// noRedirects refuses to follow redirects from token endpoints: a redirect
// would carry client credentials to another URL.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// budgetDoer bounds a request and its retries by a deadline that lasts
// until the answer's body is closed.
type budgetDoer struct {
	c      *retryablehttp.Client
	budget time.Duration
}

func (d *budgetDoer) Do(req *http.Request) (*http.Response, error) {
	// The engine sets the budget around its own operations (a refresh,
	// say); a request that arrives without one gets it here.
	req, cancel := within(req, d.budget)
	rr := &retryablehttp.Request{Request: req}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// A body that cannot be rewound: go-retryablehttp buffers it.
		var err error
		if rr, err = retryablehttp.FromRequest(req); err != nil {
			return cancelOnClose(nil, err, cancel, nil)
		}
	}
	resp, err := d.c.Do(rr)
	return cancelOnClose(resp, err, cancel, nil)
}

// rewindBody is go-retryablehttp's PrepareRetry: a request built with a
// GetBody (every token request is) gets a fresh body for each retry instead
// of being copied up front.
func rewindBody(req *http.Request) error {
	if req.GetBody == nil {
		return nil // FromRequest buffered it; go-retryablehttp rewinds it
	}
	b, err := req.GetBody()
	if err != nil {
		return err
	}
	req.Body = b
	return nil
}

// cancelBody is an answer's body that calls cancel once it is closed. With
// limited, the exchange's context under a deadline of the connector's, a
// Read that this deadline ended returns the deadline's cause, which names
// the limit (limitCause).
type cancelBody struct {
	io.ReadCloser
	cancel  context.CancelFunc
	limited context.Context
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && b.limited != nil {
		err = limitCause(b.limited, err)
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// cancelConn is cancelBody for a body that is also written to.
type cancelConn struct {
	*cancelBody
	io.Writer
}
