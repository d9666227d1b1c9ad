package connector

import (
	"context"

	"golang.org/x/oauth2"
)

// TokenSource returns the connection as a golang.org/x/oauth2 TokenSource,
// for libraries that take one (oauth2.NewClient, API client generators).
// The tokens it returns carry no refresh token: refreshing stays the
// engine's job, so that rotation is persisted and serialised.
func (conn *Connection) TokenSource(ctx context.Context) oauth2.TokenSource {
	return tokenSource{ctx: ctx, conn: conn}
}

type tokenSource struct {
	ctx  context.Context
	conn *Connection
}

// Token implements oauth2.TokenSource.
func (ts tokenSource) Token() (*oauth2.Token, error) {
	t, err := ts.conn.Token(ts.ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry}, nil
}
