package connector_test

// TestDocSnippets compiles every ```go block of README.md and docs/*.md, so
// that what a reader pastes builds. Each block becomes one package in a
// temporary directory inside the module (so that it resolves the module's
// own packages and go.mod's versions), and one `go build` compiles them all.
//
// How a block is read:
//
//   - A block that starts with `package` is a complete file, compiled as it
//     is: write complete programs this way (the README's library example).
//   - Any other block is a fragment. Its leading import lines are kept; if
//     what follows starts with a declaration (func, type, var, const) or
//     nothing, the fragment is a file's top level, else it is the body of a
//     function with no results. The standard and module packages it uses
//     (see snippetImports) are imported for it.
//   - An HTML comment on the line right before the fence declares the names
//     a fragment takes as given, as package-level variables, in Go's
//     parameter syntax:
//
//     <!-- snippet: ctx context.Context, c *connector.Connector -->
//
//   - `<!-- snippet: not compiled -->` before the fence exempts a block that
//     is an outline rather than code; say why in the text. Keep it rare.
//
// An ellipsis (…) outside a string or a comment does not compile: write a
// real value, or a comment.

import (
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// snippetImports maps the package names that fragments use to their import
// paths.
var snippetImports = map[string]string{
	"bytes":         "bytes",
	"context":       "context",
	"errors":        "errors",
	"fmt":           "fmt",
	"http":          "net/http",
	"io":            "io",
	"log":           "log",
	"os":            "os",
	"slog":          "log/slog",
	"strings":       "strings",
	"testing":       "testing",
	"time":          "time",
	"url":           "net/url",
	"connector":     "github.com/connector-go/connector",
	"connstr":       "github.com/connector-go/connector/connstr",
	"conformance":   "github.com/connector-go/connector/conformance",
	"driver":        "github.com/connector-go/connector/driver",
	"jumpseller":    "github.com/connector-go/connector/providers/jumpseller",
	"shopline":      "github.com/connector-go/connector/providers/shopline",
	"profile":       "github.com/connector-go/connector/profile",
	"simulator":     "github.com/connector-go/connector/simulator",
	"store":         "github.com/connector-go/connector/store",
	"memory":        "github.com/connector-go/connector/store/memory",
	"postgres":      "github.com/connector-go/connector/store/postgres",
	"redis":         "github.com/connector-go/connector/store/redis",
	"sqlite":        "github.com/connector-go/connector/store/sqlite",
	"otel":          "go.opentelemetry.io/otel",
	"sdktrace":      "go.opentelemetry.io/otel/sdk/trace",
	"sdkmetric":     "go.opentelemetry.io/otel/sdk/metric",
	"oauth2":        "golang.org/x/oauth2",
	"pgxpool":       "github.com/jackc/pgx/v5/pgxpool",
	"goredis":       "github.com/redis/go-redis/v9",
	"trace":         "go.opentelemetry.io/otel/trace",
	"metric":        "go.opentelemetry.io/otel/metric",
	"retryablehttp": "github.com/hashicorp/go-retryablehttp",
}

// snippet is one ```go block.
type snippet struct {
	file  string // relative to the module root
	line  int    // of the opening fence
	given string // the names the fragment takes as given, or ""
	skip  bool   // marked not compiled
	code  string
}

func (s snippet) String() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

var snippetMarker = regexp.MustCompile(`^<!--\s*snippet:\s*(.*?)\s*-->$`)

// extractSnippets returns the ```go blocks of a Markdown document.
func extractSnippets(file, doc string) ([]snippet, error) {
	var out []snippet
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "```go") || strings.TrimSpace(strings.TrimPrefix(l, "```go")) != "" {
			continue
		}
		s := snippet{file: file, line: i + 1}
		if i > 0 {
			if m := snippetMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
				if m[1] == "not compiled" {
					s.skip = true
				} else {
					s.given = m[1]
				}
			}
		}
		indent := lines[i][:strings.Index(lines[i], "```")]
		var body []string
		for i++; ; i++ {
			if i == len(lines) {
				return nil, fmt.Errorf("%s: the block unterminated", s)
			}
			if strings.TrimSpace(lines[i]) == "```" {
				break
			}
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		s.code = strings.Join(body, "\n") + "\n"
		out = append(out, s)
	}
	return out, nil
}

// goFile returns s as a Go source file of package pkg. Line directives
// make the compiler name the document (at path) and its lines.
func (s snippet) goFile(pkg, path string) string {
	at := func(i int) string { return fmt.Sprintf("//line %s:%d\n", path, s.line+1+i) }
	if strings.HasPrefix(strings.TrimSpace(s.code), "package ") {
		return at(0) + s.code
	}
	lines := strings.Split(s.code, "\n")
	// The leading imports, single or grouped, and the comments among them.
	var imports []string
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "" || strings.HasPrefix(l, "//"):
		case l == "import (":
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ")"; i++ {
				imports = append(imports, lines[i])
			}
			imports = append(imports, ")")
		case strings.HasPrefix(l, "import "):
			imports = append(imports, lines[i])
		default:
			goto rest
		}
	}
