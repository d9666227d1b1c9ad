package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/store"
)

// The conventions of issue 15: gh, kubectl and psql are the models.

func TestSuggest(t *testing.T) {
	cmds := []string{"auth", "token", "refresh", "call", "connections", "revoke", "delete", "providers", "sandbox", "demo", "version", "help"}
	for _, tc := range []struct {
		name, in   string
		candidates []string
		want       string
	}{
		{"transposition", "tokne", cmds, "token"},
		{"missing letter", "conections", cmds, "connections"},
		{"extra letter", "reffresh", cmds, "refresh"},
		{"prefix", "prov", cmds, "providers"},
		{"case", "TOKEN", cmds, "token"},
		{"flag transposition", "dns", []string{"dsn", "dsn-file", "verbose", "connection"}, "dsn"},
		{"flag typo", "verbos", []string{"dsn", "dsn-file", "verbose"}, "verbose"},
		{"too far", "xyzzy", cmds, ""},
		{"short and wrong", "zz", cmds, ""},
		{"empty", "", cmds, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, suggest(tc.in, tc.candidates)); diff != "" {
				t.Errorf("suggest(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestUsageErrors: a typo'd command or flag is exit 2 with one line that
// suggests the right one, not the whole usage; help of an unknown command
// too.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"typo'd command", []string{"tokne"}, `connector: unknown command "tokne"; did you mean token? (connector help lists the commands)`},
		{"unknown command", []string{"frobnicate"}, `connector: unknown command "frobnicate" (connector help lists the commands)`},
		{"typo'd flag", []string{"token", "--dns", "x"}, "connector: token: unknown flag --dns; did you mean --dsn? (connector help token lists the flags)"},
		{"typo'd flag with =", []string{"connections", "--no-header=true"}, "connector: connections: unknown flag --no-header; did you mean --no-headers? (connector help connections lists the flags)"},
		{"typo'd global flag", []string{"--verbos", "token"}, "connector: unknown flag --verbos; did you mean --verbose? (connector help lists the flags)"},
		{"global flag a command does not take", []string{"providers", "--dsn", "x"}, "connector: providers: unknown flag --dsn (providers reads no connection string) (connector help providers lists the flags)"},
		{"flag without its value", []string{"token", "--connection"}, "connector: token: flag needs an argument: --connection (connector help token lists the flags)"},
		{"bad flag value", []string{"auth", "--timeout", "soon"}, `connector: auth: invalid value "soon" for flag --timeout: parse error (connector help auth lists the flags)`},
		{"help of an unknown command", []string{"help", "nosuch"}, `connector: unknown command "nosuch" (connector help lists the commands)`},
		{"help of a typo", []string{"help", "conections"}, `connector: unknown command "conections"; did you mean connections? (connector help lists the commands)`},
		{"bad output format", []string{"connections", "-o", "yaml", "--dsn", "OAuthSettingsLocation=memory://x"}, `connector: connections: -o must be text or json, not "yaml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tc.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want %d", r.code, ExitUsage)
			}
			if diff := cmp.Diff(tc.want+"\n", r.err); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if r.out != "" {
				t.Errorf("stdout = %q, want nothing", r.out)
			}
		})
	}
}

// TestHelpFlags: help lists a command's own flags apart from the global
// ones, only those the command takes, as --flag, with examples.
func TestHelpFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd           string
		own, global   []string
		notOwn, notGl []string
	}{
		{"token", []string{"--connection ID", "--ref REF", "-o, --output FORMAT", "--no-browser", "--timeout DURATION"}, []string{"--dsn DSN", "--dsn-file FILE", "--verbose"}, []string{"--data"}, nil},
		{"connections", []string{"-o, --output FORMAT", "--no-headers"}, []string{"--dsn DSN", "--dsn-file FILE", "--verbose"}, []string{"--connection", "--timeout"}, nil},
		{"call", []string{"--data", "--header", "--connection ID"}, []string{"--dsn-file FILE"}, nil, nil},
		{"providers", []string{"-o, --output FORMAT", "--profile"}, nil, nil, []string{"--dsn", "--verbose"}},
		{"sandbox", []string{"--addr", "--callback", "--store"}, nil, nil, []string{"--dsn", "--verbose"}},
		{"demo", []string{"--provider"}, []string{"--verbose"}, nil, []string{"--dsn"}},
		{"version", nil, nil, nil, []string{"--dsn", "--verbose"}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, "help", tc.cmd)
			if r.code != ExitOK {
				t.Fatalf("help %s: exit %d: %s", tc.cmd, r.code, r.err)
			}
			own, global, examples := helpSections(r.out)
			for _, f := range tc.own {
				if !hasFlagLine(own, f) {
					t.Errorf("help %s: its flags lack %q:\n%s", tc.cmd, f, r.out)
				}
			}
			for _, f := range tc.notOwn {
				if strings.Contains(own, f) {
					t.Errorf("help %s: its flags list %q:\n%s", tc.cmd, f, r.out)
				}
			}
			for _, f := range tc.global {
				if !hasFlagLine(global, f) || hasFlagLine(own, f) {
					t.Errorf("help %s: %q is not listed among the global flags alone:\n%s", tc.cmd, f, r.out)
				}
			}
			for _, f := range tc.notGl {
				if strings.Contains(own+global, f) {
					t.Errorf("help %s lists %q, which it does not take:\n%s", tc.cmd, f, r.out)
				}
			}
			if regexp.MustCompile(`(?m)^  -[a-z]{2,}`).MatchString(r.out) {
				t.Errorf("help %s shows a long flag with one dash:\n%s", tc.cmd, r.out)
			}
			if !strings.Contains(examples, "connector "+tc.cmd) {
				t.Errorf("help %s has no example:\n%s", tc.cmd, r.out)
			}
			// -h says the same.
			if h := runMain(t, tc.cmd, "-h"); h.code != ExitOK || h.out != r.out {
				t.Errorf("%s -h: exit %d, and not the same as help %s:\n%s", tc.cmd, h.code, tc.cmd, h.out)
			}
		})
	}
	if r := runMain(t, "help", "help"); r.code != ExitOK || !strings.Contains(r.out, "Commands:") {
		t.Errorf("help help: exit %d:\n%s", r.code, r.out)
	}
	// Every command has examples.
	for _, c := range commands() {
		if len(c.examples) == 0 {
			t.Errorf("command %s has no example", c.name)
		}
	}
}

// helpSections splits help output into its own flags, global flags and
// examples.
func helpSections(out string) (own, global, examples string) {
	sec := map[string]*strings.Builder{"Flags:": {}, "Global flags:": {}, "Examples:": {}}
	var cur *strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if b, ok := sec[line]; ok {
			cur = b
			continue
		}
		if cur != nil {
			cur.WriteString(line + "\n")
		}
	}
	return sec["Flags:"].String(), sec["Global flags:"].String(), sec["Examples:"].String()
}

func hasFlagLine(section, flag string) bool {
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), flag+" ") || strings.TrimSpace(line) == flag {
			return true
		}
	}
	return false
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runMain(t, "version")
	if r.code != ExitOK || r.err != "" {
		t.Fatalf("version: exit %d, stderr %q", r.code, r.err)
	}
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "connector ") || lines[1] != "module github.com/connector-go/connector" ||
		lines[2] != "go "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version printed:\n%s", r.out)
	}
	if v := runMain(t, "--version"); v.code != ExitOK || v.out != r.out {
		t.Errorf("--version: exit %d:\n%s", v.code, v.out)
	}
	var b bytes.Buffer
	writeVersion(&b, versionInfo{module: "m", version: "v1.2.3", goVersion: "go1.26.0", platform: "linux/amd64", commit: "abc123", time: "2026-11-30T12:00:00Z", modified: true})
	want := "connector v1.2.3\nmodule m\ngo go1.26.0 linux/amd64\ncommit abc123 2026-11-30T12:00:00Z (modified)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("writeVersion (-want +got):\n%s", diff)
	}
}

// docFields returns the field names the table "| Field | Meaning |" of
// docs/cli.md's section "### name" documents.
func docFields(t *testing.T, section string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n### "+section+"\n")
	if i < 0 {
		t.Fatalf("docs/cli.md has no section %q", section)
	}
	doc = doc[i+1:]
	if j := strings.Index(doc[4:], "\n### "); j >= 0 {
		doc = doc[:j+4]
	}
	k := strings.Index(doc, "| Field | Meaning |")
	if k < 0 {
		t.Fatalf("docs/cli.md's section %q has no field table", section)
	}
	var fields []string
	for _, line := range strings.Split(doc[k:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(first, -1) {
			fields = append(fields, m[1])
		}
	}
	slices.Sort(fields)
	return fields
}

// jsonKeys returns the sorted keys of a JSON object.
func jsonKeys(t *testing.T, obj map[string]any) []string {
	t.Helper()
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestMachineOutput: connections -o json and --no-headers, token -o json:
// the field names are exactly the documented ones, lower_snake_case; no
// token in connections; the token only in token's.
func TestMachineOutput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "shopline")
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	tok := strings.TrimSpace(f.run("token").out)
	id := "shopline:" + f.account

	r := f.run("connections", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("connections -o json: exit %d: %s", r.code, r.err)
	}
	var conns []map[string]any
	if err := json.Unmarshal([]byte(r.out), &conns); err != nil || len(conns) != 1 {
		t.Fatalf("connections -o json printed %d connections (%v):\n%s", len(conns), err, r.out)
	}
	if diff := cmp.Diff(docFields(t, "connections"), jsonKeys(t, conns[0])); diff != "" {
		t.Errorf("connections -o json fields differ from docs/cli.md (-documented +printed):\n%s", diff)
	}
	if conns[0]["id"] != id || conns[0]["account"] != f.account || conns[0]["status"] != "active" || conns[0]["app"] != "test-app" {
		t.Errorf("connections -o json: %v", conns[0])
	}
	if strings.Contains(r.out, tok) {
		t.Errorf("connections -o json printed the access token")
	}
	if again := f.run("connections", "--output", "json"); again.out != r.out {
		t.Errorf("--output json differs from -o json")
	}

	r = f.run("connections", "--no-headers")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != ExitOK || len(lines) != 1 || !strings.HasPrefix(lines[0], id+" ") {
		t.Errorf("connections --no-headers: exit %d:\n%s", r.code, r.out)
	}

	r = f.run("token", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("token -o json: exit %d: %s", r.code, r.err)
	}
	var tj map[string]any
	if err := json.Unmarshal([]byte(r.out), &tj); err != nil {
		t.Fatalf("token -o json: %v:\n%s", err, r.out)
	}
	if diff := cmp.Diff(docFields(t, "token"), jsonKeys(t, tj)); diff != "" {
		t.Errorf("token -o json fields differ from docs/cli.md (-documented +printed):\n%s", diff)
	}
	if tj["access_token"] != tok || tj["connection"] != id || tj["account"] != f.account || tj["expiry"] == nil {
		t.Errorf("token -o json: %v", tj)
	}
	c := f.connector()
	defer c.Close()
	conn, err := c.Connection(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	full, err := conn.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if full.RefreshToken == "" || strings.Contains(r.out, full.RefreshToken) {
		t.Errorf("token -o json shows the refresh token (or there is none to check)")
	}
	for _, k := range append(jsonKeys(t, tj), jsonKeys(t, conns[0])...) {
		if !regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`).MatchString(k) {
			t.Errorf("field %q is not lower_snake_case", k)
		}
	}
}

// connector opens a Connector on the fixture's string and clock.
func (f *fixture) connector() *connector.Connector {
	f.t.Helper()
	c, err := connector.Open(context.Background(), f.dsn, func(o *connector.Options) { o.Clock = f.clock.Now })
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// TestDSNSources: --dsn-file and CONNECTOR_DSN_FILE, quotes and newlines
// as a .env file leaves them, a file others may read refused.
func TestDSNSources(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := file("plain.dsn", f.dsn+"\n", 0o600)
	double := file("double.dsn", `"`+f.dsn+`"`+"\n", 0o600)
	single := file("single.dsn", "'"+f.dsn+"'", 0o400)
	readable := file("readable.dsn", f.dsn, 0o644)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code ExitCode
		want string // in stderr
	}{
		{"--dsn-file", []string{"--dsn-file", plain}, nil, ExitOK, ""},
		{"--dsn-file double quotes", []string{"--dsn-file", double}, nil, ExitOK, ""},
		{"--dsn-file single quotes, read-only", []string{"--dsn-file", single}, nil, ExitOK, ""},
		{"CONNECTOR_DSN_FILE", nil, map[string]string{EnvDSNFile: plain}, ExitOK, ""},
		{"CONNECTOR_DSN quoted with a newline", nil, map[string]string{EnvDSN: "'" + f.dsn + "'\n"}, ExitOK, ""},
		{"--dsn quoted", []string{"--dsn", `"` + f.dsn + `"`}, nil, ExitOK, ""},
		{"--dsn beats CONNECTOR_DSN_FILE", []string{"--dsn", f.dsn}, map[string]string{EnvDSNFile: readable}, ExitOK, ""},
		{"group-readable file", []string{"--dsn-file", readable}, nil, ExitUsage,
			fmt.Sprintf("connector: --dsn-file: %s has mode 0644: other users can read the client secret in it; run chmod 600 %s\n", readable, readable)},
		{"group-readable CONNECTOR_DSN_FILE", nil, map[string]string{EnvDSNFile: readable}, ExitUsage, "chmod 600 " + readable},
		{"missing file", []string{"--dsn-file", filepath.Join(dir, "nosuch.dsn")}, nil, ExitUsage, "nosuch.dsn"},
		{"both flags", []string{"--dsn", f.dsn, "--dsn-file", plain}, nil, ExitUsage, "give one"},
		{"both variables", nil, map[string]string{EnvDSN: f.dsn, EnvDSNFile: plain}, ExitUsage, "unset one"},
		{"empty file", []string{"--dsn-file", file("empty.dsn", "\n", 0o600)}, nil, ExitUsage, "is empty"},
		{"a file over 64 KiB", []string{"--dsn-file", file("long.dsn", f.dsn+";"+strings.Repeat("x", 64<<10), 0o600)}, nil, ExitUsage, "is over 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errb := testio.Pair()
			sys := IO{Out: out, Err: errb, Env: func(k string) string { return tc.env[k] }, Now: f.clock.Now}
			code := Main(context.Background(), append([]string{"token"}, tc.args...), sys)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, errb)
			}
			if tc.code == ExitOK && !f.sim.ValidAccessToken(strings.TrimSpace(out.String())) {
				t.Errorf("token printed %q", out)
			}
			if tc.code != ExitOK && !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr = %q, want it to hold %q", errb, tc.want)
			}
			f.noSecrets(result{out: out.String(), err: errb.String()})
		})
	}
}

