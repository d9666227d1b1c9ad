package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/store/sqlite"
)

// TestLeaseWaitSaysSo: a command whose refresh finds the connection's lease
// held by another process (one killed mid-refresh, say) says so on standard
// error, once, naming the connection, then refreshes when the lease lapses.
func TestLeaseWaitSaysSo(t *testing.T) {
	f := newFixture(t, "jumpseller")
	r, _, _ := f.auth("approve")
	if r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	id := strings.TrimSpace(r.out)
	s, err := sqlite.Open(context.Background(), f.location)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The dead process's lease.
	if _, _, err := s.Lock(context.Background(), storedRecord(t, context.Background(), s, id).ID, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	r = f.run("token")
	if r.code != ExitOK || strings.TrimSpace(r.out) == "" {
		t.Fatalf("token exit %d, stdout %q; stderr:\n%s", r.code, r.out, r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "waiting for another process's refresh of "+id) || !strings.Contains(lines[0], "at the latest") {
		t.Errorf("stderr = %q; want one line saying the command waits for another process's refresh of %s, and until when", r.err, id)
	}
}
