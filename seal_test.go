package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/store/memory"
	"github.com/google/go-cmp/cmp"
)

// TestAppendTokenJSON holds the sealing encoder to json.Marshal, byte for
// byte: records sealed before it existed must read the same, and so must
// records it seals.
func TestAppendTokenJSON(t *testing.T) {
	issued := time.Date(2026, 11, 23, 10, 4, 5, 123456789, time.FixedZone("CLT", -3*3600))
	for _, tc := range []struct {
		name string
		tok  connector.Token
	}{
		{"empty", connector.Token{}},
		{"Jumpseller refresh", connector.Token{AccessToken: strings.Repeat("a", 64), TokenType: "Bearer", RefreshToken: strings.Repeat("r", 64),
			IssuedAt: issued, Expiry: issued.Add(time.Hour), Scopes: []string{"read_orders", "write_products"}, AccountID: "store-1"}},
		{"UTC and no fraction", connector.Token{AccessToken: "x", TokenType: "Bearer", Expiry: time.Unix(1790000000, 0).UTC()}},
		{"local time zone", connector.Token{AccessToken: "x", IssuedAt: time.Unix(1790000000, 5).Local()}},
		{"HTML and quotes escaped", connector.Token{AccessToken: `<a href="x">&</a>`, TokenType: `\"`, AccountID: "tab\there"}},
		{"non-ASCII and line separators", connector.Token{AccessToken: "café\u2028\u2029", RefreshToken: "\xff\xfe bad UTF-8"}},
		{"control characters", connector.Token{AccessToken: "\x00\x01\x1f\x7f"}},
		{"empty scopes omitted", connector.Token{AccessToken: "x", Scopes: []string{}}},
		{"empty scope kept", connector.Token{AccessToken: "x", Scopes: []string{""}}},
		{"extras", connector.Token{AccessToken: "x", Extra: map[string]any{"z": json.Number("1.50"), "a": []any{"<b>", nil, true}, "m": map[string]any{"k": "v"}}}},
		{"empty extras omitted", connector.Token{AccessToken: "x", Extra: map[string]any{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(&tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			got, err := connector.AppendTokenJSON(nil, &tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("appendTokenJSON differs from json.Marshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendTokenJSONRefusesWhatMarshalRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		tok  connector.Token
	}{
		{"year 10000", connector.Token{Expiry: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"year -1", connector.Token{IssuedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"unencodable extra", connector.Token{Extra: map[string]any{"f": func() {}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := json.Marshal(&tc.tok); err == nil {
				t.Fatal("json.Marshal accepts it; the case tests nothing")
			}
			if b, err := connector.AppendTokenJSON(nil, &tc.tok); err == nil {
				t.Errorf("appendTokenJSON = %s, want an error as json.Marshal gives", b)
			}
		})
	}
}

// FuzzAppendTokenJSON checks appendTokenJSON against json.Marshal on
// arbitrary text, times and scopes.
func FuzzAppendTokenJSON(f *testing.F) {
	f.Add("access", "Bearer", "refresh", int64(1790000000), int64(123), int32(-3*3600), "a b", "acct", "k", "v")
	f.Add("<&>", "\u2028", "\xff", int64(-62135596800), int64(0), int32(0), "", "", "", "")
	f.Add("", "", "", int64(253402300799), int64(999999999), int32(86399), ",", "\x00", "<", "\"")
	f.Fuzz(func(t *testing.T, access, typ, refresh string, sec, nsec int64, offset int32, scopes, account, key, val string) {
		at := time.Unix(sec, nsec).In(time.FixedZone("z", int(offset)))
		tok := connector.Token{AccessToken: access, TokenType: typ, RefreshToken: refresh, Expiry: at, IssuedAt: at.Add(-time.Hour),
			Scopes: strings.Split(scopes, " "), AccountID: account}
		if key != "" {
			tok.Extra = map[string]any{key: val}
		}
		want, werr := json.Marshal(&tok)
		got, gerr := connector.AppendTokenJSON(nil, &tok)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("json.Marshal error %v, appendTokenJSON error %v", werr, gerr)
		}
		if diff := cmp.Diff(string(want), string(got)); werr == nil && diff != "" {
			t.Errorf("appendTokenJSON differs from json.Marshal (-want +got):\n%s", diff)
		}
	})
}

// TestSealLeavesNoPlaintext: the buffer a token is encoded into before
// sealing is pooled; after a seal it holds no byte of the token, also when
// the token outgrew it.
func TestSealLeavesNoPlaintext(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // keep the pool's buffer
	for _, tc := range []struct {
		name   string
		access string
	}{
		{"token fits the buffer", "short-access-token"},
		{"token outgrows the buffer", strings.Repeat("long-access-token-", 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := connector.New("jumpseller", connector.Options{ClientID: "id", ClientSecret: "secret", Store: memory.New()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			now := time.Now()
			if _, err := c.Import(context.Background(), &connector.Token{AccessToken: tc.access, RefreshToken: "refresh", TokenType: "Bearer",
				IssuedAt: now, Expiry: now.Add(time.Hour), AccountID: "store"}); err != nil {
				t.Fatal(err)
			}
			buf := connector.PooledPlaintext()
			if n := len(bytes.Trim(buf, "\x00")); n != 0 {
				t.Errorf("the pooled buffer (%d bytes) still holds %d non-zero bytes: %q", len(buf), n, bytes.Trim(buf, "\x00"))
			}
		})
	}
}
