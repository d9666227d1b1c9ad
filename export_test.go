package connector

import "time"

// AppendTokenJSON exposes appendTokenJSON to the external tests.
var AppendTokenJSON = appendTokenJSON

// PooledPlaintext takes a buffer from the pool tokens are encoded into
// before sealing, and returns its whole capacity.
func PooledPlaintext() []byte {
	b := plainBufs.Get().(*[]byte)
	return (*b)[:cap(*b)]
}

// DefaultLeaseTTL is the LeaseTTL New uses for a zero Options.LeaseTTL.
func DefaultLeaseTTL(p RetryPolicy) time.Duration {
	return Options{Retry: p}.withDefaults().LeaseTTL
}

// Limits returns the Timeout, retry budget and lease a Connector uses,
// defaults applied.
func (c *Connector) Limits() (timeout, budget, lease time.Duration) {
	return c.opts.Timeout, c.opts.Retry.Budget, c.opts.LeaseTTL
}

// Held returns the token a connection holds and the access tokens of its
// rotations not known to be complete (retire.go).
func (conn *Connection) Held() (*Token, []string) {
	s := conn.snap.Load()
	if s == nil {
		return nil, nil
	}
	return s.tok, append([]string(nil), s.unused...)
}

// StoreKey returns the id of the connection's record in the store: the
// connection id qualified by the application (connections.go).
func (conn *Connection) StoreKey() string { return conn.key }

// The retry policy's pieces, unexported because only tests call them.
var (
	CheckRetry      = checkRetry
	ParseRetryAfter = parseRetryAfter
	Backoff         = backoff
)
