package simulator_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/simulator"
)

// TestHostileFaultSet checks Fault.Set: the fields of a successful token
// answer a hostile provider rewrites, after the simulator processed the
// request (a refresh still rotates).
func TestHostileFaultSet(t *testing.T) {
	tests := []struct {
		name  string
		cfg   simulator.Config
		fault simulator.Fault
		op    string // "exchange" or "refresh"
		// want holds the answer's fields that must have these values
		// (numbers as float64, as encoding/json decodes them).
		want map[string]any
		// raw, when set, must appear in the answer's body as it is.
		raw string
		// order is the answer's keys in order, when it matters.
		order []string
		// untouched: the fault did not apply (another grant).
		untouched bool
	}{
		{
			name:  "another merchant's resource_owner_id on refresh",
			cfg:   shoplineLike(),
			fault: simulator.Fault{Grant: "refresh_token", Set: map[string]any{"resource_owner_id": "other-merchant"}},
			op:    "refresh",
			want:  map[string]any{"resource_owner_id": "other-merchant", "token_type": "Bearer"},
			order: []string{"access_token", "token_type", "expires_in", "refresh_token", "scope", "created_at", "resource_owner_id"},
		},
		{
			name:  "expires_in 0 on exchange",
			cfg:   jumpsellerLike(),
			fault: simulator.Fault{Grant: "authorization_code", Set: map[string]any{"expires_in": 0}},
			op:    "exchange",
			want:  map[string]any{"expires_in": 0.0, "token_type": "bearer"},
			raw:   `"expires_in":0,`,
		},
		{
			name:  "negative expires_in on refresh",
			cfg:   shoplineLike(),
			fault: simulator.Fault{Set: map[string]any{"expires_in": -1}},
			op:    "refresh",
			want:  map[string]any{"expires_in": -1.0},
			raw:   `"expires_in":-1,`,
		},
		{
			name:  "CR LF in access_token",
			cfg:   jumpsellerLike(),
			fault: simulator.Fault{Set: map[string]any{"access_token": "abc\r\nX-Injected: 1"}},
			op:    "refresh",
			want:  map[string]any{"access_token": "abc\r\nX-Injected: 1"},
			raw:   `"access_token":"abc\r\nX-Injected: 1"`,
			order: []string{"access_token", "token_type", "expires_in", "refresh_token", "created_at"},
		},
		{
			name:  "ANSI escape and newline in resource_owner_id, verbatim",
			cfg:   shoplineLike(),
			fault: simulator.Fault{Set: map[string]any{"resource_owner_id": "\x1b[31mevil\nmerchant & <co>"}},
			op:    "exchange",
			want:  map[string]any{"resource_owner_id": "\x1b[31mevil\nmerchant & <co>"},
			raw:   `"resource_owner_id":"\u001b[31mevil\nmerchant & <co>"`,
		},
		{
			name:  "a field the provider does not send is added at the end in key order",
			cfg:   jumpsellerLike(),
			fault: simulator.Fault{Set: map[string]any{"resource_owner_id": "x", "id_token": "y"}},
			op:    "exchange",
			want:  map[string]any{"resource_owner_id": "x", "id_token": "y"},
			order: []string{"access_token", "token_type", "expires_in", "refresh_token", "created_at", "id_token", "resource_owner_id"},
		},
		{
			name:  "nil value is null",
			cfg:   jumpsellerLike(),
			fault: simulator.Fault{Set: map[string]any{"expires_in": nil}},
			op:    "refresh",
			want:  map[string]any{"expires_in": nil},
			raw:   `"expires_in":null,`,
		},
		{
			name:  "Set restores an omitted access_token",
			cfg:   jumpsellerLike(),
			fault: simulator.Fault{OmitAccessToken: true, Set: map[string]any{"access_token": "mine"}},
			op:    "refresh",
			want:  map[string]any{"access_token": "mine"},
			order: []string{"token_type", "expires_in", "refresh_token", "created_at", "access_token"},
		},
		{
			name:      "another grant's answer is untouched",
			cfg:       shoplineLike(),
			fault:     simulator.Fault{Grant: "refresh_token", Set: map[string]any{"resource_owner_id": "other-merchant"}},
			op:        "exchange",
			want:      map[string]any{"resource_owner_id": "5e1d2c3b4a5f6e7d8c9b0a12"},
			untouched: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			var a answer
			var oldRefresh string
			if tt.op == "exchange" {
				h.srv.InjectFault(tt.fault)
				a = h.exchange(h.code(nil))
			} else {
				_, oldRefresh = h.tokens()
				h.srv.InjectFault(tt.fault)
				a = h.refresh(oldRefresh)
			}
			if a.Status != 200 {
				t.Fatalf("answer %d %s", a.Status, a.Raw)
			}
			got := map[string]any{}
			for k := range tt.want {
				got[k] = a.Body[k]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer fields (-want +got):\n%s\nraw: %s", diff, a.Raw)
			}
			if tt.raw != "" && !strings.Contains(a.Raw, tt.raw) {
				t.Errorf("the answer does not hold %s verbatim: %s", tt.raw, a.Raw)
			}
			if tt.order != nil {
				if diff := cmp.Diff(tt.order, keyOrder(t, a.Raw)); diff != "" {
					t.Errorf("answer keys (-want +got):\n%s", diff)
				}
			}
			if n := h.srv.PendingFaults(); (n != 0) != tt.untouched {
				t.Errorf("pending faults = %d", n)
			}
			if tt.untouched {
				return
			}
			st := h.srv.Stats()
			if tt.op == "refresh" && st.Refreshes != 1 || tt.op == "exchange" && st.Exchanges != 1 {
				t.Errorf("the request was not processed: %+v", st)
			}
			// The simulator keeps the tokens it issued: a replaced access
			// token is unknown to its API; the refresh token of the answer
			// still works.
			if at, ok := tt.fault.Set["access_token"].(string); ok && h.srv.ValidAccessToken(at) {
				t.Errorf("the API accepts the access token set by the fault")
			}
			if rt, _ := a.Body["refresh_token"].(string); !h.srv.ValidRefreshToken(rt) {
				t.Errorf("the answer's refresh token is not valid at the simulator")
			}
		})
	}
}

// TestHostileFaultSetNotOnErrors: Set rewrites successful answers only.
func TestHostileFaultSetNotOnErrors(t *testing.T) {
	h := newHarness(t, shoplineLike())
	h.srv.InjectFault(simulator.Fault{Set: map[string]any{"access_token": "x", "resource_owner_id": "other-merchant"}})
	a := h.refresh("no-such-refresh-token")
	if a.Status != 400 || oauthErr(a) != "invalid_grant" {
		t.Fatalf("answer %d %s", a.Status, a.Raw)
	}
	for _, k := range []string{"access_token", "resource_owner_id"} {
		if _, ok := a.Body[k]; ok {
			t.Errorf("the error answer holds %s: %s", k, a.Raw)
		}
	}
}

// keyOrder returns the top-level keys of a flat JSON object, in order.
func keyOrder(t *testing.T, raw string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("%v in %s", err, raw)
		}
		keys = append(keys, k.(string))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v in %s", err, raw)
		}
	}
	return keys
}