// TestConnectionSelection: CONNECTOR_CONNECTION is the default of
// --connection; an unknown id names the known ones, ten at most.
func TestConnectionSelection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "jumpseller", inMemory)
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	id := "jumpseller:" + f.account
	env := func(v string) func(*IO) {
		return func(sys *IO) {
			sys.Env = func(k string) string {
				if k == EnvConnection {
					return v
				}
				return ""
			}
		}
	}
	if r := f.runIO(env(id), "token"); r.code != ExitOK || !f.sim.ValidAccessToken(strings.TrimSpace(r.out)) {
		t.Errorf("token with %s=%s: exit %d, stderr %s", EnvConnection, id, r.code, r.err)
	}
	r := f.runIO(env("jumpseller:nosuch"), "token")
	if want := fmt.Sprintf("connector: no jumpseller connection %q for this application (known: %s)\n", "jumpseller:nosuch", id); r.code != ExitUsage || r.err != want {
		t.Errorf("token with an unknown %s: exit %d, stderr (-want +got):\n%s", EnvConnection, r.code, cmp.Diff(want, r.err))
	}
	// --connection beats the variable.
	if r := f.runIO(env("jumpseller:nosuch"), "token", "--connection", id); r.code != ExitOK {
		t.Errorf("--connection with %s set: exit %d, stderr %s", EnvConnection, r.code, r.err)
	}

	// Twelve more connections: the first ten of the thirteen are named,
	// then how many more.
	c := f.connector()
	defer c.Close()
	for i := range 12 {
		if _, err := c.Import(context.Background(), &connector.Token{AccessToken: fmt.Sprintf("at%02d", i), TokenType: "Bearer",
			AccountID: fmt.Sprintf("shop-%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	r = f.run("token", "--connection", "jumpseller:shop-1")
	if r.code != ExitUsage || !strings.Contains(r.err, "jumpseller:shop-08 … and 3 more; run `connector connections`") ||
		strings.Contains(r.err, "shop-09") || !strings.Contains(r.err, "did you mean jumpseller:shop-01?") {
		t.Errorf("an unknown id among 13: exit %d, stderr %s", r.code, r.err)
	}
}

// TestHints: the slips a person makes at the shell get a hint, and the
// library's messages for Go developers are said for users.
func TestHints(t *testing.T) {
	t.Parallel()
	const secret = "Hint-S3cret-Value-77"
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code ExitCode
		want []string
	}{
		{"unquoted --dsn cut at the first ;", []string{"token", "--dsn", "Provider=jumpseller"}, nil, ExitUsage,
			[]string{"OAuthClientId and OAuthClientSecret are required", "the shell ended it at the first ';'", "--dsn-file"}},
		{"unquoted CONNECTOR_DSN", []string{"token"}, map[string]string{EnvDSN: "Provider=shopline;"}, ExitUsage, []string{"the shell ended it at the first ';'"}},
		{"a whole string missing its secret: no shell hint", []string{"token", "--dsn", "Provider=jumpseller;OAuthClientId=app"}, nil, ExitUsage,
			[]string{"OAuthClientSecret is required"}},
		{"comma-separated scopes", []string{"auth", "--no-browser", "--dsn", "Provider=jumpseller;OAuthClientId=app;OAuthClientSecret=" + secret +
			";Scope=read_products,read_orders;CallbackURL=http://127.0.0.1:8085/cb;OAuthSettingsLocation=memory://hints"}, nil, ExitUsage,
			[]string{"read_products,read_orders", "scopes are separated by spaces, not commas"}},
		{"comma-separated scopes, open list", []string{"auth", "--no-browser", "--timeout", "50ms", "--dsn", "Provider=shopline;OAuthClientId=app;OAuthClientSecret=" + secret +
			";Scope=products,orders;CallbackURL=http://127.0.0.1:0/cb;OAuthSettingsLocation=memory://hints-open"}, nil, ExitFailure,
			[]string{`connector: note: the scope "products,orders" holds a comma: scopes are separated by spaces`}},
		{"a postgres URL as --dsn", []string{"connections", "--dsn", "postgres://app:" + secret + "@db.example/connector?sslmode=require"}, nil, ExitUsage,
			[]string{"is a postgres:// URL, not Key=Value pairs", "belongs in OAuthSettingsLocation"}},
		{"a redis URL in CONNECTOR_DSN", []string{"token"}, map[string]string{EnvDSN: "redis://:" + secret + "@cache:6379/0"}, ExitUsage,
			[]string{"from $CONNECTOR_DSN is a redis:// URL", "OAuthSettingsLocation"}},
		{"a file path as --dsn", []string{"connections", "--dsn", "/var/lib/connector/connector.db"}, nil, ExitUsage,
			[]string{"is a file path", "OAuthSettingsLocation"}},
		{"unknown provider", []string{"token", "--dsn", "Provider=shoplin;OAuthClientId=app;OAuthClientSecret=" + secret}, nil, ExitUsage,
			[]string{`unknown provider "shoplin"; did you mean shopline? (this connector has`, "jumpseller", "connector providers describes them"}},
		{"unknown store scheme", []string{"token", "--dsn", "Provider=jumpseller;OAuthClientId=app;OAuthClientSecret=" + secret + ";OAuthSettingsLocation=mongodb://db/x"}, nil, ExitUsage,
			[]string{`no store for OAuthSettingsLocation scheme "mongodb": this connector has the stores`, "SQLite (a file path)", "memory://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, errb := testio.Pair()
			code := Main(context.Background(), tc.args, IO{Out: out, Err: errb, Env: func(k string) string { return tc.env[k] }})
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errb)
			}
			for _, w := range tc.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb)
				}
			}
			if strings.Contains(errb.String(), "forgotten import") {
				t.Errorf("stderr speaks of imports:\n%s", errb)
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("the secret was printed:\n%s", errb)
			}
			if tc.name == "a whole string missing its secret: no shell hint" && strings.Contains(errb.String(), "shell") {
				t.Errorf("a hint about the shell for a string that was not cut:\n%s", errb)
			}
		})
	}
}

