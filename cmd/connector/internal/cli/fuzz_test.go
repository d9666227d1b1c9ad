package cli

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/connstr"
)

// FuzzParseWindow checks parseWindow against its contract, a Go duration
// or a whole number of days, neither negative, as an oracle: a window is
// exactly the days or the duration given, never one that wrapped around,
// and anything else is a usage error that names --due.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"72h", "90m", "3d", "0", "d", "1.5d", "-2h", "", "0d", "-0d", "+3d", "-3d", "03d", "3D", "1h30m",
		"2562047h", "2562048h", "106751d", "106752d", "9223372036854775807d", "3dd", " 3d", "3d "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWindow(s)

		var want time.Duration
		ok := false
		if days, isDays := strings.CutSuffix(s, "d"); isDays {
			n, err := strconv.ParseInt(days, 10, 64)
			if ok = err == nil && n >= 0 && n <= math.MaxInt64/int64(24*time.Hour); ok {
				want = time.Duration(n) * 24 * time.Hour
			}
		} else {
			d, err := time.ParseDuration(s)
			ok, want = err == nil && d >= 0, d
		}
		if !ok {
			want = 0
		}
		if (err == nil) != ok || got != want {
			t.Fatalf("parseWindow(%q) = %v, %v; want %v (valid %v)", s, got, err, want, ok)
		}
		if err != nil && (exitCodeOf(err) != ExitUsage || !strings.HasPrefix(err.Error(), "--due "+strconv.Quote(s)+" is not a window")) {
			t.Fatalf("parseWindow(%q) error %q (exit %d): want a usage error that names --due", s, err, exitCodeOf(err))
		}
	})
}

// FuzzUnquote checks that unquote takes off exactly one pair of enclosing
// quotes, as a .env file has them, and the spaces inside, and leaves
// anything else as it is.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{"", `"`, `''`, `"Provider=jumpseller;OAuthClientSecret=s"`, `'Provider=x'`, `" a "`, `"a'`, `""x""`, `'"x"'`, "x", `"\n"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := unquote(s)
		for _, q := range []string{`"`, `'`} {
			if inner := unquote(q + s + q); inner != strings.TrimSpace(s) {
				t.Fatalf("unquote(%q) = %q, want %q", q+s+q, inner, strings.TrimSpace(s))
			}
		}
		quoted := len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0]
		if !quoted && got != s {
			t.Fatalf("unquote(%q) = %q: changed a string without enclosing quotes", s, got)
		}
		if quoted && got != strings.TrimSpace(s[1:len(s)-1]) {
			t.Fatalf("unquote(%q) = %q", s, got)
		}
	})
}

// bareLocationSays is every answer bareLocation may give: it names a kind
// of location and at most a URL scheme, never more of the string.
var bareLocationSays = regexp.MustCompile(`^(|a file path|a [a-z][a-z0-9+.-]*:// URL)$`)

// FuzzBareLocation checks that bareLocation answers only with a kind of
// location (and a URL's scheme, as the string starts with it), that it
// knows a URL and a path for what they are, and that it never takes a
// connection string that connstr.Parse accepts for a location.
func FuzzBareLocation(f *testing.F) {
	for _, s := range []string{
		"",
		"Provider=jumpseller;AuthScheme=OAuth;InitiateOAuth=GETANDREFRESH;OAuthClientId=id;OAuthClientSecret=secret;CallbackURL=http://localhost:8080/callback;",
		"OAuthSettingsLocation=postgres://app:hunter2-pw@db/connector",
		"OAuthSettingsLocation=/var/lib/connector.db",
		"postgres://app:hunter2-pw@db.example.com/connector?sslmode=disable",
		"REDISS://:hunter2-pw@cache:6380/0?prefix=a:b:",
		"/var/lib/connector/connector.db",
		"./x.db", "../x.db", "~/x.db", "x.db", "dir/x", `dir\x`, "x.db=1", "/x=1;y=2",
		"file:rel.db", "memory://shared", "1x://y", ";;", "=value", "provider = shopline ; initiateoauth=refresh",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		got := bareLocation(dsn)
		if !bareLocationSays.MatchString(got) {
			t.Fatalf("bareLocation(%q) = %q: says more than a kind of location", dsn, got)
		}
		if scheme, ok := strings.CutSuffix(strings.TrimPrefix(got, "a "), ":// URL"); ok && !strings.HasPrefix(strings.ToLower(dsn), scheme+"://") {
			t.Fatalf("bareLocation(%q) = %q: names a scheme the string does not start with", dsn, got)
		}
		if locationURL.MatchString(dsn) != strings.HasSuffix(got, ":// URL") {
			t.Fatalf("bareLocation(%q) = %q: a URL not known as one, or the reverse", dsn, got)
		}
		for _, prefix := range []string{"/", "./", "../", "~/"} {
			if strings.HasPrefix(dsn, prefix) && got != "a file path" {
				t.Fatalf("bareLocation(%q) = %q, want a file path", dsn, got)
			}
		}
		if _, err := connstr.Parse(dsn); err == nil && got != "" {
			t.Fatalf("bareLocation(%q) = %q, but connstr.Parse accepts it", dsn, got)
		}
	})
}

