package connector

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// This file is how Revoke ends the whole grant at a Doorkeeper server (both
// providers run one). What Doorkeeper 5.5 does, from its source:
//
//   - A refresh, in the default mode (the install migration's
//     previous_refresh_token column), issues a new row (access and refresh
//     token) and leaves the previous row alive; the previous row is revoked
//     when the new access token is first presented — by any request,
//     whether or not the token has expired (OAuth::Token.authenticate calls
//     AccessTokenMixin#revoke_previous_refresh_token!: lib/doorkeeper/oauth/token.rb,
//     lib/doorkeeper/models/access_token_mixin.rb). Without that column the
//     previous row is revoked at once (lib/doorkeeper/oauth/refresh_token_request.rb).
//   - /oauth/revoke revokes the one row its token names, and only while that
//     row's access token is accessible: not expired, not revoked
//     (`token.revoke if token&.accessible?` in
//     app/controllers/doorkeeper/tokens_controller.rb). For an expired row it
//     answers 200 and revokes nothing.
//
// So a connection refreshed twice without using the new access tokens in
// between (an idle grant kept alive by RefreshDue) holds three live rows,
// and revoking the current refresh token once its access token expired
// revoked none of them. The engine therefore:
//
//  1. remembers, sealed with the token, the access tokens that refreshes
//     issued and that may never have been presented ("unused"): presenting
//     one completes its rotation;
//  2. presents them at the token-info endpoint before the next refresh and
//     on Revoke (any HTTP answer counts: Doorkeeper revokes the previous row
//     before it checks the token), keeping those whose request failed;
//  3. on Revoke, refreshes first when the current access token has expired
//     (through the lease, persisted like any refresh), completes that
//     rotation, then revokes the fresh row.
//
// This is done for providers that have both a revocation and a token-info
// endpoint (SHOPLINE); elsewhere nothing can be revoked anyway. It costs one
// token-info request per refresh, and SHOPLINE refreshes twice a year.
//
// What no client can revoke: a refresh answer lost on the wire leaves a
// row whose tokens the engine never saw (the replay that follows gets
// another); it lives until its refresh token expires (SHOPLINE: a day after
// its access token).

// maxUnused bounds the remembered access tokens; beyond it the oldest is
// dropped (and logged). It is reached only when token-info requests keep
// failing.
const maxUnused = 16

// completesRotations reports whether the engine tracks and completes
// rotations: only where a grant can be revoked and a token presented.
func (c *Connector) completesRotations() bool {
	return c.CanRevoke() && c.env.Config.Endpoint.TokenInfoURL != ""
}

// rotated returns unused with nt's access token added when nt replaced
// old's refresh token: presenting it completes the rotation.
func (c *Connector) rotated(unused []string, old, nt *Token) []string {
	if !c.completesRotations() || old == nil || old.RefreshToken == "" || old.RefreshToken == nt.RefreshToken || nt.AccessToken == "" {
		return unused
	}
	out := make([]string, 0, len(unused)+1)
	out = append(out, unused...)
	out = append(out, nt.AccessToken)
	if len(out) > maxUnused {
		c.opts.Logger.Warn("dropping the oldest unconfirmed rotation: its token-info requests kept failing", "provider", c.name)
		out = out[len(out)-maxUnused:]
	}
	return out
}

// present completes the rotations of unused by presenting each access
// token at the token-info endpoint, and returns those whose request got no
// answer.
func (c *Connector) present(ctx context.Context, unused []string) ([]string, error) {
	var left []string
	var errs []error
	for _, at := range unused {
		if err := c.presentOne(ctx, at); err != nil {
			left = append(left, at)
			errs = append(errs, driver.Scrub(err, at, c.opts.ClientSecret))
		}
	}
	return left, errors.Join(errs...)
}

