package driver

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// encodeForm is the reference appendForm must match: copy params, set the
// credentials, url.Values.Encode.
func encodeForm(params url.Values, creds bool, cfg Config) string {
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	if creds {
		p.Set("client_id", cfg.ClientID)
		p.Set("client_secret", cfg.ClientSecret)
	}
	return p.Encode()
}

func TestAppendForm(t *testing.T) {
	cfg := Config{ClientID: "id &=", ClientSecret: "s+/é"}
	for _, tc := range []struct {
		name   string
		params url.Values
		creds  bool
	}{
		{"refresh with credentials", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r1"}}, true},
		{"without credentials", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://app/cb?x=1"}}, false},
		{"credentials in params are replaced", url.Values{"client_id": {"other"}, "client_secret": {"a", "b"}, "z": {"1"}}, true},
		{"credentials in params kept without creds", url.Values{"client_id": {"other"}}, false},
		{"several values and empty ones", url.Values{"a": {"1", "2"}, "b": {}, "c": {""}}, true},
		{"nothing", nil, false},
		{"only credentials", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := encodeForm(tc.params, tc.creds, cfg)
			if diff := cmp.Diff(want, string(appendForm(nil, tc.params, tc.creds, cfg))); diff != "" {
				t.Errorf("appendForm differs from url.Values.Encode (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzAppendForm(f *testing.F) {
	f.Add("grant_type", "refresh_token", "refresh_token", "r1", "id", "secret", true)
	f.Add("client_id", "x y", "", "", "&", "=", true)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, id, secret string, creds bool) {
		params := url.Values{k1: {v1}}
		params.Add(k2, v2)
		cfg := Config{ClientID: id, ClientSecret: secret}
		want := encodeForm(params, creds, cfg)
		if diff := cmp.Diff(want, string(appendForm(nil, params, creds, cfg))); diff != "" {
			t.Errorf("appendForm differs from url.Values.Encode (-want +got):\n%s", diff)
		}
	})
}
