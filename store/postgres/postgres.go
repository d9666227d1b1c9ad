// Package postgres is a Store in PostgreSQL, through pgx v5, for many
// instances of an application sharing one database. It registers the
// schemes "postgres" and "postgresql" (store.Open maps the second to the
// first): an OAuthSettingsLocation such as
//
//	postgres://app:secret@db.internal:5432/app?sslmode=verify-full&schema=connector
//
// opens it. The parameter schema (default "connector") is the connector's
// own and names the PostgreSQL schema that holds its tables; it is removed
// before the rest is given to pgx, which reads the usual libpq parameters
// (sslmode, connect_timeout, application_name, pool_max_conns, ...).
// Parameters named like the connector's options of other backends (prefix,
// table_prefix, key_prefix) or starting with "connector" are refused.
//
// # Storage
//
// The schema and its tables are created or migrated on first use, in one
// transaction under pg_advisory_xact_lock, so that instances starting at once
// migrate once; schema_migrations records the versions applied:
//
//	connections(id text PRIMARY KEY, provider, account, scopes text[], status,
//	            reason, expiry timestamptz NULL, secret bytea, version bigint,
//	            created_at, updated_at timestamptz,
//	            app, namespace, ref text ('' when none), tags text[] ('{}' when none)),
//	            indexed by (app, namespace, ref), and by (expiry, id) where
//	            status = 'active' (the due query)
//	leases(id text PRIMARY KEY, fence bigint, holder text, expires_at timestamptz)
//	claims(key text PRIMARY KEY, expires_at timestamptz), indexed by expires_at
//
// A leases row is never deleted: releasing a lease (Unlock, PutUnlock,
// Delete) sets expires_at to -infinity, so that its fence column is the
// per-connection counter from which each new lease takes a greater fence.
// Its holder column, which earlier versions compared, is left empty:
// (id, fence) names a lease. A claims row (one per consumed authorization
// state) is
// deleted once expired, by a later Claim. Migration 1 creates connections
// and leases; migration 2 adds claims; migration 3 adds the application's
// columns to connections (app, namespace, ref, tags: ADD COLUMN with
// constant defaults, so rows written before read as no application, no
// reference and no tags) and their index, for finding a connection by
// reference; migration 4 adds connections_due, a partial index on
// (expiry, id) of the active connections with an expiry, which Due
// (store.DueLister, the scheduler's query) reads in order. The id stays the
// primary key and opaque: any string, '/' and ':' included.
//
// PostgreSQL text cannot hold a NUL byte: Put refuses a record with one in
// a text field (an error with Code Store, naming the field) and writes
// nothing.
//
// # Locking and fencing
//
// Time is the database's (clock_timestamp()), never an instance's, so
// instances with skewed clocks agree on when a lease expires. Each call is
// one round trip and one commit. Lock is a pipelined batch of two
// statements in one implicit transaction: INSERT … ON CONFLICT DO UPDATE …
// WHERE expires_at <= clock_timestamp(), which takes the row only when its
// lease has expired and increments the fence, then the SELECT of the
// record, which takes its snapshot after the upsert (so that an upsert that
// waited for another holder's PutUnlock reads what it wrote; a single
// statement would read the record as it stood before the wait). Put is one
// statement, UPDATE … WHERE id = $1 AND version = $2 AND no greater fence
// was granted, with the lease row read FOR SHARE so that a lease granted
// while the write runs waits for it. PutUnlock is Put's statement with one
// more data-modifying CTE, which releases the lease only when the write
// returned a row.
//
// Open sets pgxpool's ShouldPing so that only a connection idle for a
// minute is pinged when acquired (pgxpool's default pings after a second,
// which would add a round trip to most refreshes: a token request lies
// between Lock and PutUnlock).
//
// # Keys
//
// store.Open refuses to open a postgres location without
// CONNECTOR_ENCRYPTION_KEY (store.RequireKeyring), before connecting:
// every instance must seal with the same key. Open itself, and New, leave
// keys to the caller.
//
// store.OpenExisting runs no DDL: a schema without the connector's
// schema_migrations table, or no schema, is store.ErrNoStore; a store of an
// older schema version is migrated, as Open does.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

