package connector

import (
	"io"
	"net/http"
	"time"
)

// transport authenticates API requests for one Connection.
type transport struct {
	conn *Connection
	base http.RoundTripper
}

// RoundTrip sets the bearer token and the provider's headers, refreshes and
// retries once on a 401, and retries idempotent requests on 429.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
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
	return resp, nil
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
