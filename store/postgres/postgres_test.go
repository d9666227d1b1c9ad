package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/postgres"
)

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
		conformance.Absent(t, msg)
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
	s, _, err := postgres.Open(ctx, location(freshSchema(t)))
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

// TestConcurrentMigration opens one new schema from 8 goroutines (8 pools)
// at once: the advisory lock makes exactly one of them migrate.
func TestConcurrentMigration(t *testing.T) {
	pool := server(t)
	setKey(t)
	schema := freshSchema(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			s, _, err := postgres.Open(ctx, location(schema))
			if err == nil {
				_, err = s.Put(ctx, &store.Record{ID: fmt.Sprint("c", i)}, 0)
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
	var versions []int32
	rows, _ := pool.Query(ctx, `SELECT version FROM `+pgx.Identifier{schema}.Sanitize()+`.schema_migrations ORDER BY version`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for v := 1; v <= postgres.SchemaVersion; v++ {
		want = append(want, int32(v))
	}
	if d := cmp.Diff(want, versions); d != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", d)
	}
}

// TestMigrateFromVersion1 opens a schema left at version 1 (no claims
// table) and checks that it is migrated to version 2 and keeps its data.
func TestMigrateFromVersion1(t *testing.T) {
	pool := server(t)
	setKey(t)
	schema := freshSchema(t)
	qs := pgx.Identifier{schema}.Sanitize()
	ctx := context.Background()
	s, _, err := postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, &store.Record{ID: "kept"}, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, q := range []string{`DROP TABLE ` + qs + `.claims`, `DELETE FROM ` + qs + `.schema_migrations WHERE version > 1`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s, _, err = postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(ctx, "kept"); err != nil {
		t.Errorf("after migration: %v", err)
	}
	if err := s.Claim(ctx, "state:x", time.Minute); err != nil {
		t.Errorf("Claim after migration: %v", err)
	}
	if err := s.Claim(ctx, "state:x", time.Minute); driver.CodeOf(err) != driver.Conflict {
		t.Errorf("second Claim after migration = %v, want Conflict", err)
	}
	var v int
	if err := pool.QueryRow(ctx, `SELECT MAX(version) FROM `+qs+`.schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != 2 || postgres.SchemaVersion != 2 {
		t.Errorf("schema version = %d (SchemaVersion %d), want 2", v, postgres.SchemaVersion)
	}
}

func TestSchemaFromTheFuture(t *testing.T) {
	pool := server(t)
	setKey(t)
	schema := freshSchema(t)
	ctx := context.Background()
	s, _, err := postgres.Open(ctx, location(schema))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := pool.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema}.Sanitize()+`.schema_migrations (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	_, _, err = postgres.Open(ctx, location(schema))
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

// TestLeaseUsesDatabaseClock checks that Expires comes from the database:
// it is within the TTL of the database's clock_timestamp().
func TestLeaseUsesDatabaseClock(t *testing.T) {
	pool := server(t)
	setKey(t)
	ctx := context.Background()
	s, _, err := postgres.Open(ctx, location(freshSchema(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before, after time.Time
	pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&before)
	l, err := s.TryLock(ctx, "c", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&after)
	if l.Expires.Before(before.Add(time.Minute)) || l.Expires.After(after.Add(time.Minute)) {
		t.Errorf("Expires %v is not the database's now + 1m (between %v and %v)", l.Expires, before.Add(time.Minute), after.Add(time.Minute))
	}
}