func init() {
	store.Register("postgres", func(ctx context.Context, location string, o store.OpenOptions) (store.Store, error) {
		s, err := open(ctx, location, o)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

// DefaultSchema is the PostgreSQL schema of the connector's tables when the
// location names none.
const DefaultSchema = "connector"

// Store is a store.Store in a PostgreSQL schema.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	schema  string
	q       queries
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.DueLister = (*Store)(nil)
)

// Location is a parsed OAuthSettingsLocation of this backend.
type Location struct {
	// DSN is the connection string for pgx, without the connector's
	// parameters.
	DSN string
	// Schema is the PostgreSQL schema of the connector's tables.
	Schema string
	// password, to scrub from errors.
	password string
	// secrets are the values of the parameters that hold a password
	// (password, sslpassword: libpq's and pgx's), to scrub as password.
	secrets []string
}

// secretParams are the location's parameters whose values are passwords.
var secretParams = []string{"password", "sslpassword"}

// String returns the location with its passwords replaced by xxxxx.
func (l Location) String() string {
	return fmt.Sprintf("postgres location %s, schema %q", l.scrubbed(l.DSN), l.Schema)
}

// scrubbed returns s with every password of the location replaced by xxxxx.
func (l *Location) scrubbed(s string) string {
	s = store.ScrubPassword(s, l.password)
	for _, p := range l.secrets {
		s = store.ScrubPassword(s, p)
	}
	return s
}

// GoString is String, so that %#v prints no password either.
func (l Location) GoString() string { return l.String() }

var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// refused are parameters that belong to the connector (or look as if they
// did) but not to this backend.
var refused = map[string]string{
	"prefix":       "schema",
	"table_prefix": "schema",
	"key_prefix":   "schema",
	"search_path":  "schema", // the tables are always schema-qualified
}

// ParseLocation parses a postgres:// or postgresql:// location. Errors are
// InvalidConfig and never hold the password.
func ParseLocation(location string) (*Location, error) {
	b, err := store.ParseBackendURL(location, "postgres", []string{"postgres", "postgresql"}, "schema", refused)
	if err != nil {
		return nil, err
	}
	loc := &Location{Schema: DefaultSchema, password: b.Password}
	if b.Values != nil {
		if len(b.Values) != 1 || !schemaName.MatchString(b.Values[0]) {
			return nil, invalid("postgres store location: schema must be one identifier of letters, digits and _ (at most 63)")
		}
		loc.Schema = b.Values[0]
	}
	loc.DSN = b.URL.String()
	q := b.URL.Query()
	for _, k := range secretParams {
		loc.secrets = append(loc.secrets, q[k]...)
	}
	return loc, nil
}

func invalid(format string, args ...any) error {
	return &driver.Error{Code: driver.InvalidConfig, Op: "store", Msg: fmt.Sprintf(format, args...)}
}

// idlePing is how long a pooled connection may sit idle before pgxpool
// pings it on acquire. pgxpool's default (one second) would add a round
// trip to most refreshes, whose Lock and PutUnlock are a token request
// apart; a connection idle this long is pinged, one closed by the server
// sooner fails its statement, which the engine retries.
const idlePing = time.Minute

// DefaultMaxConns is the pool size Open uses when the location sets no
// pool_max_conns. pgxpool's own default, max(4, CPUs), would hold a
// scheduler sweep (connector.DueOptions.Concurrency, 64 by default) to four
// store calls at a time: on a 2-CPU host a PostgreSQL sweep made 1,440
// refreshes/s with 4 connections and 1,800 with 16 (BenchmarkRefreshDue,
// docs/benchmarks.md).
const DefaultMaxConns = 16

// Open opens the store at a postgres:// location, creating or migrating its
// schema. store.Open gives it its Keyring (CONNECTOR_ENCRYPTION_KEY,
// required); store.OpenExisting opens only a store that is there.
func Open(ctx context.Context, location string) (*Store, error) {
	return open(ctx, location, store.OpenOptions{})
}

// open opens the store at location as o asks: creating or migrating its
// schema, or, with o.Existing (store.OpenExisting), running no DDL and
// returning store.ErrNoStore when the schema holds no connector tables.
func open(ctx context.Context, location string, o store.OpenOptions) (*Store, error) {
	loc, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(loc.DSN)
	if err != nil {
		return nil, store.Errorf(loc.scrub(err), "postgres store location is not valid")
	}
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool { return p.IdleDuration > idlePing }
	// Lock's upsert, which may wait for another holder's PutUnlock, then
	// reads what that wrote: READ COMMITTED, whatever the database's or
	// the role's default (under SERIALIZABLE the wait ends in a
	// serialization failure).
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	if !strings.Contains(loc.DSN, "pool_max_conns=") && cfg.MaxConns < DefaultMaxConns {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, store.Errorf(loc.scrub(err), "cannot connect to the postgres store")
	}
	s := &Store{pool: pool, schema: loc.Schema, q: buildQueries(pgx.Identifier{loc.Schema}.Sanitize()), ownPool: true}
	if o.Existing {
		err = s.openExisting(ctx, cfg.ConnConfig.Host, cfg.ConnConfig.Database)
	} else {
		err = s.migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, loc.scrub(err)
	}
	return s, nil
}

// openExisting checks that the schema holds the connector's tables,
// running no DDL unless they are of an older version (then it migrates
// them, as Open does).
func (s *Store) openExisting(ctx context.Context, host, db string) error {
	var exists bool
	err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, pgx.Identifier{s.schema, "schema_migrations"}.Sanitize()).Scan(&exists)
	if err != nil {
		return store.Errorf(err, "cannot read the postgres store (schema %s)", s.schema)
	}
	if !exists {
		return store.Errorf(store.ErrNoStore, "no postgres store in schema %s of database %s on %s", s.schema, db, host)
	}
	var cur int
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+pgx.Identifier{s.schema}.Sanitize()+`.schema_migrations`).Scan(&cur); err != nil {
		return store.Errorf(err, "cannot read the schema version of the postgres store (schema %s)", s.schema)
	}
	if cur == len(migrations) {
		return nil
	}
	return s.migrate(ctx)
}

