package connector_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

// TestProviderSilentMidExchange: through the default transport, a Read of
// an API answer that waits Options.Timeout for the provider gives up (the
// answer stops half-way), with an error that says Timeout and is a timeout
// as errors.Is and net.Error see it; a caller that takes longer than
// Timeout between two Reads of an answer that is all there is not cut off.
func TestProviderSilentMidExchange(t *testing.T) {
	const timeout = 100 * time.Millisecond
	whole := strings.Repeat(`{"id":1},`, 1<<16) // 576 KiB: more than the socket buffers hold
	stalled := silentAfter(`[{"id":1},`)
	api, _ := stallServer(t, func(w http.ResponseWriter, r *http.Request, hold func()) {
		if r.URL.Path == "/v1/whole.json" {
			io.WriteString(w, whole)
			return
		}
		stalled(w, r, hold)
	})
	// Without the bound, the stalled case would wait for this and fail.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, tc := range []struct {
		name  string
		path  string
		pause time.Duration // between two Reads of the caller
		want  string        // what is read
		says  string        // the error says it; "" for none
	}{
		{"an answer that stops half-way", "stalled.json", 0, `[{"id":1},`, "the provider sent nothing more of its answer for 100ms (Timeout)"},
		{"a slow reader", "whole.json", 3 * timeout, whole, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
			resp := mustGet(t, conn, ctx, tc.path)
			defer resp.Body.Close()
			var err error
			var got []byte
			buf := make([]byte, 64<<10)
			for i := 0; ; i++ {
				if i == 1 || i == 3 {
					time.Sleep(tc.pause)
				}
				n, rerr := resp.Body.Read(buf)
				got = append(got, buf[:n]...)
				if rerr != nil {
					err = rerr
					break
				}
			}
			if string(got) != tc.want {
				t.Errorf("read %d bytes, want %d", len(got), len(tc.want))
			}
			if tc.says == "" {
				if err != io.EOF {
					t.Errorf("reading the answer: %v, want all of it", err)
				}
				return
			}
			checkSilence(t, err, tc.says)
		})
	}
}

// checkSilence fails t unless err is the default transport's silence,
// saying says.
func checkSilence(t *testing.T, err error, says string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not a deadline's (os.ErrDeadlineExceeded and context.DeadlineExceeded)", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a net.Error timeout", err)
	}
	if !strings.Contains(err.Error(), says) {
		t.Errorf("error %q does not say %q", err, says)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestWrapTransport: Options.WrapTransport sees every attempt of every
// request (token and API), below the bearer and the retries, and the
// default transport it wraps keeps its limits, named as such.
func TestWrapTransport(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	wrap := func(base http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			seen = append(seen, r.Method+" "+r.URL.Path+" "+strings.Fields(r.Header.Get("Authorization") + " none")[0])
			mu.Unlock()
			return base.RoundTrip(r)
		})
	}
	var tokenCalls int
	api, _ := stallServer(t, func(w http.ResponseWriter, r *http.Request, hold func()) {
		switch r.URL.Path {
		case "/oauth/token":
			tokenCalls++
			if tokenCalls == 1 {
				w.WriteHeader(http.StatusServiceUnavailable) // retried
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"new-access","token_type":"bearer","expires_in":3600,"refresh_token":"new-refresh"}`)
		case "/v1/silent.json":
			hold()
		default:
			io.WriteString(w, "{}")
		}
	})

	o := connector.Options{ClientID: "app", ClientSecret: "secret", Timeout: 100 * time.Millisecond, WrapTransport: wrap,
		Endpoint: driver.Endpoint{TokenURL: api.URL + "/oauth/token", APIBaseURL: api.URL + "/v1/"}}
	o.Retry.WaitMin, o.Retry.WaitMax = time.Millisecond, time.Millisecond
	c, err := connector.New("jumpseller", o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Now()
	conn, err := c.Import(context.Background(), &connector.Token{AccessToken: "access", RefreshToken: "refresh", TokenType: "Bearer",
		IssuedAt: now, Expiry: now.Add(time.Hour), AccountID: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	for _, path := range []string{"store/info.json", "silent.json"} {
		resp, err := doGet(conn, context.Background(), path)
		if path == "silent.json" {
			if err == nil || !strings.Contains(err.Error(), "no answer from the API within 100ms (Timeout)") {
				t.Errorf("GET %s through the wrapped default transport: err = %v, want one naming Timeout", path, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
	}
	want := []string{"POST /oauth/token none", "POST /oauth/token none", "GET /v1/store/info.json Bearer", "GET /v1/silent.json Bearer"}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("WrapTransport saw (-want +got):\n%s", diff)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWrapTransportNil: a WrapTransport that returns no transport is
// refused by New (every request would otherwise panic, or go round it).
func TestWrapTransportNil(t *testing.T) {
	_, err := connector.New("jumpseller", connector.Options{ClientID: "app", ClientSecret: "secret",
		WrapTransport: func(http.RoundTripper) http.RoundTripper { return nil }})
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "WrapTransport") {
		t.Errorf("New: %v, want an invalid_config error naming WrapTransport", err)
	}
}

// TestSilentBodyKeepsConnectionsPooled: an answer read to its end gives
// its connection back for the next request, though the bound cancels the
// exchange's context at the end of the answer.
func TestSilentBodyKeepsConnectionsPooled(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":1}`)
	}))
	defer api.Close()
	conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: time.Second})
	var reused []bool
	for _, closeBody := range []bool{true, false, true} {
		resp := mustGet(t, conn, traceReuse(context.Background(), &reused), "x.json")
		if b, err := io.ReadAll(resp.Body); err != nil || string(b) != `{"id":1}` {
			t.Fatalf("read %q, %v", b, err)
		}
		if closeBody {
			resp.Body.Close()
		}
	}
	if diff := cmp.Diff([]bool{false, true, true}, reused); diff != "" {
		t.Errorf("connections taken, reused or not (-want +got):\n%s", diff)
	}
}
