package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestCallAPITimeout: the connection string's APITimeout reaches connector
// call. An answer whose body streams for 1.5 s, never silent for Timeout,
// is printed whole with APITimeout=0 (none, as without it: see
// TestCallTimeout) and given up after APITimeout=1, with one line on
// stderr and exit 1.
func TestCallAPITimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		more string // appended to the connection string
		code ExitCode
		says string // on stderr, when code is not ExitOK
	}{
		{"APITimeout=0", "APITimeout=0;", ExitOK, ""},
		{"APITimeout=1", "APITimeout=1;", ExitFailure, "GET store/info.json: reading the answer failed: the API exchange took longer than 1s (APITimeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "jumpseller", inMemory)
			hostileAuthorize(t, f)
			api := newHostileRecorder(t, streamParts)
			f.dsn = strings.TrimSuffix(f.dsn, ";") + ";Timeout=1;URL=" + api.srv.URL + "/v1/;" + tc.more
			start := time.Now()
			r := f.run("call", "GET", f.apiPath)
			took := time.Since(start)
			if r.code != tc.code {
				t.Fatalf("call exit %d after %v, want %d; stderr:\n%s", r.code, took, tc.code, r.err)
			}
			parts := strings.Count(r.out, `"n"`)
			if tc.code == ExitOK {
				if parts != 6 {
					t.Errorf("call printed %d of the 6 parts of the answer: %q", parts, r.out)
				}
				return
			}
			hostileLine(t, r, tc.says)
			if parts == 0 || parts >= 6 {
				t.Errorf("call printed %d of the 6 parts of the answer before giving up, want some: %q", parts, r.out)
			}
			if took < time.Second {
				t.Errorf("call gave up after %v, before APITimeout=1", took)
			}
		})
	}
}

// TestCallAPITimeoutOverHTTP2: connector call against an HTTPS API that
// answers over HTTP/2 (as real providers' APIs do) and streams past
// APITimeout=1 names APITimeout in its line, as over HTTP/1.1
// (TestCallAPITimeout). (From a review.)
func TestCallAPITimeoutOverHTTP2(t *testing.T) {
	f := newFixture(t, "jumpseller", inMemory)
	hostileAuthorize(t, f)
	protos := make(chan string, 10)
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos <- r.Proto
		streamParts(w, r)
	}))
	api.EnableHTTP2 = true
	api.StartTLS()
	defer api.Close()
	// The process trusts the API's certificate: http.DefaultTransport is
	// still a *http.Transport, which the connector clones (HTTP/2 on).
	dt := http.DefaultTransport.(*http.Transport).Clone()
	dt.TLSClientConfig = api.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	old := http.DefaultTransport
	http.DefaultTransport = dt
	t.Cleanup(func() { http.DefaultTransport = old; dt.CloseIdleConnections() })

	f.dsn = strings.TrimSuffix(f.dsn, ";") + ";Timeout=1;APITimeout=1;URL=" + api.URL + "/v1/;"
	r := f.run("call", "GET", f.apiPath)
	if p := <-protos; p != "HTTP/2.0" {
		t.Fatalf("the API was asked over %s, want HTTP/2.0", p)
	}
	if r.code != ExitFailure {
		t.Fatalf("call exit %d, want %d; stderr:\n%s", r.code, ExitFailure, r.err)
	}
	hostileLine(t, r, "GET store/info.json: reading the answer failed: the API exchange took longer than 1s (APITimeout)")
}
