package connector

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSilenceOverHTTP2: the default transport's silence bound holds over
// TLS and HTTP/2, as the providers' APIs speak it, where one connection
// carries many requests: an answer that stops coming is given up after d,
// one that keeps coming is read whole however long it takes, and a
// connection that waited in the pool for most of d is reused for a request
// whose answer comes more than d after the last frame before it.
func TestSilenceOverHTTP2(t *testing.T) {
	const d = 300 * time.Millisecond
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/stall":
			io.WriteString(w, "[1,")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/stream": // six parts, d/3 apart: longer than d in all
			for i := range 6 {
				if i > 0 {
					time.Sleep(d / 3)
				}
				io.WriteString(w, "[1]\n")
				w.(http.Flusher).Flush()
			}
		case "/slow":
			time.Sleep(d / 2)
			io.WriteString(w, "{}")
		default:
			io.WriteString(w, "{}")
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	defer close(release)
	tr := silentClone(srv.Client().Transport.(*http.Transport), d)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// Without the bound, a case would wait for this and fail.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	get := func(t *testing.T, path string) (body string, reused []bool, err error) {
		t.Helper()
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }})
		req, err := http.NewRequestWithContext(tctx, "GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("GET %s answered over %s, want HTTP/2", path, resp.Proto)
		}
		b, err := io.ReadAll(resp.Body)
		return string(b), reused, err
	}

	t.Run("an answer that stops coming", func(t *testing.T) {
		body, _, err := get(t, "/stall")
		if body != "[1," {
			t.Errorf("read %q before the silence, want what was sent", body)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			t.Errorf("reading the answer: %v, want the connection's deadline after %v", err, d)
		}
	})
	t.Run("an answer that keeps coming", func(t *testing.T) {
		body, _, err := get(t, "/stream")
		if err != nil || body != strings.Repeat("[1]\n", 6) {
			t.Errorf("read %q, %v; want the whole answer", body, err)
		}
	})
	t.Run("a pooled connection reused", func(t *testing.T) {
		if _, _, err := get(t, "/first"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d * 3 / 4)
		body, reused, err := get(t, "/slow")
		if err != nil || body != "{}" {
			t.Errorf("read %q, %v; want the answer", body, err)
		}
		if len(reused) != 1 || !reused[0] {
			t.Errorf("connections taken, reused or not: %v, want [true]", reused)
		}
	})
}

// TestSilentCloneDialers: whichever dialer the program's DefaultTransport
// has (DialContext, the older Dial, none; DialTLSContext or DialTLS for
// https), the clone's connections are silentConns.
func TestSilentCloneDialers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var d net.Dialer
	plain := func(network, addr string) (net.Conn, error) { return d.Dial(network, addr) }
	for _, tc := range []struct {
		name string
		base *http.Transport
	}{
		{"DialContext", &http.Transport{DialContext: d.DialContext}},
		{"Dial", &http.Transport{Dial: plain}},
		{"no dialer", &http.Transport{}},
		{"DialTLSContext", &http.Transport{DialContext: d.DialContext, DialTLSContext: d.DialContext}},
		{"DialTLS", &http.Transport{DialContext: d.DialContext, DialTLS: plain}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := silentClone(tc.base, time.Second)
			if c.Dial != nil || c.DialTLS != nil {
				t.Error("the clone kept a dialer without a context, which net/http would use unwrapped")
			}
			dialers := map[string]func(context.Context, string, string) (net.Conn, error){"DialContext": c.DialContext}
			if tc.base.DialTLSContext != nil || tc.base.DialTLS != nil {
				dialers["DialTLSContext"] = c.DialTLSContext
			}
			for name, dial := range dialers {
				if dial == nil {
					t.Fatalf("the clone has no %s", name)
				}
				conn, err := dial(context.Background(), "tcp", ln.Addr().String())
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				conn.Close()
				if _, ok := conn.(*silentConn); !ok {
					t.Errorf("%s gave a %T, want a *silentConn", name, conn)
				}
			}
		})
	}
}
