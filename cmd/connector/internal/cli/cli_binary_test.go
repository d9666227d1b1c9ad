package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/internal/testio"
)

var (
	buildOnce  sync.Once
	binaryPath string
	buildErr   error
)

func TestMain(m *testing.M) {
	code := testenv.Run(m)
	if binaryPath != "" {
		os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// connectorBinary builds cmd/connector once per test run.
func connectorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = "/usr/local/go/bin/go"
		}
		dir, err := os.MkdirTemp("", "connector-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binaryPath = filepath.Join(dir, "connector")
		args := []string{"build", "-o", binaryPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool, append(args, "github.com/connector-go/connector/cmd/connector")...)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/connector: %v", buildErr)
	}
	return binaryPath
}

// TestBinary runs the built connector as a user would: the README's first
// command, a usage error and the sandbox stopped by an interrupt.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := connectorBinary(t)

	t.Run("demo", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), testio.Wait)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "demo")
		cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir(), "CONNECTOR_DSN=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("connector demo: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
		}
		all := out.String() + errb.String()
		if m := longSecret.FindString(all); m != "" {
			t.Errorf("connector demo printed what looks like a whole token or secret: %q", m)
		}
		if !strings.Contains(all, "OAuthClientSecret=[redacted]") || !strings.Contains(all, "Done:") {
			t.Errorf("connector demo output:\n%s", all)
		}
		if errb.Len() != 0 {
			t.Errorf("connector demo wrote to stderr:\n%s", errb.String())
		}
	})

	t.Run("usage error exits 2", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(bin, "token", "--dsn", "Provider=jumpseller;InitiateOAuth=MAYBE;OAuthClientSecret=hunter2-hunter2")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != int(ExitUsage) {
			t.Fatalf("exit = %v, want %d; stderr: %s", err, ExitUsage, errb.String())
		}
		if s := errb.String(); !strings.HasPrefix(s, "connector: ") || strings.Contains(s, "hunter2") || !strings.Contains(s, "InitiateOAuth") {
			t.Errorf("stderr = %q", s)
		}
	})

	t.Run("sandbox stops on interrupt", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(bin, "sandbox", "--store", filepath.Join(t.TempDir(), "s.db"))
		out, errb, waited := testio.Start(t, cmd)
		t.Cleanup(func() { cmd.Process.Kill() })
		for _, name := range providerNames {
			testio.WaitLine(t, out, name+" connection string", func(l string) bool { return strings.HasPrefix(l, "Provider="+name+";") })
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-waited:
			if err != nil {
				t.Errorf("sandbox after an interrupt: %v; stderr:\n%s", err, errb.String())
			}
		case <-time.After(testio.Wait):
			cmd.Process.Kill()
			t.Fatalf("sandbox did not stop on an interrupt; stderr:\n%s", errb)
		}
	})
}
