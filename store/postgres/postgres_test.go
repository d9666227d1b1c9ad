package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/postgres"

	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os/exec"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/store/internal/leaktest"
	"github.com/connector-go/connector/store/internal/migratetest"
)

// TestMain says, when the tests end, whether they found no PostgreSQL server.
func TestMain(m *testing.M) { testenv.Main(m) }

// The server the tests use: CONNECTOR_TEST_POSTGRES, or the local one.
func baseDSN() string {
	if v := os.Getenv("CONNECTOR_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test"
}

var (
	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error
)

// server returns a pool on the test server, or skips the test when there is
// none — except in CI, where an absent service is a failure.
func server(t testing.TB) *pgxpool.Pool {
	t.Helper()
	adminOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		admin, adminErr = pgxpool.New(ctx, baseDSN())
		if adminErr == nil {
			adminErr = admin.Ping(ctx)
		}
	})
	if adminErr != nil {
		msg := fmt.Sprintf("PostgreSQL is not reachable at %s (%v); start one (e.g. docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16) or set CONNECTOR_TEST_POSTGRES", redactDSN(baseDSN()), adminErr)
		testenv.Absent(t, "PostgreSQL", msg)
	}
	return admin
}

func redactDSN(dsn string) string {
	if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"); i >= 0 && j > i {
		if k := strings.Index(dsn[i+3:j], ":"); k >= 0 {
			return dsn[:i+3+k+1] + "xxxxx" + dsn[j:]
		}
	}
	return dsn
}

// freshSchema returns an unused schema name, dropped when the test ends.
func freshSchema(t testing.TB) string {
	pool := server(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "connector_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func location(schema string) string {
	sep := "?"
	if strings.Contains(baseDSN(), "?") {
		sep = "&"
	}
	return baseDSN() + sep + "schema=" + schema
}

type harness struct{}

func (harness) MakeStore(ctx context.Context, t testing.TB) (store.Store, error) {
	s, err := postgres.Open(ctx, location(freshSchema(t)))
	return s, err
}

func (harness) Location(_ testing.TB, s store.Store) string {
	return location(s.(*postgres.Store).Schema())
}

// RawValues is every row of every table in the store's schema, each
// rendered as PostgreSQL's text form (bytea as \x hex), as a dump has it.
func (harness) RawValues(ctx context.Context, t testing.TB, s store.Store) ([][]byte, error) {
	return dumpSchema(ctx, server(t), s.(*postgres.Store).Schema())
}

func dumpSchema(ctx context.Context, pool *pgxpool.Pool, schema string) ([][]byte, error) {
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, tbl := range tables {
		rows, err := pool.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{schema, tbl}.Sanitize()+` t`)
		if err != nil {
			return nil, err
		}
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			out = append(out, []byte(v))
		}
	}
	return out, nil
}

func setKey(t *testing.T) *store.Keyring {
	key := store.NewRandomKey()
	t.Setenv(store.EnvKey, base64.StdEncoding.EncodeToString(key))
	t.Setenv(store.EnvOldKeys, "")
	k, err := store.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestConformance(t *testing.T) {
	server(t)
	setKey(t)
	conformance.TestStore(t, harness{})
}

func TestHelperStoreProcess(t *testing.T) { conformance.StoreHelperProcess(t) }

func TestParseLocation(t *testing.T) {
	tests := []struct {
		name, location string
		want           postgres.Location
	}{
		{"default schema", "postgres://u@h/db", postgres.Location{DSN: "postgres://u@h/db", Schema: "connector"}},
		{"schema", "postgres://u@h/db?schema=tenant_7", postgres.Location{DSN: "postgres://u@h/db", Schema: "tenant_7"}},
		{"postgresql scheme", "postgresql://u@h:5433/db?schema=x", postgres.Location{DSN: "postgresql://u@h:5433/db", Schema: "x"}},
		{"libpq parameters kept", "postgres://u@h/db?sslmode=require&schema=s&application_name=app",
			postgres.Location{DSN: "postgres://u@h/db?application_name=app&sslmode=require", Schema: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := postgres.ParseLocation(tt.location)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, *got, cmp.AllowUnexported(postgres.Location{}), cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".password"
			}, cmp.Ignore())); d != "" {
				t.Errorf("ParseLocation(%q) (-want +got):\n%s", tt.location, d)
			}
		})
	}
}

