package connector_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/store/memory"
)

const (
	silenceSecret  = "silence-client-secret"
	silenceRefresh = "silence-refresh-token"
)

// stallingTokenEndpoint answers every token request at once with a new grant,
// unless stall says otherwise for the n-th (1-based) request.
func stallingTokenEndpoint(t *testing.T, stall func(n int64, w http.ResponseWriter, r *http.Request) bool) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv, _ := stallServer(t, func(w http.ResponseWriter, r *http.Request, hold func()) {
		io.Copy(io.Discard, r.Body)
		i := n.Add(1)
		if stall != nil && stall(i, w, r) {
			hold()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"access-%d","token_type":"bearer","expires_in":3600,"refresh_token":"refresh-%d"}`, i, i)
	})
	return srv, &n
}

func stallConnection(t *testing.T, p driver.Provider, srv *httptest.Server, o connector.Options) *connector.Connection {
	t.Helper()
	return stallConnectionAt(t, p, srv.URL, o)
}

func stallConnectionAt(t *testing.T, p driver.Provider, base string, o connector.Options) *connector.Connection {
	t.Helper()
	o.ClientID, o.ClientSecret, o.Store = "app", silenceSecret, memory.New()
	o.Endpoint = driver.Endpoint{TokenURL: base + "/oauth/token", APIBaseURL: base + "/v1/"}
	o.Retry.WaitMin, o.Retry.WaitMax = time.Millisecond, time.Millisecond
	c, err := connector.NewWithDriver(p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	now := time.Now()
	conn, err := c.Import(context.Background(), &connector.Token{AccessToken: "access", RefreshToken: silenceRefresh, TokenType: "Bearer",
		IssuedAt: now, Expiry: now.Add(time.Hour), AccountID: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestRefreshSilentProviderNotReplayed: a refresh the provider took and
// then left silent (no answer, or half an answer) is
// never sent again when the driver is not replay-safe; the connection is
// marked needs_reauth; the error holds neither the secret nor the refresh
// token. A replay-safe driver does retry it.
func TestRefreshSilentProviderNotReplayed(t *testing.T) {
	noAnswer := func(n int64, w http.ResponseWriter, r *http.Request) bool { return n == 1 }
	halfAnswer := func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n != 1 {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "200")
		io.WriteString(w, `{"access_token":"acc`)
		w.(http.Flusher).Flush()
		return true
	}
	for _, tc := range []struct {
		name      string
		p         driver.Provider
		stall     func(int64, http.ResponseWriter, *http.Request) bool
		wantPosts int64
		wantCode  driver.Code
		wantErr   bool
	}{
		{"no answer, not replay-safe", notReplaySafe{jumpseller.Provider}, noAnswer, 1, driver.ReauthRequired, true},
		{"half an answer, not replay-safe", notReplaySafe{jumpseller.Provider}, halfAnswer, 1, driver.ReauthRequired, true},
		{"no answer, replay-safe", jumpseller.Provider, noAnswer, 2, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, posts := stallingTokenEndpoint(t, tc.stall)
			conn := stallConnection(t, tc.p, srv, connector.Options{Timeout: 150 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			_, err := conn.Refresh(ctx)
			if ctx.Err() != nil {
				t.Fatal("the refresh was not bounded by Timeout")
			}
			if got := posts.Load(); got != tc.wantPosts {
				t.Errorf("the provider got %d refresh POSTs, want %d", got, tc.wantPosts)
			}
			if !tc.wantErr {
				if err != nil {
					t.Errorf("Refresh: %v", err)
				}
				return
			}
			if driver.CodeOf(err) != tc.wantCode {
				t.Errorf("Refresh: %v (code %v), want %v", err, driver.CodeOf(err), tc.wantCode)
			}
			for _, s := range []string{silenceSecret, silenceRefresh} {
				if err != nil && strings.Contains(fmt.Sprintf("%v %+v", err, err), s) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

// TestRefreshTLSHandshakeStallNotUncertain: a refresh whose TLS handshake
// never completes (the provider's address takes the connection and says
// nothing) cannot have reached the provider: it is Unavailable, and the
// connection stays active, even where a refresh that may have been
// processed would need reauthorization (a driver that is not replay-safe).
func TestRefreshTLSHandshakeStallNotUncertain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	conn := stallConnectionAt(t, notReplaySafe{jumpseller.Provider}, "https://"+ln.Addr().String(), connector.Options{Timeout: 150 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The stored access token is still valid: Refresh may return it.
	if _, err = conn.Refresh(ctx); err != nil && driver.CodeOf(err) != driver.Unavailable {
		t.Errorf("Refresh: %v (code %v), want it or %v: nothing was sent", err, driver.CodeOf(err), driver.Unavailable)
	}
	if got := conn.Info().Status; got != connector.StatusActive {
		t.Errorf("the connection is %s after a refresh that sent nothing, want %s", got, connector.StatusActive)
	}
}
