package connector_test

// The bound on a wait for more of an API answer (silentBody), through the
// library's default transport, over real loopback HTTP/1: what it ends,
// what it leaves alone, and what it must never break.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-go/connector"
)

// TestSilentBodyGzipStallBeforeHeader: a provider that sends its headers
// with Content-Encoding: gzip and then stays silent is given up too.
// net/http asks for gzip on its own and decompresses transparently; its
// gzipReader reads the gzip header under a mutex that its Close also takes,
// so closing the body alone cannot end that Read: silentBody cancels the
// exchange first.
func TestSilentBodyGzipStallBeforeHeader(t *testing.T) {
	const timeout = 150 * time.Millisecond
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, `[{"id":1},{"id":2}]`)
	zw.Close()
	api, release := stallServer(t, func(w http.ResponseWriter, r *http.Request, hold func()) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q: the transport did not ask for gzip", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		if r.URL.Path == "/v1/mid.json" {
			w.Write(gz.Bytes()[:12]) // the gzip header and a little more
		}
		w.(http.Flusher).Flush()
		hold()
	})

	for _, path := range []string{"mid.json", "head.json"} {
		t.Run(path, func(t *testing.T) {
			conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
			// Only this context ends a hung Read (net/http then closes the
			// connection), so that the test ends.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			resp := mustGet(t, conn, ctx, path)
			defer resp.Body.Close()
			if !resp.Uncompressed {
				t.Fatalf("not transparently decompressed; the case does not apply")
			}
			start := time.Now()
			_, err, hung := silentRead(t, resp.Body, 8*timeout)
			if hung {
				if os.Getenv("ZZ2_STACKS") != "" {
					buf := make([]byte, 1<<20)
					t.Logf("%s", buf[:runtime.Stack(buf, true)])
				}
				t.Fatalf("a Read of a gzipped answer the provider left silent was still waiting after %v (Timeout %v): the silence bound does not hold", time.Since(start).Round(time.Millisecond), timeout)
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read error %v, want the silence", err)
			}
		})
	}
	release() // lets the hung Read (if any) end before the server closes
}

// TestSilentBodySwitchingProtocols: the body of a 101 answer is, in
// net/http, an io.ReadWriteCloser (the upgraded connection: WebSocket
// clients rely on it); through the API client it stays one, writable, and
// is not cut off while it waits between messages.
func TestSilentBodySwitchingProtocols(t *testing.T) {
	const timeout = 150 * time.Millisecond
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: silent\r\n\r\n")
		brw.Flush()
		// Echo, one line at a time.
		nc.SetDeadline(time.Now().Add(3 * time.Second))
		sc := bufio.NewScanner(brw)
		for sc.Scan() {
			nc.Write([]byte(sc.Text() + "\n"))
		}
	}))
	defer api.Close()
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := conn.NewRequest(ctx, "GET", "stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "silent")
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("the body of a 101 answer is a %T, not an io.ReadWriteCloser: an upgrade through Connection.Client cannot write", resp.Body)
	}
	if _, err := io.WriteString(rwc, "ping\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * timeout) // idle, as a WebSocket between messages
	buf := make([]byte, 5)
	if _, err := io.ReadFull(rwc, buf); err != nil || string(buf) != "ping\n" {
		t.Errorf("echo %q, %v", buf, err)
	}
}

// TestSilentBodyNoBody: a HEAD or a 204 answer's body stays http.NoBody
// through the API client, as net/http gives it (no timer, no wrapper).
func TestSilentBodyNoBody(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer api.Close()
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: time.Second})
	for _, m := range []string{"HEAD", "DELETE"} {
		req, err := conn.NewRequest(context.Background(), m, "x", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := conn.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Body != http.NoBody {
			t.Errorf("%s → %d: Body is %T, not http.NoBody", m, resp.StatusCode, resp.Body)
		}
		if n, err := resp.Body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("%s: Read = %d, %v", m, n, err)
		}
		resp.Body.Close()
	}
}

