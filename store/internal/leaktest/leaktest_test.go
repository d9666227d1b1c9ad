package leaktest

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRotate(t *testing.T) {
	for _, s := range []string{"hunter2-Pa55w0rd", "p%40ss%3Aw0rd%2B", "zZ9fF", "ümlaut"} {
		r := Rotate(s)
		for i := range len(s) {
			c := s[i]
			alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if alnum == (r[i] == c) {
				t.Errorf("Rotate(%q) = %q: byte %d %q", s, r, i, r[i])
			}
		}
		if _, err := url.PathUnescape(r); err != nil {
			t.Errorf("Rotate(%q) = %q: not a valid escape any more", s, r)
		}
	}
}

func TestForms(t *testing.T) {
	for _, tc := range []struct {
		name, password, pre, post string
		want                      []string
	}{
		{"short", "hunter2", "redis://:", "@h", nil},
		{"plain", "hunter2-pw", "redis://:", "@h", []string{"hunter2-pw"}},
		{"escaped", "p%40ss%3Aword", "redis://:", "@h", []string{"p%40ss%3Aword", "p%2540ss%253Aword", "p@ss:word"}},
		{"found elsewhere", "hunter2-pw", "redis://hunter2-pw:", "@h", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, Forms(tc.password, tc.pre, tc.post)); d != "" {
				t.Errorf("Forms (-want +got):\n%s", d)
			}
		})
	}
}

func TestLeaked(t *testing.T) {
	forms := []string{"hunter2-pw"}
	if got := Leaked("no :hunter2-pw@", "no :iuoufs3-qx@", forms); got != "hunter2-pw" {
		t.Errorf("a shown password: Leaked = %q", got)
	}
	if got := Leaked("template hunter2-pw", "template hunter2-pw", forms); got != "" {
		t.Errorf("a form the text holds whatever the password: Leaked = %q", got)
	}
}
