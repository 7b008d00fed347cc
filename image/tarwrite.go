package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CopyFileContent writes the content of the regular file at p to tw, after
// its header: opened without following a symlink swapped in meanwhile.
func CopyFileContent(tw *tar.Writer, p string) error {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// tarWriter writes a directory tree as a tar, optionally turning overlay
// whiteouts back into AUFS ".wh." entries (for a layer diff).
type tarWriter struct {
	tw        *tar.Writer
	dir       string
	whiteouts bool
	links     map[[2]uint64]string // (dev, ino) -> first name, for hard links
}

// ExportDir writes the tree at dir (a merged root filesystem) to w as a
// tar, the format of `container export`.
func ExportDir(ctx context.Context, w io.Writer, dir string) error {
	if err := writeTree(ctx, w, dir, false); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	return nil
}

// writeTree tars dir to w, entries in lexical order, without "./".
func writeTree(ctx context.Context, w io.Writer, dir string, whiteouts bool) error {
	t := &tarWriter{tw: tar.NewWriter(w), dir: dir, whiteouts: whiteouts, links: map[[2]uint64]string{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		return t.add(p)
	})
	if err != nil {
		return err
	}
	return t.tw.Close()
}

func (t *tarWriter) add(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(t.dir, p)
	if err != nil {
		return err
	}
	rel = filepath.ToSlash(rel)
	st, _ := fi.Sys().(*syscall.Stat_t)
	if t.whiteouts && st != nil && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0 {
		dir, base := filepath.Split(rel)
		return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base,
			Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX})
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	opaque := t.xattrs(p, hdr)
	if st != nil && fi.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := t.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			t.links[key] = rel
		}
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if opaque {
		if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel + "/" + whiteoutOpaque,
			Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyN(t.tw, f, hdr.Size)
	return err
}

// xattrs copies p's extended attributes into hdr, leaving out overlay's own
// (trusted.overlay.*); it reports whether p is an opaque overlay dir.
func (t *tarWriter) xattrs(p string, hdr *tar.Header) (opaque bool) {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return false
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		val := make([]byte, 4096)
		vn, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			continue
		}
		if strings.HasPrefix(name, "trusted.overlay.") {
			if t.whiteouts && name == opaqueXattr && string(val[:vn]) == "y" {
				opaque = true
			}
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+name] = string(val[:vn])
	}
	return opaque
}
