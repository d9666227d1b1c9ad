package testio

import (
	"os/exec"
	"testing"
)

// Start starts cmd, a child process, with its standard output and error in
// a Pair, and waits for it in a goroutine: when it ends, both buffers are
// closed (a wait for a line it can no longer print fails at once) and
// cmd.Wait's error is sent on done. Set cmd's standard input, if any,
// before.
func Start(t testing.TB, cmd *exec.Cmd) (out, errb *Buffer, done <-chan error) {
	t.Helper()
	out, errb = Pair()
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	ch := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		out.Close()
		errb.Close()
		ch <- err
	}()
	return out, errb, ch
}