// New returns a Store on a pool the caller owns (Close leaves it open),
// in schema (DefaultSchema if empty), creating or migrating the schema.
// The pool's sessions must run in read committed isolation, PostgreSQL's
// default; New refuses a pool whose sessions default to another level
// (driver.InvalidConfig).
func New(ctx context.Context, pool *pgxpool.Pool, schema string) (*Store, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if !schemaName.MatchString(schema) {
		return nil, invalid("postgres store: schema must be one identifier of letters, digits and _ (at most 63)")
	}
	return newStore(ctx, pool, schema)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, schema string) (*Store, error) {
	// Lock relies on READ COMMITTED (see Lock), which Open's pool sets; a
	// pool whose sessions default to another level would fail Locks that
	// wait, now and then, with serialization errors: say so at once.
	var iso string
	if err := pool.QueryRow(ctx, `SELECT current_setting('transaction_isolation')`).Scan(&iso); err != nil {
		return nil, store.Errorf(err, "cannot read the isolation level of the postgres store's sessions")
	}
	if iso != "read committed" {
		return nil, invalid("postgres store: the pool's sessions run in %s isolation; the store needs read committed (set default_transaction_isolation in the pool's ConnConfig.RuntimeParams)", iso)
	}
	s := &Store{pool: pool, schema: schema, q: buildQueries(pgx.Identifier{schema}.Sanitize())}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Schema returns the PostgreSQL schema of the store's tables.
func (s *Store) Schema() string { return s.schema }

// migrations[i] brings a schema from version i to i+1. %[1]s is the quoted
// schema name.
var migrations = [][]string{
	{
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
	},
	{
		`CREATE TABLE %[1]s.claims (
			key        text        PRIMARY KEY,
			expires_at timestamptz NOT NULL
		)`,
		`CREATE INDEX claims_expires_at ON %[1]s.claims (expires_at)`,
	},
	{
		`ALTER TABLE %[1]s.connections
			ADD COLUMN app       text   NOT NULL DEFAULT '',
			ADD COLUMN namespace text   NOT NULL DEFAULT '',
			ADD COLUMN ref       text   NOT NULL DEFAULT '',
			ADD COLUMN tags      text[] NOT NULL DEFAULT '{}'`,
		`CREATE INDEX connections_app_ref ON %[1]s.connections (app, namespace, ref)`,
	},
	{
		// The scheduler's query (Due): the active connections by expiry,
		// then id in byte order. Partial, so that it holds only what the
		// query can return.
		`CREATE INDEX IF NOT EXISTS connections_due ON %[1]s.connections (expiry, id COLLATE "C") WHERE status = 'active' AND expiry IS NOT NULL`,
	},
}

// SchemaVersion is the schema version this package creates and reads.
var SchemaVersion = len(migrations)

// advisoryKey is the pg_advisory_xact_lock key of a schema's migrations.
func advisoryKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/connector-go/connector/store/postgres\x00" + schema))
	return int64(h.Sum64())
}

