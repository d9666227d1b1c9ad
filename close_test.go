package connector_test

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/providers/jumpseller"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

// TestClosedConnectorIsCollected: a closed Connector, and every connection
// it held, is garbage once the application drops it, whichever
// MeterProvider is in use. Before, the connections gauge's callback stayed
// registered with the MeterProvider (otel's global one by default) and
// kept every Connector ever made alive: a platform opening a Connector per
// application leaked them all, and a real MeterProvider went on reporting
// the connections of closed Connectors.
func TestClosedConnectorIsCollected(t *testing.T) {
	for _, tc := range []struct {
		name string
		mp   func(t *testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader)
	}{
		{"global MeterProvider", func(*testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) { return nil, nil }},
		{"SDK MeterProvider", func(t *testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
			r := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
			t.Cleanup(func() { mp.Shutdown(context.Background()) })
			return mp, r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp, reader := tc.mp(t)
			kr, err := store.NewKeyring(store.NewRandomKey())
			if err != nil {
				t.Fatal(err)
			}
			var w weak.Pointer[connector.Connector]
			func() {
				o := connector.Options{ClientID: "app", ClientSecret: "secret", Store: memory.New(), Keyring: kr,
					Endpoint: jumpseller.Provider.Spec().Endpoint}
				if mp != nil {
					o.MeterProvider = mp
				}
				c, err := connector.New("jumpseller", o)
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now()
				if _, err := c.Import(context.Background(), &connector.Token{AccessToken: "access", RefreshToken: "refresh",
					TokenType: "Bearer", IssuedAt: now, Expiry: now.Add(time.Hour), AccountID: "shop"}); err != nil {
					t.Fatal(err)
				}
				w = weak.Make(c)
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
			}()
			runtime.GC()
			runtime.GC()
			if w.Value() != nil {
				t.Error("the closed Connector is still reachable")
			}
			if reader != nil {
				var rm metricdata.ResourceMetrics
				if err := reader.Collect(context.Background(), &rm); err != nil {
					t.Fatal(err)
				}
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						if g, ok := m.Data.(metricdata.Gauge[int64]); ok && m.Name == "connector.connections" && len(g.DataPoints) > 0 {
							t.Errorf("connector.connections still reports the closed Connector: %v", g.DataPoints)
						}
					}
				}
			}
		})
	}
}