// TestSilentBodyCloseDuringRead: a Close from another goroutine while a Read
// waits ends the Read at once (HTTP/1), with no race, no silence
// reported, no hang, and no goroutine left behind once idle connections
// are closed; the timer never fires afterwards.
func TestSilentBodyCloseDuringRead(t *testing.T) {
	const timeout = 300 * time.Millisecond
	api, release := stallServer(t, silentAfter(`[1,`))
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
	base := runtime.NumGoroutine()
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		resp := mustGet(t, conn, ctx, "x")
		if el := closeDuringRead(t, resp.Body, time.Duration(i%5)*time.Millisecond); el > timeout/2 {
			t.Errorf("Read ended %v after Close", el)
		}
		cancel()
	}
	time.Sleep(timeout + 50*time.Millisecond) // a timer left armed would fire now
	release()
	api.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	checkGoroutinesSettle(t, base)
}

// TestSilentBodySilenceNoLeak: answers cut by the bound leave no goroutine (the
// timer's, the connection's read and write loops) behind.
func TestSilentBodySilenceNoLeak(t *testing.T) {
	const timeout = 80 * time.Millisecond
	api, release := stallServer(t, silentAfter(`[1,`))
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			resp, err := doGet(conn, ctx, "x")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			_, err = io.ReadAll(resp.Body)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read: %v, want the silence", err)
			}
		}()
	}
	wg.Wait()
	checkGoroutinesSettle(t, base)
	release()
	api.Close()
}

// TestSilentBodyRetryPathsStalledBodies: a 401 or a 429, or a same-origin
// redirect, whose body then stalls: the drain (ours or http.Client's) is
// bounded by Timeout, and the request goes on to its refresh, retry or
// target.
func TestSilentBodyRetryPathsStalledBodies(t *testing.T) {
	const timeout = 100 * time.Millisecond
	var n401, n429, nRedir atomic.Int32
	srv, _ := stallServer(t, func(w http.ResponseWriter, r *http.Request, hold func()) {
		// stallFirst answers "ok" but to the first request counted by n,
		// which gets code (and the header key set to value, if any) and
		// then the start of a JSON error, and a stall.
		stallFirst := func(n *atomic.Int32, code int, key, value string) {
			if n.Add(1) != 1 {
				io.WriteString(w, "ok")
				return
			}
			if key != "" {
				w.Header().Set(key, value)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			io.WriteString(w, `{"error":`)
			w.(http.Flusher).Flush()
			hold()
		}
		switch r.URL.Path {
		case "/oauth/token":
			grantToken(w, r)
		case "/v1/401":
			stallFirst(&n401, http.StatusUnauthorized, "", "")
		case "/v1/429":
			stallFirst(&n429, http.StatusTooManyRequests, "Retry-After", "0")
		case "/v1/redir":
			stallFirst(&nRedir, http.StatusFound, "Location", "/v1/redir")
		}
	})
	o := connector.Options{Timeout: timeout}
	conn := stallConnection(t, silentProvider(t), srv, o)
	for _, path := range []string{"401", "429", "redir"} {
		t.Run(path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			resp := mustGet(t, conn, ctx, path)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != "ok" {
				t.Errorf("%q, %v", b, err)
			}
			if el := time.Since(start); el > 10*timeout {
				t.Errorf("took %v", el)
			}
		})
	}
}

// TestSilentBodyAPITimeoutAndSilence: with APITimeout shorter than Timeout the
// whole exchange ends at APITimeout (a context error, not a silence); with
// it longer, the silence comes first. Either way the Read ends.
func TestSilentBodyAPITimeoutAndSilence(t *testing.T) {
	api, _ := stallServer(t, silentAfter(`[1,`))
	for _, tc := range []struct {
		name             string
		timeout, apiTime time.Duration
		silence          bool
	}{
		{"APITimeout first", 400 * time.Millisecond, 100 * time.Millisecond, false},
		{"silence first", 100 * time.Millisecond, 2 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: tc.timeout, APITimeout: tc.apiTime})
			resp := mustGet(t, conn, context.Background(), "x")
			defer resp.Body.Close()
			_, err, hung := silentRead(t, resp.Body, 3*time.Second)
			if hung {
				t.Fatal("hung")
			}
			var se interface{ Timeout() bool }
			isSilence := err != nil && strings.Contains(err.Error(), "(Timeout)")
			if isSilence != tc.silence || !errors.As(err, &se) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("read error %v (silence %v, want %v)", err, isSilence, tc.silence)
			}
		})
	}
}

