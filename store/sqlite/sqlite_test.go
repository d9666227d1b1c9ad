package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/internal/migratetest"
	"github.com/connector-go/connector/store/sqlite"
)

// harness makes each store in its own temporary directory, with the key
// file beside it (no CONNECTOR_ENCRYPTION_KEY).
type harness struct{}

func (harness) MakeStore(ctx context.Context, t testing.TB) (store.Store, error) {
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connector.db"))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Location is the database's path: children open it with store.Open.
func (harness) Location(_ testing.TB, s store.Store) string {
	return s.(*sqlite.Store).Path()
}

// RawValues is every byte on disk: the database, its WAL and shared memory.
func (harness) RawValues(_ context.Context, _ testing.TB, s store.Store) ([][]byte, error) {
	return diskBytes(s.(*sqlite.Store).Path())
}

// ClaimCount counts the rows of the claims table: the disk bytes keep
// deleted rows (free pages, the WAL) until SQLite overwrites them.
func (harness) ClaimCount(ctx context.Context, t testing.TB, s store.Store, substr string) (int, error) {
	db, err := sql.Open("sqlite", s.(*sqlite.Store).Path())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM claims WHERE instr(key, ?) > 0`, substr).Scan(&n)
	return n, err
}

func diskBytes(path string) ([][]byte, error) {
	var out [][]byte
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func TestConformance(t *testing.T) {
	t.Setenv(store.EnvKey, "") // the key file, as a default install has it
	t.Setenv(store.EnvOldKeys, "")
	conformance.TestStore(t, harness{})
}

func TestHelperStoreProcess(t *testing.T) { conformance.StoreHelperProcess(t) }

func TestPath(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	cwd, _ := os.Getwd()
	tests := []struct {
		name, location, want string
	}{
		{"absolute path", "/var/lib/c/connector.db", "/var/lib/c/connector.db"},
		{"relative path", "data/connector.db", filepath.Join(cwd, "data/connector.db")},
		{"unclean path", "/a/b/../c//x.db", "/a/c/x.db"},
		{"home", "~/x/connector.db", filepath.Join(home, "x/connector.db")},
		{"file: relative", "file:rel.db", filepath.Join(cwd, "rel.db")},
		{"file: absolute", "file:/abs/x.db", "/abs/x.db"},
		{"file URL", "file:///abs/x.db", "/abs/x.db"},
		{"file URL localhost", "file://localhost/abs/x.db", "/abs/x.db"},
		{"sqlite URL absolute", "sqlite:///abs/x.db", "/abs/x.db"},
		{"sqlite URL relative", "sqlite://rel/x.db", filepath.Join(cwd, "rel/x.db")},
		{"SQLITE upper case", "SQLITE:///abs/x.db", "/abs/x.db"},
		{"escaped", "file:///abs/a%20b%3F.db", "/abs/a b?.db"},
		{"plain path keeps percent", "/abs/100%.db", "/abs/100%.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqlite.Path(tt.location)
			if err != nil {
				t.Fatalf("Path(%q): %v", tt.location, err)
			}
			if got != tt.want {
				t.Errorf("Path(%q) = %q, want %q", tt.location, got, tt.want)
			}
		})
	}
}

func TestPathErrors(t *testing.T) {
	tests := []struct{ name, location string }{
		{"parameters", "file:///abs/x.db?mode=ro"},
		{"fragment", "sqlite:///abs/x.db#frag"},
		{"empty URL path", "sqlite://"},
		{"bad escape", "file:///abs/%zz.db"},
		// A server's location under the wrong scheme: the error quoted it,
		// password and all (found by FuzzPath).
		{"user and password", "sqlite://app:s3cr3t-Pa55w0rd@db.internal/x.db"},
		{"user and password, parameters", "sqlite://app:s3cr3t-Pa55w0rd@db.internal/x.db?mode=ro"},
		{"user and password, bad escape", "file://app:s3cr3t-Pa55w0rd@db.internal/%zz.db"},
		{"user and password, no path", "SQLITE://:s3cr3t-Pa55w0rd@db.internal?x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlite.Path(tt.location)
			if got := driver.CodeOf(err); got != driver.InvalidConfig {
				t.Errorf("Path(%q) = %v (code %s), want code %s", tt.location, err, got, driver.InvalidConfig)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("Path(%q) error shows the password: %v", tt.location, err)
			}
		})
	}
}

// TestOpenForms opens one database through each form of location that
// store.Open routes to this backend, and sees the same data.
func TestOpenForms(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "with space", "connector.db")
	s, keys, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := keys.Seal("c", []byte("tok"))
	if _, err := s.Put(ctx, &store.Record{ID: "c", Secret: sealed}, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, loc := range []string{path, "file:" + path, "file://" + strings.ReplaceAll(path, " ", "%20"), "sqlite://" + path} {
		t.Run(loc, func(t *testing.T) {
			s, keys, err := store.Open(ctx, loc)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rec, err := s.Get(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := keys.Open("c", rec.Secret); err != nil || string(pt) != "tok" {
				t.Errorf("Open = %q, %v; want tok (the same key file)", pt, err)
			}
		})
	}
}

func TestDefaultLocation(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	t.Setenv(store.EnvKey, "")
	s, _, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want, _ := store.DefaultLocation()
	if got := s.(*sqlite.Store).Path(); got != want {
		t.Errorf("Path = %q, want the default %q", got, want)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestPermissions(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "connector.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := store.KeyringFor(s); err != nil { // creates the key file
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, &store.Record{ID: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{filepath.Dir(dir), 0o700},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
		{filepath.Join(dir, "connector.key"), 0o600},
	} {
		if got := mode(t, c.path); got != c.want {
			t.Errorf("mode of %s = %o, want %o", c.path, got, c.want)
		}
	}
}

// TestNoTokenOnDisk writes a record whose Secret is the Keyring's seal of a
// known token, then reads every byte of the database files: the token is
// not there, in any encoding, though the record's other fields are.
func TestNoTokenOnDisk(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "connector.db")
	s, keys, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const access, refresh = "ACCESS-4f1c2b7e9d3a8c6b", "REFRESH-7d2e9a1b3c5f4e6d"
	sealed, err := keys.Seal("shop-1", []byte(`{"access_token":"`+access+`","refresh_token":"`+refresh+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	rec := &store.Record{ID: "shop-1", Provider: "shopline", Account: "merchant-visible-42", Status: store.Active, Secret: sealed}
	if _, err := s.Put(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		vals, err := diskBytes(path)
		if err != nil {
			t.Fatal(err)
		}
		all := bytes.Join(vals, nil)
		if !bytes.Contains(all, []byte("merchant-visible-42")) {
			t.Fatalf("%s: the account is not on disk either: the check reads the wrong files", when)
		}
		for _, tok := range []string{access, refresh} {
			for _, enc := range encodings(tok) {
				if bytes.Contains(all, []byte(enc)) {
					t.Errorf("%s: token %q is on disk as %q", when, tok, enc)
				}
			}
		}
	}
	check("in the WAL")
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	check("after checkpoint")
}

func encodings(s string) []string {
	return []string{s, fmt.Sprintf("%x", s), fmt.Sprintf("%X", s)}
}

func TestSchema(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "connector.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, &store.Record{ID: "kept"}, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if d := cmp.Diff([]string{"claims", "connections", "leases", "schema_version"}, tables); d != "" {
		t.Errorf("tables (-want +got):\n%s", d)
	}
	var jm string
	db.QueryRow(`PRAGMA journal_mode`).Scan(&jm)
	if jm != "wal" {
		t.Errorf("journal_mode = %q, want wal", jm)
	}

	// Reopening keeps the data and migrates nothing twice.
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "kept"); err != nil {
		t.Errorf("after reopen: %v", err)
	}
	s.Close()
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&n)
	if n != sqlite.SchemaVersion {
		t.Errorf("schema_version has %d rows, want %d", n, sqlite.SchemaVersion)
	}

	// A newer schema is refused, not misread.
	if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a schema from the future = %v, want an error saying it is newer", err)
	}
}