// TestCallPaths: call GET token/info and call GET /v1/token/info, as
// docs/cli.md has it, reach the same endpoint.
func TestCallPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "shopline", inMemory)
	if r, _, _ := f.auth("approve"); r.code != ExitOK {
		t.Fatalf("auth exit %d; stderr:\n%s", r.code, r.err)
	}
	first := f.run("call", "GET", "token/info")
	if first.code != ExitOK || !strings.Contains(first.out, f.account) {
		t.Fatalf("call GET token/info: exit %d, stdout %q, stderr %q", first.code, first.out, first.err)
	}
	for _, p := range []string{"/v1/token/info", "/api/v1/token/info", "/token/info"} {
		if r := f.run("call", "GET", p); r.code != ExitOK || r.out != first.out {
			t.Errorf("call GET %s: exit %d, stdout %q, stderr %q", p, r.code, r.out, r.err)
		}
	}
	r := f.run("call", "GET", "/v1/no/such?secret=x")
	if r.code != ExitFailure || !strings.Contains(r.err, "GET /v1/no/such?secret=x: 404 Not Found ("+f.srv.URL+"/api/v1/no/such?secret=…)") {
		t.Errorf("call of a missing route: exit %d, stderr %q", r.code, r.err)
	}
}

// TestReadOnlyCommandsCreateNoStore: on a store that does not exist,
// connections and refresh --due exit 2, token and call 3, and nothing is
// created.
func TestReadOnlyCommandsCreateNoStore(t *testing.T) {
	t.Parallel()
	base := "Provider=jumpseller;OAuthClientId=app;OAuthClientSecret=s3cret-s3cret;InitiateOAuth=REFRESH"
	for _, tc := range []struct {
		args []string
		code ExitCode
	}{
		{[]string{"connections"}, ExitUsage},
		{[]string{"connections", "-o", "json"}, ExitUsage},
		{[]string{"refresh", "--due", "72h"}, ExitUsage},
		{[]string{"token"}, ExitReauth},
		{[]string{"call", "GET", "store/info.json"}, ExitReauth},
		{[]string{"refresh"}, ExitReauth},
		{[]string{"revoke"}, ExitReauth},
		{[]string{"delete"}, ExitReauth},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "missing")
			location := filepath.Join(dir, "connector.db")
			r := runMain(t, append(tc.args, "--dsn", base+";OAuthSettingsLocation="+location)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", r.code, tc.code, r.err)
			}
			if want := "connector: no store at " + location + " (OAuthSettingsLocation): " + tc.args[0]; !strings.HasPrefix(r.err, want) {
				t.Errorf("stderr = %q, want it to start with %q", r.err, want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s created %s (%v)", tc.args[0], dir, err)
			}
		})
	}
}

