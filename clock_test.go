package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
)

// With the real clock, the cached path reads the shared coarse clock; a
// token whose refresh time is closer than the coarse clock's margin must
// still be refreshed on time, never served stale.
func TestCoarseClockNeverServesStale(t *testing.T) {
	w := newWorld(t)
	c := w.connector(t, func(o *connector.Options) { o.Clock = nil; o.Leeway = time.Minute })
	w.sim.SetClock(time.Now)
	now := time.Now()
	conn, err := c.Import(context.Background(), &connector.Token{AccessToken: "short-lived", RefreshToken: "unknown-to-the-simulator",
		IssuedAt: now, Expiry: now.Add(time.Minute + 150*time.Millisecond), AccountID: "acc"})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := conn.Token(context.Background()); err != nil || tok.AccessToken != "short-lived" {
		t.Fatalf("before the refresh time: %v, %v", tok, err)
	}
	time.Sleep(300 * time.Millisecond)
	// Past the refresh time the engine must try to refresh; the simulator
	// does not know this grant, so the attempt ends in reauth_required.
	if _, err := conn.Token(context.Background()); driver.CodeOf(err) != driver.ReauthRequired {
		t.Errorf("past the refresh time: %v, want a refresh attempt (reauth_required)", err)
	}
}
