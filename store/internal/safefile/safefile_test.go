package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connector-go/connector/driver"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "/var/lib/c/connector.db", "/var/lib/c/connector.db"},
		{"space", "/home/a b/connector.db", "'/home/a b/connector.db'"},
		{"quote", "/x/it's.db", `'/x/it'\''s.db'`},
		{"dollar", "/x/$HOME.db", "'/x/$HOME.db'"},
		{"empty", "", "''"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellQuote(tt.in); got != tt.want {
				t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestFixQuotesThePath: the fix in a refusal can be pasted into a shell
// even when the path holds a space.
func TestFixQuotesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "with space", "connector.key")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := Check("key file", path)
	if !modes {
		if err != nil {
			t.Fatalf("Check = %v; modes are not checked here", err)
		}
		return
	}
	if want := "chmod 600 '" + path + "'"; driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), want) {
		t.Errorf("Check = %v, want InvalidConfig with %q", err, want)
	}
}

func TestCreateNeverOpensWhatExists(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "target"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{existing, dangling} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Create("file", path, os.O_RDWR)
			if err == nil {
				f.Close()
				t.Fatalf("Create(%s) opened a file that was there", path)
			}
			if !errors.Is(err, fs.ErrExist) {
				t.Errorf("Create(%s) = %v, want an error wrapping fs.ErrExist", path, err)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(dir, "target")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Create followed the dangling link (Lstat of its target: %v)", err)
	}
	path := filepath.Join(dir, "new")
	f, err := Create("file", path, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, err := Check("file", path); err != nil || (modes && fi.Mode().Perm() != 0o600) {
		t.Errorf("Check of a file Create made = %v, %v; want mode 600 and no error", fi, err)
	}
}
