package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/connector-go/connector"
	"github.com/connector-go/connector/connstr"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/sqlite"
)

// requireStore returns an error with the exit code code when the store of
// p's OAuthSettingsLocation does not exist, having created nothing: the
// commands that only read or change existing connections never make a
// store (a directory, a database and a key file; a schema and tables) at a
// mistyped location. cmd names the command in the message.
//
// It asks store.OpenExisting, which creates nothing, after checking a
// SQLite file itself.
func (e *env) requireStore(ctx context.Context, p *connstr.Params, cmd string, code ExitCode) error {
	loc := p.SettingsLocation
	if path, ok := sqlitePath(loc); ok {
		if err := e.requireSQLite(path, cmd, code); err != nil {
			return e.configFirst(ctx, p, err)
		}
	}
	start := time.Now()
	st, _, err := store.OpenExisting(ctx, loc)
	e.tracer.printf("store open-existing %s: %s (%s)", redactLocation(loc), outcome(err), since(start))
	if err != nil {
		if isNoStore(err) {
			return e.configFirst(ctx, p, noStoreAt(noStoreWhere(err), cmd, code))
		}
		return err
	}
	return st.Close()
}

// configFirst returns the error of the rest of p's configuration (an
// unknown provider, a CData profile, a missing ProfileSettings property),
// which the command would have reported had the store existed, else
// noStore. It opens a Connector on a memory store of its own, which
// creates nothing outside this process.
func (e *env) configFirst(ctx context.Context, p *connstr.Params, noStore error) error {
	probe := *p
	probe.SettingsLocation = "memory://connector-cli-config-check-" + randomSecret()
	c, err := connector.OpenParams(ctx, &probe)
	if err != nil {
		return err
	}
	c.Close()
	return noStore
}

// requireSQLite is requireStore's check of a SQLite file.
func (e *env) requireSQLite(path, cmd string, code ExitCode) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		e.tracer.printf("store %s: no such file", path)
		return noStoreAt("no store at "+path, cmd, code)
	}
	return nil
}

func isNoStore(err error) bool { return errors.Is(err, store.ErrNoStore) }

// noStoreWhere is the backend's message of a store.ErrNoStore error: it
// names the place (a schema, a prefix) without a password.
func noStoreWhere(err error) string {
	return strings.TrimSuffix(strings.TrimPrefix(describe(err), "store: "), ": "+store.ErrNoStore.Error())
}

// noStoreAt is the error of a command that found no store: what says
// where ("no store at /path").
func noStoreAt(what, cmd string, code ExitCode) error {
	msg := fmt.Sprintf("%s (OAuthSettingsLocation): %s creates none", what, cmd)
	if code == ExitReauth {
		msg += "; run connector auth to authorize a first connection there, or check OAuthSettingsLocation"
	} else {
		msg += "; check OAuthSettingsLocation, or run connector auth to authorize a first connection there"
	}
	return &exitError{code: code, msg: msg}
}

// sqlitePath returns the SQLite file an OAuthSettingsLocation names, when it
// names one.
func sqlitePath(loc string) (string, bool) {
	if loc == "" {
		def, err := store.DefaultLocation()
		if err != nil {
			return "", false
		}
		loc = def
	}
	if m := locationURL.FindStringSubmatch(loc); m != nil && !strings.EqualFold(m[1], "file") && !strings.EqualFold(m[1], "sqlite") {
		return "", false
	}
	path, err := sqlite.Path(loc)
	return path, err == nil
}