// TestSilentBodyGzipStalled401: the library's own drain of a 401 whose
// gzipped body stalls before its gzip header (before refreshing) is
// bounded by Timeout too.
func TestSilentBodyGzipStalled401(t *testing.T) {
	const timeout = 100 * time.Millisecond
	var n atomic.Int32
	srv, _ := stallServer(t, func(w http.ResponseWriter, r *http.Request, hold func()) {
		switch r.URL.Path {
		case "/oauth/token":
			grantToken(w, r)
		default:
			if n.Add(1) == 1 {
				w.Header().Set("Content-Encoding", "gzip")
				w.WriteHeader(http.StatusUnauthorized)
				w.(http.Flusher).Flush()
				hold()
				return
			}
			io.WriteString(w, "ok")
		}
	})
	conn := stallConnection(t, silentProvider(t), srv, connector.Options{Timeout: timeout})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := doGet(conn, ctx, "x")
	el := time.Since(start)
	if err == nil {
		resp.Body.Close()
	}
	if el > 10*timeout {
		t.Errorf("Do took %v (Timeout %v; ended by the caller's context: %v): the drain of a stalled gzipped 401 is unbounded", el.Round(time.Millisecond), timeout, err)
	}
}

// TestSilentBodyCloseDuringStalledGzipRead: a caller that closes the body
// from another goroutine while a Read waits on a gzipped answer stalled
// before its gzip header: Close cancels the exchange before it closes
// net/http's gzip reader (whose Close waits for the lock the stalled Read
// holds), so both return at once.
func TestSilentBodyCloseDuringStalledGzipRead(t *testing.T) {
	const timeout = 150 * time.Millisecond
	api, _ := stallServer(t, stalledJSON(true, nil))
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp := mustGet(t, conn, ctx, "gz")
	if !resp.Uncompressed {
		t.Fatal("not transparently decompressed: the case does not apply")
	}
	// After timeout/3 the Read is under way, holding gzipReader's mutex.
	inTime, el, err := closeWhileStalled(resp.Body, timeout/3, 4*timeout)
	if inTime {
		t.Logf("Close returned after %v", el)
	} else {
		t.Errorf("Close from another goroutine during a stalled gzipped Read returned only after %v, when the caller's context ended (Timeout %v): Close stopped the timer, then blocked on gzipReader's mutex, and nothing cancelled the exchange", el.Round(time.Millisecond), timeout)
	}
	if err == nil {
		t.Errorf("Read: nil error")
	}
}

// sbBody is what a WrapTransport that measures its answers might return:
// it counts Reads and bytes, and reports them at Close. Like most bodies
// it is used from one goroutine (the caller's), and closed once.
type sbBody struct {
	rc     io.ReadCloser
	racy   bool // count with the unguarded fields below
	reads  int  // unguarded: the caller reads and closes from one goroutine
	n      int
	closes atomic.Int32
}

func (b *sbBody) Read(p []byte) (int, error) {
	if !b.racy {
		return b.rc.Read(p)
	}
	b.reads++
	n, err := b.rc.Read(p)
	b.n += n
	return n, err
}

func (b *sbBody) Close() error {
	b.closes.Add(1)
	if !b.racy {
		return b.rc.Close()
	}
	_ = fmt.Sprintf("answer: %d reads, %d bytes", b.reads, b.n) // the report
	return b.rc.Close()
}

// sbStalledAnswer sends a GET, through a WrapTransport that puts each
// answer's body in an sbBody, to a provider that sends the start of a JSON
// answer and then nothing more. It returns the answer, and the last sbBody
// made.
func sbStalledAnswer(t *testing.T, timeout time.Duration, racy bool) (*http.Response, func() *sbBody) {
	t.Helper()
	api, _ := stallServer(t, stalledJSON(false, []byte(`[1,`)))
	var mu sync.Mutex
	var last *sbBody
	wrap := func(base http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := base.RoundTrip(r)
			if err == nil {
				b := &sbBody{rc: resp.Body, racy: racy}
				resp.Body = b
				mu.Lock()
				last = b
				mu.Unlock()
			}
			return resp, err
		})
	}
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout, WrapTransport: wrap})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return mustGet(t, conn, ctx, "x"), func() *sbBody { mu.Lock(); defer mu.Unlock(); return last }
}