func TestParseLocationErrors(t *testing.T) {
	tests := []struct{ name, location, want string }{
		{"semicolon", "postgres://u:hunter2@h/db?schema=a;drop", "malformed parameters"},
		{"bad schema", "postgres://u:hunter2@h/db?schema=a-b", "schema must be"},
		{"quoted schema", `postgres://u:hunter2@h/db?schema="x"`, "schema must be"},
		{"two schemas", "postgres://u:hunter2@h/db?schema=a&schema=b", "schema must be"},
		{"redis prefix", "postgres://u:hunter2@h/db?prefix=x", `parameter "prefix" is not supported; use schema=`},
		{"table prefix", "postgres://u:hunter2@h/db?table_prefix=x", "use schema="},
		{"search_path", "postgres://u:hunter2@h/db?search_path=x", "use schema="},
		{"unknown connector parameter", "postgres://u:hunter2@h/db?connector_schema=x", `unknown connector parameter "connector_schema"`},
		{"bad url", "postgres://u:hunter2@h:port/db", "not a valid URL"},
		{"wrong scheme", "mysql://u:hunter2@h/db", "want postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgres.ParseLocation(tt.location)
			if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseLocation(%q) = %v, want an InvalidConfig error containing %q", tt.location, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error holds the password: %v", err)
			}
		})
	}
}

func TestOpenWithoutKey(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	_, _, err := store.Open(context.Background(), "postgres://u:hunter2@127.0.0.1:1/db")
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), store.EnvKey) {
		t.Fatalf("Open without a key = %v, want an InvalidConfig error that names %s", err, store.EnvKey)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error holds the password: %v", err)
	}
}

// TestPasswordNotInErrors fails to connect and to parse with a password in
// the DSN, and looks for it in the errors.
func TestPasswordNotInErrors(t *testing.T) {
	setKey(t)
	const pw = "s3cr3t-Pa55w0rd"
	for _, loc := range []string{
		"postgres://app:" + pw + "@127.0.0.1:1/db?connect_timeout=1",
		"postgresql://app:" + pw + "@127.0.0.1:1/db?sslmode=bogus",
		"postgres://app:" + pw + "@127.0.0.1:1/db?pool_max_conns=x",
		"postgres://app:" + pw + "@[::1/db",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := store.Open(ctx, loc)
		cancel()
		if err == nil {
			t.Errorf("Open(%s) succeeded", redactDSN(loc))
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open error holds the password: %v", err)
		}
		t.Logf("%v", err)
	}
}

// TestConcurrentMigration opens one schema from 8 goroutines (8 pools) at
// once, new or written by schema version 2: the advisory lock makes
// exactly one of them migrate, and the old connections are kept.
func TestConcurrentMigration(t *testing.T) {
	pool := server(t)
	setKey(t)
	tests := []struct {
		name   string
		schema []string // statements that make the store before; nil for none
	}{
		{"new schema", nil},
		{"from version 2", schemaV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema := freshSchema(t)
			ctx := context.Background()
			var old migratetest.Old
			if tt.schema != nil {
				old = writeOldSchema(t, pool, schema, tt.schema)
			}
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() {
					s, err := postgres.Open(ctx, location(schema))
					if err == nil {
						_, err = s.Put(ctx, &store.Record{ID: fmt.Sprint("c", i), App: "client-id", Ref: fmt.Sprint("ref/", i), Tags: []string{"t"}}, 0)
						s.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("opener %d: %v", i, err)
				}
			}
			var want []int32
			for v := 1; v <= postgres.SchemaVersion; v++ {
				want = append(want, int32(v))
			}
			if d := cmp.Diff(want, migrationsOf(t, pool, schema)); d != "" {
				t.Errorf("schema_migrations (-want +got):\n%s", d)
			}
			if tt.schema == nil {
				return
			}
			s, err := postgres.Open(ctx, location(schema))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, want := range old.Records {
				got, err := s.Get(ctx, want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("Get(%q) (-want +got):\n%s", want.ID, d)
				}
			}
		})
	}
}

