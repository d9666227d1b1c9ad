package connector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/simulator"
)

// TestTelemetry: spans and metrics reach the providers the application
// installs, through otel's API only, with codes and ids and never a token.
func TestTelemetry(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())

	w := newWorld(t)
	c := w.connector(t, func(o *connector.Options) {
		o.TracerProvider, o.MeterProvider = tp, mp
		o.Retry.Budget, o.LeaseTTL = 300*time.Millisecond, 2*time.Second
	})
	ctx := context.Background()
	conn := w.authorize(t, c)
	first, _ := conn.Token(ctx)
	w.clock.Advance(2 * time.Hour)
	tok, err := conn.Token(ctx) // a refresh
	if err != nil {
		t.Fatal(err)
	}
	req, _ := conn.NewRequest(ctx, "GET", "store/info.json", nil)
	if resp, err := conn.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	// A long wait for another holder's lease, then a failed refresh.
	if _, _, err := w.store.Lock(ctx, conn.StoreKey(), time.Second); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Hour)
	w.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Status: 400, Body: `{"error":"invalid_grant"}`})
	conn.Token(ctx)
	if err := conn.Revoke(ctx); err != nil {
		t.Fatal(err)
	}

	names := map[string]int{}
	for _, s := range spans.GetSpans() {
		names[s.Name]++
		for _, a := range s.Attributes {
			v := a.Value.Emit()
			for _, secret := range []string{first.AccessToken, first.RefreshToken, tok.AccessToken, tok.RefreshToken, clientSecret} {
				if strings.Contains(v, secret) {
					t.Errorf("span %s attribute %s holds a secret", s.Name, a.Key)
				}
			}
		}
	}
	for _, want := range []string{"connector.refresh", "connector.lease.wait", "connector.token_request", "connector.store.get",
		"connector.store.put", "connector.store.lock", "connector.store.putunlock", "connector.revoke"} {
		if names[want] == 0 {
			t.Errorf("no %s span (got %v)", want, names)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]map[string]int64{} // metric → attribute set → value
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sums[m.Name] = map[string]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sums[m.Name][p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					sums[m.Name][p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sums[m.Name][p.Attributes.Encoded(attribute.DefaultEncoder())] += int64(p.Count)
				}
			}
		}
	}
	for metric, want := range map[string]map[string]int64{
		"connector.refreshes":        {"outcome=ok,provider=jumpseller": 1, "outcome=reauth_required,provider=jumpseller": 1},
		"connector.refresh.duration": {"outcome=ok,provider=jumpseller": 1, "outcome=reauth_required,provider=jumpseller": 1},
		"connector.lease.waits":      {"provider=jumpseller": 1},
		"connector.connections":      {"provider=jumpseller,status=revoked": 1},
	} {
		for attrs, n := range want {
			if got := sums[metric][attrs]; got != n {
				t.Errorf("%s{%s} = %d, want %d (all: %v)", metric, attrs, got, n, sums[metric])
			}
		}
	}
	if got := sums["connector.api.requests"]["provider=jumpseller,status=200"]; got != 1 {
		t.Errorf("connector.api.requests{status=200} = %d, want 1 (all: %v)", got, sums["connector.api.requests"])
	}
}
