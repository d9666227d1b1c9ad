package connector_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
)

// TestClientErrorsHaveCodes: a request through Connection.Client that gets
// no answer fails with net/http's *url.Error wrapping an *Error, so that
// CodeOf tells what happened, as the package documents.
func TestClientErrorsHaveCodes(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name       string
		api        string
		ctx        func() (context.Context, context.CancelFunc)
		apiTimeout time.Duration
		client     *http.Client // Options.HTTPClient
		code       driver.Code
		wrapped    error  // errors.Is(err, wrapped) holds too
		says       string // the error says it
	}{
		{"connection refused", closed.URL, background, 0, nil, driver.Unavailable, nil, "no answer from the API"},
		{"no answer within Timeout", slow.URL, background, 0, nil, driver.Unavailable, context.DeadlineExceeded, "within 100ms (Timeout)"},
		{"no answer within APITimeout", slow.URL, background, 50 * time.Millisecond, nil, driver.Unavailable, context.DeadlineExceeded, "within 50ms (APITimeout)"},
		{"no answer within the program's transport's limit", slow.URL, background, 0, &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond}},
			driver.Unavailable, context.DeadlineExceeded, "within its transport's time limit"},
		{"caller gave up", slow.URL, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, 0, nil, driver.Canceled, context.Canceled, "the caller's context ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := apiConnection(t, tc.api+"/v1/", connector.Options{Timeout: 100 * time.Millisecond, APITimeout: tc.apiTimeout, HTTPClient: tc.client})
			ctx, cancel := tc.ctx()
			defer cancel()
			req, err := conn.NewRequest(ctx, "GET", "store/info.json", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := conn.Client().Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("the request succeeded")
			}
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Errorf("error %T is not a *url.Error", err)
			}
			if got := driver.CodeOf(err); got != tc.code {
				t.Errorf("CodeOf(%v) = %v, want %v", err, got, tc.code)
			}
			if tc.wrapped != nil && !errors.Is(err, tc.wrapped) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wrapped)
			}
			if timeout := errors.Is(err, context.DeadlineExceeded); ue != nil && ue.Timeout() != timeout {
				t.Errorf("(*url.Error).Timeout() = %v for %v, want %v", ue.Timeout(), err, timeout)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			for _, limit := range []string{"(Timeout)", "(APITimeout)"} {
				if n := strings.Count(err.Error(), limit); n > 1 {
					t.Errorf("error %q names %s %d times", err, limit, n)
				}
			}
		})
	}
}

func background() (context.Context, context.CancelFunc) { return context.Background(), func() {} }
