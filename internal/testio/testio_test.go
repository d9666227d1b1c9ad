package testio_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/internal/testio"
)

// fakeT records what WaitLine does to a test; Fatalf ends its goroutine,
// as testing's does.
type fakeT struct {
	testing.TB
	fatal string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestBuffer: writes from many goroutines, read while they write (the race
// detector checks the locking), all end up in the buffer.
func TestBuffer(t *testing.T) {
	var b testio.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprint(&b, "x")
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Errorf("String() = %d bytes %q…, want 800 x", len(got), got[:min(len(got), 20)])
	}
}

// TestWaitLine: the line written after the wait began is returned whole.
func TestWaitLine(t *testing.T) {
	var b testio.Buffer
	fmt.Fprintln(&b, "starting")
	go func() {
		time.Sleep(50 * time.Millisecond)
		fmt.Fprintln(&b, "url: http://127.0.0.1/x")
	}()
	if got := testio.WaitLine(t, &b, "URL", func(l string) bool { return strings.HasPrefix(l, "url: ") }); got != "url: http://127.0.0.1/x" {
		t.Errorf("WaitLine = %q", got)
	}
}

// TestWaitLineWithinFails: no matching line within the bound fails the
// test, naming what it waited for, the bound and the output so far.
func TestWaitLineWithinFails(t *testing.T) {
	var b testio.Buffer
	fmt.Fprintln(&b, "nothing useful")
	f := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testio.WaitLineWithin(f, 30*time.Millisecond, &b, "URL", func(string) bool { return false })
	}()
	<-done
	if want := "no URL within 30ms; output so far:\nnothing useful\n"; f.fatal != want {
		t.Errorf("failure = %q, want %q", f.fatal, want)
	}
}

// TestWaitLineClosed: once the writer has ended (Close), a wait for a
// line that is not there fails at once, whatever its bound; a line that is
// there is still returned.
func TestWaitLineClosed(t *testing.T) {
	var b testio.Buffer
	fmt.Fprintln(&b, "connector: cannot listen on 127.0.0.1:1")
	b.Close()
	f := &fakeT{TB: t}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		testio.WaitLineWithin(f, 20*time.Second, &b, "URL", func(string) bool { return false })
	}()
	<-done
	if want := "no URL: the command ended; its output:\nconnector: cannot listen on 127.0.0.1:1\n"; f.fatal != want {
		t.Errorf("failure = %q, want %q", f.fatal, want)
	}
	if took := time.Since(start); took >= 10*time.Second { // it waited out (most of) its 20 s bound
		t.Errorf("the wait took %s", took)
	}
	if got := testio.WaitLine(t, &b, "the error", func(l string) bool { return strings.HasPrefix(l, "connector:") }); got == "" {
		t.Error("a line written before Close was not found")
	}
}

// TestWaitLinePair: a failed wait on one buffer of a Pair shows the other
// too, where the command's error usually is; a wait that finds its line
// is not disturbed by the other.
func TestWaitLinePair(t *testing.T) {
	out, errb := testio.Pair()
	fmt.Fprintln(out, "starting")
	fmt.Fprintln(errb, "connector: cannot open the store")
	out.Close()
	errb.Close()
	f := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testio.WaitLine(f, out, "connection string", func(string) bool { return false })
	}()
	<-done
	want := "no connection string: the command ended; its output:\nstarting\nits other stream:\nconnector: cannot open the store\n"
	if f.fatal != want {
		t.Errorf("failure = %q, want %q", f.fatal, want)
	}
	if got := testio.WaitLine(t, errb, "the error", func(l string) bool { return strings.HasPrefix(l, "connector:") }); got != "connector: cannot open the store" {
		t.Errorf("WaitLine on the other buffer = %q", got)
	}
}

// TestFreePort: the ports returned can be listened on, lie below the
// ephemeral range (where outgoing connections take theirs) and are never
// the same twice.
func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		port := testio.FreePort(t)
		if port < 1024 || port >= 32768 || seen[port] {
			t.Fatalf("FreePort = %d: want a port in 1024–32767 not returned before", port)
		}
		seen[port] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("listen on the free port %d: %v", port, err)
		}
		l.Close()
	}
}

// TestStart: a child process that ends without the line a test waits for
// fails the wait at once, with what it printed on its other stream, and
// its exit comes on done.
func TestStart(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh here")
	}
	out, errb, done := testio.Start(t, exec.Command(sh, "-c", "echo 'bad flag' >&2; exit 3"))
	f := &fakeT{TB: t}
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		testio.WaitLine(f, out, "URL", func(string) bool { return false })
	}()
	select {
	case <-waited:
	case <-time.After(testio.Wait / 2):
		t.Fatal("the wait did not end when the process did")
	}
	if !strings.Contains(f.fatal, "the command ended") || !strings.Contains(f.fatal, "bad flag") {
		t.Errorf("failure = %q, want one saying the command ended, with its standard error", f.fatal)
	}
	var ee *exec.ExitError
	if err := <-done; !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("done = %v, want exit status 3", err)
	}
	if errb.String() != "bad flag\n" {
		t.Errorf("stderr = %q", errb.String())
	}
}
