package connector_test

import (
	"context"
	"testing"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store/memory"
)

// TestStateOfAnotherProviderNotConsumed: a connector refuses a state that
// another provider's connector issued (same application, redirect URI, store
// and keys) before the token endpoint and without consuming it, so the
// callback still completes at the provider that issued the state; once
// there, the state is used up.
func TestStateOfAnotherProviderNotConsumed(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t, memory.New())
	js := p.connector(t, "jumpseller", "app-a", "")
	slSim, slSrv := p.sims["shopline"], p.srvs["shopline"]
	sl, err := connector.New("shopline", connector.Options{ClientID: "app-a", ClientSecret: "app-a-secret",
		RedirectURL: p.srvs["jumpseller"].URL + "/callback", Scopes: []string{"products"},
		Endpoint: slSim.Endpoint(slSrv.URL), Store: p.store, Keyring: p.keys, Clock: p.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()

	u, err := js.AuthURL(connector.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.sims["jumpseller"].Approve(u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sl.HandleCallback(ctx, back.Query()); driver.CodeOf(err) != driver.InvalidState {
		t.Fatalf("shopline connector, jumpseller's state: %v, want invalid_state", err)
	}
	if n := slSim.Stats().TokenRequests; n != 0 {
		t.Errorf("the shopline token endpoint was called %d times", n)
	}
	if _, err := js.HandleCallback(ctx, back.Query()); err != nil {
		t.Fatalf("jumpseller connector, its own state after another provider refused it: %v", err)
	}
	if _, err := js.HandleCallback(ctx, back.Query()); driver.CodeOf(err) != driver.InvalidState {
		t.Errorf("the same state a second time: %v, want invalid_state", err)
	}
}
