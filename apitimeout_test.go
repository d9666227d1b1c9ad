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
	"testing"
	"time"

	"github.com/connector-go/connector"
)

// TestAPIAnswerStreamsPastTimeout: Options.Timeout bounds the wait for an
// API answer's headers, not the reading of its body: an answer that
// streams for longer (a large export) is read whole. Options.APITimeout,
// when set, bounds the whole exchange and cuts that answer off, with an
// error that names the option.
func TestAPIAnswerStreamsPastTimeout(t *testing.T) {
	const chunks, every = 8, 40 * time.Millisecond // 320 ms of body
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		for i := range chunks {
			if i > 0 {
				select {
				case <-time.After(every):
				case <-r.Context().Done():
					return
				}
			}
			io.WriteString(w, "[1,2,3]\n")
			w.(http.Flusher).Flush()
		}
	}))
	defer api.Close()
	want := strings.Repeat("[1,2,3]\n", chunks)

	for _, tc := range []struct {
		name       string
		apiTimeout time.Duration
		wantErr    string // "" when the body is read whole
	}{
		{"Timeout bounds only the headers", 0, ""},
		{"APITimeout bounds the whole exchange", 150 * time.Millisecond, "connector: the API exchange took longer than 150ms (APITimeout)"},
		{"APITimeout longer than the answer", 5 * time.Second, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := apiConnection(t, api.URL+"/v1/", connector.Options{Timeout: 100 * time.Millisecond, APITimeout: tc.apiTimeout})
			req, err := conn.NewRequest(context.Background(), "GET", "products.json", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := conn.Client().Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("reading the answer after %d of %d bytes: %v", len(got), len(want), err)
			case tc.wantErr == "" && string(got) != want:
				t.Fatalf("read %q, want %q", got, want)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("reading the answer: err = %v, want %q", err, tc.wantErr)
			case tc.wantErr != "":
				// As net/http's own deadlines: a timeout, and a deadline.
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("reading the answer: err = %v, want a net.Error timeout that errors.Is context.DeadlineExceeded and os.ErrDeadlineExceeded", err)
				}
			}
		})
	}
}

// TestAPITimeoutOverHTTP2: an API answer over HTTP/2 (as most HTTPS
// providers answer) that streams past APITimeout fails its Read with the
// error that names APITimeout, as over HTTP/1.1: net/http's HTTP/2 client
// returns the bare context.DeadlineExceeded, not the deadline's cause.
// (From a review.)
func TestAPITimeoutOverHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for {
			io.WriteString(w, "[1]\n")
			w.(http.Flusher).Flush()
			select {
			case <-time.After(30 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, tc := range []struct {
		name string
		opts connector.Options
	}{
		{"Options.HTTPClient", connector.Options{HTTPClient: srv.Client(), APITimeout: 300 * time.Millisecond}},
		{"the default transport", connector.Options{APITimeout: 300 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.HTTPClient == nil {
				// The default transport as a program that trusts the
				// provider's certificate has it: http.DefaultTransport
				// (a *http.Transport, so the connector clones it and keeps
				// its limits), HTTP/2 over TLS.
				dt := http.DefaultTransport.(*http.Transport).Clone()
				dt.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
				old := http.DefaultTransport
				http.DefaultTransport = dt
				t.Cleanup(func() { http.DefaultTransport = old; dt.CloseIdleConnections() })
			}
			conn := apiConnection(t, srv.URL+"/v1/", tc.opts)
			req, err := conn.NewRequest(context.Background(), "GET", "products.json", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := conn.Client().Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			defer resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Fatalf("answered over %s, want HTTP/2", resp.Proto)
			}
			_, err = io.ReadAll(resp.Body)
			const want = "connector: the API exchange took longer than 300ms (APITimeout)"
			if err == nil || err.Error() != want {
				t.Errorf("reading the answer over HTTP/2: err = %v (%T), want %q", err, err, want)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v is not context.DeadlineExceeded", err)
			}
		})
	}
}
