package connector_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/driver"
	_ "github.com/connector-go/connector/providers/shopline"
	"github.com/connector-go/connector/store"
)

// issuedState starts an authorization and returns its URL and state.
func issuedState(t testing.TB, c *connector.Connector) (string, string) {
	t.Helper()
	u, err := c.AuthCodeURL(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return u, p.Query().Get("state")
}

// callbackErr is what TestHandleCallback checks of an error.
type callbackErr struct {
	Code       driver.Code
	Op         string
	OAuthError string
	Msg        string
}

func TestHandleCallback(t *testing.T) {
	approve := func(t *testing.T, w *world, c *connector.Connector) url.Values {
		u, _ := issuedState(t, c)
		back, err := w.sim.Approve(u)
		if err != nil {
			t.Fatal(err)
		}
		return back.Query()
	}
	tests := []struct {
		name string
		// query builds the callback query; it may run earlier callbacks.
		query   func(t *testing.T, w *world, c *connector.Connector) url.Values
		wantErr *callbackErr
		// wantTokenRequests counts the token requests of the last callback only.
		wantTokenRequests int
	}{
		{
			name:              "good",
			query:             approve,
			wantTokenRequests: 1,
		},
		{
			name: "missing state",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				q.Del("state")
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "the callback carries no state; start the authorization again"},
		},
		{
			name: "empty state",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				q.Set("state", "")
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "the callback carries no state; start the authorization again"},
		},
		{
			name: "unknown state",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				q.Set("state", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "unknown state; start the authorization again"},
		},
		{
			// The decoder skips line breaks: the state's bytes with a
			// newline are not the state (found by FuzzHandleCallback).
			name: "issued state with a line break",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				q.Set("state", q.Get("state")+"\n")
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "unknown state; start the authorization again"},
		},
		{
			// Another spelling of the state's bytes: its last character
			// with the unused low bits set.
			name: "issued state with other trailing bits",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				// A reference of one length or another makes a state whose
				// length leaves unused bits in its last character.
				var q url.Values
				for _, ref := range []string{"a", "ab", "abc"} {
					u, err := c.AuthURL(connector.AuthRequest{Ref: ref})
					if err != nil {
						t.Fatal(err)
					}
					back, err := w.sim.Approve(u)
					if err != nil {
						t.Fatal(err)
					}
					if q = back.Query(); len(q.Get("state"))%4 != 0 {
						break
					}
				}
				st := q.Get("state")
				const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
				last := strings.IndexByte(alphabet, st[len(st)-1])
				q.Set("state", st[:len(st)-1]+string(alphabet[last|1]))
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "unknown state; start the authorization again"},
		},
		{
			// Instances of one application share the store and its keys: a
			// callback may reach any of them.
			name: "state issued by another instance of the application",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				return approve(t, w, w.connector(t))
			},
			wantTokenRequests: 1,
		},
		{
			name: "state issued for another redirect URI",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				other := w.connector(t, func(o *connector.Options) { o.RedirectURL = w.srv.URL + "/other" })
				_, st := issuedState(t, other)
				q := approve(t, w, c)
				q.Set("state", st)
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "unknown state, or one issued for another provider, application or redirect URI; start the authorization again"},
		},
		{
			name: "state issued for another provider",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				sl, err := connector.New("shopline", connector.Options{ClientID: clientID, ClientSecret: clientSecret,
					RedirectURL: w.opts.RedirectURL, Store: w.opts.Store, Keyring: w.opts.Keyring, Clock: w.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				defer sl.Close()
				_, st := issuedState(t, sl)
				q := approve(t, w, c)
				q.Set("state", st)
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "unknown state, or one issued for another provider, application or redirect URI; start the authorization again"},
		},
		{
			name: "state signed with another key",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				other := w.connector(t, func(o *connector.Options) { o.Keyring, _ = store.NewKeyring(store.NewRandomKey()) })
				_, st := issuedState(t, other)
				q := approve(t, w, c)
				q.Set("state", st)
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "unknown state, or one issued for another provider, application or redirect URI; start the authorization again"},
		},
		{
			name: "reused state",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				if _, err := c.HandleCallback(context.Background(), q); err != nil {
					t.Fatal(err)
				}
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "state already used; start the authorization again"},
		},
		{
			name: "reused state with a fresh code",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				first := approve(t, w, c)
				if _, err := c.HandleCallback(context.Background(), first); err != nil {
					t.Fatal(err)
				}
				q := approve(t, w, c)
				q.Set("state", first.Get("state"))
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "state already used; start the authorization again"},
		},
		{
			name: "expired state",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				w.clock.Advance(15*time.Minute + time.Second) // Options.StateTTL's default is 15 min
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "state expired; start the authorization again"},
		},
		{
			name: "state still valid just before expiry",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				w.clock.Advance(15 * time.Minute)
				return q
			},
			// The state passes; the simulator's code (10 min) has expired.
			wantErr:           &callbackErr{Code: driver.InvalidGrant, Op: "exchange", OAuthError: "invalid_grant", Msg: "provider refused the request"},
			wantTokenRequests: 1,
		},
		{
			name: "error=access_denied with state",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				u, _ := issuedState(t, c)
				back, err := w.sim.Deny(u)
				if err != nil {
					t.Fatal(err)
				}
				return back.Query()
			},
			wantErr: &callbackErr{Code: driver.AccessDenied, Op: "authorize", OAuthError: "access_denied", Msg: "the provider refused the authorization"},
		},
		{
			name: "denied state cannot be used again",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				u, state := issuedState(t, c)
				back, err := w.sim.Deny(u)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.HandleCallback(context.Background(), back.Query()); driver.CodeOf(err) != driver.AccessDenied {
					t.Fatalf("denial: %v", err)
				}
				q := approve(t, w, c)
				q.Set("state", state)
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "state already used; start the authorization again"},
		},
		{
			name: "error=access_denied without state is a forged callback",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				return url.Values{"error": {"access_denied"}}
			},
			wantErr: &callbackErr{Code: driver.InvalidState, Op: "callback", Msg: "the callback carries no state; start the authorization again"},
		},
		{
			name: "error=invalid_scope",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				_, state := issuedState(t, c)
				return url.Values{"error": {"invalid_scope"}, "error_description": {"The requested scope is invalid, unknown, or malformed."}, "state": {state}}
			},
			wantErr: &callbackErr{Code: driver.InvalidScope, Op: "authorize", OAuthError: "invalid_scope", Msg: "the provider refused the authorization"},
		},
		{
			name: "error=invalid_scope from the simulator",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				u, _ := issuedState(t, c)
				p, _ := url.Parse(u)
				q := p.Query()
				q.Set("scope", "read_store read_everything")
				p.RawQuery = q.Encode()
				back, err := w.sim.Approve(p.String())
				if err != nil {
					t.Fatal(err)
				}
				return back.Query()
			},
			wantErr: &callbackErr{Code: driver.InvalidScope, Op: "authorize", OAuthError: "invalid_scope", Msg: "the provider refused the authorization"},
		},
		{
			name: "error=server_error",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				_, state := issuedState(t, c)
				return url.Values{"error": {"server_error"}, "state": {state}}
			},
			wantErr: &callbackErr{Code: driver.Unavailable, Op: "authorize", OAuthError: "server_error", Msg: "the provider refused the authorization"},
		},
		{
			name: "error that is no RFC code",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				_, state := issuedState(t, c)
				return url.Values{"error": {"Something broke"}, "state": {state}}
			},
			wantErr: &callbackErr{Code: driver.ProviderError, Op: "authorize", OAuthError: "Something broke", Msg: "the provider refused the authorization"},
		},
		{
			name: "error with a code wins over the code",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				q.Set("error", "access_denied")
				return q
			},
			wantErr: &callbackErr{Code: driver.AccessDenied, Op: "authorize", OAuthError: "access_denied", Msg: "the provider refused the authorization"},
		},
		{
			name: "missing code",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				q.Del("code")
				return q
			},
			wantErr: &callbackErr{Code: driver.InvalidGrant, Op: "callback", Msg: "the callback carries no code"},
		},
		{
			name: "code refused by the provider",
			query: func(t *testing.T, w *world, c *connector.Connector) url.Values {
				q := approve(t, w, c)
				q.Set("code", "not-a-code")
				return q
			},
			wantErr:           &callbackErr{Code: driver.InvalidGrant, Op: "exchange", OAuthError: "invalid_grant", Msg: "provider refused the request"},
			wantTokenRequests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			c := w.connector(t)
			q := tt.query(t, w, c)
			before := w.sim.Stats().TokenRequests
			conn, err := c.HandleCallback(context.Background(), q)
			var got *callbackErr
			if err != nil {
				var e *driver.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T %v, want *driver.Error", err, err)
				}
				got = &callbackErr{Code: e.Code, Op: e.Op, OAuthError: e.OAuthError, Msg: e.Msg}
				if conn != nil {
					t.Errorf("HandleCallback returned a connection with error %v", err)
				}
				if strings.Contains(err.Error(), clientSecret) {
					t.Errorf("error %q holds the client secret", err)
				}
			}
			if diff := cmp.Diff(tt.wantErr, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if got := w.sim.Stats().TokenRequests - before; got != tt.wantTokenRequests {
				t.Errorf("token endpoint called %d times, want %d", got, tt.wantTokenRequests)
			}
			if tt.wantErr == nil {
				if conn == nil {
					t.Fatal("no connection")
				}
				if diff := cmp.Diff("sandbox-store", conn.Info().Account); diff != "" {
					t.Errorf("account mismatch (-want +got):\n%s", diff)
				}
				if _, err := conn.Token(context.Background()); err != nil {
					t.Errorf("Token: %v", err)
				}
			}
		})
	}
}

