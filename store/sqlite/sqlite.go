// Package sqlite is the embedded, default Store: one SQLite file (through
// modernc.org/sqlite, without cgo), safe for several processes on one
// machine. It registers the scheme "file": a plain path, a "file:" URL or a
// "sqlite://" URL as OAuthSettingsLocation opens it, and so does an empty
// location (store.DefaultLocation, under the user's config directory).
//
// # Storage
//
// The database runs in WAL mode with a busy timeout, so that readers never
// block and writers queue. Its tables are created on first use and migrated
// by the version in schema_version:
//
//	connections(id TEXT PRIMARY KEY, provider, account, scopes (JSON array),
//	            status, reason, expiry (Unix ns or NULL), secret BLOB,
//	            version, created_at, updated_at (Unix ns),
//	            app, namespace, ref (TEXT, '' when none),
//	            tags (JSON array, '[]' when none)),
//	            indexed by (app, namespace, ref), and by (expiry, id) where
//	            status = 'active' (the due query)
//	leases(id TEXT PRIMARY KEY, fence, holder, expires_at (Unix ns))
//	claims(key TEXT PRIMARY KEY, expires_at (Unix ns)), indexed by expires_at
//
// A leases row is never deleted: releasing a lease expires it, so that its
// fence column is the per-connection counter from which every new lease
// takes a strictly greater fence (its holder column, which earlier versions
// compared, is left empty: (id, fence) names a lease). A claims row (one
// per consumed authorization state) is deleted once
// expired, by a later Claim. Schema version 1 has connections and leases;
// version 2 adds claims; version 3 adds the application's columns to
// connections (app, namespace, ref, tags: ALTER TABLE … ADD COLUMN with
// defaults, so rows written before read as no application, no reference
// and no tags) and their index, for finding a connection by reference;
// version 4 adds connections_due, a partial index on (expiry, id) of the
// active connections with an expiry, which Due (store.DueLister, the
// scheduler's query) reads in order. The id stays the primary key and
// opaque: any string, '/' and ':' included.
//
// # Locking and fencing
//
// Every write is one statement, or a BEGIN IMMEDIATE transaction, so that
// SQLite's single writer lock serialises it against every other process:
// Lock is an upsert that takes the row only when its lease has expired,
// and the read of the record, in one transaction; Put is an UPDATE (or
// INSERT) whose WHERE clause checks the version and that no lease with a
// greater fence was granted; PutUnlock is Put's statement and the release
// of the lease in one transaction. Lease times come from the machine's
// clock, which all processes on it share. The file must be on a local
// disk: SQLite's locks do not hold on network file systems.
//
// # Durability
//
// A refresh makes one fsync. Lock commits with synchronous=NORMAL (a
// second pool of connections): in WAL mode its commit is appended to the
// WAL without an fsync. PutUnlock, and every other write, commits with
// synchronous=FULL: the WAL is fsynced before the commit returns. A lost
// lease write is safe:
//
//   - A process that crashes loses nothing: the commit is in the operating
//     system's page cache, which the next process reads.
//   - The operating system crashing (or the power failing) can lose the
//     lease, but every process that shares the file runs on this machine
//     (see above), so it also ends every holder of that lease: no one is
//     left to write with its fence. After the restart the lease reads as
//     free, or as the earlier one, expired, and its fence counter may be
//     one lower; no fence that was lost was ever used in a write that
//     survived.
//   - The WAL is written in order, and an fsync covers everything before
//     it: any FULL commit after the lease (the PutUnlock of that refresh,
//     or any other write) makes the lease durable with it. A write that
//     used a fence is therefore never durable without the lease that
//     granted the fence.
//
// Unlock, a release without a write, commits with synchronous=NORMAL too:
// lost to a crash of the machine, the lease expires by its time. Checkpoints
// (every 1000 WAL pages, SQLite's default) fsync the WAL and the database
// file, whichever pool runs them: measured, about 0.015 fsyncs per refresh
// on top of its one.
//
// # Keys
//
// store.Open seals with the key in CONNECTOR_ENCRYPTION_KEY if set, else
// with the key file connector.key beside the database, created (mode 0600)
// on first use; see store.KeyringFor and store.KeyringForFile. The
// directory is created with mode 0700 and the database file with mode 0600.
//
// store.OpenExisting creates nothing: no directory, no database file, no
// key file, and no table; a missing file, an empty one, or a database
// without the connector's schema is store.ErrNoStore. It reads the schema
// through a connection without the WAL pragma first, so that another
// application's database is not switched to WAL.
//
// # Files planted by others
//
// Open trusts no file it did not create. The database file, its -wal, -shm
// and -journal files (where they exist) and the key file are refused, with
// an InvalidConfig error that names the file and the fix, when one is a
// symbolic link, is owned by another user than the effective one, or is
// readable or writable by group or others: in a directory others can write
// to, such a file may have been planted to read or feed the tokens. Files
// Open creates are created with O_EXCL and without following a symbolic
// link, so that nothing can be planted between the check and the create; an
// existing database is opened without following a symbolic link and
// compared with the file checked. Once SQLite has opened the database, Open
// checks that its path still names that file, and checks the -wal and -shm
// files SQLite created. On systems other than Unix, ownership and modes are
// not checked.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/internal/safefile"
)

