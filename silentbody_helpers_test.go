package connector_test

// Helpers of the tests of the bound on a wait for more of an API answer
// (silentbody_test.go, defaulttransport_test.go, refresh_silence_test.go):
// a provider that stalls, requests, bounded reads, and a goroutine count.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

// stallServer starts a provider whose handler h may call hold to stay
// silent until release or the end of the request (hold does not flush: h
// flushes what it wants sent first). release may be called early, and more
// than once; it is called at the latest when the test ends, before the
// server closes.
func stallServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, hold func())) (srv *httptest.Server, release func()) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, func() {
			select {
			case <-ch:
			case <-r.Context().Done():
			}
		})
	}))
	t.Cleanup(func() { release(); srv.Close() })
	return srv, release
}

// silentAfter is a stallServer handler that sends first and then nothing
// more.
func silentAfter(first string) func(http.ResponseWriter, *http.Request, func()) {
	return func(w http.ResponseWriter, r *http.Request, hold func()) {
		io.WriteString(w, first)
		w.(http.Flusher).Flush()
		hold()
	}
}

// stalledJSON is a stallServer handler that answers 200 with JSON
// (gzipped if gz), writes first (if any), flushes, and stays silent.
func stalledJSON(gz bool, first []byte) func(http.ResponseWriter, *http.Request, func()) {
	return func(w http.ResponseWriter, r *http.Request, hold func()) {
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(first)
		w.(http.Flusher).Flush()
		hold()
	}
}

// grantToken answers a token request with a new grant.
func grantToken(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"access_token":"new","token_type":"bearer","expires_in":3600,"refresh_token":"r2"}`)
}

func silentProvider(t *testing.T) driver.Provider {
	p, err := connector.Lookup("jumpseller")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// doGet sends a GET of path through conn's client.
func doGet(conn *connector.Connection, ctx context.Context, path string) (*http.Response, error) {
	req, err := conn.NewRequest(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	return conn.Client().Do(req)
}

// mustGet is doGet that fails t when no answer comes.
func mustGet(t *testing.T, conn *connector.Connection, ctx context.Context, path string) *http.Response {
	t.Helper()
	resp, err := doGet(conn, ctx, path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

// traceReuse adds to ctx a trace that appends to reused, for each
// connection taken, whether it was reused.
func traceReuse(ctx context.Context, reused *[]bool) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { *reused = append(*reused, info.Reused) }})
}

// readAsync reads body to its end in a goroutine and sends the Read's
// error.
func readAsync(body io.Reader) <-chan error {
	ch := make(chan error, 1)
	go func() { _, err := io.ReadAll(body); ch <- err }()
	return ch
}

// silentRead reads body in a goroutine and gives up after limit, so that a
// Read the bound fails to end fails the test rather than hanging it.
func silentRead(t *testing.T, body io.Reader, limit time.Duration) (got []byte, err error, hung bool) {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := io.ReadAll(body)
		ch <- res{b, err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err, false
	case <-time.After(limit):
		return nil, nil, true
	}
}

// closeDuringRead starts a Read of body, closes body after pause, and
// fails t unless the Read then ends within 2 s, and not as a silence. It
// returns how long after the Close the Read ended.
func closeDuringRead(t *testing.T, body io.ReadCloser, pause time.Duration) time.Duration {
	t.Helper()
	done := readAsync(body)
	time.Sleep(pause)
	start := time.Now()
	body.Close()
	select {
	case err := <-done:
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a caller's Close reported as a silence: %v", err)
		}
		return time.Since(start)
	case <-time.After(2 * time.Second):
		t.Fatal("Read still waiting 2 s after Close")
		return 0
	}
}

// closeWhileStalled starts a Read of body, lets it wait for pause, then
// closes body from another goroutine. It reports whether Close returned
// within limit and how long it took (waiting for it if not), and the
// Read's error.
func closeWhileStalled(body io.ReadCloser, pause, limit time.Duration) (inTime bool, took time.Duration, readErr error) {
	readDone := readAsync(body)
	time.Sleep(pause)
	closeDone := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		body.Close()
		closeDone <- time.Since(start)
	}()
	select {
	case took = <-closeDone:
		inTime = true
	case <-time.After(limit):
		took = <-closeDone // the caller's context ends it
	}
	return inTime, took, <-readDone
}

// checkGoroutinesSettle fails t unless the number of goroutines comes
// back down to base within 2 s.
func checkGoroutinesSettle(t *testing.T, base int) {
	t.Helper()
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > base; i++ {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > base {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}
