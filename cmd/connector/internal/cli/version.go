package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{
		name:     "version",
		summary:  "print the connector's version, the Go version it was built with and its commit when known",
		examples: []string{"connector version", "connector --version"},
		run: func(_ context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("version takes no arguments, got %q", args[0])
			}
			writeVersion(e.Out, buildInfo())
			return nil
		},
	}
}

// versionInfo is what version prints.
type versionInfo struct {
	module, version string // the main module and its version; "(devel)" for a build from a checkout
	goVersion       string
	platform        string // GOOS/GOARCH
	commit, time    string // vcs.revision and vcs.time, when the build recorded them
	modified        bool   // vcs.modified: built from a tree with changes
}

// buildInfo reads the binary's build information.
func buildInfo() versionInfo {
	v := versionInfo{module: "github.com/connector-go/connector", version: "(unknown)", goVersion: runtime.Version(),
		platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Path != "" {
		v.module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.goVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.commit = s.Value
		case "vcs.time":
			v.time = s.Value
		case "vcs.modified":
			v.modified = s.Value == "true"
		}
	}
	return v
}

func writeVersion(w io.Writer, v versionInfo) {
	fmt.Fprintf(w, "connector %s\n", v.version)
	fmt.Fprintf(w, "module %s\n", v.module)
	fmt.Fprintf(w, "go %s %s\n", v.goVersion, v.platform)
	if v.commit != "" {
		line := "commit " + v.commit
		if v.time != "" {
			line += " " + v.time
		}
		if v.modified {
			line += " (modified)"
		}
		fmt.Fprintln(w, line)
	}
}
