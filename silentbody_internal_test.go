package connector

// silentBody inside the package: over HTTP/2 (the test server's TLS
// client, with bodyIdle set as the default transport's), and a race stress
// of expire against Reads that return as the timer fires.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store/memory"
)

func silentConn(t *testing.T, srv *httptest.Server, client *http.Client, d time.Duration) *Connection {
	t.Helper()
	c, err := New("jumpseller", Options{ClientID: "app", ClientSecret: "secret", Store: memory.New(), HTTPClient: client,
		Endpoint: driver.Endpoint{APIBaseURL: srv.URL + "/v1/"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.bodyIdle = d
	now := time.Now()
	conn, err := c.Import(context.Background(), &Token{AccessToken: "access", TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(time.Hour), AccountID: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// tlsServer starts a TLS test server (HTTP/2 if h2) whose handler h may
// call hold to stay silent until release or the end of the request. release
// may be called early, and more than once; it is called at the latest when
// the test ends, after the client's idle connections are closed and before
// the server closes.
func tlsServer(t *testing.T, h2 bool, h func(w http.ResponseWriter, r *http.Request, hold func())) (srv *httptest.Server, release func()) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, func() {
			select {
			case <-ch:
			case <-r.Context().Done():
			}
		})
	}))
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(func() {
		srv.Client().Transport.(*http.Transport).CloseIdleConnections()
		release()
		srv.Close()
	})
	return srv, release
}

// h2Get sends a GET of path through conn's client and fails t unless an
// answer comes over HTTP/2.
func h2Get(t *testing.T, conn *Connection, ctx context.Context, path string) *http.Response {
	t.Helper()
	req, err := conn.NewRequest(ctx, "GET", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := conn.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.ProtoMajor != 2 {
		resp.Body.Close()
		t.Fatalf("GET %s answered over %s, want HTTP/2", path, resp.Proto)
	}
	return resp
}

// readAsync reads body to its end in a goroutine and sends the Read's
// error.
func readAsync(body io.Reader) <-chan error {
	ch := make(chan error, 1)
	go func() { _, err := io.ReadAll(body); ch <- err }()
	return ch
}

// boundedRead reads body to its end, giving up (hung) after limit, so
// that a Read the bound fails to end fails the test rather than hanging it.
func boundedRead(body io.Reader, limit time.Duration) (err error, hung bool) {
	select {
	case err := <-readAsync(body):
		return err, false
	case <-time.After(limit):
		return nil, true
	}
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

// TestSilentBodyHTTP2: over HTTP/2, a Close from another goroutine during
// a Read, and silences (a gzipped answer stalled before its gzip header
// included), end the Read, leave the connection usable for other answers
// and leave no goroutine behind.
func TestSilentBodyHTTP2(t *testing.T) {
	const d = 150 * time.Millisecond
	srv, release := tlsServer(t, true, func(w http.ResponseWriter, r *http.Request, hold func()) {
		if r.URL.Path == "/v1/gz" {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(200)
		} else if r.URL.Path == "/v1/ok" {
			io.WriteString(w, "ok")
			return
		} else {
			io.WriteString(w, "[1,")
		}
		w.(http.Flusher).Flush()
		hold()
	})
	conn := silentConn(t, srv, srv.Client(), d)
	// Warm the connection, so the goroutine count includes its loops.
	r := h2Get(t, conn, context.Background(), "ok")
	io.ReadAll(r.Body)
	r.Body.Close()
	base := runtime.NumGoroutine()

	t.Run("close during read", func(t *testing.T) {
		for i := range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			resp := h2Get(t, conn, ctx, "stall")
			ch := readAsync(resp.Body)
			time.Sleep(time.Duration(i%4) * time.Millisecond)
			resp.Body.Close()
			select {
			case err := <-ch:
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("a caller's Close reported as a silence: %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Read still waiting 2 s after Close")
			}
			cancel()
		}
	})
	t.Run("silences", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				resp := h2Get(t, conn, ctx, "stall")
				defer resp.Body.Close()
				if err, hung := boundedRead(resp.Body, 2*time.Second); hung || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("read: %v (hung %v), want the silence", err, hung)
				}
			}()
		}
		wg.Wait()
		r := h2Get(t, conn, context.Background(), "ok")
		if b, err := io.ReadAll(r.Body); err != nil || string(b) != "ok" {
			t.Errorf("the connection after: %q, %v", b, err)
		}
		r.Body.Close()
	})
	checkGoroutinesSettle(t, base)
	t.Run("gzip stalled before its header", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp := h2Get(t, conn, ctx, "gz")
		defer resp.Body.Close()
		if !resp.Uncompressed {
			t.Fatal("the transport did not decompress the answer: the case tests nothing")
		}
		err, hung := boundedRead(resp.Body, 8*d)
		if hung {
			t.Fatalf("a Read of a gzipped HTTP/2 answer left silent still waits after %v (bodyIdle %v)", 8*d, d)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read: %v, want the silence", err)
		}
	})
	release()
}

