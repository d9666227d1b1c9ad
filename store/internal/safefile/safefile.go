// Package safefile opens and creates the files of the embedded store — the
// SQLite database, its -wal, -shm and -journal files, and the key file — so
// that a file another user planted is refused rather than trusted.
//
// A file is accepted only when it is a regular file (not a symbolic link),
// owned by the effective user, and neither readable nor writable by group or
// others. Files are created with O_EXCL and without following a symbolic
// link, mode 0600, so that nothing can be planted between a check and a
// create; an existing file is checked with Lstat, opened without following a
// symbolic link, and the opened file is compared with the one checked.
//
// Ownership and modes are checked on Unix only: elsewhere (Windows) the mode
// bits Go reports say nothing about who may read a file, and only the
// symbolic-link and regular-file checks apply.
package safefile

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/connector-go/connector/driver"
)

// Check refuses the file at path, which what names ("key file", "sqlite
// database"), unless it is a regular file of this user's that group and
// others can neither read nor write. A refusal is an *driver.Error with Code
// InvalidConfig whose message names the file and the fix. When the file
// cannot be examined (it does not exist, say) the error wraps the cause, so
// that errors.Is(err, fs.ErrNotExist) reports a missing file.
func Check(what, path string) (fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, &driver.Error{Code: driver.Store, Op: "store", Msg: "cannot examine " + what + " " + path, Err: err}
	}
	if err := check(what, path, fi); err != nil {
		return nil, err
	}
	return fi, nil
}

func check(what, path string, fi fs.FileInfo) error {
	name := what + " " + path
	q := shellQuote(path)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return refuse("%s is a symbolic link; refused, since another user could have planted it: replace the link with a regular file of your own (mode 600), or remove it", name)
	case !fi.Mode().IsRegular():
		return refuse("%s is %s, not a regular file; refused: remove it, or choose another location", name, kind(fi.Mode()))
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return refuse("%s belongs to uid %d, not to this user (uid %d); refused, since another user could have planted it: remove it, or, if it is yours, chown %d %s", name, uid, os.Geteuid(), os.Geteuid(), q)
	}
	if modes && fi.Mode().Perm()&0o066 != 0 {
		return refuse("%s has mode %04o, so group or others can read or write it; refused: chmod 600 %s (if others could read it, treat what it holds as disclosed)", name, fi.Mode().Perm(), q)
	}
	return nil
}

// Open opens the existing file at path, after Check, without following a
// symbolic link, and refuses it if the file opened is not the one checked
// (it was replaced in between). flag is os.O_RDONLY or os.O_RDWR, possibly
// with other flags except os.O_CREATE.
func Open(what, path string, flag int) (*os.File, error) {
	checked, err := Check(what, path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|noFollow, 0)
	if err != nil {
		return nil, &driver.Error{Code: driver.Store, Op: "store", Msg: "cannot open " + what + " " + path, Err: err}
	}
	opened, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &driver.Error{Code: driver.Store, Op: "store", Msg: "cannot examine " + what + " " + path, Err: err}
	}
	if !os.SameFile(checked, opened) {
		f.Close()
		return nil, Replaced(what, path)
	}
	return f, nil
}

// Create creates the file at path with mode 0600. It fails with an error
// that wraps fs.ErrExist if anything, a dangling symbolic link included,
// already has that name: it never opens a file it did not create.
func Create(what, path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return nil, &driver.Error{Code: driver.Store, Op: "store", Msg: "cannot create " + what + " " + path, Err: err}
	}
	return f, nil
}

// Replaced is the refusal of a file that is no longer the one checked and
// opened: another process renamed or replaced it.
func Replaced(what, path string) error {
	return refuse("%s %s was replaced while it was being opened; refused: make sure that no one else can write to the directory %s", what, path, dirOf(path))
}

// kind names a file type other than a regular file or a symbolic link.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

func refuse(format string, args ...any) error {
	return &driver.Error{Code: driver.InvalidConfig, Op: "store", Msg: fmt.Sprintf(format, args...)}
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i > 0 {
		return path[:i]
	}
	return "."
}

// shellQuote quotes path for a POSIX shell when it holds anything but
// letters, digits and / . _ - + , : @ %, so that the fix can be pasted.
func shellQuote(path string) string {
	safe := path != ""
	for _, r := range path {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("/._-+,:@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
