package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/simulator"
)

// progressText is the progress line of refresh --due, without the
// "\r\x1b[K" that precedes each drawing of it.
var progressText = regexp.MustCompile(`^refreshing jumpseller connections due within 30m: \d+/\d+ \(refreshed \d+, failed \d+, skipped \d+\)$`)

// wholeLine is a line of standard error other than the progress line: a
// trace or log line of --verbose, a failure or the summary.
var wholeLine = regexp.MustCompile(`^connector: (trace|log|jumpseller|jumpseller:store-\d\d): [^\r\x1b]*$`)

// checkLines checks the line structure of a sweep's standard error as a
// terminal shows it: each line ("\n") is progress drawings ("\r\x1b[K" and
// the progress text) ending with one whole line, which nothing precedes
// on its terminal line but a cleared progress line. It returns how many
// lines came after a drawn progress line, which the terminal case needs
// to have seen for its check to mean anything.
func checkLines(t *testing.T, stderr string) (afterProgress int) {
	t.Helper()
	lines := strings.Split(stderr, "\n")
	if last := lines[len(lines)-1]; last != "" {
		t.Errorf("standard error ends without a newline, in %q", last)
	}
	for i, line := range lines[:len(lines)-1] {
		segs := strings.Split(line, "\r\x1b[K")
		drawn := false
		for _, seg := range segs[:len(segs)-1] {
			switch {
			case seg == "":
			case progressText.MatchString(seg):
				drawn = true
			default:
				t.Errorf("line %d: %q is neither the progress line nor cleared at once:\n%q", i, seg, line)
			}
		}
		last := segs[len(segs)-1]
		if !wholeLine.MatchString(last) || strings.Contains(last, "refreshing ") {
			t.Errorf("line %d: %q is not a whole line (verbose, failure or summary):\n%q", i, last, line)
		}
		if drawn {
			afterProgress++
		}
	}
	return afterProgress
}

// TestRefreshDueProgressVerbose: refresh --due --verbose with the progress
// line on (a terminal) never glues a trace line to the progress line, nor
// the progress line into a trace line: the progress line is cleared before
// each line and redrawn after it. Without a terminal no escape sequence is
// written at all. Six connections are due, refreshed three at a time; each
// token request is answered 150 ms late (more than the progress line's
// 100 ms), one of them with invalid_grant, so that trace lines come while
// a progress line is drawn, and a failure line is printed too.
func TestRefreshDueProgressVerbose(t *testing.T) {
	t.Parallel()
	const n = 6
	app := newSimApp(t, "jumpseller")
	for _, tt := range []struct {
		name     string
		progress bool
	}{
		{"terminal", true},
		{"pipe", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dsn := app.dsn("memory://cli-progress-" + randomSecret())
			dueConnections(t, app, dsn, n)
			app.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: 150 * time.Millisecond, Status: 400, Body: `{"error":"invalid_grant"}`})
			app.sim.InjectFault(simulator.Fault{Grant: "refresh_token", Delay: 150 * time.Millisecond, Times: n - 1})

			out, errb := testio.Pair()
			sys := IO{Out: out, Err: errb, Env: func(string) string { return "" }, Progress: tt.progress}
			ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
			defer cancel()
			code := Main(ctx, []string{"refresh", "--due", "30m", "--concurrency", "3", "--verbose", "--dsn", dsn}, sys)
			stderr := errb.String()
			if code != ExitReauth || len(strings.Fields(out.String())) != n-1 {
				t.Errorf("exit %d, stdout %q; want %d and %d ids", code, out.String(), ExitReauth, n-1)
			}
			const summary = "connector: jumpseller: 6 due within 30m: refreshed 5, failed 1 (reauth_required 1), skipped 0"
			if !slices.ContainsFunc(strings.Split(stderr, "\n"), func(l string) bool {
				return strings.HasPrefix(strings.TrimPrefix(l, "\r\x1b[K"), summary)
			}) {
				t.Errorf("no line starts with the summary %q", summary)
			}
			afterProgress := checkLines(t, stderr)
			if tt.progress && afterProgress == 0 {
				t.Errorf("no line came while the progress line was drawn: the check above checked nothing")
			}
			if !tt.progress && strings.Contains(stderr, "\x1b") {
				t.Errorf("an escape sequence without a terminal")
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("standard error:\n%q", strings.SplitAfter(stderr, "\n"))
			}
		})
	}
}

