package connector

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// This file is what the connector tells OpenTelemetry (docs/observability.md).
// It speaks only go.opentelemetry.io/otel's API: nothing is recorded until
// the application installs a TracerProvider and a MeterProvider (globally,
// or in Options). Attributes carry providers, connection ids, applications,
// codes and statuses — never a token, a secret or a URL's query.
//
// Spans: connector.refresh, connector.lease.wait, connector.token_request
// (every request to the token, revoke and token-info endpoints, retries
// included), connector.store.<op> (every store call), connector.revoke.
// Metrics: connector.refreshes (by provider and outcome),
// connector.refresh.duration (seconds), connector.lease.waits,
// connector.api.requests (by provider and status) and connector.connections
// (this process's connections, by provider and status).

// scope is the instrumentation scope of the connector's spans and metrics.
const scope = "github.com/connector-go/connector"

// telemetry holds a Connector's tracer and instruments.
type telemetry struct {
	tracer      trace.Tracer
	refreshes   metric.Int64Counter
	refreshTime metric.Float64Histogram
	leaseWaits  metric.Int64Counter
	apiRequests metric.Int64Counter
	// Attribute sets built once: the refresh path's cost is measured
	// against a bare POST (docs/benchmarks.md).
	refreshOK, byProvider metric.MeasurementOption
	provider              string
	byStatus              statusOptions // API requests' options, by status (transport.go)
	// gauge is the registration of the connections gauge's callback,
	// undone by Close: a MeterProvider keeps its callbacks, and with them
	// the Connector and every connection it held, for as long as it lives.
	gauge metric.Registration
}

// A span of a store call or a token request is started only inside a span
// that records (connector.refresh, or the application's own): without a
// tracer installed they would cost allocations on every refresh and
// record nothing.

func newTelemetry(c *Connector) *telemetry {
	tp, mp := c.opts.TracerProvider, c.opts.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	t := &telemetry{tracer: tp.Tracer(scope), provider: c.name,
		refreshOK:  metric.WithAttributeSet(attribute.NewSet(attribute.String("provider", c.name), attribute.String("outcome", "ok"))),
		byProvider: metric.WithAttributeSet(attribute.NewSet(attribute.String("provider", c.name)))}
	// Errors here mean an invalid instrument name, a bug: the noop
	// instruments they come with are harmless.
	t.refreshes, _ = m.Int64Counter("connector.refreshes", metric.WithDescription("Token refreshes, by provider and outcome (ok, or the error code)."))
	t.refreshTime, _ = m.Float64Histogram("connector.refresh.duration", metric.WithUnit("s"), metric.WithDescription("How long a refresh took: lease, token request and store write."))
	t.leaseWaits, _ = m.Int64Counter("connector.lease.waits", metric.WithDescription("Refreshes that found the lease held by another process and waited."))
	t.apiRequests, _ = m.Int64Counter("connector.api.requests", metric.WithDescription("Requests to the provider's API through Connection.Client, by provider and status."))
	gauge, _ := m.Int64ObservableGauge("connector.connections", metric.WithDescription("Connections this Connector holds, by provider and status."))
	t.gauge, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		counts := map[store.Status]int64{}
		c.mu.Lock()
		for _, conn := range c.conns {
			if s := conn.snap.Load(); s != nil {
				counts[s.rec.Status]++
			}
		}
		c.mu.Unlock()
		for st, n := range counts {
			o.ObserveInt64(gauge, n, metric.WithAttributes(attribute.String("provider", c.name), attribute.String("status", string(st))))
		}
		return nil
	}, gauge)
	return t
}

// close unregisters the connections gauge's callback.
func (t *telemetry) close() {
	if t.gauge != nil {
		_ = t.gauge.Unregister()
	}
}

// connAttrs are the attributes naming a connection.
func (c *Connector) connAttrs(id string) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("connector.provider", c.name), attribute.String("connector.connection", id),
		attribute.String("connector.app", c.opts.ClientID)}
}

