package connector

import (
	"sync"
	"sync/atomic"
	"time"
)

// The cached Token() path must cost less than reading the clock: on many
// machines time.Now takes 20–60 ns (two vDSO calls), more than the rest of
// the path. Connectors that use the real clock therefore share a coarse
// wall clock: one goroutine stores time.Now every coarseTick while at least
// one such Connector is open. The fast path trusts it only when the
// refresh time is more than coarseMargin away; closer than that, it reads
// the real clock. Because the goroutine reads the wall clock on every tick,
// a process that was suspended catches up on its first tick after resuming.
const (
	coarseTick   = 50 * time.Millisecond
	coarseMargin = 4 * coarseTick
)

var coarse struct {
	now   atomic.Int64 // Unix nanoseconds, or 0 when the clock is stopped
	mu    sync.Mutex
	users int
	stop  chan struct{}
}

// coarseStart registers a user of the coarse clock, starting it if needed.
func coarseStart() {
	coarse.mu.Lock()
	defer coarse.mu.Unlock()
	coarse.users++
	if coarse.users > 1 {
		return
	}
	coarse.now.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	coarse.stop = stop
	go func() {
		t := time.NewTicker(coarseTick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				_ = now // the ticker's time may be stale after a pause; read the clock
				coarse.now.Store(time.Now().UnixNano())
			}
		}
	}()
}

// coarseStop unregisters a user; the last one stops the clock.
func coarseStop() {
	coarse.mu.Lock()
	defer coarse.mu.Unlock()
	if coarse.users == 0 {
		return
	}
	coarse.users--
	if coarse.users == 0 {
		coarse.now.Store(0)
		close(coarse.stop)
	}
}
