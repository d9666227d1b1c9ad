package connector_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/writecount"
	"github.com/connector-go/connector/simulator"
	"github.com/google/go-cmp/cmp"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	max := time.Duration(1<<63 - 1)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"seconds", "120", 120 * time.Second, true},
		{"zero", "0", 0, true},
		{"spaces", "  7 ", 7 * time.Second, true},
		{"http-date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"past-date", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"rfc850-date", now.Add(30 * time.Second).Format("Monday, 02-Jan-06 15:04:05 GMT"), 30 * time.Second, true},
		{"negative", "-5", 0, false},
		{"garbage", "soon", 0, false},
		{"fraction", "1.5", 0, false},
		{"empty", "", 0, false},
		{"huge", "99999999999999999999999", max, true},
		{"overflowing-seconds", "9223372037", max, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := connector.ParseRetryAfter(tc.in, now)
			if d := cmp.Diff(struct {
				D  time.Duration
				OK bool
			}{tc.want, tc.wantOK}, struct {
				D  time.Duration
				OK bool
			}{got, ok}); d != "" {
				t.Errorf("ParseRetryAfter(%q) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", "1e9", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := connector.ParseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v < 0", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v with ok false", v, d)
		}
		b := connector.Backoff(time.Millisecond, time.Second, 3, &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {v}}})
		if b < 0 || b > time.Second {
			t.Fatalf("Backoff with Retry-After %q = %v, outside [0, 1s]", v, b)
		}
	})
}

func TestBackoff(t *testing.T) {
	resp := func(status int, ra string) *http.Response {
		h := http.Header{}
		if ra != "" {
			h.Set("Retry-After", ra)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	tests := []struct {
		name     string
		attempt  int
		resp     *http.Response
		min, max time.Duration // bounds of the answer
	}{
		{"retry-after-honoured", 0, resp(429, "2"), 2 * time.Second, 2 * time.Second},
		{"retry-after-capped", 0, resp(503, "3600"), 8 * time.Second, 8 * time.Second},
		{"retry-after-past-is-zero", 0, resp(503, "Wed, 21 Oct 2015 07:28:00 GMT"), 0, 0},
		{"garbage-falls-back", 0, resp(429, "later"), 125 * time.Millisecond, 250 * time.Millisecond},
		{"500-ignores-retry-after", 0, resp(500, "60"), 125 * time.Millisecond, 250 * time.Millisecond},
		{"exponential", 3, resp(502, ""), time.Second, 2 * time.Second},
		{"exponential-capped", 20, nil, 4 * time.Second, 8 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				got := connector.Backoff(250*time.Millisecond, 8*time.Second, tc.attempt, tc.resp)
				if got < tc.min || got > tc.max {
					t.Fatalf("Backoff = %v, want within [%v, %v]", got, tc.min, tc.max)
				}
			}
		})
	}
}

// wrappedTransport is a RoundTripper net/http does not know, as an
// instrumented transport is.
type wrappedTransport struct{ base http.RoundTripper }

func (w wrappedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return w.base.RoundTrip(r)
}

// TestAttemptTimeout: Options.Timeout cuts off an attempt that hangs, and
// the retry (with its full body) gets the token; on net/http's own
// transport and on one it does not know.
func TestAttemptTimeout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client *http.Client
	}{
		{"default transport", nil},
		{"unknown transport", &http.Client{Transport: wrappedTransport{http.DefaultTransport}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			conn := w.authorize(t, w.connector(t))
			c := w.connector(t, func(o *connector.Options) {
				o.Timeout = 300 * time.Millisecond // long enough for a loaded machine to answer the retry
				o.Retry.Budget = 20 * time.Second
				o.HTTPClient = tc.client
			})
			conn2, err := c.Connection(context.Background(), conn.ID())
			if err != nil {
				t.Fatal(err)
			}
			before := w.sim.Stats()
			w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: time.Hour})
			w.clock.Advance(2 * time.Hour)
			if _, err := conn2.Token(context.Background()); err != nil {
				t.Fatalf("refresh after a hung attempt: %v", err)
			}
			if got := w.sim.Stats().Refreshes - before.Refreshes; got != 1 {
				t.Errorf("provider refreshed %d times, want 1 (the hung attempt cut off, the retry answered)", got)
			}
		})
	}
}

// TestRefreshRequestIsOneWrite: through the engine's retrying client too, a
// refresh request leaves in one write (see driver's
// TestTokenRequestIsOneWrite), and so does a retry of it.
func TestRefreshRequestIsOneWrite(t *testing.T) {
	w := newWorld(t)
	conn := w.authorize(t, w.connector(t))
	wire := writecount.New()
	c := w.connector(t, func(o *connector.Options) { o.HTTPClient = &http.Client{Transport: wire} })
	conn2, err := c.Connection(context.Background(), conn.ID())
	if err != nil {
		t.Fatal(err)
	}
	w.sim.InjectFault(simulator.Fault{Status: http.StatusServiceUnavailable, Body: `{"error":"temporarily_unavailable"}`})
	w.clock.Advance(2 * time.Hour)
	if _, err := conn2.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := wire.Writes(); n != 2 {
		t.Errorf("a refresh and its retry took %d writes, want 2 (headers and body together each time)", n)
	}
}