// migrate creates the schema and its tables, or brings them up to
// SchemaVersion, in one transaction under an advisory lock.
func (s *Store) migrate(ctx context.Context) error {
	qs := pgx.Identifier{s.schema}.Sanitize()
	fail := func(err error, what string) error {
		return store.Errorf(err, "cannot %s of the postgres store (schema %s)", what, s.schema)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail(err, "connect to the database")
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryKey(s.schema)); err != nil {
		return fail(err, "lock the schema")
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
		return fail(err, "read the schema")
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+qs); err != nil {
			return fail(err, "create the schema")
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+qs+`.schema_migrations (
		version    integer     PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fail(err, "create the migrations table")
	}
	var cur int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+qs+`.schema_migrations`).Scan(&cur); err != nil {
		return fail(err, "read the schema version")
	}
	if cur > len(migrations) {
		return store.Errorf(nil, "the postgres store (schema %s) has schema version %d, newer than this connector's %d: upgrade the connector", s.schema, cur, len(migrations))
	}
	for v := cur; v < len(migrations); v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.Exec(ctx, fmt.Sprintf(stmt, qs)); err != nil {
				return fail(err, fmt.Sprintf("migrate to version %d", v+1))
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+qs+`.schema_migrations (version) VALUES ($1)`, v+1); err != nil {
			return fail(err, fmt.Sprintf("migrate to version %d", v+1))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err, "commit the schema")
	}
	return nil
}

// queries are the statements, with the schema filled in.
type queries struct {
	get, list, due, create, update, createFree, updateFree, createUnlock, updateUnlock, why, delete, lock, unlock, claim string
}

// claimSweep is the most expired claims one Claim deletes.
const claimSweep = 100

const columns = `id, provider, account, scopes, status, reason, expiry, secret, version, created_at, updated_at, app, namespace, ref, tags`

func buildQueries(qs string) queries {
	conns, leases, claims := qs+".connections", qs+".leases", qs+".claims"
	// The fence condition reads the lease row FOR SHARE: a Lock running at
	// the same time waits for this write, or this write sees its fence.
	const fenced = `($%d::bigint = 0 OR COALESCE((SELECT fence FROM l), 0) <= $%d::bigint)`
	q := queries{
		get:  `SELECT ` + columns + ` FROM ` + conns + ` WHERE id = $1`,
		list: `SELECT ` + columns + ` FROM ` + conns + ` ORDER BY id COLLATE "C"`,
		// due reads the partial index connections_due in its order; its
		// WHERE clause repeats the index's, and LIMIT NULL is no limit.
		due: `SELECT ` + columns + ` FROM ` + conns + `
			WHERE status = 'active' AND expiry IS NOT NULL AND expiry <= $1
			ORDER BY expiry, id COLLATE "C" LIMIT $2::bigint`,
		create: `WITH l AS (SELECT fence FROM ` + leases + ` WHERE id = $1 FOR SHARE)
			INSERT INTO ` + conns + ` (` + columns + `)
			SELECT $1, $2, $3, $4, $5, $6, $7::timestamptz, $8, 1, t.now, t.now, $10, $11, $12, $13
			FROM (SELECT clock_timestamp() AS now) t
			WHERE ` + fmt.Sprintf(fenced, 9, 9) + `
			ON CONFLICT (id) DO NOTHING
			RETURNING version`,
		update: `WITH l AS (SELECT fence FROM ` + leases + ` WHERE id = $1 FOR SHARE)
			UPDATE ` + conns + ` SET provider = $2, account = $3, scopes = $4, status = $5, reason = $6,
				expiry = $7::timestamptz, secret = $8, app = $11, namespace = $12, ref = $13, tags = $14,
				version = version + 1,
				updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')
			WHERE id = $1 AND version = $9 AND ` + fmt.Sprintf(fenced, 10, 10) + `
			RETURNING version`,
		why: `SELECT (SELECT version FROM ` + conns + ` WHERE id = $1), (SELECT fence FROM ` + leases + ` WHERE id = $1)`,
		// delete locks the lease row before the record, in the order of
		// Put and PutUnlock (which read it FOR SHARE first): in the other
		// order a Delete and a PutUnlock of one connection deadlocked.
		delete: `WITH l AS (SELECT id FROM ` + leases + ` WHERE id = $1 FOR UPDATE),
			d AS (DELETE FROM ` + conns + ` WHERE id = $1 AND (SELECT count(*) FROM l) >= 0 RETURNING id),
			u AS (UPDATE ` + leases + ` SET holder = '', expires_at = '-infinity' WHERE id IN (SELECT id FROM d))
			SELECT count(*) FROM d`,
		// lock takes the lease when it is free or expired; it returns no
		// row while another holder's lease lasts. The holder column,
		// which earlier versions compared in unlock, is left empty.
		lock: `INSERT INTO ` + leases + ` AS l (id, fence, holder, expires_at)
			VALUES ($1, 1, '', clock_timestamp() + $2::bigint * interval '1 microsecond')
			ON CONFLICT (id) DO UPDATE SET fence = l.fence + 1, holder = '', expires_at = EXCLUDED.expires_at
			WHERE l.expires_at <= clock_timestamp()
			RETURNING fence`,
		unlock: `UPDATE ` + leases + ` SET holder = '', expires_at = '-infinity' WHERE id = $1 AND fence = $2`,
		// claim deletes up to claimSweep expired claims other than $1 (rows
		// another Claim is deleting are skipped) and upserts $1, taking over
		// its row only if that claim has expired.
		claim: `WITH swept AS (
				DELETE FROM ` + claims + ` WHERE key IN (
					SELECT key FROM ` + claims + ` WHERE expires_at <= clock_timestamp() AND key <> $1
					ORDER BY expires_at LIMIT ` + fmt.Sprint(claimSweep) + ` FOR UPDATE SKIP LOCKED))
			INSERT INTO ` + claims + ` AS c (key, expires_at)
			VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond')
			ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
			WHERE c.expires_at <= clock_timestamp()
			RETURNING 1`,
	}

	q.createUnlock = withUnlock(q.create, leases, 9)
	q.updateUnlock = withUnlock(q.update, leases, 10)
	q.createFree = unfenced(q.create, fmt.Sprintf(fenced, 9, 9), 9)
	q.updateFree = unfenced(q.update, fmt.Sprintf(fenced, 10, 10), 10)
	return q
}

// Every statement that locks both a lease row and a connection row locks
// the lease row first: Lock (the lease row only), Delete and PutUnlock (FOR
// UPDATE), a fenced Put (FOR SHARE). A Put without a fence (a new grant, an
// adoption) reads no lease row, so it locks the connection row only. In any
// other order two of them deadlocked (PostgreSQL aborts one after
// deadlock_timeout): Delete and PutUnlock, and, once PostgreSQL chose a
// generic plan for a Put without a fence, which then read the lease row
// after locking the connection row, that Put and Delete or PutUnlock.

// unfenced is write (create or update) for a fence of 0: without the CTE
// that reads the lease row, and with cond, the fence condition, reduced to
// its parameter's check (the parameter stays, so the statement keeps its
// parameters' numbers and types).
func unfenced(write, cond string, fenceParam int) string {
	i := strings.Index(write, ")")
	return strings.Replace(strings.TrimSpace(write[i+1:]), cond, fmt.Sprintf("$%d::bigint = 0", fenceParam), 1)
}

// withUnlock turns create or update, a statement "WITH l AS (…) INSERT or
// UPDATE … RETURNING version", into one that also releases the lease whose
// fence is parameter fenceParam, only when the write was made: the release
// reads the write's result, so it runs after it, and a refused write
// releases nothing.
func withUnlock(write, leases string, fenceParam int) string {
	i := strings.Index(write, ")")
	// The lease row FOR UPDATE, not FOR SHARE: the release below updates
	// it, and a lock taken as shared and then raised deadlocks with
	// another writer that holds it shared too.
	return strings.Replace(write[:i+1], "FOR SHARE)", "FOR UPDATE)", 1) + `,
			w AS (` + write[i+1:] + `),
			u AS (UPDATE ` + leases + ` SET holder = '', expires_at = '-infinity'
				WHERE id = $1 AND fence = $` + fmt.Sprint(fenceParam) + `::bigint AND EXISTS (SELECT 1 FROM w))
			SELECT version FROM w`
}

func scanRecord(row pgx.Row) (*store.Record, error) {
	var (
		r      store.Record
		status string
		expiry *time.Time
	)
	if err := row.Scan(&r.ID, &r.Provider, &r.Account, &r.Scopes, &status, &r.Reason, &expiry, &r.Secret, &r.Version, &r.CreatedAt, &r.UpdatedAt,
		&r.App, &r.Namespace, &r.Ref, &r.Tags); err != nil {
		return nil, err
	}
	if len(r.Tags) == 0 {
		r.Tags = nil // '{}': none
	}
	r.Status = store.Status(status)
	if expiry != nil {
		r.Expiry = expiry.UTC()
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (*store.Record, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, s.q.get, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.Errorf(store.ErrNotFound, "connection %q", id)
	}
	if err != nil {
		return nil, store.Errorf(err, "cannot read connection %q", id)
	}
	return r, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context) ([]*store.Record, error) {
	rows, err := s.pool.Query(ctx, s.q.list)
	if err != nil {
		return nil, store.Errorf(err, "cannot list connections")
	}
	defer rows.Close()
	out := []*store.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, store.Errorf(err, "cannot list connections")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Errorf(err, "cannot list connections")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Due implements store.DueLister with one query on the index
// connections_due (migration 4).
func (s *Store) Due(ctx context.Context, before time.Time, limit int) ([]*store.Record, error) {
	var lim *int64
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	rows, err := s.pool.Query(ctx, s.q.due, before, lim)
	if err != nil {
		return nil, store.Errorf(err, "cannot list the due connections")
	}
	defer rows.Close()
	out := []*store.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, store.Errorf(err, "cannot list the due connections")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Errorf(err, "cannot list the due connections")
	}
	return out, nil
}

// Put implements store.Store: one statement.
func (s *Store) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	return s.put(ctx, rec, fence, false)
}

// PutUnlock implements store.Store: one statement, which writes, then
// releases the lease only if the write was made.
func (s *Store) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	return s.put(ctx, rec, l.Fence, true)
}

func (s *Store) put(ctx context.Context, rec *store.Record, fence int64, unlock bool) (int64, error) {
	if field := nulField(rec); field != "" {
		return 0, store.Errorf(nil, "cannot write connection %q: its %s holds a NUL byte, which PostgreSQL text cannot hold", rec.ID, field)
	}
	var expiry *time.Time
	if !rec.Expiry.IsZero() {
		e := rec.Expiry
		expiry = &e
	}
	scopes := rec.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	tags := rec.Tags
	if tags == nil {
		tags = []string{}
	}
	secret := rec.Secret
	if secret == nil {
		secret = []byte{}
	}
	var (
		v   int64
		err error
	)
	create, update := s.q.create, s.q.update
	switch {
	case unlock:
		create, update = s.q.createUnlock, s.q.updateUnlock
	case fence == 0:
		create, update = s.q.createFree, s.q.updateFree
	}
	if rec.Version == 0 {
		err = s.pool.QueryRow(ctx, create, rec.ID, rec.Provider, rec.Account, scopes, string(rec.Status), rec.Reason, expiry, secret, fence,
			rec.App, rec.Namespace, rec.Ref, tags).Scan(&v)
	} else {
		err = s.pool.QueryRow(ctx, update, rec.ID, rec.Provider, rec.Account, scopes, string(rec.Status), rec.Reason, expiry, secret, rec.Version, fence,
			rec.App, rec.Namespace, rec.Ref, tags).Scan(&v)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, s.conflict(ctx, rec, fence)
	}
	if err != nil {
		return 0, store.Errorf(err, "cannot write connection %q", rec.ID)
	}
	return v, nil
}

// nulField names the first text field of rec that holds a NUL byte, which
// PostgreSQL text (and text[]) cannot hold, or returns "".
func nulField(rec *store.Record) string {
	for _, f := range []struct{ name, value string }{
		{"id", rec.ID}, {"provider", rec.Provider}, {"app", rec.App}, {"namespace", rec.Namespace},
		{"ref", rec.Ref}, {"account", rec.Account}, {"status", string(rec.Status)}, {"reason", rec.Reason},
	} {
		if strings.IndexByte(f.value, 0) >= 0 {
			return f.name
		}
	}
	for _, list := range []struct {
		name   string
		values []string
	}{{"scopes", rec.Scopes}, {"tags", rec.Tags}} {
		for _, v := range list.values {
			if strings.IndexByte(v, 0) >= 0 {
				return list.name
			}
		}
	}
	return ""
}

// conflict says why a Put changed nothing. It reads after the fact, so the
// reason is a best guess; the refusal itself was atomic.
func (s *Store) conflict(ctx context.Context, rec *store.Record, fence int64) error {
	var version, granted *int64
	_ = s.pool.QueryRow(ctx, s.q.why, rec.ID).Scan(&version, &granted)
	why := "version or fence changed"
	switch {
	case rec.Version == 0 && version != nil:
		why = "it already exists"
	case rec.Version != 0 && version == nil:
		why = "it does not exist"
	case version != nil && *version != rec.Version:
		why = fmt.Sprintf("version %d was expected, the store has %d", rec.Version, *version)
	case fence > 0 && granted != nil && *granted > fence:
		why = fmt.Sprintf("lease fence %d was overtaken by fence %d (fenced)", fence, *granted)
	}
	return store.Errorf(store.ErrConflict, "write to connection %q refused: %s", rec.ID, why)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	var n int64
	if err := s.pool.QueryRow(ctx, s.q.delete, id).Scan(&n); err != nil {
		return store.Errorf(err, "cannot delete connection %q", id)
	}
	if n == 0 {
		return store.Errorf(store.ErrNotFound, "connection %q", id)
	}
	return nil
}

// Lock implements store.Store: the lease upsert and the read of the record
// in one round trip, a pipelined batch of two statements that runs as one
// implicit transaction (one commit). They are two statements, not one,
// so that the read takes its snapshot after the upsert: an upsert that
// waited for another holder's PutUnlock to commit then reads the record
// that PutUnlock wrote, where one statement would read the record as it
// stood before the wait.
func (s *Store) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	us := ttl.Microseconds()
	if us < 1 {
		us = 1
	}
	b := &pgx.Batch{}
	b.Queue(s.q.lock, id, us)
	b.Queue(s.q.get, id)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var fence int64
	err := br.QueryRow().Scan(&fence)
	locked := errors.Is(err, pgx.ErrNoRows)
	if err != nil && !locked {
		return nil, nil, store.Errorf(err, "cannot take the lease of connection %q", id)
	}
	rec, err := scanRecord(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		rec, err = nil, nil
	}
	if err != nil {
		return nil, nil, store.Errorf(err, "cannot read connection %q", id)
	}
	if err := br.Close(); err != nil {
		return nil, nil, store.Errorf(err, "cannot take the lease of connection %q", id)
	}
	if locked {
		return nil, rec, store.Errorf(store.ErrLocked, "connection %q", id)
	}
	return &store.Lease{ID: id, Fence: fence}, rec, nil
}

// Unlock implements store.Store.
func (s *Store) Unlock(ctx context.Context, l *store.Lease) error {
	if _, err := s.pool.Exec(ctx, s.q.unlock, l.ID, l.Fence); err != nil {
		return store.Errorf(err, "cannot release the lease of connection %q", l.ID)
	}
	return nil
}

// Claim implements store.Store. Expiry is by the database's clock.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) error {
	us := ttl.Microseconds()
	if us < 1 {
		us = 1
	}
	var one int
	err := s.pool.QueryRow(ctx, s.q.claim, key, us).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Errorf(store.ErrClaimed, "key %q", key)
	}
	if err != nil {
		return store.Errorf(err, "cannot claim %q", key)
	}
	return nil
}

// Close implements store.Store. It closes the pool if Open made it.
func (s *Store) Close() error {
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// scrub returns err with every password of the location in its message replaced,
// keeping its Code if it has one. The original is dropped, not wrapped: its
// message would hold the secret.
func (l *Location) scrub(err error) error {
	if err == nil {
		return err
	}
	msg := l.scrubbed(err.Error())
	if msg == err.Error() {
		return err
	}
	return &driver.Error{Code: driver.CodeOf(err), Op: "store", Msg: strings.TrimPrefix(msg, "connector: store: ")}
}
