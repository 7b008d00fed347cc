package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// Whiteout names of the AUFS/OCI layer format.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

// hostileError reports an archive entry that would escape the target.
func hostileError(name, why string) error {
	return fmt.Errorf("archive entry %q: %s: refusing a hostile archive: %w", name, why, errdefs.ErrInvalidArgument)
}

// checkName validates a tar entry name and returns it cleaned and relative
// ("." for the root). Absolute names and ".." components are rejected.
func checkName(name string) (string, error) {
	if name == "" {
		return "", hostileError(name, "empty name")
	}
	if strings.HasPrefix(name, "/") {
		return "", hostileError(name, "absolute path")
	}
	if strings.ContainsRune(name, 0) {
		return "", hostileError(name, "NUL in name")
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", hostileError(name, "path with \"..\"")
		}
	}
	return path.Clean(name), nil
}

// unpacker extracts one tar into dir.
type unpacker struct {
	dir     string
	root    bool // running as root: chown, mknod
	dirTime []dirTime
}

type dirTime struct {
	path         string
	atime, mtime time.Time
}

// Unpack extracts the (uncompressed) layer tar r into dir, which must
// exist and should be empty. Ownership, modes, times and xattrs are kept;
// AUFS whiteouts become overlay whiteouts (a 0/0 character device for
// ".wh.name", the trusted.overlay.opaque=y xattr for ".wh..wh..opq").
//
// Unpack refuses, with ErrInvalidArgument, any entry that could reach
// outside dir: absolute names, ".." components, entries whose parent is a
// symlink or not a directory, hard links to outside paths. Nothing is ever
// opened through a symlink. On error dir may hold a partial tree: extract
// into a temporary directory and rename it on success.
func Unpack(ctx context.Context, r io.Reader, dir string) error {
	u := &unpacker{dir: dir, root: os.Geteuid() == 0}
	tr := tar.NewReader(ctxReader{ctx, r})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		if err := u.entry(hdr, tr); err != nil {
			return err
		}
	}
	for i := len(u.dirTime) - 1; i >= 0; i-- {
		d := u.dirTime[i]
		setTimes(d.path, d.atime, d.mtime)
	}
	return nil
}

// parent makes sure every parent directory of rel exists inside u.dir as a
// real directory (creating missing ones) and returns rel's full path.
func (u *unpacker) parent(name, rel string) (string, error) {
	p := u.dir
	if rel == "." {
		return p, nil
	}
	parts := strings.Split(rel, "/")
	for _, c := range parts[:len(parts)-1] {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil {
				return "", fmt.Errorf("archive entry %q: %w", name, err)
			}
		case err != nil:
			return "", fmt.Errorf("archive entry %q: %w", name, err)
		case fi.Mode()&os.ModeSymlink != 0:
			return "", hostileError(name, "parent "+strings.TrimPrefix(p, u.dir)+" is a symlink")
		case !fi.IsDir():
			return "", hostileError(name, "parent "+strings.TrimPrefix(p, u.dir)+" is not a directory")
		}
	}
	return filepath.Join(p, parts[len(parts)-1]), nil
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // pax global header (git archive): no file
	}
	rel, err := checkName(hdr.Name)
	if err != nil {
		return err
	}
	if path.Base(rel) != whiteoutOpaque && (strings.HasPrefix(rel, whiteoutMeta) || strings.Contains(rel, "/"+whiteoutMeta)) {
		return nil // AUFS metadata (hard link dirs) and its content: not needed by overlay
	}
	target, err := u.parent(hdr.Name, rel)
	if err != nil {
		return err
	}
	base := path.Base(rel)
	if rel != "." && strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(hdr.Name, base, target)
	}
	if rel == "." && hdr.Typeflag != tar.TypeDir {
		return hostileError(hdr.Name, "the root is not a directory")
	}
	if err := u.clear(hdr, target); err != nil {
		return err
	}
	if err := u.create(hdr, rel, target, r); err != nil {
		return fmt.Errorf("archive entry %q: %w", hdr.Name, err)
	}
	if hdr.Typeflag == tar.TypeLink {
		return nil
	}
	if err := u.meta(hdr, target); err != nil {
		return fmt.Errorf("archive entry %q: %w", hdr.Name, err)
	}
	return nil
}

// clear removes what is at target unless both it and the entry are dirs.
func (u *unpacker) clear(hdr *tar.Header, target string) error {
	fi, err := os.Lstat(target)
	if err != nil {
		return nil
	}
	if fi.IsDir() && hdr.Typeflag == tar.TypeDir {
		return nil
	}
	if err := os.RemoveAll(target); err != nil {
		return fmt.Errorf("archive entry %q: replace: %w", hdr.Name, err)
	}
	return nil
}

func (u *unpacker) whiteout(name, base, target string) error {
	dir := filepath.Dir(target)
	switch {
	case base == whiteoutOpaque:
		if err := unix.Lsetxattr(dir, opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("archive entry %q: opaque whiteout: %w", name, err)
		}
		return nil
	}
	victim := base[len(whiteoutPrefix):]
	if victim == "" || victim == "." || victim == ".." {
		return hostileError(name, "bad whiteout name")
	}
	p := filepath.Join(dir, victim)
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("archive entry %q: %w", name, err)
	}
	if err := unix.Mknod(p, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("archive entry %q: whiteout needs mknod (root): %w", name, err)
	}
	return nil
}

func (u *unpacker) create(hdr *tar.Header, rel, target string, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if rel == "." {
			return nil
		}
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		return nil
	case tar.TypeReg:
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, target)
	case tar.TypeLink:
		return u.hardlink(hdr, target)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.mknod(hdr, target)
	}
	return fmt.Errorf("unsupported tar entry type %q: %w", hdr.Typeflag, errdefs.ErrInvalidArgument)
}

func (u *unpacker) hardlink(hdr *tar.Header, target string) error {
	rel, err := checkName(hdr.Linkname)
	if err != nil {
		return hostileError(hdr.Name, "hard link to "+hdr.Linkname)
	}
	src, err := u.parent(hdr.Name, rel)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return hostileError(hdr.Name, "hard link to "+hdr.Linkname+" which is not in the archive")
	}
	if fi.IsDir() {
		return hostileError(hdr.Name, "hard link to a directory")
	}
	return os.Link(src, target)
}

func (u *unpacker) mknod(hdr *tar.Header, target string) error {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	if !u.root && hdr.Typeflag != tar.TypeFifo {
		return nil // devices cannot be made without root; skip them like rootless Docker
	}
	return unix.Mknod(target, mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
}

// meta applies owner, mode, xattrs and times. target was just created by
// this unpacker (or is a directory it verified), never followed.
func (u *unpacker) meta(hdr *tar.Header, target string) error {
	if u.root {
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if err := unix.Lsetxattr(target, name, []byte(v), 0); err != nil {
			if !u.root || errors.Is(err, unix.ENOTSUP) {
				continue // xattrs the filesystem or user cannot set
			}
			return fmt.Errorf("xattr %s: %w", name, err)
		}
	}
	if hdr.Typeflag == tar.TypeSymlink {
		setTimes(target, hdr.AccessTime, hdr.ModTime)
		return nil
	}
	if err := unix.Chmod(target, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		u.dirTime = append(u.dirTime, dirTime{target, hdr.AccessTime, hdr.ModTime})
		return nil
	}
	setTimes(target, hdr.AccessTime, hdr.ModTime)
	return nil
}

// setTimes sets a path's times without following a symlink; failures are
// ignored (times are cosmetic).
func setTimes(p string, atime, mtime time.Time) {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if mtime.IsZero() {
		return
	}
	_ = unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}
