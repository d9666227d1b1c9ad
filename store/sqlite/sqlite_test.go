package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/sqlite"
)

// harness makes each store in its own temporary directory, with the key
// file beside it (no CONNECTOR_ENCRYPTION_KEY).
type harness struct{}

func (harness) MakeStore(ctx context.Context, t testing.TB) (store.Store, error) {
	s, _, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connector.db"))
	return s, err
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlite.Path(tt.location)
			if got := driver.CodeOf(err); got != driver.InvalidConfig {
				t.Errorf("Path(%q) = %v (code %s), want code %s", tt.location, err, got, driver.InvalidConfig)
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
	s, _, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	s, _, err := sqlite.Open(ctx, path)
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
	s, _, err = sqlite.Open(ctx, path)
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
	_, _, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a schema from the future = %v, want an error saying it is newer", err)
	}
}

// TestMigrateFromVersion1 opens a database left at schema version 1 (no
// claims table) and checks that it is migrated and keeps its data.
func TestMigrateFromVersion1(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "connector.db")
	s, _, err := sqlite.Open(ctx, path)
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
	for _, q := range []string{`DROP TABLE claims`, `DELETE FROM schema_version WHERE version > 1`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s, _, err = sqlite.Open(ctx, path)
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
	db.QueryRow(`SELECT MAX(version) FROM schema_version`).Scan(&v)
	if v != 2 || sqlite.SchemaVersion != 2 {
		t.Errorf("schema version = %d (SchemaVersion %d), want 2", v, sqlite.SchemaVersion)
	}
}

// TestConcurrentFirstUse starts several processes on a database that does
// not exist yet: each creates the file, the key file and the schema as if
// first, and writes one record. All must succeed and share one key.
func TestConcurrentFirstUse(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "connector.db")
	const procs = 6
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
	all, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != procs {
		t.Fatalf("%d records, want %d", len(all), procs)
	}
	for _, r := range all {
		if pt, err := keys.Open(r.ID, r.Secret); err != nil || string(pt) != "token-"+r.ID {
			t.Errorf("record %s: Open = %q, %v (all processes must share one key file)", r.ID, pt, err)
		}
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
	if _, err := s.Put(ctx, &store.Record{ID: id, Secret: sealed}, 0); err != nil {
		t.Fatal(err)
	}
	fmt.Println("first-use-ok")
}

func TestEnvKeyWins(t *testing.T) {
	key := store.NewRandomKey()
	t.Setenv(store.EnvKey, encodeKey(key))
	dir := t.TempDir()
	_, keys, err := sqlite.Open(context.Background(), filepath.Join(dir, "c.db"))
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

// ownStore creates the store at db as Open does, with one record, and
// closes it: the files the store made itself.
func ownStore(t *testing.T, db string) {
	t.Helper()
	s, _, err := sqlite.Open(context.Background(), db)
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
			s, _, err := sqlite.Open(context.Background(), db)
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
			first, keys, err := sqlite.Open(ctx, db)
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
				s, keys, err := sqlite.Open(ctx, db) // while first is open, then after it closes
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