func init() {
	store.Register("file", func(ctx context.Context, location string, o store.OpenOptions) (store.Store, error) {
		s, err := open(ctx, location, o)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

// busyTimeout is how long a statement waits for another writer, in this
// process or another, before it fails.
const busyTimeout = 10 * time.Second

// Store is a store.Store in one SQLite file. Open it with Open.
type Store struct {
	db *sql.DB // synchronous=FULL: every commit is fsynced
	// ldb takes leases, with synchronous=NORMAL: its commits reach the
	// WAL without an fsync (see "Durability" in the package doc).
	ldb  *sql.DB
	path string
	// wmu serialises this process's writes, on both pools, so that they
	// queue here rather than in SQLite's busy handler; other processes
	// queue there.
	wmu sync.Mutex
	now func() time.Time

	// stmts holds the statements of the hot paths, prepared once per pool
	// (the driver would parse each query at every call).
	stmtMu sync.Mutex
	stmts  map[stmtKey]*sql.Stmt
}

// stmtKey names a prepared statement: its pool and its query.
type stmtKey struct {
	db    *sql.DB
	query string
}

// runner runs queries through s's prepared statements: on the pool db, or,
// with tx set, bound to that transaction of db.
type runner struct {
	s  *Store
	db *sql.DB
	tx *sql.Tx
}

// on returns a runner on the pool db, in tx when it is not nil.
func (s *Store) on(db *sql.DB, tx *sql.Tx) runner { return runner{s, db, tx} }

// stmt returns query prepared on the pool db, preparing it on first use.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	k := stmtKey{db, query}
	if st, ok := s.stmts[k]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[stmtKey]*sql.Stmt{}
	}
	s.stmts[k] = st
	return st, nil
}

// QueryRowContext is sql.DB's (or sql.Tx's), through a prepared statement.
func (r runner) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.s.stmt(ctx, r.db, query)
	switch {
	case err != nil && r.tx != nil:
		return r.tx.QueryRowContext(ctx, query, args...) // the error again, in the row
	case err != nil:
		return r.db.QueryRowContext(ctx, query, args...)
	case r.tx != nil:
		st = r.tx.StmtContext(ctx, st)
	}
	return st.QueryRowContext(ctx, args...)
}

// ExecContext is sql.DB's (or sql.Tx's), through a prepared statement.
func (r runner) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := r.s.stmt(ctx, r.db, query)
	if err != nil {
		return nil, err
	}
	if r.tx != nil {
		st = r.tx.StmtContext(ctx, st)
	}
	return st.ExecContext(ctx, args...)
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.DueLister = (*Store)(nil)
)

