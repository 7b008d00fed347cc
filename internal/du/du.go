// Package du measures how many bytes of file content a directory tree
// holds, as `du --apparent-size` would for regular files.
package du

import (
	"context"
	"io/fs"
	"path/filepath"
	"syscall"
)

// Size sums the sizes of the regular files below dir, counting each
// hard-linked inode once. It never follows symlinks. On an error (dir
// missing, unreadable, ctx done) it returns the total so far with it.
func Size(ctx context.Context, dir string) (int64, error) {
	var total int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += fi.Size()
		return nil
	})
	return total, err
}