// The schema as versions 1, 2 and 3 of this package created it, frozen here:
// the migration tests write stores from these statements, not from
// today's migrations, so that a change to those cannot hide a store that
// no longer opens.
var (
	schemaV1 = []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`,
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
		`INSERT INTO schema_version (version) VALUES (1)`,
	}
	schemaV2 = append(append([]string(nil), schemaV1...),
		`CREATE TABLE claims (
			key        TEXT    PRIMARY KEY,
			expires_at INTEGER NOT NULL
		)`,
		`CREATE INDEX claims_expires_at ON claims (expires_at)`,
		`INSERT INTO schema_version (version) VALUES (2)`,
	)
	schemaV3 = append(append([]string(nil), schemaV2...),
		`ALTER TABLE connections ADD COLUMN app       TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE connections ADD COLUMN namespace TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE connections ADD COLUMN ref       TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE connections ADD COLUMN tags      TEXT NOT NULL DEFAULT '[]'`,
		`CREATE INDEX connections_app_ref ON connections (app, namespace, ref)`,
		`INSERT INTO schema_version (version) VALUES (3)`,
	)
)

// oldRecord is a connection as versions 1 and 2 wrote it: every column
// they had (version 3 wrote them so too when the application was unknown).
type oldRecord struct {
	id, provider, account, scopes, status, reason string
	expiry                                        sql.NullInt64
	version, created, updated                     int64
}

var oldRecords = []oldRecord{
	{"shopline:merchant-42", "shopline", "merchant-42", `["products","orders"]`, "active", "",
		sql.NullInt64{Int64: time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano(), Valid: true},
		3, time.Date(2025, 5, 1, 0, 0, 0, 1, time.UTC).UnixNano(), time.Date(2025, 6, 1, 0, 0, 0, 2, time.UTC).UnixNano()},
	{"ns/legacy/jumpseller:store code", "jumpseller", "store code", `[]`, "needs_reauth", "invalid_grant: revoked",
		sql.NullInt64{}, 1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()},
}

// want is the record the current code must read from r, its token sealed
// in secret: what it was, with no application, reference or tags.
func (r oldRecord) want(t *testing.T, secret []byte) *store.Record {
	t.Helper()
	rec := &store.Record{ID: r.id, Provider: r.provider, Account: r.account, Status: store.Status(r.status), Reason: r.reason,
		Secret: secret, Version: r.version, CreatedAt: time.Unix(0, r.created).UTC(), UpdatedAt: time.Unix(0, r.updated).UTC()}
	if err := json.Unmarshal([]byte(r.scopes), &rec.Scopes); err != nil {
		t.Fatal(err)
	}
	if r.expiry.Valid {
		rec.Expiry = time.Unix(0, r.expiry.Int64).UTC()
	}
	return rec
}

// writeOldStore makes, at path, a store as the given frozen schema left it
// (the file mode 0600, in WAL mode, with its key file), holding oldRecords
// with their tokens (migratetest.Token) sealed, a lease row on the first
// one at fence migratetest.OldFence and, from version 2, an unexpired
// claim of migratetest.OldClaim. It returns what it left.
func writeOldStore(t *testing.T, path string, schema []string) migratetest.Old {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	keys, err := store.KeyringForFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range schema {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old := migratetest.Old{Due: oldRecords[0].id, Leased: oldRecords[0].id, Fence: migratetest.OldFence}
	for _, r := range oldRecords {
		sealed, err := keys.Seal(r.id, []byte(migratetest.Token(r.id)))
		if err != nil {
			t.Fatal(err)
		}
		old.Records = append(old.Records, r.want(t, sealed))
		if _, err := db.Exec(`INSERT INTO connections (id, provider, account, scopes, status, reason, expiry, secret, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.id, r.provider, r.account, r.scopes, r.status, r.reason, r.expiry, sealed, r.version, r.created, r.updated); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO leases (id, fence, holder, expires_at) VALUES (?, ?, '', 0)`, old.Leased, old.Fence); err != nil {
		t.Fatal(err)
	}
	if len(schema) > len(schemaV1) {
		old.Claim = migratetest.OldClaim
		if _, err := db.Exec(`INSERT INTO claims (key, expires_at) VALUES (?, ?)`, old.Claim, time.Now().Add(time.Hour).UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	return old
}

// schemaOf returns the versions in schema_version and the columns of
// connections of the database at path.
func schemaOf(t *testing.T, path string) (versions []int, columns []string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		versions = append(versions, v)
	}
	rows.Close()
	rows, err = db.Query(`SELECT name FROM pragma_table_info('connections') ORDER BY cid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		columns = append(columns, c)
	}
	rows.Close()
	return versions, columns
}

