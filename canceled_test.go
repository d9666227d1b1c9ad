package connector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/simulator"
)

// TestCanceledContext: a caller's context that ends during a refresh —
// while the provider is slow, while another process holds the lease, while
// another goroutine of the process refreshes — gives one code,
// driver.Canceled, with the context's error in the chain.
func TestCanceledContext(t *testing.T) {
	tests := []struct {
		name string
		// setup makes the refresh wait; it returns the context to call
		// Token with.
		setup func(t *testing.T, w *world, conn *connector.Connection) (context.Context, context.CancelFunc)
		want  error
	}{
		{"cancelled while the provider is slow", func(t *testing.T, w *world, conn *connector.Connection) (context.Context, context.CancelFunc) {
			w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: 2 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline while another process holds the lease", func(t *testing.T, w *world, conn *connector.Connection) (context.Context, context.CancelFunc) {
			if _, _, err := w.store.Lock(context.Background(), conn.StoreKey(), time.Minute); err != nil {
				t.Fatal(err)
			}
			return context.WithTimeout(context.Background(), 150*time.Millisecond)
		}, context.DeadlineExceeded},
		{"deadline while another goroutine refreshes", func(t *testing.T, w *world, conn *connector.Connection) (context.Context, context.CancelFunc) {
			w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: time.Second})
			var started sync.WaitGroup
			started.Add(1)
			go func() {
				started.Done()
				conn.Token(context.Background())
			}()
			started.Wait()
			time.Sleep(50 * time.Millisecond)
			return context.WithTimeout(context.Background(), 150*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			conn := w.authorize(t, w.connector(t))
			w.clock.Advance(2 * time.Hour)
			ctx, cancel := tt.setup(t, w, conn)
			defer cancel()
			_, err := conn.Token(ctx)
			if driver.CodeOf(err) != driver.Canceled {
				t.Errorf("code = %v, want canceled (%v)", driver.CodeOf(err), err)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(err, %v) is false: %v", tt.want, err)
			}
		})
	}
}