rest:
	body := strings.Join(lines[i:], "\n")
	first := strings.Fields(body + " x")[0]
	topLevel := strings.TrimSpace(body) == "" || slices.Contains([]string{"func", "type", "var", "const"}, first)

	var b strings.Builder
	fmt.Fprintf(&b, "// Code extracted from %s by TestDocSnippets.\n\npackage %s\n\n", s, pkg)
	for _, path := range s.autoImports(strings.Join(imports, "\n")) {
		fmt.Fprintf(&b, "import %s %q\n", importName(path), path)
	}
	b.WriteString(strings.Join(imports, "\n") + "\n\n")
	if s.given != "" {
		for _, g := range splitGiven(s.given) {
			fmt.Fprintf(&b, "var %s\n", g)
		}
		b.WriteString("\n")
	}
	if topLevel {
		b.WriteString(at(i) + body)
	} else {
		b.WriteString("func _() {\n" + at(i) + body + "\n}\n")
	}
	return b.String()
}

// splitGiven splits "a, b T, c *U" into the declarations "a, b T" and
// "c *U".
func splitGiven(given string) []string {
	var out, names []string
	for _, p := range givenParts(given) {
		if !strings.ContainsAny(p, " \t") {
			names = append(names, p) // a name whose type comes later
			continue
		}
		out = append(out, strings.Join(append(names, p), ", "))
		names = nil
	}
	return out
}

// givenNames returns the names a fragment takes as given.
func givenNames(given string) []string {
	var out []string
	for _, p := range givenParts(given) {
		out = append(out, strings.Fields(p)[0])
	}
	return out
}

// givenParts splits given at the commas outside brackets.
func givenParts(given string) []string {
	var parts []string
	depth, from := 0, 0
	for i, r := range given {
		switch r {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(given[from:i]))
				from = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(given[from:]); rest != "" {
		parts = append(parts, rest)
	}
	return parts
}

// autoImports returns the import paths of the packages the fragment and its
// given names use (as in time.Hour) that its own imports do not name and
// that it does not declare a variable of the same name for.
func (s snippet) autoImports(own string) []string {
	used, local := map[string]bool{}, map[string]bool{}
	for _, n := range givenNames(s.given) {
		local[n] = true
	}
	src := []byte(s.code)
	var sc scanner.Scanner
	sc.Init(token.NewFileSet().AddFile("", -1, len(src)), src, nil, 0)
	var toks []token.Token
	var lits []string
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		n := len(toks)
		switch {
		case tok == token.PERIOD && n > 0 && toks[n-1] == token.IDENT && (n < 2 || toks[n-2] != token.PERIOD):
			used[lits[n-1]] = true
		case tok == token.DEFINE:
			// x, y := …: the names before it are locals.
			for j := n - 1; j >= 0 && (toks[j] == token.IDENT || toks[j] == token.COMMA); j-- {
				if toks[j] == token.IDENT {
					local[lits[j]] = true
				}
			}
		}
		toks, lits = append(toks, tok), append(lits, lit)
	}
	for _, name := range typeQualifiers(s.given) {
		used[name] = true
	}
	var paths []string
	for name := range used {
		path, ok := snippetImports[name]
		if ok && !local[name] && !strings.Contains(own, `"`+path+`"`) {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	return paths
}

// importName is the name snippetImports gives path.
func importName(path string) string {
	for name, p := range snippetImports {
		if p == path {
			return name
		}
	}
	return "_"
}

// typeQualifiers returns the package names in the types of the given names.
func typeQualifiers(given string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\.`).FindAllStringSubmatch(given, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDocSnippets: see the comment at the top of this file.
func TestDocSnippets(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if goTool = filepath.Join(runtime.GOROOT(), "bin", "go"); !fileExists(goTool) {
			t.Skip("the go tool is not installed here: the docs' snippets cannot be compiled")
		}
	}
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var all []snippet
	for _, f := range append([]string{"README.md"}, docs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := extractSnippets(f, string(b))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ss...)
	}
	if len(all) == 0 {
		t.Fatal("no ```go block in README.md or docs/*.md: is the test in the module's root?")
	}

	// A directory inside the module whose name starts with "_", so that
	// ./... patterns never see it.
	dir, err := os.MkdirTemp(".", "_snippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	where := map[string]snippet{}
	for i, s := range all {
		if s.skip {
			t.Logf("%s: not compiled (marked so)", s)
			continue
		}
		name := fmt.Sprintf("s%02d", i)
		pdir := filepath.Join(dir, name)
		if err := os.Mkdir(pdir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pdir, "snippet.go"), []byte(s.goFile("snippet", filepath.Join(root, s.file))), 0o644); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, "./"+filepath.ToSlash(pdir))
		where[name] = s
	}
	start := time.Now()
	cmd := exec.Command(goTool, append([]string{"build", "-mod=readonly", "-o", os.DevNull}, pkgs...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		// The line directives name the documents; show the failing blocks
		// as compiled, too.
		msg := strings.ReplaceAll(out.String(), root+string(filepath.Separator), "")
		for name, s := range where {
			if pkg := filepath.ToSlash(filepath.Join(dir, name)); strings.Contains(msg, pkg+"\n") {
				msg = strings.ReplaceAll(msg, pkg+"\n", pkg+" ("+s.String()+")\n")
				src, _ := os.ReadFile(filepath.Join(dir, name, "snippet.go"))
				t.Logf("the block at %s, as compiled:\n%s", s, numbered(string(src)))
			}
		}
		t.Fatalf("the docs' Go snippets do not compile (%v):\n%s", err, msg)
	}
	t.Logf("compiled %d snippets in %v", len(pkgs), time.Since(start).Round(time.Millisecond))
}

func numbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(src, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
