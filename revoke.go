package connector

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

	"github.com/connector-go/connector/store"
)

// Revoke revokes the grant at the provider where it has a revocation
// endpoint (SHOPLINE), and marks the connection revoked either way. For a
// provider without one (Jumpseller) it only marks the connection; the
// merchant removes the app in the provider's admin to end the grant there
// (Connector.CanRevoke tells which).
//
// At the provider it ends every row of the grant that may still be alive
// (retire.go): it completes the rotations whose new access token was never
// presented, refreshes first when the access token has expired (Doorkeeper
// revokes only unexpired rows), then revokes; so that no refresh token the
// connection held works afterwards. The provider's errors, if any, are
// returned after the connection has been marked; calling Revoke again
// retries what failed (revoking twice is harmless).
func (conn *Connection) Revoke(ctx context.Context) error {
	ctx, span := conn.c.tel.tracer.Start(ctx, "connector.revoke", trace.WithAttributes(conn.c.connAttrs(conn.id)...))
	err := conn.revoke(ctx)
	if err != nil {
		err = conn.c.canceled(ctx, "revoke", err)
	}
	endSpan(span, err)
	return err
}

func (conn *Connection) revoke(ctx context.Context) error {
	c := conn.c
	s := conn.snap.Load()
	if s == nil {
		var err error
		if s, err = conn.load(ctx); err != nil {
			return err
		}
	}
	var perr error
	if c.opts.Mode != ModeOff && c.CanRevoke() {
		perr = conn.revokeGrant(ctx, s)
	}
	for attempt := 0; ; attempt++ {
		rec, err := c.store.Get(ctx, conn.key)
		if err != nil {
			return c.storeErr("revoke", err)
		}
		rec.Status, rec.Reason = store.Revoked, "revoked through the connector"
		v, err := c.store.Put(ctx, rec, 0)
		if err == nil {
			rec.Version = v
			if tok, unused, oerr := c.open(rec); oerr == nil {
				conn.set(c.snapshotOf(rec, tok, unused))
			}
			if c.opts.OnEvent != nil { // spares building the event
				c.emit(ctx, Event{Kind: Revoked, Connection: infoOf(rec), Err: perr})
			}
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 3 {
			return c.storeErr("revoke", err)
		}
	}
	c.log(ctx, "connection revoked", "connection", conn.id, "at_provider", c.CanRevoke())
	return perr
}
