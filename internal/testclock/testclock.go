// Package testclock is the fake clock of the module's tests, simulators and
// demo: a time that moves only when told, shared by a connector
// (Options.Clock), a simulator (SetClock) and a store (SetClock) through the
// method value Now.
//
//	clk := testclock.New(time.Unix(1_700_000_000, 0))
//	sim.SetClock(clk.Now)
//	opts.Clock = clk.Now
//	clk.Advance(time.Hour) // the token has expired for both
//
// Every method is safe for concurrent use.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable, advanceable clock. The zero Clock stands still at
// the zero time.
type Clock struct {
	mu   sync.Mutex
	t    time.Time     // the time, or for a clock following the real one, the zero time plus the offset
	step time.Duration // added by each call of Now
	real bool          // Now is time.Now plus the offset
}

// New returns a clock that stands still at t until it is advanced or set.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Ticking returns a clock at t that moves forward by step at each call of
// Now, after reading: time moves, if slowly, and no two readings are equal
// (for code that orders records by their timestamps).
func Ticking(t time.Time, step time.Duration) *Clock { return &Clock{t: t, step: step} }

// Real returns a clock that follows the real time, shifted by what Advance
// adds: for code that also waits on real timers, such as an HTTP client's.
func Real() *Clock { return &Clock{real: true} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now().Add(c.t.Sub(time.Time{}))
	}
	now := c.t
	c.t = c.t.Add(c.step)
	return now
}

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t. On a clock made by Real, it sets the offset so
// that Now returns t at once, and then follows the real time from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		c.t = time.Time{}.Add(t.Sub(time.Now()))
		return
	}
	c.t = t
}