// The schema as versions 1, 2 and 3 of this package created it (%[1]s is the
// quoted schema), frozen here: the migration tests write stores from these
// statements, not from today's migrations, so that a change to those cannot
// hide a store that no longer opens.
var (
	schemaV1 = []string{
		`CREATE SCHEMA %[1]s`,
		`CREATE TABLE %[1]s.schema_migrations (
			version    integer     PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`,
		`CREATE TABLE %[1]s.connections (
			id         text        PRIMARY KEY,
			provider   text        NOT NULL,
			account    text        NOT NULL,
			scopes     text[]      NOT NULL,
			status     text        NOT NULL,
			reason     text        NOT NULL,
			expiry     timestamptz,
			secret     bytea       NOT NULL,
			version    bigint      NOT NULL,
			created_at timestamptz NOT NULL,
			updated_at timestamptz NOT NULL
		)`,
		`CREATE TABLE %[1]s.leases (
			id         text        PRIMARY KEY,
			fence      bigint      NOT NULL,
			holder     text        NOT NULL,
			expires_at timestamptz NOT NULL
		)`,
		`INSERT INTO %[1]s.schema_migrations (version) VALUES (1)`,
	}
	schemaV2 = append(append([]string(nil), schemaV1...),
		`CREATE TABLE %[1]s.claims (
			key        text        PRIMARY KEY,
			expires_at timestamptz NOT NULL
		)`,
		`CREATE INDEX claims_expires_at ON %[1]s.claims (expires_at)`,
		`INSERT INTO %[1]s.schema_migrations (version) VALUES (2)`,
	)
	schemaV3 = append(append([]string(nil), schemaV2...),
		`ALTER TABLE %[1]s.connections
			ADD COLUMN app       text   NOT NULL DEFAULT '',
			ADD COLUMN namespace text   NOT NULL DEFAULT '',
			ADD COLUMN ref       text   NOT NULL DEFAULT '',
			ADD COLUMN tags      text[] NOT NULL DEFAULT '{}'`,
		`CREATE INDEX connections_app_ref ON %[1]s.connections (app, namespace, ref)`,
		`INSERT INTO %[1]s.schema_migrations (version) VALUES (3)`,
	)
)

// oldRecord is a connection as versions 1 and 2 wrote it: every column
// they had.
type oldRecord struct {
	id, provider, account string
	scopes                []string
	status, reason        string
	expiry                *time.Time
	version               int64
	created, updated      time.Time
}

func ptr[T any](v T) *T { return &v }

var oldRecords = []oldRecord{
	{"shopline:merchant-42", "shopline", "merchant-42", []string{"products", "orders"}, "active", "",
		ptr(time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)), 3,
		time.Date(2025, 5, 1, 0, 0, 0, 1000, time.UTC), time.Date(2025, 6, 1, 0, 0, 0, 2000, time.UTC)},
	{"ns/legacy/jumpseller:store code", "jumpseller", "store code", []string{}, "needs_reauth", "invalid_grant: revoked",
		nil, 1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
}

// want is the record the current code must read from r, its token sealed
// in secret: what it was, with no application, reference or tags.
func (r oldRecord) want(secret []byte) *store.Record {
	rec := &store.Record{ID: r.id, Provider: r.provider, Account: r.account, Scopes: r.scopes, Status: store.Status(r.status),
		Reason: r.reason, Secret: secret, Version: r.version, CreatedAt: r.created, UpdatedAt: r.updated}
	if r.expiry != nil {
		rec.Expiry = *r.expiry
	}
	return rec
}

