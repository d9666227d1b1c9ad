package testclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/internal/testclock"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestClock: what Now returns after each step, for every kind of clock.
func TestClock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		clock *testclock.Clock
		steps []func(*testclock.Clock)
		want  []time.Time // Now after each step (the first before any)
	}{
		{
			name:  "stands still",
			clock: testclock.New(t0),
			steps: []func(*testclock.Clock){func(*testclock.Clock) {}},
			want:  []time.Time{t0, t0},
		},
		{
			name:  "advance and set",
			clock: testclock.New(t0),
			steps: []func(*testclock.Clock){
				func(c *testclock.Clock) { c.Advance(time.Hour) },
				func(c *testclock.Clock) { c.Advance(-time.Minute) },
				func(c *testclock.Clock) { c.Set(t0.Add(24 * time.Hour)) },
			},
			want: []time.Time{t0, t0.Add(time.Hour), t0.Add(59 * time.Minute), t0.Add(24 * time.Hour)},
		},
		{
			name:  "ticking",
			clock: testclock.Ticking(t0, time.Microsecond),
			steps: []func(*testclock.Clock){
				func(*testclock.Clock) {},
				func(c *testclock.Clock) { c.Advance(time.Second) },
			},
			want: []time.Time{t0, t0.Add(time.Microsecond), t0.Add(time.Second + 2*time.Microsecond)},
		},
		{
			name:  "zero value",
			clock: &testclock.Clock{},
			steps: []func(*testclock.Clock){func(c *testclock.Clock) { c.Advance(time.Second) }},
			want:  []time.Time{{}, time.Time{}.Add(time.Second)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := []time.Time{tc.clock.Now()}
			for _, step := range tc.steps {
				step(tc.clock)
				got = append(got, tc.clock.Now())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Now (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReal: a clock made by Real follows the real time, shifted by Advance
// and Set.
func TestReal(t *testing.T) {
	const slack = time.Minute // generous: only the shift is checked
	near := func(t *testing.T, what string, got, want time.Time) {
		t.Helper()
		if d := got.Sub(want); d < -slack || d > slack {
			t.Errorf("%s = %v, want %v ± %v", what, got, want, slack)
		}
	}
	c := testclock.Real()
	near(t, "Now", c.Now(), time.Now())
	c.Advance(48 * time.Hour)
	near(t, "Now after Advance(48h)", c.Now(), time.Now().Add(48*time.Hour))
	c.Set(t0)
	near(t, "Now after Set", c.Now(), t0)
	before := c.Now()
	time.Sleep(2 * time.Millisecond)
	if !c.Now().After(before) {
		t.Error("a Real clock stood still")
	}
}

// TestConcurrent: Now, Advance and Set from many goroutines (run with
// -race); the advances all land.
func TestConcurrent(t *testing.T) {
	c := testclock.New(t0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	if got, want := c.Now(), t0.Add(800*time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
}