// Open opens (creating it if needed) the SQLite store at location — see
// Path for its forms. Its Keyring is store.KeyringFor's: the one from
// CONNECTOR_ENCRYPTION_KEY, or the key file beside the database.
func Open(ctx context.Context, location string) (*Store, error) {
	return open(ctx, location, store.OpenOptions{})
}

// open opens the store at location as o asks: creating it if needed, or,
// with o.Existing (store.OpenExisting), only the store that is there,
// creating nothing.
func open(ctx context.Context, location string, o store.OpenOptions) (*Store, error) {
	if location == "" {
		var err error
		if location, err = store.DefaultLocation(); err != nil {
			return nil, err
		}
	}
	path, err := Path(location)
	if err != nil {
		return nil, err
	}
	var f *os.File
	if o.Existing {
		f, err = safefile.Open(dbFile, path, os.O_RDONLY)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, store.Errorf(store.ErrNoStore, "no sqlite store at %s", path)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, store.Errorf(err, "cannot create the directory of the sqlite store %s", path)
		}
		f, err = openFile(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkSidecars(path); err != nil {
		return nil, err
	}
	s, err := openDB(ctx, path, o.Existing)
	if err != nil {
		return nil, err
	}
	if err := s.recheck(f); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// The names that safefile's messages give the store's files.
const (
	dbFile      = "sqlite database"
	sidecarFile = "sqlite file"
)

// sidecars are the files SQLite keeps beside the database. It creates them
// itself, with the database's owner and mode, and trusts what it finds: a
// WAL or journal another user planted would be read as part of the database.
var sidecars = []string{"-wal", "-shm", "-journal"}

// openFile creates the database file (O_EXCL, no symbolic link followed,
// mode 0600) or, when it exists, opens it after safefile's checks. The open
// file is held until SQLite has opened the database, so that recheck can
// tell whether the path still names this very file.
func openFile(path string) (*os.File, error) {
	f, err := safefile.Create(dbFile, path, os.O_RDWR)
	if errors.Is(err, fs.ErrExist) {
		f, err = safefile.Open(dbFile, path, os.O_RDONLY)
	}
	return f, err
}

// checkSidecars refuses a -wal, -shm or -journal file beside path that
// safefile refuses. Missing ones are fine: SQLite creates them.
func checkSidecars(path string) error {
	for _, suffix := range sidecars {
		if _, err := safefile.Check(sidecarFile, path+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// recheck runs once SQLite has opened the database (and, in WAL mode, its
// -wal and -shm files): the database must still be the file f, and each
// sidecar file a file of this user's, so that a file planted between the
// first checks and SQLite's own open is refused.
func (s *Store) recheck(f *os.File) error {
	fi, err := safefile.Check(dbFile, s.path)
	if err != nil {
		return err
	}
	held, err := f.Stat()
	if err != nil {
		return store.Errorf(err, "cannot examine the sqlite store %s", s.path)
	}
	if !os.SameFile(fi, held) {
		return safefile.Replaced(dbFile, s.path)
	}
	return checkSidecars(s.path)
}

// dsn is the modernc.org/sqlite data source name for path: a file: URI (so
// that any byte in the path survives) with the pragmas every connection
// needs, and BEGIN IMMEDIATE for transactions. sync is the synchronous
// pragma: FULL, or NORMAL for the lease pool.
func dsn(path, sync string) string {
	p := slashPath(path)
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")") // FULL: a lost commit can be a lost rotated refresh token
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// slashPath is path as a file: URI's path.
func slashPath(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x → /C:/x
	}
	return p
}

func openDB(ctx context.Context, path string, existing bool) (*Store, error) {
	if existing {
		if err := checkExists(ctx, path); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", dsn(path, "FULL"))
	if err != nil {
		return nil, store.Errorf(err, "cannot open the sqlite store %s", path)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	ldb, err := sql.Open("sqlite", dsn(path, "NORMAL"))
	if err != nil {
		db.Close()
		return nil, store.Errorf(err, "cannot open the sqlite store %s", path)
	}
	ldb.SetMaxOpenConns(2)
	ldb.SetMaxIdleConns(2)
	s := &Store{db: db, ldb: ldb, path: path, now: time.Now}
	// Processes opening a new database at once race to switch it to WAL;
	// SQLite fails that switch with SQLITE_BUSY at once rather than wait
	// out the busy timeout, so the first use is retried for as long.
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.migrate(ctx)
		if err == nil {
			return s, nil
		}
		if !isBusy(err) || time.Now().Add(wait).After(deadline) {
			s.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			s.Close()
			return nil, err
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (or one of its
// extended codes).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Path parses a location: a plain path, "file:path", "file:///abs/path",
// "sqlite://rel/path" or "sqlite:///abs/path", "~/" standing for the home
// directory. It returns the cleaned absolute path. A URL form is
// percent-decoded and takes no query parameters.
func Path(location string) (string, error) {
	p := location
	lower := strings.ToLower(p)
	switch {
	case strings.HasPrefix(lower, "sqlite://"):
		p = p[len("sqlite://"):]
	case strings.HasPrefix(lower, "file://"):
		p = p[len("file://"):]
		if strings.HasPrefix(strings.ToLower(p), "localhost/") {
			p = p[len("localhost"):]
		}
	case strings.HasPrefix(lower, "file:"):
		p = p[len("file:"):]
	}
	if p != location { // a URL
		// sqlite://user:password@host/… is a server's location under the
		// wrong scheme, not a file name: refused, and not quoted.
		if strings.HasSuffix(location[:len(location)-len(p)], "//") {
			authority := p[:strings.IndexAny(p+"/", "/?#")]
			if at := strings.LastIndex(authority, "@"); at >= 0 && strings.Contains(authority[:at], ":") {
				return "", invalid("sqlite store location has a user and password (user:password@); a sqlite store takes none")
			}
		}
		if strings.ContainsAny(p, "?#") {
			return "", invalid("sqlite store location %q has parameters; it takes none", location)
		}
		u, err := url.PathUnescape(p)
		if err != nil {
			return "", invalid("sqlite store location %q is not a valid URL path", location)
		}
		p = u
	}
	if p == "" {
		return "", invalid("sqlite store location %q names no file", location)
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", store.Errorf(err, "cannot expand ~ in the sqlite store location")
		}
		p = filepath.Join(home, p[1:])
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", store.Errorf(err, "sqlite store location %q", location)
	}
	return abs, nil
}

func invalid(format string, args ...any) error {
	return &driver.Error{Code: driver.InvalidConfig, Op: "store", Msg: fmt.Sprintf(format, args...)}
}

// migrations[i] brings the schema from version i to i+1.
var migrations = [][]string{
	{
		`CREATE TABLE connections (
			id         TEXT    PRIMARY KEY,
			provider   TEXT    NOT NULL,
			account    TEXT    NOT NULL,
			scopes     TEXT    NOT NULL,
			status     TEXT    NOT NULL,
			reason     TEXT    NOT NULL,
			expiry     INTEGER,
			secret     BLOB    NOT NULL,
			version    INTEGER NOT NULL,
			created_at INTEGER NOT NULL,
			updated_at INTEGER NOT NULL
		)`,
		`CREATE TABLE leases (
			id         TEXT    PRIMARY KEY,
			fence      INTEGER NOT NULL,
			holder     TEXT    NOT NULL,
			expires_at INTEGER NOT NULL
		)`,
	},
	{
		`CREATE TABLE claims (
			key        TEXT    PRIMARY KEY,
			expires_at INTEGER NOT NULL
		)`,
		`CREATE INDEX claims_expires_at ON claims (expires_at)`,
	},
	{
		`ALTER TABLE connections ADD COLUMN app       TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE connections ADD COLUMN namespace TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE connections ADD COLUMN ref       TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE connections ADD COLUMN tags      TEXT NOT NULL DEFAULT '[]'`,
		`CREATE INDEX connections_app_ref ON connections (app, namespace, ref)`,
	},
	{
		// The scheduler's query (Due): the active connections by expiry.
		// Partial, so that it holds only what the query can return.
		`CREATE INDEX connections_due ON connections (expiry, id) WHERE status = 'active' AND expiry IS NOT NULL`,
	},
}

// SchemaVersion is the schema version this package creates and reads.
var SchemaVersion = len(migrations)

// checkExists returns an error that is store.ErrNoStore unless the file
// at path holds the connector's schema (store.OpenExisting). It only
// reads: through a connection without the pragmas of dsn, which would
// switch a database that is not the connector's to WAL, or write a header
// into an empty file.
func checkExists(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return store.Errorf(err, "cannot examine the sqlite store %s", path)
	}
	if fi.Size() == 0 {
		return store.Errorf(store.ErrNoStore, "%s holds no connector store (an empty file)", path)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: slashPath(path)}).EscapedPath()+fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()))
	if err != nil {
		return store.Errorf(err, "cannot open the sqlite store %s", path)
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'`).Scan(&n)
	if err != nil {
		return store.Errorf(err, "cannot read the sqlite store %s", path)
	}
	if n == 0 {
		return store.Errorf(store.ErrNoStore, "%s holds no connector store", path)
	}
	return nil
}

// migrate creates or upgrades the schema in one BEGIN IMMEDIATE
// transaction, so that processes opening a new file, or one written by an
// older schema, at once do it once: the others wait for the write lock (or
// openDB retries them) and then find the schema current.
func (s *Store) migrate(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Errorf(err, "cannot open the sqlite store %s", s.path)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return store.Errorf(err, "cannot create the schema of the sqlite store %s", s.path)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return store.Errorf(err, "cannot read the schema version of the sqlite store %s", s.path)
	}
	if cur > len(migrations) {
		return store.Errorf(nil, "the sqlite store %s has schema version %d, newer than this connector's %d: upgrade the connector", s.path, cur, len(migrations))
	}
	for v := cur; v < len(migrations); v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return store.Errorf(err, "cannot migrate the sqlite store %s to schema version %d", s.path, v+1)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v+1); err != nil {
			return store.Errorf(err, "cannot migrate the sqlite store %s to schema version %d", s.path, v+1)
		}
	}
	if err := tx.Commit(); err != nil {
		return store.Errorf(err, "cannot commit the schema of the sqlite store %s", s.path)
	}
	return nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

const columns = `id, provider, account, scopes, status, reason, expiry, secret, version, created_at, updated_at, app, namespace, ref, tags`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(row scanner) (*store.Record, error) {
	var (
		r                    store.Record
		scopes, status, tags string
		expiry               sql.NullInt64
		created, updated     int64
	)
	if err := row.Scan(&r.ID, &r.Provider, &r.Account, &scopes, &status, &r.Reason, &expiry, &r.Secret, &r.Version, &created, &updated,
		&r.App, &r.Namespace, &r.Ref, &tags); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &r.Scopes); err != nil {
		return nil, fmt.Errorf("scopes of connection %q: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return nil, fmt.Errorf("tags of connection %q: %w", r.ID, err)
	}
	if len(r.Tags) == 0 {
		r.Tags = nil // "[]": none
	}
	r.Status = store.Status(status)
	if expiry.Valid {
		r.Expiry = time.Unix(0, expiry.Int64).UTC()
	}
	r.CreatedAt = time.Unix(0, created).UTC()
	r.UpdatedAt = time.Unix(0, updated).UTC()
	return &r, nil
}

const getQuery = `SELECT ` + columns + ` FROM connections WHERE id = ?`

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (*store.Record, error) {
	r, err := scanRecord(s.on(s.db, nil).QueryRowContext(ctx, getQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.Errorf(store.ErrNotFound, "connection %q", id)
	}
	if err != nil {
		return nil, store.Errorf(err, "cannot read connection %q from %s", id, s.path)
	}
	return r, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context) ([]*store.Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM connections ORDER BY id`)
	if err != nil {
		return nil, store.Errorf(err, "cannot list connections in %s", s.path)
	}
	defer rows.Close()
	out := []*store.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, store.Errorf(err, "cannot list connections in %s", s.path)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Errorf(err, "cannot list connections in %s", s.path)
	}
	// BINARY collation is byte order already; sort anyway to keep the
	// contract if a future schema changes it.
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// dueQuery reads the due connections through the partial index
// connections_due: its WHERE clause repeats the index's (status = 'active'
// as a literal, so that SQLite can tell the index covers the query) and
// its ORDER BY is the index's order. LIMIT -1 is no limit.
const dueQuery = `SELECT ` + columns + ` FROM connections
	WHERE status = 'active' AND expiry IS NOT NULL AND expiry <= ?
	ORDER BY expiry, id LIMIT ?`

// Due implements store.DueLister with one query on the index
// connections_due (schema version 4).
func (s *Store) Due(ctx context.Context, before time.Time, limit int) ([]*store.Record, error) {
	if limit <= 0 {
		limit = -1
	}
	// Expiries are Unix nanoseconds, which end in 2262: a window reaching
	// past that takes every expiry the store can hold (UnixNano would wrap).
	b := int64(math.MaxInt64)
	if before.Before(time.Unix(0, math.MaxInt64)) {
		b = before.UnixNano()
	}
	rows, err := s.db.QueryContext(ctx, dueQuery, b, limit)
	if err != nil {
		return nil, store.Errorf(err, "cannot list the due connections in %s", s.path)
	}
	defer rows.Close()
	out := []*store.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, store.Errorf(err, "cannot list the due connections in %s", s.path)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Errorf(err, "cannot list the due connections in %s", s.path)
	}
	return out, nil
}

// querier is what put runs its statement on: the pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Put implements store.Store: one statement.
func (s *Store) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	v, err := s.put(ctx, s.on(s.db, nil), rec, fence)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, s.conflict(ctx, rec, fence)
	}
	return v, err
}

// PutUnlock implements store.Store: the write and the release in one
// BEGIN IMMEDIATE transaction, committed with synchronous=FULL (the one
// fsync of a refresh).
func (s *Store) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return 0, store.Errorf(err, "cannot write connection %q to %s", rec.ID, s.path)
	}
	defer tx.Rollback()
	v, err := s.put(ctx, s.on(s.db, tx), rec, l.Fence)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return 0, s.conflict(ctx, rec, l.Fence)
	}
	if err != nil {
		return 0, err
	}
	if _, err := s.on(s.db, tx).ExecContext(ctx, unlockQuery, l.ID, l.Fence); err != nil {
		return 0, store.Errorf(err, "cannot release the lease of connection %q in %s", l.ID, s.path)
	}
	if err := tx.Commit(); err != nil {
		return 0, store.Errorf(err, "cannot write connection %q to %s", rec.ID, s.path)
	}
	return v, nil
}

// put runs Put's statement on q, with s.wmu held. It returns
// sql.ErrNoRows when the version or fence refused the write.
func (s *Store) put(ctx context.Context, q querier, rec *store.Record, fence int64) (int64, error) {
	scopes, err := json.Marshal(nonNil(rec.Scopes))
	if err != nil {
		return 0, store.Errorf(err, "cannot encode the scopes of connection %q", rec.ID)
	}
	tags, err := json.Marshal(nonNil(rec.Tags))
	if err != nil {
		return 0, store.Errorf(err, "cannot encode the tags of connection %q", rec.ID)
	}
	var expiry sql.NullInt64
	if !rec.Expiry.IsZero() {
		expiry = sql.NullInt64{Int64: rec.Expiry.UnixNano(), Valid: true}
	}
	secret := rec.Secret
	if secret == nil {
		secret = []byte{}
	}
	now := s.now().UnixNano()
	// The fence condition: no lease with a greater fence was granted.
	const fenced = `(? = 0 OR COALESCE((SELECT fence FROM leases WHERE id = ?), 0) <= ?)`
	var v int64
	if rec.Version == 0 {
		err = q.QueryRowContext(ctx, `INSERT INTO connections (`+columns+`)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ? WHERE `+fenced+`
			ON CONFLICT (id) DO NOTHING RETURNING version`,
			rec.ID, rec.Provider, rec.Account, string(scopes), string(rec.Status), rec.Reason, expiry, secret, now, now,
			rec.App, rec.Namespace, rec.Ref, string(tags),
			fence, rec.ID, fence).Scan(&v)
	} else {
		err = q.QueryRowContext(ctx, `UPDATE connections SET
			provider = ?, account = ?, scopes = ?, status = ?, reason = ?, expiry = ?, secret = ?,
			app = ?, namespace = ?, ref = ?, tags = ?,
			version = version + 1, updated_at = MAX(?, updated_at + 1)
			WHERE id = ? AND version = ? AND `+fenced+` RETURNING version`,
			rec.Provider, rec.Account, string(scopes), string(rec.Status), rec.Reason, expiry, secret,
			rec.App, rec.Namespace, rec.Ref, string(tags), now,
			rec.ID, rec.Version, fence, rec.ID, fence).Scan(&v)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if err != nil {
		return 0, store.Errorf(err, "cannot write connection %q to %s", rec.ID, s.path)
	}
	return v, nil
}

// conflict says why a Put changed nothing. It reads after the fact, so the
// reason is a best guess; the refusal itself was atomic.
func (s *Store) conflict(ctx context.Context, rec *store.Record, fence int64) error {
	var version, granted sql.NullInt64
	_ = s.db.QueryRowContext(ctx, `SELECT (SELECT version FROM connections WHERE id = ?), (SELECT fence FROM leases WHERE id = ?)`,
		rec.ID, rec.ID).Scan(&version, &granted)
	return s.whyConflict(rec, fence, version, granted)
}

func (s *Store) whyConflict(rec *store.Record, fence int64, version, granted sql.NullInt64) error {
	why := "version or fence changed"
	switch {
	case rec.Version == 0 && version.Valid:
		why = "it already exists"
	case rec.Version != 0 && !version.Valid:
		why = "it does not exist"
	case version.Valid && version.Int64 != rec.Version:
		why = fmt.Sprintf("version %d was expected, the store has %d", rec.Version, version.Int64)
	case fence > 0 && granted.Int64 > fence:
		why = fmt.Sprintf("lease fence %d was overtaken by fence %d (fenced)", fence, granted.Int64)
	}
	return store.Errorf(store.ErrConflict, "write to connection %q in %s refused: %s", rec.ID, s.path, why)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return store.Errorf(err, "cannot delete connection %q from %s", id, s.path)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM connections WHERE id = ?`, id)
	if err != nil {
		return store.Errorf(err, "cannot delete connection %q from %s", id, s.path)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.Errorf(store.ErrNotFound, "connection %q in %s", id, s.path)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leases SET holder = '', expires_at = 0 WHERE id = ?`, id); err != nil {
		return store.Errorf(err, "cannot release the lease of connection %q in %s", id, s.path)
	}
	if err := tx.Commit(); err != nil {
		return store.Errorf(err, "cannot delete connection %q from %s", id, s.path)
	}
	return nil
}

// lockQuery takes the lease when it is free or expired, with a fence one
// above the row's; it returns no row while another holder's lease lasts.
// The holder column, which earlier versions compared in Unlock, is left
// empty: (id, fence) names a lease.
const lockQuery = `INSERT INTO leases (id, fence, holder, expires_at) VALUES (?, 1, '', ?)
	ON CONFLICT (id) DO UPDATE SET fence = fence + 1, holder = '', expires_at = excluded.expires_at
	WHERE leases.expires_at <= ?
	RETURNING fence`

// leaseQuery reads when a lease expires.
const leaseQuery = `SELECT expires_at FROM leases WHERE id = ?`

// unlockQuery releases a lease if it is still the current one: the row
// stays, its fence the counter of the next lease.
const unlockQuery = `UPDATE leases SET holder = '', expires_at = 0 WHERE id = ? AND fence = ?`

// Lock implements store.Store: the lease upsert and the read of the record
// in one BEGIN IMMEDIATE transaction on the synchronous=NORMAL pool, so
// that taking a lease costs no fsync (see "Durability").
func (s *Store) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	// A read first: a held lease is refused without taking the write lock.
	var expires int64
	err := s.on(s.db, nil).QueryRowContext(ctx, leaseQuery, id).Scan(&expires)
	if err == nil && expires > s.now().UnixNano() {
		rec, err := s.getOrNil(ctx, s.on(s.db, nil), id)
		if err != nil {
			return nil, nil, err
		}
		return nil, rec, store.Errorf(store.ErrLocked, "connection %q in %s", id, s.path)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, store.Errorf(err, "cannot read the lease of connection %q in %s", id, s.path)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.ldb.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return nil, nil, store.Errorf(err, "cannot take the lease of connection %q in %s", id, s.path)
	}
	defer tx.Rollback()
	now := s.now()
	var fence int64
	in := s.on(s.ldb, tx)
	err = in.QueryRowContext(ctx, lockQuery, id, now.Add(ttl).UnixNano(), now.UnixNano()).Scan(&fence)
	locked := errors.Is(err, sql.ErrNoRows)
	if err != nil && !locked {
		return nil, nil, store.Errorf(err, "cannot take the lease of connection %q in %s", id, s.path)
	}
	rec, err := s.getOrNil(ctx, in, id)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, store.Errorf(err, "cannot take the lease of connection %q in %s", id, s.path)
	}
	if locked {
		return nil, rec, store.Errorf(store.ErrLocked, "connection %q in %s", id, s.path)
	}
	return &store.Lease{ID: id, Fence: fence}, rec, nil
}

// getOrNil reads record id on q; nil when there is none.
func (s *Store) getOrNil(ctx context.Context, q querier, id string) (*store.Record, error) {
	r, err := scanRecord(q.QueryRowContext(ctx, getQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Errorf(err, "cannot read connection %q from %s", id, s.path)
	}
	return r, nil
}

// Unlock implements store.Store, on the synchronous=NORMAL pool: a lost
// release is a lease that expires.
func (s *Store) Unlock(ctx context.Context, l *store.Lease) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.on(s.ldb, nil).ExecContext(ctx, unlockQuery, l.ID, l.Fence); err != nil {
		return store.Errorf(err, "cannot release the lease of connection %q in %s", l.ID, s.path)
	}
	return nil
}

// claimSweep is the most expired claims one Claim deletes.
const claimSweep = 100

// Claim implements store.Store. In one BEGIN IMMEDIATE transaction it
// deletes up to claimSweep expired claims (through the expires_at index)
// and upserts key, taking over its row only if that claim has expired.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return store.Errorf(err, "cannot claim %q in %s", key, s.path)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM claims WHERE key IN
		(SELECT key FROM claims WHERE expires_at <= ? AND key <> ? ORDER BY expires_at LIMIT ?)`,
		now.UnixNano(), key, claimSweep); err != nil {
		return store.Errorf(err, "cannot remove expired claims in %s", s.path)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO claims (key, expires_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE claims.expires_at <= ?`, key, now.Add(ttl).UnixNano(), now.UnixNano())
	if err != nil {
		return store.Errorf(err, "cannot claim %q in %s", key, s.path)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Errorf(err, "cannot claim %q in %s", key, s.path)
	}
	if err := tx.Commit(); err != nil {
		return store.Errorf(err, "cannot claim %q in %s", key, s.path)
	}
	if n == 0 {
		return store.Errorf(store.ErrClaimed, "key %q in %s", key, s.path)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	var errs []error
	for k, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, k)
	}
	s.stmtMu.Unlock()
	return errors.Join(append(errs, s.ldb.Close(), s.db.Close())...)
}