// writeOldSchema makes, in schema, a store as the given frozen statements
// left it, holding oldRecords with their tokens (migratetest.Token) sealed
// under the key of the environment, a lease row on the first one at fence
// migratetest.OldFence and, from version 2, an unexpired claim of
// migratetest.OldClaim. It returns what it left.
func writeOldSchema(t *testing.T, pool *pgxpool.Pool, schema string, stmts []string) migratetest.Old {
	t.Helper()
	ctx := context.Background()
	qs := pgx.Identifier{schema}.Sanitize()
	for _, q := range stmts {
		if _, err := pool.Exec(ctx, fmt.Sprintf(q, qs)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	keys, err := store.KeyringFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	old := migratetest.Old{Due: oldRecords[0].id, Leased: oldRecords[0].id, Fence: migratetest.OldFence}
	for _, r := range oldRecords {
		sealed, err := keys.Seal(r.id, []byte(migratetest.Token(r.id)))
		if err != nil {
			t.Fatal(err)
		}
		old.Records = append(old.Records, r.want(sealed))
		if _, err := pool.Exec(ctx, `INSERT INTO `+qs+`.connections
			(id, provider, account, scopes, status, reason, expiry, secret, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			r.id, r.provider, r.account, r.scopes, r.status, r.reason, r.expiry, sealed, r.version, r.created, r.updated); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO `+qs+`.leases (id, fence, holder, expires_at) VALUES ($1, $2, '', '-infinity')`, old.Leased, old.Fence); err != nil {
		t.Fatal(err)
	}
	if len(stmts) > len(schemaV1) {
		old.Claim = migratetest.OldClaim
		if _, err := pool.Exec(ctx, `INSERT INTO `+qs+`.claims (key, expires_at) VALUES ($1, now() + interval '1 hour')`, old.Claim); err != nil {
			t.Fatal(err)
		}
	}
	return old
}

func migrationsOf(t *testing.T, pool *pgxpool.Pool, schema string) []int32 {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `SELECT version FROM `+pgx.Identifier{schema}.Sanitize()+`.schema_migrations ORDER BY version`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return versions
}

// column is a column of connections as information_schema describes it.
type column struct{ Name, Type, Default string }

func columnsOf(t *testing.T, pool *pgxpool.Pool, schema string) []column {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `SELECT column_name, data_type, COALESCE(column_default, '')
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'connections' ORDER BY ordinal_position`, schema)
	cols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[column])
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

// TestMigrate opens schemas written by schema versions 1, 2 and 3 (from
// the frozen statements above): the migration runs, every connection comes
// back as it was, with no application, reference or tags and its token
// opening, the index connections_due exists and the due query finds the
// active connection, its lease's fence counter goes on, a write with the
// new fields round-trips, and a second open changes nothing.
func TestMigrate(t *testing.T) {
	pool := server(t)
	setKey(t)
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
			schema := freshSchema(t)
			old := writeOldSchema(t, pool, schema, tt.schema)

			s, err := postgres.Open(ctx, location(schema))
			if err != nil {
				t.Fatalf("Open of the old schema: %v", err)
			}
			migratetest.CheckOldRecords(t, s, old)
			if d := cmp.Diff([]int32{1, 2, 3, 4}, migrationsOf(t, pool, schema)); d != "" || postgres.SchemaVersion != 4 {
				t.Errorf("schema_migrations (SchemaVersion %d) (-want +got):\n%s", postgres.SchemaVersion, d)
			}
			cols := columnsOf(t, pool, schema)
			wantNew := []column{{"app", "text", "''::text"}, {"namespace", "text", "''::text"}, {"ref", "text", "''::text"}, {"tags", "ARRAY", "'{}'::text[]"}}
			if len(cols) != 15 {
				t.Fatalf("connections has %d columns, want 15: %v", len(cols), cols)
			}
			if d := cmp.Diff(wantNew, cols[11:]); d != "" {
				t.Errorf("the new columns of connections (-want +got):\n%s", d)
			}
			var indexdef string
			if err := pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'connections_app_ref'`, schema).Scan(&indexdef); err != nil {
				t.Fatalf("the index connections_app_ref: %v", err)
			}
			if !strings.Contains(indexdef, "(app, namespace, ref)") {
				t.Errorf("index connections_app_ref is %q, want it on (app, namespace, ref)", indexdef)
			}
			if err := pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'connections_due'`, schema).Scan(&indexdef); err != nil {
				t.Fatalf("the index connections_due: %v", err)
			}
			if !strings.Contains(indexdef, `(expiry, id COLLATE "C") WHERE ((status = 'active'::text) AND (expiry IS NOT NULL))`) {
				t.Errorf("index connections_due is %q, want it on (expiry, id) of the active connections with an expiry", indexdef)
			}
			_, got := migratetest.CheckMigrated(t, s, old)
			var applied time.Time
			qs := pgx.Identifier{schema}.Sanitize()
			if err := pool.QueryRow(ctx, `SELECT applied_at FROM `+qs+`.schema_migrations WHERE version = 3`).Scan(&applied); err != nil {
				t.Fatal(err)
			}
			s.Close()

			// A second open migrates nothing and changes nothing.
			migratetest.CheckReopened(t, func() (store.Store, error) { return postgres.Open(ctx, location(schema)) }, got)
			if d := cmp.Diff([]int32{1, 2, 3, 4}, migrationsOf(t, pool, schema)); d != "" {
				t.Errorf("schema_migrations after a second Open (-want +got):\n%s", d)
			}
			var applied2 time.Time
			if err := pool.QueryRow(ctx, `SELECT applied_at FROM `+qs+`.schema_migrations WHERE version = 3`).Scan(&applied2); err != nil || !applied2.Equal(applied) {
				t.Errorf("migration 3 applied at %v, then %v (%v): a second Open must not run it again", applied, applied2, err)
			}
			if d := cmp.Diff(cols, columnsOf(t, pool, schema)); d != "" {
				t.Errorf("columns after a second Open (-want +got):\n%s", d)
			}
		})
	}
}