// TestSilentBodyExpireRaceStress: answers that trickle in with gaps around d, so
// that Reads return as the timer fires, over HTTP/1 and HTTP/2, under
// -race: what is read is always a prefix of what was sent; the only
// errors are EOF (all of it) and the silence; no hang, no panic.
func TestSilentBodyExpireRaceStress(t *testing.T) {
	const d = 20 * time.Millisecond
	const parts = 4
	payload := func(i int) string { return fmt.Sprintf("part-%02d;", i) }
	var whole strings.Builder
	for i := range parts {
		whole.WriteString(payload(i))
	}
	h := func(w http.ResponseWriter, r *http.Request, _ func()) {
		rnd := rand.New(rand.NewPCG(uint64(len(r.URL.RawQuery)), uint64(time.Now().UnixNano())))
		for i := range parts {
			if i > 0 {
				// around d: some gaps shorter, some longer
				time.Sleep(d/2 + time.Duration(rnd.Int64N(int64(d))))
			}
			if _, err := io.WriteString(w, payload(i)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			srv, _ := tlsServer(t, h2, h)
			conn := silentConn(t, srv, srv.Client(), d)
			deadline := time.Now().Add(1500 * time.Millisecond)
			var ok, silent int
			var wg sync.WaitGroup
			var mu sync.Mutex
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 3+w) // small Reads: many per answer
					for time.Now().Before(deadline) {
						ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
						req, _ := conn.NewRequest(ctx, "GET", "x", nil)
						resp, err := conn.Client().Do(req)
						if err != nil {
							cancel()
							t.Errorf("Do: %v", err)
							return
						}
						var got bytes.Buffer
						var rerr error
						for {
							n, err := resp.Body.Read(buf)
							got.Write(buf[:n])
							if err != nil {
								rerr = err
								break
							}
						}
						if w%2 == 0 {
							resp.Body.Close()
						} else {
							go resp.Body.Close() // a Close from elsewhere, racing the timer
						}
						cancel()
						mu.Lock()
						switch {
						case !strings.HasPrefix(whole.String(), got.String()):
							t.Errorf("read %q: not a prefix of what was sent", got.String())
						case rerr == io.EOF && got.String() == whole.String():
							ok++
						case rerr == io.EOF:
							t.Errorf("EOF after %q: part of the answer lost", got.String())
						case errors.Is(rerr, os.ErrDeadlineExceeded) && strings.Contains(rerr.Error(), "(Timeout)"):
							silent++
						default:
							t.Errorf("read error %v after %q", rerr, got.String())
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			t.Logf("whole answers %d, silences %d", ok, silent)
		})
	}
}

// TestSilentBodyCloseDuringStalledGzipReadHTTP2: the HTTP/2 form of
// TestSilentBodyCloseDuringStalledGzipRead (http2gzipReader's Close also
// waits for the lock its Read holds while it reads the gzip header).
func TestSilentBodyCloseDuringStalledGzipReadHTTP2(t *testing.T) {
	const d = 150 * time.Millisecond
	srv, _ := tlsServer(t, true, func(w http.ResponseWriter, r *http.Request, hold func()) {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		hold()
	})
	conn := silentConn(t, srv, srv.Client(), d)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp := h2Get(t, conn, ctx, "gz")
	if !resp.Uncompressed {
		t.Fatalf("%s, uncompressed %v: the case does not apply", resp.Proto, resp.Uncompressed)
	}
	readDone := readAsync(resp.Body)
	time.Sleep(d / 3)
	closeDone := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		resp.Body.Close()
		closeDone <- time.Since(start)
	}()
	select {
	case el := <-closeDone:
		t.Logf("Close returned after %v", el)
	case <-time.After(4 * d):
		el := <-closeDone
		t.Errorf("HTTP/2: Close from another goroutine during a stalled gzipped Read returned only after %v, when the caller's context ended (bound %v)", el.Round(time.Millisecond), d)
	}
	<-readDone
}