// endSpan records err's code on span and ends it; a nil span is none.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetAttributes(attribute.String("connector.code", driver.CodeOf(err).String()))
		span.SetStatus(codes.Error, driver.CodeOf(err).String())
	}
	span.End()
}

// refreshDone records one refresh's outcome and duration.
func (c *Connector) refreshDone(ctx context.Context, start time.Time, err error) {
	if !c.tel.refreshes.Enabled(ctx) && !c.tel.refreshTime.Enabled(ctx) {
		return
	}
	attrs := c.tel.refreshOK
	if err != nil {
		attrs = metric.WithAttributes(attribute.String("provider", c.name), attribute.String("outcome", driver.CodeOf(err).String()))
	}
	c.tel.refreshes.Add(ctx, 1, attrs)
	c.tel.refreshTime.Record(ctx, time.Since(start).Seconds(), attrs)
}

// tracedDoer puts a span around each request to the token, revoke and
// token-info endpoints (the driver's requests, through env.HTTP).
type tracedDoer struct {
	c    *Connector
	next driver.Doer
}

func (d tracedDoer) Do(req *http.Request) (*http.Response, error) {
	if !trace.SpanFromContext(req.Context()).IsRecording() {
		return d.next.Do(req)
	}
	ctx, span := d.c.tel.tracer.Start(req.Context(), "connector.token_request", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("connector.provider", d.c.name), attribute.String("http.request.method", req.Method),
			attribute.String("url.path", req.URL.Path)))
	resp, err := d.next.Do(req.WithContext(ctx))
	if err == nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 400 {
			span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
		}
	}
	endSpan(span, err)
	return resp, err
}

// tracedStore puts a span around each store call.
type tracedStore struct {
	store.Store
	c *Connector
}

// span starts the span of a store call, or returns a nil span outside a
// recording one (endSpan ignores it).
func (s tracedStore) span(ctx context.Context, op, id string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	return s.c.tel.tracer.Start(ctx, "connector.store."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("connector.provider", s.c.name), attribute.String("connector.store.key", id)))
}

func (s tracedStore) Get(ctx context.Context, id string) (*store.Record, error) {
	ctx, span := s.span(ctx, "get", id)
	r, err := s.Store.Get(ctx, id)
	endSpan(span, err)
	return r, err
}

func (s tracedStore) List(ctx context.Context) ([]*store.Record, error) {
	ctx, span := s.span(ctx, "list", "")
	r, err := s.Store.List(ctx)
	endSpan(span, err)
	return r, err
}

func (s tracedStore) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	ctx, span := s.span(ctx, "put", rec.ID)
	v, err := s.Store.Put(ctx, rec, fence)
	endSpan(span, err)
	return v, err
}

func (s tracedStore) Delete(ctx context.Context, id string) error {
	ctx, span := s.span(ctx, "delete", id)
	err := s.Store.Delete(ctx, id)
	endSpan(span, err)
	return err
}

func (s tracedStore) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	ctx, span := s.span(ctx, "lock", id)
	l, r, err := s.Store.Lock(ctx, id, ttl)
	endSpan(span, err)
	return l, r, err
}

func (s tracedStore) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	ctx, span := s.span(ctx, "putunlock", rec.ID)
	v, err := s.Store.PutUnlock(ctx, rec, l)
	endSpan(span, err)
	return v, err
}

func (s tracedStore) Unlock(ctx context.Context, l *store.Lease) error {
	ctx, span := s.span(ctx, "unlock", l.ID)
	err := s.Store.Unlock(ctx, l)
	endSpan(span, err)
	return err
}

func (s tracedStore) Claim(ctx context.Context, key string, ttl time.Duration) error {
	ctx, span := s.span(ctx, "claim", "")
	err := s.Store.Claim(ctx, key, ttl)
	endSpan(span, err)
	return err
}