// TestMigrate opens stores written by schema versions 1, 2 and 3 (from the
// frozen statements above): the migration runs, every connection comes
// back as it was, with no application, reference or tags and its token
// opening under the key file, the due query finds the active one through
// the index connections_due, its lease's fence counter goes on, a write
// with the new fields round-trips, and a second open changes nothing.
func TestMigrate(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	t.Setenv(store.EnvOldKeys, "")
	wantColumns := []string{"id", "provider", "account", "scopes", "status", "reason", "expiry", "secret", "version",
		"created_at", "updated_at", "app", "namespace", "ref", "tags"}
	tests := []struct {
		name   string
		schema []string
	}{
		{"from version 1", schemaV1},
		{"from version 2", schemaV2},
		{"from version 3", schemaV3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "connector.db")
			old := writeOldStore(t, path, tt.schema)

			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatalf("Open of the old store: %v", err)
			}
			migratetest.CheckOldRecords(t, s, old)
			versions, columns := schemaOf(t, path)
			if d := cmp.Diff([]int{1, 2, 3, 4}, versions); d != "" || sqlite.SchemaVersion != 4 {
				t.Errorf("schema_version (SchemaVersion %d) (-want +got):\n%s", sqlite.SchemaVersion, d)
			}
			if d := cmp.Diff(wantColumns, columns); d != "" {
				t.Errorf("columns of connections (-want +got):\n%s", d)
			}
			rec, got := migratetest.CheckMigrated(t, s, old)
			var index string
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var planID, parent, notUsed int
			if err := db.QueryRow(`EXPLAIN QUERY PLAN SELECT id FROM connections WHERE app = ? AND namespace = ? AND ref = ?`,
				rec.App, rec.Namespace, rec.Ref).Scan(&planID, &parent, &notUsed, &index); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(index, "connections_app_ref") {
				t.Errorf("a lookup by (app, namespace, ref) is planned as %q, want the index connections_app_ref", index)
			}
			if plan := duePlan(t, db); !strings.Contains(plan, "INDEX connections_due") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("the due query is planned as %q, want the index connections_due in its order (no sort)", plan)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// A second open migrates nothing and changes nothing.
			migratetest.CheckReopened(t, func() (store.Store, error) { return sqlite.Open(ctx, path) }, got)
			versions, columns = schemaOf(t, path)
			if d := cmp.Diff([]int{1, 2, 3, 4}, versions); d != "" {
				t.Errorf("schema_version after a second Open (-want +got):\n%s", d)
			}
			if d := cmp.Diff(wantColumns, columns); d != "" {
				t.Errorf("columns of connections after a second Open (-want +got):\n%s", d)
			}
		})
	}
}

