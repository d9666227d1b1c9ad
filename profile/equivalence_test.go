package profile_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/profile"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/providers/shopline"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// wireRequest is one request as the server received it.
type wireRequest struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// recorder is a provider stand-in that records every request and answers
// from a script.
type recorder struct {
	mu       sync.Mutex
	requests []wireRequest
	answers  map[string]scripted // path → answer
}

type scripted struct {
	status int
	ctype  string
	body   string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := r.Header.Clone()
	rc.mu.Lock()
	rc.requests = append(rc.requests, wireRequest{r.Method, r.URL.Path, r.URL.RawQuery, h, string(body)})
	a, ok := rc.answers[r.URL.Path]
	rc.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (rc *recorder) take() []wireRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.requests
	rc.requests = nil
	return out
}

// run is one lifecycle through a driver: exchange, identify, refresh and
// (when the driver can) revoke, with the requests each sent.
type run struct {
	Token, Refreshed *driver.Token
	ExchangeErr      driver.Code
	RefreshErr       driver.Code
	Account          string
	Requests         []wireRequest
}

// lifecycle runs p as the engine would today (driver.StandardExchange;
// the driver's Refresher or driver.StandardRefresh; its Revoker or
// driver.StandardRevoke when it has a revocation endpoint).
func lifecycle(t *testing.T, p driver.Provider, srv *httptest.Server, rc *recorder, viaExchanger bool) run {
	t.Helper()
	ctx := context.Background()
	spec := p.Spec()
	move := func(u string) string {
		if u == "" {
			return ""
		}
		pu, _ := url.Parse(u)
		return srv.URL + pu.Path
	}
	now := time.Unix(1_700_000_100, 0)
	env := &driver.Env{Provider: p, HTTP: srv.Client(), Now: func() time.Time { return now }, Config: driver.Config{
		ClientID: "client-id-0123456789", ClientSecret: "client-secret-9876543210",
		RedirectURL: "https://app.example/callback", Scopes: []string{"read_store", "read_orders"},
		Endpoint: driver.Endpoint{AuthURL: move(spec.Endpoint.AuthURL), TokenURL: move(spec.Endpoint.TokenURL),
			RevokeURL: move(spec.Endpoint.RevokeURL), TokenInfoURL: move(spec.Endpoint.TokenInfoURL), APIBaseURL: move(spec.Endpoint.APIBaseURL)},
	}}
	var out run
	var tok *driver.Token
	var err error
	if ex, ok := p.(profile.Exchanger); ok && viaExchanger {
		tok, err = ex.Exchange(ctx, env, url.Values{"code": {"code-abc"}, "state": {"s"}})
	} else {
		tok, err = driver.StandardExchange(ctx, env, "code-abc")
	}
	if err != nil {
		out.ExchangeErr = driver.CodeOf(err)
		out.Requests = rc.take()
		return out
	}
	out.Token = tok.Clone()
	if out.Account, err = p.Identify(ctx, env, tok); err != nil {
		t.Fatalf("Identify: %v", err)
	}
	tok.AccountID = out.Account
	var nt *driver.Token
	if r, ok := p.(driver.Refresher); ok {
		nt, err = r.Refresh(ctx, env, tok)
	} else {
		nt, err = driver.StandardRefresh(ctx, env, tok)
	}
	if err != nil {
		out.RefreshErr = driver.CodeOf(err)
	} else {
		out.Refreshed = nt
		if env.Config.Endpoint.RevokeURL != "" {
			if r, ok := p.(driver.Revoker); ok {
				err = r.Revoke(ctx, env, nt)
			} else {
				err = driver.StandardRevoke(ctx, env, nt)
			}
			if err != nil {
				t.Fatalf("revoke: %v", err)
			}
		}
	}
	out.Requests = rc.take()
	return out
}

