package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/conformance"
)

// This file drives a real, headless Chromium through `connector auth`
// against the sandbox, over the DevTools protocol, with a minimal WebSocket
// client (RFC 6455) instead of a dependency.

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
	conformance.Absent(t, "chromium is not installed (Debian: apt-get install chromium; .ci/run installs it): the real-browser test of connector auth needs it")
	return ""
}

// TestBrowserAuth: headless Chromium opens the URL `auth --no-browser`
// printed, clicks Authorize on the sandbox's consent page and lands on the
// CLI's callback page; the connection is stored.
func TestBrowserAuth(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()

	// The sandbox, with a callback port of our own.
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", freePort(t))
	location := filepath.Join(t.TempDir(), "browser.db")
	sout, serr := &syncBuffer{}, &syncBuffer{}
	sctx, stopSandbox := context.WithCancel(ctx)
	sandboxDone := make(chan ExitCode, 1)
	go func() {
		sandboxDone <- Main(sctx, []string{"sandbox", "--callback", callback, "--store", location}, IO{Out: sout, Err: serr})
	}()
	t.Cleanup(func() {
		stopSandbox()
		<-sandboxDone
	})

	browser := startChromium(ctx, t, bin)
	tab := browser.page(ctx, t)

	for _, tc := range []struct{ name, display, account string }{
		{"jumpseller", "Jumpseller", "sandbox-store"},
		{"shopline", "SHOPLINE", "5e1d2c3b4a5f6e7d8c9b0a12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := waitLine(t, sout, tc.name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+tc.name+";") })
			aout, aerr := &syncBuffer{}, &syncBuffer{}
			authDone := make(chan ExitCode, 1)
			go func() {
				authDone <- Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, IO{Out: aout, Err: aerr})
			}()
			authURL := waitLine(t, aerr, "authorization URL", func(l string) bool { return strings.Contains(l, "/"+tc.name+"/oauth/authorize?") })

			if err := tab.navigate(ctx, authURL); err != nil {
				t.Fatalf("navigate to the consent page: %v", err)
			}
			if text := tab.text(ctx, t); !strings.Contains(text, "Authorization required") || !strings.Contains(text, tc.account) {
				t.Fatalf("consent page text:\n%s", text)
			}
			tab.screenshot(ctx, t, tc.name+"-consent.png")

			resp, err := tab.clickAndWait(ctx, `document.querySelector('button[value="approve"]').click()`, callback)
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
			text := tab.text(ctx, t)
			if !strings.Contains(text, "Connected to "+tc.display) || !strings.Contains(text, tc.account) {
				t.Errorf("callback page text:\n%s", text)
			}
			if href := tab.eval(ctx, t, "location.href"); !strings.HasPrefix(href, callback+"?") {
				t.Errorf("the browser landed on %q, not the callback", href)
			}
			tab.screenshot(ctx, t, tc.name+"-callback.png")

			select {
			case code := <-authDone:
				if code != ExitOK {
					t.Fatalf("auth exit %d; stderr:\n%s", code, aerr)
				}
			case <-time.After(waitFor):
				t.Fatalf("auth did not finish; stderr:\n%s", aerr)
			}
			id := tc.name + ":" + tc.account
			if got := aout.String(); got != id+"\n" {
				t.Errorf("auth stdout = %q, want %q", got, id)
			}
			cout, cerr := &syncBuffer{}, &syncBuffer{}
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()

	location := filepath.Join(t.TempDir(), "browser-oob.db")
	sout, serr := &syncBuffer{}, &syncBuffer{}
	sctx, stopSandbox := context.WithCancel(ctx)
	sandboxDone := make(chan ExitCode, 1)
	go func() {
		sandboxDone <- Main(sctx, []string{"sandbox", "--callback", fmt.Sprintf("http://127.0.0.1:%d/callback", freePort(t)), "--store", location},
			IO{Out: sout, Err: serr})
	}()
	t.Cleanup(func() {
		stopSandbox()
		<-sandboxDone
	})

	browser := startChromium(ctx, t, bin)
	tab := browser.page(ctx, t)

	for _, tc := range []struct{ name, account string }{
		{"jumpseller", "sandbox-store"},
		{"shopline", "5e1d2c3b4a5f6e7d8c9b0a12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := waitLine(t, sout, tc.name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+tc.name+";") })
			dsn += "CallbackURL=urn:ietf:wg:oauth:2.0:oob;" // the last one wins
			pr, pw := io.Pipe()
			defer pw.Close()
			aout, aerr := &syncBuffer{}, &syncBuffer{}
			authDone := make(chan ExitCode, 1)
			go func() {
				authDone <- Main(ctx, []string{"auth", "--no-browser", "--timeout", "60s", "--dsn", dsn}, IO{In: pr, Out: aout, Err: aerr})
			}()
			authURL := waitLine(t, aerr, "authorization URL", func(l string) bool { return strings.Contains(l, "/"+tc.name+"/oauth/authorize?") })
			u, err := url.Parse(authURL)
			if err != nil {
				t.Fatal(err)
			}
			native := u.Scheme + "://" + u.Host + "/" + tc.name + "/oauth/authorize/native?"

			if err := tab.navigate(ctx, authURL); err != nil {
				t.Fatalf("navigate to the consent page: %v", err)
			}
			resp, err := tab.clickAndWait(ctx, `document.querySelector('button[value="approve"]').click()`, native)
			if err != nil {
				t.Fatalf("click Authorize: %v (the browser is at %s)", err, tab.eval(ctx, t, "location.href"))
			}
			if resp.Status != http.StatusOK {
				t.Errorf("code page status %d", resp.Status)
			}
			tab.screenshot(ctx, t, tc.name+"-oob-code.png")
			code := tab.eval(ctx, t, `(document.getElementById("authorization_code") || {}).textContent || ""`)
			if code == "" {
				t.Fatalf("no code on the page:\n%s", tab.text(ctx, t))
			}
			fmt.Fprintln(pw, code)
			select {
			case exit := <-authDone:
				if want := tc.name + ":" + tc.account + "\n"; exit != ExitOK || aout.String() != want {
					t.Fatalf("auth exit %d, stdout %q; want 0 and %q; stderr:\n%s", exit, aout, want, aerr)
				}
			case <-time.After(waitFor):
				t.Fatalf("auth did not finish; stderr:\n%s", aerr)
			}
		})
	}
}

