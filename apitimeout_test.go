package connector_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector"
)

// TestAPIAnswerStreamsPastTimeout: Options.Timeout bounds the wait for an
// API answer's headers, not the reading of its body: an answer that
// streams for longer (a large export) is read whole. Options.APITimeout,
// when set, bounds the whole exchange and cuts that answer off, with the
// code and the option named.
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
		{"APITimeout bounds the whole exchange", 150 * time.Millisecond, "context deadline exceeded"},
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
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("reading the answer: err = %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}
