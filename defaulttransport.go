package connector

import (
	"context"
	"fmt"
	"io"
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
//   - it waits at most d (Options.Timeout) for the headers of an answer, so
//     that a server that takes a request and never answers is cut off
//     without a deadline per request (the API transport then bounds each
//     wait for more of an answer's body by d: silentBody);
//   - it keeps idle connections for twice the scheduler's default
//     concurrency per host: a RefreshDue sweep then reuses its connections
//     to the token endpoint rather than open one (a TLS handshake, a
//     socket left in TIME_WAIT) per refresh beyond the two
//     http.DefaultTransport keeps.
//
// A DefaultTransport that a program replaced with its own RoundTripper is
// used as it is; ok then reports false.
//
// The silence is bounded per answer, not per connection: a deadline on the
// connection would also fire on an idle pooled connection just as a new
// request is written on it (a refresh the provider took and answered
// would then be reported lost, and a provider that is not replay-safe
// would need reauthorization), and, over HTTP/2, while the provider waits
// for a slow reader's flow-control window.
func defaultTransport(d time.Duration) (rt http.RoundTripper, ok bool) {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport, false
	}
	k := transportKey{t, d}
	if c, ok := defaultTransports.Load(k); ok {
		return c.(*http.Transport), true
	}
	c := t.Clone()
	c.ResponseHeaderTimeout = d
	c.MaxIdleConnsPerHost = max(c.MaxIdleConnsPerHost, 2*DefaultDueConcurrency)
	c.MaxIdleConns = max(c.MaxIdleConns, 2*DefaultDueConcurrency)
	got, _ := defaultTransports.LoadOrStore(k, c)
	return got.(*http.Transport), true
}

// silentBody is the body of an API answer through the default transport:
// a Read that waits longer than d (Options.Timeout) for the provider gives
// up, the exchange is cancelled and the answer closed (its connection, or
// its HTTP/2 stream). Only a Read under way is timed: a caller that takes
// its time between two Reads is never cut off, and an answer that keeps
// coming is read for as long as it lasts. One timer per answer, made at
// its first Read. The timer times the caller's Read, above net/http's
// transparent gzip decoding: a gzipped answer kept alive by flushes that
// decode to nothing for Timeout is taken for a silence.
type silentBody struct {
	rc     io.ReadCloser
	d      time.Duration
	cancel context.CancelFunc // the exchange's; called by expire and Close
	// limited is the exchange's context when APITimeout may end it (see
	// cancelBody), else nil.
	limited context.Context
	mu      sync.Mutex // guards timer: Close may come from another goroutine
	timer   *time.Timer
	fired   atomic.Bool
}

func (b *silentBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.timer == nil {
		b.timer = time.AfterFunc(b.d, b.expire)
	} else {
		b.timer.Reset(b.d)
	}
	t := b.timer
	b.mu.Unlock()
	n, err := b.rc.Read(p)
	t.Stop()
	switch {
	case err == io.EOF:
		// The exchange is over (net/http has its connection back): release
		// its context now rather than at a Close that may never come.
		b.cancel()
	case err != nil && b.fired.Load():
		err = &limitError{limit: b.d}
	case err != nil && b.limited != nil:
		err = limitCause(b.limited, err)
	}
	return n, err
}

// expire ends a Read that waited d by cancelling the exchange: net/http
// then ends the Read (a Close would wait on its gzip reader, which holds
// the lock Close needs while it reads the gzip header; and the body, maybe
// a WrapTransport's, is closed only by its reader, once).
func (b *silentBody) expire() {
	b.fired.Store(true)
	b.cancel()
}

// Close cancels the exchange first, for the same reason: a Close from
// another goroutine during a Read stalled in a gzip header would otherwise
// wait on it.
func (b *silentBody) Close() error {
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	b.cancel()
	return b.rc.Close()
}

// limitError is the error of an API exchange that one of the
// connector's time limits ended while its answer was read: Options.Timeout,
// through the default transport (no Options.HTTPClient), when a Read of
// the body waited that long for the provider (a silence); or
// Options.APITimeout, when the whole exchange took longer (the cause of
// the exchange's deadline, which net/http returns from the Read). It names
// the limit, where net/http would say only "context deadline exceeded".
// It is a net.Error whose Timeout is true; errors.Is(err,
// os.ErrDeadlineExceeded) holds, and errors.Is(err,
// context.DeadlineExceeded), as for net/http's own wait for headers.
type limitError struct {
	limit time.Duration
	whole bool // APITimeout, the whole exchange; else Timeout, a silence
}

func (e *limitError) Error() string {
	if e.whole {
		return fmt.Sprintf("connector: the API exchange took longer than %s (APITimeout)", e.limit)
	}
	return fmt.Sprintf("connector: the provider sent nothing more of its answer for %s (Timeout)", e.limit)
}

func (e *limitError) Unwrap() error { return os.ErrDeadlineExceeded }

func (e *limitError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout and Temporary make it a net.Error, a timeout as the deadline's.
func (e *limitError) Timeout() bool { return true }

func (e *limitError) Temporary() bool { return true }

// limitCause returns what ended ctx, an exchange's context, in place of
// err, the error of a Read of its answer, when that is one of the
// connector's limits: net/http returns the cause itself over HTTP/1, but
// its HTTP/2 client returns the bare context.DeadlineExceeded. Otherwise
// (the caller's context ended, or the answer was closed) err stays.
func limitCause(ctx context.Context, err error) error {
	if err == io.EOF {
		return err
	}
	if le, ok := context.Cause(ctx).(*limitError); ok {
		return le
	}
	return err
}
