package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/internal/testio"
)

// This file drives a real, headless Chromium through `connector auth`
// against the sandbox, over the DevTools protocol, with chromedp.

// chromium returns the path of Debian's chromium. It skips the test where
// Chromium is absent, except in CI (CI=true), where .ci/run installs it and
// its absence is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Absent(t, "Chromium", "chromium is not installed (Debian: apt-get install chromium; .ci/run installs it): the real-browser test of connector auth needs it")
	return ""
}

// TestBrowserAuth: headless Chromium opens the URL `auth --no-browser`
// printed, clicks Authorize on the sandbox's consent page and lands on the
// CLI's callback page; the connection is stored.
func TestBrowserAuth(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*testio.Wait)
	defer cancel()

	// The sandbox, with a callback port of our own.
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	location := filepath.Join(t.TempDir(), "browser.db")
	sout, serr := testio.Pair()
	sctx, stopSandbox := context.WithCancel(ctx)
	sandboxDone := make(chan ExitCode, 1)
	go func() {
		code := Main(sctx, []string{"sandbox", "--callback", callback, "--store", location}, IO{Out: sout, Err: serr})
		sout.Close() // a WaitLine on its output fails now, not after its bound
		serr.Close()
		sandboxDone <- code
	}()
	t.Cleanup(func() {
		stopSandbox()
		<-sandboxDone
	})

	tab := startChromium(ctx, t, bin)

	for _, tc := range []struct{ name, display, account string }{
		{"jumpseller", "Jumpseller", "sandbox-store"},
		{"shopline", "SHOPLINE", "5e1d2c3b4a5f6e7d8c9b0a12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testio.WaitLine(t, sout, tc.name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+tc.name+";") })
			aout, aerr := testio.Pair()
			authDone := make(chan ExitCode, 1)
			go func() {
				code := Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, IO{Out: aout, Err: aerr})
				aout.Close() // a WaitLine on its output fails now, not after its bound
				aerr.Close()
				authDone <- code
			}()
			authURL := testio.WaitLine(t, aerr, "authorization URL", func(l string) bool { return strings.Contains(l, "/"+tc.name+"/oauth/authorize?") })

			if err := tab.navigate(authURL); err != nil {
				t.Fatalf("navigate to the consent page: %v", err)
			}
			if text := tab.text(t); !strings.Contains(text, "Authorization required") || !strings.Contains(text, tc.account) {
				t.Fatalf("consent page text:\n%s", text)
			}
			tab.screenshot(t, tc.name+"-consent.png")

			resp, err := tab.clickAndWait(`document.querySelector('button[value="approve"]').click()`, callback)
			if err != nil {
				t.Fatalf("click Authorize: %v", err)
			}
			if resp.Status != http.StatusOK {
				t.Errorf("callback page status %d", resp.Status)
			}
			if got := resp.header("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("callback page Referrer-Policy = %q", got)
			}
			if got := resp.header("Content-Security-Policy"); got != "default-src 'none'; style-src 'unsafe-inline'" {
				t.Errorf("callback page Content-Security-Policy = %q", got)
			}
			text := tab.text(t)
			if !strings.Contains(text, "Connected to "+tc.display) || !strings.Contains(text, tc.account) {
				t.Errorf("callback page text:\n%s", text)
			}
			if href := tab.eval(t, "location.href"); !strings.HasPrefix(href, callback+"?") {
				t.Errorf("the browser landed on %q, not the callback", href)
			}
			tab.screenshot(t, tc.name+"-callback.png")

			select {
			case code := <-authDone:
				if code != ExitOK {
					t.Fatalf("auth exit %d; stderr:\n%s", code, aerr)
				}
			case <-time.After(testio.Wait):
				t.Fatalf("auth did not finish; stderr:\n%s", aerr)
			}
			id := tc.name + ":" + tc.account
			if got := aout.String(); got != id+"\n" {
				t.Errorf("auth stdout = %q, want %q", got, id)
			}
			cout, cerr := testio.Pair()
			if code := Main(ctx, []string{"connections", "--dsn", dsn}, IO{Out: cout, Err: cerr}); code != ExitOK {
				t.Fatalf("connections exit %d: %s", code, cerr)
			}
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+` + tc.name + `\s+` + tc.account + `\s.*\sactive$`).MatchString(cout.String()) {
				t.Errorf("the stored connection is not listed as active:\n%s", cout)
			}
		})
	}
}

// TestBrowserOutOfBand: with the out-of-band redirect URI, headless
// Chromium clicks Authorize on the sandbox's consent page and lands on the
// page that shows the code, under the provider's path in the sandbox; the
// code read off that page and pasted into `auth` completes it.
func TestBrowserOutOfBand(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*testio.Wait)
	defer cancel()

	location := filepath.Join(t.TempDir(), "browser-oob.db")
	sout, serr := testio.Pair()
	sctx, stopSandbox := context.WithCancel(ctx)
	sandboxDone := make(chan ExitCode, 1)
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t)) // here: FreePort may end the test, which only its goroutine may
	go func() {
		code := Main(sctx, []string{"sandbox", "--callback", callback, "--store", location},
			IO{Out: sout, Err: serr})
		sout.Close() // a WaitLine on its output fails now, not after its bound
		serr.Close()
		sandboxDone <- code
	}()
	t.Cleanup(func() {
		stopSandbox()
		<-sandboxDone
	})

	tab := startChromium(ctx, t, bin)

	for _, tc := range []struct{ name, account string }{
		{"jumpseller", "sandbox-store"},
		{"shopline", "5e1d2c3b4a5f6e7d8c9b0a12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testio.WaitLine(t, sout, tc.name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+tc.name+";") })
			dsn += "CallbackURL=urn:ietf:wg:oauth:2.0:oob;" // the last one wins
			pr, pw := io.Pipe()
			defer pw.Close()
			aout, aerr := testio.Pair()
			authDone := make(chan ExitCode, 1)
			go func() {
				code := Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, IO{In: pr, Out: aout, Err: aerr})
				aout.Close() // a WaitLine on its output fails now, not after its bound
				aerr.Close()
				authDone <- code
			}()
			authURL := testio.WaitLine(t, aerr, "authorization URL", func(l string) bool { return strings.Contains(l, "/"+tc.name+"/oauth/authorize?") })
			u, err := url.Parse(authURL)
			if err != nil {
				t.Fatal(err)
			}
			native := u.Scheme + "://" + u.Host + "/" + tc.name + "/oauth/authorize/native?"

			if err := tab.navigate(authURL); err != nil {
				t.Fatalf("navigate to the consent page: %v", err)
			}
			resp, err := tab.clickAndWait(`document.querySelector('button[value="approve"]').click()`, native)
			if err != nil {
				t.Fatalf("click Authorize: %v (the browser is at %s)", err, tab.eval(t, "location.href"))
			}
			if resp.Status != http.StatusOK {
				t.Errorf("code page status %d", resp.Status)
			}
			tab.screenshot(t, tc.name+"-oob-code.png")
			code := tab.eval(t, `(document.getElementById("authorization_code") || {}).textContent || ""`)
			if code == "" {
				t.Fatalf("no code on the page:\n%s", tab.text(t))
			}
			fmt.Fprintln(pw, code)
			select {
			case exit := <-authDone:
				if want := tc.name + ":" + tc.account + "\n"; exit != ExitOK || aout.String() != want {
					t.Fatalf("auth exit %d, stdout %q; want 0 and %q; stderr:\n%s", exit, aout, want, aerr)
				}
			case <-time.After(testio.Wait):
				t.Fatalf("auth did not finish; stderr:\n%s", aerr)
			}
		})
	}
}

// tab is the one page of a headless Chromium, driven with chromedp.
type tab struct {
	ctx context.Context // chromedp's, for the page
}

// startChromium starts bin headless with a fresh profile; it stops when the
// test ends, or when ctx does.
func startChromium(ctx context.Context, t *testing.T, bin string) *tab {
	t.Helper()
	logs := &testio.Buffer{}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(900, 700),
		chromedp.CombinedOutput(logs))
	logf := func(format string, args ...any) { fmt.Fprintf(logs, format+"\n", args...) }
	tctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	// Registered after TempDir: runs first, so the profile is not in use
	// when it is removed.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium and chromedp said:\n%s", logs)
		}
	})
	// The first Run starts the browser, for as long as ctx lives.
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start chromium: %v\n%s", err, logs)
	}
	return &tab{ctx: tctx}
}

// within returns tb's context, bounded by testio.Wait.
func (tb *tab) within() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, testio.Wait)
}

// navigate loads u and waits for its load event.
func (tb *tab) navigate(u string) error {
	ctx, cancel := tb.within()
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(u))
}

// documentResponse is the answer to a top-level navigation.
type documentResponse struct {
	URL     string
	Status  int
	Headers network.Headers
}

func (r *documentResponse) header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// clickAndWait runs script (a click that navigates), waits for the page it
// leads to (after any redirects) to load, and returns that document's
// response, which must be for a URL that starts with prefix.
func (tb *tab) clickAndWait(script, prefix string) (*documentResponse, error) {
	ctx, cancel := tb.within()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](script)(ctx, t)
		return err
	}))
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(resp.URL, prefix) {
		return nil, fmt.Errorf("the click led to %s, not %s…", resp.URL, prefix)
	}
	return &documentResponse{URL: resp.URL, Status: int(resp.Status), Headers: resp.Headers}, nil
}

// eval returns the string value of a JavaScript expression ("" for another
// type).
func (tb *tab) eval(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := tb.within()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	s, _ := v.(string)
	return s
}

func (tb *tab) text(t *testing.T) string {
	t.Helper()
	return tb.eval(t, "document.body ? document.body.innerText : ''")
}

// screenshot saves a PNG of the page in $CONNECTOR_SCREENSHOT_DIR, if set.
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("CONNECTOR_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	ctx, cancel := tb.within()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}
