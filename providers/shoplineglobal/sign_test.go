package shoplineglobal_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

// The vectors of SHOPLINE's own Go SDK, github.com/shoplineos/shopline-sdk-go
// (client/sign_test.go, commit f73904cd): its test app key and secret, and
// its test "timestamp" (not a number: the signature signs the header as it
// is). SHOPLINE's documentation page gives no vector.
const (
	sdkSecret    = "LDLLJJLflja2039203flaflaLLFLE"
	sdkTimestamp = "21c335b3a"
)

func TestSign(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		// TestGenerateSign2 / TestGenerateSignForCreateAccessToken.
		{"create access token", `{"code":"code"}`, "4c4cf0ac52439d1308b58897f857dcba8545efb6c0e8091fba64b148218d2074"},
		// TestGenerateSign1 / TestGenerateSignForRefreshAccessToken: no body.
		{"refresh access token", "", "cf5edab6b92d740fe54b3ce9e2723788128384a1eb5c2a5d64c9210a31185b86"},
		// TestGenerateSignForWebhook: a body and no timestamp.
		{"webhook", `"my secret message"`, "7d8b4cbec432e0c7e901881cc0f2490a910d56eaa73fc94bcc4276d14a61fe88"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := sdkTimestamp
			if tc.name == "webhook" {
				ts = ""
			}
			if got := shoplineglobal.Sign(sdkSecret, tc.body, ts); got != tc.want {
				t.Errorf("Sign(%q, %q) = %s, want %s", tc.body, ts, got, tc.want)
			}
		})
	}
}

func TestSignQuery(t *testing.T) {
	// TestGenerateSignForGet: the install request's parameters.
	q := url.Values{"appkey": {sdkSecret}, "handle": {"zwapptest"}, "lang": {"zh"}, "timestamp": {sdkTimestamp}}
	const want = "654a42549daaad959b6488500f499fc0381c6cf24d8afceeb566729fc82fee6a"
	if got := shoplineglobal.SignQuery(sdkSecret, q); got != want {
		t.Errorf("SignQuery = %s, want %s", got, want)
	}
	q.Set("sign", "anything")
	if got := shoplineglobal.SignQuery(sdkSecret, q); got != want {
		t.Errorf("SignQuery with a sign parameter = %s, want %s (sign is not signed)", got, want)
	}
}

func TestVerifyQuery(t *testing.T) {
	now := time.UnixMilli(1767225600000)
	signed := func(mutate func(url.Values)) url.Values {
		q := url.Values{"appkey": {"key"}, "code": {"c0de"}, "handle": {"open001"}, "customField": {"state-1"},
			"timestamp": {"1767225600000"}}
		if mutate != nil {
			mutate(q)
		}
		q.Set("sign", shoplineglobal.SignQuery("secret", q))
		return q
	}
	tests := []struct {
		name string
		q    url.Values
		at   time.Time
		ok   bool
	}{
		{"good", signed(nil), now, true},
		{"good, upper-case hex", func() url.Values {
			q := signed(nil)
			q.Set("sign", toUpper(q.Get("sign")))
			return q
		}(), now, true},
		{"a parameter added after signing", func() url.Values { q := signed(nil); q.Set("state", "other"); return q }(), now, false},
		{"9 minutes late", signed(nil), now.Add(9 * time.Minute), true},
		{"11 minutes late", signed(nil), now.Add(11 * time.Minute), false},
		{"11 minutes early", signed(nil), now.Add(-11 * time.Minute), false},
		{"tampered code", func() url.Values { q := signed(nil); q.Set("code", "other"); return q }(), now, false},
		{"wrong secret", func() url.Values {
			q := signed(nil)
			q.Set("sign", shoplineglobal.SignQuery("not-the-secret", q))
			return q
		}(), now, false},
		{"no sign", func() url.Values { q := signed(nil); q.Del("sign"); return q }(), now, false},
		{"timestamp not a number", signed(func(q url.Values) { q.Set("timestamp", "soon") }), now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := shoplineglobal.VerifyQuery("secret", tc.q, tc.at)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifyQuery = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && driver.CodeOf(err) != driver.InvalidState {
				t.Errorf("code %v, want invalid_state", driver.CodeOf(err))
			}
		})
	}
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
