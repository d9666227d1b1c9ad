package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connector-go/connector/store"
)

// The environment of a child process of the ConcurrentProcesses check.
const (
	storeEnvHelperLocation = "CONNECTOR_STORE_HELPER_LOCATION"
	storeEnvHelperID       = "CONNECTOR_STORE_HELPER_ID"
	storeEnvHelperN        = "CONNECTOR_STORE_HELPER_N"
)

// storeHelperDone is the line a child prints when all its increments are in.
const storeHelperDone = "connector-store-helper: done"

// The shape of the ConcurrentProcesses check.
const (
	storeProcesses   = 4
	storeIncrementsN = 25
)

// StoreHelperProcess is the body of the child processes TestStore starts for
// its ConcurrentProcesses check. A backend whose harness is a StoreLocator
// calls it from a test of exactly this name:
//
//	func TestHelperStoreProcess(t *testing.T) { conformance.StoreHelperProcess(t) }
//
// In an ordinary run (no child environment) it returns at once and the test
// passes. In a child, it opens the location it was given with store.Open,
// increments the counter under the lease lock the number of times it was
// told, and prints a line that the parent waits for.
func StoreHelperProcess(t *testing.T) {
	loc := os.Getenv(storeEnvHelperLocation)
	if loc == "" {
		return
	}
	id := os.Getenv(storeEnvHelperID)
	n, err := strconv.Atoi(os.Getenv(storeEnvHelperN))
	if err != nil || id == "" {
		t.Fatalf("child process: bad environment %s=%q %s=%q", storeEnvHelperID, id, storeEnvHelperN, os.Getenv(storeEnvHelperN))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	s, keys, err := store.Open(ctx, loc)
	if err != nil {
		t.Fatalf("child process: store.Open: %v", err)
	}
	defer s.Close()
	for i := range n {
		if _, err := storeIncrement(ctx, s, keys, id, 30*time.Second); err != nil {
			t.Fatalf("child process %d: increment %d: %v", os.Getpid(), i, err)
		}
	}
	fmt.Printf("%s %d\n", storeHelperDone, n)
}

func storeCheckConcurrentProcesses(ctx context.Context, e *storeEnv) error {
	loc, ok := e.h.(StoreLocator)
	if !ok {
		return errStoreNotApplicable
	}
	s, err := e.fresh(ctx)
	if err != nil {
		return err
	}
	where := loc.Location(e.t, s)
	// Open the location as the children will, for the backend's own Keyring
	// (the SQLite key file, say): the children must share it.
	ps, keys, err := store.Open(ctx, where)
	if err != nil {
		return storeNoErr(err, "store.Open of the harness's Location")
	}
	defer ps.Close()
	const id = "process-counter"
	if err := storeNewCounter(ctx, ps, keys, id); err != nil {
		return err
	}
	type child struct {
		cmd            *exec.Cmd
		stdout, stderr bytes.Buffer
	}
	children := make([]*child, storeProcesses)
	for i := range children {
		c := &child{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperStoreProcess$", "-test.count=1", "-test.timeout=60s")}
		c.cmd.Env = append(os.Environ(),
			storeEnvHelperLocation+"="+where,
			storeEnvHelperID+"="+id,
			storeEnvHelperN+"="+strconv.Itoa(storeIncrementsN))
		c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
		children[i] = c
	}
	for _, c := range children {
		if err := c.cmd.Start(); err != nil {
			return fmt.Errorf("start a child process: %w", err)
		}
	}
	var errs []error
	for i, c := range children {
		werr := c.cmd.Wait()
		out := c.stdout.String()
		switch {
		case werr != nil:
			errs = append(errs, fmt.Errorf("child %d: %v\n%s%s", i, werr, storeTail(out), storeTail(c.stderr.String())))
		case !strings.Contains(out, storeHelperDone):
			errs = append(errs, fmt.Errorf("child %d ran no increments: the test binary needs "+
				"func TestHelperStoreProcess(t *testing.T) { conformance.StoreHelperProcess(t) }\n%s", i, storeTail(out)))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Read back through the harness's own store.
	return storeCounterWant(ctx, s, keys, id, storeProcesses*storeIncrementsN)
}

// storeTail returns the end of a child's output.
func storeTail(s string) string {
	const max = 2000
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return s
}
