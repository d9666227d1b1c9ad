package main

// Issue 14's "Done when", with the drivers this package links, as the
// connector binary does: demo and sandbox serve every provider that
// `connector providers` lists.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/cmd/connector/internal/cli"
	"github.com/connector-go/connector/internal/testio"
)

// listedProviders returns the names `connector providers -o json` lists.
func listedProviders(t *testing.T) []string {
	t.Helper()
	out, errb := testio.Pair()
	if code := cli.Main(context.Background(), []string{"providers", "-o", "json"}, cli.IO{Out: out, Err: errb}); code != cli.ExitOK {
		t.Fatalf("providers: exit %d: %s", code, errb)
	}
	var list []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(out.String()), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		t.Fatal("providers lists none")
	}
	return names
}

// TestDemoEveryListedProvider: `demo --provider NAME` runs the whole
// lifecycle offline for every provider `connector providers` lists, Go
// drivers (shoplineglobal among them) and profiles alike.
func TestDemoEveryListedProvider(t *testing.T) {
	for _, name := range listedProviders(t) {
		t.Run(name, func(t *testing.T) {
			out, errb := testio.Pair()
			ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
			defer cancel()
			code := cli.Main(ctx, []string{"demo", "--provider", name}, cli.IO{Out: out, Err: errb})
			if code != cli.ExitOK {
				t.Fatalf("demo --provider %s: exit %d\nstdout:\n%s\nstderr:\n%s", name, code, out, errb)
			}
			for _, want := range []string{"API call with the access token: GET ", "reauth_required", "Done:"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("demo --provider %s output lacks %q:\n%s", name, want, out)
				}
			}
		})
	}
}

// TestSandboxEveryListedProvider: `connector sandbox` prints a connection
// string for every provider `connector providers` lists.
func TestSandboxEveryListedProvider(t *testing.T) {
	names := listedProviders(t)
	out, errb := testio.Pair()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan cli.ExitCode, 1)
	callback := fmt.Sprintf("http://127.0.0.1:%d/callback", testio.FreePort(t))
	go func() {
		code := cli.Main(ctx, []string{"sandbox", "--callback", callback, "--store", fmt.Sprintf("memory://sandbox-every-%d", time.Now().UnixNano())},
			cli.IO{Out: out, Err: errb})
		out.Close() // a WaitLine on its output fails now, not after its bound
		errb.Close()
		done <- code
	}()
	for _, name := range names {
		testio.WaitLine(t, out, name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+name+";") })
	}
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Errorf("sandbox exit %d: %s", code, errb)
		}
	case <-time.After(testio.Wait):
		t.Fatal("sandbox did not stop")
	}
}
