package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/internal/testio"
)

type vwRT func(*http.Request) (*http.Response, error)

func (f vwRT) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type vwRWC struct{ io.Reader }

func (vwRWC) Write(p []byte) (int, error) { return len(p), nil }
func (vwRWC) Close() error                { return nil }

// TestVerboseWrapChain: verbose composes with a WrapTransport already
// set (verbose outermost, the program's below it, both called), leaves
// bodies as they are (a 101's writable body, http.NoBody), shows no query
// value or url.Error URL, and is safe across goroutines.
func TestVerboseWrapChain(t *testing.T) {
	_, errb := testio.Pair()
	e := &env{IO: IO{Err: errb}}
	e.tracer = newVerboseTracer(e)
	const secret = "s3cr3t-value-vw"

	var userCalls sync.WaitGroup
	var mu sync.Mutex
	userSaw := 0
	base := vwRT(func(r *http.Request) (*http.Response, error) {
		switch r.URL.Path {
		case "/upgrade":
			return &http.Response{StatusCode: 101, Status: "101 Switching Protocols", Body: vwRWC{strings.NewReader("")}}, nil
		case "/empty":
			return &http.Response{StatusCode: 204, Status: "204 No Content", Body: http.NoBody}, nil
		case "/fail":
			return nil, &url.Error{Op: "Post", URL: r.URL.String(), Err: errors.New("boom")}
		}
		return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(bytes.NewReader([]byte(secret)))}, nil
	})
	o := connector.Options{WrapTransport: func(b http.RoundTripper) http.RoundTripper {
		return vwRT(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			userSaw++
			mu.Unlock()
			return b.RoundTrip(r)
		})
	}}
	e.tracer.options(&o)
	rt := o.WrapTransport(base)
	vt, ok := rt.(*verboseTransport)
	if !ok {
		t.Fatalf("outermost is %T", rt)
	}
	_ = vt

	do := func(method, u string) (*http.Response, error) {
		req, _ := http.NewRequest(method, u, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		return rt.RoundTrip(req)
	}
	resp, err := do("GET", "https://api.example/upgrade?access_token="+secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Body.(io.Writer); !ok {
		t.Errorf("101 body lost io.Writer: %T", resp.Body)
	}
	resp, _ = do("GET", "https://api.example/empty")
	if resp.Body != http.NoBody {
		t.Errorf("NoBody replaced: %T", resp.Body)
	}
	if _, err := do("POST", "https://api.example/fail?code="+secret); err == nil {
		t.Errorf("no error")
	}
	const n = 64
	for i := 0; i < n; i++ {
		userCalls.Add(1)
		go func() {
			defer userCalls.Done()
			resp, err := do("GET", fmt.Sprintf("https://api.example/x/%d?token=%s", i, secret))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			if string(b) != secret {
				t.Errorf("body changed: %q", b)
			}
		}()
	}
	userCalls.Wait()
	if userSaw != n+3 {
		t.Errorf("the program's WrapTransport saw %d requests, want %d", userSaw, n+3)
	}
	out := errb.String()
	if strings.Contains(out, secret) {
		t.Errorf("trace shows the secret:\n%s", out)
	}
	if got := strings.Count(out, "connector: trace: http "); got != n+3 {
		t.Errorf("%d trace lines, want %d:\n%s", got, n+3, out)
	}
	for _, want := range []string{"http GET https://api.example/upgrade?access_token=…: 101 Switching Protocols (",
		"http POST https://api.example/fail?code=…: boom ("} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	if testing.Verbose() {
		t.Log(out)
	}
}