// dueConnections stores n connections (jumpseller:store-00, …) in the
// store of dsn, each its own grant from app's simulator, obtained with
// both clocks set back by the access token's lifetime and an hour: each
// access token expired an hour ago, its refresh token (Jumpseller's do not
// expire) still works. It returns their ids, and leaves no connector open
// on the store.
func dueConnections(t *testing.T, app *simApp, dsn string, n int) []string {
	t.Helper()
	back := app.sim.Config().AccessTTL + time.Hour
	past := func() time.Time { return time.Now().Add(-back) }
	app.sim.SetClock(past)
	defer app.sim.SetClock(nil)
	ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
	defer cancel()
	open := func(dsn string) *connector.Connector {
		c, err := connector.Open(ctx, dsn, func(o *connector.Options) { o.Clock = past })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	issuer := open(app.dsn("memory://due-issuer-" + randomSecret()))
	defer issuer.Close()
	c := open(dsn)
	defer c.Close()
	var ids []string
	for i := range n {
		u, err := issuer.AuthCodeURL(nil)
		if err != nil {
			t.Fatal(err)
		}
		redirect, err := app.sim.Approve(u)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := issuer.HandleCallback(ctx, redirect.Query())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := conn.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tok = tok.Clone()
		tok.AccountID = fmt.Sprintf("store-%02d", i)
		stored, err := c.Import(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if exp := stored.Info().Expiry; !exp.Before(time.Now()) {
			t.Fatalf("the stored token expires at %s, not in the past", exp)
		}
		ids = append(ids, stored.ID())
	}
	return ids
}

// TestStatusLine: lines alone are written as they are; a status line on
// screen is cleared before each line and drawn again after it, and clear
// erases it once (and writes nothing when none is drawn).
func TestStatusLine(t *testing.T) {
	type step func(s *statusLine, w io.Writer)
	line := func(l string) step { return func(s *statusLine, w io.Writer) { s.println(w, l) } }
	draw := func(l string) step { return func(s *statusLine, w io.Writer) { s.draw(w, l) } }
	clear := func(s *statusLine, w io.Writer) { s.clear(w) }
	for _, tt := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"lines alone", []step{line("a"), line("b")}, "a\nb\n"},
		{"clear with nothing drawn", []step{clear, line("a"), clear}, "a\n"},
		{"redrawn in place", []step{draw("1/2"), draw("2/2")}, "\r\x1b[K1/2\r\x1b[K2/2"},
		{"a line below the status line", []step{draw("1/2"), line("a"), line("b")},
			"\r\x1b[K1/2" + "\r\x1b[Ka\n\r\x1b[K1/2" + "\r\x1b[Kb\n\r\x1b[K1/2"},
		{"cleared before the summary", []step{draw("2/2"), clear, line("summary"), clear},
			"\r\x1b[K2/2" + "\r\x1b[K" + "summary\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			var s statusLine
			for _, st := range tt.steps {
				st(&s, &b)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStatusLineConcurrent: lines written from many goroutines while
// another draws the status line never share a terminal line with it. The
// status line is drawn before they start, so that each line comes while
// it is on screen.
func TestStatusLineConcurrent(t *testing.T) {
	const writers, lines, draws = 8, 50, 200
	var b testio.Buffer
	var s statusLine
	s.draw(&b, "refreshing jumpseller connections due within 30m: 0/200 (refreshed 0, failed 0, skipped 0)")
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range lines {
				s.println(&b, fmt.Sprintf("connector: trace: writer %d line %d", i, j))
			}
		})
	}
	wg.Go(func() {
		for i := range draws {
			s.draw(&b, fmt.Sprintf("refreshing jumpseller connections due within 30m: %d/%d (refreshed %d, failed 0, skipped 0)", i+1, draws, i+1))
		}
	})
	wg.Wait()
	s.clear(&b)
	s.println(&b, "connector: jumpseller: 200 due within 30m: refreshed 200, failed 0, skipped 0")
	// Each trace line and the summary follow a cleared progress line.
	if got := checkLines(t, b.String()); got != writers*lines+1 {
		t.Errorf("%d lines after the progress line, want %d", got, writers*lines+1)
	}
	if got := strings.Count(b.String(), "connector: trace: "); got != writers*lines {
		t.Errorf("%d trace lines, want %d", got, writers*lines)
	}
}
