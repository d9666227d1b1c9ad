package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector"
)

type callOptions struct {
	sel     selector
	data    string
	headers headerFlags
	flow    flowOptions
}

// headerFlags collects repeated --header "Name: value" flags.
type headerFlags [][2]string

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return errors.New(`a header is "Name: value"`)
	}
	if strings.EqualFold(name, "Authorization") {
		return errors.New("the Authorization header is set by the connector")
	}
	*h = append(*h, [2]string{name, strings.TrimSpace(value)})
	return nil
}

func callCommand() *command {
	o := &callOptions{}
	return &command{
		name:    "call",
		global:  dsnFlags,
		args:    "[--connection ID | --ref REF] METHOD PATH [--data BODY|@file|@-] [--header 'Name: value']",
		summary: "send an authenticated request to the provider's API and print the answer's body",
		examples: []string{
			"connector call GET store/info.json --dsn-file ~/.config/connector/jumpseller.dsn",
			"connector call GET /v1/token/info          # the same as: call GET token/info (base https://open.shopline.io/v1/)",
			"connector call POST products.json --data @product.json --header 'Idempotency-Key: 42'",
		},
		flags: func(fs *flag.FlagSet) {
			o.sel.register(fs)
			fs.StringVar(&o.data, "data", "", "the request `BODY` (JSON); @file reads a file, @- standard input")
			fs.Var(&o.headers, "header", "an extra request `HEADER`, \"Name: value\" (repeatable)")
			o.flow.register(fs)
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 2 {
				return usageErrorf("call needs METHOD and PATH (such as: call GET store/info.json), got %d arguments", len(args))
			}
			return runCall(ctx, e, o, strings.ToUpper(args[0]), args[1])
		},
	}
}

func runCall(ctx context.Context, e *env, o *callOptions, method, path string) error {
	body, err := o.body(e)
	if err != nil {
		return err
	}
	p, err := e.params(true)
	if err != nil {
		return err
	}
	if !canFlow(e, p) && !supplied(p) {
		if err := e.requireStore(ctx, p, "call", ExitReauth); err != nil {
			return err
		}
	}
	c, err := e.open(ctx, p)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := sameOrigin(c, path); err != nil {
		return err
	}
	conn, _, err := usableToken(ctx, e, c, p, o.sel, o.flow)
	if err != nil {
		return err
	}
	// Use a refreshed token only once it is stored (see flush).
	if err := flush(ctx, conn); err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// NewRequest resolves path against the API base as docs/cli.md says:
	// /v1/token/info against …/v1/ is token/info, not v1/v1/token/info.
	req, err := conn.NewRequest(ctx, method, path, rd)
	if err != nil {
		return err
	}
	for _, h := range o.headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := conn.Client().Do(req)
	if err != nil {
		if driver.CodeOf(err) != driver.Unknown {
			return err
		}
		return failf(err, "%s %s failed", method, path)
	}
	defer resp.Body.Close()
	w := &lastByteWriter{w: e.Out}
	_, cerr := io.Copy(w, resp.Body)
	if w.n > 0 && w.last != '\n' {
		fmt.Fprintln(e.Out)
	}
	// A 401 may have made the client refresh: make sure that token is stored.
	ferr := flush(ctx, conn)
	switch {
	case resp.StatusCode/100 != 2:
		return &exitError{code: ExitFailure, msg: fmt.Sprintf("%s %s: %s (%s)", method, path, resp.Status, redactURL(req.URL))}
	case cerr != nil:
		return failf(cerr, "%s %s: reading the answer failed", method, path)
	}
	return ferr
}

// body returns the --data body: nil without one.
func (o *callOptions) body(e *env) ([]byte, error) {
	switch {
	case o.data == "":
		return nil, nil
	case o.data == "@-":
		b, err := io.ReadAll(e.In)
		if err != nil {
			return nil, failf(err, "cannot read the body from standard input")
		}
		return b, nil
	case strings.HasPrefix(o.data, "@"):
		b, err := os.ReadFile(o.data[1:])
		if err != nil {
			return nil, &exitError{code: ExitUsage, msg: "cannot read --data file", err: err}
		}
		return b, nil
	}
	return []byte(o.data), nil
}

// sameOrigin refuses an absolute URL outside the API's origin: the access
// token goes only to the provider's API.
func sameOrigin(c *connector.Connector, path string) error {
	if !strings.Contains(path, "://") {
		return nil
	}
	base, berr := url.Parse(c.Spec().Endpoint.APIBaseURL)
	u, err := url.Parse(path)
	if err != nil || berr != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return usageErrorf("PATH must be relative to the API base URL or on its host %s: the access token is sent nowhere else", base.Host)
	}
	return nil
}

// lastByteWriter remembers the last byte written.
type lastByteWriter struct {
	w    io.Writer
	n    int64
	last byte
}

func (l *lastByteWriter) Write(b []byte) (int, error) {
	n, err := l.w.Write(b)
	if n > 0 {
		l.n += int64(n)
		l.last = b[n-1]
	}
	return n, err
}
