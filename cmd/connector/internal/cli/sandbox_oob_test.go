package cli

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/simulator"
)

// TestSandboxOutOfBand is the out-of-band flow through the sandbox as a
// browser runs it: auth prints the URL; a client with a cookie jar gets the
// consent page, submits its form as the page's HTML says (its action
// resolved against the page, its method, its inputs, the Authorize
// button), follows the redirects, and must land on the page that shows the
// code (200), under the provider's path in the sandbox; the code pasted into
// auth completes it.
func TestSandboxOutOfBand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sout, serr := testio.Pair()
	sandboxDone := make(chan ExitCode, 1)
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	location := filepath.Join(t.TempDir(), "sandbox.db")
	go func() {
		code := Main(ctx, []string{"sandbox", "--callback", callback, "--store", location}, IO{Out: sout, Err: serr})
		sout.Close() // a WaitLine on its output fails now, not after its bound
		serr.Close()
		sandboxDone <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-sandboxDone:
		case <-time.After(testio.Wait):
			t.Error("the sandbox did not stop")
		}
	})
	for _, tc := range []struct{ name, account string }{
		{"jumpseller", "sandbox-store"},
		{"shopline", "5e1d2c3b4a5f6e7d8c9b0a12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testio.WaitLine(t, sout, tc.name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+tc.name+";") })
			dsn += "CallbackURL=" + driver.OOB + ";" // the last one wins

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
			authURL := testio.WaitLine(t, aerr, "authorization URL", func(l string) bool { return strings.Contains(l, "/"+tc.name+simulator.AuthorizePath+"?") })

			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, Timeout: testio.Wait}
			consentPage, err := browser.Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(consentPage.Body)
			consentPage.Body.Close()
			if consentPage.StatusCode != http.StatusOK {
				t.Fatalf("consent page: %s\n%s", consentPage.Status, page)
			}
			f := parseHTMLForm(t, string(page))
			resp, body := f.submit(t, browser, consentPage.Request.URL, "Authorize")

			wantPath := "/" + tc.name + simulator.NativePath
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != wantPath {
				t.Fatalf("after Authorize the browser is at %s with %s, want 200 at %s:\n%s", resp.Request.URL.Path, resp.Status, wantPath, body)
			}
			m := regexp.MustCompile(`<code id="authorization_code">([^<]+)</code>`).FindStringSubmatch(body)
			if m == nil || m[1] != resp.Request.URL.Query().Get("code") {
				t.Fatalf("the page does not show the code:\n%s", body)
			}

			fmt.Fprintln(pw, m[1])
			select {
			case code := <-authDone:
				if want := tc.name + ":" + tc.account + "\n"; code != ExitOK || aout.String() != want {
					t.Fatalf("auth exit %d, stdout %q; want 0 and %q; stderr:\n%s", code, aout, want, aerr)
				}
			case <-time.After(testio.Wait):
				t.Fatalf("auth did not finish; stderr:\n%s", aerr)
			}
		})
	}
}

// htmlForm is the one form of a page, as a browser reads it.
type htmlForm struct {
	action, method string
	fields         [][2]string // successful controls other than buttons: name, value
	buttons        [][3]string // submit buttons: name, value, label
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	buttonRE = regexp.MustCompile(`(?is)<button\b([^>]*)>(.*?)</button>`)
	attrRE   = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*"([^"]*)"`)
)

func htmlAttrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// parseHTMLForm returns the page's only form.
func parseHTMLForm(t *testing.T, page string) htmlForm {
	t.Helper()
	forms := formRE.FindAllStringSubmatch(page, -1)
	if len(forms) != 1 {
		t.Fatalf("the page has %d forms, want 1:\n%s", len(forms), page)
	}
	a := htmlAttrs(forms[0][1])
	f := htmlForm{action: a["action"], method: strings.ToUpper(a["method"])}
	if f.method == "" {
		f.method = http.MethodGet
	}
	for _, in := range inputRE.FindAllStringSubmatch(forms[0][2], -1) {
		a := htmlAttrs(in[1])
		switch strings.ToLower(a["type"]) {
		case "submit":
			f.buttons = append(f.buttons, [3]string{a["name"], a["value"], a["value"]})
		case "checkbox", "radio", "button", "reset", "image", "file":
		default:
			if a["name"] != "" {
				f.fields = append(f.fields, [2]string{a["name"], a["value"]})
			}
		}
	}
	for _, b := range buttonRE.FindAllStringSubmatch(forms[0][2], -1) {
		if a := htmlAttrs(b[1]); a["type"] == "" || strings.EqualFold(a["type"], "submit") {
			f.buttons = append(f.buttons, [3]string{a["name"], a["value"], strings.TrimSpace(b[2])})
		}
	}
	return f
}

// submit clicks the submit button labelled label: the form's fields and
// that button's name and value go to the action resolved against the
// page's URL, with the form's method. It returns the last response, after
// the redirects, and its body.
func (f htmlForm) submit(t *testing.T, client *http.Client, pageURL *url.URL, label string) (*http.Response, string) {
	t.Helper()
	values := url.Values{}
	for _, kv := range f.fields {
		values.Add(kv[0], kv[1])
	}
	clicked := false
	for _, b := range f.buttons {
		if b[2] == label {
			if b[0] != "" {
				values.Set(b[0], b[1])
			}
			clicked = true
		}
	}
	if !clicked {
		t.Fatalf("the form has no %q button: %+v", label, f.buttons)
	}
	action, err := url.Parse(f.action)
	if err != nil {
		t.Fatalf("form action %q: %v", f.action, err)
	}
	target := pageURL.ResolveReference(action)
	var resp *http.Response
	switch f.method {
	case http.MethodPost:
		resp, err = client.PostForm(target.String(), values)
	case http.MethodGet:
		target.RawQuery = values.Encode()
		resp, err = client.Get(target.String())
	default:
		t.Fatalf("form method %q", f.method)
	}
	if err != nil {
		t.Fatalf("submit the form to %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}
