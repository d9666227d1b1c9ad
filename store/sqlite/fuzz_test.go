package sqlite_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store/internal/leaktest"
	"github.com/connector-go/connector/store/sqlite"
)

// FuzzPath parses pre+password+post and checks that Path never panics;
// that an error is InvalidConfig and names the sqlite store location, and
// shows no password that a URL form of it holds (sqlite://user:PASSWORD@…,
// as connstr's String hides it), which it refuses; that a path is absolute and clean, and is
// a location that gives itself back, as a plain path and as a file:// URL;
// and that the sqlite:// and file:// forms of the same rest agree.
func FuzzPath(f *testing.F) {
	for _, s := range [][3]string{
		{"/var/lib/c/connector.db", "", ""},
		{"data/connector.db", "", ""},
		{"/a/b/../c//x.db", "", ""},
		{"~/x/connector.db", "", ""},
		{"~", "", ""},
		{"file:rel.db", "", ""},
		{"file:/abs/x.db", "", ""},
		{"file:///abs/x.db", "", ""},
		{"file://localhost/abs/x.db", "", ""},
		{"sqlite:///abs/x.db", "", ""},
		{"sqlite://rel/x.db", "", ""},
		{"SQLITE:///abs/x.db", "", ""},
		{"file:///abs/a%20b%3F.db", "", ""},
		{"/abs/100%.db", "", ""},
		{"file:///abs/x.db?mode=ro", "", ""},
		{"sqlite:///abs/x.db#frag", "", ""},
		{"sqlite://", "", ""},
		{"file:///abs/%zz.db", "", ""},
		{"sqlite://u:", "s3cr3t-Pa55w0rd", "@host/x.db?mode=ro"},
		{"file://u:", "s3cr3t-Pa55w0rd", "@host/%zz.db"},
		{"sqlite://u:", "s3cr3t-Pa55w0rd", "@host/x.db"},
		{"postgres:/u:", "s3cr3t-Pa55w0rd", "@host/db"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, pre, password, post string) {
		location := pre + password + post
		p, err := sqlite.Path(location)
		if forms := passwordForms(location, pre, password, post); len(forms) > 0 {
			_, rerr := sqlite.Path(pre + leaktest.Rotate(password) + post)
			if form := leaktest.Leaked(errText(err), errText(rerr), forms); form != "" {
				t.Fatalf("Path(%q) error shows the password as %q: %v", location, form, err)
			}
			if lower := strings.ToLower(location); err == nil && (strings.HasPrefix(lower, "sqlite://") || strings.HasPrefix(lower, "file://")) {
				t.Fatalf("Path(%q) = %q: a URL with a password is taken for a file", location, p)
			}
		}
		if err != nil {
			if p != "" || driver.CodeOf(err) != driver.InvalidConfig || !strings.HasPrefix(err.Error(), "connector: store: sqlite store location") {
				t.Fatalf("Path(%q) = %q, %q (%s): want an InvalidConfig error that names the location", location, p, err, driver.CodeOf(err))
			}
		} else {
			if !filepath.IsAbs(p) || filepath.Clean(p) != p {
				t.Fatalf("Path(%q) = %q: not absolute and clean", location, p)
			}
			if again, err := sqlite.Path(p); err != nil || again != p {
				t.Fatalf("Path(%q) = %q, which gives %q, %v", location, p, again, err)
			}
			u := (&url.URL{Scheme: "file", Path: p}).String()
			if again, err := sqlite.Path(u); err != nil || again != p {
				t.Fatalf("Path(%q) = %q, whose URL %q gives %q, %v", location, p, u, again, err)
			}
		}

		if !strings.HasPrefix(strings.ToLower(location), "localhost/") {
			p1, err1 := sqlite.Path("sqlite://" + location)
			p2, err2 := sqlite.Path("file://" + location)
			if p1 != p2 || (err1 == nil) != (err2 == nil) {
				t.Fatalf("sqlite:// and file:// of %q disagree: %q, %v and %q, %v", location, p1, err1, p2, err2)
			}
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// passwordForms returns leaktest.Forms of password when location
// (pre+password+post) holds it in the password of its user information;
// else nil.
func passwordForms(location, pre, password, post string) []string {
	if !leaktest.InUserinfo(location, password) {
		return nil
	}
	return leaktest.Forms(password, pre, post)
}
