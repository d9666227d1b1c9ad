package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

// fixed keys, so that failures reproduce.
var (
	key1 = bytes.Repeat([]byte{0x11}, 32)
	key2 = bytes.Repeat([]byte{0x22}, 32)
	key3 = bytes.Repeat([]byte{0x33}, 32)
)

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func mustKeyring(t testing.TB, cur []byte, old ...[]byte) *store.Keyring {
	t.Helper()
	k, err := store.NewKeyring(cur, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// leaks reports which form of a key an error message holds, or "".
func leaks(msg string, keys ...[]byte) string {
	for _, k := range keys {
		for _, form := range []string{b64(k), base64.RawStdEncoding.EncodeToString(k), hex.EncodeToString(k), string(k)} {
			if len(k) > 0 && strings.Contains(msg, form) {
				return form
			}
		}
	}
	return ""
}

func TestNewKeyring(t *testing.T) {
	tests := []struct {
		name     string
		cur      []byte
		old      [][]byte
		wantCode driver.Code // Unknown: no error
		wantMsg  string
	}{
		{"one key", key1, nil, driver.Unknown, ""},
		{"with old keys", key1, [][]byte{key2, key3}, driver.Unknown, ""},
		{"empty", nil, nil, driver.InvalidConfig, "encryption key 0 has 0 bytes; AES-256 needs 32"},
		{"16 bytes", key1[:16], nil, driver.InvalidConfig, "key 0 has 16 bytes"},
		{"33 bytes", append(bytes.Clone(key1), 1), nil, driver.InvalidConfig, "key 0 has 33 bytes"},
		{"bad old key", key1, [][]byte{key2, key3[:31]}, driver.InvalidConfig, "key 2 has 31 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := store.NewKeyring(tt.cur, tt.old...)
			if tt.wantCode == driver.Unknown {
				if err != nil || k == nil {
					t.Fatalf("NewKeyring: %v", err)
				}
				if k.CurrentKeyID() != store.KeyID(tt.cur) {
					t.Errorf("CurrentKeyID = %08x, want %08x", k.CurrentKeyID(), store.KeyID(tt.cur))
				}
				return
			}
			if driver.CodeOf(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("NewKeyring = %v, want code %s and %q", err, tt.wantCode, tt.wantMsg)
			}
			if f := leaks(err.Error(), append([][]byte{tt.cur}, tt.old...)...); f != "" {
				t.Errorf("error echoes a key (%q): %v", f, err)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	sum := sha256.Sum256(key1)
	if got, want := store.KeyID(key1), binary.BigEndian.Uint32(sum[:4]); got != want {
		t.Errorf("KeyID = %08x, want the first 4 bytes of SHA-256, %08x", got, want)
	}
	if store.KeyID(key1) == store.KeyID(key2) {
		t.Error("two keys share an id")
	}
}

func TestSealOpen(t *testing.T) {
	k := mustKeyring(t, key1)
	tests := []struct {
		name string
		id   string
		pt   []byte
	}{
		{"token", "conn-1", []byte(`{"access_token":"a","refresh_token":"r"}`)},
		{"empty plaintext", "conn-1", []byte{}},
		{"empty id", "", []byte("x")},
		{"unicode id", "ünï/cødé", []byte("x")},
		{"binary", "b", []byte{0, 1, 2, 255}},
		{"large", "l", bytes.Repeat([]byte("token"), 20000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := k.Seal(tt.id, tt.pt)
			if err != nil {
				t.Fatal(err)
			}
			if want := 1 + 4 + 12 + len(tt.pt) + 16; len(env) != want {
				t.Errorf("envelope is %d bytes, want %d", len(env), want)
			}
			if len(tt.pt) > 8 && bytes.Contains(env, tt.pt) {
				t.Error("the envelope holds the plaintext")
			}
			if id, ok := store.EnvelopeKeyID(env); !ok || id != store.KeyID(key1) {
				t.Errorf("EnvelopeKeyID = %08x, %v; want %08x", id, ok, store.KeyID(key1))
			}
			got, err := k.Open(tt.id, env)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.pt) {
				t.Errorf("Open = %q, want %q", got, tt.pt)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	k := mustKeyring(t, key1)
	const token = "refresh-token-0123456789"
	env, err := k.Seal("conn-1", []byte(token))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := mustKeyring(t, key2).Seal("conn-1", []byte(token))
	flip := func(i int) []byte {
		b := bytes.Clone(env)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name    string
		id      string
		env     []byte
		wantMsg string
	}{
		{"nil", "conn-1", nil, "is malformed"},
		{"short", "conn-1", env[:16], "is malformed"},
		{"header only", "conn-1", env[:17], "does not authenticate"},
		{"version 2", "conn-1", append([]byte{2}, env[1:]...), "is malformed"},
		{"key id changed", "conn-1", flip(3), "which is not configured (set CONNECTOR_ENCRYPTION_KEY or CONNECTOR_ENCRYPTION_OLD_KEYS)"},
		{"nonce changed", "conn-1", flip(9), "does not authenticate"},
		{"ciphertext changed", "conn-1", flip(17), "does not authenticate"},
		{"tag changed", "conn-1", flip(len(env) - 1), "does not authenticate"},
		{"truncated tag", "conn-1", env[:len(env)-1], "does not authenticate"},
		{"appended byte", "conn-1", append(bytes.Clone(env), 0), "does not authenticate"},
		{"another connection", "conn-2", env, "sealed for another connection"},
		{"another key", "conn-1", other, "which is not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := k.Open(tt.id, tt.env)
			if err == nil {
				t.Fatalf("Open succeeded with %q", pt)
			}
			if driver.CodeOf(err) != driver.Store || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Open = %v, want code store and %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), token) || leaks(err.Error(), key1, key2) != "" {
				t.Errorf("error holds the token or a key: %v", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := mustKeyring(t, key1)
	rotated := mustKeyring(t, key2, key1)
	envOld, _ := old.Seal("c", []byte("under the old key"))
	if pt, err := rotated.Open("c", envOld); err != nil || string(pt) != "under the old key" {
		t.Fatalf("rotated keyring opens an old envelope: %q, %v", pt, err)
	}
	envNew, _ := rotated.Seal("c", []byte("under the new key"))
	if id, _ := store.EnvelopeKeyID(envNew); id != store.KeyID(key2) {
		t.Errorf("rotated keyring seals under %08x, want the new key %08x", id, store.KeyID(key2))
	}
	if _, err := old.Open("c", envNew); err == nil {
		t.Error("the old keyring opens an envelope sealed under the new key")
	}
	if _, err := mustKeyring(t, key2).Open("c", envOld); err == nil {
		t.Error("the new key alone opens an envelope sealed under the old key")
	}
}

func TestNoncesNeverRepeat(t *testing.T) {
	k := mustKeyring(t, key1)
	seen := map[string]bool{}
	for i := range 10000 {
		env, err := k.Seal("c", []byte("same"))
		if err != nil {
			t.Fatal(err)
		}
		n := string(env[5:17])
		if seen[n] {
			t.Fatalf("seal %d repeated a nonce", i)
		}
		seen[n] = true
	}
}

func TestEnvelopeKeyID(t *testing.T) {
	env, _ := mustKeyring(t, key3).Seal("c", nil)
	tests := []struct {
		name   string
		env    []byte
		wantID uint32
		wantOK bool
	}{
		{"sealed", env, store.KeyID(key3), true},
		{"nil", nil, 0, false},
		{"short", env[:10], 0, false},
		{"wrong version", append([]byte{9}, env[1:]...), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := store.EnvelopeKeyID(tt.env)
			if id != tt.wantID || ok != tt.wantOK {
				t.Errorf("EnvelopeKeyID = %08x, %v; want %08x, %v", id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestKeyringFromEnv(t *testing.T) {
	secretish := "bm90LWEta2V5LWJ1dC1zZWNyZXQtYW55d2F5" // 27 bytes of base64
	tests := []struct {
		name       string
		key, old   string
		wantErr    error       // errors.Is
		wantCode   driver.Code // when wantErr is nil and an error is expected
		wantMsg    string
		wantCur    []byte
		opensUnder [][]byte // keys whose envelopes the keyring must open
	}{
		{name: "unset", wantErr: store.ErrNoKey},
		{name: "blank", key: "  \n", wantErr: store.ErrNoKey},
		{name: "standard base64", key: b64(key1), wantCur: key1, opensUnder: [][]byte{key1}},
		{name: "unpadded base64", key: base64.RawStdEncoding.EncodeToString(key1), wantCur: key1},
		{name: "surrounding space", key: "  " + b64(key1) + "\n", wantCur: key1},
		{name: "old keys", key: b64(key1), old: b64(key2) + ", " + b64(key3), wantCur: key1, opensUnder: [][]byte{key1, key2, key3}},
		{name: "empty old entries", key: b64(key1), old: " ,," + b64(key2) + ",", wantCur: key1, opensUnder: [][]byte{key1, key2}},
		{name: "not base64", key: "not base64!!", wantCode: driver.InvalidConfig, wantMsg: "CONNECTOR_ENCRYPTION_KEY must be 32 bytes in base64 (make one with: head -c 32 /dev/urandom | base64)"},
		{name: "too short", key: secretish, wantCode: driver.InvalidConfig, wantMsg: "CONNECTOR_ENCRYPTION_KEY must be 32 bytes"},
		{name: "bad old key", key: b64(key1), old: b64(key2) + "," + secretish, wantCode: driver.InvalidConfig, wantMsg: "CONNECTOR_ENCRYPTION_OLD_KEYS[1] must be 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(store.EnvKey, tt.key)
			t.Setenv(store.EnvOldKeys, tt.old)
			k, err := store.KeyringFromEnv()
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("KeyringFromEnv = %v, want %v", err, tt.wantErr)
				}
				return
			case tt.wantCode != driver.Unknown:
				if driver.CodeOf(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("KeyringFromEnv = %v, want code %s and %q", err, tt.wantCode, tt.wantMsg)
				}
				if strings.Contains(err.Error(), secretish) || strings.Contains(err.Error(), "not base64!!") || leaks(err.Error(), key1, key2) != "" {
					t.Errorf("error echoes a key: %v", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if k.CurrentKeyID() != store.KeyID(tt.wantCur) {
				t.Errorf("current key %08x, want %08x", k.CurrentKeyID(), store.KeyID(tt.wantCur))
			}
			for _, key := range tt.opensUnder {
				env, _ := mustKeyring(t, key).Seal("c", []byte("x"))
				if _, err := k.Open("c", env); err != nil {
					t.Errorf("does not open an envelope under key %08x: %v", store.KeyID(key), err)
				}
			}
		})
	}
}

func TestRequireKeyring(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	_, err := store.RequireKeyring("postgres")
	if driver.CodeOf(err) != driver.InvalidConfig {
		t.Fatalf("RequireKeyring without a key = %v, want code %s", err, driver.InvalidConfig)
	}
	for _, w := range []string{"postgres store needs an encryption key", "set CONNECTOR_ENCRYPTION_KEY", "head -c 32 /dev/urandom | base64", "the same on every instance"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q lacks %q", err, w)
		}
	}
	t.Setenv(store.EnvKey, b64(key2))
	k, err := store.RequireKeyring("redis")
	if err != nil || k.CurrentKeyID() != store.KeyID(key2) {
		t.Errorf("RequireKeyring with a key = %v, %v", k, err)
	}
	t.Setenv(store.EnvKey, "short")
	_, err = store.RequireKeyring("redis")
	if driver.CodeOf(err) != driver.InvalidConfig || strings.Contains(err.Error(), "short") {
		t.Errorf("RequireKeyring with a bad key = %v, want InvalidConfig without the value", err)
	}
}

func TestKeyringForFile(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	t.Setenv(store.EnvOldKeys, "")
	dir := t.TempDir()
	db := filepath.Join(dir, "connector.db")
	k1, err := store.KeyringForFile(db)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "connector.key")
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", fi.Mode().Perm())
	}
	k2, err := store.KeyringForFile(db)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := k1.Seal("c", []byte("x"))
	if _, err := k2.Open("c", env); err != nil {
		t.Errorf("a second KeyringForFile does not read the same key: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if d := cmp.Diff([]string{"connector.key"}, names); d != "" {
		t.Errorf("directory after KeyringForFile (-want +got):\n%s", d)
	}

	// The environment wins over the file, and no file is made.
	t.Setenv(store.EnvKey, b64(key3))
	dir2 := t.TempDir()
	k3, err := store.KeyringForFile(filepath.Join(dir2, "c.db"))
	if err != nil || k3.CurrentKeyID() != store.KeyID(key3) {
		t.Fatalf("KeyringForFile with the environment set = %v, %v", k3, err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "connector.key")); !os.IsNotExist(err) {
		t.Errorf("a key file was made though the environment holds a key (%v)", err)
	}
}

func TestKeyringForFileCorrupt(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	dir := t.TempDir()
	const content = "c29tZS1zZWNyZXQtYnV0LXRvby1zaG9ydA=="
	if err := os.WriteFile(filepath.Join(dir, "connector.key"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := store.KeyringForFile(filepath.Join(dir, "connector.db"))
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), "connector.key must be 32 bytes in base64") {
		t.Fatalf("KeyringForFile with a corrupt file = %v, want InvalidConfig naming the file", err)
	}
	if strings.Contains(err.Error(), content) {
		t.Errorf("error echoes the key file: %v", err)
	}
}

// TestKeyringForFileRefuses plants key files that another user could leave
// beside the database: KeyringForFile must refuse each with an InvalidConfig
// error that names the file and the fix and does not hold the key, and must
// not create a key file where a planted link points.
func TestKeyringForFileRefuses(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	t.Setenv(store.EnvOldKeys, "")
	content := []byte(b64(key2) + "\n") // a key another user chose, and knows
	write := func(t *testing.T, path string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, content, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // no umask
			t.Fatal(err)
		}
	}
	link := func(t *testing.T, target, path string) {
		t.Helper()
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	const replaceLink = "replace the link with a regular file of your own"
	tests := []struct {
		name     string
		needRoot bool // to chown the file to another user
		// plant plants the key file at path and returns a path that the
		// refused call must not have created, or "".
		plant func(t *testing.T, path string) string
		fix   func(path string) string
	}{
		{"mode-0644", false, func(t *testing.T, path string) string {
			write(t, path, 0o644)
			return ""
		}, func(p string) string { return "chmod 600 " + p }},
		{"group-writable", false, func(t *testing.T, path string) string {
			write(t, path, 0o620)
			return ""
		}, func(p string) string { return "chmod 600 " + p }},
		{"symlink", false, func(t *testing.T, path string) string {
			target := filepath.Join(t.TempDir(), "planted.key")
			write(t, target, 0o600)
			link(t, target, path)
			return ""
		}, func(string) string { return replaceLink }},
		{"dangling-symlink", false, func(t *testing.T, path string) string {
			target := filepath.Join(t.TempDir(), "chosen-by-another.key")
			link(t, target, path)
			return target
		}, func(string) string { return replaceLink }},
		{"directory", false, func(t *testing.T, path string) string {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			return ""
		}, func(string) string { return "remove it" }},
		{"owned-by-another-user", true, func(t *testing.T, path string) string {
			write(t, path, 0o600)
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return ""
		}, func(p string) string { return fmt.Sprintf("chown %d %s", os.Geteuid(), p) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needRoot && os.Geteuid() != 0 {
				t.Skip("chown to another user needs root")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "connector.key")
			elsewhere := tc.plant(t, path)
			k, err := store.KeyringForFile(filepath.Join(dir, "connector.db"))
			if err == nil {
				t.Fatalf("KeyringForFile with a planted key file = key %08x; want it refused", k.CurrentKeyID())
			}
			t.Logf("refused: %v", err)
			type refusal struct {
				Code                driver.Code
				NamesFile, NamesFix bool
				Leaks               string
			}
			msg := err.Error()
			got := refusal{driver.CodeOf(err), strings.Contains(msg, path), strings.Contains(msg, tc.fix(path)), leaks(msg, key2)}
			if d := cmp.Diff(refusal{Code: driver.InvalidConfig, NamesFile: true, NamesFix: true}, got); d != "" {
				t.Errorf("KeyringForFile: %v\nwant it to name %s and the fix %q (-want +got):\n%s", err, path, tc.fix(path), d)
			}
			if elsewhere != "" {
				if _, err := os.Lstat(elsewhere); !os.IsNotExist(err) {
					t.Errorf("KeyringForFile created %s, where the planted link pointed (Lstat: %v)", elsewhere, err)
				}
			}
		})
	}
}

// TestKeyringForFileProcesses starts processes that all create the key file
// of one new directory at once: they must all end up with the same key.
func TestKeyringForFileProcesses(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	dir := t.TempDir()
	const n = 8
	outs := make([]bytes.Buffer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKeyFile$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KEYRING_HELPER_DB="+filepath.Join(dir, "connector.db"))
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		wg.Go(func() { errs[i] = cmd.Run() })
	}
	wg.Wait()
	k, err := store.KeyringForFile(filepath.Join(dir, "connector.db"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("key-id %08x", k.CurrentKeyID())
	for i := range n {
		if errs[i] != nil || !strings.Contains(outs[i].String(), want) {
			t.Errorf("process %d: %v, output %q, want %q", i, errs[i], outs[i].String(), want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only connector.key (temporary files left?)", len(entries))
	}
}

func TestHelperKeyFile(t *testing.T) {
	db := os.Getenv("KEYRING_HELPER_DB")
	if db == "" {
		return
	}
	k, err := store.KeyringForFile(db)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("key-id %08x\n", k.CurrentKeyID())
}

// fuzzSealed are the only envelopes FuzzOpen's keyring (key1, with key2 as
// an old key) may open, with the id they were sealed for and their
// plaintext. They are constants, not sealed at run time, because the fuzzing
// engine's workers are other processes: a nonce drawn in one would not be
// the seed another received.
var fuzzSealed = []struct{ id, env, pt string }{
	{"conn-1", "0102d449a39e42ff581359afeb87208c44e126a95949df0160644917da26c8e4fe0eb0b7770d3b282e33934585ea16e92863f36472", `{"access_token":"a"}`},
	{"conn-2", "0102d449a314bbd54e3ee5627f6379360718d4598e54476d64333f94e479c922a9", ""},
	{"conn-3", "019f72ea0c57b8b41bfd915235f5394884b790bc61b8ead6661bdfbd3ba5723b98d2780505173cf6331600c109c7644fcaeb", "under the old key"},
}

// FuzzOpen checks that Open never panics on arbitrary bytes, and opens only
// the authentic envelopes it was given as seeds, for their own id.
func FuzzOpen(f *testing.F) {
	keys := mustKeyring(f, key1, key2)
	authentic := map[string]string{} // id + "\x00" + envelope → plaintext
	for _, s := range fuzzSealed {
		env, _ := hex.DecodeString(s.env)
		authentic[s.id+"\x00"+string(env)] = s.pt
		f.Add(s.id, env)
	}
	f.Add("conn-1", []byte{})
	f.Add("", []byte{1, 0, 0, 0, 0})
	f.Add("x", bytes.Repeat([]byte{1}, 40))
	f.Fuzz(func(t *testing.T, id string, env []byte) {
		pt, err := keys.Open(id, env)
		want, ok := authentic[id+"\x00"+string(env)]
		switch {
		case err == nil && !ok:
			t.Fatalf("Open(%q, %x) = %q: a forged envelope opened", id, env, pt)
		case err != nil && ok:
			t.Fatalf("Open of an authentic envelope: %v", err)
		case err == nil && string(pt) != want:
			t.Fatalf("Open = %q, want %q", pt, want)
		case err != nil && driver.CodeOf(err) != driver.Store:
			t.Fatalf("Open error code %s, want store", driver.CodeOf(err))
		}
	})
}

func TestKeyringSignVerify(t *testing.T) {
	oldKey, newKey := store.NewRandomKey(), store.NewRandomKey()
	old, _ := store.NewKeyring(oldKey)
	rotated, _ := store.NewKeyring(newKey, oldKey)
	other, _ := store.NewKeyring(store.NewRandomKey())
	data := []byte("connector/state/v1 jumpseller http://127.0.0.1/callback")
	sig := old.Sign(data)
	tests := []struct {
		name string
		k    *store.Keyring
		data []byte
		sig  []byte
		want bool
	}{
		{"same-key", old, data, sig, true},
		{"truncated-16", old, data, sig[:16], true},
		{"too-short", old, data, sig[:15], false},
		{"old-key-after-rotation", rotated, data, sig, true},
		{"new-key-signs", old, data, rotated.Sign(data), false},
		{"other-key", other, data, sig, false},
		{"other-data", old, []byte("connector/state/v1 shopline"), sig, false},
		{"flipped-bit", old, data, append([]byte{sig[0] ^ 1}, sig[1:]...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.k.Verify(tc.data, tc.sig); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}
