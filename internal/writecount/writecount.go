// Package writecount gives tests an HTTP transport that counts the writes
// made on its connections: a request whose headers and body leave in one
// write costs one TCP segment, one that flushes its headers apart costs two.
package writecount

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// Transport is an *http.Transport whose connections count their writes.
type Transport struct {
	*http.Transport
	writes atomic.Int64
}

// New returns a Transport with a count of zero.
func New() *Transport {
	t := &Transport{}
	t.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return conn{c, &t.writes}, nil
	}}
	return t
}

// Writes returns the writes made so far.
func (t *Transport) Writes() int64 { return t.writes.Load() }

type conn struct {
	net.Conn
	writes *atomic.Int64
}

func (c conn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
