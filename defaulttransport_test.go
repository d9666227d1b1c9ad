package connector_test

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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

// TestProviderSilentMidExchange: the default transport gives up on a
// provider that stays silent for Options.Timeout in the middle of an
// exchange, not only before an answer's headers: an answer that stops
// half-way, and a request body the provider stops taking. The error says
// Timeout, and is a timeout as errors.Is and net.Error see it.
func TestProviderSilentMidExchange(t *testing.T) {
	release := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `[{"id":1},`)
			w.(http.Flusher).Flush()
		}
		// A POST's body is never read.
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer api.Close()
	defer close(release)
	const timeout = 100 * time.Millisecond
	// Without the bound, each case would wait for this and fail.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("an answer that stops half-way", func(t *testing.T) {
		conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
		req, err := conn.NewRequest(ctx, "GET", "products.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := conn.Client().Do(req)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if string(got) != `[{"id":1},` {
			t.Errorf("read %q before the silence, want what was sent", got)
		}
		checkSilence(t, err, "the provider sent nothing for 100ms (Timeout)")
	})

	t.Run("a request body the provider stops taking", func(t *testing.T) {
		conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
		// More than loopback's socket buffers can hold.
		body := io.LimitReader(zeros{}, 256<<20)
		req, err := conn.NewRequest(ctx, "POST", "products.json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := conn.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatal("Do succeeded")
		}
		if got := driver.CodeOf(err); got != driver.Unavailable {
			t.Errorf("CodeOf(%v) = %v, want %v", err, got, driver.Unavailable)
		}
		if !strings.Contains(err.Error(), "no answer from the API within 100ms (Timeout)") {
			t.Errorf("error %q does not name Timeout", err)
		}
		checkSilence(t, err, "(Timeout)")
	})
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

// TestPooledConnectionSilence: a connection that waited in the pool for
// most of Timeout still waits a whole Timeout for the next answer (each
// request moves the deadline of the read already waiting on it); one that
// waited longer is closed, and the next request opens another.
func TestPooledConnectionSilence(t *testing.T) {
	const timeout = 400 * time.Millisecond
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("slow") != "" {
			time.Sleep(timeout / 2)
		}
		io.WriteString(w, "{}")
	}))
	defer api.Close()

	for _, tc := range []struct {
		name string
		idle time.Duration
		want []bool // httptrace's GotConnInfo.Reused of each connection the second request took
	}{
		// Without the move, the waiting read would give up at Timeout after
		// the first answer, a quarter of Timeout into the second request,
		// whose answer comes after half of it (net/http would then send the
		// GET again on a new connection).
		{"idle for three quarters of Timeout", timeout * 3 / 4, []bool{true}},
		{"idle for longer than Timeout", timeout * 2, []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: timeout})
			get := func(path string) (reused []bool) {
				t.Helper()
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
					GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }})
				req, err := conn.NewRequest(ctx, "GET", path, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := conn.Client().Do(req)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				defer resp.Body.Close()
				if _, err := io.ReadAll(resp.Body); err != nil {
					t.Fatalf("GET %s: reading the answer: %v", path, err)
				}
				return reused
			}
			get("first.json")
			time.Sleep(tc.idle)
			if diff := cmp.Diff(tc.want, get("second.json?slow=1")); diff != "" {
				t.Errorf("the second request's connections, reused or not (-want +got):\n%s", diff)
			}
		})
	}
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
	release := make(chan struct{})
	var tokenCalls int
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			io.WriteString(w, "{}")
		}
	}))
	defer api.Close()
	defer close(release)

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
		req, err := conn.NewRequest(context.Background(), "GET", path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := conn.Client().Do(req)
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