// browser is a running headless Chromium.
type browser struct {
	devtools string // http://127.0.0.1:port
}

func startChromium(ctx context.Context, t *testing.T, bin string) *browser {
	t.Helper()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--user-data-dir="+profile,
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
		"--window-size=900,700", "about:blank")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Registered after TempDir: runs first, so the profile is not in use
	// when it is removed.
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := waitLine(t, stderr, "DevTools address", func(l string) bool { return strings.Contains(l, "DevTools listening on ws://") })
	ws := line[strings.Index(line, "ws://"):]
	u, err := url.Parse(strings.TrimSpace(ws))
	if err != nil {
		t.Fatalf("DevTools address %q: %v", ws, err)
	}
	return &browser{devtools: "http://" + u.Host}
}

// page connects to the browser's first tab.
func (b *browser) page(ctx context.Context, t *testing.T) *tab {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		var targets []struct {
			Type string `json:"type"`
			WS   string `json:"webSocketDebuggerUrl"`
		}
		resp, err := http.Get(b.devtools + "/json/list")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		for _, tg := range targets {
			if tg.Type == "page" && tg.WS != "" {
				ws, err := dialWebSocket(ctx, tg.WS)
				if err != nil {
					t.Fatalf("DevTools WebSocket: %v", err)
				}
				c := newCDP(ws)
				t.Cleanup(c.close)
				tb := &tab{cdp: c}
				for _, m := range []string{"Page.enable", "Network.enable", "Runtime.enable"} {
					if _, err := c.call(ctx, m, nil); err != nil {
						t.Fatalf("%s: %v", m, err)
					}
				}
				return tb
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("chromium has no page target")
	return nil
}

// tab is one page driven over the DevTools protocol.
type tab struct {
	cdp *cdp
}

func (tb *tab) navigate(ctx context.Context, u string) error {
	if _, err := tb.cdp.call(ctx, "Page.navigate", map[string]any{"url": u}); err != nil {
		return err
	}
	_, err := tb.cdp.waitEvent(ctx, "Page.loadEventFired", nil)
	return err
}

// documentResponse is the answer to a top-level navigation.
type documentResponse struct {
	URL     string            `json:"url"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
}

func (r *documentResponse) header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// clickAndWait runs script (a click that navigates) and waits for the
// document whose URL starts with prefix to load, returning its response.
func (tb *tab) clickAndWait(ctx context.Context, script, prefix string) (*documentResponse, error) {
	if _, err := tb.cdp.call(ctx, "Runtime.evaluate", map[string]any{"expression": script}); err != nil {
		return nil, err
	}
	var resp documentResponse
	_, err := tb.cdp.waitEvent(ctx, "Network.responseReceived", func(p json.RawMessage) bool {
		var ev struct {
			Type     string           `json:"type"`
			Response documentResponse `json:"response"`
		}
		if json.Unmarshal(p, &ev) != nil || ev.Type != "Document" || !strings.HasPrefix(ev.Response.URL, prefix) {
			return false
		}
		resp = ev.Response
		return true
	})
	if err != nil {
		return nil, err
	}
	if _, err := tb.cdp.waitEvent(ctx, "Page.loadEventFired", nil); err != nil {
		return nil, err
	}
	return &resp, nil
}

// eval returns the string value of a JavaScript expression.
func (tb *tab) eval(ctx context.Context, t *testing.T, expr string) string {
	t.Helper()
	raw, err := tb.cdp.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	s, _ := r.Result.Value.(string)
	return s
}

func (tb *tab) text(ctx context.Context, t *testing.T) string {
	t.Helper()
	return tb.eval(ctx, t, "document.body ? document.body.innerText : ''")
}

// screenshot saves a PNG of the page in $CONNECTOR_SCREENSHOT_DIR, if set.
func (tb *tab) screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("CONNECTOR_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	raw, err := tb.cdp.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	var r struct {
		Data []byte `json:"data"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), r.Data, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

// cdp is a DevTools protocol session: numbered calls and a queue of events.
type cdp struct {
	ws      *webSocket
	mu      sync.Mutex
	next    int
	pending map[int]chan cdpMessage
	events  chan cdpMessage
	done    chan struct{}
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func newCDP(ws *webSocket) *cdp {
	c := &cdp{ws: ws, pending: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 4096), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *cdp) loop() {
	defer close(c.done)
	for {
		b, err := c.ws.read()
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case c.events <- m:
		default: // a test that ignores events must not stall the session
		}
	}
}

func (c *cdp) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	if err := c.ws.write(b); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, errors.New(method + ": " + m.Error.Message)
		}
		return m.Result, nil
	case <-c.done:
		return nil, errors.New(method + ": the DevTools connection closed")
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// waitEvent discards events until one named method (and matching match, if
// given) arrives.
func (c *cdp) waitEvent(ctx context.Context, method string, match func(json.RawMessage) bool) (json.RawMessage, error) {
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	for {
		select {
		case m := <-c.events:
			if m.Method == method && (match == nil || match(m.Params)) {
				return m.Params, nil
			}
		case <-c.done:
			return nil, errors.New("the DevTools connection closed while waiting for " + method)
		case <-timeout.C:
			return nil, fmt.Errorf("no %s within %s", method, waitFor)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *cdp) close() {
	c.ws.conn.Close()
	<-c.done
}

// webSocket is the client side of RFC 6455, enough for DevTools: text
// frames out (masked), text and continuation frames in, pings answered.
type webSocket struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex
}

func dialWebSocket(ctx context.Context, raw string) (*webSocket, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, key)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake refused: %s", resp.Status)
	}
	return &webSocket{conn: conn, r: r}, nil
}

func (w *webSocket) write(payload []byte) error {
	return w.writeFrame(0x1, payload)
}

func (w *webSocket) writeFrame(opcode byte, payload []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	hdr := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	_, err := w.conn.Write(append(hdr, masked...))
	return err
}

// read returns the next whole text or binary message.
func (w *webSocket) read() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			return nil, err
		}
		fin, opcode := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		var mask []byte
		if h[1]&0x80 != 0 {
			mask = make([]byte, 4)
			if _, err := io.ReadFull(w.r, mask); err != nil {
				return nil, err
			}
		}
		if n > 64<<20 {
			return nil, errors.New("websocket frame too large")
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(w.r, payload); err != nil {
			return nil, err
		}
		for i := range payload {
			if mask != nil {
				payload[i] ^= mask[i%4]
			}
		}
		switch opcode {
		case 0x8: // close
			return nil, io.EOF
		case 0x9: // ping
			if err := w.writeFrame(0xA, payload); err != nil {
				return nil, err
			}
			continue
		case 0xA: // pong
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}
