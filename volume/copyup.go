package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

const copyUpLock = ".copyup.lock"

// CopyUp copies the tree at srcDir (a container's rootfs path, already
// resolved inside the rootfs) into the named volume if the volume is empty,
// as Docker does on a volume's first mount. A volume that has content is
// left untouched, so concurrent first mounts copy once. A missing srcDir
// copies nothing.
//
// The copy keeps owner, mode, times, extended attributes, symlinks (as
// links), hard links and device nodes, and never follows a symlink in either
// tree: every entry is opened relative to its parent directory's descriptor
// with O_NOFOLLOW.
func (s *Store) CopyUp(ctx context.Context, srcDir, name string) error {
	return s.copyUp(ctx, name, srcDir, func() (int, error) {
		return unix.Open(srcDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
}

// CopyUpFrom is CopyUp of the directory at target inside rootfs (a
// container's or an image's root). target is resolved as the container
// would see it: symlinks on the way are followed, but relative to rootfs,
// never out of it (openat2 RESOLVE_IN_ROOT).
func (s *Store) CopyUpFrom(ctx context.Context, rootfs, target, name string) error {
	return s.copyUp(ctx, name, filepath.Join(rootfs, target), func() (int, error) {
		return openInRoot(rootfs, target)
	})
}

func (s *Store) copyUp(ctx context.Context, name, src string, open func() (int, error)) error {
	v, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	l, err := lockfile.Lock(ctx, filepath.Join(s.dir(name), copyUpLock))
	if err != nil {
		return fmt.Errorf("volume %q: lock for copy-up: %w", name, err)
	}
	defer l.Unlock()
	empty, err := dirEmpty(v.Mountpoint)
	if err != nil {
		return fmt.Errorf("volume %q: %w", name, err)
	}
	if !empty {
		return nil
	}
	srcFd, err := open()
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("volume %q: copy up %s: %w: not a directory (symlinks must be resolved in the rootfs first)", name, src, errdefs.ErrInvalidArgument)
	case err != nil:
		return fmt.Errorf("volume %q: copy up %s: %w", name, src, err)
	}
	defer unix.Close(srcFd)
	if err := copyTree(ctx, v.Mountpoint, srcFd); err != nil {
		return fmt.Errorf("volume %q: copy up %s: %w", name, src, err)
	}
	return nil
}

// openInRoot opens the directory target inside root with every symlink
// resolved relative to root.
func openInRoot(root, target string) (int, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(rfd)
	return unix.Openat2(rfd, target, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

type devIno struct{ dev, ino uint64 }

// copier copies one tree; links maps an already copied multiply-linked
// inode to its path relative to the destination root.
type copier struct {
	ctx     context.Context
	dstRoot int
	links   map[devIno]string
}

// copyTree copies the content and the metadata of the open directory
// srcFd into the existing directory dst.
func copyTree(ctx context.Context, dst string, srcFd int) error {
	dstFd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dst, err)
	}
	defer unix.Close(dstFd)
	c := &copier{ctx: ctx, dstRoot: dstFd, links: map[devIno]string{}}
	if err := c.copyDir(srcFd, dstFd, ""); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(srcFd, &st); err != nil {
		return err
	}
	// The volume root takes the source directory's owner, mode and times.
	if err := unix.Fchown(dstFd, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := unix.Fchmod(dstFd, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	if err := copyXattrs(fdPath(srcFd, ""), fdPath(dstFd, "")); err != nil {
		return err
	}
	return futimens(dstFd, &st)
}

// copyDir copies the entries of the open directory srcFd into dstFd; rel is
// dstFd's path relative to the destination root.
func (c *copier) copyDir(srcFd, dstFd int, rel string) error {
	// Readdirnames on a dup, so that closing the *os.File keeps srcFd open.
	dup, err := unix.Dup(srcFd)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(dup), rel)
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("read directory %q: %w", "/"+rel, err)
	}
	for _, n := range names {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if err := c.copyEntry(srcFd, dstFd, n, path.Join(rel, n)); err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies one entry of any type and its metadata.
func (c *copier) copyEntry(srcDir, dstDir int, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(srcDir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %q: %w", "/"+rel, err)
	}
	typ := st.Mode & unix.S_IFMT
	key := devIno{uint64(st.Dev), st.Ino}
	if typ != unix.S_IFDIR && st.Nlink > 1 {
		if first, ok := c.links[key]; ok {
			if err := unix.Linkat(c.dstRoot, first, dstDir, name, 0); err != nil {
				return fmt.Errorf("link %q to %q: %w", "/"+rel, "/"+first, err)
			}
			return nil
		}
		c.links[key] = rel
	}
	var err error
	switch typ {
	case unix.S_IFDIR:
		err = c.copySubdir(srcDir, dstDir, name, rel, &st)
	case unix.S_IFREG:
		err = copyFile(srcDir, dstDir, name, &st)
	case unix.S_IFLNK:
		err = copySymlink(srcDir, dstDir, name, &st)
	default: // devices, fifos, sockets
		err = unix.Mknodat(dstDir, name, st.Mode, int(st.Rdev))
		if err == nil {
			err = setMeta(srcDir, dstDir, name, -1, &st)
		}
	}
	if err != nil {
		return fmt.Errorf("copy %q: %w", "/"+rel, err)
	}
	return nil
}

func (c *copier) copySubdir(srcDir, dstDir int, name, rel string, st *unix.Stat_t) error {
	if err := unix.Mkdirat(dstDir, name, 0o700); err != nil {
		return err
	}
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	sfd, err := unix.Openat(srcDir, name, flags, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sfd)
	dfd, err := unix.Openat(dstDir, name, flags, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	if err := c.copyDir(sfd, dfd, rel); err != nil {
		return err
	}
	return setMeta(srcDir, dstDir, name, dfd, st)
}

func copyFile(srcDir, dstDir int, name string, st *unix.Stat_t) error {
	sfd, err := unix.Openat(srcDir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	src := os.NewFile(uintptr(sfd), name)
	defer src.Close()
	dfd, err := unix.Openat(dstDir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	dst := os.NewFile(uintptr(dfd), name)
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	return setMeta(srcDir, dstDir, name, dfd, st)
}

func copySymlink(srcDir, dstDir int, name string, st *unix.Stat_t) error {
	buf := make([]byte, st.Size+1)
	for {
		n, err := unix.Readlinkat(srcDir, name, buf)
		if err != nil {
			return err
		}
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	if err := unix.Symlinkat(string(buf), dstDir, name); err != nil {
		return err
	}
	return setMeta(srcDir, dstDir, name, -1, st)
}

// setMeta gives dstDir/name the owner, mode, xattrs and times of st and
// srcDir/name. fd is the open destination, or -1 (symlinks, devices). Owner
// goes first: chown clears set-id bits.
func setMeta(srcDir, dstDir int, name string, fd int, st *unix.Stat_t) error {
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if err := unix.Fchownat(dstDir, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	switch {
	case isLink: // symlink modes are fixed
	case fd >= 0:
		if err := unix.Fchmod(fd, st.Mode&0o7777); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	default:
		if err := unix.Fchmodat(dstDir, name, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := copyXattrs(fdPath(srcDir, name), fdPath(dstDir, name)); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(dstDir, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// fdPath names name inside the directory open as fd through /proc, so that
// the l*xattr calls resolve the directory by descriptor, not by path.
func fdPath(fd int, name string) string {
	p := "/proc/self/fd/" + strconv.Itoa(fd)
	if name != "" {
		p += "/" + name
	}
	return p
}

// copyXattrs copies every extended attribute without following a final
// symlink. A destination filesystem without xattr support is not an error.
func copyXattrs(src, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, n := range names {
		val, err := getXattr(src, n)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(dst, n, val, 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) {
				continue
			}
			return fmt.Errorf("set xattr %s: %w", n, err)
		}
	}
	return nil
}

func listXattrs(p string) ([]string, error) {
	sz, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) || sz == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list xattrs: %w", err)
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil, fmt.Errorf("list xattrs: %w", err)
	}
	var names []string
	for _, n := range strings.Split(string(buf[:sz]), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func getXattr(p, name string) ([]byte, error) {
	sz, err := unix.Lgetxattr(p, name, nil)
	if err != nil {
		return nil, fmt.Errorf("get xattr %s: %w", name, err)
	}
	buf := make([]byte, sz)
	sz, err = unix.Lgetxattr(p, name, buf)
	if err != nil {
		return nil, fmt.Errorf("get xattr %s: %w", name, err)
	}
	return buf[:sz], nil
}

// futimens sets the access and modification times of an open file.
func futimens(fd int, st *unix.Stat_t) error {
	ts := [2]unix.Timespec{st.Atim, st.Mtim}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("set times: %w", e)
	}
	return nil
}
