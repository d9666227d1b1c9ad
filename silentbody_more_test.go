package connector_test

// Third review of silentBody (ca5fa06, 8949742): what the first two missed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-go/connector"
)

// sbStall answers with the given headers, writes first (if any), flushes,
// and waits for release or the end of the request.
func sbStall(release <-chan struct{}, gz bool, first []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(first)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
}

// TestSilentBodyCloseDuringStalledGzipRead: a caller that closes the body
// from another goroutine while a Read waits on a gzipped answer stalled
// before its gzip header: Close cancels the exchange before it closes
// net/http's gzip reader (whose Close waits for the lock the stalled Read
// holds), so both return at once.
func TestSilentBodyCloseDuringStalledGzipRead(t *testing.T) {
	const timeout = 150 * time.Millisecond
	release := make(chan struct{})
	api := httptest.NewServer(sbStall(release, true, nil))
	defer api.Close()
	defer close(release)
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := conn.NewRequest(ctx, "GET", "gz", nil)
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Uncompressed {
		t.Fatal("not transparently decompressed: the case does not apply")
	}
	readDone := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); readDone <- err }()
	time.Sleep(timeout / 3) // the Read is under way, holding gzipReader's mutex
	closeDone := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		resp.Body.Close()
		closeDone <- time.Since(start)
	}()
	select {
	case el := <-closeDone:
		t.Logf("Close returned after %v", el)
	case <-time.After(4 * timeout):
		el := <-closeDone // the caller's context ends it
		t.Errorf("Close from another goroutine during a stalled gzipped Read returned only after %v, when the caller's context ended (Timeout %v): Close stopped the timer, then blocked on gzipReader's mutex, and nothing cancelled the exchange", el.Round(time.Millisecond), timeout)
	}
	if err := <-readDone; err == nil {
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

func sbWrapped(t *testing.T, srvURL string, timeout time.Duration, racy bool) (*connector.Connection, func() *sbBody) {
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
	conn := apiConnection(t, srvURL+"/v1/", connector.Options{Timeout: timeout, WrapTransport: wrap})
	return conn, func() *sbBody { mu.Lock(); defer mu.Unlock(); return last }
}

// TestSilentBodyWrapTransportBodyClosedOnce: after a silence, a
// WrapTransport's body is closed once, by the caller's Close (io.Closer
// leaves a second Close undefined: a wrapper that records at Close would
// record twice).
func TestSilentBodyWrapTransportBodyClosedOnce(t *testing.T) {
	const timeout = 100 * time.Millisecond
	release := make(chan struct{})
	api := httptest.NewServer(sbStall(release, false, []byte(`[1,`)))
	defer api.Close()
	defer close(release)
	conn, last := sbWrapped(t, api.URL, timeout, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := conn.NewRequest(ctx, "GET", "x", nil)
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
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
	release := make(chan struct{})
	api := httptest.NewServer(sbStall(release, false, []byte(`[1,`)))
	defer api.Close()
	defer close(release)
	conn, _ := sbWrapped(t, api.URL, timeout, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := conn.NewRequest(ctx, "GET", "x", nil)
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
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
	req, _ := conn.NewRequest(context.Background(), "GET", "cached", nil)
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
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
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"new","token_type":"bearer","expires_in":3600,"refresh_token":"r2"}`)
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
			tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }})
			req, _ := conn.NewRequest(tctx, "GET", "x", nil)
			resp, err := conn.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
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
