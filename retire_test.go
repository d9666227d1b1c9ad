package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector/simulator"
)

// presentRefresh presents a refresh token at the simulator's token endpoint
// as SHOPLINE's documentation has it (JSON, with redirect_uri) and returns
// the status and the OAuth error.
func presentRefresh(t *testing.T, tokenURL, redirect, refresh string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": refresh,
		"client_id": clientID, "client_secret": clientSecret, "redirect_uri": redirect})
	resp, err := http.Post(tokenURL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error
}

// TestRevokeEndsWholeGrant is the fidelity issue's revoke defect: at a
// Doorkeeper server in its default rotation mode, a connection refreshed
// twice without its new access tokens being used in between holds three
// live rows, and revoking the current one (which Doorkeeper 5.5 does only
// while its access token has not expired) left the others able to mint
// tokens. After Revoke, no refresh token the connection ever held works.
func TestRevokeEndsWholeGrant(t *testing.T) {
	for _, tt := range []struct {
		name string
		// used makes an API call after each refresh (rotations completed by
		// use), or not (idle, as RefreshDue keeps a grant).
		used bool
		// expired lets the access token expire before the revoke.
		expired bool
	}{
		{"idle grant, revoked while its token is valid", false, false},
		{"idle grant, revoked after its token expired", false, true},
		{"grant in use, revoked after its token expired", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim, clk, _, c := newShopline(t, nil)
			conn, err := c.HandleCallback(context.Background(), approve(t, sim, c))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var held []string
			tok, _ := conn.Token(ctx)
			held = append(held, tok.RefreshToken)
			for range 2 {
				clk.Advance(tok.Expiry.Sub(clk.Now()) + time.Minute)
				var err error
				if tok, err = conn.Token(ctx); err != nil {
					t.Fatal(err)
				}
				held = append(held, tok.RefreshToken)
				if tt.used {
					req, _ := conn.NewRequest(ctx, "GET", "token/info", nil)
					resp, err := conn.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
				}
			}
			if tt.expired {
				clk.Advance(tok.Expiry.Sub(clk.Now()) + time.Minute)
			}
			if err := conn.Revoke(ctx); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if last, _ := conn.Held(); last != nil && last.RefreshToken != held[len(held)-1] {
				held = append(held, last.RefreshToken) // Revoke refreshed first
			}
			if conn.Info().Status != "revoked" {
				t.Errorf("status %s, want revoked", conn.Info().Status)
			}
			tokenURL := c.Spec().Endpoint.TokenURL
			redirect := strings.TrimSuffix(tokenURL, simulator.TokenPath) + "/callback"
			for i, r := range held {
				if status, oe := presentRefresh(t, tokenURL, redirect, r); oe != "invalid_grant" {
					t.Errorf("refresh token #%d still works after Revoke (status %d, error %q)", i, status, oe)
				}
			}
			if _, err := conn.Token(ctx); driver.CodeOf(err) != driver.ReauthRequired {
				t.Errorf("Token after Revoke: %v, want reauth_required", err)
			}
		})
	}
}