// TestVerboseShowsNoSecret runs auth, token, a refresh and a call with
// --verbose: every HTTP exchange and store call is traced on standard
// error, and no client secret, token or code appears there.
func TestVerboseShowsNoSecret(t *testing.T) {
	t.Parallel()
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, name)
			sys, out, errb := f.io(strings.NewReader(""))
			authURL, done := f.startAuth(sys, out, errb, "--verbose")
			resp, _ := consent(t, authURL, "approve")
			code := resp.Request.URL.Query().Get("code")
			auth := <-done
			if auth.code != ExitOK || code == "" {
				t.Fatalf("auth exit %d (code %q); stderr:\n%s", auth.code, code, auth.err)
			}
			first := f.run("token", "--verbose")
			f.clock.Advance(f.sim.Config().AccessTTL + time.Minute)
			refreshed := f.run("refresh", "--verbose")
			call := f.run("call", "GET", f.apiPath, "--verbose")
			conns := f.run("connections", "--verbose")
			trace := auth.err + first.err + refreshed.err + call.err + conns.err
			for _, r := range []result{first, refreshed, call, conns} {
				if r.code != ExitOK {
					t.Fatalf("exit %d; stderr:\n%s", r.code, r.err)
				}
			}
			c := f.connector()
			defer c.Close()
			conn, err := c.Connection(context.Background(), name+":"+f.account)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := conn.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			secrets := map[string]string{"client secret": f.secret, "authorization code": code,
				"first access token": strings.TrimSpace(first.out), "access token": tok.AccessToken, "refresh token": tok.RefreshToken}
			for what, s := range secrets {
				if s != "" && strings.Contains(trace, s) {
					t.Errorf("--verbose printed the %s", what)
				}
			}
			// The trace lines hold nothing that looks like a token (the
			// authorization URL that auth prints holds the state).
			var lines []string
			for _, l := range strings.Split(trace, "\n") {
				if strings.HasPrefix(l, "connector: trace: ") {
					lines = append(lines, strings.ReplaceAll(l, filepath.Dir(f.location), "DIR"))
				}
			}
			if m := longSecret.FindString(strings.Join(lines, "\n")); m != "" {
				t.Errorf("--verbose printed what looks like a token: %q", m)
			}
			if testing.Verbose() {
				t.Logf("--verbose:\n%s", trace)
			}
			for _, want := range []string{
				"connector: trace: http POST " + f.srv.URL + "/oauth/token: 200 OK (",
				"connector: trace: http GET " + f.srv.URL + "/api/v1/" + f.apiPath + ": 200 OK (",
				"connector: trace: store get ", "connector: trace: store put ", "connector: trace: refresh " + name + ":" + f.account + ": ok (",
				"connector: trace: store list: 1 connections (",
			} {
				if !strings.Contains(trace, want) {
					t.Errorf("--verbose output lacks %q:\n%s", want, trace)
				}
			}
		})
	}
}