// TestEquivalence holds the Jumpseller and SHOPLINE profiles to the Go
// drivers: the same token, refresh and revoke requests, byte for byte
// (method, path, every header, body), the same Token, the same account,
// the same error codes, and the same Spec.
func TestEquivalence(t *testing.T) {
	const (
		jsAnswer  = `{"access_token":"4a1b2c3d4e5f60718293a4b5c6d7e8f9","token_type":"bearer","expires_in":3600,"refresh_token":"9f8e7d6c5b4a39281706f5e4d3c2b1a0","created_at":1700000000}`
		slAnswer  = `{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI1ZTFkIn0.c2lnbmF0dXJl","token_type":"Bearer","expires_in":15778476,"refresh_token":"r3fr3sh-t0k3n-0123456789","scope":"products orders","created_at":1700000000,"resource_owner_id":"5e1d2c3b4a5f6e7d8c9b0a12","extra_field":{"a":1}}`
		storeInfo = `{"store":{"name":"Sandbox Store","code":"sandbox-store","currency":"EUR"}}`
	)
	answers := []struct {
		name   string
		answer scripted
	}{
		{"Documented", scripted{}},
		{"InvalidGrant", scripted{400, "application/json", `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked"}`}},
		{"InvalidClient401", scripted{401, "application/json", `{"error":"invalid_client"}`}},
		{"HTMLPage", scripted{200, "text/html", "<html><body>maintenance</body></html>"}},
		{"MalformedJSON", scripted{200, "application/json", `{"access_token":`}},
		{"NoAccessToken", scripted{200, "application/json", `{"token_type":"Bearer","expires_in":60}`}},
		{"MacToken", scripted{200, "application/json", `{"access_token":"abc","token_type":"mac","expires_in":60}`}},
		{"ZeroLifetime", scripted{200, "application/json", `{"access_token":"abc","token_type":"Bearer","expires_in":0}`}},
		{"CRLFInToken", scripted{200, "application/json", "{\"access_token\":\"abc\\r\\nX: 1\",\"token_type\":\"Bearer\",\"expires_in\":60}"}},
		{"RateLimited", scripted{429, "application/json", `{"error":"Rate limit exceeded","code":"RateLimitExceeded"}`}},
	}
	providers := []struct {
		name   string
		goDrv  driver.Provider
		prof   *profile.Profile
		answer string
	}{
		{"jumpseller", jumpseller.Provider, profile.Lookup("jumpseller"), jsAnswer},
		{"shopline", shopline.Provider, profile.Lookup("shopline"), slAnswer},
	}
	for _, pv := range providers {
		t.Run(pv.name+"/Spec", func(t *testing.T) {
			if d := cmp.Diff(*pv.goDrv.Spec(), *pv.prof.Driver().Spec(), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Spec (-Go driver +profile):\n%s", d)
			}
		})
		for _, a := range answers {
			t.Run(pv.name+"/"+a.name, func(t *testing.T) {
				rc := &recorder{answers: map[string]scripted{
					"/oauth/token":        {200, "application/json; charset=utf-8", pv.answer},
					"/oauth/revoke":       {200, "application/json", `{}`},
					"/v1/store/info.json": {200, "application/json", storeInfo},
					"/oauth/token/info":   {200, "application/json", `{}`},
				}}
				if a.answer.status != 0 {
					rc.answers["/oauth/token"] = a.answer
				}
				srv := httptest.NewServer(rc)
				defer srv.Close()
				want := lifecycle(t, pv.goDrv, srv, rc, false)
				for _, via := range []struct {
					name      string
					exchanger bool
				}{{"Engine", false}, {"Exchanger", true}} {
					got := lifecycle(t, pv.prof.Driver(), srv, rc, via.exchanger)
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("%s: (-Go driver +profile):\n%s", via.name, d)
					}
				}
				if a.answer.status == 0 && len(want.Requests) < 2 {
					t.Fatalf("the lifecycle sent %d requests, want at least exchange and refresh", len(want.Requests))
				}
				if a.answer.status == 0 && strings.Contains(pv.answer, "resource_owner_id") && want.Token.AccountID == "" {
					t.Error("the account was not lifted")
				}
			})
		}
	}
}
