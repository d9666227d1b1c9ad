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

// TestOpenAPITimeout: a connection string's APITimeout reaches
// Options.APITimeout through Open. With APITimeout=1, an API answer that
// keeps streaming for longer than a second is cut off while its body is
// read; without it, or with APITimeout=0 or a longer one, the same answer is
// read whole, Timeout=1 bounding only the silences between its parts.
func TestOpenAPITimeout(t *testing.T) {
	const (
		chunk  = "[1,2,3]\n"
		chunks = 16                     // the first at once, then one every 100 ms:
		every  = 100 * time.Millisecond // 1.5 s of body
	)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/store/info.json": // Identify, when Default imports the token
			io.WriteString(w, `{"store":{"code":"shop"}}`)
			return
		case "/v1/products.json":
		default:
			http.NotFound(w, r)
			return
		}
		for i := range chunks {
			if i > 0 {
				select {
				case <-time.After(every):
				case <-r.Context().Done():
					return
				}
			}
			io.WriteString(w, chunk)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(api.Close) // after the parallel subtests
	want := strings.Repeat(chunk, chunks)

	for _, tc := range []struct {
		name    string
		more    string // appended to the connection string
		wantErr string // "" when the body is read whole
	}{
		{"no APITimeout", "", ""},
		{"APITimeout=0", "APITimeout=0;", ""},
		{"APITimeout longer than the answer", "APITimeout=5;", ""},
		{"APITimeout=1 cuts the answer off", "APITimeout=1;", "connector: the API exchange took longer than 1s (APITimeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := "Provider=jumpseller;InitiateOAuth=OFF;OAuthAccessToken=access;OAuthExpiresIn=3600;Timeout=1;" +
				"URL=" + api.URL + "/v1/;OAuthSettingsLocation=" + uniqueMemory(t) + ";" + tc.more
			c, err := connector.Open(ctx, dsn)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer c.Close()
			conn, err := c.Default(ctx)
			if err != nil {
				t.Fatalf("Default: %v", err)
			}
			req, err := conn.NewRequest(ctx, "GET", "products.json", nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			resp, err := conn.Client().Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			took := time.Since(start)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("reading the answer after %d of %d bytes (%v): %v", len(got), len(want), took, err)
				}
				if string(got) != want {
					t.Fatalf("read %q, want %q", got, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("reading the answer (%d of %d bytes, %v): err = %v, want one saying %q", len(got), len(want), took, err, tc.wantErr)
			}
			if len(got) == 0 || len(got) >= len(want) {
				t.Errorf("read %d of %d bytes before the error, want part of the answer", len(got), len(want))
			}
			if took < time.Second {
				t.Errorf("the answer was cut off after %v, before APITimeout=1", took)
			}
		})
	}
}
