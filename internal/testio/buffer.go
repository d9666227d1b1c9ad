// Package testio is the output harness of the module's command tests: a
// buffer that a command (in a goroutine, or a child process) writes while
// the test reads it, a bounded wait for a line of that output, and a free
// loopback port for a command's callback server.
//
//	out, errb := testio.Pair()
//	go func() {
//		code := cli.Main(ctx, args, cli.IO{Out: out, Err: errb})
//		out.Close() // a wait for a line that can no longer come fails now
//		errb.Close()
//		done <- code
//	}()
//	url := testio.WaitLine(t, errb, "authorization URL", func(l string) bool {
//		return strings.HasPrefix(l, "http")
//	})
//
// It is for tests only: no package of the connector binary imports it.
package testio

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent use: for a command writing
// in one goroutine while the test reads in another. The zero Buffer is
// empty and ready to use.
type Buffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	closed bool    // the writer has ended: no more lines will come
	other  *Buffer // the command's other stream (Pair), shown when a wait fails
}

// Pair returns the two buffers of one command's standard output and
// standard error. A wait on either that fails shows both: the line a test
// waits for on one stream, the error that explains its absence on the
// other.
func Pair() (out, err *Buffer) {
	out, err = &Buffer{}, &Buffer{}
	out.other, err.other = err, out
	return out, err
}

// Write appends p to the buffer; it never fails.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Close records that the writer has ended (the command returned), so that
// WaitLine gives up at once instead of waiting out its bound for a line
// that cannot come. Writing after Close still works. It returns nil.
func (s *Buffer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// state returns what has been written so far and whether Close was called
// before it was read.
func (s *Buffer) state() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.closed
}