// TestNULRefused puts a record with a NUL byte in each text field, which
// PostgreSQL text cannot hold: the Put is an error with Code Store that
// names the field, and nothing is written.
func TestNULRefused(t *testing.T) {
	server(t)
	setKey(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, location(freshSchema(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		field string
		rec   store.Record
	}{
		{"app", store.Record{ID: "c", App: "a\x00"}},
		{"namespace", store.Record{ID: "c", Namespace: "\x00"}},
		{"ref", store.Record{ID: "c", Ref: "customer\x0042"}},
		{"tags", store.Record{ID: "c", Tags: []string{"ok", "x\x00"}}},
		{"account", store.Record{ID: "c", Account: "\x00"}},
		{"scopes", store.Record{ID: "c", Scopes: []string{"\x00"}}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := s.Put(ctx, &tt.rec, 0)
			if driver.CodeOf(err) != driver.Store || !strings.Contains(err.Error(), "its "+tt.field+" holds a NUL byte") {
				t.Errorf("Put = %v, want a Store error naming %s", err, tt.field)
			}
			if _, err := s.Get(ctx, "c"); driver.CodeOf(err) != driver.NotFound {
				t.Errorf("Get after the refused Put = %v, want NotFound", err)
			}
		})
	}
}

func TestSchemaFromTheFuture(t *testing.T) {
	pool := server(t)
	setKey(t)
	schema := freshSchema(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := pool.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema}.Sanitize()+`.schema_migrations (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, location(schema))
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a schema from the future = %v, want an error saying it is newer", err)
	}
}

func TestNewOnCallersPool(t *testing.T) {
	pool := server(t)
	schema := freshSchema(t)
	ctx := context.Background()
	s, err := postgres.New(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, &store.Record{ID: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("Close closed the caller's pool: %v", err)
	}
	if _, err := postgres.New(ctx, pool, "bad-name"); driver.CodeOf(err) != driver.InvalidConfig {
		t.Errorf("New with a bad schema = %v, want InvalidConfig", err)
	}
}

// TestNoTokenInDump seals a known token through the keyring Open returns,
// writes it twice (so that a dead row version exists too), then dumps the
// schema with pg_dump (or, without it, every column of every row as text)
// and looks for the token in every encoding.
func TestNoTokenInDump(t *testing.T) {
	pool := server(t)
	setKey(t)
	schema := freshSchema(t)
	ctx := context.Background()
	s, keys, err := store.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const access, refresh = "ACCESS-9c3e1f7a2b6d4e8f", "REFRESH-1a2b3c4d5e6f7a8b"
	seal := func() []byte {
		b, err := keys.Seal("store-9", []byte(`{"access_token":"`+access+`","refresh_token":"`+refresh+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rec := &store.Record{ID: "store-9", Provider: "jumpseller", Account: "visible-store-code-9", Status: store.Active, Secret: seal()}
	v, err := s.Put(ctx, rec, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec.Version, rec.Secret = v, seal()
	if _, err := s.Put(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}

	var dump []byte
	if path, err := exec.LookPath("pg_dump"); err == nil {
		out, err := exec.CommandContext(ctx, path, "--data-only", "--schema="+schema, baseDSN()).Output()
		if err != nil {
			t.Logf("pg_dump failed (%v); dumping with SELECT instead", err)
		} else {
			dump = out
			t.Logf("pg_dump: %d bytes", len(out))
		}
	}
	if dump == nil {
		vals, err := dumpSchema(ctx, pool, schema)
		if err != nil {
			t.Fatal(err)
		}
		dump = bytes.Join(vals, []byte("\n"))
	}
	if !bytes.Contains(dump, []byte("visible-store-code-9")) {
		t.Fatalf("the dump lacks the account: it does not cover the table\n%s", dump)
	}
	for _, tok := range []string{access, refresh} {
		for _, enc := range []string{tok, hex.EncodeToString([]byte(tok)), base64.StdEncoding.EncodeToString([]byte(tok))} {
			if bytes.Contains(dump, []byte(enc)) {
				t.Errorf("token %q is in the dump as %q", tok, enc)
			}
		}
	}
}

// TestLeaseUsesDatabaseClock checks that a lease expires by the database's
// clock: its expires_at is within the TTL of clock_timestamp().
func TestLeaseUsesDatabaseClock(t *testing.T) {
	pool := server(t)
	setKey(t)
	ctx := context.Background()
	schema := freshSchema(t)
	s, err := postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before, after, expires time.Time
	pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&before)
	if _, _, err := s.Lock(ctx, "c", time.Minute); err != nil {
		t.Fatal(err)
	}
	pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&after)
	if err := pool.QueryRow(ctx, `SELECT expires_at FROM `+pgx.Identifier{schema}.Sanitize()+`.leases WHERE id = 'c'`).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if expires.Before(before.Add(time.Minute)) || expires.After(after.Add(time.Minute)) {
		t.Errorf("expires_at %v is not the database's now + 1m (between %v and %v)", expires, before.Add(time.Minute), after.Add(time.Minute))
	}
}

// TestDuePlan checks that the due query reads the index connections_due in
// its order: no sequential scan (were the planner to prefer one) and no
// sort.
func TestDuePlan(t *testing.T) {
	pool := server(t)
	setKey(t)
	schema := freshSchema(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	qs := pgx.Identifier{schema}.Sanitize()
	rows, _ := tx.Query(ctx, `EXPLAIN SELECT * FROM `+qs+`.connections
		WHERE status = 'active' AND expiry IS NOT NULL AND expiry <= $1
		ORDER BY expiry, id COLLATE "C" LIMIT $2::bigint`, time.Now(), 100)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if !strings.Contains(plan, "connections_due") || strings.Contains(plan, "Sort") {
		t.Errorf("the due query's plan:\n%s\nwant a scan of connections_due in its order, without a sort", plan)
	}
}

// TestOpenExisting checks that store.OpenExisting (the backend opened with
// store.OpenOptions{Existing: true}) runs no DDL: a schema that is absent,
// or holds no connector tables, is store.ErrNoStore and stays as it was; a
// store that is there opens.
func TestOpenExisting(t *testing.T) {
	pool := server(t)
	setKey(t)
	ctx := context.Background()
	tables := func(schema string) (exists bool, n int) {
		pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
			(SELECT count(*) FROM information_schema.tables WHERE table_schema = $1)`, schema).Scan(&exists, &n)
		return exists, n
	}
	tests := []struct {
		name       string
		makeSchema bool
	}{
		{"no schema", false},
		{"a schema without the tables", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema := freshSchema(t)
			if tt.makeSchema {
				if _, err := pool.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := store.OpenExisting(ctx, location(schema))
			if !errors.Is(err, store.ErrNoStore) || driver.CodeOf(err) != driver.NotFound || !strings.Contains(err.Error(), schema) {
				t.Fatalf("OpenExisting = %v, want store.ErrNoStore (NotFound) naming the schema", err)
			}
			if exists, n := tables(schema); exists != tt.makeSchema || n != 0 {
				t.Errorf("after OpenExisting: schema exists %v with %d tables, want %v with 0", exists, n, tt.makeSchema)
			}
		})
	}
	t.Run("an existing store", func(t *testing.T) {
		schema := freshSchema(t)
		s, _, err := store.Open(ctx, location(schema))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, _, err = store.OpenExisting(ctx, location(schema))
		if err != nil {
			t.Fatalf("OpenExisting of an existing store: %v", err)
		}
		s.Close()
	})
	t.Run("no password in the error", func(t *testing.T) {
		loc := strings.Replace(location(freshSchema(t)), "postgres@", "postgres:hunter2@", 1)
		_, _, err := store.OpenExisting(ctx, loc)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("OpenExisting with a password = %v, want an error without it", err)
		}
	})
}

// TestOpenPoolSize: Open sizes its pool for a scheduler's sweep
// (DefaultMaxConns) unless the location says pool_max_conns.
func TestOpenPoolSize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		want  int32
	}{
		{"default", "", postgres.DefaultMaxConns},
		{"pool_max_conns given", "&pool_max_conns=3", 3},
		{"pool_max_conns above the default", "&pool_max_conns=40", 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := freshSchema(t)
			s, err := postgres.Open(context.Background(), location(schema)+tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.MaxConns(); got != tc.want {
				t.Errorf("pool size %d, want %d", got, tc.want)
			}
		})
	}
}

// TestLocationPrintsNoPassword: however a Location is printed, its
// password is not.
func TestLocationPrintsNoPassword(t *testing.T) {
	loc, err := postgres.ParseLocation("postgres://app:p%40ss-hunter2@db:5432/app?schema=s1&sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	leaktest.NotPrinted(t, loc, "hunter2")
	leaktest.NotPrinted(t, *loc, "hunter2")
}

// TestLocationPrintsNoQueryPassword: libpq (and pgx) read the password
// from the query as well (?password=, ?sslpassword=): the location's String
// and GoString replace those with xxxxx too. (From a review.)
func TestLocationPrintsNoQueryPassword(t *testing.T) {
	loc, err := postgres.ParseLocation("postgres://app@db:5432/app?password=hunter2&sslpassword=hunter3&schema=s1")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{loc.String(), fmt.Sprintf("%v", *loc), fmt.Sprintf("%#v", loc)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "hunter3") {
			t.Errorf("the location prints a password: %s", s)
		}
	}
}

// TestLocationParameterWithSpace: ParseBackendURL re-encodes the query
// with url.Values.Encode, which writes a space as '+'; pgx decodes a URL as
// libpq does, where '+' is a '+'. A libpq parameter holding a space — the
// usual options=-c statement_timeout=5s, an application_name, a certificate
// path — reached the server altered. Now a space is written %20, and the
// store connects where pgx does. (From a review.)
func TestLocationParameterWithSpace(t *testing.T) {
	server(t)
	ctx := context.Background()
	schema := freshSchema(t)
	const params = "options=-c%20statement_timeout%3D5000&application_name=review%20app"
	loc := location(schema) + "&" + params

	// pgx itself takes the same parameters.
	direct := baseDSN() + "?" + params
	if strings.Contains(baseDSN(), "?") {
		direct = baseDSN() + "&" + params
	}
	conn, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatalf("pgx.Connect(%s): %v", direct, err)
	}
	var timeout, app string
	err = conn.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&timeout, &app)
	conn.Close(ctx)
	if err != nil || timeout != "5s" || app != "review app" {
		t.Fatalf("pgx: statement_timeout %q, application_name %q, %v", timeout, app, err)
	}

	parsed, err := postgres.ParseLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, loc)
	if err != nil {
		t.Fatalf("Open with options=-c statement_timeout=5000 (DSN given to pgx: %s): %v", parsed.DSN, err)
	}
	s.Close()
}

// TestLockWhenTheDatabaseDefaultsToSerializable: a database (or role)
// with default_transaction_isolation = serializable — a common setting — is
// not refused, but Lock relies on READ COMMITTED (its two statements each
// take their own snapshot). A Lock that waited for the holder's release
// failed with SQLSTATE 40001, an error of code Store, instead of taking the
// lease that was just released; the store's pool now sets READ COMMITTED.
// (From a review.)
func TestLockWhenTheDatabaseDefaultsToSerializable(t *testing.T) {
	admin := server(t)
	ctx := context.Background()
	schema := freshSchema(t)
	s, err := postgres.Open(ctx, location(schema)+"&default_transaction_isolation=serializable")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := "c"
	if _, err := s.Put(ctx, &store.Record{ID: id, Provider: "p", Status: store.Active, Secret: []byte("x")}, 0); err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Lock(ctx, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// The holder's release is in flight (as PutUnlock's u CTE does it).
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "leases"}.Sanitize()+` SET expires_at = '-infinity' WHERE id = $1 AND fence = $2`, id, l.Fence); err != nil {
		t.Fatal(err)
	}
	type result struct {
		l   *store.Lease
		err error
	}
	done := make(chan result, 1)
	go func() {
		l2, _, err := s.Lock(ctx, id, time.Minute)
		done <- result{l2, err}
	}()
	time.Sleep(300 * time.Millisecond) // the second Lock waits on the row
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.l == nil || r.l.Fence <= l.Fence {
		t.Errorf("Lock after the holder released = %+v, %v; want a lease with a fence above %d (ErrLocked: %v)",
			r.l, r.err, l.Fence, errors.Is(r.err, store.ErrLocked))
	}
}

// TestLocationScrubsQueryPasswordWithSpace: ParseBackendURL now writes a
// space of a parameter as %20, but ScrubPassword looks for the password as
// written, QueryEscape'd (space as "+"), PathEscape'd and userinfo-escaped.
// A ?password= holding a space and one of & = + $ is written in the DSN in
// none of those forms, so String (and any error quoting the DSN) prints it.
func TestLocationScrubsQueryPasswordWithSpace(t *testing.T) {
	for _, pw := range []string{"hunter two&x", "hunter two=x", "hunter two+x", "hunter two$x"} {
		loc, err := postgres.ParseLocation("postgres://app@db:5432/app?password=" + url.QueryEscape(pw) + "&schema=s1")
		if err != nil {
			t.Fatal(err)
		}
		enc := strings.ReplaceAll(url.QueryEscape(pw), "+", "%20")
		for _, s := range []string{loc.String(), fmt.Sprintf("%#v", loc)} {
			if strings.Contains(s, enc) || strings.Contains(s, "hunter") {
				t.Errorf("password %q printed (as %s): %s", pw, enc, s)
			}
		}
		// An error of pgx quoting the DSN (sslmode it cannot parse).
		_, err = postgres.Open(context.Background(), "postgres://app@127.0.0.1:1/app?sslmode=bogus&password="+url.QueryEscape(pw)+"&schema=s1")
		if err != nil && (strings.Contains(err.Error(), enc) || strings.Contains(err.Error(), "hunter")) {
			t.Errorf("password %q in Open's error: %v", pw, err)
		}
	}
}

// TestNewRefusesSerializablePool: Lock relies on READ COMMITTED. Open's
// pool sets it; a pool of the caller's (New) whose sessions default to
// SERIALIZABLE made a Lock that waited for the holder's release fail with
// SQLSTATE 40001, now and then. New refuses such a pool at once, naming the
// level and what to set. (From a review.)
func TestNewRefusesSerializablePool(t *testing.T) {
	server(t)
	ctx := context.Background()
	schema := freshSchema(t)
	dsn := baseDSN()
	if strings.Contains(dsn, "?") {
		dsn += "&default_transaction_isolation=serializable"
	} else {
		dsn += "?default_transaction_isolation=serializable"
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := postgres.New(ctx, pool, schema)
	if err == nil {
		t.Fatalf("New on a pool of serializable sessions = %v, want an error", s)
	}
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "serializable") || !strings.Contains(err.Error(), "read committed") {
		t.Errorf("New on a pool of serializable sessions: %v; want invalid_config naming serializable and read committed", err)
	}
}
