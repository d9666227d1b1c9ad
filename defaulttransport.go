package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// baseTransport returns the transport below the engine's own layers
// (retries, the bearer) of every request of a Connector with options o:
// Options.HTTPClient's, else the default transport, wrapped by
// Options.WrapTransport when set. ours reports whether it is (or wraps) the
// connector's own clone of http.DefaultTransport, with its time limits.
func baseTransport(o *Options) (rt http.RoundTripper, ours bool) {
	if o.HTTPClient != nil && o.HTTPClient.Transport != nil {
		rt = o.HTTPClient.Transport
	} else {
		rt, ours = defaultTransport(o.Timeout)
	}
	if o.WrapTransport != nil {
		rt = o.WrapTransport(rt)
	}
	return rt, ours
}

// defaultTransports holds, per *http.Transport that was
// http.DefaultTransport when a Connector was made and per Options.Timeout,
// the clone that Connector's requests go through.
var defaultTransports sync.Map // transportKey → *http.Transport

type transportKey struct {
	t *http.Transport
	d time.Duration
}

// defaultTransport is the transport of every request (token, revoke,
// token-info and API) of a Connector whose Options.HTTPClient gives none:
// http.DefaultTransport's settings, except that
//   - it waits at most d (Options.Timeout) for the headers of an answer, and
//     its connections give up when the provider stays silent for d in the
//     middle of an exchange (silentConn): a server that takes a request and
//     never answers, stops sending an answer half-way or stops reading a
//     request is cut off, without a deadline per request, while the body
//     of an API answer may stream for as long as bytes keep coming
//     (APITimeout bounds the whole exchange when set);
//   - it keeps idle connections for twice the scheduler's default
//     concurrency per host: a RefreshDue sweep then reuses its connections
//     to the token endpoint rather than open one (a TLS handshake, a
//     socket left in TIME_WAIT) per refresh beyond the two
//     http.DefaultTransport keeps.
//
// A DefaultTransport that a program replaced with its own RoundTripper is
// used as it is; ok then reports false.
func defaultTransport(d time.Duration) (rt http.RoundTripper, ok bool) {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport, false
	}
	k := transportKey{t, d}
	if c, ok := defaultTransports.Load(k); ok {
		return c.(*http.Transport), true
	}
	c := silentClone(t, d)
	got, _ := defaultTransports.LoadOrStore(k, c)
	return got.(*http.Transport), true
}

// silentClone returns a clone of t with the default transport's settings
// for d (defaultTransport).
func silentClone(t *http.Transport, d time.Duration) *http.Transport {
	c := t.Clone()
	c.ResponseHeaderTimeout = d
	c.MaxIdleConnsPerHost = max(c.MaxIdleConnsPerHost, 2*DefaultDueConcurrency)
	c.MaxIdleConns = max(c.MaxIdleConns, 2*DefaultDueConcurrency)
	switch {
	case c.DialContext != nil:
		c.DialContext = silentDial(c.DialContext, d)
	case c.Dial != nil:
		dial := c.Dial
		c.Dial = nil
		c.DialContext = silentDial(func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) }, d)
	default:
		c.DialContext = silentDial((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext, d)
	}
	switch {
	case c.DialTLSContext != nil:
		c.DialTLSContext = silentDial(c.DialTLSContext, d)
	case c.DialTLS != nil:
		dial := c.DialTLS
		c.DialTLS = nil
		c.DialTLSContext = silentDial(func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) }, d)
	}
	return c
}

// silentDial returns dial with its connections made silentConns of d.
func silentDial(dial func(ctx context.Context, network, addr string) (net.Conn, error), d time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &silentConn{Conn: conn, d: d}, nil
	}
}

// silentConn is a connection of the default transport that gives up when
// the other side stays silent for d: every Read must return within d of
// its call, and every Write within d of its own, which also moves the
// deadline of a read already waiting (the transport's, for the next
// answer) to d after it, since an answer is now due. It is one deadline
// per connection, moved at each call, rather than a timer per request. An
// idle connection in the transport's pool is therefore closed after d.
type silentConn struct {
	net.Conn
	d    time.Duration
	dead atomic.Pointer[silenceError] // the first deadline that passed
}

func (c *silentConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.d))
	n, err := c.Conn.Read(p)
	return n, c.silence(err, "sent nothing")
}

func (c *silentConn) Write(p []byte) (int, error) {
	c.Conn.SetDeadline(time.Now().Add(c.d))
	n, err := c.Conn.Write(p)
	return n, c.silence(err, "took nothing")
}

// silence returns err, or a silenceError when it is a deadline's, or when
// the connection failed after one (the transport closes a connection whose
// read gave up, and a write still under way then fails on a closed
// connection).
func (c *silentConn) silence(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.dead.CompareAndSwap(nil, &silenceError{wait: c.d, what: what})
	}
	if e := c.dead.Load(); e != nil {
		return e
	}
	return err
}

// silenceError is the error of an exchange on the default transport (no
// Options.HTTPClient) that a provider left silent for Options.Timeout:
// it sent nothing of an answer, or took nothing of a request, for that
// long. A Connection's Client wraps it in a driver.Unavailable error when
// no answer came; the read of an answer's body that stalls returns it as
// it is. It is a net.Error whose Timeout is true; errors.Is(err,
// os.ErrDeadlineExceeded) holds, and errors.Is(err,
// context.DeadlineExceeded), as for net/http's own wait for headers.
type silenceError struct {
	wait time.Duration // Options.Timeout
	what string        // "sent nothing" or "took nothing"
}

func (e *silenceError) Error() string {
	return fmt.Sprintf("connector: the provider %s for %s (Timeout)", e.what, e.wait)
}

func (e *silenceError) Unwrap() error { return os.ErrDeadlineExceeded }

func (e *silenceError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout and Temporary make it a net.Error, a timeout as the deadline's.
func (e *silenceError) Timeout() bool { return true }

func (e *silenceError) Temporary() bool { return true }
