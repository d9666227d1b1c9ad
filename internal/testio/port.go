package testio

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Ports FreePort picks from: below Linux's ephemeral range (32768–60999 by
// default), from which the kernel takes the local port of every outgoing
// connection and of every listener on port 0 — a port picked there may be
// taken by the test's own HTTP clients before the command under test
// listens on it.
const (
	lowPort  = 20000
	highPort = 32768
)

var (
	givenMu sync.Mutex
	given   = map[int]bool{} // ports FreePort has returned in this process
)

// FreePort returns a loopback port that was free a moment ago, outside the
// ephemeral range and never returned before in this process: another
// process may still take it before the caller listens on it, but neither
// an outgoing connection nor another test of this process will.
func FreePort(t testing.TB) int {
	t.Helper()
	givenMu.Lock()
	defer givenMu.Unlock()
	for range 100 {
		port := lowPort + rand.IntN(highPort-lowPort)
		if given[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // held by another process
		}
		l.Close()
		given[port] = true
		return port
	}
	t.Fatalf("no free loopback port in %d–%d after 100 tries", lowPort, highPort-1)
	return 0
}
