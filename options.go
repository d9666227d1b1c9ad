package connector

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// Options configures a Connector. Only ClientID and ClientSecret are needed
// for most uses; every other field has a default.
type Options struct {
	ClientID     string
	ClientSecret string
	// Namespace separates the connections of one application serving many
	// customers (one namespace per customer, say): connectors of different
	// namespaces sharing a store never see each other's connections. A
	// connection always belongs to its client id as well.
	Namespace string
	// RedirectURL is the redirect_uri, sent identically at authorize and
	// exchange (and at refresh, for providers that want it).
	RedirectURL string
	// Scopes to request; the driver's defaults when empty. Validated against
	// the provider's list before any redirect.
	Scopes []string
	// Endpoint overrides the driver's endpoints field by field (proxies,
	// simulators). Plain http is accepted only for loopback hosts.
	Endpoint driver.Endpoint

	// Mode is the InitiateOAuth mode (connstr.ModeOff, ModeRefresh or
	// ModeGetAndRefresh); connstr.ModeGetAndRefresh when empty.
	Mode connstr.Mode

	// Store holds the connections; an in-process memory store when nil.
	Store store.Store
	// Keyring seals tokens at rest; from CONNECTOR_ENCRYPTION_KEY when nil,
	// else a random per-process key (fit only for a memory store).
	Keyring *store.Keyring

	// HTTPClient is the base client whose Transport carries every request.
	// When nil (or its Transport is), requests go through a clone of
	// http.DefaultTransport that gives up on a provider silent for Timeout:
	// no answer's headers within Timeout (http.Transport.ResponseHeaderTimeout),
	// and, for an API answer, a Read of its body that waits Timeout for
	// more. Its Timeout is ignored: see Timeout and APITimeout.
	HTTPClient *http.Client
	// WrapTransport, when set, wraps the transport below the engine's own
	// layers (its retries, the bearer token): HTTPClient's, or the default
	// transport, which then keeps its limits. It is called once, by New,
	// and sees every attempt of every request the Connector makes (token,
	// revoke, token-info and API), with its credentials: to log, measure
	// or record them, never to show a header or a body as it is.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Timeout bounds one exchange of the token lifecycle: one attempt of a
	// token, token-info or revoke request, its answer read (each retry has
	// its own, and none runs past Retry.Budget). It is also how long the
	// default transport waits for the provider in any exchange, an API
	// request's included: for the headers of its answer, and, while the
	// caller reads an API answer, for more of its body. connstr.DefaultTimeout
	// (30 s) when zero, as for a connection string's Timeout.
	Timeout time.Duration
	// APITimeout, when positive, bounds one API request made through
	// Connection.Client, its answer's body read (each retry after a refresh
	// or a 429 has its own). When zero, the request's context bounds it, as
	// with net/http and x/oauth2: an answer streamed for longer than any
	// fixed limit (a large export) is not cut off, while a provider that
	// never answers, or stops sending in the middle, still is, by the
	// default transport's Timeout. A Read of an answer it cuts off fails
	// with "the API exchange took longer than 1m0s (APITimeout)", a
	// net.Error timeout that errors.Is context.DeadlineExceeded. A
	// connection string's APITimeout property sets it, in whole seconds (0,
	// its default, for none).
	APITimeout time.Duration
	// Retry is the retry policy for token, revoke and API requests.
	Retry RetryPolicy

	// Leeway is how long before expiry a token is refreshed. When zero: a
	// minute or 10% of the token's lifetime, whichever is smaller.
	Leeway time.Duration
	// LeaseTTL is how long a refresh holds the store's lock: it must
	// outlive the whole refresh (the retry budget, then the store write),
	// and no longer, since a process killed mid-refresh makes the others
	// wait for it to lapse. Retry.Budget + 10 s when zero (40 s with the
	// default budget). A LeaseTTL that does not exceed Retry.Budget is
	// refused with driver.InvalidConfig: a lease lapsing while its holder's
	// refresh is still in flight would let a second process present the
	// same refresh token.
	LeaseTTL time.Duration
	// StateTTL is how long an authorization state stays valid; 15 minutes
	// when zero.
	StateTTL time.Duration

	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger receives structured logs; secrets never appear in them.
	// Nothing is logged when nil.
	Logger *slog.Logger

	// OnEvent receives every change of a connection's state — created,
	// reauthorized, refreshed, refresh failed, needs reauthorization,
	// revoked, deleted, a store write failed and recovered, a long lease
	// wait — synchronously, from the goroutine that made it (see
	// EventKind). Events never hold a secret.
	OnEvent func(ctx context.Context, e Event)

	// TracerProvider and MeterProvider receive the connector's spans and
	// metrics (docs/observability.md); otel's global providers when nil,
	// which record nothing until the application installs real ones.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// RetryPolicy bounds the retries of one request: 429 and 503 (honouring
// Retry-After, capped at WaitMax), other 5xx, and connections refused or
// reset before an answer. Zero fields take the defaults.
type RetryPolicy struct {
	// Max is the number of retries after the first attempt; 4 when zero,
	// none when negative.
	Max int
	// WaitMin and WaitMax bound the exponential backoff (with jitter) and
	// any Retry-After; 250 ms and 8 s when zero.
	WaitMin, WaitMax time.Duration
	// Budget bounds the whole token or revoke request with its retries
	// and the waits between them (a refresh gives up after it).
	// connstr.DefaultRetryBudget (30 s) when zero, as for a connection
	// string's RetryBudget.
	Budget time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Max == 0 {
		p.Max = 4
	} else if p.Max < 0 {
		p.Max = 0
	}
	if p.WaitMin <= 0 {
		p.WaitMin = 250 * time.Millisecond
	}
	if p.WaitMax <= 0 {
		p.WaitMax = 8 * time.Second
	}
	if p.WaitMax < p.WaitMin {
		p.WaitMax = p.WaitMin
	}
	if p.Budget <= 0 {
		p.Budget = connstr.DefaultRetryBudget
	}
	return p
}

// leaseMargin is how much longer than the retry budget the default lease
// lasts: the store's re-read before and its write after the refresh.
const leaseMargin = 10 * time.Second

func (o Options) withDefaults() Options {
	if o.Mode == "" {
		o.Mode = connstr.ModeGetAndRefresh
	}
	if o.Timeout <= 0 {
		o.Timeout = connstr.DefaultTimeout
	}
	o.Retry = o.Retry.withDefaults()
	if o.LeaseTTL == 0 {
		o.LeaseTTL = o.Retry.Budget + leaseMargin
	}
	if o.StateTTL <= 0 {
		o.StateTTL = 15 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// leewayFor returns how long before expiry tok is refreshed.
func (o *Options) leewayFor(tok *Token) time.Duration {
	if o.Leeway > 0 {
		return o.Leeway
	}
	l := time.Minute
	if life := tok.Lifetime(); life > 0 && life/10 < l {
		l = life / 10
	}
	return l
}
