package engine

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
)

// inRoot resolves p inside root the way the container sees it: symlinks
// in the parent path are followed within root, never out of it; the last
// component is not followed.
func inRoot(root, p string) (string, error) {
	p = filepath.Clean("/" + p)
	if p == "/" {
		return root, nil
	}
	parent, err := securejoin.SecureJoin(root, filepath.Dir(p))
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, filepath.Base(p)), nil
}

// cpRoot is the directory cp reads and writes. For a running container it is
// the container's own mount namespace (/proc/PID/root), so volumes, bind
// mounts and tmpfs are seen as the container sees them, as with docker cp
// (the image's root filesystem alone would hide them, and a copy into a
// volume's path would land under the mount, out of the container's sight).
// A container that does not run gets its root filesystem mounted; so does a
// copy of "/" or of anything under /proc, /sys or /dev, whose kernel file
// systems hold nothing to copy.
func (e *Engine) cpRoot(ctx context.Context, ref, path string) (string, func() error, error) {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	if c.State.Running() && c.State.Pid > 0 && liveCopyPath(path) {
		root := fmt.Sprintf("/proc/%d/root", c.State.Pid)
		if _, err := os.Stat(root); err == nil {
			return root, func() error { return nil }, nil
		}
	}
	return e.Runtime.MountRootfs(ctx, ref)
}

func liveCopyPath(p string) bool {
	p = filepath.Clean("/" + p)
	if p == "/" {
		return false
	}
	for _, k := range []string{"/proc", "/sys", "/dev"} {
		if p == k || strings.HasPrefix(p, k+"/") {
			return false
		}
	}
	return true
}

// CopyOutTar writes a tar of the container's path to w.
func (e *Engine) CopyOutTar(ctx context.Context, ref, path string, w io.Writer) error {
	return e.copyOutRenamed(ctx, ref, path, filepath.Base(filepath.Clean("/"+path)), w)
}

// CopyOut copies the container's path to the host path dst (into dst when
// it is a directory).
func (e *Engine) CopyOut(ctx context.Context, ref, path, dst string) error {
	target, name, err := hostTarget(dst, filepath.Base(filepath.Clean("/"+path)))
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(e.copyOutRenamed(ctx, ref, path, name, pw)) }()
	err = image.Unpack(ctx, pr, target)
	pr.CloseWithError(err)
	return err
}

// copyOutRenamed writes a tar of the container's path to w, its top entry
// named name.
func (e *Engine) copyOutRenamed(ctx context.Context, ref, path, name string, w io.Writer) error {
	dir, release, err := e.cpRoot(ctx, ref, path)
	if err != nil {
		return err
	}
	defer release()
	src, err := inRoot(dir, path)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(src); err != nil {
		return fmt.Errorf("could not find the file %s in container %s: %w", path, ref, errdefs.ErrNotFound)
	}
	return writeTree(ctx, w, src, name)
}

// hostTarget returns the directory to unpack into and the name to give:
// into dst when it is a directory, else dst's parent with dst's name.
func hostTarget(dst, base string) (dir, name string, err error) {
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		return dst, base, nil
	}
	parent := filepath.Dir(dst)
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("destination directory %q does not exist: create it first: %w", parent, errdefs.ErrNotFound)
	}
	return parent, filepath.Base(dst), nil
}

// CopyIn copies the host path src into the container at path (into it
// when it is a directory). Nothing is written through a symlink.
func (e *Engine) CopyIn(ctx context.Context, src, ref, path string) error {
	if _, err := os.Lstat(src); err != nil {
		return fmt.Errorf("could not find %q on the host: %w", src, errdefs.ErrNotFound)
	}
	dir, release, err := e.cpRoot(ctx, ref, path)
	if err != nil {
		return err
	}
	defer release()
	target, name, err := containerTarget(dir, path, filepath.Base(src))
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(ctx, pw, src, name)) }()
	err = image.Unpack(ctx, pr, target)
	pr.CloseWithError(err)
	return err
}

// CopyInTar extracts a tar stream into the container's directory path.
func (e *Engine) CopyInTar(ctx context.Context, ref, path string, r io.Reader) error {
	dir, release, err := e.cpRoot(ctx, ref, path)
	if err != nil {
		return err
	}
	defer release()
	target, err := securejoin.SecureJoin(dir, path)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(target); err != nil || !fi.IsDir() {
		return fmt.Errorf("destination %q must be a directory in the container: %w", path, errdefs.ErrInvalidArgument)
	}
	return image.Unpack(ctx, r, target)
}

func containerTarget(root, path, base string) (dir, name string, err error) {
	full, err := securejoin.SecureJoin(root, path)
	if err != nil {
		return "", "", err
	}
	if fi, err := os.Lstat(full); err == nil && fi.IsDir() {
		return full, base, nil
	}
	parent, err := securejoin.SecureJoin(root, filepath.Dir(filepath.Clean("/"+path)))
	if err != nil {
		return "", "", err
	}
	if fi, err := os.Lstat(parent); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("destination directory %q does not exist in the container: %w", filepath.Dir(path), errdefs.ErrNotFound)
	}
	return parent, filepath.Base(filepath.Clean("/" + path)), nil
}

// writeTree tars src (never following symlinks) with its top entry named name.
func writeTree(ctx context.Context, w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return nil // sockets and the like are skipped
		}
		rel, _ := filepath.Rel(src, p)
		hdr.Name = filepath.ToSlash(filepath.Join(name, rel))
		if fi.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		return image.CopyFileContent(tw, p)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