// duePlan returns SQLite's plan for the store's due query, its steps
// joined by "; ".
func duePlan(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT * FROM connections
		WHERE status = 'active' AND expiry IS NOT NULL AND expiry <= ? ORDER BY expiry, id LIMIT ?`, time.Now().UnixNano(), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, "; ")
}

// TestConcurrentFirstUse starts several processes on a database that does
// not exist yet: each creates the file, the key file and the schema as if
// first, and writes one record. All must succeed and share one key.
func TestConcurrentFirstUse(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	path := filepath.Join(t.TempDir(), "sub", "connector.db")
	firstUse(t, path, 6)
}

// TestConcurrentMigration starts several processes on a store written by
// schema version 2: they migrate it once, between them, and each writes
// one record with the new fields; the old connections are kept.
func TestConcurrentMigration(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	t.Setenv(store.EnvOldKeys, "")
	path := filepath.Join(t.TempDir(), "connector.db")
	old := writeOldStore(t, path, schemaV2)
	firstUse(t, path, 6)
	versions, _ := schemaOf(t, path)
	if d := cmp.Diff([]int{1, 2, 3, 4}, versions); d != "" {
		t.Errorf("schema_version (-want +got):\n%s", d)
	}
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, want := range old.Records {
		got, err := s.Get(context.Background(), want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("Get(%q) (-want +got):\n%s", want.ID, d)
		}
	}
}

// firstUse runs procs processes that each open the store at path and write
// one record, c0, c1, …, with a reference and tags, and checks that all
// succeeded and their records open under one key.
func firstUse(t *testing.T, path string, procs int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, procs)
	outs := make([]bytes.Buffer, procs)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFirstUse$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SQLITE_FIRST_USE_PATH="+path, "SQLITE_FIRST_USE_ID=c"+strconv.Itoa(i))
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		wg.Go(func() { errs[i] = cmd.Run() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || !strings.Contains(outs[i].String(), "first-use-ok") {
			t.Errorf("process %d: %v\n%s", i, err, outs[i].String())
		}
	}
	s, keys, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for i := range procs {
		id := "c" + strconv.Itoa(i)
		r, err := s.Get(context.Background(), id)
		if err != nil {
			t.Errorf("record %s: %v", id, err)
			continue
		}
		n++
		if pt, err := keys.Open(r.ID, r.Secret); err != nil || string(pt) != "token-"+r.ID {
			t.Errorf("record %s: Open = %q, %v (all processes must share one key file)", r.ID, pt, err)
		}
		if r.Ref != "ref/"+id+":1" || !slices.Equal(r.Tags, []string{"t:" + id}) {
			t.Errorf("record %s: Ref %q, Tags %q; want those it was written with", id, r.Ref, r.Tags)
		}
	}
	if n != procs {
		t.Fatalf("%d records, want %d", n, procs)
	}
}

func TestHelperFirstUse(t *testing.T) {
	path := os.Getenv("SQLITE_FIRST_USE_PATH")
	if path == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := os.Getenv("SQLITE_FIRST_USE_ID")
	s, keys, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sealed, err := keys.Seal(id, []byte("token-"+id))
	if err != nil {
		t.Fatal(err)
	}
	rec := &store.Record{ID: id, App: "client-id", Ref: "ref/" + id + ":1", Tags: []string{"t:" + id}, Secret: sealed}
	if _, err := s.Put(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	fmt.Println("first-use-ok")
}

func TestEnvKeyWins(t *testing.T) {
	key := store.NewRandomKey()
	t.Setenv(store.EnvKey, encodeKey(key))
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys, err := store.KeyringFor(s)
	if err != nil {
		t.Fatal(err)
	}
	if keys.CurrentKeyID() != store.KeyID(key) {
		t.Errorf("keyring uses key %08x, want the environment's %08x", keys.CurrentKeyID(), store.KeyID(key))
	}
	if _, err := os.Stat(filepath.Join(dir, "connector.key")); !os.IsNotExist(err) {
		t.Errorf("a key file was created though %s is set (stat: %v)", store.EnvKey, err)
	}
}

func encodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// plantFile writes data to path and sets its mode exactly (no umask).
func plantFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// ownStore creates the store at db as store.Open does (its key file
// included), with one record, and closes it: the files the store made
// itself.
func ownStore(t *testing.T, db string) {
	t.Helper()
	s, _, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), &store.Record{ID: "own"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// refusal is what a test checks of the error of a refused file.
type refusal struct {
	Code      driver.Code
	NamesFile bool // the message names the refused file
	NamesFix  bool // and says how to fix it
}

// TestRefusesPlantedFiles plants, where the store looks, files that another
// user could leave in a directory both can write to: Open must refuse each
// with an InvalidConfig error that names the file and the fix, and never
// holds the planted key. Today's store used each of them as it was.
func TestRefusesPlantedFiles(t *testing.T) {
	t.Setenv(store.EnvKey, "") // the key file, as a default install has it
	t.Setenv(store.EnvOldKeys, "")
	plantedKey := store.NewRandomKey() // a key another user chose, and knows
	keyFile := []byte(encodeKey(plantedKey) + "\n")
	key := func(db string) string { return filepath.Join(filepath.Dir(db), "connector.key") }
	chmod := func(p string) string { return "chmod 600 " + p }
	chown := func(p string) string { return fmt.Sprintf("chown %d %s", os.Geteuid(), p) }
	const link = "replace the link with a regular file of your own"
	tests := []struct {
		name     string
		needRoot bool // to chown a file to another user
		// plant plants a file beside db and returns it; elsewhere, if not
		// empty, is a path that the refused Open must not have created.
		plant func(t *testing.T, db string) (file, elsewhere string)
		fix   func(file string) string
	}{
		{"key-file-0644", false, func(t *testing.T, db string) (string, string) {
			plantFile(t, key(db), keyFile, 0o644)
			return key(db), ""
		}, chmod},
		{"database-0666", false, func(t *testing.T, db string) (string, string) {
			plantFile(t, db, nil, 0o666)
			return db, ""
		}, chmod},
		{"symlinked-key-file", false, func(t *testing.T, db string) (string, string) {
			target := filepath.Join(t.TempDir(), "planted.key")
			plantFile(t, target, keyFile, 0o600)
			if err := os.Symlink(target, key(db)); err != nil {
				t.Fatal(err)
			}
			return key(db), ""
		}, func(string) string { return link }},
		{"symlinked-database", false, func(t *testing.T, db string) (string, string) {
			target := filepath.Join(t.TempDir(), "planted.db")
			plantFile(t, target, nil, 0o600)
			if err := os.Symlink(target, db); err != nil {
				t.Fatal(err)
			}
			return db, ""
		}, func(string) string { return link }},
		{"dangling-symlinked-database", false, func(t *testing.T, db string) (string, string) {
			target := filepath.Join(t.TempDir(), "chosen-by-another.db")
			if err := os.Symlink(target, db); err != nil {
				t.Fatal(err)
			}
			return db, target
		}, func(string) string { return link }},
		{"dangling-symlinked-key-file", false, func(t *testing.T, db string) (string, string) {
			target := filepath.Join(t.TempDir(), "chosen-by-another.key")
			if err := os.Symlink(target, key(db)); err != nil {
				t.Fatal(err)
			}
			return key(db), target
		}, func(string) string { return link }},
		{"wal-0644", false, func(t *testing.T, db string) (string, string) {
			ownStore(t, db)
			plantFile(t, db+"-wal", nil, 0o644)
			return db + "-wal", ""
		}, chmod},
		{"shm-0606", false, func(t *testing.T, db string) (string, string) {
			ownStore(t, db)
			plantFile(t, db+"-shm", nil, 0o606)
			return db + "-shm", ""
		}, chmod},
		{"journal-0644", false, func(t *testing.T, db string) (string, string) {
			ownStore(t, db)
			plantFile(t, db+"-journal", nil, 0o644)
			return db + "-journal", ""
		}, chmod},
		{"group-writable-database", false, func(t *testing.T, db string) (string, string) {
			ownStore(t, db)
			if err := os.Chmod(db, 0o620); err != nil {
				t.Fatal(err)
			}
			return db, ""
		}, chmod},
		{"group-readable-key-file", false, func(t *testing.T, db string) (string, string) {
			ownStore(t, db)
			if err := os.Chmod(key(db), 0o640); err != nil {
				t.Fatal(err)
			}
			return key(db), ""
		}, chmod},
		{"database-of-another-user", true, func(t *testing.T, db string) (string, string) {
			plantFile(t, db, nil, 0o600)
			if err := os.Chown(db, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return db, ""
		}, chown},
		{"key-file-of-another-user", true, func(t *testing.T, db string) (string, string) {
			plantFile(t, key(db), keyFile, 0o600)
			if err := os.Chown(key(db), 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return key(db), ""
		}, chown},
		{"wal-of-another-user", true, func(t *testing.T, db string) (string, string) {
			ownStore(t, db)
			plantFile(t, db+"-wal", nil, 0o600)
			if err := os.Chown(db+"-wal", 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return db + "-wal", ""
		}, chown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot && os.Geteuid() != 0 {
				t.Skip("chown to another user needs root")
			}
			db := filepath.Join(t.TempDir(), "connector.db")
			file, elsewhere := tt.plant(t, db)
			s, _, err := store.Open(context.Background(), db) // the key file too
			if err == nil {
				s.Close()
				t.Fatalf("Open with a planted %s succeeded; want it refused", file)
			}
			t.Logf("refused: %v", err)
			msg := err.Error()
			got := refusal{driver.CodeOf(err), strings.Contains(msg, file), strings.Contains(msg, tt.fix(file))}
			if d := cmp.Diff(refusal{driver.InvalidConfig, true, true}, got); d != "" {
				t.Errorf("Open: %v\nwant it to name %s and the fix %q (-want +got):\n%s", err, file, tt.fix(file), d)
			}
			for _, form := range []string{encodeKey(plantedKey), string(plantedKey)} {
				if strings.Contains(msg, form) {
					t.Errorf("the error holds the planted key: %v", err)
				}
			}
			if elsewhere != "" {
				if _, err := os.Lstat(elsewhere); !os.IsNotExist(err) {
					t.Errorf("Open created %s, where the planted link pointed (Lstat: %v)", elsewhere, err)
				}
			}
		})
	}
}

// TestOwnFilesReopen opens, again and again, a store that Open created: its
// own database, key file and SQLite's own -wal and -shm files (present
// while another handle is open) must never be refused, nor a store reached
// through a symbolic link to its directory (only the files themselves are
// checked).
func TestOwnFilesReopen(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	t.Setenv(store.EnvOldKeys, "")
	ctx := context.Background()
	real := filepath.Join(t.TempDir(), "real")
	viaLink := filepath.Join(t.TempDir(), "link")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, viaLink); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{real, viaLink} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			db := filepath.Join(dir, "connector.db")
			first, keys, err := store.Open(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			sealed, _ := keys.Seal(dir, []byte("tok"))
			if _, err := first.Put(ctx, &store.Record{ID: dir, Secret: sealed}, 0); err != nil {
				t.Fatal(err)
			}
			for _, suffix := range []string{"-wal", "-shm"} {
				if _, err := os.Lstat(db + suffix); err != nil {
					t.Fatalf("SQLite's %s file is not there while the store is open: %v", suffix, err)
				}
			}
			for i := range 3 {
				s, keys, err := store.Open(ctx, db) // while first is open, then after it closes
				if err != nil {
					t.Fatalf("reopen %d: %v", i, err)
				}
				rec, err := s.Get(ctx, dir)
				if err != nil {
					t.Fatalf("reopen %d: %v", i, err)
				}
				if pt, err := keys.Open(dir, rec.Secret); err != nil || string(pt) != "tok" {
					t.Errorf("reopen %d: Open = %q, %v; want tok", i, pt, err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first.Close()
				}
			}
		})
	}
}

// TestOpenExisting checks that store.OpenExisting (the backend opened with
// store.OpenOptions{Existing: true}) creates nothing: no directory, no
// database, no key file, no table; and that it opens a store that is there,
// with the key it was written with.
func TestOpenExisting(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	t.Setenv(store.EnvOldKeys, "")
	ctx := context.Background()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other", "app.db")
	if err := os.Mkdir(filepath.Dir(other), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", other)
	if err == nil {
		_, err = db.Exec(`CREATE TABLE t (x INTEGER)`)
		db.Close()
	}
	if err == nil {
		err = os.Chmod(other, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		noDir      bool // the directory of path does not exist, and must not after
	}{
		{"no directory", filepath.Join(dir, "absent", "connector.db"), true},
		{"no file", filepath.Join(dir, "nofile", "connector.db"), false},
		{"an empty file", empty, false},
		{"another application's database", other, false},
	}
	if err := os.Mkdir(filepath.Join(dir, "nofile"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadDir(filepath.Dir(tt.path))
			_, _, err := store.OpenExisting(ctx, tt.path)
			if !errors.Is(err, store.ErrNoStore) || driver.CodeOf(err) != driver.NotFound || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("OpenExisting(%q) = %v, want store.ErrNoStore (NotFound) naming the path", tt.path, err)
			}
			after, err := os.ReadDir(filepath.Dir(tt.path))
			if tt.noDir {
				if !os.IsNotExist(err) {
					t.Errorf("OpenExisting created the directory %s", filepath.Dir(tt.path))
				}
				return
			}
			var names []string
			for _, e := range after {
				if !slices.ContainsFunc(before, func(b os.DirEntry) bool { return b.Name() == e.Name() }) {
					names = append(names, e.Name())
				}
			}
			if d := cmp.Diff([]string(nil), names, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("files OpenExisting created (-want +got):\n%s", d)
			}
			if tt.path == empty {
				if fi, _ := os.Stat(empty); fi.Size() != 0 {
					t.Errorf("OpenExisting wrote %d bytes into an empty file", fi.Size())
				}
			}
		})
	}
	t.Run("an existing store", func(t *testing.T) {
		path := filepath.Join(dir, "store", "connector.db")
		s, keys, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, got, err := store.OpenExisting(ctx, path)
		if err != nil {
			t.Fatalf("OpenExisting of an existing store: %v", err)
		}
		defer s.Close()
		if got.CurrentKeyID() != keys.CurrentKeyID() {
			t.Errorf("OpenExisting keyring %08x, want the store's %08x", got.CurrentKeyID(), keys.CurrentKeyID())
		}
	})
}