// TestSilentBodyWrapTransportBodyClosedOnce: after a silence, a
// WrapTransport's body is closed once, by the caller's Close (io.Closer
// leaves a second Close undefined: a wrapper that records at Close would
// record twice).
func TestSilentBodyWrapTransportBodyClosedOnce(t *testing.T) {
	const timeout = 100 * time.Millisecond
	resp, last := sbStalledAnswer(t, timeout, false)
	_, err := io.ReadAll(resp.Body)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want the silence", err)
	}
	resp.Body.Close()
	if n := last().closes.Load(); n != 1 {
		t.Errorf("the WrapTransport's body was closed %d times for one Close by the caller (expire closed it, then silentBody.Close closed it again)", n)
	}
}

// TestSilentBodyWrapTransportBodyNoConcurrentClose: the bound never closes
// a WrapTransport's body from its timer while the caller reads it (a body
// that keeps unguarded counts, as its single reader allows, is not raced:
// -race checks it); it cancels the exchange instead.
func TestSilentBodyWrapTransportBodyNoConcurrentClose(t *testing.T) {
	const timeout = 100 * time.Millisecond
	resp, _ := sbStalledAnswer(t, timeout, true)
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want the silence", err)
	}
}

// TestSilentBodyWrapTransportNilBody: a RoundTripper may answer with a nil
// Body (http.Client turns it into an empty one: golang.org/issue/38095;
// mocks and caches in WrapTransport do it); the caller gets an empty body,
// not a panic.
func TestSilentBodyWrapTransportNilBody(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer api.Close()
	wrap := func(base http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == "/v1/cached" {
				return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
			}
			return base.RoundTrip(r)
		})
	}
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: time.Second, WrapTransport: wrap})
	resp := mustGet(t, conn, context.Background(), "cached")
	for _, op := range []string{"Read", "Close"} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s of the body (%T) of an answer whose RoundTripper gave a nil Body panics: %v", op, resp.Body, p)
				}
			}()
			if op == "Read" {
				io.ReadAll(resp.Body)
			} else {
				resp.Body.Close()
			}
		}()
	}
}

// TestSilentBodyRetryAttemptsAndReadPastEOF: with APITimeout, a 401 then
// a 429 before the answer: each attempt has its own context (the first's
// cancel at its drain does not touch the next); reading again past EOF
// and waiting past Timeout fires nothing; Close twice is quiet; the
// caller's context is never cancelled; the connection is reused.
func TestSilentBodyRetryAttemptsAndReadPastEOF(t *testing.T) {
	const timeout = 100 * time.Millisecond
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth/token":
			grantToken(w, r)
		default:
			switch n.Add(1) {
			case 1:
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"expired"}`)
			case 2:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"error":"slow down"}`)
			default:
				w.(http.Flusher).Flush()
				time.Sleep(timeout / 2)
				io.WriteString(w, "ok")
			}
		}
	}))
	defer srv.Close()
	for _, apiTimeout := range []time.Duration{0, 2 * time.Second} {
		t.Run(fmt.Sprint("APITimeout=", apiTimeout), func(t *testing.T) {
			n.Store(0)
			conn := stallConnection(t, silentProvider(t), srv, connector.Options{Timeout: timeout, APITimeout: apiTimeout})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			var reused []bool
			resp := mustGet(t, conn, traceReuse(ctx, &reused), "x")
			b, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(b, []byte("ok")) {
				t.Fatalf("%q, %v", b, err)
			}
			for range 3 {
				if n, err := resp.Body.Read(make([]byte, 8)); n != 0 || err != io.EOF {
					t.Errorf("Read past EOF: %d, %v", n, err)
				}
			}
			time.Sleep(2 * timeout)
			if err := resp.Body.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			resp.Body.Close()
			if n, err := resp.Body.Read(make([]byte, 8)); n != 0 || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Read after Close: %d, %v", n, err)
			}
			if ctx.Err() != nil {
				t.Errorf("the caller's context ended: %v", ctx.Err())
			}
			// attempt 1, the refresh (it carries the caller's context), attempts 2 and 3
			if len(reused) != 4 || !reused[1] || !reused[2] || !reused[3] {
				t.Errorf("connections reused %v", reused)
			}
		})
	}
}
