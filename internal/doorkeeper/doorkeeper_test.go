package doorkeeper

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/store"
)

func TestMain(m *testing.M) {
	// The test process (which authorizes) and the connector processes
	// (which inherit the environment) seal the SQLite stores with one key.
	if os.Getenv(store.EnvKey) == "" {
		key := make([]byte, 32)
		rand.Read(key)
		os.Setenv(store.EnvKey, base64.StdEncoding.EncodeToString(key))
		os.Setenv(store.EnvOldKeys, "")
	}
	code := testenv.Run(m)
	buildOnce.Do(func() {}) // a build started by TestDoorkeeper has ended
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// TestDoorkeeper starts a real Doorkeeper for each provider and rotation
// mode, and holds its wire, the library and the connector command to it.
// Every subtest runs against its server's own client application, so that
// the request counts it asserts are its own.
func TestDoorkeeper(t *testing.T) {
	ruby := requireDoorkeeper(t)
	t.Logf("%s (%s)", rubyVersion, ruby)
	go buildOnce.Do(build) // while the servers boot
	runAll(t, configSubtests(ruby))
}

func configSubtests(ruby string) []subtest {
	var tests []subtest
	for _, cfg := range configs {
		tests = append(tests, subtest{cfg.String(), func(t *testing.T) {
			s := startServer(t, ruby, cfg)
			runAll(t, []subtest{
				{"wire", func(t *testing.T) { runAll(t, wireTests(s)) }},
				{"library", func(t *testing.T) { runAll(t, libraryTests(s)) }},
				{"cli", func(t *testing.T) { runAll(t, cliTests(s)) }},
			})
		}})
	}
	return tests
}

var (
	buildOnce  sync.Once
	binaryDir  string
	binaryPath string
	buildErr   error
)

// build builds cmd/connector (with the race detector when the tests run
// under it) into a temporary directory that TestMain removes.
func build() {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	if binaryDir, buildErr = os.MkdirTemp("", "connector-doorkeeper-"); buildErr != nil {
		return
	}
	binaryPath = filepath.Join(binaryDir, "connector")
	args := []string{"build", "-o", binaryPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "github.com/connector-go/connector/cmd/connector")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = errors.New(err.Error() + "\n" + strings.TrimSpace(string(out)))
	}
}

// connectorBinary returns the built connector command.
func connectorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(build)
	if buildErr != nil {
		t.Fatalf("go build ./cmd/connector: %v", buildErr)
	}
	return binaryPath
}
