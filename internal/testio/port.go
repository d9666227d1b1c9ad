package testio

import (
	"net"
	"testing"
)

// FreePort returns a loopback port that was free a moment ago: another
// listener may take it before the caller does.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
