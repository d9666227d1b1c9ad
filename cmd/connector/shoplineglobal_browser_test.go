package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/connector-go/connector/cmd/connector/internal/cli"
	"github.com/connector-go/connector/internal/testio"
	"github.com/connector-go/connector/providers/shoplineglobal"
)

// TestShoplineGlobalBrowser: headless Chromium opens the URL `connector
// auth` printed. The simulator's SHOPLINE page runs its script on the
// fragment, which never reaches a server, and opens the consent form; a
// click on Authorize sends the browser to the CLI's callback with
// SHOPLINE's signed parameters, and the connection is stored.
func TestShoplineGlobalBrowser(t *testing.T) {
	var bin string
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		msg := "chromium is not installed (Debian: apt-get install chromium): the real-browser test of SHOPLINE's page needs it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg) // CI installs it
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*testio.Wait)
	defer cancel()

	sim := shoplineglobal.NewSimulator("open001")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	sim.AddClient(sgAppKey, sgAppSecret, callback)
	ep := sim.Endpoint(srv.URL)
	dsn := strings.Join([]string{
		"Provider=shoplineglobal", "OAuthClientId=" + sgAppKey, "OAuthClientSecret=" + sgAppSecret, "CallbackURL=" + callback,
		"Scope=read_store_information", "OAuthAuthorizationURL=" + ep.AuthURL, "OAuthAccessTokenURL=" + ep.TokenURL,
		"OAuthRefreshTokenURL=" + ep.RefreshURL, "URL=" + ep.APIBaseURL,
		fmt.Sprintf("OAuthSettingsLocation=memory://shoplineglobal-browser-%d", time.Now().UnixNano()),
	}, ";")
	out, errb := testio.Pair()
	done := make(chan cli.ExitCode, 1)
	go func() {
		code := cli.Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, cli.IO{Out: out, Err: errb})
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- code
	}()
	authURL := testio.WaitLine(t, errb, "authorization URL", func(l string) bool { return strings.HasPrefix(l, ep.AuthURL+"#/oauth/authorize?") })

	logs := &bytes.Buffer{}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.CombinedOutput(logs))
	tctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium said:\n%s", logs)
		}
	})
	if err := chromedp.Do(tctx, chromedp.Navigate(authURL)); err != nil {
		t.Fatalf("navigate to SHOPLINE's page: %v", err)
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[any](expr))
		if err != nil {
			return ""
		}
		s, _ := v.(string)
		return s
	}
	// The page's script opens the consent form.
	deadline := time.Now().Add(testio.Wait)
	for eval(`document.querySelector('button[value="approve"]') ? "form" : ""`) != "form" {
		if time.Now().After(deadline) {
			t.Fatalf("no consent form after the page's script ran; the browser is at %s:\n%s", eval("location.href"), eval("document.body.innerText"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if href := eval("location.href"); !strings.HasPrefix(href, srv.URL+"/admin/oauth-web/consent?appKey=") {
		t.Errorf("the page's script opened %s", href)
	}
	resp, err := chromedp.RunResponse(tctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](`document.querySelector('button[value="approve"]').click()`)(ctx, tg)
		return err
	}))
	if err != nil {
		t.Fatalf("click Authorize: %v", err)
	}
	if !strings.HasPrefix(resp.URL, callback+"?") || resp.Status != 200 {
		t.Errorf("the click led to %s (%d), want the callback", resp.URL, resp.Status)
	}
	for _, p := range []string{"customField=", "sign=", "handle=open001", "appkey=" + sgAppKey} {
		if !strings.Contains(resp.URL, p) {
			t.Errorf("the callback lacks %s: %s", p, resp.URL)
		}
	}
	if text := eval("document.body.innerText"); !strings.Contains(text, "Connected to SHOPLINE") {
		t.Errorf("callback page text:\n%s", text)
	}
	select {
	case code := <-done:
		if code != cli.ExitOK || out.String() != "shoplineglobal:open001\n" {
			t.Errorf("auth: exit %d, stdout %q; stderr:\n%s", code, out, errb)
		}
	case <-time.After(testio.Wait):
		t.Fatalf("auth did not finish; stderr:\n%s", errb)
	}
}
