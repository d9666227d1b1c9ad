package cli

import (
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
)

// The environment variables read when the flags are not given.
const (
	// EnvDSNFile names a file holding the connection string, read when
	// neither --dsn nor --dsn-file is given and CONNECTOR_DSN is unset.
	EnvDSNFile = "CONNECTOR_DSN_FILE"
	// EnvConnection is the default of --connection.
	EnvConnection = "CONNECTOR_CONNECTION"
)

// readDSN returns the connection string: from --dsn or --dsn-file, else
// from CONNECTOR_DSN or CONNECTOR_DSN_FILE. Surrounding spaces, a trailing
// newline and one pair of enclosing quotes (as a .env file has them) are
// removed. A file readable by other users than its owner is refused.
func (e *env) readDSN() (string, error) {
	var dsn string
	switch {
	case e.dsn != "" && e.dsnFile != "":
		return "", usageErrorf("--dsn and --dsn-file both give a connection string: give one")
	case e.dsn != "":
		dsn, e.dsnFrom = e.dsn, "--dsn"
	case e.dsnFile != "":
		var err error
		if dsn, err = readDSNFile(e.dsnFile, "--dsn-file"); err != nil {
			return "", err
		}
		e.dsnFrom = "--dsn-file " + e.dsnFile
	case e.getenv(EnvDSN) != "" && e.getenv(EnvDSNFile) != "":
		return "", usageErrorf("both %s and %s are set: unset one", EnvDSN, EnvDSNFile)
	case e.getenv(EnvDSN) != "":
		dsn, e.dsnFrom = e.getenv(EnvDSN), "$"+EnvDSN
	case e.getenv(EnvDSNFile) != "":
		var err error
		if dsn, err = readDSNFile(e.getenv(EnvDSNFile), "$"+EnvDSNFile); err != nil {
			return "", err
		}
		e.dsnFrom = "$" + EnvDSNFile + " " + e.getenv(EnvDSNFile)
	}
	dsn = unquote(strings.TrimSpace(dsn))
	if dsn == "" {
		if e.dsnFrom != "" {
			return "", usageErrorf("the connection string from %s is empty", e.dsnFrom)
		}
		return "", usageErrorf("no connection string: pass --dsn-file FILE or --dsn, or set %s or %s", EnvDSNFile, EnvDSN)
	}
	e.rawDSN = dsn
	if what := bareLocation(dsn); what != "" {
		return "", usageErrorf("the connection string from %s is %s, not Key=Value pairs: a store location belongs in OAuthSettingsLocation, such as "+
			"'Provider=jumpseller;OAuthClientId=…;OAuthClientSecret=…;OAuthSettingsLocation=postgres://…' (connections needs only 'OAuthSettingsLocation=…')", e.dsnFrom, what)
	}
	return dsn, nil
}

// maxDSNFile is the largest connection string file read.
const maxDSNFile = 64 << 10

// readDSNFile reads the connection string in path, refusing a file that
// other users may read: it holds the client secret.
func readDSNFile(path, from string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", &exitError{code: ExitUsage, msg: "cannot read the connection string file of " + from, err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", &exitError{code: ExitUsage, msg: "cannot read the connection string file of " + from, err: err}
	}
	if fi.IsDir() {
		return "", usageErrorf("%s: %s is a directory, not a file holding a connection string", from, path)
	}
	if mode := fi.Mode().Perm(); runtime.GOOS != "windows" && mode&0o077 != 0 {
		return "", usageErrorf("%s: %s has mode %04o: other users can read the client secret in it; run chmod 600 %s", from, path, mode, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDSNFile+1))
	if err != nil {
		return "", &exitError{code: ExitUsage, msg: "cannot read the connection string file of " + from, err: err}
	}
	if len(b) > maxDSNFile {
		return "", usageErrorf("%s: %s is over %d KiB: not a connection string", from, path, maxDSNFile>>10)
	}
	return string(b), nil
}

// unquote removes one pair of quotes around s ("…" or '…'), as a .env
// file or a copy from one leaves them. A connection string never starts
// with a quote: its first key is a name.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// locationURL matches what starts a URL: a scheme and "://".
var locationURL = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// bareLocation says what dsn is when it is a store location given where a
// connection string belongs ("a postgres:// URL", "a file path"), else "".
// It never quotes dsn, which may hold a password.
func bareLocation(dsn string) string {
	if m := locationURL.FindStringSubmatch(dsn); m != nil {
		return "a " + strings.ToLower(m[1]) + ":// URL"
	}
	key, _, _ := strings.Cut(dsn, ";")
	key, _, hasValue := strings.Cut(key, "=")
	if strings.HasPrefix(key, "/") || strings.HasPrefix(key, "./") || strings.HasPrefix(key, "../") || strings.HasPrefix(key, "~/") ||
		!hasValue && (strings.HasSuffix(key, ".db") || strings.ContainsAny(key, `/\`)) {
		return "a file path"
	}
	return ""
}