// FuzzReadDSNFile writes content to a file of mode 0600 and the group and
// other bits of perm, and reads it with readDSNFile and with readDSN
// (--dsn-file). It checks that a file readable by others is refused with a
// usage error that says so; that an owner-only file is read as it is; that
// readDSN gives it back without spaces and one pair of quotes, or a usage
// error; and that no error shows a secret of the content (a value of a
// property whose name holds secret, token or password, or a URL's
// password), found by comparing with the error for the same content with
// its secrets changed.
func FuzzReadDSNFile(f *testing.F) {
	const dsn = "Provider=jumpseller;OAuthClientId=app-id;OAuthClientSecret=client-secret-1;OAuthSettingsLocation=postgres://app:hunter2-pw@db/connector"
	for _, s := range []string{
		dsn, dsn + "\n", `"` + dsn + `"` + "\n", "'" + dsn + "'", "  \n", "",
		"postgres://app:hunter2-pw@db/connector?sslmode=disable\n",
		"OAuthClientSecret=client-secret-1", `"OAuthClientSecret=client-secret-1`,
		"/var/lib/connector.db", "x.db", "OAuthAccessToken='access-token-1';OAuthRefreshToken=\"refresh-token-1\"",
		"client-secret-1;Provider=x",
	} {
		f.Add(s, uint8(0))
	}
	f.Add(dsn, uint8(0o44))
	f.Add(dsn, uint8(0o04))
	f.Fuzz(func(t *testing.T, content string, perm uint8) {
		mode := os.FileMode(0o600) | os.FileMode(perm)&0o077
		path := filepath.Join(t.TempDir(), "connector.dsn")
		write := func(content string) {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
		}
		read := func() (string, error, string, error) {
			got, err := readDSNFile(path, "--dsn-file")
			e := &env{dsnFile: path}
			dsn, derr := e.readDSN()
			return got, err, dsn, derr
		}
		write(content)
		got, err, dsn, derr := read()

		if secrets := dsnSecrets(content); len(secrets) > 0 {
			changed := content
			for _, s := range secrets {
				changed = strings.ReplaceAll(changed, s, rotate(s))
			}
			write(changed)
			_, cerr, _, cderr := read()
			for _, s := range secrets {
				for _, e := range [][2]error{{err, cerr}, {derr, cderr}} {
					if e[0] != nil && strings.Contains(e[0].Error(), s) && (e[1] == nil || !strings.Contains(e[1].Error(), s)) {
						t.Fatalf("reading %q: the error shows the secret %q: %v", content, s, e[0])
					}
				}
			}
		}

		if mode&0o077 != 0 {
			for _, err := range []error{err, derr} {
				want := fmt.Sprintf("--dsn-file: %s has mode %04o: ", path, mode)
				if exitCodeOf(err) != ExitUsage || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "chmod 600") {
					t.Fatalf("reading a file of mode %04o: %v (exit %d), want a usage error that says so", mode, err, exitCodeOf(err))
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("readDSNFile of a file of mode %04o: %v", mode, err)
		}
		// Beyond 64 KiB readDSNFile reads no further (not checked here).
		if len(content) <= 64<<10 && got != content {
			t.Fatalf("readDSNFile = %q, want %q", got, content)
		}
		want := unquote(strings.TrimSpace(content))
		switch {
		case derr != nil:
			var xe *exitError
			if !errors.As(derr, &xe) || xe.code != ExitUsage || xe.err != nil || want != "" && bareLocation(want) == "" {
				t.Fatalf("readDSN of %q: %v, want a usage error for an empty string or a store location", content, derr)
			}
		case dsn != want || dsn == "" || bareLocation(dsn) != "":
			t.Fatalf("readDSN of %q = %q, want %q", content, dsn, want)
		}
	})
}

// secretValue matches a property whose name holds secret, token or
// password, and its value; urlPassword a URL's password.
var (
	secretValue = regexp.MustCompile(`(?i)[a-z]*(?:secret|token|password)[a-z]*\s*=\s*("[^"]*"|'[^']*'|[^;]*)`)
	urlPassword = regexp.MustCompile(`://[^/?#@:]*:([^/?#@]*)@`)
)

// dsnSecrets returns the values of content that look like secrets, 8 bytes
// or more after their quotes and spaces are taken off, and found in no
// other part of content.
func dsnSecrets(content string) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
			s = s[1 : len(s)-1]
		}
		if len(s) >= 8 && strings.Count(content, s) == 1 && rotate(s) != s {
			out = append(out, s)
		}
	}
	for _, m := range secretValue.FindAllStringSubmatch(content, -1) {
		add(m[1])
	}
	for _, m := range urlPassword.FindAllStringSubmatch(content, -1) {
		add(m[1])
	}
	return out
}

// rotate changes every letter and digit of s into another of its kind,
// keeping case.
func rotate(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
			b[i] = c + 1
		case c == '9':
			b[i] = '0'
		case c == 'z' || c == 'Z':
			b[i] = c - 25
		}
	}
	return string(b)
}