// presentOne sends one token-info request with at. Any answer below 500
// means the server looked the token up, and Doorkeeper revokes the
// previous row when it does.
func (c *Connector) presentOne(ctx context.Context, at string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.env.Config.Endpoint.TokenInfoURL, nil)
	if err != nil {
		return c.errorf(driver.InvalidConfig, "revoke", "bad token info URL")
	}
	for k, v := range c.spec.APIHeaders {
		req.Header[k] = v
	}
	if az, ok := c.p.(driver.APIAuthorizer); ok {
		az.AuthorizeAPIRequest(req, &Token{AccessToken: at})
	} else {
		req.Header.Set("Authorization", "Bearer "+at)
	}
	resp, err := c.env.HTTP.Do(req)
	if err != nil {
		e := c.errorf(driver.Unavailable, "revoke", "token info unreachable")
		e.Err = err
		return e
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return c.errorf(driver.Unavailable, "revoke", "token info answered %d", resp.StatusCode)
	}
	return nil
}

// completeBeforeRefresh presents the connection's unused access tokens
// before a refresh, best effort within the refresh budget, and returns
// those still to present.
func (conn *Connection) completeBeforeRefresh(ctx context.Context, s *snapshot) []string {
	if len(s.unused) == 0 {
		return nil
	}
	c := conn.c
	ctx, cancel := context.WithTimeout(ctx, c.opts.Retry.Budget)
	defer cancel()
	left, err := c.present(ctx, s.unused)
	if err != nil {
		c.warn(ctx, "could not complete a rotation; will try again", "connection", conn.id, "code", driver.CodeOf(err).String())
	}
	return left
}

// retireReplaced revokes, best effort, the grant a re-authorization
// replaced: it is no longer reachable through the store, and would
// otherwise stay alive at the provider.
func (c *Connector) retireReplaced(ctx context.Context, old *store.Record) {
	if !c.completesRotations() {
		return
	}
	tok, unused, err := c.open(old)
	if err != nil {
		return
	}
	_, perr := c.present(ctx, unused)
	if !tok.Expiry.IsZero() && !c.now().Before(tok.Expiry) && tok.RefreshToken != "" {
		// An expired row cannot be revoked: refresh it (nobody else uses
		// this grant now), complete that rotation, revoke the new row.
		if nt, err := c.refresh(ctx, tok); err != nil {
			perr = errors.Join(perr, err)
		} else {
			if err := c.presentOne(ctx, nt.AccessToken); err != nil {
				perr = errors.Join(perr, driver.Scrub(err, nt.AccessToken))
			}
			tok = nt
		}
	}
	if err := c.revokeToken(ctx, tok); err != nil {
		perr = errors.Join(perr, err)
	}
	if perr != nil {
		c.warn(ctx, "could not revoke the grant a re-authorization replaced", "connection", idOf(old), "code", driver.CodeOf(perr).String())
	}
}

// revokeToken revokes one token's row at the provider.
func (c *Connector) revokeToken(ctx context.Context, tok *Token) error {
	var err error
	if r, ok := c.p.(driver.Revoker); ok {
		err = r.Revoke(ctx, c.env, tok)
	} else {
		err = driver.StandardRevoke(ctx, c.env, tok)
	}
	return driver.Scrub(err, c.opts.ClientSecret, tok.AccessToken, tok.RefreshToken)
}

// revokeGrant revokes every row of the connection's grant that may be
// alive (see the top of this file).
func (conn *Connection) revokeGrant(ctx context.Context, s *snapshot) error {
	c := conn.c
	var errs []error
	if c.completesRotations() {
		if s.usable && s.tok.RefreshToken != "" && s.expired(c.now()) {
			// An expired row cannot be revoked: refresh, so that the grant
			// lives on in a fresh row that can.
			if _, err := conn.Refresh(ctx); err != nil {
				errs = append(errs, err)
			} else if ns := conn.snap.Load(); ns != nil {
				s = ns
			}
		}
		if _, err := c.present(ctx, s.unused); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.revokeToken(ctx, s.tok); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
