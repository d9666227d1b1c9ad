package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
)

// TestLimits: New and Open apply one Timeout default and one retry budget
// default (connstr's), a connection string's Timeout and RetryBudget set
// them, options given to Open win, and the lease follows the budget; a lease
// that does not outlast the budget is refused.
func TestLimits(t *testing.T) {
	type limits struct{ Timeout, Budget, Lease time.Duration }
	dsn := func(t *testing.T, more string) string {
		return "Provider=jumpseller;OAuthClientId=id;OAuthClientSecret=secret;OAuthSettingsLocation=" + uniqueMemory(t) + ";" + more
	}
	defaults := limits{connstr.DefaultTimeout, connstr.DefaultRetryBudget, connstr.DefaultRetryBudget + 10*time.Second}
	for _, tc := range []struct {
		name     string
		make     func(t *testing.T) (*connector.Connector, error)
		want     limits
		wantCode driver.Code // 0: no error
	}{
		{
			name: "New with zero options",
			make: func(*testing.T) (*connector.Connector, error) {
				return connector.New("jumpseller", connector.Options{ClientID: "id", ClientSecret: "secret"})
			},
			want: defaults,
		},
		{
			name: "Open without Timeout or RetryBudget",
			make: func(t *testing.T) (*connector.Connector, error) {
				return connector.Open(context.Background(), dsn(t, ""))
			},
			want: defaults,
		},
		{
			name: "Open with Timeout and RetryBudget",
			make: func(t *testing.T) (*connector.Connector, error) {
				return connector.Open(context.Background(), dsn(t, "Timeout=5;RetryBudget=90"))
			},
			want: limits{5 * time.Second, 90 * time.Second, 100 * time.Second},
		},
		{
			name: "options given to Open win",
			make: func(t *testing.T) (*connector.Connector, error) {
				return connector.Open(context.Background(), dsn(t, "Timeout=5;RetryBudget=90"), func(o *connector.Options) {
					o.Timeout, o.Retry.Budget = 2*time.Second, 10*time.Second
				})
			},
			want: limits{2 * time.Second, 10 * time.Second, 20 * time.Second},
		},
		{
			name: "a lease shorter than RetryBudget",
			make: func(t *testing.T) (*connector.Connector, error) {
				return connector.Open(context.Background(), dsn(t, "RetryBudget=90"), func(o *connector.Options) { o.LeaseTTL = time.Minute })
			},
			wantCode: driver.InvalidConfig,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.make(t)
			if tc.wantCode != 0 {
				if got := driver.CodeOf(err); got != tc.wantCode {
					t.Fatalf("error %v (code %q), want code %q", err, got, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var got limits
			got.Timeout, got.Budget, got.Lease = c.Limits()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
		})
	}
}