// TestBinaryConventions runs the built connector where exit codes matter.
func TestBinaryConventions(t *testing.T) {
	t.Parallel()
	bin := connectorBinary(t)
	dir := t.TempDir()
	readable := filepath.Join(dir, "readable.dsn")
	if err := os.WriteFile(readable, []byte("Provider=jumpseller;OAuthClientId=app;OAuthClientSecret=bin-s3cret-bin\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(readable, 0o640)
	missing := filepath.Join(dir, "nostore", "connector.db")
	for _, tc := range []struct {
		name   string
		args   []string
		env    []string
		code   int
		stdout string // a prefix
		stderr string // a prefix
	}{
		{"version", []string{"version"}, nil, 0, "connector ", ""},
		{"--version", []string{"--version"}, nil, 0, "connector ", ""},
		{"typo'd command", []string{"tokne"}, nil, 2, "", `connector: unknown command "tokne"; did you mean token?`},
		{"typo'd flag", []string{"connections", "--dns", "x"}, nil, 2, "", "connector: connections: unknown flag --dns; did you mean --dsn?"},
		{"help nosuch", []string{"help", "nosuch"}, nil, 2, "", `connector: unknown command "nosuch"`},
		{"group-readable --dsn-file", []string{"token", "--dsn-file", readable}, nil, 2, "", "connector: --dsn-file: " + readable + " has mode 0640"},
		{"group-readable CONNECTOR_DSN_FILE", []string{"token"}, []string{EnvDSNFile + "=" + readable}, 2, "", "connector: $CONNECTOR_DSN_FILE: " + readable + " has mode 0640"},
		{"connections on no store", []string{"connections", "--dsn", "OAuthSettingsLocation=" + missing}, nil, 2, "", "connector: no store at " + missing},
		{"connections -o json on no store", []string{"connections", "-o", "json"}, []string{EnvDSN + "=OAuthSettingsLocation=" + missing}, 2, "", "connector: no store at " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), EnvDSN+"=", EnvDSNFile+"=", EnvConnection+"=", "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
			cmd.Env = append(cmd.Env, tc.env...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			got := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				got = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", got, tc.code, errb.String())
			}
			if !strings.HasPrefix(out.String(), tc.stdout) || !strings.HasPrefix(errb.String(), tc.stderr) {
				t.Errorf("stdout %q, stderr %q; want them to start with %q, %q", out.String(), errb.String(), tc.stdout, tc.stderr)
			}
			if tc.code == 2 && strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("a usage error printed more than one line:\n%s", errb.String())
			}
			if strings.Contains(out.String()+errb.String(), "bin-s3cret-bin") {
				t.Errorf("the secret was printed")
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("connections created %s (%v)", filepath.Dir(missing), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something created the default store's directory (%v)", err)
	}
}

// TestProvidersJSONFields: the top-level fields of providers -o json, over
// every provider (a Go driver's and a profile's differ), are exactly those
// docs/cli.md lists.
func TestProvidersJSONFields(t *testing.T) {
	t.Parallel()
	r := runMain(t, "providers", "-o", "json", "--profile", writeAcme(t))
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range list {
		for k := range p {
			seen[k] = true
		}
	}
	var keys []string
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff(docFields(t, "providers"), keys); diff != "" {
		t.Errorf("providers -o json fields differ from docs/cli.md (-documented +printed):\n%s", diff)
	}
}

// TestNoStoreCreatedOnServers: connections and token on a PostgreSQL
// schema or a Redis prefix that holds no store exit 2 and 3 and create
// nothing there (the built binary, with the encryption key these backends
// require).
func TestNoStoreCreatedOnServers(t *testing.T) {
	bin := connectorBinary(t)
	key := store.EnvKey + "=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, b := range processBackends {
		if b.name == "sqlite" {
			continue // TestReadOnlyCommandsCreateNoStore
		}
		t.Run(b.name, func(t *testing.T) {
			location := b.location(t)
			for _, tc := range []struct {
				args []string
				code int
			}{
				{[]string{"connections"}, int(ExitUsage)},
				{[]string{"token", "--dsn", "Provider=jumpseller;OAuthClientId=app;OAuthClientSecret=s3cret-s3cret;InitiateOAuth=REFRESH;OAuthSettingsLocation=" + location}, int(ExitReauth)},
			} {
				cmd := exec.Command(bin, tc.args...)
				cmd.Env = append(os.Environ(), key, store.EnvOldKeys+"=", EnvDSN+"=OAuthSettingsLocation="+location, EnvDSNFile+"=")
				var errb bytes.Buffer
				cmd.Stderr = &errb
				err := cmd.Run()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
					t.Errorf("%s: %v, want exit %d; stderr %s", tc.args[0], err, tc.code, errb.String())
				}
				if !strings.Contains(errb.String(), "(OAuthSettingsLocation): "+tc.args[0]+" creates none") {
					t.Errorf("%s: stderr %s", tc.args[0], errb.String())
				}
			}
			if n := serverObjects(t, b.name, location); n != 0 {
				t.Errorf("%d objects were created at the %s location", n, b.name)
			}
		})
	}
}

// serverObjects counts what exists at a PostgreSQL location's schema (its
// tables) or under a Redis location's prefix (its keys).
func serverObjects(t *testing.T, backend, location string) int {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch backend {
	case "postgres":
		pool, err := pgxpool.New(ctx, testPostgresDSN())
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var n int
		schema := u.Query().Get("schema")
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	case "redis":
		opts, err := goredis.ParseURL(testRedisURL())
		if err != nil {
			t.Fatal(err)
		}
		client := goredis.NewClient(opts)
		defer client.Close()
		keys, _, err := client.Scan(ctx, 0, u.Query().Get("prefix")+"*", 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	return 0
}
