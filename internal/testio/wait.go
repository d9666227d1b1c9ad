package testio

import (
	"strings"
	"testing"
	"time"
)

// Wait bounds every wait of the tests that use it: generous, for a loaded
// CI machine running the race detector; a passing test never waits that
// long.
const Wait = 40 * time.Second

// WaitLine waits, for at most Wait, until a line of b satisfies match, and
// returns that line. When none does in time, it fails t with
// "no <what> within 40s; output so far:" and b's output; when none does
// and b is closed (its writer ended), it fails t at once.
func WaitLine(t testing.TB, b *Buffer, what string, match func(string) bool) string {
	t.Helper()
	return WaitLineWithin(t, Wait, b, what, match)
}

// WaitLineWithin is WaitLine bounded by d instead of Wait: for tests whose
// waits have another bound. When b is one of a Pair, a failure shows the
// other stream too.
func WaitLineWithin(t testing.TB, d time.Duration, b *Buffer, what string, match func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		out, closed := b.state()
		for _, line := range strings.Split(out, "\n") {
			if match(line) {
				return line
			}
		}
		if closed {
			t.Fatalf("no %s: the command ended; its output:\n%s%s", what, out, b.otherStream())
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s within %s; output so far:\n%s%s", what, d, b.String(), b.otherStream())
	return ""
}

// otherStream is the other buffer of b's Pair, introduced, or "" when
// there is none or it is empty.
func (b *Buffer) otherStream() string {
	if b.other == nil {
		return ""
	}
	s := b.other.String()
	if s == "" {
		return ""
	}
	return "its other stream:\n" + s
}
