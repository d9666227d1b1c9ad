package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Main runs the connector command with args (without the program name) and
// returns the exit code. It never calls os.Exit.
func Main(ctx context.Context, args []string, sys IO) ExitCode {
	if sys.In == nil {
		sys.In = strings.NewReader("")
	}
	if sys.Out == nil {
		sys.Out = io.Discard
	}
	if sys.Err == nil {
		sys.Err = io.Discard
	}
	e := &env{IO: sys}
	g := flag.NewFlagSet("connector", flag.ContinueOnError)
	g.SetOutput(io.Discard)
	registerGlobal(g, e, dsnFlags)
	g.BoolVar(&e.version, "version", false, "print the connector's version and exit")
	if err := g.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(e.Out)
			return ExitOK
		}
		return e.report(flagError(g, "", err))
	}
	if e.version {
		return runCommand(ctx, e, versionCommand(), nil)
	}
	rest := g.Args()
	if len(rest) == 0 {
		usage(e.Err)
		return e.report(usageErrorf("no command given"))
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) == 0 {
			usage(e.Out)
			return ExitOK
		}
		if rest[0] == "help" {
			usage(e.Out)
			return ExitOK
		}
		cmd := find(rest[0])
		if cmd == nil {
			return e.report(unknownCommand(rest[0]))
		}
		commandUsage(e.Out, cmd)
		return ExitOK
	}
	cmd := find(name)
	if cmd == nil {
		return e.report(unknownCommand(name))
	}
	return runCommand(ctx, e, cmd, rest)
}

// runCommand parses cmd's flags from args and runs it.
func runCommand(ctx context.Context, e *env, cmd *command, args []string) ExitCode {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	registerGlobal(fs, e, cmd.global)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(e.Out, cmd)
			return ExitOK
		}
		return e.report(flagError(fs, cmd.name, err))
	}
	if e.verbose {
		e.tracer = newVerboseTracer(e)
		var end func()
		ctx, end = e.tracer.root(ctx, cmd.name)
		defer end()
	}
	if err := cmd.run(ctx, e, pos); err != nil {
		return e.report(err)
	}
	return ExitOK
}

// registerGlobal registers the global flags that which selects.
func registerGlobal(fs *flag.FlagSet, e *env, which globalFlags) {
	if which >= dsnFlags {
		fs.StringVar(&e.dsn, "dsn", e.dsn, "the connection string `DSN` (default $"+EnvDSN+"); it shows in ps, so prefer --dsn-file")
		fs.StringVar(&e.dsnFile, "dsn-file", e.dsnFile, "read the connection string from `FILE`, readable by you alone (chmod 600) (default $"+EnvDSNFile+")")
	}
	if which >= verboseOnly {
		fs.BoolVar(&e.verbose, "verbose", e.verbose, "trace every HTTP exchange and store call on standard error (never a secret)")
	}
}

// isGlobal reports whether name is a global flag.
func isGlobal(name string) bool {
	switch name {
	case "dsn", "dsn-file", "verbose", "version":
		return true
	}
	return false
}

// parseInterspersed parses flags that may come before, between and after
// the positional arguments ("call GET store/info.json --data @body.json").
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func find(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// unknownCommand is the error for a command name that is none, with the
// nearest one when it looks like a typo.
func unknownCommand(name string) error {
	names := []string{"help"}
	for _, c := range commands() {
		names = append(names, c.name)
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if s := suggest(name, names); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return usageErrorf("%s (connector help lists the commands)", msg)
}

// The messages of the flag package that name a flag, "-name".
var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	namedFlag     = regexp.MustCompile(`(flag|argument:) -([A-Za-z][A-Za-z0-9-]+)`)
)

// flagError turns a flag package error into a usage error that writes
// flags as --name and, for an unknown flag, suggests the nearest one.
func flagError(fs *flag.FlagSet, cmd string, err error) error {
	where, help := "", "connector help"
	if cmd != "" {
		where, help = cmd+": ", "connector help "+cmd
	}
	if m := undefinedFlag.FindStringSubmatch(err.Error()); m != nil {
		name, _, _ := strings.Cut(m[1], "=")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		msg := fmt.Sprintf("%sunknown flag %s", where, flagName(name))
		switch s := suggest(name, names); {
		case s != "":
			msg += "; did you mean " + flagName(s) + "?"
		case cmd != "" && isGlobal(name):
			msg += fmt.Sprintf(" (%s reads no connection string)", cmd)
		}
		return usageErrorf("%s (%s lists the flags)", msg, help)
	}
	msg := namedFlag.ReplaceAllStringFunc(err.Error(), func(s string) string {
		m := namedFlag.FindStringSubmatch(s)
		return m[1] + " " + flagName(m[2])
	})
	return usageErrorf("%s%s (%s lists the flags)", where, msg, help)
}

// flagName is how a flag is written: -o for one letter, else --name.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func usage(w io.Writer) {
	fmt.Fprint(w, `connector connects apps to commerce platforms over OAuth 2.

Usage: connector <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Every command that needs a connection string reads it from --dsn-file FILE,
--dsn, $%s or $%s (a file keeps the client secret out of ps).
Global flags: --dsn-file, --dsn and --verbose (where a command takes them), --version.
Exit codes: 0 done, 1 failure, 2 bad usage or configuration, 3 reauthorization needed.
Run "connector help <command>" for a command's flags and examples; docs/cli.md has more.
`, EnvDSNFile, EnvDSN)
}

// shortFlags are the one-letter forms of long flags, shown together.
var shortFlags = map[string]string{"o": "output"}

func commandUsage(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage: connector %s %s\n\n%s\n", cmd.name, cmd.args, cmd.summary)
	var e env
	own := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	if cmd.flags != nil {
		cmd.flags(own)
	}
	if printFlags(w, "Flags", own) == 0 {
		fmt.Fprintln(w, "\nFlags: none")
	}
	global := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	registerGlobal(global, &e, cmd.global)
	printFlags(w, "Global flags", global)
	if len(cmd.examples) > 0 {
		fmt.Fprintln(w, "\nExamples:")
		for _, ex := range cmd.examples {
			fmt.Fprintln(w, "  "+ex)
		}
	}
}

// printFlags lists fs's flags as --name, under title; it returns how many
// it listed.
func printFlags(w io.Writer, title string, fs *flag.FlagSet) int {
	type row struct{ name, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := shortFlags[f.Name]; ok && fs.Lookup(shortFlags[f.Name]) != nil {
			return // shown with its long form
		}
		arg, text := flag.UnquoteUsage(f)
		name := flagName(f.Name)
		for s, l := range shortFlags {
			if l == f.Name && fs.Lookup(s) != nil {
				name = flagName(s) + ", " + name
			}
		}
		if arg != "" {
			name += " " + strings.ToUpper(arg)
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{name, text})
		width = max(width, len(name))
	})
	if len(rows) == 0 {
		return 0
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.name, r.usage)
	}
	return len(rows)
}
