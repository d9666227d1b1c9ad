//go:build !unix

package safefile

import "io/fs"

// noFollow is 0: Lstat and the comparison of the opened file with the
// checked one stand in for O_NOFOLLOW.
const noFollow = 0

// modes: the permission bits Go reports (0666 or 0444) say nothing about
// who may read the file, so they are not checked.
const modes = false

// owner reports no owner: ownership is not checked here.
func owner(fs.FileInfo) (int, bool) { return 0, false }
