package connector

import (
	"io"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// transport authenticates API requests for one Connection.
type transport struct {
	conn *Connection
	base http.RoundTripper
}

// RoundTrip sets the bearer token and the provider's headers, refreshes and
// retries once on a 401, and retries idempotent requests on 429. A request
// for another origin than the API's is refused before anything is sent:
// the token and the provider's headers go nowhere else (Client's redirect
// policy refuses such redirects first, with a clearer error; this is the
// rule for every round trip, redirects and caller-built requests alike).
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if c := t.conn.c; !c.sameOrigin(req.URL) {
		closeBody(req)
		return nil, c.errorf(CodeInvalidConfig, "api", "%s is not on the API's origin %s; the token is sent only there", redactedTarget(req.URL), c.apiOrigin)
	}
	tok, err := t.conn.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.send(req, tok)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && replayable {
		drain(resp)
		if tok, err = t.conn.Refresh(ctx); err != nil {
			return nil, err
		}
		if resp, err = t.send(req, tok); err != nil {
			return nil, err
		}
	}
	pol := t.conn.c.opts.Retry
	for attempt := 0; resp.StatusCode == http.StatusTooManyRequests && idempotent(req.Method) && replayable && attempt < pol.Max; attempt++ {
		wait := Backoff(pol.WaitMin, pol.WaitMax, attempt, resp)
		drain(resp)
		select {
		case <-ctx.Done():
			return nil, t.conn.c.errorf(CodeUnavailable, "api", "rate limited and gave up waiting: %v", ctx.Err())
		case <-time.After(wait):
		}
		if resp, err = t.send(req, tok); err != nil {
			return nil, err
		}
	}
	t.conn.c.tel.apiRequests.Add(ctx, 1, metric.WithAttributes(attribute.String("provider", t.conn.c.name), attribute.Int("status", resp.StatusCode)))
	if loc := resp.Header.Get("Location"); loc != "" && isRedirect(resp.StatusCode) {
		// Refused here rather than in Client's CheckRedirect, so that the
		// error net/http wraps names our request, not the target's whole
		// URL (its query included).
		if u, err := req.URL.Parse(loc); err == nil && !t.conn.c.sameOrigin(u) {
			drain(resp)
			e := t.conn.c.errorf(CodeProviderError, "api", "the API redirected to %s, outside its origin %s; not followed, so that the token stays there",
				redactedTarget(u), t.conn.c.apiOrigin)
			e.Status = resp.StatusCode
			return nil, e
		}
	}
	return resp, nil
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// send clones req with a fresh body, the token and the provider headers.
func (t *transport) send(req *http.Request, tok *Token) (*http.Response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	for k, v := range t.conn.c.spec.APIHeaders {
		if r.Header.Get(k) == "" {
			r.Header[k] = v
		}
	}
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.base.RoundTrip(r)
}

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