// FuzzHandleCallback feeds HandleCallback fuzzed callback queries. Each run
// issues one state; the placeholder {state} in the input stands for it
// (nothing else can name it). Whatever the query: no panic; an error=…
// callback is refused with its OAuth code and never reaches the token
// endpoint; a callback without the issued state is refused with
// driver.InvalidState and never reaches the token endpoint; no error holds the
// client secret.
func FuzzHandleCallback(f *testing.F) {
	for _, s := range []string{
		"",
		"state={state}&code=abc",
		"code=abc&state={state}",
		"code=abc",
		"state=&code=abc",
		"state=x&code=y",
		"state=%7Bstate%7D&code=abc",
		"state={state}",
		"state={state}&code=",
		"state={state}x&code=abc",
		"state=x&state={state}&code=abc",
		"state={state}&state=x&code=abc",
		"error=access_denied&state={state}",
		"error=access_denied&error_description=The+resource+owner+or+authorization+server+denied+the+request.&state={state}",
		"error=invalid_scope&error_description=bad&state={state}",
		"error=server_error",
		"error=&state={state}&code=abc",
		"error=weird+%00%ff&state=x",
		"error=" + clientSecret + "&state={state}",
		"error=x&error_description=" + clientSecret,
		"state={state}&code=" + clientSecret,
		"state={state};code=abc",
		"state={state}&code=%zz",
		"state=" + strings.Repeat("A", 43) + "&code=abc",
	} {
		f.Add(s)
	}
	w := newWorld(f)
	c := w.connector(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		_, issued := issuedState(t, c)
		// Consume the state whatever happens, so that states do not pile up.
		defer c.HandleCallback(ctx, url.Values{"state": {issued}, "error": {"access_denied"}})
		q, err := url.ParseQuery(strings.ReplaceAll(raw, "{state}", issued))
		if err != nil {
			return
		}
		before := w.sim.Stats().TokenRequests
		conn, err := c.HandleCallback(ctx, q)
		calls := w.sim.Stats().TokenRequests - before
		if err != nil && strings.Contains(err.Error(), clientSecret) {
			t.Errorf("HandleCallback(%q) error %q holds the client secret", q, err)
		}
		if err != nil && conn != nil {
			t.Errorf("HandleCallback(%q) returned a connection and %v", q, err)
		}
		code := driver.CodeOf(err)
		switch oe, state := q.Get("error"), q.Get("state"); {
		case oe != "" && state == issued:
			want := driver.ClassifyOAuthError(oe)
			if oe == "access_denied" {
				want = driver.AccessDenied
			}
			if code != want {
				t.Errorf("HandleCallback(%q): code %v, want %v (error %v)", q, code, want, err)
			}
			if calls != 0 {
				t.Errorf("HandleCallback(%q): error callback reached the token endpoint %d times", q, calls)
			}
		case state != issued:
			// Whether or not it carries error=, a callback without the
			// issued state is refused as such.
			if code != driver.InvalidState {
				t.Errorf("HandleCallback(%q): code %v, want invalid_state (error %v)", q, code, err)
			}
			if calls != 0 {
				t.Errorf("HandleCallback(%q): unknown state reached the token endpoint %d times", q, calls)
			}
		case q.Get("code") == "":
			if code != driver.InvalidGrant || calls != 0 {
				t.Errorf("HandleCallback(%q): code %v after %d token requests, want invalid_grant after none (error %v)", q, code, calls, err)
			}
		default:
			// The issued state and some code: only the provider can judge
			// the code, and no fuzzed code is one it issued.
			if code != driver.InvalidGrant || calls == 0 {
				t.Errorf("HandleCallback(%q): code %v after %d token requests, want invalid_grant from the provider (error %v)", q, code, calls, err)
			}
		}
	})
}

// plainStore hides every method of the memory store beyond store.Store,
// as a third-party store would have none: states are consumed through
// Claim, which every store implements.
type plainStore struct{ store.Store }

func TestStateWithPlainStore(t *testing.T) {
	w := newWorld(t)
	c := w.connector(t, func(o *connector.Options) { o.Store = plainStore{w.store} })
	u, _ := issuedState(t, c)
	back, err := w.sim.Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleCallback(context.Background(), back.Query()); err != nil {
		t.Fatalf("first callback: %v", err)
	}
	_, err = c.HandleCallback(context.Background(), back.Query())
	if driver.CodeOf(err) != driver.InvalidState || !strings.Contains(err.Error(), "state already used") {
		t.Errorf("reused state through a plain store: %v, want invalid_state (already used)", err)
	}
}
